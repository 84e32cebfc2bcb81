"""A plain, vectorized NumPy implementation of the roicast model.

It computes the same equations as the numba kernel (see
:mod:`roicast.simulate.model`) with the same counter-based random numbers,
vectorized over draws with a Python loop over months and model-update events.
It is the test oracle and the benchmark's reference: written for clarity, not
speed, and kept independent of the kernel's code.
"""

from __future__ import annotations

import numpy as np

from roicast.simulate import _layout as L
from roicast.simulate._rng import (
    STREAM_CHURN,
    STREAM_PRICE,
    STREAM_PROFILE,
    draw_key_np,
    uniform_np,
)
from roicast.simulate.model import FleetConfig

__all__ = ["simulate_reference"]


def _crossing(cum: np.ndarray) -> np.ndarray:
    """First fractional month where ``cum`` (draw, 0..H) reaches 0, inf if never."""
    n = cum.shape[0]
    reached = cum[:, 1:] >= 0
    any_r = reached.any(axis=1)
    t = np.where(any_r, reached.argmax(axis=1) + 1, 1)
    rows = np.arange(n)
    prev = cum[rows, t - 1]
    cur = cum[rows, t]
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(prev >= 0, 0.0, -prev / (cur - prev))
    return np.where(any_r, (t - 1) + frac, np.inf)


def _sign_changes(x: np.ndarray) -> np.ndarray:
    """Sign changes along each row, zeros skipped."""
    sgn = np.sign(x)
    cols = np.arange(x.shape[1])
    last = np.maximum.accumulate(np.where(sgn != 0, cols, 0), axis=1)  # last non-zero so far
    filled = np.take_along_axis(sgn, last, axis=1)
    return (filled[:, 1:] * filled[:, :-1] < 0).sum(axis=1)


def _irr(cf: np.ndarray, cum: np.ndarray) -> np.ndarray:
    """Annualised IRR on the monthly factor v in [1/3, 2], where unique.

    Unique: one sign change of the cash flows (Descartes) or of the cumulative
    cash flows (Norström), else NaN.  Newton steps safeguarded by bisection,
    vectorized over the draws still iterating.
    """
    unique = (_sign_changes(cf[:, 1:]) == 1) | (
        (_sign_changes(cum[:, 1:]) == 1) & (cum[:, -1] != 0)
    )
    c = cf[:, 1:]
    t = np.arange(1, c.shape[1] + 1)

    def f_df(v, rows):
        p = v[:, None] ** (t - 1)
        return (c[rows] * p * v[:, None]).sum(axis=1), (c[rows] * t * p).sum(axis=1)

    n = c.shape[0]
    every = np.arange(n)
    f_lo, _ = f_df(np.full(n, 1 / 3), every)
    f_hi, _ = f_df(np.full(n, 2.0), every)
    ok = unique & (np.sign(f_lo) != np.sign(f_hi)) & (f_lo != 0) & (f_hi != 0)
    neg_at_lo = f_lo < 0
    a = np.where(neg_at_lo, 1 / 3, 2.0)  # f(a) < 0
    b = np.where(neg_at_lo, 2.0, 1 / 3)  # f(b) > 0
    v = np.ones(n)
    active = np.flatnonzero(ok)
    for _ in range(100):
        if active.size == 0:
            break
        va = v[active]
        f, df = f_df(va, active)
        a[active] = np.where(f < 0, va, a[active])
        b[active] = np.where(f < 0, b[active], va)
        with np.errstate(divide="ignore", invalid="ignore"):
            nv = va - f / df
        lo, hi = np.minimum(a[active], b[active]), np.maximum(a[active], b[active])
        nv = np.where((nv > lo) & (nv < hi), nv, 0.5 * (a[active] + b[active]))
        done = np.abs(nv - va) < 1e-12 * va
        v[active] = nv
        active = active[~done]
    out = np.where(ok, (1 / v) ** 12 - 1, np.nan)
    out = np.where(unique & (f_lo == 0), 3.0**12 - 1, out)
    return np.where(unique & (f_hi == 0), 0.5**12 - 1, out)


def _whole(v: np.ndarray) -> np.ndarray:
    """Whole instances, ignoring a relative excess below 1e-12 (as the kernel)."""
    return np.ceil(v * (1.0 - 1e-12))


def _lag_max(r: np.ndarray, lag: np.ndarray) -> np.ndarray:
    """Per row, ``max(r[(j - k) mod P] for k = 0..lag)``: the plain way, one shift at a time."""
    out = r.copy()
    for k in range(1, r.shape[1]):
        out = np.where((k <= lag)[:, None], np.maximum(out, np.roll(r, k, axis=1)), out)
    return out


def _fleet(
    x: np.ndarray, D: np.ndarray, price: np.ndarray, seed: int, draws: np.ndarray, fleet
) -> dict[str, np.ndarray]:
    """Monthly spend, instance-hours, peak instances, capacity and stranded hours of both fleets.

    Written slot by slot: every month builds the instance count of every slot
    of both fleets, (draw, slot), and sums; no shortcut of the kernel's.
    """
    n, horizon = D.shape
    h = L.HOURS_PER_MONTH
    prof = fleet.profiles
    n_prof, n_slots = prof.shape
    rep = h / n_slots
    if n_prof > 1:
        u = uniform_np(draw_key_np(seed, draws, STREAM_PROFILE), 0)
        k = np.minimum((u * n_prof).astype(np.int64), n_prof - 1)
    else:
        k = np.zeros(n, dtype=np.int64)
    S = prof[k]  # (n, P), mean 1
    s_min, s_max = S.min(axis=1), S.max(axis=1)
    g, g_peak = x[:, L.I_GAIN], x[:, L.I_GAIN_PEAK]
    api = fleet.api
    varied = (g_peak != g) & (s_max > s_min) & (not api)
    spread = np.where(s_max > s_min, s_max - s_min, 1.0)
    g_slot = np.where(
        varied[:, None],
        g[:, None] + (g_peak - g)[:, None] * (S - s_min[:, None]) / spread[:, None],
        g[:, None],
    )
    R0 = S
    R1 = S * g[:, None] / g_slot  # instances per unit of D / (h kappa1), by slot
    if fleet.policy == L.POLICY_AUTOSCALE:
        lag = np.ceil(np.minimum(x[:, L.I_LAG], n_slots - 1))
        W0, W1 = _lag_max(R0, lag), _lag_max(R1, lag)
    else:
        W0, W1 = R0, R1
    kappa0 = x[:, L.I_TAU0] * 3600 * x[:, L.I_U0]
    kappa1 = x[:, L.I_TAU0] * g * 3600 * x[:, L.I_U1]
    m0, m1 = x[:, L.I_M0], x[:, L.I_M1]
    c = x[:, L.I_COMMIT_N]
    pc = x[:, L.I_COMMIT_RATIO] * x[:, L.I_P0]
    rec = x[:, L.I_RECOVERY]
    rho = x[:, L.I_RHO]
    on0, on1 = fleet.onprem
    same_type = (rho == 1.0) & (not api) & (not on1)
    months = np.arange(1, horizon + 1, dtype=float)
    f_all = np.where(
        c[:, None] > 0, np.clip(x[:, L.I_COMMIT_MONTHS][:, None] - (months - 1), 0, 1), 0.0
    )

    def fleet_month(d, kappa, R, W, m, gain_rel):
        """(G, od, S, capacity in reference instance-hours, peak) for one fleet, one month."""
        xx = d / (h * kappa)
        pol = fleet.policy
        if pol == L.POLICY_AVERAGE:
            slots = xx[:, None] * R  # fractional fleet following the load
            load_h = rep * slots.sum(axis=1)
            G = np.maximum(load_h, m * h)
            used = rep * np.minimum(slots, c[:, None]).sum(axis=1)
            idle_floor = np.minimum(c * h - used, np.maximum(m * h - load_h, 0))
            od = G - used - idle_floor
            St = c * h - used - idle_floor
            # floor hours run at the load-following fleet's mean speed per instance-hour
            cap = G * (R * gain_rel).mean(axis=1) / R.mean(axis=1)
            peak = np.maximum(xx * R.max(axis=1), m)
            return G, od, St, cap, peak
        if pol == L.POLICY_PEAK:
            slots = np.repeat(np.maximum(_whole(xx * R.max(axis=1)), m)[:, None], n_slots, axis=1)
        else:
            slots = np.maximum(_whole(xx[:, None] * W), m[:, None])
        G = rep * slots.sum(axis=1)
        od = rep * np.maximum(slots - c[:, None], 0).sum(axis=1)
        St = rep * np.maximum(c[:, None] - slots, 0).sum(axis=1)
        cap = rep * (slots * gain_rel).sum(axis=1)
        return G, od, St, cap, slots.max(axis=1)

    def owned_slots(d, kappa, R, W, m):
        """Instances an owned fleet needs by slot (n, P): whole per policy, the average floored per slot."""
        xx = (d / (h * kappa))[:, None]
        if fleet.policy == L.POLICY_AVERAGE:
            return np.maximum(xx * R, m[:, None])
        if fleet.policy == L.POLICY_PEAK:
            peak = np.maximum(_whole(xx[:, 0] * R.max(axis=1)), m)
            return np.repeat(peak[:, None], n_slots, axis=1)
        return np.maximum(_whole(xx * W), m[:, None])

    out = {
        k: np.zeros((n, horizon))
        for k in ("C0", "C1", "G0", "G1", "N0", "N1", "cap0", "cap1", "st0", "st1")
    }
    out["slots0"] = np.zeros((n, horizon, n_slots))
    out["slots1"] = np.zeros((n, horizon, n_slots))
    stranded_all = c * h * pc * (1 - rec)  # a commitment behind an owned fleet
    for t in range(horizon):
        d, P, f = D[:, t], price[:, t], f_all[:, t]
        if on0:
            n0 = owned_slots(d, kappa0, R0, W0, m0)
            out["slots0"][:, t] = n0
            G0, cap0, N0 = rep * n0.sum(axis=1), rep * n0.sum(axis=1), n0.max(axis=1)
            C0 = f * stranded_all
            St0 = c * h
        else:
            G0, od0, St0, cap0, N0 = fleet_month(d, kappa0, R0, W0, m0, np.ones_like(S))
            C0 = np.where(
                f > 0, f * (c * h * pc + od0 * P - rec * St0 * pc) + (1 - f) * G0 * P, G0 * P
            )
        if on1:
            n1 = owned_slots(d, kappa1, R1, W1, m1)
            out["slots1"][:, t] = n1
            G1 = rep * n1.sum(axis=1)
            cap1 = rep * (n1 * g_slot / g[:, None]).sum(axis=1)
            N1 = n1.max(axis=1)
            St1 = np.zeros(n)
            C1 = np.zeros(n)
        elif api:
            G1 = cap1 = N1 = St1 = np.zeros(n)
            C1 = d * x[:, L.I_API_PRICE] / 1e6
        else:
            G1, od1, St1, cap1, N1 = fleet_month(d, kappa1, R1, W1, m1, g_slot / g[:, None])
            C1 = np.where(
                (f > 0) & same_type,
                f * (c * h * pc + od1 * P - rec * St1 * pc) + (1 - f) * G1 * P,
                G1 * rho * P,
            )
        St1 = np.where(same_type, St1, c * h)
        C1 = C1 + np.where((f > 0) & ~same_type, f * c * h * pc * (1 - rec), 0.0)
        out["C0"][:, t], out["C1"][:, t] = C0, C1
        out["G0"][:, t], out["G1"][:, t] = G0, G1
        out["N0"][:, t], out["N1"][:, t] = N0, N1
        out["cap0"][:, t], out["cap1"][:, t] = cap0, cap1
        out["st0"][:, t], out["st1"][:, t] = f * St0, f * St1
    return out


def _owned(x: np.ndarray, req: np.ndarray, price: np.ndarray) -> dict[str, np.ndarray]:
    """An owned fleet month by month, vectorized over draws (the on-prem model, issue 16).

    ``req`` (draws, months, slots): instances required by slot; ``price`` the
    cloud price path (burst follows it).  Returns per month: ``cash`` (purchases
    + energy + burst - salvage in the last month), ``run`` (energy + burst),
    ``energy``, ``burst`` hours, ``lots`` ordered, ``owned`` in service, and
    the totals ``dep`` (depreciation, the TCO's hardware cost) and ``salvage``.
    Depreciation is summed month by month, lot by lot (the kernel uses its total).
    """
    n, horizon, n_slots = req.shape
    h = L.HOURS_PER_MONTH
    owned0 = x[:, L.I_OWNED]
    hw = x[:, L.I_HW_PRICE]
    lot = x[:, L.I_LOT]
    lead = _whole(x[:, L.I_LEAD]).astype(np.int64)
    life_m = 12 * x[:, L.I_LIFE]
    rate = hw * (1 - x[:, L.I_SALVAGE]) / life_m
    e0 = x[:, L.I_PUE] * x[:, L.I_ENERGY]
    burst_price = x[:, L.I_BURST] / x[:, L.I_P0]
    owned = owned0.copy()
    on_order = np.zeros(n)
    due = np.zeros((n, horizon + 1))  # instances arriving at the start of month m (1-based)
    delivered = np.zeros((n, horizon + 1))
    rows = np.arange(n)
    out = {k: np.zeros((n, horizon)) for k in ("cash", "run", "energy", "burst", "lots", "owned")}
    dep_initial = np.zeros(n)
    dep_bought = np.zeros(n)
    for t in range(1, horizon + 1):
        owned += due[:, t]
        on_order -= due[:, t]
        delivered[:, t] += due[:, t]
        nt = req[:, t - 1]
        have = owned + on_order
        short = nt.max(axis=1) > have * (1 + 1e-12)
        lots = np.where(short, _whole((nt.max(axis=1) - have) / lot), 0.0)
        bought = lots * lot
        now = short & (lead == 0)
        later = short & (lead > 0)
        owned += np.where(now, bought, 0.0)
        delivered[:, t] += np.where(now, bought, 0.0)
        on_order += np.where(later, bought, 0.0)
        arrive = later & (t + lead <= horizon)
        np.add.at(due, (rows[arrive], (t + lead)[arrive]), bought[arrive])
        busy = h / n_slots * np.minimum(nt, owned[:, None]).sum(axis=1)
        idle = h / n_slots * np.maximum(owned[:, None] - nt, 0).sum(axis=1)
        over = h / n_slots * np.maximum(nt - owned[:, None], 0).sum(axis=1)
        e_t = e0 * (1 + x[:, L.I_ENERGY_R]) ** ((t - 1) / 12)
        energy = (busy * x[:, L.I_KW_BUSY] + idle * x[:, L.I_KW_IDLE]) * e_t
        run = energy + over * burst_price * price[:, t - 1]
        out["cash"][:, t - 1] = bought * hw + run
        out["run"][:, t - 1] = run
        out["energy"][:, t - 1] = energy
        out["burst"][:, t - 1] = over
        out["lots"][:, t - 1] = lots
        out["owned"][:, t - 1] = owned
        # straight-line depreciation this month of every lot by its age (months in service)
        ages = t - np.arange(1, t + 1)  # age at the start of month t of a lot delivered in month a
        share = np.clip(life_m[:, None] - ages[None, :], 0, 1)  # (n, a)
        dep_bought += rate * (delivered[:, 1 : t + 1] * share).sum(axis=1)
        dep_initial += rate * owned0 * share[:, 0]
    spent = (delivered[:, 1:].sum(axis=1) + on_order) * hw
    out["salvage"] = spent - dep_bought  # book value of the purchased lots at the horizon
    out["dep"] = dep_initial + dep_bought
    out["cash"][:, -1] -= out["salvage"]
    return out


def simulate_reference(
    inputs: np.ndarray,
    demand: np.ndarray,
    *,
    seed: int,
    discount_rate: float,
    draw_offset: int = 0,
    price_seed: int | None = None,
    fleet: FleetConfig | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Reference model: returns ``(metrics, series)`` exactly like the kernel.

    ``inputs`` (draws, len(INPUT_NAMES)); ``demand`` rows must be sorted by
    total volume; ``fleet`` as in :func:`roicast.simulate.simulate_arrays`.
    """
    fleet = FleetConfig() if fleet is None else fleet
    x = np.asarray(inputs, dtype=float)
    n = x.shape[0]
    n_paths, horizon = demand.shape
    path = np.clip((x[:, L.I_DEMAND] * n_paths).astype(np.int64), 0, n_paths - 1)
    D = demand[path]  # (n, H)
    tau0 = x[:, L.I_TAU0]
    T = x[:, L.I_T]
    R = np.maximum(x[:, L.I_R_RAMP], 1.0)
    eng = x[:, L.I_E] * x[:, L.I_CE]
    build = eng + x[:, L.I_V]
    span = np.maximum(T, 1.0)
    lam = x[:, L.I_LAMBDA]
    delta = x[:, L.I_DELTA]
    draws = np.arange(n) + draw_offset
    months = np.arange(1, horizon + 1, dtype=float)

    # price path
    pkey = draw_key_np(seed if price_seed is None else price_seed, draws, STREAM_PRICE)
    eps = np.empty((n, horizon))
    for t in range(0, horizon, 2):
        u1 = uniform_np(pkey, t)
        u2 = uniform_np(pkey, t + 1)
        rad = np.sqrt(-2 * np.log(u1))
        eps[:, t] = rad * np.cos(2 * np.pi * u2)
        if t + 1 < horizon:
            eps[:, t + 1] = rad * np.sin(2 * np.pi * u2)
    log_p = (
        np.log(x[:, L.I_P0])[:, None]
        + months[None, :] * (np.log1p(x[:, L.I_R]) / 12)[:, None]
        + (x[:, L.I_SIGMA] / np.sqrt(12))[:, None] * np.cumsum(eps, axis=1)
    )
    P = np.exp(log_p)

    # model updates: Poisson arrivals after go-live, downtime = union of [τ, τ+δ]
    down = np.zeros((n, horizon))
    upd = np.zeros((n, horizon))
    n_upd = np.zeros(n)
    ckey = draw_key_np(seed, draws, STREAM_CHURN)
    tau = T.copy()
    end_prev = T.copy()
    active = lam > 0
    k = 0
    lo_edges = months - 1
    rows = np.arange(n)
    while active.any():
        with np.errstate(divide="ignore"):
            gap = -np.log(uniform_np(ckey, k)) * 12 / np.where(active, lam, 1.0)
        tau = np.where(active, tau + gap, tau)
        k += 1
        active &= tau < horizon
        idx = np.clip(np.ceil(tau).astype(np.int64) - 1, 0, horizon - 1)
        np.add.at(upd, (rows[active], idx[active]), x[active, L.I_CU])
        n_upd += active
        s = np.maximum(tau, end_prev)
        e = np.minimum(np.maximum(end_prev, tau + delta), horizon)
        end_prev = np.where(active, np.maximum(end_prev, tau + delta), end_prev)
        overlap = np.clip(
            np.minimum(e[:, None], months[None, :]) - np.maximum(s[:, None], lo_edges[None, :]),
            0,
            None,
        )
        down += np.where(active[:, None], overlap, 0.0)

    fl = _fleet(x, D, P, seed, draws, fleet)
    G0, G1, C0, C1 = fl["G0"], fl["G1"], fl["C0"], fl["C1"]
    a = np.clip((months[None, :] - T[:, None]) / R[:, None], 0, 1) * (1 - down)
    on0, on1 = fleet.onprem
    zero = np.zeros((n, horizon))
    idle_fleet = {"cash": zero, "run": zero, "energy": zero, "burst": zero, "lots": zero}
    idle_fleet |= {"owned": zero, "dep": np.zeros(n), "salvage": np.zeros(n)}
    own0 = own1 = own_full = idle_fleet
    if on0 or on1:
        # the optimized option as operated: a_t of the load on its platform, 1 - a_t on the baseline's
        req = a[:, :, None] * fl["slots1"] * on1 + (1 - a[:, :, None]) * fl["slots0"] * on0
        own1 = _owned(x, req, P)
    if on0:
        own0 = _owned(x, fl["slots0"], P)
    if on1:
        own_full = _owned(x, fl["slots1"], P)
    C0_own = C0 + own0["cash"]  # cash spend of the baseline
    C1_own = a * C1 + (1 - a) * C0 + own1["cash"]  # and of the option as operated
    S = a * (C0 - C1) + own0["cash"] - own1["cash"]
    B = a * x[:, L.I_B][:, None]
    w_build = (
        np.clip(np.minimum(months[None, :], span[:, None]) - (months[None, :] - 1), 0, None)
        / span[:, None]
    )
    live = np.clip(months[None, :] - T[:, None], 0, 1)
    inv = (
        build[:, None] * w_build
        + (x[:, L.I_L] / 12)[:, None]
        + (x[:, L.I_PHI] * eng / 12)[:, None] * live
        + upd
    )
    CF = S + B - inv
    cf0 = np.concatenate([np.zeros((n, 1)), CF], axis=1)
    cum = np.cumsum(cf0, axis=1)
    disc = (1 + discount_rate) ** (-months / 12)
    dcum = np.concatenate([np.zeros((n, 1)), np.cumsum(CF * disc[None, :], axis=1)], axis=1)
    K_inv = inv.sum(axis=1)
    gain = (S + B).sum(axis=1)
    total_d = D.sum(axis=1)

    metrics = np.empty((n, L.N_METRICS))
    with np.errstate(divide="ignore", invalid="ignore"):
        metrics[:, L.M_ROI] = np.where(K_inv != 0, (gain - K_inv) / K_inv, np.nan)
        tco0_own = C0.sum(axis=1) + own0["run"].sum(axis=1) + own0["dep"]
        tco1_full = C1.sum(axis=1) + own_full["run"].sum(axis=1) + own_full["dep"]
        metrics[:, L.M_CPM0] = np.where(total_d > 0, tco0_own / total_d * 1e6, np.nan)
        metrics[:, L.M_CPM1] = np.where(total_d > 0, tco1_full / total_d * 1e6, np.nan)
    metrics[:, L.M_NPV] = dcum[:, -1]
    metrics[:, L.M_PAYBACK] = _crossing(cum)
    metrics[:, L.M_DPAYBACK] = _crossing(dcum)
    metrics[:, L.M_IRR] = _irr(cf0, cum)
    tco0 = C0.sum(axis=1) + own0["run"].sum(axis=1) + own0["dep"]
    metrics[:, L.M_TCO0] = tco0
    metrics[:, L.M_TCO1] = (
        (a * C1 + (1 - a) * C0).sum(axis=1) + own1["run"].sum(axis=1) + own1["dep"] + K_inv
    )
    metrics[:, L.M_HOURS_SAVED] = (a * (G0 - G1)).sum(axis=1)
    metrics[:, L.M_INVESTMENT] = K_inv
    metrics[:, L.M_GAIN] = gain
    metrics[:, L.M_SAVINGS] = S.sum(axis=1)
    metrics[:, L.M_UPDATES] = n_upd
    metrics[:, L.M_DEMAND] = total_d
    metrics[:, L.M_PEAK0] = fl["N0"].max(axis=1)
    metrics[:, L.M_PEAK1] = fl["N1"].max(axis=1)
    cap0, cap1 = fl["cap0"].sum(axis=1), fl["cap1"].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        metrics[:, L.M_UTIL0] = np.where(cap0 > 0, total_d / (cap0 * tau0 * 3600), np.nan)
        metrics[:, L.M_UTIL1] = np.where(
            cap1 > 0, total_d / (cap1 * tau0 * x[:, L.I_GAIN] * 3600), np.nan
        )
    metrics[:, L.M_STRANDED0] = fl["st0"].sum(axis=1)
    metrics[:, L.M_STRANDED1] = fl["st1"].sum(axis=1)
    for k, own in ((0, own0), (1, own1)):
        lots = own["lots"]
        bought = lots.any(axis=1)
        first = np.where(bought, (lots > 0).argmax(axis=1) + 1.0, np.inf)
        metrics[:, (L.M_LOTS0, L.M_LOTS1)[k]] = lots.sum(axis=1)
        metrics[:, (L.M_FIRST0, L.M_FIRST1)[k]] = first
        metrics[:, (L.M_CAPEX0, L.M_CAPEX1)[k]] = (lots * x[:, L.I_LOT][:, None]).sum(axis=1) * x[
            :, L.I_HW_PRICE
        ]
        metrics[:, (L.M_SALVAGE0, L.M_SALVAGE1)[k]] = own["salvage"]
        metrics[:, (L.M_ENERGY0, L.M_ENERGY1)[k]] = own["energy"].sum(axis=1)
        metrics[:, (L.M_BURST0, L.M_BURST1)[k]] = own["burst"].sum(axis=1)
    f0, f1 = metrics[:, L.M_FIRST0], metrics[:, L.M_FIRST1]
    with np.errstate(invalid="ignore"):
        metrics[:, L.M_DEFER] = np.where(np.isfinite(f0), f1 - f0, np.nan)

    series = np.empty((L.N_SERIES, n, horizon))
    series[L.S_CUM] = cum[:, 1:]
    series[L.S_COST0] = C0_own
    series[L.S_COST1] = C1_own
    series[L.S_HOURS0] = G0
    series[L.S_HOURS1] = a * G1 + (1 - a) * G0
    series[L.S_PEAK0] = fl["N0"]
    series[L.S_PEAK1] = a * fl["N1"] + (1 - a) * fl["N0"]
    series[L.S_OWNED0] = own0["owned"]
    series[L.S_OWNED1] = own1["owned"]
    series[L.S_BOUGHT0] = own0["lots"] * x[:, L.I_LOT][:, None]
    series[L.S_BOUGHT1] = own1["lots"] * x[:, L.I_LOT][:, None]
    return metrics, series
