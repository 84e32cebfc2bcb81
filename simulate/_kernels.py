"""numba kernels of the roicast cash-flow model.

Pure functions: plain arrays in, preallocated arrays out; no objects, no I/O and
no checking (the Python layer in :mod:`roicast.simulate.model` validates).  The
equations are those of DESIGN.md, "The model"; :mod:`roicast.simulate.reference`
is a plain NumPy implementation of the same equations, used as the test oracle
and the benchmark's reference.
"""

from __future__ import annotations

import functools
import math

import numba as nb
import numpy as np

from roicast.simulate._layout import (
    HOURS_PER_MONTH,
    I_API_PRICE,
    I_B,
    I_BURST,
    I_CE,
    I_COMMIT_MONTHS,
    I_COMMIT_N,
    I_COMMIT_RATIO,
    I_CU,
    I_DELTA,
    I_DEMAND,
    I_E,
    I_ENERGY,
    I_ENERGY_R,
    I_GAIN,
    I_GAIN_PEAK,
    I_HW_PRICE,
    I_KW_BUSY,
    I_KW_IDLE,
    I_L,
    I_LAG,
    I_LAMBDA,
    I_LEAD,
    I_LIFE,
    I_LOT,
    I_M0,
    I_M1,
    I_OWNED,
    I_P0,
    I_PHI,
    I_PUE,
    I_R,
    I_R_RAMP,
    I_RECOVERY,
    I_RHO,
    I_SALVAGE,
    I_SIGMA,
    I_T,
    I_TAU0,
    I_U0,
    I_U1,
    I_V,
    M_BURST0,
    M_BURST1,
    M_CAPEX0,
    M_CAPEX1,
    M_CPM0,
    M_CPM1,
    M_DEFER,
    M_DEMAND,
    M_DPAYBACK,
    M_ENERGY0,
    M_ENERGY1,
    M_FIRST0,
    M_FIRST1,
    M_GAIN,
    M_HOURS_SAVED,
    M_INVESTMENT,
    M_IRR,
    M_LOTS0,
    M_LOTS1,
    M_NPV,
    M_PAYBACK,
    M_PEAK0,
    M_PEAK1,
    M_ROI,
    M_SALVAGE0,
    M_SALVAGE1,
    M_SAVINGS,
    M_STRANDED0,
    M_STRANDED1,
    M_TCO0,
    M_TCO1,
    M_UPDATES,
    M_UTIL0,
    M_UTIL1,
    POLICY_AUTOSCALE,
    POLICY_AVERAGE,
    POLICY_PEAK,
    S_BOUGHT0,
    S_BOUGHT1,
    S_COST0,
    S_COST1,
    S_CUM,
    S_HOURS0,
    S_HOURS1,
    S_OWNED0,
    S_OWNED1,
    S_PEAK0,
    S_PEAK1,
)
from roicast.simulate._rng import STREAM_CHURN, STREAM_PRICE, STREAM_PROFILE, draw_key, uniform

# fastmath without `nnan`/`ninf`: payback and IRR test for inf and NaN.
FASTMATH = {"nsz", "arcp", "contract", "afn", "reassoc"}

#: The one decorator of every kernel, so the compile options never drift apart.
#: ``error_model="numpy"``: a division by zero gives inf/NaN instead of raising
#: (the inputs are validated before they get here).
_jit = functools.partial(nb.njit, cache=True, fastmath=FASTMATH, error_model="numpy")
_TWO_PI = 2.0 * math.pi

_DRAWS_PER_CHUNK = 256


@_jit(inline="always")
def _crossing(cum, horizon):
    """First fractional month where the cumulative series reaches 0 (inf if never).

    ``cum[0]`` is the value before month 1 (0), ``cum[t]`` after month t.
    """
    for t in range(1, horizon + 1):
        if cum[t] >= 0.0:
            prev = cum[t - 1]
            if prev >= 0.0:
                return float(t - 1)
            return (t - 1) + (-prev) / (cum[t] - prev)
    return np.inf


@_jit(inline="always")
def _sign_changes(x, horizon):
    """Sign changes of ``x[1..H]``, zeros skipped.

    Branch-free (a change is counted where ``x[t]`` and the last non-zero value
    before it are non-zero and differ in sign), so that the cash flows' sign
    pattern costs no mispredicted branches.
    """
    n = 0
    last = 0.0
    for t in range(1, horizon + 1):
        xt = x[t]
        n += int((xt != 0.0) & (last != 0.0) & ((xt > 0.0) != (last > 0.0)))
        last = xt if xt != 0.0 else last
    return n


@_jit(inline="always")
def _npv_derivatives(cf, horizon, v):
    r"""``(f, f', f''/2)`` at ``v`` of ``f(v) = Σ_{t=1..H} cf[t] v^t``.

    Horner's scheme on the even and odd months separately, in ``u = v²``:
    ``f(v) = E(u) + v O(u)`` with ``E(u) = Σ cf[2k] u^k`` and
    ``O(u) = Σ cf[2k+1] u^k``, so that

    .. math::

        f' = 2v E' + O + 2u O', \qquad
        f'' = 2E' + 4u E'' + 6v O' + 4uv O''.

    Two recurrences of half the length run side by side instead of one chain
    of ``H`` dependent multiply-adds.  ``cf[0]`` must be 0.
    """
    u = v * v
    ke = horizon // 2  # highest even month: 2 ke
    ko = (horizon - 1) // 2  # highest odd month: 2 ko + 1
    e0 = cf[2 * ke]
    e1 = 0.0
    e2 = 0.0
    for k in range(ke - 1, -1, -1):
        e2 = e2 * u + e1
        e1 = e1 * u + e0
        e0 = e0 * u + cf[2 * k]
    o0 = cf[2 * ko + 1]
    o1 = 0.0
    o2 = 0.0
    for k in range(ko - 1, -1, -1):
        o2 = o2 * u + o1
        o1 = o1 * u + o0
        o0 = o0 * u + cf[2 * k + 1]
    # e1 = E', e2 = E''/2, o1 = O', o2 = O''/2
    f = e0 + v * o0
    df = 2.0 * v * e1 + o0 + 2.0 * u * o1
    half_d2 = e1 + 4.0 * u * e2 + 3.0 * v * o1 + 4.0 * v * u * o2
    return f, df, half_d2


@_jit(inline="always")
def _irr(cf, cum, horizon):
    r"""Annualised IRR of monthly cash flows ``cf[1..H]`` where it is unique (else NaN).

    The IRR is reported only where it is unique: the cash flows (Descartes'
    rule of signs) or the cumulative cash flows (Norström 1972) change sign
    exactly once.  Solves ``f(v) = Σ cf[t] v^t = 0`` for the monthly discount
    factor ``v = 1 / (1 + m)`` on ``m ∈ [-0.5, 2]`` by Halley steps from ``v = 1``,

    .. math:: v \leftarrow v - \frac{f f'}{f'^2 - f f''/2},

    safeguarded with bisection, and returns ``(1 + m)^12 - 1``.  Halley's steps
    converge cubically (about 5 evaluations of ``f, f', f''`` on the benchmark's
    draws, where Newton's took about 8), and :func:`_npv_derivatives` evaluates
    them in two interleaved recurrences.  It stops when a step moves ``v`` by
    less than ``1e-12 v``, so the IRR is within about ``12 (1 + IRR) 1e-12`` of
    the root (in practice within a few units in the last place).
    """
    if _sign_changes(cf, horizon) != 1 and (
        _sign_changes(cum, horizon) != 1 or cum[horizon] == 0.0
    ):
        return np.nan
    lo = 1.0 / 3.0  # m = 2
    hi = 2.0  # m = -0.5
    f_lo = 0.0
    f_hi = 0.0
    for t in range(horizon, 0, -1):  # Horner
        f_lo = f_lo * lo + cf[t]
        f_hi = f_hi * hi + cf[t]
    f_lo *= lo
    f_hi *= hi
    if f_lo == 0.0:
        return 3.0**12 - 1.0
    if f_hi == 0.0:
        return 0.5**12 - 1.0
    if (f_lo > 0.0) == (f_hi > 0.0):
        return np.nan
    if f_lo > 0.0:  # orient so that f(lo) < 0 < f(hi)
        lo, hi = hi, lo
    v = 1.0
    for _ in range(100):
        f, df, half_d2 = _npv_derivatives(cf, horizon, v)
        if f < 0.0:
            lo = v
        else:
            hi = v
        den = df * df - f * half_d2
        nv = v - f * df / den if den != 0.0 else 0.5 * (lo + hi)
        # converged: tested before the safeguard, since v itself is now an end of the
        # bracket and a last step of ~0 may land on or just past it (which used to
        # restart bisection over the whole bracket, ~30 halvings to the same root)
        if abs(nv - v) < 1e-12 * v:
            v = nv
            break
        if not (min(lo, hi) < nv < max(lo, hi)):
            nv = 0.5 * (lo + hi)
        v = nv
    return (1.0 / v) ** 12 - 1.0


_CEIL_SHRINK = 1.0 - 1e-12


@_jit(inline="always")
def _whole(v):
    """Whole instances for ``v`` instances' worth of load: ``⌈v⌉``.

    A load within a relative 1e-12 above a whole number counts as that number,
    so rounding in ``D s_j / (h κ)`` cannot add an instance.
    """
    return np.ceil(v * _CEIL_SHRINK)


@_jit(inline="always")
def window_max(r, lag, out, tmp):
    """Circular lag-window maxima: ``out[j] = max(r[(j - k) mod P] for k = 0..lag)``.

    By doubling, O(P log lag); ``lag`` is clipped to ``P - 1`` (the whole profile).
    ``tmp`` is scratch of length ``P``.
    """
    p = r.shape[0]
    w = min(lag + 1, p)
    for j in range(p):
        out[j] = r[j]
    span = 1
    while span < w:
        step = min(span, w - span)  # out covers `span` slots; extend by `step`
        for j in range(p):
            tmp[j] = out[j]
        for j in range(p):
            k = j - step
            if k < 0:
                k += p
            if tmp[k] > out[j]:
                out[j] = tmp[k]
        span += step


@_jit(inline="always")
def slot_instances(policy, x, w, w_max, floor, out):
    """Instances in each slot of one month; returns their sum ``Σ_j n_j``.

    Parameters
    ----------
    policy : int
        ``POLICY_AVERAGE``: ``n_j = x w_j``, fractional and not floored (the
        average policy floors the month's total, see the model); ``POLICY_PEAK``:
        ``n_j = max(⌈x w_max⌉, m)``; ``POLICY_AUTOSCALE``: ``n_j = max(⌈x w_j⌉, m)``.
    x : float
        The month's load in instances at the reference capacity,
        ``D_t / (h κ)``.
    w : float64[P]
        Per slot, the instances needed per unit of ``x``: the requirements
        ``r_j = s_j g / g_j`` (average), or their lag-window maxima (autoscale).
    w_max : float
        ``max_j w_j``.
    floor : float
        Floor ``m`` (instances).
    out : float64[P]
        Output, ``n_j``.
    """
    p = w.shape[0]
    total = 0.0
    if policy == POLICY_PEAK:
        n = max(_whole(x * w_max), floor)
        for j in range(p):
            out[j] = n
        return n * p
    if policy == POLICY_AUTOSCALE:
        for j in range(p):
            n = max(_whole(x * w[j]), floor)
            out[j] = n
            total += n
        return total
    for j in range(p):
        n = x * w[j]
        out[j] = n
        total += n
    return total


@_jit(inline="always")
def _fleet_month(policy, dk, r, w, r_max, r_mean, q, q_mean, varied, floor, c, commit, nbuf):
    """One fleet's month: ``(G, O, S, capacity, peak)``.

    ``dk = D_t / κ`` (instance-hours of load at the reference capacity); ``G``
    instance-hours; while a commitment of ``c`` instances is active
    (``commit``), ``O`` on-demand and ``S`` stranded committed instance-hours
    (else ``O = G``, ``S = 0``); ``capacity`` the full-speed capacity in
    reference instance-hours ``Σ (h/P) n_j g_j / g``; ``peak = max_j n_j``.
    ``varied``: the gain varies by slot (``r``, ``q`` are not all ones).
    """
    h = HOURS_PER_MONTH
    p = r.shape[0]
    x = dk / h
    fl_h = floor * h
    ch = c * h
    if policy == POLICY_AVERAGE:
        load_h = dk * r_mean if varied else dk
        g_h = max(load_h, fl_h)
        cap = g_h / r_mean if varied else g_h
        peak = max(x * r_max, floor)
        if not commit:
            return g_h, g_h, 0.0, cap, peak
        used = 0.0
        for j in range(p):
            used += min(dk * r[j], ch)
        used /= p
        idle_floor = min(ch - used, max(fl_h - load_h, 0.0))
        return g_h, g_h - used - idle_floor, ch - used - idle_floor, cap, peak
    if policy == POLICY_PEAK:
        n = max(_whole(x * r_max), floor)
        g_h = n * h
        cap = g_h * q_mean if varied else g_h
        if not commit:
            return g_h, g_h, 0.0, cap, n
        return g_h, max(n - c, 0.0) * h, max(c - n, 0.0) * h, cap, n
    rep = h / p
    # autoscale: the slots' instances, their sum and capacity in one pass
    total, cap, peak = fleet_slots(policy, x, w, r_max, floor, q, varied, nbuf)
    g_h = total * rep
    cap *= rep
    if not commit:
        return g_h, g_h, 0.0, cap, peak
    over = 0.0
    under = 0.0
    for j in range(p):
        over += max(nbuf[j] - c, 0.0)
        under += max(c - nbuf[j], 0.0)
    return g_h, over * rep, under * rep, cap, peak


#: A requirement within a relative 1e-12 of the capacity owned and on order orders nothing.
_ORDER_SLACK = 1.0 + 1e-12


@_jit(inline="always")
def fleet_slots(policy, x, w, w_max, floor, q, varied, out):
    """Instances in each slot of one month, in one pass: ``(Σ n_j, Σ n_j q_j, max n_j)``.

    ``w_max`` must be ``max_j w_j``: the peak is taken from it, not from a scan.

    As :func:`slot_instances`, except that the average policy's fractional
    fleet is floored slot by slot, ``n_j = max(x w_j, m)`` (an owned fleet has
    no month-level floor to share; a rented autoscaled fleet's is the same
    ``max(⌈x w_j⌉, m)`` either way).  ``q_j = g_j / g`` (used when ``varied``)
    weighs the full-speed capacity ``Σ n_j q_j`` (``Σ n_j`` when not varied).
    """
    p = w.shape[0]
    total = 0.0
    cap = 0.0
    # one tight loop per case (no branch or max inside, so that it vectorizes); the
    # peak is the busiest slot's, w_max = max_j w_j (x w, ⌈·⌉ and max are monotone)
    if policy == POLICY_AVERAGE:
        peak = max(x * w_max, floor)
        if varied:
            for j in range(p):
                n = max(x * w[j], floor)
                out[j] = n
                total += n
                cap += n * q[j]
            return total, cap, peak
        for j in range(p):
            n = max(x * w[j], floor)
            out[j] = n
            total += n
        return total, total, peak
    peak = max(_whole(x * w_max), floor)
    if policy == POLICY_PEAK:
        for j in range(p):
            out[j] = peak
            total += peak
            cap += peak * q[j]
        return total, cap if varied else total, peak
    if varied:
        for j in range(p):
            n = max(_whole(x * w[j]), floor)
            out[j] = n
            total += n
            cap += n * q[j]
        return total, cap, peak
    for j in range(p):
        n = max(_whole(x * w[j]), floor)
        out[j] = n
        total += n
    return total, total, peak


@_jit(inline="always")
def owned_month(t, n, total, peak, state, arrivals, lot, lead, horizon):
    """One month of an owned fleet: arrivals, the ordering rule, then the hours.

    Parameters
    ----------
    t : int
        Month, 1-based.
    n : float64[P]
        Instances required in each slot.
    total, peak : float
        ``Σ_j n_j`` and ``max_j n_j`` (the caller has them from the pass that
        filled ``n``).
    state : float64[2]
        ``[owned, on_order]``: instances in service and ordered but not
        arrived; updated in place.
    arrivals : float64[horizon + 1]
        ``arrivals[m]``: purchased instances entering service at the start of
        month ``m``; updated in place (index 0 unused).
    lot : float
        Instances per lot.
    lead : int
        Lead time in whole months.
    horizon : int
        Months simulated; lots due later never arrive (they stay on order).

    Returns
    -------
    lots : float
        Lots ordered (and paid) this month: ``⌈(max_j n_j - owned - on_order) / lot⌉``
        when the peak requirement exceeds what is owned and on order, else 0.
    busy, idle, burst : float
        Instance-hours of owned instances serving, ``(h/P) Σ_j min(n_j, owned)``,
        owned instances idle, and load above the owned fleet (burst to cloud),
        ``(h/P) Σ_j max(n_j - owned, 0)``.  When the owned fleet covers the
        peak (the usual month) they are ``(h/P) total`` and 0, without a pass
        over the slots.
    """
    p = n.shape[0]
    state[0] += arrivals[t]
    state[1] -= arrivals[t]
    have = state[0] + state[1]
    lots = 0.0
    if peak > have * _ORDER_SLACK:
        lots = _whole((peak - have) / lot)
        bought = lots * lot
        if lead == 0:
            state[0] += bought
            arrivals[t] += bought
        else:
            state[1] += bought
            if t + lead <= horizon:
                arrivals[t + lead] += bought
    owned = state[0]
    busy = 0.0
    burst = 0.0
    if peak <= owned:  # min(n_j, owned) = n_j, max(n_j - owned, 0) = 0 exactly
        busy = total
    else:
        for j in range(p):
            busy += min(n[j], owned)
            burst += max(n[j] - owned, 0.0)
    rep = HOURS_PER_MONTH / p
    return lots, busy * rep, (owned * p - busy) * rep, burst * rep


#: Columns of an owned fleet's running totals (``acc[k]``, see :func:`_owned_step`).
_A_RUN, _A_ENERGY, _A_BURST, _A_LOTS, _A_FIRST = 0, 1, 2, 3, 4
_N_ACC = 5


@_jit(inline="always")
def _owned_step(
    t, n, total, peak, state, arrivals, acc, lot, lead, horizon, unit_price, kw_busy, kw_idle,
    energy_price, burst_price,
):  # fmt: skip
    """One month of an owned fleet (:func:`owned_month`) and its cash: ``(cash, lots)``.

    Energy ``E = (busy kW_busy + idle kW_idle) e_t`` (``e_t`` in $ per IT kWh,
    the PUE included), running cost ``E + burst · burst_price``, cash
    ``lots · lot · unit_price`` + running cost.  Adds to the fleet's running
    totals ``acc``: running cost, energy, burst hours, lots, and sets the first
    purchase month (``acc[_A_FIRST]``, inf until a lot is bought).
    """
    lots, busy, idle, over = owned_month(t, n, total, peak, state, arrivals, lot, lead, horizon)
    en = (busy * kw_busy + idle * kw_idle) * energy_price
    run = en + over * burst_price
    acc[_A_RUN] += run
    acc[_A_ENERGY] += en
    acc[_A_BURST] += over
    acc[_A_LOTS] += lots
    if lots > 0.0 and acc[_A_FIRST] == np.inf:
        acc[_A_FIRST] = float(t)
    return lots * lot * unit_price + run, lots


@_jit(inline="always")
def owned_book(arrivals, on_order, owned0, price, life_m, salvage_fraction, horizon):
    """Depreciation over the horizon and salvage at its end: ``(Dep, Salv)``.

    Straight line from ``price`` to ``salvage_fraction · price`` over
    ``life_m`` months of service, ``δ = price (1 - salvage_fraction) / life_m``
    a month.  The initial fleet (``owned0``, new at the study start) and every
    delivered lot depreciate for their months in service within the horizon;
    lots still on order at the end are worth their price.  ``Salv`` covers the
    purchased lots only (the initial fleet's resale value is the same in every
    option, so it is no cash flow of the study).
    """
    rate = price * (1.0 - salvage_fraction) / life_m
    dep = owned0 * rate * min(float(horizon), life_m)
    salv = on_order * price
    for m in range(1, horizon + 1):
        if arrivals[m] != 0.0:
            used = rate * min(float(horizon - m + 1), life_m)
            dep += arrivals[m] * used
            salv += arrivals[m] * (price - used)
    return dep, salv


@_jit
def _simulate_draws(
    start, stop, inputs, demand, seed, price_seed, discount, draw_ids, want_irr, policy, profiles,
    api, onprem, metrics, series,
):  # fmt: skip
    """Rows ``start`` to ``stop - 1`` of :func:`simulate_kernel`, with their scratch arrays.

    One call per chunk of draws, not per draw: a jitted call reference-counts every
    array it is passed (an atomic increment and decrement each), which cost about a
    third of a draw's fixed work when the twenty arrays were passed draw by draw.
    """
    horizon = demand.shape[1]
    n_paths = demand.shape[0]
    store = series.shape[1] > 0
    n_slots = profiles.shape[1]
    cf = np.empty(horizon + 1)
    cum = np.empty(horizon + 1)
    dcum = np.empty(horizon + 1)
    down = np.empty(horizon)
    upd = np.empty(horizon)
    w0 = np.empty(n_slots)
    r1 = np.empty(n_slots)
    w1 = np.empty(n_slots)
    q = np.empty(n_slots)
    nbuf = np.empty(n_slots)
    tmp = np.empty(n_slots)
    nb0 = np.empty(n_slots)
    nb1 = np.empty(n_slots)
    nop = np.empty(n_slots)
    arr = np.empty((4, horizon + 1))
    st = np.empty((3, 2))
    acc = np.empty((3, _N_ACC))
    for i in range(start, stop):
        x = inputs[i]
        draw = draw_ids[i]

        path = int(x[I_DEMAND] * n_paths)
        if path >= n_paths:
            path = n_paths - 1
        if path < 0:
            path = 0
        tau0 = x[I_TAU0]
        k0 = tau0 * 3600.0 * x[I_U0]
        k1 = tau0 * x[I_GAIN] * 3600.0 * x[I_U1]
        floor0 = x[I_M0] * HOURS_PER_MONTH
        floor1 = x[I_M1] * HOURS_PER_MONTH
        rho = x[I_RHO]
        drift = math.log1p(x[I_R]) / 12.0
        vol = x[I_SIGMA] / math.sqrt(12.0)
        go_live = x[I_T]
        ramp = max(x[I_R_RAMP], 1.0)
        eng = x[I_E] * x[I_CE]
        build = eng + x[I_V]
        build_span = max(go_live, 1.0)
        licence = x[I_L] / 12.0
        maint = x[I_PHI] * eng / 12.0
        lam = x[I_LAMBDA]
        upd_cost = x[I_CU]
        delta = x[I_DELTA]
        benefit = x[I_B]

        # Fleet: the draw's load profile, per-slot requirements and lag-window maxima.
        n_prof = profiles.shape[0]
        n_slots = profiles.shape[1]
        prof_i = 0
        if n_prof > 1:
            prof_i = int(uniform(draw_key(seed, draw, STREAM_PROFILE), 0) * n_prof)
            prof_i = min(prof_i, n_prof - 1)
        s = profiles[prof_i]
        s_min = s[0]
        s_max = s[0]
        for j in range(1, n_slots):
            s_min = min(s_min, s[j])
            s_max = max(s_max, s[j])
        g = x[I_GAIN]
        g_peak = x[I_GAIN_PEAK]
        varied = g_peak != g and s_max > s_min and not api
        r1_max = s_max
        r1_mean = 1.0
        q_mean = 1.0
        if varied:
            # g_j / g = 1 + (g_peak / g - 1)(s_j - s_min)/(s_max - s_min); r_j = s_j g / g_j
            slope = (g_peak / g - 1.0) / (s_max - s_min)
            r1_max = 0.0
            r1_mean = 0.0
            q_mean = 0.0
            for j in range(n_slots):
                q[j] = 1.0 + slope * (s[j] - s_min)
                r1[j] = s[j] / q[j]
                r1_max = max(r1_max, r1[j])
                r1_mean += r1[j]
                q_mean += q[j]
            r1_mean /= n_slots
            q_mean /= n_slots
        else:
            for j in range(n_slots):
                q[j] = 1.0
                r1[j] = s[j]
        if policy == POLICY_AUTOSCALE:
            lag = int(math.ceil(min(x[I_LAG], float(n_slots - 1))))  # noqa: RUF046 - numba needs the int
            window_max(s, lag, w0, tmp)
            if varied:
                window_max(r1, lag, w1, tmp)
            else:
                for j in range(n_slots):
                    w1[j] = w0[j]
        m0 = x[I_M0]
        m1 = x[I_M1]
        commit_n = x[I_COMMIT_N]
        commit_months = x[I_COMMIT_MONTHS] if commit_n > 0.0 else 0.0
        commit_price = x[I_COMMIT_RATIO] * x[I_P0]
        recovery = x[I_RECOVERY]
        api_price = x[I_API_PRICE] / 1e6
        # `onprem` None (every fleet rented) is pruned at compile time: that specialization
        # is the cloud model's code as it was, so its numbers do not move by a bit
        onprem0 = False
        onprem1 = False
        if onprem is not None:
            onprem0 = onprem[0]
            onprem1 = onprem[1]
        same_type = rho == 1.0 and not api and not onprem1
        peak_per0 = s_max / (k0 * HOURS_PER_MONTH)  # busiest slot's instances per unit of demand
        peak_per1 = s_max / (k1 * HOURS_PER_MONTH)

        # On-prem (issue 16): owned fleets. Row 0 of `st`/`arr` is the baseline, 1 the
        # optimized option as operated, 2 the optimized fleet as if live all along.
        owned = onprem0 or onprem1
        rep_h = HOURS_PER_MONTH / n_slots
        hw_price = x[I_HW_PRICE]
        owned_start = x[I_OWNED]
        lot = x[I_LOT]
        lead = int(_whole(x[I_LEAD]))
        life_m = 12.0 * x[I_LIFE]
        salvage_frac = x[I_SALVAGE]
        kw_busy = x[I_KW_BUSY]
        kw_idle = x[I_KW_IDLE]
        pue_energy = x[I_PUE] * x[I_ENERGY]
        energy_drift = math.log1p(x[I_ENERGY_R]) / 12.0
        burst_rel = x[I_BURST] / x[I_P0]
        bw0 = w0 if policy == POLICY_AUTOSCALE else s
        bw1 = w1 if policy == POLICY_AUTOSCALE else r1
        own = arr[3]  # own[t]: the owned fleets' cash of month t, baseline minus option
        if owned:
            for k in range(3):
                st[k, 0] = owned_start
                st[k, 1] = 0.0
                for m in range(horizon + 1):
                    arr[k, m] = 0.0
        # per owned fleet: energy + burst spend (the TCO's running costs), energy, burst
        # hours, lots bought, first purchase month (see _owned_step)
        for k in range(3):
            for col in range(_N_ACC - 1):
                acc[k, col] = 0.0
            acc[k, _A_FIRST] = np.inf
        salv0 = 0.0
        salv1 = 0.0
        dep0 = 0.0
        dep1 = 0.0
        dep_full = 0.0
        blend1 = 0.0

        # Model churn: Poisson events after go-live; each costs upd_cost in its month
        # and takes the optimisation down for `delta` months (union of the intervals).
        for t in range(horizon):
            down[t] = 0.0
            upd[t] = 0.0
        n_updates = 0
        if lam > 0.0:
            ckey = draw_key(seed, draw, STREAM_CHURN)
            tau = go_live
            end_prev = go_live
            k = 0
            while True:
                tau += -math.log(uniform(ckey, k)) * 12.0 / lam
                k += 1
                if tau >= horizon:
                    break
                n_updates += 1
                upd[int(math.ceil(tau)) - 1 if tau > 0.0 else 0] += upd_cost  # noqa: RUF046 - numba needs the int
                s_ev = max(tau, end_prev)
                e = min(max(end_prev, tau + delta), float(horizon))
                end_prev = max(end_prev, tau + delta)
                m = int(s_ev)
                while m < horizon and m < e:
                    lo_m = max(s_ev, float(m))
                    hi_m = min(e, float(m + 1))
                    if hi_m > lo_m:
                        down[m] += hi_m - lo_m
                    m += 1

        pkey = draw_key(price_seed, draw, STREAM_PRICE)
        log_p = math.log(x[I_P0])
        cum[0] = 0.0
        dcum[0] = 0.0
        cf[0] = 0.0
        invest = 0.0
        gain = 0.0
        savings = 0.0
        npv = 0.0
        tco0 = 0.0
        cost1_full = 0.0
        hours_saved = 0.0
        total_demand = 0.0
        peak0 = 0.0
        peak1 = 0.0
        cap0 = 0.0
        cap1 = 0.0
        stranded0 = 0.0
        stranded1 = 0.0
        vmonth = 1.0 / (1.0 + discount) ** (1.0 / 12.0)
        dfac = 1.0
        z2 = 0.0
        tot0 = 0.0  # Σ_j n_j of the owned fleets' month
        tot1 = 0.0
        for t in range(1, horizon + 1):
            # standard normal shock of month t: Box-Muller, one pair of uniforms per two months
            if t % 2 == 1:
                u1 = uniform(pkey, t - 1)
                u2 = uniform(pkey, t)
                rad = math.sqrt(-2.0 * math.log(u1))
                eps = rad * math.cos(_TWO_PI * u2)
                z2 = rad * math.sin(_TWO_PI * u2)
            else:
                eps = z2
            log_p += drift + vol * eps
            price = math.exp(log_p)
            d = demand[path, t - 1]
            # share of month t under the commitment (prorated in a partial last month)
            f = min(1.0, max(0.0, commit_months - (t - 1)))
            commit = f > 0.0
            if onprem0:
                tot0, cp0, n0 = fleet_slots(
                    policy, d / k0 / HOURS_PER_MONTH, bw0, s_max, m0, q, False, nb0
                )
                g0 = tot0 * rep_h
                cp0 *= rep_h
                # a cloud commitment is all stranded behind an owned fleet
                c0 = f * commit_n * HOURS_PER_MONTH * commit_price * (1.0 - recovery)
                stranded0 += f * commit_n * HOURS_PER_MONTH
            elif policy == POLICY_AVERAGE and not commit:
                # today's fractional model, bit for bit
                g0 = max(d / k0, floor0)
                n0 = max(d * peak_per0, m0)
                c0 = g0 * price
                cp0 = g0
            else:
                g0, o0, st0, cp0, n0 = _fleet_month(
                    policy, d / k0, s, w0, s_max, 1.0, q, 1.0, False, m0, commit_n, commit, nbuf
                )
                if commit:
                    c0 = (
                        f
                        * (
                            commit_n * HOURS_PER_MONTH * commit_price
                            + o0 * price
                            - recovery * st0 * commit_price
                        )
                        + (1.0 - f) * g0 * price
                    )
                    stranded0 += f * st0
                else:
                    c0 = g0 * price
            if api:
                g1 = 0.0
                n1 = 0.0
                cp1 = 0.0
                c1 = d * api_price
            elif onprem1:
                tot1, cp1, n1 = fleet_slots(
                    policy, d / k1 / HOURS_PER_MONTH, bw1, r1_max, m1, q, varied, nb1
                )
                g1 = tot1 * rep_h
                cp1 *= rep_h
                c1 = 0.0  # plus the stranded commitment, below
            elif policy == POLICY_AVERAGE and not commit and not varied:
                g1 = max(d / k1, floor1)
                n1 = max(d * peak_per1, m1)
                c1 = g1 * rho * price
                cp1 = g1
            else:
                g1, o1, st1, cp1, n1 = _fleet_month(
                    policy,
                    d / k1,
                    r1,
                    w1,
                    r1_max,
                    r1_mean,
                    q,
                    q_mean,
                    varied,
                    m1,
                    commit_n,
                    commit and same_type,
                    nbuf,
                )
                if commit and same_type:
                    c1 = (
                        f
                        * (
                            commit_n * HOURS_PER_MONTH * commit_price
                            + o1 * price
                            - recovery * st1 * commit_price
                        )
                        + (1.0 - f) * g1 * price
                    )
                    stranded1 += f * st1
                else:
                    c1 = g1 * rho * price
            if commit and not same_type:
                # another instance type (or an API): every committed instance is stranded
                c1 += f * commit_n * HOURS_PER_MONTH * commit_price * (1.0 - recovery)
                stranded1 += f * commit_n * HOURS_PER_MONTH
            a = min(1.0, max(0.0, (t - go_live) / ramp)) * (1.0 - down[t - 1])
            s_t = a * (c0 - c1)
            b_t = a * benefit
            w_build = max(0.0, min(float(t), build_span) - (t - 1)) / build_span
            live = min(1.0, max(0.0, t - go_live))
            inv_t = build * w_build + licence + maint * live + upd[t - 1]
            cf_t = s_t + b_t - inv_t
            cf[t] = cf_t
            cum[t] = cum[t - 1] + cf_t
            dfac *= vmonth
            dcum[t] = dcum[t - 1] + cf_t * dfac
            invest += inv_t
            gain += s_t + b_t
            savings += s_t
            tco0 += c0
            cost1_full += c1
            hours_saved += a * (g0 - g1)
            total_demand += d
            peak0 = max(peak0, n0)
            peak1 = max(peak1, n1)
            cap0 += cp0
            cap1 += cp1
            if store:
                series[S_CUM, i, t - 1] = cum[t]
                series[S_COST0, i, t - 1] = c0
                series[S_COST1, i, t - 1] = a * c1 + (1.0 - a) * c0
                series[S_HOURS0, i, t - 1] = g0
                series[S_HOURS1, i, t - 1] = a * g1 + (1.0 - a) * g0
                series[S_PEAK0, i, t - 1] = n0
                series[S_PEAK1, i, t - 1] = a * n1 + (1.0 - a) * n0
            if owned:
                # kept apart from the cloud arithmetic above (fastmath may reassociate
                # sums), so that rented fleets give the same numbers bit for bit
                cash0 = 0.0
                cash1 = 0.0
                e_t = pue_energy * math.exp((t - 1) * energy_drift)  # $ per IT kWh
                b_t_price = burst_rel * price  # burst $ per instance-hour
                if onprem0:
                    cash0, lots = _owned_step(
                        t, nb0, tot0, n0, st[0], arr[0], acc[0], lot, lead, horizon, hw_price,
                        kw_busy, kw_idle, e_t, b_t_price,
                    )  # fmt: skip
                    if store:
                        series[S_OWNED0, i, t - 1] = st[0, 0]
                        series[S_BOUGHT0, i, t - 1] = lots * lot
                # the optimized option as operated: share a on the optimized fleet,
                # 1 - a on the baseline's (a = 0 or 1 reuse a fleet: the same numbers)
                if onprem1 and a == 1.0:
                    cash1, lots = _owned_step(
                        t, nb1, tot1, n1, st[1], arr[1], acc[1], lot, lead, horizon, hw_price,
                        kw_busy, kw_idle, e_t, b_t_price,
                    )  # fmt: skip
                elif onprem0 and a == 0.0:
                    cash1, lots = _owned_step(
                        t, nb0, tot0, n0, st[1], arr[1], acc[1], lot, lead, horizon, hw_price,
                        kw_busy, kw_idle, e_t, b_t_price,
                    )  # fmt: skip
                else:
                    tot_op = 0.0
                    peak_op = 0.0
                    for j in range(n_slots):
                        v = 0.0
                        if onprem0:
                            v += (1.0 - a) * nb0[j]
                        if onprem1:
                            v += a * nb1[j]
                        nop[j] = v
                        tot_op += v
                        peak_op = max(peak_op, v)
                    cash1, lots = _owned_step(
                        t, nop, tot_op, peak_op, st[1], arr[1], acc[1], lot, lead, horizon,
                        hw_price, kw_busy, kw_idle, e_t, b_t_price,
                    )  # fmt: skip
                if store:
                    series[S_OWNED1, i, t - 1] = st[1, 0]
                    series[S_BOUGHT1, i, t - 1] = lots * lot
                if onprem1:  # the optimized fleet as if live all along: its running cost
                    _owned_step(
                        t, nb1, tot1, n1, st[2], arr[2], acc[2], lot, lead, horizon, hw_price,
                        kw_busy, kw_idle, e_t, b_t_price,
                    )  # fmt: skip
                if t == horizon:
                    if onprem0:
                        dep0, salv0 = owned_book(
                            arr[0], st[0, 1], owned_start, hw_price, life_m, salvage_frac, horizon
                        )
                        cash0 -= salv0
                    dep1, salv1 = owned_book(
                        arr[1], st[1, 1], owned_start, hw_price, life_m, salvage_frac, horizon
                    )
                    cash1 -= salv1
                    if onprem1:
                        dep_full, _ = owned_book(
                            arr[2], st[2, 1], owned_start, hw_price, life_m, salvage_frac, horizon
                        )
                own[t] = cash0 - cash1
                blend1 += a * c1 + (1.0 - a) * c0
                if store:
                    series[S_COST0, i, t - 1] = c0 + cash0
                    series[S_COST1, i, t - 1] = a * c1 + (1.0 - a) * c0 + cash1
        if owned:
            # the owned fleets' cash: purchases, energy, burst, salvage (own[t], baseline - option)
            dfac = 1.0
            for t in range(1, horizon + 1):
                cf[t] += own[t]
                cum[t] = cum[t - 1] + cf[t]
                dfac *= vmonth
                dcum[t] = dcum[t - 1] + cf[t] * dfac
                gain += own[t]
                savings += own[t]
                if store:
                    series[S_CUM, i, t - 1] = cum[t]
        npv = dcum[horizon]
        if owned:
            # TCO counts the owned fleets' depreciation, not their purchases and salvage
            tco0 += acc[0, _A_RUN] + dep0
            cost1_full += acc[2, _A_RUN] + dep_full

        metrics[i, M_ROI] = (gain - invest) / invest if invest != 0.0 else np.nan
        metrics[i, M_NPV] = npv
        metrics[i, M_PAYBACK] = _crossing(cum, horizon)
        metrics[i, M_DPAYBACK] = _crossing(dcum, horizon)
        metrics[i, M_IRR] = _irr(cf, cum, horizon) if want_irr else np.nan
        metrics[i, M_TCO0] = tco0
        if owned:
            metrics[i, M_TCO1] = blend1 + acc[1, _A_RUN] + dep1 + invest
        else:
            metrics[i, M_TCO1] = tco0 - savings + invest
        metrics[i, M_CPM0] = tco0 / total_demand * 1e6 if total_demand > 0.0 else np.nan
        metrics[i, M_CPM1] = cost1_full / total_demand * 1e6 if total_demand > 0.0 else np.nan
        metrics[i, M_HOURS_SAVED] = hours_saved
        metrics[i, M_INVESTMENT] = invest
        metrics[i, M_GAIN] = gain
        metrics[i, M_SAVINGS] = savings
        metrics[i, M_UPDATES] = n_updates
        metrics[i, M_DEMAND] = total_demand
        metrics[i, M_PEAK0] = peak0
        metrics[i, M_PEAK1] = peak1
        # achieved utilization: load / full-speed capacity, capacity = cap · τ g 3600
        metrics[i, M_UTIL0] = total_demand / (cap0 * tau0 * 3600.0) if cap0 > 0.0 else np.nan
        metrics[i, M_UTIL1] = total_demand / (cap1 * tau0 * g * 3600.0) if cap1 > 0.0 else np.nan
        metrics[i, M_STRANDED0] = stranded0
        metrics[i, M_STRANDED1] = stranded1
        first0 = acc[0, _A_FIRST]
        metrics[i, M_LOTS0] = acc[0, _A_LOTS]
        metrics[i, M_LOTS1] = acc[1, _A_LOTS]
        metrics[i, M_FIRST0] = first0
        metrics[i, M_FIRST1] = acc[1, _A_FIRST]
        metrics[i, M_DEFER] = acc[1, _A_FIRST] - first0 if first0 < np.inf else np.nan
        metrics[i, M_CAPEX0] = acc[0, _A_LOTS] * lot * hw_price
        metrics[i, M_CAPEX1] = acc[1, _A_LOTS] * lot * hw_price
        metrics[i, M_SALVAGE0] = salv0
        metrics[i, M_SALVAGE1] = salv1
        metrics[i, M_ENERGY0] = acc[0, _A_ENERGY]
        metrics[i, M_ENERGY1] = acc[1, _A_ENERGY]
        metrics[i, M_BURST0] = acc[0, _A_BURST]
        metrics[i, M_BURST1] = acc[1, _A_BURST]


@_jit(parallel=True)
def simulate_kernel(
    inputs,
    demand,
    seed,
    price_seed,
    discount,
    draw_ids,
    want_irr,
    policy,
    profiles,
    api,
    onprem,
    metrics,
    series,
):
    """Simulate every draw of the cash-flow model.

    Parameters
    ----------
    inputs : float64[n_draws, N_INPUTS]
        One row per draw, columns in the ``I_*`` order; ``inputs[:, I_DEMAND]``
        is a uniform in (0, 1) choosing a demand path by rank.
    demand : float64[n_paths, horizon]
        Units per month, rows sorted by total volume (ascending).
    seed : uint64
        Study seed; the model-update noise and the profile choice of row ``i``
        are keyed by ``(seed, draw_ids[i])``.
    price_seed : uint64
        Seed of the price shocks (the study seed, or a batch's market seed so
        that projects share price paths draw by draw).
    discount : float
        Annual discount rate ``d``.
    draw_ids : int64[n_draws]
        Noise index of each row: rows with the same id see the same price path,
        model-update times and load profile (common random numbers).
    want_irr : bool
        Compute the IRR (the costliest metric: a root search per draw); NaN if not.
    policy : int
        Fleet provisioning, ``POLICY_AVERAGE``, ``POLICY_PEAK`` or ``POLICY_AUTOSCALE``.
    profiles : float64[n_profiles, P]
        Relative load by slot, each row of mean 1; a draw uses row
        ``⌊u n_profiles⌋`` with ``u`` the first uniform of its profile stream.
    api : bool
        The optimized option is served through an API (per-unit price), not a fleet.
    onprem : None or (bool, bool)
        Whether the baseline / optimized fleet is owned (the on-prem model);
        ``None`` when both are rented, which compiles the cloud model alone.
    metrics : float64[n_draws, N_METRICS]
        Output, per-draw metrics in the ``M_*`` order.
    series : float64[N_SERIES, n_draws, horizon] or [N_SERIES, 0, 0]
        Output, monthly series in the ``S_*`` order (skipped when empty); must be
        zero on entry: a rented fleet's owned and purchased instances stay zero
        and are not written.  Each value is written once, month by month.
    """
    n = inputs.shape[0]
    n_chunks = (n + _DRAWS_PER_CHUNK - 1) // _DRAWS_PER_CHUNK
    for c in nb.prange(n_chunks):
        _simulate_draws(
            c * _DRAWS_PER_CHUNK,
            min(n, (c + 1) * _DRAWS_PER_CHUNK),
            inputs,
            demand,
            seed,
            price_seed,
            discount,
            draw_ids,
            want_irr,
            policy,
            profiles,
            api,
            onprem,
            metrics,
            series,
        )
