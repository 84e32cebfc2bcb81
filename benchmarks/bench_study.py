"""A full study: forecast fit, 100 000 draws × 36 months, tornado, Sobol, the rest of the sensitivity.

    python benchmarks/bench_study.py [--draws 100000]

Runs the built-in demo spec (18 months of daily history, 11 uncertain inputs
plus the price/model-update noise for Sobol) end to end, without writing the
report, and prints the time of each stage.  numba compile / cache-load time is
measured by a first small run and excluded.  For scale, the same run's main
simulation is compared with the plain NumPy implementation of the model on the
same inputs.  Target (DESIGN.md): under 10 s on 2 cores.
"""

from __future__ import annotations

import argparse
import time

import numba
import numpy as np

from roicast.cli import demo_spec_path
from roicast.evaluate import NOISE, ModelEvaluator
from roicast.sampling import DEMAND_RANK, base_point
from roicast.sensitivity import sobol_indices
from roicast.simulate import simulate_reference
from roicast.spec import load_spec
from roicast.study import run_study


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=100_000)
    args = ap.parse_args()
    spec = load_spec(demo_spec_path("quantization"))

    t0 = time.perf_counter()
    run_study(spec, draws=200)
    warm = time.perf_counter() - t0
    print(
        f"first small run (numba compile or cache load, imports, one forecast): {warm:.2f} s — excluded"
    )

    t0 = time.perf_counter()
    res = run_study(spec, draws=args.draws)
    total = time.perf_counter() - t0
    opt = res.options["optimized"]
    print(
        f"full study, {args.draws:,} draws × {res.horizon} months, {numba.get_num_threads()} threads: {total:.2f} s"
    )
    for stage, s in res.timings.items():
        print(f"  {stage:<12} {s:6.2f} s")
    print(
        f"  sensitivity evaluated {opt.rows_evaluated:,} extra model rows "
        f"(tornado, three-point, break-even: {spec.simulation.tornado_draws} draws per setting; "
        f"Sobol N = {spec.simulation.sobol_n}, {opt.sobol.n_evals:,} evaluations)"
    )
    # Sobol at the size: 12 inputs (11 uncertain + the price/model-update noise), N = 4096
    dists = res.sample.distributions["optimized"]
    free = {k: dists[k] for k in res.sample.free_inputs("optimized")}
    ev = ModelEvaluator(
        res.demand_sorted,
        base_point(dists),
        res.sample.ties["optimized"],
        n_noise=spec.simulation.tornado_draws,
        seed=res.seed,
        price_seed=res.seed,
        discount=spec.project.discount_rate,
        horizon=res.horizon,
    )
    t0 = time.perf_counter()
    sob = sobol_indices(ev.per_row, {**free, NOISE: DEMAND_RANK}, 4096, seed=1)
    print(
        f"Sobol of NPV on the study's model, {len(sob.names)} inputs, N = 4096 "
        f"({sob.n_evals:,} evaluations × {res.horizon} months, 200 bootstrap resamples): "
        f"{time.perf_counter() - t0:.2f} s (target < 3 s)"
    )
    x = np.ascontiguousarray(res.sample.values.isel(option=0).values)
    t0 = time.perf_counter()
    simulate_reference(
        x, res.demand_sorted, seed=res.seed, discount_rate=spec.project.discount_rate
    )
    ref = time.perf_counter() - t0
    print(
        f"plain NumPy simulation of the main run alone: {ref:.2f} s; whole study / that = {total / ref:.2f}"
    )
    print(f"target: full study < 10 s on 2 cores -> {'met' if total < 10 else 'NOT met'}")


if __name__ == "__main__":
    main()
