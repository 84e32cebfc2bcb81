"""Rankings of inputs from one Monte Carlo run: rank correlation, variance share, binned effect.

All three are computed from the kept ``(draw, input)`` sample and the output
per draw, with no further model evaluation:

* **Spearman rank correlation** :math:`\\rho_i` of input *i* with the output.
* **Contribution to variance** :math:`\\operatorname{sign}(\\rho_i)\\,\\rho_i^2 / \\sum_j \\rho_j^2`
  (Crystal Ball's "contribution to variance"; an approximation that treats the
  rank-transformed model as additive).
* **Binned effect** (@RISK's "change in output mean"): sort the draws by the
  input, cut them into equal-count bins (deciles by default), take the mean
  output per bin; the bar runs from the lowest to the highest bin mean.

Correlation sees only monotonic effects; the binned effect also sees
non-monotonic ones (an optimum in the middle of an input's range).  Where the
two disagree, :func:`rankings` flags the input as ``nonmonotonic``.

Inputs with zero variance (fixed values) are excluded from every result.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from roicast.errors import RoicastError
from roicast.sensitivity._common import (
    FAST_RANK_N,
    as_columns,
    as_output,
    average_ranks,
    fill_average_ranks,
)

__all__ = [
    "NONMONOTONIC_MIN_SWING_SHARE",
    "NONMONOTONIC_NOISE_FACTOR",
    "NONMONOTONIC_RHO_RATIO",
    "binned_effect",
    "contribution_to_variance",
    "rankings",
    "spearman_ranking",
]

#: An input can be flagged non-monotonic only if its binned swing is at least this
#: share of the largest binned swing of any input.
NONMONOTONIC_MIN_SWING_SHARE = 0.2
#: ... and its |ρ| relative to the largest |ρ| is below this fraction of its swing share.
#: For a monotonic (e.g. linear) effect both shares are about equal, so a rank
#: correlation share under half the swing share means correlation misses the effect.
NONMONOTONIC_RHO_RATIO = 0.5
#: ... and its swing exceeds this many standard errors of a bin mean
#: (sd(y)·sqrt(bins/n)).  The range of 10 bin means of pure noise averages 3.1 SE
#: and exceeds 6 SE with probability about 0.1 %.
NONMONOTONIC_NOISE_FACTOR = 6.0


def _check_bins(bins: Any, n: int) -> int:
    if isinstance(bins, bool) or not isinstance(bins, int | np.integer) or bins < 2:
        raise RoicastError(f"`bins` must be an int >= 2, got {bins!r}")
    if bins > n:
        raise RoicastError(f"`bins` ({bins}) must not exceed the number of draws ({n})")
    return int(bins)


def _prepare(X: Any, y: Any) -> tuple[list[str], np.ndarray, np.ndarray, list[str]]:
    """Names and values of the varying inputs (one row per input), the output, and the excluded names."""
    names, columns = as_columns(X)
    out = as_output(y, columns.shape[1])
    varying = np.ptp(columns, axis=1) > 0.0
    excluded = [nm for nm, v in zip(names, varying, strict=True) if not v]
    if not varying.any():
        raise RoicastError("`X` has no input with non-zero variance; nothing to rank")
    kept = [nm for nm, v in zip(names, varying, strict=True) if v]
    return kept, (columns if varying.all() else columns[varying]), out, excluded


def _rank_measures(
    columns: np.ndarray, y: np.ndarray, bins: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Spearman ρ ``(k,)`` and the per-bin output means and counts ``(k, bins)`` of each input row.

    Below :data:`~roicast.sensitivity._common.FAST_RANK_N` draws from
    :func:`average_ranks`; from it on, one value sort per input
    (:func:`~roicast.sensitivity._common.fill_average_ranks`) and one numba
    pass over the draws (:func:`roicast.sensitivity._kernels.rank_stats`) give the
    same ranks, bins and correlations (sums in another order: equal to about
    1e-15 relative).
    """
    k, n = columns.shape
    if n < FAST_RANK_N:
        ranks = average_ranks(columns.T)
        rho = _spearman(ranks, average_ranks(y[:, None])[0])
        means, counts = _binned(ranks, y, bins)
        return rho, means, counts
    from roicast.sensitivity._kernels import rank_stats

    ry = fill_average_ranks(y, np.empty(n))
    ry -= (n + 1) / 2.0
    syy = float(np.dot(ry, ry))
    rho = np.zeros(k)
    sums = np.zeros((k, bins))
    counts = np.zeros((k, bins), dtype=np.int64)
    rx = np.empty(n)
    for i in range(k):
        sxy, sxx = rank_stats(fill_average_ranks(columns[i], rx), y, ry, bins, sums[i], counts[i])
        denom = np.sqrt(sxx * syy)
        rho[i] = sxy / denom if denom > 0.0 else 0.0
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return rho, means, counts


def _spearman(ranks_x: np.ndarray, ranks_y: np.ndarray) -> np.ndarray:
    """Pearson correlation of each rank row ``(k, n)`` with the output ranks ``(n,)``."""
    rx = ranks_x - ranks_x.mean(axis=1, keepdims=True)
    ry = ranks_y - ranks_y.mean()
    denom = np.sqrt(np.einsum("ij,ij->i", rx, rx) * np.dot(ry, ry))
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = np.einsum("ij,j->i", rx, ry) / denom
    return np.where(denom > 0.0, rho, 0.0)


def _contribution(rho: np.ndarray) -> np.ndarray:
    total = float(np.sum(rho**2))
    if total == 0.0:
        return np.zeros_like(rho)
    return np.sign(rho) * rho**2 / total


def _binned(ranks_x: np.ndarray, y: np.ndarray, bins: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-bin output means and counts, shape (k, bins), from rank rows ``(k, n)``.

    Bin of a draw for input i is ``floor((rank - 1) · bins / n)`` with average
    ranks, so bins are equal-count and tied input values share a bin (a bin
    may then be empty: its mean is NaN).
    """
    k, n = ranks_x.shape
    bin_idx = np.minimum((((ranks_x - 1.0) * bins) / n).astype(np.int64), bins - 1)
    bin_idx += (np.arange(k) * bins)[:, None]
    flat = bin_idx.ravel()
    sums = np.bincount(flat, weights=np.tile(y, k), minlength=k * bins).reshape(k, bins)
    counts = np.bincount(flat, minlength=k * bins).reshape(k, bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return means, counts


def _sorted_series(values: np.ndarray, names: list[str], label: str, excluded: list[str]):
    s = pd.Series(values, index=pd.Index(names, name="input"), name=label)
    s = s.iloc[np.argsort(-np.abs(values), kind="stable")]
    s.attrs["excluded"] = excluded
    return s


def spearman_ranking(X: pd.DataFrame | xr.DataArray, y: Any) -> pd.Series:
    r"""Spearman rank correlation of each input with the output.

    .. math:: \rho_i = \operatorname{corr}(\operatorname{rank}(x_i), \operatorname{rank}(y))

    with average ranks for ties.

    Parameters
    ----------
    X : pandas.DataFrame or xarray.DataArray
        Inputs per draw: one column per input, or dims ``(draw, input)``.
    y : array-like
        Output per draw (1-D, finite).

    Returns
    -------
    pandas.Series
        Indexed by input, sorted by :math:`|\rho|` descending.  Zero-variance
        inputs are excluded and listed in ``.attrs["excluded"]``.
    """
    names, columns, out, excluded = _prepare(X, y)
    rho, _means, _counts = _rank_measures(columns, out, 2)
    return _sorted_series(rho, names, "spearman", excluded)


def contribution_to_variance(X: pd.DataFrame | xr.DataArray, y: Any) -> pd.Series:
    r"""Signed share of output variance attributed to each input by rank correlation.

    .. math:: c_i = \operatorname{sign}(\rho_i)\,\frac{\rho_i^2}{\sum_j \rho_j^2}

    so :math:`\sum_i |c_i| = 1`.  It treats the rank-transformed model as
    additive with independent inputs; interactions and non-monotonic effects are
    invisible to it.

    Returns
    -------
    pandas.Series
        Indexed by input, sorted by :math:`|c_i|` descending (zero-variance
        inputs excluded, listed in ``.attrs["excluded"]``).
    """
    names, columns, out, excluded = _prepare(X, y)
    rho, _means, _counts = _rank_measures(columns, out, 2)
    return _sorted_series(_contribution(rho), names, "contribution", excluded)


def _binned_dataset(
    names: list[str], means: np.ndarray, counts: np.ndarray, excluded: list[str]
) -> xr.Dataset:
    low = np.nanmin(means, axis=1)
    high = np.nanmax(means, axis=1)
    bins = means.shape[1]
    ds = xr.Dataset(
        {
            "bin_mean": (("input", "bin"), means),
            "bin_count": (("input", "bin"), counts),
            "low": ("input", low),
            "high": ("input", high),
            "swing": ("input", high - low),
            "low_bin": ("input", np.nanargmin(means, axis=1)),
            "high_bin": ("input", np.nanargmax(means, axis=1)),
        },
        coords={"input": names, "bin": np.arange(1, bins + 1)},
    )
    ds.attrs["excluded"] = list(excluded)
    ds.attrs["description"] = (
        "mean output per equal-count bin of each input (bin 1 = lowest input values); "
        "bar from the lowest (low) to the highest (high) bin mean"
    )
    return ds


def binned_effect(X: pd.DataFrame | xr.DataArray, y: Any, *, bins: int = 10) -> xr.Dataset:
    r"""Change in output mean across equal-count bins of each input (@RISK's tornado).

    Draws are sorted by the input and cut into ``bins`` equal-count bins
    (deciles by default); :math:`\bar y_{i,b}` is the mean output in bin *b*:

    .. math::

        \text{low}_i = \min_b \bar y_{i,b},\quad
        \text{high}_i = \max_b \bar y_{i,b},\quad
        \text{swing}_i = \text{high}_i - \text{low}_i .

    Tied input values (discrete inputs) share a bin, so a bin may be empty
    (mean NaN, ignored by low/high).

    Parameters
    ----------
    X : pandas.DataFrame or xarray.DataArray
        Inputs per draw (columns, or dims ``(draw, input)``).
    y : array-like
        Output per draw.
    bins : int, keyword-only
        Number of bins (>= 2).

    Returns
    -------
    xarray.Dataset
        ``bin_mean (input, bin)``, ``bin_count (input, bin)``, ``low``,
        ``high``, ``swing``, ``low_bin``, ``high_bin`` (0-based positions of the
        lowest / highest bin mean) per ``input``.  Zero-variance inputs are
        excluded and listed in ``attrs["excluded"]``.
    """
    names, columns, out, excluded = _prepare(X, y)
    bins = _check_bins(bins, columns.shape[1])
    _rho, means, counts = _rank_measures(columns, out, bins)
    return _binned_dataset(names, means, counts, excluded)


def rankings(X: pd.DataFrame | xr.DataArray, y: Any, *, bins: int = 10) -> pd.DataFrame:
    r"""All Monte Carlo rankings side by side, with a non-monotonic flag.

    Ranks are computed once (one sort per input) and shared by every
    measure; from 50 000 draws on, the sort is a value sort of packed keys and
    Spearman and the bins come from one numba pass over the sorted draws.

    Parameters
    ----------
    X : pandas.DataFrame or xarray.DataArray
        Inputs per draw (columns, or dims ``(draw, input)``).
    y : array-like
        Output per draw (1-D, finite).
    bins : int, keyword-only
        Bins of the binned effect (deciles by default).

    Returns
    -------
    pandas.DataFrame
        Indexed by input, sorted by ``swing`` descending, columns:

        ``spearman``
            rank correlation :math:`\rho_i`;
        ``contribution``
            :math:`\operatorname{sign}(\rho_i)\rho_i^2/\sum_j\rho_j^2`;
        ``low``, ``high``, ``swing``
            lowest and highest bin mean, and their difference;
        ``swing_share``
            :math:`\text{swing}_i / \max_j \text{swing}_j`;
        ``rho_share``
            :math:`|\rho_i| / \max_j |\rho_j|`;
        ``nonmonotonic``
            True when the binned effect is large while the rank correlation is
            small, i.e. all of

            * ``swing_share >= NONMONOTONIC_MIN_SWING_SHARE`` (0.2),
            * ``rho_share < NONMONOTONIC_RHO_RATIO * swing_share`` (0.5): for a
              monotonic effect the two shares are about equal,
            * ``swing > NONMONOTONIC_NOISE_FACTOR * sd(y) * sqrt(bins / n)`` (6):
              the swing is not bin-mean noise (10 bin means of pure noise span
              3.1 standard errors on average, more than 6 with probability ≈ 0.1 %).

        ``attrs["excluded"]`` lists zero-variance inputs; ``attrs["bins"]`` the bins.
    """
    names, columns, out, excluded = _prepare(X, y)
    n = columns.shape[1]
    bins = _check_bins(bins, n)
    rho, means, _counts = _rank_measures(columns, out, bins)
    low = np.nanmin(means, axis=1)
    high = np.nanmax(means, axis=1)
    swing = high - low
    max_swing = float(swing.max())
    max_rho = float(np.abs(rho).max())
    swing_share = swing / max_swing if max_swing > 0 else np.zeros_like(swing)
    rho_share = np.abs(rho) / max_rho if max_rho > 0 else np.zeros_like(rho)
    noise = NONMONOTONIC_NOISE_FACTOR * float(out.std()) * np.sqrt(bins / n)
    flag = (
        (swing_share >= NONMONOTONIC_MIN_SWING_SHARE)
        & (rho_share < NONMONOTONIC_RHO_RATIO * swing_share)
        & (swing > noise)
    )
    df = pd.DataFrame(
        {
            "spearman": rho,
            "contribution": _contribution(rho),
            "low": low,
            "high": high,
            "swing": swing,
            "swing_share": swing_share,
            "rho_share": rho_share,
            "nonmonotonic": flag,
        },
        index=pd.Index(names, name="input"),
    )
    df = df.iloc[np.argsort(-swing, kind="stable")]
    df.attrs["excluded"] = excluded
    df.attrs["bins"] = bins
    return df
