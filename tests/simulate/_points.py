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
