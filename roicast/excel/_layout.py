"""The workbook layout of a spec: sheet names, columns, and which field goes where.

Kept apart from the reader and the writer so both derive from one place: the
parameter columns come from :func:`roicast.distributions.registry` and the
kind of each field (distribution, number, text, ...) from the spec's pydantic
models, so a new distribution or field needs no change here.
"""

from __future__ import annotations

import pathlib
import types
from functools import cache
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from roicast.distributions import Distribution, registry

ASSUMPTIONS = "Assumptions"
SETTINGS = "Settings"
OPTIONS = "Options"
LAUNCHES = "Launches"
CORRELATIONS = "Correlations"
HISTORY = "History"
README = "Read me"

#: Parameter columns in the order an analyst reads them; registry keys not listed follow.
_PREFERRED = (
    "value", "min", "mode", "max", "low", "high", "mean", "sd", "median", "sigma",
    "alpha", "beta", "lambda", "p10", "p50", "p90", "lower", "upper", "values", "weights",
)  # fmt: skip
#: Parameters that hold a list of numbers (``1, 2, 3`` in a cell).
LIST_PARAMS = ("values", "weights")
#: The distribution of a row that names none but gives p10/p50/p90.
QUANTILES = "quantiles"


@cache
def param_columns() -> tuple[str, ...]:
    """Every key of every registered distribution table, analyst's order first."""
    keys = dict.fromkeys(k for cls in registry().values() for k in (*cls.required, *cls.optional))
    first = [k for k in _PREFERRED if k in keys]
    return (*first, *(k for k in keys if k not in first))


def assumption_columns() -> tuple[str, ...]:
    return ("field", "distribution", *param_columns(), "source", "note")


def option_columns() -> tuple[str, ...]:
    return (
        "option", "description", "combines", "platform",
        "field", "distribution", *param_columns(), "source", "note",
    )  # fmt: skip


def launch_columns() -> tuple[str, ...]:
    return ("month", "distribution", *param_columns(), "note")


SETTINGS_COLUMNS = ("field", "value", "note")
CORRELATION_COLUMNS = ("input_a", "input_b", "rho", "note")


def _leaves(tp: Any) -> set[str]:
    """The kinds of value an annotation accepts: dist, int, float, bool, text, list, other."""
    origin = get_origin(tp)
    if origin is Annotated:
        return _leaves(get_args(tp)[0])
    if origin in (Union, types.UnionType):
        return set().union(*(_leaves(a) for a in get_args(tp)))
    if origin is Literal:
        return {"text"} if all(isinstance(a, str) for a in get_args(tp)) else {"other"}
    if origin in (list, tuple):
        return {"list"}
    if tp is type(None):
        return set()
    if tp is bool:
        return {"bool"}
    if tp is int:
        return {"int"}
    if tp is float:
        return {"float"}
    if isinstance(tp, type) and issubclass(tp, str | pathlib.PurePath):
        return {"text"}
    if isinstance(tp, type) and issubclass(tp, Distribution):
        return {"dist"}
    return {"other"}


@cache
def section_models() -> dict[str, Any]:
    """Spec section name -> its pydantic model (shared sections and the option sections)."""
    from pydantic import BaseModel

    from roicast.spec import OPTION_SECTIONS, Option, Spec

    out: dict[str, Any] = {}
    for name, info in Spec.model_fields.items():
        ann = info.annotation
        # an optional section (`onprem: OnPrem | None`) is its model
        models = [a for a in getattr(ann, "__args__", ()) if a is not type(None)]
        if len(models) == 1:
            ann = models[0]
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out[name] = ann
    for sec in OPTION_SECTIONS:
        out[sec] = Option.model_fields[sec].annotation
    return out


def field_kinds(section: str, key: str) -> frozenset[str] | None:
    """What ``section.key`` accepts, or ``None`` for a field the spec does not have."""
    model = section_models().get(section)
    if model is None or key not in model.model_fields:
        return None
    return frozenset(_leaves(model.model_fields[key].annotation))


def is_distribution_field(section: str, key: str) -> bool:
    """True for a model scalar that takes a number or a distribution table (an Assumptions row)."""
    kinds = field_kinds(section, key)
    return kinds is not None and "dist" in kinds


def field_description(section: str, key: str) -> str:
    """The pydantic description of a field ("" when it has none)."""
    model = section_models().get(section)
    if model is None or key not in model.model_fields:
        return ""
    return model.model_fields[key].description or ""


def distribution_names() -> tuple[str, ...]:
    return tuple(registry())
