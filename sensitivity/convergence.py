"""Monte Carlo standard errors of headline statistics, and running until they are small.

Every headline number of a study (mean NPV, P10 / P50 / P90) is an estimate
from a finite number of draws.  :func:`mc_standard_errors` reports its standard
error next to it; :func:`until_stable` adds draws in batches until the relative
half-widths of the 95 % intervals are below a tolerance.

Standard errors treat the draws as independent.  Latin hypercube and scrambled
Sobol samples are at least as precise as independent draws for means of
well-behaved outputs, so these errors are then conservative.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import ndtri

from roicast.errors import RoicastError
from roicast.sensitivity._common import check_probability

__all__ = ["StableRun", "mc_standard_errors", "until_stable"]

#: z-value of the two-sided 95 % normal interval.
Z95 = 1.959963984540054
#: Default guard against statistics near zero: the relative half-width divides by
#: max(|stat|, ZERO_GUARD · sd(y)).
ZERO_GUARD = 0.1


def _stat_label(q: float) -> str:
    return f"p{q * 100:g}"


def _check_quantiles(quantiles: Sequence[float]) -> tuple[float, ...]:
    try:
        qs = tuple(float(q) for q in quantiles)
    except (TypeError, ValueError):
        raise RoicastError(f"`quantiles` must be numbers in (0, 1), got {quantiles!r}") from None
    for q in qs:
        check_probability(q, "quantiles")
    return qs


def _as_draws(y: Any, field: str) -> np.ndarray:
    values = np.asarray(y, dtype=float)
    if values.ndim != 1:
        raise RoicastError(f"`{field}` must be 1-D (one output per draw), got shape {values.shape}")
    if values.shape[0] < 2:
        raise RoicastError(f"`{field}` needs at least 2 draws, got {values.shape[0]}")
    if np.isnan(values).any():
        raise RoicastError(f"`{field}` contains NaN; outputs must be numbers (±inf allowed)")
    return values


def _hall_sheather(n: int, q: float) -> float:
    r"""Hall–Sheather (1988) bandwidth in probability units for the sparsity estimate.

    .. math::

        h = n^{-1/3}\, z_{0.975}^{2/3}
            \left[\frac{1.5\,\varphi(\Phi^{-1}(q))^2}{2\,\Phi^{-1}(q)^2 + 1}\right]^{1/3}
    """
    x = ndtri(q)
    phi = np.exp(-0.5 * x * x) / np.sqrt(2.0 * np.pi)
    return (
        n ** (-1.0 / 3.0) * Z95 ** (2.0 / 3.0) * (1.5 * phi**2 / (2.0 * x**2 + 1.0)) ** (1.0 / 3.0)
    )


def _quantiles(sorted_y: np.ndarray, probs: list[float]) -> np.ndarray:
    """Linear-interpolation quantiles that tolerate ±inf (inf − inf gives the nearest order statistic)."""
    with np.errstate(invalid="ignore"):
        out = np.quantile(sorted_y, probs)
    bad = np.isnan(out)
    if bad.any():
        out[bad] = np.quantile(sorted_y, np.asarray(probs)[bad], method="nearest")
    return out


def _standard_errors(
    y: np.ndarray, quantiles: tuple[float, ...], zero_guard: float
) -> pd.DataFrame:
    n = y.shape[0]
    finite = np.all(np.isfinite(y))
    sd = float(y.std(ddof=1)) if finite else np.nan
    with np.errstate(invalid="ignore"):
        mean = float(np.mean(y))
    labels = ["mean"]
    values = [mean]
    ses = [sd / np.sqrt(n) if finite else np.nan]
    sorted_y = np.sort(y)
    for q in quantiles:
        h = _hall_sheather(n, q)
        lo = min(max(q - h, 0.0), 1.0)
        hi = min(max(q + h, 0.0), 1.0)
        x_lo, x_q, x_hi = _quantiles(sorted_y, [lo, q, hi])
        if np.isfinite(x_lo) and np.isfinite(x_hi):
            sparsity = (x_hi - x_lo) / (hi - lo)  # ≈ 1 / f(x_q)
            se = np.sqrt(q * (1.0 - q) / n) * sparsity
        else:
            se = np.nan
        labels.append(_stat_label(q))
        values.append(float(x_q))
        ses.append(float(se) if np.isfinite(se) else np.nan)
    value_arr = np.array(values)
    se_arr = np.array(ses)
    half = Z95 * se_arr
    spread = sd if np.isfinite(sd) else np.nan
    scale = np.maximum(np.abs(value_arr), zero_guard * spread)
    with np.errstate(invalid="ignore", divide="ignore"):
        rel = np.where(scale > 0, half / scale, np.where(half == 0, 0.0, np.inf))
    rel = np.where(np.isfinite(value_arr) & np.isfinite(se_arr), rel, np.nan)
    return pd.DataFrame(
        {"value": value_arr, "se": se_arr, "half_width": half, "rel_half_width": rel},
        index=pd.Index(labels, name="stat"),
    )


def mc_standard_errors(
    y: Any, *, quantiles: Sequence[float] = (0.1, 0.5, 0.9), zero_guard: float = ZERO_GUARD
) -> pd.DataFrame:
    r"""Monte Carlo standard errors of the mean and of quantiles of ``y``.

    Mean:

    .. math:: \operatorname{SE}(\bar y) = s / \sqrt n .

    Quantile :math:`q` (asymptotic normality of the sample quantile):

    .. math::

        \operatorname{SE}(\hat x_q) = \sqrt{\frac{q(1-q)}{n}}\;\frac{1}{f(x_q)},
        \qquad
        \frac{1}{f(x_q)} \approx \frac{\hat x_{q+h} - \hat x_{q-h}}{2h},

    the Siddiqui–Bloch–Gastwirth difference-quotient estimate of the sparsity
    :math:`1/f`, with the Hall–Sheather bandwidth :math:`h` (in probability
    units, :math:`\propto n^{-1/3}`; clipped to [0, 1]).  It needs no density
    kernel, is cheap (one sort) and copes with skewed outputs.

    Relative half-width of the 95 % interval:

    .. math::

        r = \frac{1.96\,\operatorname{SE}}{\max(|\text{stat}|,\; g \cdot s)}

    where the guard :math:`g` (``zero_guard``, 0.1 by default) stops a statistic
    near zero (a mean NPV close to break-even) from demanding unbounded
    precision: then precision is judged against a tenth of the output's
    spread instead.

    Parameters
    ----------
    y : array-like
        Output per draw (1-D; ±inf allowed, e.g. payback never reached: the
        statistics that are then infinite get NaN errors).
    quantiles : sequence of float, keyword-only
        Quantiles to report (labels ``p10``, ``p50``, ``p90``, ...).
    zero_guard : float, keyword-only
        :math:`g` above (>= 0).

    Returns
    -------
    pandas.DataFrame
        Index ``stat`` (``mean``, ``p10``, ...), columns ``value``, ``se``,
        ``half_width`` (1.96·SE) and ``rel_half_width``; ``attrs["n"]`` the draws.
    """
    values = _as_draws(y, "y")
    qs = _check_quantiles(quantiles)
    guard = _check_guard(zero_guard)
    df = _standard_errors(values, qs, guard)
    df.attrs["n"] = int(values.shape[0])
    return df


def _check_guard(zero_guard: Any) -> float:
    try:
        g = float(zero_guard)
    except (TypeError, ValueError):
        raise RoicastError(f"`zero_guard` must be a number >= 0, got {zero_guard!r}") from None
    if not g >= 0 or not np.isfinite(g):
        raise RoicastError(f"`zero_guard` must be a finite number >= 0, got {zero_guard!r}")
    return g


def _positive_int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise RoicastError(f"`{field}` must be a positive int, got {value!r}")
    return int(value)


@dataclass(frozen=True)
class StableRun:
    """Result of :func:`until_stable`.

    Attributes
    ----------
    draws : numpy.ndarray
        All outputs, in draw order (``draws[i]`` is draw ``i``).
    record : pandas.DataFrame
        One row per batch: ``n_draws``, ``max_rel_half_width`` and the
        relative half-width of each statistic (``mean``, ``p10``, ...).
    converged : bool
        Whether the tolerance was met (False: stopped at ``max_draws``).
    tol : float
        The tolerance used.
    errors : pandas.DataFrame
        :func:`mc_standard_errors` of the final draws.
    """

    draws: np.ndarray
    record: pd.DataFrame
    converged: bool
    tol: float
    errors: pd.DataFrame

    @property
    def n_draws(self) -> int:
        """Number of draws made."""
        return int(self.draws.shape[0])


def until_stable(
    run_batch: Callable[[int, int], np.ndarray],
    *,
    tol: float,
    batch: int,
    max_draws: int,
    quantiles: Sequence[float] = (0.1, 0.5, 0.9),
    zero_guard: float = ZERO_GUARD,
) -> StableRun:
    r"""Add draws in batches until mean and quantiles are known to a relative tolerance.

    Calls ``run_batch(start, n)`` for draws ``start .. start + n - 1`` (so a
    counter-based generator keyed by draw number gives the same draws whatever
    the batch size), appends them, and stops as soon as every relative
    half-width of :func:`mc_standard_errors` (mean and each quantile) is
    :math:`\le` ``tol``, or when ``max_draws`` draws have been made.

    Parameters
    ----------
    run_batch : callable
        ``run_batch(start, n) -> 1-D array`` of ``n`` outputs.
    tol : float, keyword-only
        Target relative half-width, in (0, 1) (0.01: the 95 % interval is within
        ±1 % of the statistic).
    batch : int, keyword-only
        Draws per call (the last call may be shorter to respect ``max_draws``).
    max_draws : int, keyword-only
        Cap on the total number of draws (>= ``batch``).
    quantiles, zero_guard : keyword-only
        As in :func:`mc_standard_errors`.

    Returns
    -------
    StableRun
    """
    tol = check_probability(tol, "tol")
    batch = _positive_int(batch, "batch")
    max_draws = _positive_int(max_draws, "max_draws")
    if max_draws < batch:
        raise RoicastError(f"`max_draws` ({max_draws}) must be at least `batch` ({batch})")
    if not callable(run_batch):
        raise RoicastError(f"`run_batch` must be callable, got {type(run_batch).__name__}")
    qs = _check_quantiles(quantiles)
    guard = _check_guard(zero_guard)

    chunks: list[np.ndarray] = []
    rows: list[dict[str, float]] = []
    start = 0
    converged = False
    while start < max_draws:
        size = min(batch, max_draws - start)
        out = _as_draws(run_batch(start, size), "run_batch output")
        if out.shape[0] != size:
            raise RoicastError(
                f"`run_batch({start}, {size})` returned {out.shape[0]} draws; it must return {size}"
            )
        chunks.append(out)
        start += size
        draws = np.concatenate(chunks)
        errors = _standard_errors(draws, qs, guard)
        rel = errors["rel_half_width"].to_numpy()
        worst = float(np.max(rel)) if not np.isnan(rel).any() else np.inf
        rows.append({"n_draws": start, "max_rel_half_width": worst, **errors["rel_half_width"]})
        if worst <= tol:
            converged = True
            break
    draws = np.concatenate(chunks)
    errors = _standard_errors(draws, qs, guard)
    errors.attrs["n"] = int(draws.shape[0])
    record = pd.DataFrame(rows)
    record.index.name = "batch"
    return StableRun(draws=draws, record=record, converged=converged, tol=tol, errors=errors)
