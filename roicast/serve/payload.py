"""The JSON the what-if page draws: headline, S-curve, tornado, cash-flow fan, controls.

Built from :func:`roicast.report.summary.summary` (the ``summary.json``
document) plus a few arrays taken from the :class:`~roicast.study.StudyResult`;
numbers are sent both raw and formatted with the report's own formatters
(:mod:`roicast.report._format`), so the page and the report agree.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from roicast.distributions import Distribution, parse_distribution, registry
from roicast.inputs import option_distributions
from roicast.report._format import money, months, pct
from roicast.report._io import finite_or_none, jsonable
from roicast.report.summary import summary
from roicast.simulate import INPUT_NAMES
from roicast.spec import OPTION_SECTIONS, TIED_DEFAULTS, Option, Spec
from roicast.study import StudyResult

__all__ = ["S_CURVE_POINTS", "alternatives", "controls", "option_views", "spec_table"]

#: Points of the NPV S-curve sent to the page (quantile levels (i + 1/2) / n).
S_CURVE_POINTS = 200
#: Tornado bars shown (largest swings).
TORNADO_BARS = 12
#: Order of the ``dist`` choices in a control.
KINDS = ("fixed", "uniform", "triangular", "pert", "normal", "truncnormal", "lognormal", "beta",
         "discrete", "quantiles")  # fmt: skip
_Z90 = 1.2815515655446004  # standard normal P90


def _dist_cell(d: dict[str, Any], cur: str, fmt) -> dict[str, Any]:
    return {k: d.get(k) for k in ("mean", "p10", "p50", "p90")} | {
        "text": {k: fmt(d.get(k)) for k in ("mean", "p10", "p50", "p90")}
    }


def _headline(o: dict[str, Any], cur: str) -> dict[str, Any]:
    """The headline of one option's summary entry (``option_summary``'s dict)."""
    dec = o["decision"]
    pb = o["payback_months"]
    return {
        "verdict": dec["verdict"],
        "reason": dec["reason"],
        "conditions": dec["conditions"],
        "ask": _dist_cell(o["investment"], cur, lambda x: money(x, cur)),
        "npv": _dist_cell(o["npv"], cur, lambda x: money(x, cur)),
        "roi": _dist_cell(o["roi"], cur, pct),
        "payback_months": _dist_cell(pb, cur, lambda x: months(x, never="> horizon"))
        | {"prob_within_horizon": pb["prob_within_horizon"]},
        "prob_npv_negative": o["prob_npv_negative"],
        "prob_npv_negative_text": pct(o["prob_npv_negative"]),
    }


def _s_curve(npv: np.ndarray) -> dict[str, list[float]]:
    """The empirical CDF of NPV at :data:`S_CURVE_POINTS` quantile levels."""
    q = (np.arange(S_CURVE_POINTS) + 0.5) / S_CURVE_POINTS
    return {"npv": np.quantile(npv, q).tolist(), "prob": q.tolist()}


def _fan(result: StudyResult, name: str) -> dict[str, Any]:
    """Quantiles of the cumulative cash flow per month (keys ``p5`` … ``p95``)."""
    cf = result.options[name].monthly["cumulative_cash_flow"]
    levels = [float(q) for q in cf.coords["quantile"].values]
    return {
        "month": [str(m) for m in cf.coords["month"].values],
        "quantiles": {
            f"p{round(q * 100)}": [finite_or_none(v) for v in cf.sel(quantile=q).values]
            for q in levels
        },
    }


def option_views(result: StudyResult) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The summary document and, per option, what the page shows of it.

    Returns
    -------
    doc : dict
        ``summary(result)``.
    views : dict
        Per option: ``headline`` (verdict, ask = investment, NPV / ROI / payback
        P10 / P50 / P90, P(NPV < 0)), ``s_curve``, ``tornado`` (the
        :data:`TORNADO_BARS` largest swings of mean NPV) and ``fan``.
    """
    doc = summary(result)
    cur = doc["currency"]
    if "options" in doc:
        per = {o["name"]: o for o in doc["options"]}
    else:
        per = {doc["option"]: {**doc, **doc["details"], "name": doc["option"]}}
    views = {}
    for name, o in per.items():
        views[name] = {
            "headline": _headline(o, cur),
            "s_curve": _s_curve(result.options[name].metrics["npv"].values),
            "tornado": o["tornado"][:TORNADO_BARS],
            "fan": _fan(result, name),
        }
    return doc, jsonable(views)


def spec_table(d: Distribution) -> float | dict[str, Any]:
    """A distribution as a spec value: a number when fixed, else its table (finite keys only)."""
    if d.is_fixed:
        return float(d.median)
    t = d.to_dict()
    return {k: v for k, v in t.items() if not (isinstance(v, float) and not math.isfinite(v))}


def _spread(d: Distribution) -> tuple[float, float, float]:
    """P10, P50, P90 of ``d``; a fixed value gets a ±10 % (or ±1) spread."""
    p10, p50, p90 = (float(v) for v in d.ppf(np.array([0.1, 0.5, 0.9])))
    if not p10 < p50 < p90:
        w = 0.1 * abs(p50) or 1.0
        p10, p90 = p50 - w, p50 + w
    return p10, p50, p90


def alternatives(d: Distribution) -> dict[str, dict[str, Any]]:
    """A starting table for each ``dist`` kind, matching ``d``'s P10 / P50 / P90 roughly.

    Used when the user switches a control to another distribution; kinds
    whose table cannot be built from these quantiles (a lognormal of a
    negative value) are left out.
    """
    p10, p50, p90 = _spread(d)
    sd = (p90 - p10) / (2 * _Z90)
    lo, hi = p10 - (p50 - p10), p90 + (p90 - p50)
    tables: dict[str, dict[str, Any]] = {
        "fixed": {"dist": "fixed", "value": float(d.median)},
        "uniform": {"dist": "uniform", "low": p10, "high": p90},
        "triangular": {"dist": "triangular", "min": lo, "mode": p50, "max": hi},
        "pert": {"dist": "pert", "min": lo, "mode": p50, "max": hi},
        "normal": {"dist": "normal", "mean": p50, "sd": sd},
        "truncnormal": {"dist": "truncnormal", "mean": p50, "sd": sd, "low": lo, "high": hi},
        "beta": {"dist": "beta", "alpha": 2.0, "beta": 2.0, "low": lo, "high": hi},
        "discrete": {"dist": "discrete", "values": [p10, p50, p90], "weights": [0.3, 0.4, 0.3]},
        "quantiles": {"p10": p10, "p50": p50, "p90": p90},
    }
    if p10 > 0:
        tables["lognormal"] = {
            "dist": "lognormal",
            "median": p50,
            "sigma": math.log(p90 / p10) / (2 * _Z90),
        }
    out = {}
    for kind in KINDS:
        if kind in tables:
            try:
                parse_distribution(tables[kind])
            except ValueError:
                continue
            out[kind] = tables[kind]
    return out


def _params(kind: str, table: dict[str, Any]) -> list[str]:
    cls = registry()[kind]
    return [k for k in (*cls.required, *cls.optional) if k in table]


def _scope(name: str, spec: Spec) -> str:
    sec = name.split(".")[0]
    return "option" if sec in OPTION_SECTIONS and len(spec.options) > 1 else "shared"


def _control(name: str, d: Distribution, option: Option, spec: Spec) -> dict[str, Any]:
    table = {"dist": "fixed", "value": float(d.median)} if d.is_fixed else spec_table(d)
    kind = table.get("dist", "quantiles")
    unset = (
        name == "optimized.api_price_per_million" and option.optimized.api_price_per_million is None
    ) or (name.startswith("onprem.") and spec.onprem is None)  # no [onprem]: not used
    p10, p50, p90 = (float(v) for v in d.ppf(np.array([0.1, 0.5, 0.9])))
    return {
        "field": name,
        "section": name.split(".")[0],
        "scope": _scope(name, spec),
        "kind": kind,
        "params": _params(kind, table),
        "table": table,
        "describe": "not used" if unset else d.describe(),
        "fixed": d.is_fixed,
        "tied_to": TIED_DEFAULTS[name] if name in option.inherits else None,
        "unset": unset,
        "quantiles": [p10, p50, p90],
        "alternatives": alternatives(d),
    }


def controls(spec: Spec) -> dict[str, list[dict[str, Any]]]:
    """Per option, one control per model input (``demand``, the path rank, has none).

    Each control holds the input's spec value (``table``, with ``kind`` and the
    ordered ``params``), whether it is tied to another input (``tied_to``:
    the optimized utilization or floor left to the baseline's), whether it
    applies to every option (``scope = "shared"``) or to this one, and
    :func:`alternatives` for switching the ``dist``.
    """
    out = {}
    for option in spec.options:
        dists = option_distributions(spec, option, n_paths=2)
        out[option.name] = jsonable(
            [_control(n, dists[n], option, spec) for n in INPUT_NAMES if n != "demand"]
        )
    return out
