"""Capture the fleet model's outputs before the on-prem model (issue 16) for regression tests.

    python tests/simulate/_make_fleet_fixture.py

Run once on the code before the change (commit c14a3d9); the file it writes,
``data/fleet_outputs.npz``, pins every metric and monthly series of varied
draws under each provisioning policy, load profiles, commitments, gain at peak
and the API option, so the on-prem model must leave every cloud result as it
was with the on-prem inputs at their neutral values.  Inputs are stored with
the 29 columns of the fleet model (``N_FLEET`` below).

numba's cached kernel can differ from a fresh compile of the same code by an
ulp in a few sums (fastmath reassociation when the cached library is linked),
so the outputs are stored for both: run this once with the kernel freshly
compiled (``rm simulate/__pycache__/_kernels.*.nb?``) and once more with it
loaded from the cache; each run fills its own keys (``fresh_*``, ``cached_*``)
and keeps the other's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from roicast.simulate import INPUT_NAMES, FleetConfig, simulate_arrays
from roicast.simulate import _kernels as K

N_FLEET = 29  # inputs of the fleet model, before the on-prem model

#: (name, provisioning, slots, number of profiles, api)
CASES: tuple[tuple[str, str, int, int, bool], ...] = (
    ("average_flat", "average", 1, 1, False),
    ("average_day", "average", 24, 2, False),
    ("peak_day", "peak", 24, 1, False),
    ("autoscale_week", "autoscale", 168, 3, False),
    ("autoscale_api", "autoscale", 24, 2, True),
)


def fleet_inputs(n: int, seed: int) -> np.ndarray:
    """Varied draws of the 29 fleet-model inputs (commitments, lag, gain at peak)."""
    rng = np.random.default_rng(seed)
    gain = rng.uniform(0.8, 3, n)
    cols = {
        "demand": rng.random(n),
        "baseline.throughput": rng.uniform(2, 20, n),
        "baseline.utilization": rng.uniform(0.2, 0.6, n),
        "baseline.price": rng.uniform(2, 12, n),
        "baseline.floor_instances": rng.integers(0, 3, n).astype(float),
        "optimized.throughput_gain": gain,
        "optimized.utilization": rng.uniform(0.2, 0.6, n),
        "optimized.price_ratio": np.where(rng.random(n) < 0.5, 1.0, rng.uniform(0.5, 1.2, n)),
        "optimized.floor_instances": rng.integers(0, 3, n).astype(float),
        "pricing.annual_change": rng.uniform(-0.3, 0.1, n),
        "pricing.annual_volatility": rng.uniform(0, 0.4, n),
        "implementation.months": rng.uniform(0, 6, n),
        "implementation.ramp_months": rng.uniform(0, 3, n),
        "implementation.engineer_months": rng.uniform(1, 10, n),
        "implementation.engineer_cost": np.full(n, 20_000.0),
        "implementation.validation_cost": rng.uniform(0, 50_000, n),
        "implementation.licence_per_year": rng.uniform(0, 20_000, n),
        "implementation.maintenance_fraction": rng.uniform(0, 0.3, n),
        "churn.updates_per_year": rng.uniform(0, 4, n),
        "churn.cost_per_update": rng.uniform(0, 10_000, n),
        "churn.downtime_months": rng.uniform(0, 1, n),
        "indirect.benefit_per_month": rng.normal(0, 2000, n),
        "fleet.scale_lag_hours": rng.uniform(0, 30, n),
        "pricing.committed_instances": rng.integers(0, 6, n).astype(float),
        "pricing.committed_price_ratio": rng.uniform(0.4, 0.8, n),
        "pricing.commitment_months": rng.uniform(0, 30, n),
        "pricing.stranded_recovery": rng.uniform(0, 1, n),
        "optimized.throughput_gain_at_peak": np.where(
            rng.random(n) < 0.3, gain, gain * rng.uniform(0.7, 1.6, n)
        ),
        "optimized.api_price_per_million": rng.uniform(0.1, 3, n),
    }
    return np.ascontiguousarray(np.column_stack([cols[k] for k in INPUT_NAMES[:N_FLEET]]))


def fleet_demand(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    d = (
        rng.uniform(1e6, 1e8, (20, 1))
        * np.exp(np.linspace(0, 0.5, 18))[None, :]
        * rng.lognormal(0, 0.1, (20, 18))
    )
    return np.ascontiguousarray(d[np.argsort(d.sum(axis=1))])


def case_fleet(provisioning: str, slots: int, n_profiles: int, api: bool) -> FleetConfig:
    prof = np.random.default_rng(slots + n_profiles).uniform(0.1, 2, (n_profiles, slots))
    return FleetConfig(provisioning, prof, api=api)


def kernel_mode() -> str:
    """``"cached"`` if this process loaded the simulation kernel from numba's cache, else ``"fresh"``."""
    return "cached" if sum(K.simulate_kernel.stats.cache_hits.values()) else "fresh"


def main() -> None:
    x = fleet_inputs(80, 2025)
    demand = fleet_demand(11)
    path = Path(__file__).with_name("data") / "fleet_outputs.npz"
    out: dict[str, np.ndarray] = {}
    if path.exists():
        with np.load(path) as f:
            out = {k: f[k] for k in f.files}
    out |= {"inputs": x, "demand": demand}
    results = {}
    for name, pol, slots, n_prof, api in CASES:
        m, s = simulate_arrays(
            x,
            demand,
            seed=321,
            discount_rate=0.08,
            price_seed=17,
            draw_offset=3,
            fleet=case_fleet(pol, slots, n_prof, api),
        )
        results[f"metrics_{name}"] = m
        results[f"series_{name}"] = s
    mode = kernel_mode()
    out |= {f"{mode}_{k}": v for k, v in results.items()}
    for k in [k for k in out if k.startswith(("metrics_", "series_"))]:
        out.pop(k)  # the first capture's unprefixed keys (a fresh compile)
    np.savez_compressed(path, **out)
    print(f"wrote the {mode} kernel's outputs to {path}")


if __name__ == "__main__":
    main()
