"""numba kernels of the sensitivity stage (private).

Pure functions: plain arrays in, preallocated arrays out, no validation (the
Python layer checks shapes and values).  Imported lazily, only by the
large-``n`` paths, so that ``import roicast.sensitivity`` does not load numba.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["binned_sums"]


@nb.njit(cache=True, error_model="numpy")
def binned_sums(
    x: np.ndarray,
    ys: np.ndarray,
    edges: np.ndarray,
    origin: float,
    scale: float,
    cell_lo: np.ndarray,
    cell_hi: np.ndarray,
    counts: np.ndarray,
    sx: np.ndarray,
    sy: np.ndarray,
) -> None:
    """Per-bin count, sum of ``x`` and sums of each row of ``ys``, in one pass.

    The bin of ``x[j]`` is the number of ``edges`` ``<= x[j]`` (numpy's
    ``searchsorted(edges, x, side="right")``), found in two levels: the uniform
    cell ``c = floor((x[j] - origin) * scale)`` (clipped to the table) says the
    answer lies in ``[cell_lo[c], cell_hi[c]]``; a binary search over that
    range (usually empty) finishes it.  The caller builds the tables so that
    this range holds the answer for every value that falls in cell ``c``.

    Parameters
    ----------
    x : float64[n]
    ys : float64[m, n]
    edges : float64[e], sorted
    origin, scale : float
    cell_lo, cell_hi : int32 or int64[cells]
    counts : int64[e + 1], zeroed (out)
    sx : float64[e + 1], zeroed (out)
    sy : float64[m, e + 1], zeroed (out)
    """
    n = x.shape[0]
    m = ys.shape[0]
    n_cells = cell_lo.shape[0]
    for j in range(n):
        v = x[j]
        t = (v - origin) * scale
        c = 0
        if t >= n_cells:
            c = n_cells - 1
        elif t > 0.0:
            c = np.int64(t)
        lo = cell_lo[c]
        hi = cell_hi[c]
        while lo < hi:  # first index in [lo, hi) whose edge is > v
            mid = (lo + hi) // 2
            if edges[mid] <= v:
                lo = mid + 1
            else:
                hi = mid
        counts[lo] += 1
        sx[lo] += v
        for r in range(m):
            sy[r, lo] += ys[r, j]


# ------------------------------------------------------------------ ranks (issue 13)
#
# One sort per input: the float64 values are mapped to int64 keys that sort in
# the same order; the low ``bits`` bits of each key are replaced by the draw
# index and the keys are sorted with numpy's (SIMD) value sort, which is several
# times faster than ``argsort``.  Draws whose keys agree above the low bits are
# then put in value order by :func:`packed_order`.

_LOW63 = np.int64(0x7FFFFFFFFFFFFFFF)

#: Longest run of draws sharing a key prefix but not a value that
#: :func:`packed_order` sorts itself; longer runs make it ask for ``argsort``.
MAX_RUN = 64


@nb.njit(cache=True, error_model="numpy")
def packed_keys(xbits: np.ndarray, bits: int, packed: np.ndarray) -> None:
    """Order-preserving int64 keys of float64 values with the draw index in the low bits.

    For the IEEE bits ``b`` (as int64) of a value, ``k = b`` when ``b >= 0``
    and ``k = b ^ (2**63 - 1)`` otherwise (``-0.0`` is first made ``0.0``),
    so that ``x < x'`` implies ``k < k'`` and ``x == x'`` implies ``k == k'``.
    The result is ``(k >> bits << bits) | j`` for draw ``j < 2**bits``:
    sorted, it lists the draws by value up to runs that share the high bits.

    Parameters
    ----------
    xbits : int64[n]
        ``x.view(np.int64)`` of finite values.
    bits : int
        Index bits, ``2**bits >= n``.
    packed : int64[n] (out)
    """
    high = ~((np.int64(1) << bits) - 1)
    neg_zero = np.int64(-0x7FFFFFFFFFFFFFFF - 1)
    for j in range(xbits.shape[0]):
        b = xbits[j]
        if b < 0:
            b = 0 if b == neg_zero else b ^ _LOW63
        packed[j] = (b & high) | j


@nb.njit(cache=True, error_model="numpy")
def ranks_from_packed(x: np.ndarray, packed: np.ndarray, bits: int, ranks: np.ndarray) -> bool:
    """Average ranks of ``x`` from its sorted :func:`packed_keys`; False when ``argsort`` is needed.

    Draws in different runs of equal high bits have different values, in
    run order.  A run of one draw gets rank ``p + 1`` (``p`` its sorted
    position); a longer run whose values are all equal shares
    ``(p + q + 1) / 2`` (positions ``p .. q - 1``); a longer run of differing
    values is insertion-sorted by value (at most :data:`MAX_RUN` draws,
    otherwise False is returned and ``ranks`` is unspecified) and its ties
    share their mean position the same way.  This is ``scipy.stats.rankdata``'s
    ``"average"`` method.

    Parameters
    ----------
    x : float64[n]
    packed : int64[n], sorted ascending
    bits : int
    ranks : float64[n] (out), ``ranks[j]`` the average rank of ``x[j]``
    """
    n = x.shape[0]
    low = (np.int64(1) << bits) - 1
    high = ~low
    buf = np.empty(MAX_RUN, dtype=np.int64)
    p = 0
    while p < n:
        hp = packed[p] & high
        q = p + 1
        while q < n and (packed[q] & high) == hp:
            q += 1
        if q - p == 1:
            ranks[packed[p] & low] = p + 1.0
            p = q
            continue
        v0 = x[packed[p] & low]
        same = True
        for t in range(p + 1, q):
            if x[packed[t] & low] != v0:
                same = False
                break
        if same:
            r = (p + q + 1) / 2.0
            for t in range(p, q):
                ranks[packed[t] & low] = r
            p = q
            continue
        if q - p > MAX_RUN:
            return False
        m = q - p
        for t in range(m):  # insertion sort of the run by value
            j = packed[p + t] & low
            v = x[j]
            s = t - 1
            while s >= 0 and x[buf[s]] > v:
                buf[s + 1] = buf[s]
                s -= 1
            buf[s + 1] = j
        a = 0
        while a < m:
            b = a + 1
            while b < m and x[buf[b]] == x[buf[a]]:
                b += 1
            r = (2 * p + a + b + 1) / 2.0
            for t in range(a, b):
                ranks[buf[t]] = r
            a = b
        p = q
    return True


@nb.njit(cache=True, error_model="numpy")
def scatter_average_ranks(x: np.ndarray, order: np.ndarray, ranks: np.ndarray) -> None:
    """Average ranks (1..n, ties share ``(start + end + 1) / 2``) of ``x`` given its sort order.

    Parameters
    ----------
    x : float64[n]
    order : int64[n], ``x[order]`` ascending
    ranks : float64[n] (out), ``ranks[j]`` the average rank of ``x[j]``
    """
    n = x.shape[0]
    p = 0
    while p < n:
        v = x[order[p]]
        q = p + 1
        while q < n and x[order[q]] == v:
            q += 1
        r = (p + q + 1) / 2.0
        for t in range(p, q):
            ranks[order[t]] = r
        p = q


@nb.njit(cache=True, error_model="numpy")
def rank_stats(
    ranks: np.ndarray,
    y: np.ndarray,
    ry_centred: np.ndarray,
    bins: int,
    sums: np.ndarray,
    counts: np.ndarray,
) -> tuple[float, float]:
    r"""Spearman sums and equal-count bin sums of one input from its average ranks, in one pass.

    With :math:`\bar r = (n + 1)/2` (the mean of any average ranks), returns

    .. math:: S_{xy} = \sum_j (r_j - \bar r)\,c_j, \qquad S_{xx} = \sum_j (r_j - \bar r)^2

    (``c = ry_centred``), and adds ``y[j]`` to ``sums[b_j]`` and 1 to
    ``counts[b_j]`` for the bin :math:`b_j = \min(\lfloor (r_j - 1)\,\text{bins} / n\rfloor,
    \text{bins} - 1)`.

    Parameters
    ----------
    ranks : float64[n]
    y : float64[n]
    ry_centred : float64[n]
    bins : int
    sums : float64[bins], zeroed (out)
    counts : int64[bins], zeroed (out)
    """
    n = ranks.shape[0]
    mean_rank = (n + 1) / 2.0
    sxy = 0.0
    sxx = 0.0
    for j in range(n):
        r = ranks[j]
        d = r - mean_rank
        sxy += d * ry_centred[j]
        sxx += d * d
        b = np.int64(((r - 1.0) * bins) / n)
        if b > bins - 1:
            b = bins - 1
        sums[b] += y[j]
        counts[b] += 1
    return sxy, sxx
