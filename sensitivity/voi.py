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

* :func:`voi_for_rule`: the same values for the rule the study actually applies
  ("go when P(NPV > 0) >= p*", or "mean NPV > 0"), with the probability that
  learning each input reverses today's verdict.
* :func:`evsi_pilot`: expected value of the sample information of a pilot that
  measures one input with noise, net of its cost (Strong et al. 2015).

All of them estimate conditional expectations with one regression machinery
(:func:`_conditional_means`): exact group means for discrete inputs, a natural
cubic spline otherwise (fitted on bin statistics from :data:`LARGE_N` draws on),
or equal-count bins.

References
----------
Strong, M., Oakley, J. E. and Brennan, A. (2014). Estimating multiparameter
partial expected value of perfect information from a probabilistic sensitivity
analysis sample: a nonparametric regression approach. *Med. Decis. Making* 34, 311–326.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from roicast.errors import RoicastError
from roicast.sensitivity._common import (
    as_columns,
    as_generator,
    as_output,
    as_samples,
    average_ranks,
)

__all__ = ["RULES", "PilotResult", "VoiResult", "evpi", "evppi", "evsi_pilot", "voi_for_rule"]

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
#: Uniform cells of the two-level bin lookup of the large-``n`` fit (the bins found do
#: not depend on it; 16 384 cells of int32 keep the lookup tables in the CPU's L2 cache).
FAST_CELLS = 16_384
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
    sub = np.sort(x[: min(n, FAST_SUBSAMPLE)])  # quantiles of sorted data: same values, faster
    edges = np.unique(np.quantile(sub, np.linspace(0.0, 1.0, FAST_BINS + 1)[1:-1]))
    # Uniform cells over [min, max]; cell c covers [lo + c/scale, lo + (c+1)/scale).
    # Its candidate bins come from the edges at its ends widened by one cell width
    # on each side, so rounding of (x - lo) * scale cannot miss the answer.
    lo_x, hi_x = float(x.min()), float(x.max())
    scale = FAST_CELLS / (hi_x - lo_x)
    left = lo_x + (np.arange(FAST_CELLS) - 1.0) / scale
    cell_lo = np.searchsorted(edges, left, side="left").astype(np.int32)
    cell_hi = np.searchsorted(edges, left + 3.0 / scale, side="right").astype(np.int32)
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
    names, columns = as_columns(X)
    y = as_output(npv, columns.shape[1], field="npv")
    n = y.shape[0]
    n_bins = _check_method(method, knots, n_bins, n)

    base = max(float(y.mean()), 0.0)
    ranks = average_ranks(columns.T) if method == "bins" else None
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


# --------------------------------------------------------------------------------------
# Value of information for the configured decision rule, and the pilot planner (issue 14).

#: Decision rules of :func:`voi_for_rule` and :func:`evsi_pilot`.
RULES = ("prob_positive", "mean_positive")


def _check_rule(rule: Any, threshold: Any) -> tuple[str, float]:
    if rule not in RULES:
        raise RoicastError(f"`rule` must be one of {', '.join(map(repr, RULES))}, got {rule!r}")
    try:
        p = float(threshold)
    except (TypeError, ValueError):
        raise RoicastError(f"`threshold` must be a number in (0, 1], got {threshold!r}") from None
    if not 0.0 < p <= 1.0:
        raise RoicastError(f"`threshold` must lie in (0, 1], got {threshold!r}")
    return str(rule), p


def _go(rule: str, threshold: float, mean: np.ndarray, prob: np.ndarray) -> np.ndarray:
    """The rule's verdict: P(NPV > 0) >= p* (``prob_positive``) or E[NPV] > 0."""
    if rule == "prob_positive":
        return prob >= threshold
    return mean > 0.0


def _decision_now(rule: str, threshold: float, y: np.ndarray) -> tuple[bool, float]:
    """Verdict with today's information, and its expected NPV E[NPV]·1{go now}."""
    mean = float(y.mean())
    prob = float(np.mean(y > 0.0))
    go_now = bool(_go(rule, threshold, np.array([mean]), np.array([prob]))[0])
    return go_now, mean if go_now else 0.0


def _value_after(
    x: np.ndarray,
    y: np.ndarray,
    rule: str,
    threshold: float,
    go_now: bool,
    *,
    method: str,
    knots: int,
    n_bins: int,
    rank: np.ndarray | None,
) -> tuple[float, float, float] | None:
    r"""E[ E[NPV|x]·1{go(x)} ], P(go(x) ≠ go now), P(go(x)); None when ``x`` is constant."""
    fit = _conditional_means(
        x,
        np.vstack([y, (y > 0.0).astype(float)]),
        method=method,
        knots=knots,
        n_bins=n_bins,
        rank=rank,
    )
    if fit is None:
        return None
    g, w = fit
    go = _go(rule, threshold, g[0], np.clip(g[1], 0.0, 1.0))
    value = _wmean(np.where(go, g[0], 0.0), w)
    flip = _wmean((go != go_now).astype(float), w)
    return value, flip, _wmean(go.astype(float), w)


@dataclass(frozen=True)
class VoiResult:
    r"""Value of information under a decision rule (:func:`voi_for_rule`).

    Attributes
    ----------
    names : tuple of str
        Inputs, in the order of the arrays.
    evppi : numpy.ndarray, shape (k,)
        :math:`E_x[E[\text{NPV}\mid x]\,1\{\text{go}(x)\}] - E[\text{NPV}]\,1\{\text{go now}\}`
        per input (units of NPV).  Under ``"mean_positive"`` it is the classic
        EVPPI (≥ 0 up to estimation noise); under ``"prob_positive"`` it may be
        negative: learning the input can make the rule turn down projects
        whose expected NPV is positive.
    prob_flip : numpy.ndarray, shape (k,)
        :math:`P(\text{go}(x) \ne \text{go now})`: probability that learning the
        input reverses today's verdict.
    prob_go : numpy.ndarray, shape (k,)
        :math:`P(\text{go}(x))` after learning the input.
    evpi : float
        The same value for learning the NPV itself,
        :math:`E[\max(\text{NPV}, 0)] - E[\text{NPV}]\,1\{\text{go now}\}`.
    go_now : bool
        The rule's verdict with today's information.
    value_now : float
        :math:`E[\text{NPV}]\,1\{\text{go now}\}`.
    prob_positive : float
        :math:`P(\text{NPV} > 0)` today.
    rule : str
        ``"prob_positive"`` or ``"mean_positive"``.
    threshold : float
        :math:`p^*` of ``"prob_positive"`` (kept, unused, for ``"mean_positive"``).
    excluded : tuple of str
        Inputs that do not vary (value 0, no flip).
    method : str
        Regression used for the conditional means.
    """

    names: tuple[str, ...]
    evppi: np.ndarray
    prob_flip: np.ndarray
    prob_go: np.ndarray
    evpi: float
    go_now: bool
    value_now: float
    prob_positive: float
    rule: str
    threshold: float
    excluded: tuple[str, ...]
    method: str

    def to_dataframe(self) -> pd.DataFrame:
        """One row per input, sorted by ``evppi`` descending: ``evppi, prob_flip, prob_go``."""
        df = pd.DataFrame(
            {"evppi": self.evppi, "prob_flip": self.prob_flip, "prob_go": self.prob_go},
            index=pd.Index(list(self.names), name="input"),
        )
        df = df.iloc[np.argsort(-self.evppi, kind="stable")]
        df.attrs.update(
            evpi=self.evpi, go_now=self.go_now, rule=self.rule, threshold=self.threshold
        )
        return df

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        order = np.argsort(-self.evppi, kind="stable")
        return {
            "rule": self.rule,
            "threshold": self.threshold,
            "go_now": self.go_now,
            "value_now": self.value_now,
            "prob_positive": self.prob_positive,
            "evpi": self.evpi,
            "method": self.method,
            "excluded": list(self.excluded),
            "inputs": [
                {
                    "input": self.names[i],
                    "evppi": float(self.evppi[i]),
                    "prob_flip": float(self.prob_flip[i]),
                    "prob_go": float(self.prob_go[i]),
                }
                for i in order
            ],
        }


def voi_for_rule(
    X: pd.DataFrame | xr.DataArray,
    npv: Any,
    *,
    rule: Literal["prob_positive", "mean_positive"] = "prob_positive",
    threshold: float = 0.8,
    method: Literal["regression", "bins"] = "regression",
    n_bins: int | None = None,
    knots: int = DEFAULT_KNOTS,
) -> VoiResult:
    r"""EVPI and per-input EVPPI of the go/no-go decision as the configured rule takes it.

    The rule decides *go* when :math:`P(\text{NPV} > 0) \ge p^*`
    (``rule="prob_positive"``, ``threshold`` :math:`= p^*`) or when
    :math:`E[\text{NPV}] > 0` (``rule="mean_positive"``).  Information is valued
    by the expected NPV of the decision it leads to (no-go is worth 0):

    .. math::

        \text{go now} &= \text{rule}\bigl(P(\text{NPV} > 0),\ E[\text{NPV}]\bigr),\\
        \text{go}(x) &= \text{rule}\bigl(P(\text{NPV} > 0 \mid X_i = x),\
                          E[\text{NPV} \mid X_i = x]\bigr),\\
        \text{EVPPI}_i &= E_{X_i}\bigl[E[\text{NPV} \mid X_i]\;1\{\text{go}(X_i)\}\bigr]
                          - E[\text{NPV}]\;1\{\text{go now}\},\\
        \text{EVPI} &= E[\max(\text{NPV}, 0)] - E[\text{NPV}]\;1\{\text{go now}\},

    (with perfect information, :math:`P(\text{NPV} > 0 \mid \text{NPV}) \in \{0, 1\}`,
    so both rules go exactly when NPV > 0), and the probability that learning
    :math:`X_i` reverses today's verdict is
    :math:`P(\text{go}(X_i) \ne \text{go now})`.

    :math:`E[\text{NPV} \mid X_i]` and :math:`P(\text{NPV} > 0 \mid X_i)` are the
    regressions of NPV and of :math:`1\{\text{NPV} > 0\}` on :math:`X_i` by the
    machinery of :func:`evppi` (same ``method``, ``knots``, ``n_bins``; the
    probability clipped to [0, 1]), from the preposterior sample itself.

    Under ``"mean_positive"`` this is :func:`evppi` before its clipping to
    :math:`[0, \text{EVPI}]`.  Under ``"prob_positive"`` the rule does not
    maximise expected NPV, so a value can be **negative**: learning the input
    would lead the rule to turn down projects worth doing on average.

    Parameters
    ----------
    X : pandas.DataFrame or xarray.DataArray
        Inputs per draw (columns, or dims ``(draw, input)``).
    npv : array-like
        NPV per draw.
    rule : {"prob_positive", "mean_positive"}, keyword-only
        The decision rule.
    threshold : float, keyword-only
        :math:`p^*` in (0, 1] for ``"prob_positive"``.
    method, n_bins, knots : keyword-only
        As in :func:`evppi`.

    Returns
    -------
    VoiResult
    """
    rule, threshold = _check_rule(rule, threshold)
    names, values = as_samples(X)
    y = as_output(npv, values.shape[0], field="npv")
    n_bins = _check_method(method, knots, n_bins, y.shape[0])
    go_now, value_now = _decision_now(rule, threshold, y)
    ranks = average_ranks(values) if method == "bins" else None
    columns = _columns(values)
    k = len(names)
    value = np.full(k, value_now)
    flip = np.zeros(k)
    p_go = np.full(k, float(go_now))
    excluded = []
    for i, name in enumerate(names):
        res = _value_after(
            columns[i],
            y,
            rule,
            threshold,
            go_now,
            method=method,
            knots=int(knots),
            n_bins=n_bins,
            rank=None if ranks is None else ranks[i],
        )
        if res is None:
            excluded.append(name)
            continue
        value[i], flip[i], p_go[i] = res
    return VoiResult(
        names=tuple(names),
        evppi=value - value_now,
        prob_flip=flip,
        prob_go=p_go,
        evpi=float(np.mean(np.maximum(y, 0.0))) - value_now,
        go_now=go_now,
        value_now=value_now,
        prob_positive=float(np.mean(y > 0.0)),
        rule=rule,
        threshold=threshold,
        excluded=tuple(excluded),
        method=str(method),
    )


@dataclass(frozen=True)
class PilotResult:
    r"""Expected value of a pilot's sample information (:func:`evsi_pilot`).

    Attributes
    ----------
    input : str
        The input the pilot measures.
    noise_sd : float
        Standard deviation :math:`\sigma` of the pilot's measurement error.
    cost : float
        Cost of the pilot (units of NPV).
    evsi : float
        :math:`E_D[E[\text{NPV}\mid D]\,1\{\text{go}(D)\}] - E[\text{NPV}]\,1\{\text{go now}\}`.
    net_value : float
        ``evsi - cost``.
    prob_flip : float
        :math:`P(\text{go}(D) \ne \text{go now})`: probability the pilot reverses the verdict.
    prob_go : float
        :math:`P(\text{go}(D))` after the pilot.
    worth_running : bool
        ``net_value > 0``.
    evppi : float
        The same value for learning the input exactly (:math:`\sigma = 0`), from
        the same draws: what a perfect pilot would be worth.
    go_now : bool
        Today's verdict.
    rule, threshold : str, float
        The decision rule.
    seed : int or None
        Seed of the simulated measurement errors (None when a Generator was given).
    """

    input: str
    noise_sd: float
    cost: float
    evsi: float
    net_value: float
    prob_flip: float
    prob_go: float
    worth_running: bool
    evppi: float
    go_now: bool
    rule: str
    threshold: float
    seed: int | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "input": self.input,
            "noise_sd": self.noise_sd,
            "cost": self.cost,
            "evsi": self.evsi,
            "net_value": self.net_value,
            "prob_flip": self.prob_flip,
            "prob_go": self.prob_go,
            "worth_running": self.worth_running,
            "evppi": self.evppi,
            "go_now": self.go_now,
            "rule": self.rule,
            "threshold": self.threshold,
            "seed": self.seed,
        }


def _nonneg(value: Any, field: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise RoicastError(f"`{field}` must be a finite number >= 0, got {value!r}") from None
    if not (np.isfinite(v) and v >= 0.0):
        raise RoicastError(f"`{field}` must be a finite number >= 0, got {value!r}")
    return v


def evsi_pilot(
    X: pd.DataFrame | xr.DataArray,
    npv: Any,
    input: str,
    noise_sd: float,
    cost: float,
    *,
    rule: Literal["prob_positive", "mean_positive"] = "prob_positive",
    threshold: float = 0.8,
    seed: int | np.random.Generator = 0,
    method: Literal["regression", "bins"] = "regression",
    n_bins: int | None = None,
    knots: int = DEFAULT_KNOTS,
) -> PilotResult:
    r"""Is a pilot that measures one input worth its cost?  EVSI under the decision rule.

    The pilot observes :math:`D = X_i + \varepsilon`,
    :math:`\varepsilon \sim N(0, \sigma^2)` (``noise_sd`` :math:`= \sigma`; a
    pilot averaging *m* independent measurements of error sd *s* has
    :math:`\sigma = s/\sqrt m`).  The rule is applied to the posterior after the
    observation, and the pilot is valued by the expected NPV of the decision:

    .. math::

        \text{EVSI} = E_D\bigl[E[\text{NPV}\mid D]\;1\{\text{go}(D)\}\bigr]
                      - E[\text{NPV}]\;1\{\text{go now}\},

    with :math:`\text{go}(D)` the rule on :math:`P(\text{NPV} > 0 \mid D)` and
    :math:`E[\text{NPV} \mid D]` (see :func:`voi_for_rule`); worth running when
    :math:`\text{EVSI} - \text{cost} > 0`.

    Method: the regression-based EVSI of Strong, Oakley, Brennan and Breeze
    (2015).  For every Monte Carlo draw *j* one data set is simulated given the
    draw's input value, :math:`d_j = x_{ij} + \sigma z_j` with
    :math:`z_j \sim N(0, 1)` from ``seed``; the summary statistic is
    :math:`d_j` itself (sufficient for one normal observation); NPV and
    :math:`1\{\text{NPV} > 0\}` are regressed on :math:`d` with the machinery of
    :func:`evppi`, and the fitted values are the preposterior means
    :math:`E[\text{NPV} \mid D = d_j]` and probabilities.  No nested simulation,
    no prior-to-posterior algebra: the PSA draws already hold the joint
    distribution of (input, NPV).  As :math:`\sigma \to 0` the EVSI tends to the
    input's EVPPI under the rule; as :math:`\sigma \to \infty` to 0.

    Parameters
    ----------
    X : pandas.DataFrame or xarray.DataArray
        Inputs per draw (columns, or dims ``(draw, input)``).
    npv : array-like
        NPV per draw.
    input : str
        The input the pilot measures (a column of ``X``).
    noise_sd : float
        :math:`\sigma \ge 0`, in the input's units (0: the pilot reveals it exactly).
    cost : float
        Cost of the pilot (>= 0, units of NPV).
    rule, threshold : keyword-only
        As in :func:`voi_for_rule`.
    seed : int or numpy.random.Generator, keyword-only
        Simulated measurement errors.
    method, n_bins, knots : keyword-only
        As in :func:`evppi`.

    Returns
    -------
    PilotResult

    References
    ----------
    Strong, M., Oakley, J. E., Brennan, A. and Breeze, P. (2015). Estimating the
    expected value of sample information using the probabilistic sensitivity
    analysis sample: a fast, nonparametric regression-based method.
    *Med. Decis. Making* 35, 570–583.
    """
    rule, threshold = _check_rule(rule, threshold)
    names, values = as_samples(X)
    if input not in names:
        raise RoicastError(f"`input` {input!r} is not a column of `X`; inputs are {names}")
    y = as_output(npv, values.shape[0], field="npv")
    noise_sd = _nonneg(noise_sd, "noise_sd")
    cost = _nonneg(cost, "cost")
    n_bins = _check_method(method, knots, n_bins, y.shape[0])
    seed_label = None if isinstance(seed, np.random.Generator) else seed
    rng = as_generator(seed)
    go_now, value_now = _decision_now(rule, threshold, y)
    x = np.ascontiguousarray(values[:, names.index(input)])

    def after(d: np.ndarray) -> tuple[float, float, float]:
        res = _value_after(
            d,
            y,
            rule,
            threshold,
            go_now,
            method=method,
            knots=int(knots),
            n_bins=n_bins,
            rank=None,
        )
        return (value_now, 0.0, float(go_now)) if res is None else res

    perfect = after(x)
    sample = perfect if noise_sd == 0.0 else after(x + noise_sd * rng.standard_normal(x.shape[0]))
    evsi = sample[0] - value_now
    return PilotResult(
        input=input,
        noise_sd=noise_sd,
        cost=cost,
        evsi=evsi,
        net_value=evsi - cost,
        prob_flip=sample[1],
        prob_go=sample[2],
        worth_running=bool(evsi - cost > 0.0),
        evppi=perfect[0] - value_now,
        go_now=go_now,
        rule=rule,
        threshold=threshold,
        seed=None if seed_label is None else int(seed_label),
    )
