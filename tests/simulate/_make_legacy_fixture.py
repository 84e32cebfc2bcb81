"""Capture the simulator's outputs before the fleet model (issue 12) for regression tests.

    python tests/simulate/_make_legacy_fixture.py

Run once on the code before the change (commit 6c64915); the file it writes,
``data/legacy_outputs.npz``, pins every metric and monthly series of 300 varied
draws so later changes must reproduce them with the default fleet settings.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from roicast.simulate import INPUT_NAMES, simulate_arrays

N_LEGACY = 22  # inputs before the fleet model


def legacy_inputs(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    cols = {
        "demand": rng.random(n),
        "baseline.throughput": rng.uniform(2, 20, n),
        "baseline.utilization": rng.uniform(0.2, 0.6, n),
        "baseline.price": rng.uniform(2, 12, n),
        "baseline.floor_instances": rng.integers(0, 4, n) * rng.uniform(0.5, 1.5, n),
        "optimized.throughput_gain": rng.uniform(0.8, 3, n),
        "optimized.utilization": rng.uniform(0.2, 0.6, n),
        "optimized.price_ratio": rng.uniform(0.5, 1.2, n),
        "optimized.floor_instances": rng.integers(0, 4, n).astype(float),
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
    return np.ascontiguousarray(np.column_stack([cols[k] for k in INPUT_NAMES[:N_LEGACY]]))


def legacy_demand(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    d = (
        rng.uniform(1e6, 1e8, (40, 1))
        * np.exp(np.linspace(0, 0.5, 30))[None, :]
        * rng.lognormal(0, 0.1, (40, 30))
    )
    return np.ascontiguousarray(d[np.argsort(d.sum(axis=1))])


def main() -> None:
    x = legacy_inputs(300, 2024)
    demand = legacy_demand(7)
    m, s = simulate_arrays(x, demand, seed=123, discount_rate=0.09)
    mp, sp = simulate_arrays(x, demand, seed=123, discount_rate=0.09, price_seed=77, draw_offset=5)
    out = Path(__file__).with_name("data") / "legacy_outputs.npz"
    np.savez_compressed(
        out, inputs=x, demand=demand, metrics=m, series=s, metrics_ps=mp, series_ps=sp
    )
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
