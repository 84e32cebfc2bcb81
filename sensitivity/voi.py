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


def _spline_basis(x: np.ndarray, knots: int) -> np.ndarray:
    r"""Natural cubic spline basis, shape (K, n), with knots at equally spaced quantiles of ``x``.

    Hastie, Tibshirani and Friedman (2009), eq. 5.4–5.5: :math:`N_1 = 1`,
    :math:`N_2 = x`, :math:`N_{k+2} = d_k - d_{K-1}` with
    :math:`d_k(x) = \frac{(x - \xi_k)_+^3 - (x - \xi_K)_+^3}{\xi_K - \xi_k}`;
    linear beyond the boundary knots, so the tails stay tame.
    """
    z = (x - x.mean()) / x.std()
    xi = np.unique(np.quantile(z, np.linspace(0.05, 0.95, knots)))
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


def _conditional_mean_regression(x: np.ndarray, y: np.ndarray, knots: int) -> np.ndarray:
    basis = _spline_basis(x, knots)  # (K, n)
    # Normal equations (K x K, accurate enough for K <= ~20).  The products use
    # einsum, not BLAS: multi-threaded BLAS on these short-and-wide matrices was
    # 4x slower on a busy 2-core machine than the single-threaded loop.
    gram = np.einsum("ij,kj->ik", basis, basis)
    try:
        coef = np.linalg.solve(gram, np.einsum("ij,j->i", basis, y))
    except np.linalg.LinAlgError:
        coef, *_ = np.linalg.lstsq(basis.T, y, rcond=None)
    return np.einsum("i,ij->j", coef, basis)


def _conditional_mean_bins(rank: np.ndarray, y: np.ndarray, n_bins: int) -> np.ndarray:
    n = y.shape[0]
    idx = np.minimum((((rank - 1.0) * n_bins) / n).astype(np.int64), n_bins - 1)
    sums = np.bincount(idx, weights=y, minlength=n_bins)
    counts = np.bincount(idx, minlength=n_bins)
    means = sums / np.maximum(counts, 1)
    return means[idx]


def _conditional_mean_groups(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    _, inverse = np.unique(x, return_inverse=True)
    sums = np.bincount(inverse, weights=y)
    counts = np.bincount(inverse)
    return (sums / counts)[inverse]


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
    if method not in ("regression", "bins"):
        raise RoicastError(f"`method` must be 'regression' or 'bins', got {method!r}")
    if isinstance(knots, bool) or not isinstance(knots, int | np.integer) or knots < 3:
        raise RoicastError(f"`knots` must be an int >= 3, got {knots!r}")
    if n_bins is None:
        n_bins = max(2, int(np.sqrt(n)))
    elif (
        isinstance(n_bins, bool) or not isinstance(n_bins, int | np.integer) or not 2 <= n_bins <= n
    ):
        raise RoicastError(f"`n_bins` must be an int in [2, {n}], got {n_bins!r}")

    base = max(float(y.mean()), 0.0)
    ranks = average_ranks(values) if method == "bins" else None
    out = np.zeros(len(names))
    excluded = []
    for i, name in enumerate(names):
        x = values[:, i]
        # Cheap discreteness test first: > 32 distinct values among the first
        # 1 000 draws already rules out the exact group means.
        head = np.unique(x[:1000]).size
        n_unique = head if head > DISCRETE_MAX_VALUES else np.unique(x).size
        if n_unique == 1:
            excluded.append(name)
            continue
        if n_unique <= DISCRETE_MAX_VALUES:
            g = _conditional_mean_groups(x, y)
        elif ranks is not None:
            g = _conditional_mean_bins(ranks[i], y, int(n_bins))
        else:
            g = _conditional_mean_regression(x, y, int(knots))
        out[i] = max(float(np.mean(np.maximum(g, 0.0))) - base, 0.0)
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
