"""Value of information for the go/no-go decision: EVPI and per-input EVPPI.

The decision is between investing (payoff NPV) and not investing (payoff 0).
Deciding now, the team invests when :math:`E[\\text{NPV}] > 0` and expects
:math:`\\max(E[\\text{NPV}], 0)`.

* **EVPI** (expected value of perfect information): what knowing *everything*
  before deciding would be worth,

  .. math:: \\text{EVPI} = E[\\max(\\text{NPV}, 0)] - \\max(E[\\text{NPV}], 0).

* **EVPPI** of input :math:`X_i` (partial perfect information): what learning
  only :math:`X_i` before deciding would be worth (e.g. by a pilot),

  .. math::

      \\text{EVPPI}_i = E_{X_i}\\bigl[\\max(E[\\text{NPV} \\mid X_i], 0)\\bigr]
      - \\max(E[\\text{NPV}], 0),

  with :math:`0 \\le \\text{EVPPI}_i \\le \\text{EVPI}`.  The conditional mean
  :math:`E[\\text{NPV} \\mid X_i]` is estimated from the Monte Carlo run itself by
  a nonparametric regression of NPV on :math:`X_i` (Strong, Oakley and Brennan
  2014), so no nested simulation is needed.

References
----------
Strong, M., Oakley, J. E. and Brennan, A. (2014). Estimating multiparameter
partial expected value of perfect information from a probabilistic sensitivity
analysis sample: a nonparametric regression approach. *Med. Decis. Making* 34, 311–326.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from roicast.errors import RoicastError
from roicast.sensitivity._common import as_output, as_samples, average_ranks

__all__ = ["evpi", "evppi"]

#: Inputs with at most this many distinct values are treated as discrete:
#: E[NPV | X = x] is then the exact group mean, whatever the method.
DISCRETE_MAX_VALUES = 32
#: Default number of spline knots for ``method="regression"``.
DEFAULT_KNOTS = 8
#: From this many draws on, ``method="regression"`` fits the spline to the
#: sufficient statistics of :data:`FAST_BINS` bins instead of every draw (issue 13:
#: EVPPI of 20 inputs at 10⁶ draws in well under a second).  Below it the fit
#: uses every draw, as before.
LARGE_N = 200_000
#: Bins of the large-``n`` spline fit.
FAST_BINS = 1024
#: Uniform cells of the two-level bin lookup of the large-``n`` fit.
FAST_CELLS = 65_536
#: Draws (the first ones) whose quantiles give the large-``n`` bin edges and knots.
FAST_SUBSAMPLE = 65_536


def evpi(npv_draws: Any) -> float:
    r"""Expected value of perfect information of the go/no-go decision.

    .. math:: \text{EVPI} = \frac1n\sum_j \max(y_j, 0) - \max(\bar y, 0)

    Parameters
    ----------
    npv_draws : array-like
        NPV per draw (1-D, finite).

    Returns
    -------
    float
        Non-negative, in the units of NPV.  For :math:`\text{NPV} \sim N(\mu, \sigma^2)`
        it tends to :math:`\sigma\varphi(\mu/\sigma) + \mu\Phi(\mu/\sigma) - \max(\mu, 0)`.
    """
    y = as_output(npv_draws, field="npv_draws")
    return float(np.mean(np.maximum(y, 0.0)) - max(float(y.mean()), 0.0))


def _spline_basis_at(z: np.ndarray, xi: np.ndarray) -> np.ndarray:
    """Natural cubic spline basis ``(K, len(z))`` at standardized points ``z``, knots ``xi``."""
    cols = [np.ones_like(z), z]
    if xi.size >= 3:
        last = xi[-1]

        def cube_plus(t: float) -> np.ndarray:
            p = np.maximum(z - t, 0.0)
            return p * p * p

        tail = cube_plus(last)
        d = [(cube_plus(xi[k]) - tail) / (last - xi[k]) for k in range(xi.size - 1)]
        cols.extend(d[k] - d[-1] for k in range(xi.size - 2))
    return np.vstack(cols)


def _spline_basis(x: np.ndarray, knots: int) -> np.ndarray:
    r"""Natural cubic spline basis, shape (K, n), with knots at equally spaced quantiles of ``x``.

    Hastie, Tibshirani and Friedman (2009), eq. 5.4–5.5: :math:`N_1 = 1`,
    :math:`N_2 = x`, :math:`N_{k+2} = d_k - d_{K-1}` with
    :math:`d_k(x) = \frac{(x - \xi_k)_+^3 - (x - \xi_K)_+^3}{\xi_K - \xi_k}`;
    linear beyond the boundary knots, so the tails stay tame.
    """
    z = (x - x.mean()) / x.std()
    xi = np.unique(np.quantile(z, np.linspace(0.05, 0.95, knots)))
    return _spline_basis_at(z, xi)


def _solve(gram: np.ndarray, rhs: np.ndarray, basis_t: np.ndarray, y: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.solve(gram, rhs)
    except np.linalg.LinAlgError:
        coef, *_ = np.linalg.lstsq(basis_t, y, rcond=None)
        return coef


def _conditional_mean_regression(x: np.ndarray, ys: np.ndarray, knots: int) -> np.ndarray:
    """Spline fit of each row of ``ys`` (m, n) on ``x``, evaluated at every draw: (m, n)."""
    basis = _spline_basis(x, knots)  # (K, n)
    # Normal equations (K x K, accurate enough for K <= ~20).  The products use
    # einsum, not BLAS: multi-threaded BLAS on these short-and-wide matrices was
    # 4x slower on a busy 2-core machine than the single-threaded loop.
    gram = np.einsum("ij,kj->ik", basis, basis)
    out = np.empty_like(ys)
    for r, y in enumerate(ys):
        coef = _solve(gram, np.einsum("ij,j->i", basis, y), basis.T, y)
        out[r] = np.einsum("i,ij->j", coef, basis)
    return out


def _conditional_mean_binned_regression(
    x: np.ndarray, ys: np.ndarray, knots: int
) -> tuple[np.ndarray, np.ndarray]:
    r"""Large-``n`` version of the spline fit: on :data:`FAST_BINS` bins' sufficient statistics.

    Bin edges are :data:`FAST_BINS`-quantiles of the first :data:`FAST_SUBSAMPLE`
    draws, the knots quantiles of the same subsample; the spline is fitted by
    weighted least squares to the bin means :math:`(\bar x_b, \bar y_b)` with
    weights the bin counts :math:`c_b`, which minimises
    :math:`\sum_j (y_j - s(\bar x_{b(j)}))^2`: the full fit with each draw's
    input replaced by its bin mean.  Returns the fitted values per bin ``(m, B)``
    and the counts ``(B,)`` (empty bins dropped).
    """
    from roicast.sensitivity._kernels import binned_sums  # numba: loaded only here

    n = x.shape[0]
    x = np.ascontiguousarray(x)
    ys = np.ascontiguousarray(ys)
    mean = x.mean()
    sd = x.std()
    sub = x[: min(n, FAST_SUBSAMPLE)]
    edges = np.unique(np.quantile(sub, np.linspace(0.0, 1.0, FAST_BINS + 1)[1:-1]))
    # Uniform cells over [min, max]; cell c covers [lo + c/scale, lo + (c+1)/scale).
    # Its candidate bins come from the edges at its ends widened by one cell width
    # on each side, so rounding of (x - lo) * scale cannot miss the answer.
    lo_x, hi_x = float(x.min()), float(x.max())
    scale = FAST_CELLS / (hi_x - lo_x)
    left = lo_x + (np.arange(FAST_CELLS) - 1.0) / scale
    cell_lo = np.searchsorted(edges, left, side="left").astype(np.int64)
    cell_hi = np.searchsorted(edges, left + 3.0 / scale, side="right").astype(np.int64)
    counts_i = np.zeros(edges.size + 1, dtype=np.int64)
    sx = np.zeros(edges.size + 1)
    sy = np.zeros((ys.shape[0], edges.size + 1))
    binned_sums(x, ys, edges, lo_x, scale, cell_lo, cell_hi, counts_i, sx, sy)
    keep = counts_i > 0
    c = counts_i[keep].astype(float)
    xbar = sx[keep] / c
    ybar = sy[:, keep] / c
    xi = np.unique(np.quantile((sub - mean) / sd, np.linspace(0.05, 0.95, knots)))
    basis = _spline_basis_at((xbar - mean) / sd, xi)  # (K, B)
    wb = basis * c
    gram = wb @ basis.T
    out = np.empty_like(ybar)
    for r, y in enumerate(ybar):
        coef = _solve(gram, wb @ y, (basis * np.sqrt(c)).T, y * np.sqrt(c))
        out[r] = coef @ basis
    return out, c


def _conditional_mean_bins(rank: np.ndarray, ys: np.ndarray, n_bins: int) -> np.ndarray:
    n = ys.shape[1]
    idx = np.minimum((((rank - 1.0) * n_bins) / n).astype(np.int64), n_bins - 1)
    counts = np.bincount(idx, minlength=n_bins)
    out = np.empty_like(ys)
    for r, y in enumerate(ys):
        sums = np.bincount(idx, weights=y, minlength=n_bins)
        out[r] = (sums / np.maximum(counts, 1))[idx]
    return out


def _conditional_mean_groups(x: np.ndarray, ys: np.ndarray) -> np.ndarray:
    _, inverse = np.unique(x, return_inverse=True)
    counts = np.bincount(inverse)
    out = np.empty_like(ys)
    for r, y in enumerate(ys):
        out[r] = (np.bincount(inverse, weights=y) / counts)[inverse]
    return out


def _conditional_means(
    x: np.ndarray,
    ys: np.ndarray,
    *,
    method: str,
    knots: int,
    n_bins: int,
    rank: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray | None] | None:
    r"""Estimates of :math:`E[Y_r \mid X = x]` for each row :math:`Y_r` of ``ys`` (m, n).

    The one nonparametric-regression machinery of this module (EVPPI, the
    rule-based value of information, the pilot's EVSI).  Returns ``(G, w)``:
    fitted values ``G`` (m, L) at L support points with weights ``w`` (L,)
    summing to n, or ``w = None`` when ``L = n`` (one point per draw), so that
    the sample mean over draws of :math:`h(\hat g(x_j))` is
    :math:`\sum_l w_l h(G_l) / n`.  None when ``x`` does not vary.

    * at most :data:`DISCRETE_MAX_VALUES` distinct values: exact group means;
    * ``method="bins"``: means in ``n_bins`` equal-count bins of the ranks;
    * ``method="regression"``: natural cubic spline least squares, on all draws
      below :data:`LARGE_N` draws, on :data:`FAST_BINS` bins' sufficient
      statistics from :data:`LARGE_N` on.
    """
    # Cheap discreteness test first: > 32 distinct values among the first
    # 1 000 draws already rules out the exact group means.
    head = np.unique(x[:1000]).size
    n_unique = head if head > DISCRETE_MAX_VALUES else np.unique(x).size
    if n_unique == 1:
        return None
    if n_unique <= DISCRETE_MAX_VALUES:
        return _conditional_mean_groups(x, ys), None
    if method == "bins":
        if rank is None:
            rank = average_ranks(x[:, None])[0]
        return _conditional_mean_bins(rank, ys, n_bins), None
    if x.shape[0] >= LARGE_N:
        return _conditional_mean_binned_regression(x, ys, knots)
    return _conditional_mean_regression(x, ys, knots), None


def _columns(values: np.ndarray) -> np.ndarray:
    """Input columns as rows: contiguous copies from :data:`LARGE_N` draws on (fast scans), views below."""
    if values.shape[0] >= LARGE_N:
        return np.ascontiguousarray(values.T)
    return values.T


def _wmean(values: np.ndarray, w: np.ndarray | None) -> float:
    """Mean over draws of per-support-point ``values`` (see :func:`_conditional_means`)."""
    if w is None:
        return float(np.mean(values))
    return float(np.dot(w, values) / w.sum())


def _check_method(method: Any, knots: Any, n_bins: Any, n: int) -> int:
    if method not in ("regression", "bins"):
        raise RoicastError(f"`method` must be 'regression' or 'bins', got {method!r}")
    if isinstance(knots, bool) or not isinstance(knots, int | np.integer) or knots < 3:
        raise RoicastError(f"`knots` must be an int >= 3, got {knots!r}")
    if n_bins is None:
        return max(2, int(np.sqrt(n)))
    if isinstance(n_bins, bool) or not isinstance(n_bins, int | np.integer) or not 2 <= n_bins <= n:
        raise RoicastError(f"`n_bins` must be an int in [2, {n}], got {n_bins!r}")
    return int(n_bins)


def evppi(
    X: pd.DataFrame | xr.DataArray,
    npv: Any,
    *,
    method: Literal["regression", "bins"] = "regression",
    n_bins: int | None = None,
    knots: int = DEFAULT_KNOTS,
) -> pd.Series:
    r"""Per-input expected value of partial perfect information (go/no-go).

    .. math::

        \text{EVPPI}_i = \frac1n \sum_j \max\bigl(\hat g_i(x_{ij}), 0\bigr)
        - \max(\bar y, 0),
        \qquad \hat g_i(x) \approx E[\text{NPV} \mid X_i = x].

    Parameters
    ----------
    X : pandas.DataFrame or xarray.DataArray
        Inputs per draw (columns, or dims ``(draw, input)``).
    npv : array-like
        NPV per draw.
    method : {"regression", "bins"}, keyword-only
        How :math:`\hat g_i` is estimated.

        ``"regression"`` (default): least-squares natural cubic spline of NPV on
        :math:`X_i` with ``knots`` knots at quantiles 5 %..95 % of :math:`X_i`
        (a GAM with one smooth term, as in Strong et al. 2014).  Its noise is
        about :math:`\sigma\sqrt{\text{knots}/n}`, so the upward bias that
        :math:`\max(\cdot, 0)` turns noise into is small.

        ``"bins"``: mean NPV in ``n_bins`` equal-count bins of :math:`X_i`
        (default :math:`\lfloor\sqrt n\rfloor`, at least 2).  Simple and
        assumption-free, but it smooths within a bin (bias down) and each bin
        mean carries noise :math:`\sigma\sqrt{n_\text{bins}/n}` (bias up).

        Inputs with at most ``DISCRETE_MAX_VALUES`` (32) distinct values use the
        exact group means with either method.
    n_bins : int, keyword-only
        Bins for ``method="bins"``.
    knots : int, keyword-only
        Knots for ``method="regression"`` (>= 3).

    Returns
    -------
    pandas.Series
        EVPPI per input (units of NPV), sorted descending; ``attrs["evpi"]``
        holds the EVPI of the same draws (an upper bound) and
        ``attrs["excluded"]`` the zero-variance inputs (EVPPI 0).
    """
    names, values = as_samples(X)
    y = as_output(npv, values.shape[0], field="npv")
    n = y.shape[0]
    n_bins = _check_method(method, knots, n_bins, n)

    base = max(float(y.mean()), 0.0)
    ranks = average_ranks(values) if method == "bins" else None
    columns = _columns(values)
    out = np.zeros(len(names))
    excluded = []
    for i, name in enumerate(names):
        fit = _conditional_means(
            columns[i],
            y[None, :],
            method=method,
            knots=int(knots),
            n_bins=n_bins,
            rank=None if ranks is None else ranks[i],
        )
        if fit is None:
            excluded.append(name)
            continue
        g, w = fit
        out[i] = max(_wmean(np.maximum(g[0], 0.0), w) - base, 0.0)
    total = float(np.mean(np.maximum(y, 0.0)) - base)
    # E_x[max(E[Y|x], 0)] <= E[max(Y, 0)] (Jensen), so EVPPI <= EVPI; a fitted
    # conditional mean can overshoot that bound in heavy tails: clip to it.
    out = np.minimum(out, total)
    s = pd.Series(out, index=pd.Index(names, name="input"), name="evppi")
    s = s.iloc[np.argsort(-out, kind="stable")]
    s.attrs["evpi"] = total
    s.attrs["excluded"] = excluded
    s.attrs["method"] = method
    return s
