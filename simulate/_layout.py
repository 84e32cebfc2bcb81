"""The one definition of the model's array layout: input columns, metrics, series.

The tuples of names fix the order; the integer constants the kernels use
(``I_*``, ``M_*``, ``S_*``) are derived from them, so the order is written once.
numba reads these module-level ints as compile-time constants.

numba's on-disk cache is keyed by the timestamp of the file that defines a
kernel, not of this one: after reordering or inserting names here, touch
``_kernels.py`` (or clear ``__pycache__``) so the cached kernels recompile.
New names go at the end so existing indices never move.
"""

from __future__ import annotations

__all__ = [
    "HOURS_PER_MONTH",
    "INPUT_NAMES",
    "METRIC_NAMES",
    "NEUTRAL_INPUTS",
    "N_INPUTS",
    "N_METRICS",
    "N_SERIES",
    "PLATFORMS",
    "PROFILE_SLOTS",
    "PROVISIONING",
    "SERIES_NAMES",
]

#: Hours in a month, ``h`` (365 × 24 / 12).
HOURS_PER_MONTH = 730.0

#: Inputs of the model, in the column order of the kernels, named as in the spec.
INPUT_NAMES: tuple[str, ...] = (
    "demand",
    "baseline.throughput",
    "baseline.utilization",
    "baseline.price",
    "baseline.floor_instances",
    "optimized.throughput_gain",
    "optimized.utilization",
    "optimized.price_ratio",
    "optimized.floor_instances",
    "pricing.annual_change",
    "pricing.annual_volatility",
    "implementation.months",
    "implementation.ramp_months",
    "implementation.engineer_months",
    "implementation.engineer_cost",
    "implementation.validation_cost",
    "implementation.licence_per_year",
    "implementation.maintenance_fraction",
    "churn.updates_per_year",
    "churn.cost_per_update",
    "churn.downtime_months",
    "indirect.benefit_per_month",
    # fleet model (issue 12); neutral values in roicast.simulate.model.NEUTRAL_INPUTS
    "fleet.scale_lag_hours",
    "pricing.committed_instances",
    "pricing.committed_price_ratio",
    "pricing.commitment_months",
    "pricing.stranded_recovery",
    "optimized.throughput_gain_at_peak",
    "optimized.api_price_per_million",
    # on-prem model (issue 16); neutral values in roicast.simulate.model.NEUTRAL_INPUTS
    "onprem.owned_instances",
    "onprem.purchase_price",
    "onprem.useful_life_years",
    "onprem.salvage_fraction",
    "onprem.lot_size",
    "onprem.lead_time_months",
    "onprem.burst_price",
    "onprem.power_kw_busy",
    "onprem.power_kw_idle",
    "onprem.pue",
    "onprem.energy_price",
    "onprem.energy_annual_change",
)

#: Per-draw outputs, in the column order of the kernels.
METRIC_NAMES: tuple[str, ...] = (
    "roi",
    "npv",
    "payback_months",
    "discounted_payback_months",
    "irr",
    "tco_baseline",
    "tco_optimized",
    "cost_per_million_baseline",
    "cost_per_million_optimized",
    "instance_hours_saved",
    "investment",
    "gain",
    "savings",
    "model_updates",
    "demand_total",
    # fleet model (issue 12)
    "peak_instances_baseline",
    "peak_instances_optimized",
    "utilization_baseline",
    "utilization_optimized",
    "stranded_instance_hours_baseline",
    "stranded_instance_hours_optimized",
    # on-prem model (issue 16): the optimized fleet as operated (blended by a_t)
    "purchases_baseline",
    "purchases_optimized",
    "first_purchase_month_baseline",
    "first_purchase_month_optimized",
    "purchase_deferral_months",
    "capex_baseline",
    "capex_optimized",
    "salvage_baseline",
    "salvage_optimized",
    "energy_cost_baseline",
    "energy_cost_optimized",
    "burst_hours_baseline",
    "burst_hours_optimized",
)

#: Monthly outputs, in the row order of the kernels.
SERIES_NAMES: tuple[str, ...] = (
    "cumulative_cash_flow",
    "spend_baseline",
    "spend_optimized",
    "instance_hours_baseline",
    "instance_hours_optimized",
    # fleet model (issue 12)
    "peak_instances_baseline",
    "peak_instances_optimized",
    # on-prem model (issue 16)
    "owned_instances_baseline",
    "owned_instances_optimized",
    "purchased_instances_baseline",
    "purchased_instances_optimized",
)

N_INPUTS = len(INPUT_NAMES)
N_METRICS = len(METRIC_NAMES)
N_SERIES = len(SERIES_NAMES)

_I = INPUT_NAMES.index
_M = METRIC_NAMES.index
_S = SERIES_NAMES.index

# Column of each input in the (draw, input) matrix.
I_DEMAND = _I("demand")
I_TAU0 = _I("baseline.throughput")
I_U0 = _I("baseline.utilization")
I_P0 = _I("baseline.price")
I_M0 = _I("baseline.floor_instances")
I_GAIN = _I("optimized.throughput_gain")
I_U1 = _I("optimized.utilization")
I_RHO = _I("optimized.price_ratio")
I_M1 = _I("optimized.floor_instances")
I_R = _I("pricing.annual_change")
I_SIGMA = _I("pricing.annual_volatility")
I_T = _I("implementation.months")
I_R_RAMP = _I("implementation.ramp_months")
I_E = _I("implementation.engineer_months")
I_CE = _I("implementation.engineer_cost")
I_V = _I("implementation.validation_cost")
I_L = _I("implementation.licence_per_year")
I_PHI = _I("implementation.maintenance_fraction")
I_LAMBDA = _I("churn.updates_per_year")
I_CU = _I("churn.cost_per_update")
I_DELTA = _I("churn.downtime_months")
I_B = _I("indirect.benefit_per_month")
I_LAG = _I("fleet.scale_lag_hours")
I_COMMIT_N = _I("pricing.committed_instances")
I_COMMIT_RATIO = _I("pricing.committed_price_ratio")
I_COMMIT_MONTHS = _I("pricing.commitment_months")
I_RECOVERY = _I("pricing.stranded_recovery")
I_GAIN_PEAK = _I("optimized.throughput_gain_at_peak")
I_API_PRICE = _I("optimized.api_price_per_million")
I_OWNED = _I("onprem.owned_instances")
I_HW_PRICE = _I("onprem.purchase_price")
I_LIFE = _I("onprem.useful_life_years")
I_SALVAGE = _I("onprem.salvage_fraction")
I_LOT = _I("onprem.lot_size")
I_LEAD = _I("onprem.lead_time_months")
I_BURST = _I("onprem.burst_price")
I_KW_BUSY = _I("onprem.power_kw_busy")
I_KW_IDLE = _I("onprem.power_kw_idle")
I_PUE = _I("onprem.pue")
I_ENERGY = _I("onprem.energy_price")
I_ENERGY_R = _I("onprem.energy_annual_change")

# Column of each per-draw metric.
M_ROI = _M("roi")
M_NPV = _M("npv")
M_PAYBACK = _M("payback_months")
M_DPAYBACK = _M("discounted_payback_months")
M_IRR = _M("irr")
M_TCO0 = _M("tco_baseline")
M_TCO1 = _M("tco_optimized")
M_CPM0 = _M("cost_per_million_baseline")
M_CPM1 = _M("cost_per_million_optimized")
M_HOURS_SAVED = _M("instance_hours_saved")
M_INVESTMENT = _M("investment")
M_GAIN = _M("gain")
M_SAVINGS = _M("savings")
M_UPDATES = _M("model_updates")
M_DEMAND = _M("demand_total")
M_PEAK0 = _M("peak_instances_baseline")
M_PEAK1 = _M("peak_instances_optimized")
M_UTIL0 = _M("utilization_baseline")
M_UTIL1 = _M("utilization_optimized")
M_STRANDED0 = _M("stranded_instance_hours_baseline")
M_STRANDED1 = _M("stranded_instance_hours_optimized")
M_LOTS0 = _M("purchases_baseline")
M_LOTS1 = _M("purchases_optimized")
M_FIRST0 = _M("first_purchase_month_baseline")
M_FIRST1 = _M("first_purchase_month_optimized")
M_DEFER = _M("purchase_deferral_months")
M_CAPEX0 = _M("capex_baseline")
M_CAPEX1 = _M("capex_optimized")
M_SALVAGE0 = _M("salvage_baseline")
M_SALVAGE1 = _M("salvage_optimized")
M_ENERGY0 = _M("energy_cost_baseline")
M_ENERGY1 = _M("energy_cost_optimized")
M_BURST0 = _M("burst_hours_baseline")
M_BURST1 = _M("burst_hours_optimized")

# Row of each monthly series.
S_CUM = _S("cumulative_cash_flow")
S_COST0 = _S("spend_baseline")
S_COST1 = _S("spend_optimized")
S_HOURS0 = _S("instance_hours_baseline")
S_HOURS1 = _S("instance_hours_optimized")
S_PEAK0 = _S("peak_instances_baseline")
S_PEAK1 = _S("peak_instances_optimized")
S_OWNED0 = _S("owned_instances_baseline")
S_OWNED1 = _S("owned_instances_optimized")
S_BOUGHT0 = _S("purchased_instances_baseline")
S_BOUGHT1 = _S("purchased_instances_optimized")

# Provisioning policies of the fleet (the kernels' integer codes).
PROVISIONING: tuple[str, ...] = ("average", "peak", "autoscale")
POLICY_AVERAGE = PROVISIONING.index("average")
POLICY_PEAK = PROVISIONING.index("peak")
POLICY_AUTOSCALE = PROVISIONING.index("autoscale")

#: Platforms a fleet may run on: rented by the hour, or owned (the on-prem model).
PLATFORMS: tuple[str, ...] = ("cloud", "onprem")

#: Slots a load profile may have: flat, hour of day, hour of week.
PROFILE_SLOTS: tuple[int, ...] = (1, 24, 168)


#: Inputs added after the first release, with the value that leaves the model as it was.
#: A string value names the input whose value is copied (a tie):
#: ``throughput_gain_at_peak`` equal to ``throughput_gain`` means "not given".
NEUTRAL_INPUTS: dict[str, float | str] = {
    "fleet.scale_lag_hours": 0.0,
    "pricing.committed_instances": 0.0,
    "pricing.committed_price_ratio": 0.6,
    "pricing.commitment_months": 0.0,
    "pricing.stranded_recovery": 0.0,
    "optimized.throughput_gain_at_peak": "optimized.throughput_gain",
    "optimized.api_price_per_million": 0.0,
    # on-prem (issue 16): only read for a fleet on platform "onprem"
    "onprem.owned_instances": 0.0,
    "onprem.purchase_price": 0.0,
    "onprem.useful_life_years": 4.0,
    "onprem.salvage_fraction": 0.0,
    "onprem.lot_size": 1.0,
    "onprem.lead_time_months": 0.0,
    "onprem.burst_price": 0.0,
    "onprem.power_kw_busy": 0.0,
    "onprem.power_kw_idle": 0.0,
    "onprem.pue": 1.0,
    "onprem.energy_price": 0.0,
    "onprem.energy_annual_change": 0.0,
}
assert tuple(NEUTRAL_INPUTS) == INPUT_NAMES[len(INPUT_NAMES) - len(NEUTRAL_INPUTS) :]
