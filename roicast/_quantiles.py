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
    36 months × 7 quantiles with the defaults).
"""

from __future__ import annotations

import copy
import math

import numba as nb
import numpy as np

__all__ = ["MonthlyQuantiles"]


def _jit(*, parallel: bool = False):
    """The one decorator of this module."""
    return nb.njit(cache=True, error_model="numpy", parallel=parallel)


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


@_jit()
def _window_masks(wlo, whi, wvalid, s, m, scale, off, n_c, n_f, mask, ia, inv):
    """The coarse bins each fine window overlaps (bit j of ``mask[i]``: window j), the bin
    holding each window's lower edge (``ia``) and each window's bins per unit (``inv``)."""
    for j in range(wlo.shape[0]):
        if not wvalid[j, s, m]:
            continue
        a = wlo[j, s, m]
        b = whi[j, s, m]
        i0 = min(max(math.floor(a * scale) - off, 0), n_c - 1)
        i1 = min(max(math.floor(b * scale) - off, 0), n_c - 1)
        ia[j] = i0
        inv[j] = n_f / (b - a) if b > a else 0.0
        for i in range(i0, i1 + 1):
            mask[i] |= 1 << j
        mask[i0] |= 1 << j  # the lower edge's bin: counted below even past b


@_jit()
def _bin_value(v, i, bits, s, m, wlo, whi, ia, inv, straddle, wcnt, wmin, wmax):
    """One value ``v`` (coarse bin ``i``) into the fine windows of ``bits``."""
    n_f = wcnt.shape[3]
    for j in range(wlo.shape[0]):
        if not (bits >> j) & 1:
            continue
        a = wlo[j, s, m]
        if v < a:
            if i == ia[j]:
                straddle[j] += 1
            continue
        if v <= whi[j, s, m]:
            f = min(int((v - a) * inv[j]), n_f - 1)
            wcnt[j, s, m, f] += 1
            if v < wmin[j, s, m, f]:
                wmin[j, s, m, f] = v
            if v > wmax[j, s, m, f]:
                wmax[j, s, m, f] = v


@_jit()
def _cell_grid(x, s, m, vmin, vmax, ck, coff, ccnt, cmin, cmax):
    """Widen cell (s, m)'s range by ``x`` and re-grid its coarse bins if they no longer hold it."""
    n_c = ccnt.shape[2]
    lo = vmin[s, m]
    hi = vmax[s, m]
    for d in range(x.shape[0]):
        lo = min(lo, x[d])
        hi = max(hi, x[d])
    k = ck[s, m]
    off = coff[s, m]
    if lo < math.ldexp(float(off), k) or hi >= math.ldexp(float(off + n_c), k):
        k2, off2 = _grid(lo, hi, k, n_c)
        _rebin(ccnt[s, m], cmin[s, m], cmax[s, m], k, off, k2, off2)
        ck[s, m] = k2
        coff[s, m] = off2
    vmin[s, m] = lo
    vmax[s, m] = hi


@_jit(parallel=True)
def _update(
    chunk, vmin, vmax, ck, coff, ccnt, cmin, cmax, wlo, whi, wvalid, wbelow, wcnt, wmin, wmax
):
    """Bin ``chunk`` (n_series, n_months, n_draws) into every cell's histograms.

    One pass over each cell's values.  The fine windows are found through the
    coarse grid: a per-bin bit mask marks the bins a window's ``[a, b]``
    overlaps, so a value outside every window costs one lookup.  The count
    below a window's ``a`` is the coarse count added below ``a``'s bin plus
    the values of that bin below ``a`` (exact: ``v · 2^-k`` is exact, so bin
    indices are monotone in the value).
    """
    n_s, n_m, n_d = chunk.shape
    n_q = wlo.shape[0]
    n_c = ccnt.shape[2]
    n_f = wcnt.shape[3]
    for cell in nb.prange(n_s * n_m):
        s = cell // n_m
        m = cell % n_m
        x = chunk[s, m]
        _cell_grid(x, s, m, vmin, vmax, ck, coff, ccnt, cmin, cmax)
        off = coff[s, m]
        cc = ccnt[s, m]
        cl = cmin[s, m]
        ch = cmax[s, m]
        scale = math.ldexp(1.0, -ck[s, m])
        mask = np.zeros(n_c, np.int64)  # bit j: window j (at most 63 quantiles)
        ia = np.zeros(n_q, np.int64)
        inv = np.zeros(n_q)
        straddle = np.zeros(n_q, np.int64)
        _window_masks(wlo, whi, wvalid, s, m, scale, off, n_c, n_f, mask, ia, inv)
        before = cc.copy()
        for d in range(n_d):
            v = x[d]
            i = math.floor(v * scale) - off
            cc[i] += 1
            if v < cl[i]:
                cl[i] = v
            if v > ch[i]:
                ch[i] = v
            if mask[i] != 0:
                _bin_value(v, i, mask[i], s, m, wlo, whi, ia, inv, straddle, wcnt, wmin, wmax)
        for j in range(n_q):
            if not wvalid[j, s, m]:
                continue
            below = straddle[j]
            for i in range(ia[j]):
                below += cc[i] - before[i]
            wbelow[j, s, m] += below


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
            raise ValueError(
                f"MonthlyQuantiles needs n_series >= 1 and n_months >= 1, got {n_series}, {n_months}"
            )
        if probs.size == 0 or not np.all((probs >= 0.0) & (probs <= 1.0)):
            raise ValueError(f"`quantiles` must be probabilities in [0, 1], got {quantiles!r}")
        if probs.size > 63:
            raise ValueError(f"`quantiles`: {probs.size} given; at most 63 (one bit each per bin)")
        if budget_bytes < 0:
            raise ValueError(f"`budget_bytes` must be >= 0, got {budget_bytes}")
        if coarse_bins < 2 or fine_bins < 1:
            raise ValueError(
                f"need coarse_bins >= 2 and fine_bins >= 1, got {coarse_bins}, {fine_bins}"
            )
        if not 0.0 < window < 0.5:
            raise ValueError(f"`window` must be in (0, 0.5), got {window}")
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

    def _check_chunk(self, chunk) -> np.ndarray:
        a = np.asarray(chunk, dtype=np.float64)
        if a.ndim != 3 or a.shape[0] != self.n_series or a.shape[2] != self.n_months:
            raise ValueError(
                f"chunk must have shape (n_series={self.n_series}, n_draws, "
                f"n_months={self.n_months}), got {a.shape}"
            )
        if not np.isfinite(a).all():
            raise ValueError("chunk holds NaN or infinite values; monthly series must be finite")
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
        a = self._check_chunk(chunk)
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
        h = self._h
        # (series, months, draws): each cell's draws contiguous for the kernel
        _update(np.ascontiguousarray(a.transpose(0, 2, 1)), *(h[k] for k in _STATE))

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
            raise ValueError("to_approximate needs at least one draw to place the grids")
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
            raise ValueError(
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
            raise ValueError("no draws accumulated")
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
            raise ValueError("no draws accumulated")
        if self._h is None:
            return np.zeros((self.quantiles.size, self.n_series, self.n_months))
        return self._approx()[1]

    def max_error(self) -> np.ndarray:
        """Largest :meth:`error_bound` per series, shape ``(n_series,)``, for a report line
        such as "monthly quantiles within ±ε of the exact value"."""
        return self.error_bound().max(axis=(0, 2))
