"""The fixed inputs the closed-form fleet and on-prem tests start from."""

from roicast.simulate import INPUT_NAMES, NEUTRAL_INPUTS

#: A rented fleet: 1 unit/s per instance at full utilization, price 10, gain 2, no costs but
#: validation 1, on-prem inputs at their neutral values.
RENTED = {
    "demand": 0.5,
    "baseline.throughput": 1.0,
    "baseline.utilization": 1.0,
    "baseline.price": 10.0,
    "baseline.floor_instances": 0.0,
    "optimized.throughput_gain": 2.0,
    "optimized.utilization": 1.0,
    "optimized.price_ratio": 1.0,
    "optimized.floor_instances": 0.0,
    "pricing.annual_change": 0.0,
    "pricing.annual_volatility": 0.0,
    "implementation.months": 0.0,
    "implementation.ramp_months": 0.0,
    "implementation.engineer_months": 0.0,
    "implementation.engineer_cost": 0.0,
    "implementation.validation_cost": 1.0,
    "implementation.licence_per_year": 0.0,
    "implementation.maintenance_fraction": 0.0,
    "churn.updates_per_year": 0.0,
    "churn.cost_per_update": 0.0,
    "churn.downtime_months": 0.0,
    "indirect.benefit_per_month": 0.0,
    "fleet.scale_lag_hours": 0.0,
    "pricing.committed_instances": 0.0,
    "pricing.committed_price_ratio": 0.6,
    "pricing.commitment_months": 0.0,
    "pricing.stranded_recovery": 0.0,
    "optimized.throughput_gain_at_peak": 2.0,
    "optimized.api_price_per_million": 0.0,
}
# the on-prem inputs (issue 16) at their neutral values: these fleets are rented
RENTED |= {k: v for k, v in NEUTRAL_INPUTS.items() if k.startswith("onprem.")}
assert set(RENTED) == set(INPUT_NAMES)


def assert_metrics_unchanged(new, old, *, irr_col: int, err_msg: str = "", rtol: float = 0.0):
    """Metrics ``new`` equal the pinned ``old`` (to ``rtol``; 0: bit for bit), the IRR to its tolerance.

    The IRR is a root search that stops when a Newton step moves the monthly
    factor ``v`` by less than ``1e-12 v`` (issue 13: the convergence test now
    comes before the bisection safeguard, so a draw whose last step landed on
    the bracket end no longer bisects the whole bracket).  Either answer is within
    ``~2e-12 v`` of the root, and ``IRR = v^-12 - 1`` moves by
    ``12 (1 + IRR) Δv / v``: at most ``2.4e-11 (1 + IRR)``; checked at ``1e-10 (1 + |IRR|)``.
    """
    import numpy as np

    keep = [j for j in range(old.shape[1]) if j != irr_col]
    np.testing.assert_allclose(
        new[:, keep], old[:, keep], rtol=rtol, atol=0, equal_nan=True, err_msg=err_msg
    )
    a, b = new[:, irr_col], old[:, irr_col]
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=f"{err_msg} irr NaN")
    ok = ~np.isnan(b)
    gap = np.abs(a[ok] - b[ok]) / (1.0 + np.abs(b[ok]))
    assert gap.max(initial=0.0) <= 1e-10, f"{err_msg} irr moved by {gap.max():.1e} (1 + |IRR|)"
