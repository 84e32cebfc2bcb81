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
from roicast.simulate._rng import STREAM_CHURN, STREAM_PRICE, draw_key_np, uniform_np

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


def simulate_reference(
    inputs: np.ndarray,
    demand: np.ndarray,
    *,
    seed: int,
    discount_rate: float,
    draw_offset: int = 0,
    price_seed: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Reference model: returns ``(metrics, series)`` exactly like the kernel.

    ``demand`` rows must be sorted by total volume.
    """
    x = np.asarray(inputs, dtype=float)
    n = x.shape[0]
    n_paths, horizon = demand.shape
    h = L.HOURS_PER_MONTH
    path = np.clip((x[:, L.I_DEMAND] * n_paths).astype(np.int64), 0, n_paths - 1)
    D = demand[path]  # (n, H)
    tau0 = x[:, L.I_TAU0]
    kappa0 = tau0 * 3600 * x[:, L.I_U0]
    kappa1 = tau0 * x[:, L.I_GAIN] * 3600 * x[:, L.I_U1]
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

    G0 = np.maximum(D / kappa0[:, None], (x[:, L.I_M0] * h)[:, None])
    G1 = np.maximum(D / kappa1[:, None], (x[:, L.I_M1] * h)[:, None])
    C0 = G0 * P
    C1 = G1 * x[:, L.I_RHO][:, None] * P
    a = np.clip((months[None, :] - T[:, None]) / R[:, None], 0, 1) * (1 - down)
    S = a * (C0 - C1)
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
        metrics[:, L.M_CPM0] = np.where(total_d > 0, C0.sum(axis=1) / total_d * 1e6, np.nan)
        metrics[:, L.M_CPM1] = np.where(total_d > 0, C1.sum(axis=1) / total_d * 1e6, np.nan)
    metrics[:, L.M_NPV] = dcum[:, -1]
    metrics[:, L.M_PAYBACK] = _crossing(cum)
    metrics[:, L.M_DPAYBACK] = _crossing(dcum)
    metrics[:, L.M_IRR] = _irr(cf0, cum)
    metrics[:, L.M_TCO0] = C0.sum(axis=1)
    metrics[:, L.M_TCO1] = C0.sum(axis=1) - S.sum(axis=1) + K_inv
    metrics[:, L.M_HOURS_SAVED] = (a * (G0 - G1)).sum(axis=1)
    metrics[:, L.M_INVESTMENT] = K_inv
    metrics[:, L.M_GAIN] = gain
    metrics[:, L.M_SAVINGS] = S.sum(axis=1)
    metrics[:, L.M_UPDATES] = n_upd
    metrics[:, L.M_DEMAND] = total_d

    series = np.empty((L.N_SERIES, n, horizon))
    series[L.S_CUM] = cum[:, 1:]
    series[L.S_COST0] = C0
    series[L.S_COST1] = a * C1 + (1 - a) * C0
    series[L.S_HOURS0] = G0
    series[L.S_HOURS1] = a * G1 + (1 - a) * G0
    return metrics, series
