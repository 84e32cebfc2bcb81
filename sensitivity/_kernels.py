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
    cell_lo, cell_hi : int64[cells]
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
