"""The model inputs of a spec: every input's distribution per option, which are uncertain, correlations.

One definition used by validation (:mod:`roicast.spec`), sampling
(:mod:`roicast.sampling`) and the CLI.  Input names are the dotted spec fields
of :data:`roicast.simulate.INPUT_NAMES` plus ``demand``, the rank of a demand
path by total volume.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from roicast.correlation import check_correlation
from roicast.distributions import (
    Distribution,
    Fixed,
    Uniform,
    combine,
    quantile_of,
    weighted_mean,
)
from roicast.errors import RoicastError
from roicast.simulate import INPUT_NAMES, NEUTRAL_INPUTS

if TYPE_CHECKING:
    from roicast.spec import Option, Spec

__all__ = [
    "DEMAND_RANK",
    "DERIVATION",
    "Combination",
    "check_correlations",
    "combinations",
    "correlation_matrix",
    "option_distributions",
    "option_values",
    "rederive",
    "study_distributions",
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
    dists = study_distributions(spec, n_paths=n_paths)
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


# ----------------------------------------------------------------------------- combinations

#: How an option that ``combines`` others derives each field it does not set:
#: ``(rule, formula)``; part :math:`k`'s value in the same draw is :math:`x_k`.
DERIVATION: dict[str, tuple[str, str]] = {
    "optimized.throughput_gain": ("product", "g = Π g_k (gains compose on the same fleet)"),
    "optimized.price_ratio": ("product", "ρ = Π ρ_k (a part that keeps the instance type has 1)"),
    "optimized.throughput_gain_at_peak": (
        "peak",
        "g_peak = g · Π (g_peak,k / g_k) (each part's peak-to-mean gain ratio composes)",
    ),
    "implementation.months": ("max", "T = max T_k (the parts are built in parallel)"),
    "implementation.ramp_months": ("max", "R = max R_k"),
    "implementation.engineer_months": ("sum", "E = Σ E_k"),
    "implementation.engineer_cost": (
        "mean:engineer_months",
        "c_e = Σ E_k c_e,k / Σ E_k (so the engineering cost E·c_e is the parts' sum)",
    ),
    "implementation.validation_cost": ("sum", "V = Σ V_k"),
    "implementation.licence_per_year": ("sum", "L = Σ L_k"),
    "implementation.maintenance_fraction": (
        "mean:engineering",
        "φ = Σ φ_k E_k c_e,k / Σ E_k c_e,k (so the yearly upkeep φ·E·c_e is the parts' sum)",
    ),
    "churn.updates_per_year": ("sum", "λ = Σ λ_k (the union of the parts' update processes)"),
    "churn.cost_per_update": (
        "mean:updates_per_year",
        "c_u = Σ λ_k c_u,k / Σ λ_k (so the expected yearly churn cost λ·c_u is the parts' sum)",
    ),
    "churn.downtime_months": (
        "mean:updates_per_year",
        "δ = Σ λ_k δ_k / Σ λ_k (so the expected downtime a year λ·δ is the parts' sum)",
    ),
    "indirect.benefit_per_month": ("sum", "b = Σ b_k"),
}

_K = {name: j for j, name in enumerate(INPUT_NAMES)}
_PEAK = "optimized.throughput_gain_at_peak"
_GAIN = "optimized.throughput_gain"


@dataclass(frozen=True)
class Combination:
    """How one option that ``combines`` others gets its inputs.

    Attributes
    ----------
    option : str
        The combining option.
    parts : tuple of str
        The options it combines.
    derived : dict[str, str]
        Fields derived from the parts, with the formula (:data:`DERIVATION`);
        fields the parts must agree on (utilization, floor, API price,
        platform) read "the parts' common value".
    overridden : tuple of str
        Fields the option sets itself: they replace the derivation.
    """

    option: str
    parts: tuple[str, ...]
    derived: dict[str, str]
    overridden: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "parts": list(self.parts),
            "derived": dict(self.derived),
            "overridden": list(self.overridden),
        }


def _derived_fields(option: Option) -> list[str]:
    """The fields of a combining option derived per draw from its parts (in derivation order)."""
    if not option.combines:
        return []
    out = [f for f in DERIVATION if f not in option.overrides]
    if _PEAK in option.inherits:  # every part keeps its gain in every slot: the tie is exact
        out = [f for f in out if f != _PEAK]
    return out


def combinations(spec: Spec) -> dict[str, Combination]:
    """Every combining option of ``spec``: its parts, derived and overridden fields."""
    from roicast.spec import COMBINE_AGREE

    out = {}
    for o in spec.options:
        if not o.combines:
            continue
        derived = {f: DERIVATION[f][1] for f in _derived_fields(o)}
        if _PEAK in o.inherits and _PEAK not in o.overrides:
            derived[_PEAK] = "g_peak = g (no part gives a gain at peak)"
        for f in COMBINE_AGREE:
            if f not in o.overrides:
                derived[f] = "the parts' common value"
        out[o.name] = Combination(
            option=o.name,
            parts=tuple(o.combines),
            derived=derived,
            overridden=tuple(f for f in o.overrides),
        )
    return out


#: The inputs whose values weight the parts in each ``mean:`` rule.
_WEIGHT_INPUTS = {
    "mean:engineering": ("implementation.engineer_months", "implementation.engineer_cost"),
    "mean:engineer_months": ("implementation.engineer_months",),
    "mean:updates_per_year": ("churn.updates_per_year",),
}


def _weights_median(field: str, parts: list[dict[str, Distribution]]) -> list[float]:
    """The parts' mixing weights of a ``mean:`` field with every input at its median."""
    rule = DERIVATION[field][0]
    if rule == "mean:engineering":
        return [
            p["implementation.engineer_months"].median * p["implementation.engineer_cost"].median
            for p in parts
        ]
    src = {"mean:engineer_months": "implementation.", "mean:updates_per_year": "churn."}[rule]
    return [p[src + rule.split(":")[1]].median for p in parts]


def _marginal(
    field: str, own: dict[str, Distribution], parts: list[dict[str, Distribution]], names: list[str]
) -> Distribution:
    """The derived input's distribution: its value in a draw whose other inputs are at their medians.

    For sums, products and maxima that is its value in every draw; for the
    ``mean:`` fields and the gain at peak the per-draw value also depends on
    other inputs (:func:`option_values`).
    """
    rule = DERIVATION[field][0]
    dists = [p[field] for p in parts]
    if rule in ("product", "sum", "max"):
        return combine(rule, dists, of=names)
    if rule == "peak":
        scale = own[_GAIN].median
        for p in parts:
            scale /= p[_GAIN].median
        return combine("product", dists, of=names, scale=scale)
    return combine("mean", dists, of=names, weights=_weights_median(field, parts))


def study_distributions(spec: Spec, *, n_paths: int) -> dict[str, dict[str, Distribution]]:
    """Every option's inputs, those a combining option derives from its parts included.

    :func:`option_distributions` gives an option's inputs as its spec writes
    them; here a combining option's fields it does not set are replaced by
    their :func:`_marginal` distributions (chains resolved parts first).
    """
    from roicast.spec import combination_order

    out: dict[str, dict[str, Distribution]] = {}
    for o in combination_order(spec.options):
        d = option_distributions(spec, o, n_paths=n_paths)
        if o.combines:
            parts = [out[p] for p in o.combines]
            for f in _derived_fields(o):
                d[f] = _marginal(f, d, parts, list(o.combines))
            for target, source in ties(o).items():  # a tie to a derived input follows it
                d[target] = d[source]
        out[o.name] = d
    return {o.name: out[o.name] for o in spec.options}


def _weights_per_draw(field: str, parts: list[np.ndarray]) -> list[np.ndarray]:
    rule = DERIVATION[field][0]
    if rule == "mean:engineering":
        e, c = _K["implementation.engineer_months"], _K["implementation.engineer_cost"]
        return [p[:, e] * p[:, c] for p in parts]
    src = {"mean:engineer_months": "implementation.", "mean:updates_per_year": "churn."}[rule]
    j = _K[src + rule.split(":")[1]]
    return [p[:, j] for p in parts]


def derive_combined(option: Option, x: np.ndarray, parts: list[np.ndarray]) -> None:
    """Overwrite, in place, the columns of ``x`` a combining option derives from its parts' rows.

    ``x`` and every ``parts[k]`` are ``(row, input)`` matrices of the same
    draws (:data:`INPUT_NAMES` order).  The rules are :data:`DERIVATION`;
    the gain at peak uses the combining option's own gain column, so it is
    derived after it.
    """
    for f in _derived_fields(option):
        j = _K[f]
        rule = DERIVATION[f][0]
        vals = [p[:, j] for p in parts]
        if rule == "product":
            out = np.ones(x.shape[0])
            for v in vals:
                out = out * v
        elif rule == "sum":
            out = np.zeros(x.shape[0])
            for v in vals:
                out = out + v
        elif rule == "max":
            out = np.maximum.reduce(vals)
        elif rule == "peak":
            out = x[:, _K[_GAIN]].copy()
            for p in parts:
                out = out * (p[:, j] / p[:, _K[_GAIN]])
        else:
            out = weighted_mean(vals, _weights_per_draw(f, parts))
        x[:, j] = out


def option_values(
    spec: Spec,
    dists: Mapping[str, Mapping[str, Distribution]],
    tied: Mapping[str, Mapping[str, str]],
    q: Mapping[str, np.ndarray],
    n: int,
    *,
    only: str | None = None,
) -> dict[str, np.ndarray]:
    """Every option's ``(draw, input)`` values from the uniforms ``q`` of the uncertain inputs.

    The one place where input matrices are built from probabilities: input
    :math:`i` of an option is :math:`F_i^{-1}(q_s)` with :math:`s` the input it
    is tied to (itself unless tied), its median when :math:`s` has no
    uniforms; then a combining option's derived columns are recomputed from
    its parts' rows of the same draws (:func:`derive_combined`, parts first).
    ``only``: that option and the options it is made of.
    """
    from roicast.spec import combination_order

    by_name = {o.name: o for o in spec.options}
    wanted = None if only is None else _closure(by_name, only)
    out: dict[str, np.ndarray] = {}
    for o in combination_order(spec.options):
        if wanted is not None and o.name not in wanted:
            continue
        x = np.empty((n, len(INPUT_NAMES)))
        d, t = dists[o.name], tied[o.name]
        for j, name in enumerate(INPUT_NAMES):
            source = t.get(name, name)
            x[:, j] = d[name].ppf(q[source]) if source in q else d[name].median
        if o.combines:
            derive_combined(o, x, [out[p] for p in o.combines])
        out[o.name] = x
    return out


def _closure(by_name: Mapping[str, Option], name: str) -> set[str]:
    seen = {name}
    stack = [name]
    while stack:
        for p in by_name[stack.pop()].combines:
            if p not in seen:
                seen.add(p)
                stack.append(p)
    return seen


def _multi_input_fields(option: Option) -> list[str]:
    """Derived fields whose per-draw value depends on more than their own input's uniform."""
    return [
        f for f in _derived_fields(option) if DERIVATION[f][0] == "peak" or ":" in DERIVATION[f][0]
    ]


def _varies(
    field: str, option: Option, dists: Mapping[str, Mapping[str, Distribution]], spec: Spec
) -> bool:
    """Whether a ``mean:`` field can differ from its marginal (parts not all one known value)."""
    if DERIVATION[field][0] == "peak":
        return True
    by_name = {o.name: o for o in spec.options}
    if any(field in _multi_input_fields(by_name[p]) for p in option.combines):
        return True  # a part's own value varies per draw around its marginal
    parts = [dists[p][field] for p in option.combines]
    return not (all(p.is_fixed for p in parts) and len({p.median for p in parts}) == 1)


def rederive(
    spec: Spec,
    dists: Mapping[str, Mapping[str, Distribution]],
    tied: Mapping[str, Mapping[str, str]],
    uncertain: list[str],
    option: str,
    x: np.ndarray,
) -> None:
    """Recompute, in place, a combining option's multi-input derived columns of rows ``x``.

    The sensitivity stage sets inputs of the combining option to values of
    its (marginal) distributions, :math:`x_i = F_i^{-1}(q_i)`.  Each varying
    column of an uncertain input is mapped back to its probability
    :math:`q_i` (:func:`roicast.distributions.quantile_of`; inputs not set
    are at their median, :math:`q = 1/2`), the parts' rows are built from
    those probabilities and the derived columns recomputed by
    :func:`option_values` — the same function that builds the sampled draws,
    so a tornado, break-even, Sobol or three-point row at the probabilities
    of a draw is that draw's row.  Sums, products and maxima are exact in the
    marginal already and are left as set.
    """
    by_name = {o.name: o for o in spec.options}
    o = by_name[option]
    multi = [
        f for f in (_multi_input_fields(o) if o.combines else []) if _varies(f, o, dists, spec)
    ]
    if not multi or x.shape[0] == 0:
        return
    d, t = dists[option], tied[option]
    needed = set(multi) | ({_GAIN} if _PEAK in multi else set())
    for f in multi:
        needed |= set(_WEIGHT_INPUTS.get(DERIVATION[f][0], ()))
    q: dict[str, np.ndarray] = {}
    for name in uncertain:
        if name in t or d[name].is_fixed or name not in needed:
            continue
        col = x[:, _K[name]]
        vals, inv = np.unique(col, return_inverse=True)
        q[name] = quantile_of(d[name], vals)[inv.reshape(-1)]
    rows = option_values(spec, dists, tied, q, x.shape[0], only=option)[option]
    for f in multi:
        x[:, _K[f]] = rows[:, _K[f]]
