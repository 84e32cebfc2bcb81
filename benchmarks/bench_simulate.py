"""Simulator speed: the numba kernel against a fused minimal loop, its previous version and NumPy.

    python benchmarks/bench_simulate.py [--draws 100000] [--months 36] [--repeat 5] [--before REV]

Every figure is CPU seconds (``time.process_time``: all threads of this
process, so that a shared machine's load matters less), the minimum of
``--repeat`` runs, on the same inputs (100 000 draws × 36 months by default,
every input uncertain, churn on), all measured in this one run; the kernels
are compiled (or loaded from cache) first and excluded.

1. **Kernel vs a fused minimal loop** (issue 13, target ≤ 2×): the fused loop
   draws the same random numbers (price shocks, model updates) and does the same
   cash-flow arithmetic as the kernel's average cloud model, but keeps only the
   NPV (checked equal to the kernel's).  Ratios for: metrics only (no IRR),
   metrics + IRR, every output (metrics, IRR and the monthly series).
2. **Fleet model** (issue 12): autoscaling with four 168-slot (hour of week)
   profiles, a lag of 0-6 hours and load-dependent gain, without and with
   commitments; target ≤ 3× the average mode per draw-month.
3. **On-prem model** (issue 16): both fleets owned (lots after a lead time, burst,
   energy, depreciation and salvage; three owned fleets per draw), average flat
   and autoscale with the 168-slot profiles, against the average (cloud) mode;
   issue 13's target: near the cloud autoscale's ≤ 3×.
4. **NumPy reference** (DESIGN.md: kernel ≥ 10× faster, ≥ 30 M draw-months/s on
   2 cores).

``--before REV`` also times the kernel of git revision ``REV``
(``simulate/_kernels.py`` as of that commit, loaded beside this one) on every
line, with the ratio before / now.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType

import numba
import numpy as np

from roicast.simulate import (
    INPUT_NAMES,
    NEUTRAL_INPUTS,
    FleetConfig,
    neutral_inputs,
    simulate_reference,
)
from roicast.simulate import _layout as L
from roicast.simulate._kernels import _DRAWS_PER_CHUNK, FASTMATH
from roicast.simulate._rng import STREAM_CHURN, STREAM_PRICE, draw_key, uniform
from roicast.simulate.model import _DEFAULT_FLEET, _simulate_unchecked

_TWO_PI = 2.0 * math.pi
_H = L.HOURS_PER_MONTH


@numba.njit(parallel=True, cache=True, fastmath=FASTMATH, error_model="numpy")
def fused_npv(inputs, demand, seed, price_seed, discount, draw_ids, out):  # pragma: no cover
    """The least work that gives a draw's NPV: the kernel's average cloud model, fused.

    Same random numbers (Box-Muller price shocks, Poisson model updates from the
    counter-based streams) and the same arithmetic as
    :func:`roicast.simulate._kernels.simulate_kernel` with the average fleet, no
    commitment, flat profile; nothing kept but ``out[i]`` = NPV.
    """
    n = inputs.shape[0]
    horizon = demand.shape[1]
    n_paths = demand.shape[0]
    vmonth = 1.0 / (1.0 + discount) ** (1.0 / 12.0)
    n_chunks = (n + _DRAWS_PER_CHUNK - 1) // _DRAWS_PER_CHUNK
    for c in numba.prange(n_chunks):
        down = np.empty(horizon)
        upd = np.empty(horizon)
        for i in range(c * _DRAWS_PER_CHUNK, min(n, (c + 1) * _DRAWS_PER_CHUNK)):
            x = inputs[i]
            draw = draw_ids[i]
            path = min(max(int(x[L.I_DEMAND] * n_paths), 0), n_paths - 1)
            k0 = x[L.I_TAU0] * 3600.0 * x[L.I_U0]
            k1 = x[L.I_TAU0] * x[L.I_GAIN] * 3600.0 * x[L.I_U1]
            floor0 = x[L.I_M0] * _H
            floor1 = x[L.I_M1] * _H
            rho = x[L.I_RHO]
            drift = math.log1p(x[L.I_R]) / 12.0
            vol = x[L.I_SIGMA] / math.sqrt(12.0)
            go_live = x[L.I_T]
            ramp = max(x[L.I_R_RAMP], 1.0)
            eng = x[L.I_E] * x[L.I_CE]
            build = eng + x[L.I_V]
            build_span = max(go_live, 1.0)
            licence = x[L.I_L] / 12.0
            maint = x[L.I_PHI] * eng / 12.0
            lam = x[L.I_LAMBDA]
            delta = x[L.I_DELTA]
            benefit = x[L.I_B]
            for t in range(horizon):
                down[t] = 0.0
                upd[t] = 0.0
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
                    upd[int(math.ceil(tau)) - 1 if tau > 0.0 else 0] += x[L.I_CU]  # noqa: RUF046
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
            log_p = math.log(x[L.I_P0])
            dfac = 1.0
            npv = 0.0
            z2 = 0.0
            for t in range(1, horizon + 1):
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
                c0 = max(d / k0, floor0) * price
                c1 = max(d / k1, floor1) * rho * price
                a = min(1.0, max(0.0, (t - go_live) / ramp)) * (1.0 - down[t - 1])
                w_build = max(0.0, min(float(t), build_span) - (t - 1)) / build_span
                live = min(1.0, max(0.0, t - go_live))
                inv_t = build * w_build + licence + maint * live + upd[t - 1]
                dfac *= vmonth
                npv += (a * (c0 - c1) + a * benefit - inv_t) * dfac
            out[i] = npv


def make_inputs(n: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    cols = {
        "demand": rng.random(n),
        "baseline.throughput": rng.uniform(2, 20, n),
        "baseline.utilization": rng.uniform(0.2, 0.6, n),
        "baseline.price": rng.uniform(2, 12, n),
        "baseline.floor_instances": rng.integers(0, 3, n).astype(float),
        "optimized.throughput_gain": rng.uniform(0.8, 3, n),
        "optimized.utilization": rng.uniform(0.2, 0.6, n),
        "optimized.price_ratio": rng.uniform(0.5, 1.2, n),
        "optimized.floor_instances": rng.integers(0, 3, n).astype(float),
        "pricing.annual_change": rng.uniform(-0.3, 0.1, n),
        "pricing.annual_volatility": rng.uniform(0, 0.4, n),
        "implementation.months": rng.uniform(0, 8, n),
        "implementation.ramp_months": rng.uniform(0, 4, n),
        "implementation.engineer_months": rng.uniform(1, 10, n),
        "implementation.engineer_cost": np.full(n, 20_000.0),
        "implementation.validation_cost": rng.uniform(0, 50_000, n),
        "implementation.licence_per_year": rng.uniform(0, 20_000, n),
        "implementation.maintenance_fraction": rng.uniform(0, 0.3, n),
        "churn.updates_per_year": rng.uniform(0, 6, n),
        "churn.cost_per_update": rng.uniform(0, 10_000, n),
        "churn.downtime_months": rng.uniform(0, 2, n),
        "indirect.benefit_per_month": rng.normal(0, 2000, n),
    }
    first = [k for k in INPUT_NAMES if k not in NEUTRAL_INPUTS]
    return neutral_inputs(np.column_stack([cols[k] for k in first]))


def with_fleet(x: np.ndarray, *, commitments: bool, seed: int = 2) -> np.ndarray:
    """The inputs with an uncertain lag, gain at peak and (optionally) commitments."""
    rng = np.random.default_rng(seed)
    n = x.shape[0]
    col = {name: j for j, name in enumerate(INPUT_NAMES)}
    x = x.copy()
    x[:, col["fleet.scale_lag_hours"]] = rng.uniform(0, 6, n)
    x[:, col["optimized.throughput_gain_at_peak"]] = x[:, col["optimized.throughput_gain"]] * 1.3
    if commitments:
        x[:, col["pricing.committed_instances"]] = rng.integers(0, 4, n)
        x[:, col["pricing.commitment_months"]] = rng.uniform(0, 36, n)
        x[:, col["pricing.stranded_recovery"]] = rng.uniform(0, 0.5, n)
    return np.ascontiguousarray(x)


def with_onprem(x: np.ndarray, seed: int = 4) -> np.ndarray:
    """The inputs with uncertain on-prem hardware, lots, lead times and energy."""
    rng = np.random.default_rng(seed)
    n = x.shape[0]
    col = {name: j for j, name in enumerate(INPUT_NAMES)}
    x = x.copy()
    for name, v in {
        "onprem.owned_instances": rng.integers(0, 12, n),
        "onprem.purchase_price": rng.uniform(1.5e5, 3.5e5, n),
        "onprem.useful_life_years": rng.uniform(3, 5, n),
        "onprem.salvage_fraction": rng.uniform(0, 0.2, n),
        "onprem.lot_size": rng.integers(1, 9, n),
        "onprem.lead_time_months": rng.uniform(1, 6, n),
        "onprem.burst_price": rng.uniform(3, 6, n),
        "onprem.power_kw_busy": rng.uniform(5, 8, n),
        "onprem.power_kw_idle": rng.uniform(1.5, 2.5, n),
        "onprem.pue": rng.uniform(1.1, 1.5, n),
        "onprem.energy_price": rng.uniform(0.08, 0.2, n),
        "onprem.energy_annual_change": rng.uniform(0, 0.05, n),
    }.items():
        x[:, col[name]] = v
    return np.ascontiguousarray(x)


def week_profiles(n_profiles: int = 4, seed: int = 3) -> np.ndarray:
    """Hour-of-week load profiles: a daily cycle, quieter weekends, noise."""
    rng = np.random.default_rng(seed)
    hour = np.arange(168)
    day = 1 + 0.6 * np.sin(2 * np.pi * (hour % 24 - 8) / 24)
    weekend = np.where(hour >= 120, 0.7, 1.0)
    return day * weekend * rng.lognormal(0, 0.1, (n_profiles, 168))


def cpu_best(f, repeat: int) -> float:
    """Least CPU seconds (all threads of the process) of ``repeat`` calls of ``f``."""
    best = math.inf
    for _ in range(repeat):
        t0 = time.process_time()
        f()
        best = min(best, time.process_time() - t0)
    return best


def load_kernels_at(rev: str) -> ModuleType:
    """``simulate/_kernels.py`` of git revision ``rev``, imported beside the current one.

    Written to a temporary folder named by the commit, so numba's on-disk cache
    of that version is reused by later runs.
    """
    root = Path(__file__).resolve().parent.parent
    sha = subprocess.run(
        ["git", "rev-parse", "--short", rev], cwd=root, check=True, capture_output=True, text=True
    ).stdout.strip()
    src = subprocess.run(
        ["git", "show", f"{sha}:simulate/_kernels.py"],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    folder = Path(tempfile.gettempdir()) / f"roicast-bench-kernels-{sha}"
    folder.mkdir(exist_ok=True)
    path = folder / "_kernels_before.py"
    if not path.exists() or path.read_text() != src:
        path.write_text(src)
    spec = importlib.util.spec_from_file_location(f"roicast_kernels_{sha}", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod
    spec.loader.exec_module(mod)
    return mod


def run_module(mod, x, demand, *, monthly, irr, fleet=None):
    """``mod.simulate_kernel`` called as ``simulate.model`` called it before this change."""
    n, h = x.shape[0], demand.shape[1]
    fl = _DEFAULT_FLEET if fleet is None else fleet
    metrics = np.empty((n, L.N_METRICS))
    series = np.empty((L.N_SERIES, n, h) if monthly else (L.N_SERIES, 0, 0))
    mod.simulate_kernel(
        x,
        demand,
        np.uint64(1),
        np.uint64(1),
        0.1,
        np.arange(n, dtype=np.int64),
        irr,
        fl.policy,
        fl.profiles,
        fl.api,
        fl.onprem if any(fl.onprem) else None,
        metrics,
        series,
    )
    return metrics, series


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=100_000)
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--before", metavar="REV", help="also time simulate/_kernels.py of this commit")
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="numba threads (default 1: CPU seconds then count work, not threads waiting)",
    )
    args = ap.parse_args()
    numba.set_num_threads(min(args.threads, numba.config.NUMBA_NUM_THREADS))
    n, h, rep = args.draws, args.months, args.repeat
    rng = np.random.default_rng(1)
    demand = (
        np.sort(rng.uniform(1e7, 1e8, (1000, 1)), axis=0) * np.exp(np.linspace(0, 0.4, h))[None, :]
    )
    demand = np.ascontiguousarray(demand)
    x = make_inputs(n)
    dm = n * h
    ids = np.arange(n, dtype=np.int64)
    before = load_kernels_at(args.before) if args.before else None

    def now(xx, *, monthly, irr, fleet=None):
        return _simulate_unchecked(
            xx, demand, seed=1, discount_rate=0.1, monthly=monthly, irr=irr, fleet=fleet
        )

    def old(xx, *, monthly, irr, fleet=None):
        return run_module(before, xx, demand, monthly=monthly, irr=irr, fleet=fleet)

    npv = np.empty(n)

    def fused():
        fused_npv(x, demand, np.uint64(1), np.uint64(1), 0.1, ids, npv)

    t0 = time.process_time()
    fused()
    m_now, _ = now(x[:10], monthly=True, irr=True)
    if before is not None:
        old(x[:10], monthly=True, irr=True)
    print(
        f"simulator benchmark: {n:,} draws × {h} months = {dm / 1e6:.1f} M draw-months; "
        f"{numba.get_num_threads()} threads; CPU seconds (all threads), best of {rep}"
    )
    print(f"compile / cache load: {time.process_time() - t0:.2f} s CPU (excluded below)")
    m_now, _ = now(x, monthly=False, irr=False)
    gap = np.max(np.abs(npv - m_now[:, L.M_NPV]) / np.maximum(1.0, np.abs(m_now[:, L.M_NPV])))
    print(f"fused loop's NPV vs the kernel's: max relative difference {gap:.1e}")

    def ns(s: float) -> str:
        return f"{s / dm * 1e9:6.1f} ns/draw-month"

    def line(label, f_now, f_old, f_ref=None, ref_label=""):
        """Time ``f_now`` (and ``f_old``, ``f_ref``) interleaved, repeat by repeat, so that a
        change of the machine's load between them does not tilt their ratios."""
        fs = [f_now] + ([f_ref] if f_ref is not None else []) + ([f_old] if before else [])
        best = [math.inf] * len(fs)
        for _ in range(rep):
            for k, f in enumerate(fs):
                best[k] = min(best[k], cpu_best(f, 1))
        s = best[0]
        out = f"  {label}: {ns(s)}"
        if f_ref is not None:
            ref = best[1]
            out += f"  {s / ref:5.2f}x {ref_label}"
        if before is not None:
            s_old = best[-1]
            out += f"  | before {ns(s_old)}"
            if f_ref is not None:
                out += f" {s_old / ref:5.2f}x"
            out += f"  (before/now {s_old / s:4.2f})"
        print(out)
        return s

    s_fused = cpu_best(fused, rep)
    print(f"1. kernel vs the fused minimal loop ({ns(s_fused)}; target <= 2x):")
    res = {}
    for label, monthly, irr in (
        ("metrics only         ", False, False),
        ("metrics + IRR        ", False, True),
        ("every output (series)", True, True),
    ):
        res[(monthly, irr)] = line(
            label,
            lambda m=monthly, i=irr: now(x, monthly=m, irr=i),
            lambda m=monthly, i=irr: old(x, monthly=m, irr=i),
            fused,
            "the fused loop",
        )

    prof = week_profiles()
    auto = FleetConfig(provisioning="autoscale", profiles=prof)
    now(x[:10], monthly=False, irr=True, fleet=auto)  # compile / load
    print(
        "2. fleet model, metrics + IRR, vs the average (cloud) mode of the same inputs (target <= 3x):"
    )
    for commitments in (False, True):
        xf = with_fleet(x, commitments=commitments)
        label = "with commitments" if commitments else "no commitments  "
        line(
            f"  {label}, autoscale, 168 slots",
            lambda xf=xf: now(xf, monthly=False, irr=True, fleet=auto),
            lambda xf=xf: old(xf, monthly=False, irr=True, fleet=auto),
            lambda xf=xf: now(xf, monthly=False, irr=True),
            "the average",
        )
    print("3. on-prem model (both fleets owned), metrics + IRR, vs the average (cloud) mode:")
    xo = with_onprem(with_fleet(x, commitments=False))

    def avg():
        return now(xo, monthly=False, irr=True)

    line(
        "  autoscale (cloud), 168 slots",
        lambda: now(xo, monthly=False, irr=True, fleet=auto),
        lambda: old(xo, monthly=False, irr=True, fleet=auto),
        avg,
        "the average",
    )
    for label, fl in (
        (
            "on-prem average, flat        ",
            FleetConfig(baseline_platform="onprem", optimized_platform="onprem"),
        ),
        (
            "on-prem autoscale, 168 slots ",
            FleetConfig("autoscale", prof, baseline_platform="onprem", optimized_platform="onprem"),
        ),
    ):
        now(xo[:10], monthly=False, irr=True, fleet=fl)  # compile / load
        if before is not None:
            old(xo[:10], monthly=False, irr=True, fleet=fl)
        line(
            label,
            lambda fl=fl: now(xo, monthly=False, irr=True, fleet=fl),
            lambda fl=fl: old(xo, monthly=False, irr=True, fleet=fl),
            avg,
            "the average",
        )
    s_np = cpu_best(
        lambda: simulate_reference(x, demand, seed=1, discount_rate=0.1), max(1, rep // 2)
    )
    full = res[(True, True)]
    print(
        f"4. NumPy reference (same model and outputs, vectorized over draws): {ns(s_np)}; "
        f"kernel, every output, {s_np / full:.1f}x faster (target >= 10x)"
    )
    print(
        f"   kernel throughput per CPU second: every output {dm / full / 1e6:.1f} M draw-months, "
        f"metrics only {dm / res[(False, False)] / 1e6:.1f} M "
        "(target >= 30 M/s on 2 cores: >= 15 M per CPU second)"
    )


if __name__ == "__main__":
    main()
