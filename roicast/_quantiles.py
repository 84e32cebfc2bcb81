r"""Monthly quantiles over draws with bounded memory: a mergeable accumulator.

A study reports, for each monthly series (spend, instance-hours, cumulative
cash, ...) and month, a few quantiles over the Monte Carlo draws.  Keeping the
whole ``(series, draws, months)`` array costs 1.4 GB at 10⁶ draws × 36 months;
:class:`MonthlyQuantiles` takes the draws in chunks instead.

Two regimes
-----------
Exact
    While the values seen fit ``budget_bytes`` (float64), chunks are kept and
    :meth:`MonthlyQuantiles.result` is ``np.quantile(data, quantiles, axis=1)``
    (``method="linear"``) on their concatenation: identical, bit for bit, and
    independent of chunk order.
Approximate
    Past the budget the kept values are binned and dropped.  Per
    ``(series, month)`` cell the accumulator holds

    * a *coarse* histogram of ``coarse_bins`` bins of width :math:`W = 2^k`
      aligned on multiples of :math:`W` and covering the cell's range; when a
      value falls outside, :math:`W` doubles (pairs of bins merge exactly) until
      it fits, so :math:`W < 2(\max - \min)/(B_c - 1)` at all times;
    * for each requested quantile :math:`p`, a *fine window* of ``fine_bins``
      equal bins over :math:`[\hat x_{p-\delta}, \hat x_{p+\delta}]`, the
      empirical quantiles of the data held when the budget was exceeded
      (``delta = window``), with the count of values below it;
    * per bin, the count and the smallest and largest value in it.

    Counts are exact, so the bin holding the order statistic of rank
    :math:`r` is known exactly, and that order statistic lies between the
    bin's smallest and largest member.  The estimate interpolates linearly in
    rank between them (exact at both ends, and exact whenever the bin holds a
    single distinct value: point masses such as cash flows stuck at a floor
    come out exact).  The quantile is then interpolated between the order
    statistics of ranks :math:`\lfloor h\rfloor, \lceil h\rceil`,
    :math:`h = (n-1)p`, as ``np.quantile`` does.

Error bound (stated, and returned per element by :meth:`error_bound`)
    .. math:: |\hat q - q| \le \varepsilon = \max_{r \in \{\lfloor h\rfloor, \lceil h\rceil\}}
              (\text{largest} - \text{smallest value of the bin holding rank } r)

    which is at most the width of that bin: :math:`(\hat x_{p+\delta} -
    \hat x_{p-\delta}) / B_f` when the rank falls inside a fine window (the
    usual case: with i.i.d. draws the rank leaves the window only if the
    quantile moves by more than :math:`\delta` in probability), and at most
    :math:`2(\max - \min)/(B_c - 1)` otherwise.  In rank the located bin is
    exact; only the position inside one bin is interpolated.  For a report:
    "monthly quantiles within ±ε (``max_error()``) of the exact value".

Cost of binning (per value, past the budget)
    One pass per chunk finds each cell's range and checks finiteness (reading
    the ``(series, draw, month)`` chunk in memory order: no transposed copy);
    then, per block of eight months of a series, the values are gathered into
    one contiguous row per cell (per-thread scratch kept between chunks) and
    binned in two passes: every value updates its coarse bin (count and, without
    a branch, smallest and largest value) and is copied, again without a branch,
    to a candidate list when its coarse bin meets a fine window; only the
    candidates (about ``2 δ · n_quantiles`` of the values for i.i.d. draws) are
    then binned finely.  Each coarse bin's *route* (the one window it meets, or
    none, or several) is computed once per cell and chunk, so a value costs one
    lookup, not a loop over windows; windows with identical edges (several
    quantiles on one point mass) are binned once and copied; a cell whose
    chunk is constant (a fleet the option does not own) is binned in one step.
    The histograms are those of the definition above, bit for bit whatever the
    path, so results and bounds equal those of the one-value-at-a-time loop
    this replaced.

Chunk order
    The exact regime does not depend on it.  The approximate one depends on
    which values were held when the budget was exceeded (they place the fine
    windows); the same data in the same chunk order gives the same result,
    on any number of threads.

Merging (Dask)
    :meth:`merge` adds another accumulator of the same configuration.  Exact
    parts are concatenated; coarse histograms are re-binned onto the coarser
    common grid (exact, the grids are nested powers of two); fine windows add
    up only where both have the same window, otherwise that window is dropped
    and the coarse bound applies.  To give every worker the same windows, fill
    one accumulator with a first chunk, call :meth:`to_approximate`, and hand
    each worker :meth:`spawn` (an empty accumulator with the same grids); the
    merged result then equals that of a single accumulator fed every chunk
    after the same template.

Memory
    Exact: at most ``budget_bytes`` of values (plus the chunk being added).
    Approximate: ``n_series · n_months · (3 coarse_bins + n_quantiles (3 fine_bins + 4) + 4)``
    eight-byte words, independent of the number of draws (24 MB for 5 series ×
    36 months × 7 quantiles with the defaults), plus a scratch of
    ``threads × 9 × n_chunk`` float64 for the gathered rows (1.4 MB for 2
    threads and chunks of 10 593 draws), not pickled.
"""

from __future__ import annotations

import copy
import math

import numba as nb
import numpy as np

from roicast.errors import RoicastError

__all__ = ["MonthlyQuantiles"]

_NOT_FINITE = "`chunk` holds NaN or infinite values; monthly series must be finite"


def _jit(*, parallel: bool = False, inline: str = "never"):
    """The one decorator of this module (``inline="always"``: inlined by numba itself, for
    small functions called per value: no call, no reference counting of the arrays)."""
    return nb.njit(cache=True, error_model="numpy", parallel=parallel, inline=inline)


# --------------------------------------------------------------------------- kernels


@_jit()
def _grid(dmin, dmax, k_cur, nbins):
    """Smallest k >= k_cur such that the 2^k-aligned grid of ``nbins`` bins from
    ``floor(dmin / 2^k)`` covers ``[dmin, dmax]``; returns (k, offset)."""
    amax = max(abs(dmin), abs(dmax))
    # keep |v| / 2^k < 2^45 so bin indices are exact integers in float64
    kfloor = math.frexp(amax)[1] - 45 if amax > 0.0 else -1000
    k = max(k_cur, kfloor)
    if dmax > dmin:
        k = max(k, math.ceil(math.log2((dmax - dmin) / (nbins - 1))) - 1)
    while True:
        off = math.floor(math.ldexp(dmin, -k))
        if math.ldexp(off + nbins, k) > dmax:
            return k, np.int64(off)
        k += 1


@_jit()
def _rebin(cnt, bmin, bmax, k_old, off_old, k_new, off_new):
    """Move a cell's coarse bins from grid (k_old, off_old) to (k_new >= k_old, off_new)."""
    nb_ = cnt.shape[0]
    c2 = np.zeros(nb_, np.int64)
    lo2 = np.full(nb_, np.inf)
    hi2 = np.full(nb_, -np.inf)
    dk = k_new - k_old
    for i in range(nb_):
        if cnt[i] == 0:
            continue
        j = math.floor(math.ldexp(float(off_old + i), -dk)) - off_new
        j = min(max(j, 0), nb_ - 1)  # never needed: the new grid covers all data
        c2[j] += cnt[i]
        lo2[j] = min(lo2[j], bmin[i])
        hi2[j] = max(hi2[j], bmax[i])
    cnt[:] = c2
    bmin[:] = lo2
    bmax[:] = hi2


#: Months gathered at a time from a ``(series, draw, month)`` chunk (one cache line of float64).
_MONTH_BLOCK = 8


@_jit(parallel=True)
def _chunk_range(chunk, lo, hi, finite):
    """Smallest and largest value of every cell of ``chunk`` (n_series, n_draws, n_months)
    into ``lo``, ``hi`` (n_series, n_months); ``finite[s]`` = 1 when every value of
    series ``s`` is finite, else 0.  One pass, in memory order."""
    n_s, n_d, n_m = chunk.shape
    for s in nb.prange(n_s):
        ok = True
        for m in range(n_m):
            lo[s, m] = np.inf
            hi[s, m] = -np.inf
        for d in range(n_d):
            for m in range(n_m):
                v = chunk[s, d, m]
                ok &= (v - v) == 0.0  # NaN for NaN and ±inf
                if v < lo[s, m]:
                    lo[s, m] = v
                if v > hi[s, m]:
                    hi[s, m] = v
        finite[s] = 1 if ok else 0


@_jit()
def _regrid(lo, hi, s, m, vmin, vmax, ck, coff, ccnt, cmin, cmax):
    """Widen cell (s, m)'s range by a chunk's ``[lo, hi]``; re-grid its coarse bins if
    they no longer hold it."""
    n_c = ccnt.shape[2]
    lo = min(vmin[s, m], lo)
    hi = max(vmax[s, m], hi)
    k = ck[s, m]
    off = coff[s, m]
    if lo < math.ldexp(float(off), k) or hi >= math.ldexp(float(off + n_c), k):
        k2, off2 = _grid(lo, hi, k, n_c)
        _rebin(ccnt[s, m], cmin[s, m], cmax[s, m], k, off, k2, off2)
        ck[s, m] = k2
        coff[s, m] = off2
    vmin[s, m] = lo
    vmax[s, m] = hi


@_jit()
def _routes(wlo, whi, wvalid, s, m, scale, off, n_f, mask, route, rep, wa, wb, ia, inv):
    """Cell (s, m)'s fine windows as seen from its coarse bins, for one chunk.

    ``rep[j]``: the first valid window with the same edges as window ``j``
    (``j`` itself when none comes before; -1 when ``j`` is not valid).  Windows
    with the same edges (several quantiles on one point mass) see the same
    values, so only the representative is binned and the others copy it.
    ``mask[i]``: bit ``j`` for each representative window overlapping coarse
    bin ``i``; ``route[i]``: that window when it is the only one, -1 when there
    is none, -2 when there are several.  ``wa``, ``wb``: the windows' edges;
    ``ia``: the coarse bin of each lower edge; ``inv``: fine bins per unit.
    """
    n_c = mask.shape[0]
    for i in range(n_c):
        mask[i] = 0
        route[i] = -1
    for j in range(wlo.shape[0]):
        rep[j] = -1
        if not wvalid[j, s, m]:
            continue
        a = wlo[j, s, m]
        b = whi[j, s, m]
        wa[j] = a
        wb[j] = b
        ia[j] = min(max(math.floor(a * scale) - off, 0), n_c - 1)
        inv[j] = n_f / (b - a) if b > a else 0.0
        for r in range(j):
            if rep[r] == r and wa[r] == a and wb[r] == b:
                rep[j] = r
                break
        if rep[j] >= 0:
            continue
        rep[j] = j
        i1 = min(max(math.floor(b * scale) - off, 0), n_c - 1)
        for i in range(ia[j], i1 + 1):
            mask[i] |= 1 << j
            route[i] = j if route[i] == -1 else -2


@_jit(inline="always")
def _bin_fine(v, n, i, j, s, m, wa, wb, ia, inv, straddle, wcnt, wmin, wmax):
    """``n`` copies of value ``v`` (coarse bin ``i``) into fine window ``j``, or into the
    count below it when ``v`` lies in the coarse bin of its lower edge."""
    a = wa[j]
    if v < a:
        if i == ia[j]:
            straddle[j] += n
    elif v <= wb[j]:
        f = min(int((v - a) * inv[j]), wcnt.shape[3] - 1)
        wcnt[j, s, m, f] += n
        wmin[j, s, m, f] = min(wmin[j, s, m, f], v)
        wmax[j, s, m, f] = max(wmax[j, s, m, f], v)


@_jit()
def _bin_cell(x, cand, n_d, const, s, m, ck, coff, ccnt, cmin, cmax, wbelow, wcnt, wmin, wmax, sc):
    """Bin the ``n_d`` values ``x`` of cell (s, m) (``const``: they are all ``x[0]``);
    ``cand``: scratch of ``n_d`` values.

    ``sc`` holds the scratch arrays of :func:`_routes` and ``straddle``, ``before``.
    A value outside every window costs one coarse update and one route lookup;
    inside one window, one fine update; only coarse bins shared by several
    windows loop over them.
    """
    mask, route, rep, wa, wb, ia, inv, straddle, before = sc
    n_q = rep.shape[0]
    off = coff[s, m]
    scale = math.ldexp(1.0, -ck[s, m])
    cc = ccnt[s, m]
    cl = cmin[s, m]
    ch = cmax[s, m]
    before[:] = cc
    straddle[:] = 0
    if const:  # e.g. a fleet the option does not own: every value at once
        v = x[0]
        i = math.floor(v * scale) - off
        cc[i] += n_d
        if v < cl[i]:
            cl[i] = v
        if v > ch[i]:
            ch[i] = v
        for j in range(n_q):
            if rep[j] == j:
                _bin_fine(v, n_d, i, j, s, m, wa, wb, ia, inv, straddle, wcnt, wmin, wmax)
    else:
        # pass 1, every value: coarse bin; values whose bin meets a window are copied to
        # ``cand`` without a branch (which of them do is unpredictable)
        nw = 0
        for d in range(n_d):
            v = x[d]
            i = math.floor(v * scale) - off
            cc[i] += 1
            cl[i] = min(cl[i], v)  # no branch: new extremes are unpredictable
            ch[i] = max(ch[i], v)
            cand[nw] = v
            nw += route[i] != -1
        # pass 2, those values only: fine bins
        for c in range(nw):
            v = cand[c]
            i = math.floor(v * scale) - off
            r = route[i]
            if r >= 0:
                _bin_fine(v, 1, i, r, s, m, wa, wb, ia, inv, straddle, wcnt, wmin, wmax)
            else:
                bits = mask[i]
                for j in range(n_q):
                    if (bits >> j) & 1:
                        _bin_fine(v, 1, i, j, s, m, wa, wb, ia, inv, straddle, wcnt, wmin, wmax)
    added = 0  # before[i] becomes the count added below coarse bin i
    for i in range(cc.shape[0]):
        new = cc[i] - before[i]
        before[i] = added
        added += new
    for j in range(n_q):
        if rep[j] == j:
            wbelow[j, s, m] += straddle[j] + before[ia[j]]
    for j in range(n_q):  # duplicates: same edges, same values, same histograms
        r = rep[j]
        if r >= 0 and r != j:
            wbelow[j, s, m] = wbelow[r, s, m]
            wcnt[j, s, m, :] = wcnt[r, s, m, :]
            wmin[j, s, m, :] = wmin[r, s, m, :]
            wmax[j, s, m, :] = wmax[r, s, m, :]


@_jit()
def _bin_block(
    chunk, s, m0, lo, hi, buf, vmin, vmax, ck, coff, ccnt, cmin, cmax, wlo, whi, wvalid, wbelow, wcnt, wmin, wmax
):  # fmt: skip
    """Months ``m0 .. m0 + 7`` of series ``s``: gather each cell's values draw by draw
    (one cache line each) into a row of ``buf``, re-grid the cell if needed and bin it."""
    n_d, n_m = chunk.shape[1], chunk.shape[2]
    n_q = wlo.shape[0]
    n_c = ccnt.shape[2]
    n_f = wcnt.shape[3]
    mw = min(_MONTH_BLOCK, n_m - m0)
    if mw == _MONTH_BLOCK:  # a constant trip count: unrolled
        for d in range(n_d):
            for t in range(_MONTH_BLOCK):
                buf[t, d] = chunk[s, d, m0 + t]
    else:
        for d in range(n_d):
            for t in range(mw):
                buf[t, d] = chunk[s, d, m0 + t]
    sc = (
        np.empty(n_c, np.int64),  # mask
        np.empty(n_c, np.int64),  # route
        np.empty(n_q, np.int64),  # rep
        np.empty(n_q),  # wa
        np.empty(n_q),  # wb
        np.zeros(n_q, np.int64),  # ia
        np.zeros(n_q),  # inv
        np.empty(n_q, np.int64),  # straddle
        np.empty(n_c, np.int64),  # before
    )
    cand = buf[_MONTH_BLOCK]
    for t in range(mw):
        m = m0 + t
        _regrid(lo[s, m], hi[s, m], s, m, vmin, vmax, ck, coff, ccnt, cmin, cmax)
        scale = math.ldexp(1.0, -ck[s, m])
        _routes(wlo, whi, wvalid, s, m, scale, coff[s, m], n_f, *sc[:7])
        const = lo[s, m] == hi[s, m]
        x = buf[t]
        _bin_cell(
            x, cand, n_d, const, s, m, ck, coff, ccnt, cmin, cmax, wbelow, wcnt, wmin, wmax, sc
        )


@_jit(parallel=True)
def _update(
    chunk, lo, hi, bufs, vmin, vmax, ck, coff, ccnt, cmin, cmax, wlo, whi, wvalid, wbelow, wcnt, wmin, wmax
):  # fmt: skip
    """Bin ``chunk`` (n_series, n_draws, n_months), whose cells span ``[lo, hi]``
    (:func:`_chunk_range`), into every cell's histograms.

    Work items are blocks of :data:`_MONTH_BLOCK` months of one series
    (:func:`_bin_block`), each gathered into the calling thread's ``bufs[thread]``
    (kept from call to call: a fresh buffer costs a page fault per 4 KiB).  The
    count below a window's lower edge ``a`` is the coarse count added below
    ``a``'s bin plus the values of that bin below ``a`` (exact: ``v · 2^-k`` is
    exact, so bin indices are monotone in the value).
    """
    n_s, n_m = chunk.shape[0], chunk.shape[2]
    n_blk = (n_m + _MONTH_BLOCK - 1) // _MONTH_BLOCK
    for u in nb.prange(n_s * n_blk):
        s = u // n_blk
        m0 = (u % n_blk) * _MONTH_BLOCK
        _bin_block(
            chunk, s, m0, lo, hi, bufs[nb.get_thread_id()], vmin, vmax, ck, coff, ccnt, cmin,
            cmax, wlo, whi, wvalid, wbelow, wcnt, wmin, wmax,
        )  # fmt: skip


@_jit()
def _locate(r, start, cnt, bmin, bmax):
    """Order statistic of rank ``r`` from bins whose first holds rank ``start``:
    (estimate, bound); bound < 0 when the rank is not in these bins."""
    if r < start:
        return 0.0, -1.0
    cum = start
    for i in range(cnt.shape[0]):
        c = cnt[i]
        if r < cum + c:
            lo = bmin[i]
            hi = bmax[i]
            if c == 1:
                return lo, 0.0
            return lo + (hi - lo) * ((r - cum) / (c - 1)), hi - lo
        cum += c
    return 0.0, -1.0


@_jit()
def _order_stat(r, s, m, ccnt, cmin, cmax, wvalid, wbelow, wcnt, wmin, wmax):
    """Best estimate (smallest bound) of the rank-r order statistic of cell (s, m)."""
    best, bound = _locate(r, 0, ccnt[s, m], cmin[s, m], cmax[s, m])
    for j in range(wcnt.shape[0]):
        if not wvalid[j, s, m]:
            continue
        e, b = _locate(r, wbelow[j, s, m], wcnt[j, s, m], wmin[j, s, m], wmax[j, s, m])
        if b >= 0.0 and b < bound:
            best = e
            bound = b
    return best, bound


@_jit(parallel=True)
def _result(n, probs, ccnt, cmin, cmax, wvalid, wbelow, wcnt, wmin, wmax, out, err):
    """Quantiles (and their error bounds) of every cell, numpy's linear method."""
    n_q = probs.shape[0]
    n_s = ccnt.shape[0]
    n_m = ccnt.shape[1]
    for cell in nb.prange(n_s * n_m):
        s = cell // n_m
        m = cell % n_m
        for j in range(n_q):
            h = (n - 1) * probs[j]
            r0 = math.floor(h)
            t = h - r0
            x0, e0 = _order_stat(r0, s, m, ccnt, cmin, cmax, wvalid, wbelow, wcnt, wmin, wmax)
            if t > 0.0 and r0 + 1 < n:
                x1, e1 = _order_stat(
                    r0 + 1, s, m, ccnt, cmin, cmax, wvalid, wbelow, wcnt, wmin, wmax
                )
                diff = x1 - x0
                # numpy's _lerp
                out[j, s, m] = x1 - diff * (1.0 - t) if t >= 0.5 else x0 + diff * t
                err[j, s, m] = max(e0, e1)
            else:
                out[j, s, m] = x0
                err[j, s, m] = e0


@_jit(parallel=True)
def _merge_into(
    vmin, vmax, ck, coff, ccnt, cmin, cmax, wlo, whi, wvalid, wbelow, wcnt, wmin, wmax,
    vmin2, vmax2, ck2, coff2, ccnt2, cmin2, cmax2, wlo2, whi2, wvalid2, wbelow2, wcnt2, wmin2, wmax2,
):  # fmt: skip
    """Add accumulator 2's histograms into accumulator 1 (grids re-binned to a common one)."""
    n_s, n_m, n_c = ccnt.shape
    n_q = wlo.shape[0]
    for cell in nb.prange(n_s * n_m):
        s = cell // n_m
        m = cell % n_m
        lo = min(vmin[s, m], vmin2[s, m])
        hi = max(vmax[s, m], vmax2[s, m])
        k = max(ck[s, m], ck2[s, m])
        if lo <= hi:
            k, off = _grid(lo, hi, k, n_c)
        else:  # both empty
            off = coff[s, m]
            k = ck[s, m]
        c2 = ccnt2[s, m].copy()
        lo2 = cmin2[s, m].copy()
        hi2 = cmax2[s, m].copy()
        _rebin(ccnt[s, m], cmin[s, m], cmax[s, m], ck[s, m], coff[s, m], k, off)
        _rebin(c2, lo2, hi2, ck2[s, m], coff2[s, m], k, off)
        for i in range(n_c):
            ccnt[s, m, i] += c2[i]
            cmin[s, m, i] = min(cmin[s, m, i], lo2[i])
            cmax[s, m, i] = max(cmax[s, m, i], hi2[i])
        ck[s, m] = k
        coff[s, m] = off
        vmin[s, m] = lo
        vmax[s, m] = hi
        for j in range(n_q):
            same = (
                wvalid[j, s, m]
                and wvalid2[j, s, m]
                and wlo[j, s, m] == wlo2[j, s, m]
                and whi[j, s, m] == whi2[j, s, m]
            )
            if not same:
                wvalid[j, s, m] = False
                continue
            wbelow[j, s, m] += wbelow2[j, s, m]
            for i in range(wcnt.shape[3]):
                wcnt[j, s, m, i] += wcnt2[j, s, m, i]
                wmin[j, s, m, i] = min(wmin[j, s, m, i], wmin2[j, s, m, i])
                wmax[j, s, m, i] = max(wmax[j, s, m, i], wmax2[j, s, m, i])


# --------------------------------------------------------------------------- accumulator

_STATE = (
    "vmin", "vmax", "ck", "coff", "ccnt", "cmin", "cmax",
    "wlo", "whi", "wvalid", "wbelow", "wcnt", "wmin", "wmax",
)  # fmt: skip


class MonthlyQuantiles:
    """Quantiles over draws of ``(series, month)`` cells, fed in draw chunks.

    Parameters
    ----------
    n_series, n_months : int
        Shape of a cell grid; chunks are ``(n_series, n_chunk, n_months)``.
    quantiles : sequence of float
        Probabilities in ``[0, 1]``, e.g. ``(0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)``.
    budget_bytes : int, keyword-only
        Values are kept (float64) and the result is exact while
        ``8 · n_series · n_draws · n_months <= budget_bytes``; default 256 MiB
        (about 186 000 draws of 5 series × 36 months).
    coarse_bins : int, keyword-only
        Bins of each cell's coarse histogram (default 2048).
    fine_bins : int, keyword-only
        Bins of each fine window (default 512).
    window : float, keyword-only
        Half-width δ, in probability, of the fine window around each quantile
        (default 0.02).

    Notes
    -----
    See the module docstring for the method, the error bound, chunk order and
    merging.  Values must be finite.

    Examples
    --------
    >>> acc = MonthlyQuantiles(5, 36, (0.1, 0.5, 0.9))
    >>> for chunk in chunks:  # doctest: +SKIP
    ...     acc.update(chunk)
    >>> qs = acc.result()  # (quantile, series, month)  # doctest: +SKIP
    """

    def __init__(
        self,
        n_series: int,
        n_months: int,
        quantiles,
        *,
        budget_bytes: int = 256 * 2**20,
        coarse_bins: int = 2048,
        fine_bins: int = 512,
        window: float = 0.02,
    ) -> None:
        probs = np.asarray(quantiles, dtype=np.float64).ravel()
        if n_series < 1 or n_months < 1:
            raise RoicastError(
                f"MonthlyQuantiles needs n_series >= 1 and n_months >= 1, got {n_series}, {n_months}"
            )
        if probs.size == 0 or not np.all((probs >= 0.0) & (probs <= 1.0)):
            raise RoicastError(f"`quantiles` must be probabilities in [0, 1], got {quantiles!r}")
        if probs.size > 63:
            raise RoicastError(
                f"`quantiles`: {probs.size} given; at most 63 (one bit each per bin)"
            )
        if budget_bytes < 0:
            raise RoicastError(f"`budget_bytes` must be >= 0, got {budget_bytes}")
        if coarse_bins < 2 or fine_bins < 1:
            raise RoicastError(
                f"need coarse_bins >= 2 and fine_bins >= 1, got {coarse_bins}, {fine_bins}"
            )
        if not 0.0 < window < 0.5:
            raise RoicastError(f"`window` must be in (0, 0.5), got {window}")
        self.n_series = int(n_series)
        self.n_months = int(n_months)
        self.quantiles = probs
        self.budget_bytes = int(budget_bytes)
        self.coarse_bins = int(coarse_bins)
        self.fine_bins = int(fine_bins)
        self.window = float(window)
        self.n = 0
        self._chunks: list[np.ndarray] = []
        self._h: dict[str, np.ndarray] | None = None  # histogram state once approximate
        self._buf: np.ndarray | None = None  # per-thread gather rows (scratch, reused)

    def __getstate__(self) -> dict:
        """Pickle (a Dask task's result) without the scratch rows."""
        return {**self.__dict__, "_buf": None}

    # ------------------------------------------------------------------ properties

    @property
    def exact(self) -> bool:
        """``True`` while every value is kept (results identical to ``np.quantile``)."""
        return self._h is None

    @property
    def nbytes(self) -> int:
        """Bytes held: kept values, or the histogram arrays (independent of draws)."""
        if self._h is None:
            return sum(c.nbytes for c in self._chunks)
        return sum(a.nbytes for a in self._h.values())

    def _config(self) -> tuple:
        return (
            self.n_series,
            self.n_months,
            tuple(self.quantiles),
            self.coarse_bins,
            self.fine_bins,
            self.window,
        )

    # ------------------------------------------------------------------ feeding

    def _check_chunk(self, chunk, *, finite: bool = True) -> np.ndarray:
        a = np.asarray(chunk, dtype=np.float64)
        if a.ndim != 3 or a.shape[0] != self.n_series or a.shape[2] != self.n_months:
            raise RoicastError(
                f"chunk must have shape (n_series={self.n_series}, n_draws, "
                f"n_months={self.n_months}), got {a.shape}"
            )
        if finite and not np.isfinite(a).all():
            raise RoicastError(_NOT_FINITE)
        return a

    def update(self, chunk: np.ndarray) -> MonthlyQuantiles:
        """Add a chunk of draws.

        Parameters
        ----------
        chunk : ndarray, shape (n_series, n_chunk, n_months)
            Finite values (copied while exact; not kept afterwards).

        Returns
        -------
        MonthlyQuantiles
            ``self``.
        """
        # past the budget the binning checks finiteness in its own first pass
        a = self._check_chunk(chunk, finite=self._h is None)
        if a.shape[1] == 0:
            return self
        if self._h is None:
            if self.nbytes + a.nbytes <= self.budget_bytes:
                self._chunks.append(np.array(a, copy=True))
                self.n += a.shape[1]
                return self
            if self.n == 0:  # the first chunk alone is over budget: it sets the grids
                self._chunks.append(a)
                self.n = a.shape[1]
                self.to_approximate()
                return self
            self.to_approximate()
        self._bin(a)
        self.n += a.shape[1]
        return self

    def _bin(self, a: np.ndarray) -> None:
        """Bin a chunk ``(n_series, n_draws >= 1, n_months)`` (checked finite here)."""
        a = np.ascontiguousarray(a)
        lo = np.empty((self.n_series, self.n_months))
        hi = np.empty_like(lo)
        finite = np.empty(self.n_series, np.uint8)
        _chunk_range(a, lo, hi, finite)
        if not finite.all():
            raise RoicastError(_NOT_FINITE)
        n_t = nb.config.NUMBA_NUM_THREADS
        if self._buf is None or self._buf.shape[2] < a.shape[1]:
            self._buf = np.empty((n_t, _MONTH_BLOCK + 1, a.shape[1]))
        _update(a, lo, hi, self._buf, *(self._h[k] for k in _STATE))

    def _empty_state(self) -> dict[str, np.ndarray]:
        s, m, q = self.n_series, self.n_months, self.quantiles.size
        c, f = self.coarse_bins, self.fine_bins
        return {
            "vmin": np.full((s, m), np.inf),
            "vmax": np.full((s, m), -np.inf),
            "ck": np.zeros((s, m), np.int64),
            "coff": np.zeros((s, m), np.int64),
            "ccnt": np.zeros((s, m, c), np.int64),
            "cmin": np.full((s, m, c), np.inf),
            "cmax": np.full((s, m, c), -np.inf),
            "wlo": np.zeros((q, s, m)),
            "whi": np.zeros((q, s, m)),
            "wvalid": np.zeros((q, s, m), np.bool_),
            "wbelow": np.zeros((q, s, m), np.int64),
            "wcnt": np.zeros((q, s, m, f), np.int64),
            "wmin": np.full((q, s, m, f), np.inf),
            "wmax": np.full((q, s, m, f), -np.inf),
        }

    def to_approximate(self) -> MonthlyQuantiles:
        """Switch to histograms now (grids and fine windows from the values held).

        Needs at least one draw.  Returns ``self``.
        """
        if self._h is not None:
            return self
        if self.n == 0:
            raise RoicastError("to_approximate needs at least one draw to place the grids")
        h = self._empty_state()
        p = self.quantiles
        probs = np.concatenate([np.clip(p - self.window, 0, 1), np.clip(p + self.window, 0, 1)])
        # one series at a time: the transient copies are 1/n_series of the values held
        for s in range(self.n_series):
            data = self._series(s)  # (draws, months)
            lo = data.min(axis=0)
            hi = data.max(axis=0)
            for m in range(self.n_months):
                k, off = _grid(float(lo[m]), float(hi[m]), -1000, self.coarse_bins)
                h["ck"][s, m] = k
                h["coff"][s, m] = off
            edges = np.quantile(data, probs, axis=0)
            h["wlo"][:, s] = edges[: p.size]
            h["whi"][:, s] = edges[p.size :]
            del data
        h["wvalid"][:] = True
        self._h = h
        chunks, self._chunks = self._chunks, []
        while chunks:  # the grids cover every value held: binning chunk by chunk is the same
            self._bin(chunks.pop(0))
        return self

    def _series(self, s: int) -> np.ndarray:
        """Series ``s`` of the values held (exact mode), ``(draws, months)``, in draw order."""
        if len(self._chunks) == 1:
            return self._chunks[0][s]
        return np.concatenate([c[s] for c in self._chunks], axis=0)

    def spawn(self) -> MonthlyQuantiles:
        """An empty accumulator with the same configuration and (if approximate)
        the same grids and fine windows, for a worker whose result will be merged."""
        new = MonthlyQuantiles(
            self.n_series,
            self.n_months,
            self.quantiles,
            budget_bytes=self.budget_bytes,
            coarse_bins=self.coarse_bins,
            fine_bins=self.fine_bins,
            window=self.window,
        )
        if self._h is not None:
            h = new._empty_state()
            for key in ("ck", "coff", "wlo", "whi", "wvalid"):
                h[key][...] = self._h[key]
            new._h = h
        return new

    def merge(self, other: MonthlyQuantiles) -> MonthlyQuantiles:
        """Add the draws accumulated by ``other`` (same configuration) into ``self``.

        Returns ``self``; ``other`` is left unchanged.
        """
        if not isinstance(other, MonthlyQuantiles) or other._config() != self._config():
            raise RoicastError(
                "merge needs a MonthlyQuantiles with the same n_series, n_months, quantiles, "
                "coarse_bins, fine_bins and window"
            )
        if other.n == 0 and other._h is None:
            return self
        if self._h is None and other._h is None:
            for c in other._chunks:
                self.update(c)
            return self
        if self._h is None:  # adopt other's grids, then add what self kept
            kept = self._chunks
            self._h = copy.deepcopy(other._h)
            self._chunks = []
            n_other = other.n
            for c in kept:
                self._bin(c)
            self.n += n_other
            return self
        if other._h is None:
            for c in other._chunks:
                self._bin(c)
            self.n += other.n
            return self
        h, g = self._h, other._h
        _merge_into(*(h[k] for k in _STATE), *(g[k] for k in _STATE))
        self.n += other.n
        return self

    # ------------------------------------------------------------------ results

    def _approx(self) -> tuple[np.ndarray, np.ndarray]:
        shape = (self.quantiles.size, self.n_series, self.n_months)
        out = np.empty(shape)
        err = np.empty(shape)
        h = self._h
        _result(
            self.n,
            self.quantiles,
            h["ccnt"],
            h["cmin"],
            h["cmax"],
            h["wvalid"],
            h["wbelow"],
            h["wcnt"],
            h["wmin"],
            h["wmax"],
            out,
            err,
        )
        return out, err

    def result(self) -> np.ndarray:
        """Quantiles, shape ``(n_quantiles, n_series, n_months)``.

        Exact mode: ``np.quantile(data, quantiles, axis=1)`` on all draws.
        Approximate: within :meth:`error_bound` of it.
        """
        if self.n == 0:
            raise RoicastError("no draws accumulated")
        if self._h is None:
            out = np.empty((self.quantiles.size, self.n_series, self.n_months))
            for s in range(self.n_series):  # per series: transient copies of 1/n_series
                out[:, s] = np.quantile(self._series(s), self.quantiles, axis=0)
            return out
        return self._approx()[0]

    def error_bound(self) -> np.ndarray:
        """Guaranteed bound on ``|result() - exact quantile|``, same shape as :meth:`result`.

        Zeros in exact mode; otherwise the spread (largest − smallest value) of
        the bins holding the order statistics used (module docstring).
        """
        if self.n == 0:
            raise RoicastError("no draws accumulated")
        if self._h is None:
            return np.zeros((self.quantiles.size, self.n_series, self.n_months))
        return self._approx()[1]

    def max_error(self) -> np.ndarray:
        """Largest :meth:`error_bound` per series, shape ``(n_series,)``, for a report line
        such as "monthly quantiles within ±ε of the exact value"."""
        return self.error_bound().max(axis=(0, 2))
