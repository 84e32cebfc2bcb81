"""The model inputs of a spec: every input's distribution per option, which are uncertain, correlations.

One definition used by validation (:mod:`roicast.spec`), sampling
(:mod:`roicast.sampling`) and the CLI.  Input names are the dotted spec fields
of :data:`roicast.simulate.INPUT_NAMES` plus ``demand``, the rank of a demand
path by total volume.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from roicast.correlation import check_correlation
from roicast.distributions import Distribution, Fixed, Uniform
from roicast.errors import RoicastError
from roicast.simulate import INPUT_NAMES, NEUTRAL_INPUTS

if TYPE_CHECKING:
    from roicast.spec import Option, Spec

__all__ = [
    "DEMAND_RANK",
    "check_correlations",
    "correlation_matrix",
    "option_distributions",
    "ties",
    "uncertain_inputs",
]

#: The demand input: a uniform rank choosing a forecast path by total volume.
DEMAND_RANK = Uniform(0.0, 1.0)


def option_distributions(spec: Spec, option: Option, *, n_paths: int) -> dict[str, Distribution]:
    """Every model input of one option, by name (in :data:`INPUT_NAMES` order)."""
    sections = {
        "baseline": spec.baseline,
        "optimized": option.optimized,
        "pricing": spec.pricing,
        "fleet": spec.fleet,
        "onprem": spec.onprem,
        "implementation": option.implementation,
        "churn": option.churn,
        "indirect": option.indirect,
    }
    out: dict[str, Distribution] = {}
    for name in INPUT_NAMES:
        if name == "demand":
            out[name] = DEMAND_RANK if n_paths > 1 else Fixed(0.5)
            continue
        sec, field = name.split(".")
        if sections[sec] is None:  # no [onprem]: the simulator's neutral values
            out[name] = Fixed(float(NEUTRAL_INPUTS[name]))
            continue
        value = getattr(sections[sec], field)
        out[name] = Fixed(0.0) if value is None else value  # api_price_per_million: no API
    return out


def ties(option: Option) -> dict[str, str]:
    """Inputs of ``option`` that take another input's value in every draw (target → source)."""
    from roicast.spec import TIED_DEFAULTS

    return {name: TIED_DEFAULTS[name] for name in option.inherits}


def uncertain_inputs(spec: Spec, *, n_paths: int) -> list[str]:
    """Inputs with their own uncertainty in at least one option (tied inputs excluded)."""
    dists = {o.name: option_distributions(spec, o, n_paths=n_paths) for o in spec.options}
    tied = {o.name: set(o.inherits) for o in spec.options}
    return [
        n
        for n in INPUT_NAMES
        if any(not d[n].is_fixed and n not in tied[o] for o, d in dists.items())
    ]


def correlation_matrix(spec: Spec, names: list[str]) -> np.ndarray | None:
    """The target rank-correlation matrix over ``names`` (``None`` without correlations)."""
    if not spec.correlations:
        return None
    corr = np.eye(len(names))
    for i, c in enumerate(spec.correlations):
        for side in c.between:
            if side not in names:
                known = ", ".join(n for n in names if n != "demand")
                raise RoicastError(
                    f"correlations[{i}].between: {side!r} is not an uncertain input of this study; "
                    f"correlate among: {known}"
                )
        a, b = (names.index(s) for s in c.between)
        corr[a, b] = corr[b, a] = c.rho
    return corr


def check_correlations(spec: Spec) -> None:
    """Refuse correlations between inputs that are not uncertain, or a matrix that is not PSD."""
    if not spec.correlations:
        return
    names = uncertain_inputs(spec, n_paths=2)
    check_correlation(correlation_matrix(spec, names), name="correlations")
