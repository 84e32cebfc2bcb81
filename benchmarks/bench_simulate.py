"""Simulator speed: the numba kernel against the plain NumPy implementation of the same model.

    python benchmarks/bench_simulate.py [--draws 100000] [--months 36]

Both run in this process on the same inputs (100 000 draws × 36 months by
default, every input uncertain, churn on); prints draw-months per second for
each and their ratio.  The kernel is compiled (or loaded from cache) first and
its compile/load time reported separately.  Targets (DESIGN.md): ≥ 10× the
NumPy version and ≥ 30 M draw-months/s on 2 cores.

The fleet model (issue 12): the average fleet against autoscaling with four
168-slot (hour of week) profiles, a lag of 0-6 hours, load-dependent gain and,
in a second run, commitments; target autoscale ≤ 3× the average time per
draw-month (ratio measured in this run, all threads, no monthly series).

The on-prem model (issue 16): both fleets owned (purchases in lots after a lead
time, burst, energy, depreciation and salvage; three owned fleets per draw:
baseline, option as operated, option as if live all along), on the average
flat fleet and on autoscaling with the 168-slot profiles; printed as ns per
draw-month and the ratio to the average (cloud) mode of the same run.
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np

from roicast.simulate import (
    INPUT_NAMES,
    NEUTRAL_INPUTS,
    FleetConfig,
    neutral_inputs,
    simulate_arrays,
    simulate_reference,
)


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


def best_of(f, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=100_000)
    ap.add_argument("--months", type=int, default=36)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    n, h = args.draws, args.months
    rng = np.random.default_rng(1)
    demand = (
        np.sort(rng.uniform(1e7, 1e8, (1000, 1)), axis=0) * np.exp(np.linspace(0, 0.4, h))[None, :]
    )
    x = make_inputs(n)
    dm = n * h

    t0 = time.perf_counter()
    simulate_arrays(x[:10], demand, seed=1, discount_rate=0.1)
    compile_s = time.perf_counter() - t0

    print(
        f"simulator benchmark: {n:,} draws × {h} months = {dm / 1e6:.1f} M draw-months; "
        f"{numba.config.NUMBA_NUM_THREADS} threads available"
    )
    print(f"kernel compile / cache load: {compile_s:.2f} s (excluded below)")
    results = {}
    threads_all = numba.config.NUMBA_NUM_THREADS
    for threads in sorted({1, threads_all}):
        numba.set_num_threads(threads)
        for monthly, irr in ((True, True), (False, True), (False, False)):
            s = best_of(
                lambda m=monthly, i=irr: simulate_arrays(
                    x, demand, seed=1, discount_rate=0.1, monthly=m, irr=i
                ),
                args.repeat,
            )
            results[(threads, monthly, irr)] = s
            print(
                f"  numba kernel, {threads} thread(s), monthly series {'on ' if monthly else 'off'}, "
                f"IRR {'on ' if irr else 'off'}: {s * 1e3:8.1f} ms  {dm / s / 1e6:6.1f} M draw-months/s"
            )
    numba.set_num_threads(threads_all)
    prof = week_profiles()
    auto = FleetConfig(provisioning="autoscale", profiles=prof)
    simulate_arrays(x[:10], demand, seed=1, discount_rate=0.1, fleet=auto)  # compile / load
    print("fleet model, all threads, no monthly series, IRR on:")
    for commitments in (False, True):
        xf = with_fleet(x, commitments=commitments)
        avg = best_of(
            lambda xf=xf: simulate_arrays(xf, demand, seed=1, discount_rate=0.1, monthly=False),
            args.repeat,
        )
        aut = best_of(
            lambda xf=xf: simulate_arrays(
                xf, demand, seed=1, discount_rate=0.1, monthly=False, fleet=auto
            ),
            args.repeat,
        )
        label = "with commitments" if commitments else "no commitments  "
        print(
            f"  {label}: average {avg / dm * 1e9:6.1f} ns/draw-month, autoscale (168 slots) "
            f"{aut / dm * 1e9:6.1f} ns/draw-month, ratio {aut / avg:.2f}x (target <= 3x)"
        )
    print("on-prem model (both fleets owned), all threads, no monthly series, IRR on:")
    xo = with_onprem(with_fleet(x, commitments=False))
    avg = best_of(
        lambda: simulate_arrays(xo, demand, seed=1, discount_rate=0.1, monthly=False),
        args.repeat,
    )
    for label, fl in (
        (
            "average, flat     ",
            FleetConfig(baseline_platform="onprem", optimized_platform="onprem"),
        ),
        (
            "autoscale, 168 slots",
            FleetConfig("autoscale", prof, baseline_platform="onprem", optimized_platform="onprem"),
        ),
    ):
        simulate_arrays(xo[:10], demand, seed=1, discount_rate=0.1, fleet=fl)  # compile / load
        own = best_of(
            lambda fl=fl: simulate_arrays(
                xo, demand, seed=1, discount_rate=0.1, monthly=False, fleet=fl
            ),
            args.repeat,
        )
        print(
            f"  on-prem {label}: {own / dm * 1e9:6.1f} ns/draw-month, average (cloud) "
            f"{avg / dm * 1e9:6.1f} ns/draw-month, ratio {own / avg:.2f}x"
        )
    s_np = best_of(
        lambda: simulate_reference(x, demand, seed=1, discount_rate=0.1), max(1, args.repeat // 2)
    )
    print(
        f"  NumPy reference (same model and outputs, vectorized over draws): {s_np * 1e3:8.1f} ms  "
        f"{dm / s_np / 1e6:6.1f} M draw-months/s"
    )
    full = results[(threads_all, True, True)]
    print(
        f"ratio kernel ({threads_all} threads, every output) / NumPy: {s_np / full:.1f}x  (target >= 10x)"
    )
    print(
        f"kernel throughput, every output: {dm / full / 1e6:.1f} M draw-months/s; without IRR: "
        f"{dm / results[(threads_all, False, False)] / 1e6:.1f} M (target >= 30 M on 2 cores)"
    )


if __name__ == "__main__":
    main()
