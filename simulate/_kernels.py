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
    I_B,
    I_CE,
    I_CU,
    I_DELTA,
    I_DEMAND,
    I_E,
    I_GAIN,
    I_L,
    I_LAMBDA,
    I_M0,
    I_M1,
    I_P0,
    I_PHI,
    I_R,
    I_R_RAMP,
    I_RHO,
    I_SIGMA,
    I_T,
    I_TAU0,
    I_U0,
    I_U1,
    I_V,
    M_CPM0,
    M_CPM1,
    M_DEMAND,
    M_DPAYBACK,
    M_GAIN,
    M_HOURS_SAVED,
    M_INVESTMENT,
    M_IRR,
    M_NPV,
    M_PAYBACK,
    M_ROI,
    M_SAVINGS,
    M_TCO0,
    M_TCO1,
    M_UPDATES,
    S_COST0,
    S_COST1,
    S_CUM,
    S_HOURS0,
    S_HOURS1,
)
from roicast.simulate._rng import STREAM_CHURN, STREAM_PRICE, draw_key, uniform

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
    """Sign changes of ``x[1..H]``, zeros skipped."""
    n = 0
    last = 0.0
    for t in range(1, horizon + 1):
        if x[t] != 0.0:
            if last != 0.0 and (x[t] > 0.0) != (last > 0.0):
                n += 1
            last = x[t]
    return n


@_jit(inline="always")
def _irr(cf, cum, horizon):
    """Annualised IRR of monthly cash flows ``cf[1..H]`` where it is unique (else NaN).

    The IRR is reported only where it is unique: the cash flows (Descartes'
    rule of signs) or the cumulative cash flows (Norström 1972) change sign
    exactly once.  Solves ``f(v) = Σ cf[t] v^t = 0`` for the monthly discount
    factor ``v = 1 / (1 + m)`` on ``m ∈ [-0.5, 2]`` by Newton steps safeguarded
    with bisection, and returns ``(1 + m)^12 - 1``.
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
        # f(v) = v·p(v), p(v) = Σ cf[t] v^(t-1); f'(v) = p(v) + v·p'(v), by Horner
        p = cf[horizon]
        dp = 0.0
        for t in range(horizon - 1, 0, -1):
            dp = dp * v + p
            p = p * v + cf[t]
        f = v * p
        df = p + v * dp
        if f < 0.0:
            lo = v
        else:
            hi = v
        nv = v - f / df if df != 0.0 else 0.5 * (lo + hi)
        if not (min(lo, hi) < nv < max(lo, hi)):
            nv = 0.5 * (lo + hi)
        if abs(nv - v) < 1e-12 * v:
            v = nv
            break
        v = nv
    return (1.0 / v) ** 12 - 1.0


@_jit
def _simulate_draw(
    i,
    x,
    demand,
    seed,
    price_seed,
    discount,
    draw,
    want_irr,
    metrics,
    series,
    cf,
    cum,
    dcum,
    down,
    upd,
):
    horizon = demand.shape[1]
    n_paths = demand.shape[0]
    store = series.shape[1] > 0

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
            s = max(tau, end_prev)
            e = min(max(end_prev, tau + delta), float(horizon))
            end_prev = max(end_prev, tau + delta)
            m = int(s)
            while m < horizon and m < e:
                lo_m = max(s, float(m))
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
    vmonth = 1.0 / (1.0 + discount) ** (1.0 / 12.0)
    dfac = 1.0
    z2 = 0.0
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
        g0 = max(d / k0, floor0)
        g1 = max(d / k1, floor1)
        c0 = g0 * price
        c1 = g1 * rho * price
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
        if store:
            series[S_CUM, i, t - 1] = cum[t]
            series[S_COST0, i, t - 1] = c0
            series[S_COST1, i, t - 1] = a * c1 + (1.0 - a) * c0
            series[S_HOURS0, i, t - 1] = g0
            series[S_HOURS1, i, t - 1] = a * g1 + (1.0 - a) * g0
    npv = dcum[horizon]

    metrics[i, M_ROI] = (gain - invest) / invest if invest != 0.0 else np.nan
    metrics[i, M_NPV] = npv
    metrics[i, M_PAYBACK] = _crossing(cum, horizon)
    metrics[i, M_DPAYBACK] = _crossing(dcum, horizon)
    metrics[i, M_IRR] = _irr(cf, cum, horizon) if want_irr else np.nan
    metrics[i, M_TCO0] = tco0
    metrics[i, M_TCO1] = tco0 - savings + invest
    metrics[i, M_CPM0] = tco0 / total_demand * 1e6 if total_demand > 0.0 else np.nan
    metrics[i, M_CPM1] = cost1_full / total_demand * 1e6 if total_demand > 0.0 else np.nan
    metrics[i, M_HOURS_SAVED] = hours_saved
    metrics[i, M_INVESTMENT] = invest
    metrics[i, M_GAIN] = gain
    metrics[i, M_SAVINGS] = savings
    metrics[i, M_UPDATES] = n_updates
    metrics[i, M_DEMAND] = total_demand


@_jit(parallel=True)
def simulate_kernel(
    inputs, demand, seed, price_seed, discount, draw_ids, want_irr, metrics, series
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
        Study seed; the model-update noise of row ``i`` is keyed by ``(seed, draw_ids[i])``.
    price_seed : uint64
        Seed of the price shocks (the study seed, or a batch's market seed so
        that projects share price paths draw by draw).
    discount : float
        Annual discount rate ``d``.
    draw_ids : int64[n_draws]
        Noise index of each row: rows with the same id see the same price path
        and model-update times (common random numbers).
    want_irr : bool
        Compute the IRR (the costliest metric: a root search per draw); NaN if not.
    metrics : float64[n_draws, N_METRICS]
        Output, per-draw metrics in the ``M_*`` order.
    series : float64[N_SERIES, n_draws, horizon] or [N_SERIES, 0, 0]
        Output, monthly series in the ``S_*`` order (skipped when empty).
    """
    n = inputs.shape[0]
    horizon = demand.shape[1]
    n_chunks = (n + _DRAWS_PER_CHUNK - 1) // _DRAWS_PER_CHUNK
    for c in nb.prange(n_chunks):
        cf = np.empty(horizon + 1)
        cum = np.empty(horizon + 1)
        dcum = np.empty(horizon + 1)
        down = np.empty(horizon)
        upd = np.empty(horizon)
        stop = min(n, (c + 1) * _DRAWS_PER_CHUNK)
        for i in range(c * _DRAWS_PER_CHUNK, stop):
            _simulate_draw(
                i,
                inputs[i],
                demand,
                seed,
                price_seed,
                discount,
                draw_ids[i],
                want_irr,
                metrics,
                series,
                cf,
                cum,
                dcum,
                down,
                upd,
            )
