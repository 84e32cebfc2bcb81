"""The fleet model (issue 12) against hand calculations, the NumPy reference and itself.

Units are chosen so the arithmetic is exact: throughput 1 unit/s at utilization
1 makes an instance serve κ = 3600 units an hour, so a month of
``D = x · 730 · 3600`` units needs ``x`` instances on average; the on-demand
price is 10 $/h with no trend or volatility, the committed price 0.6 × 10 = 6.
"""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest

from roicast.errors import RoicastError
from roicast.simulate import (
    INPUT_NAMES,
    METRIC_NAMES,
    SERIES_NAMES,
    FleetConfig,
    simulate_arrays,
    simulate_reference,
)
from roicast.simulate._kernels import slot_instances, window_max
from roicast.simulate._layout import POLICY_AUTOSCALE, POLICY_AVERAGE, POLICY_PEAK
from tests.simulate._points import RENTED

H = 730.0
KAPPA = 3600.0
M = {name: j for j, name in enumerate(METRIC_NAMES)}
S = {name: j for j, name in enumerate(SERIES_NAMES)}
COL = {name: j for j, name in enumerate(INPUT_NAMES)}

POINT = RENTED

# hour of day: busy 1.5 for hours 0-11, quiet 0.5 for hours 12-23 (mean 1)
DAY = np.array([1.5] * 12 + [0.5] * 12)


def inputs(**over: float) -> np.ndarray:
    point = {**POINT, **{k.replace("__", "."): v for k, v in over.items()}}
    return np.array([[point[name] for name in INPUT_NAMES]])


def demand_for(x: float, months: int = 4) -> np.ndarray:
    """Monthly demand needing ``x`` baseline instances on average."""
    return np.full((1, months), x * H * KAPPA)


def run(x, demand, fleet=None, **kw):
    m, s = simulate_arrays(x, demand, seed=1, discount_rate=0.0, fleet=fleet, **kw)
    mr, sr = simulate_reference(x, demand, seed=1, discount_rate=0.0, fleet=fleet)
    np.testing.assert_allclose(m, mr, rtol=1e-9, atol=1e-9, equal_nan=True)
    np.testing.assert_allclose(s, sr, rtol=1e-9, atol=1e-9, equal_nan=True)
    return m[0], s[:, 0, :]


def fleet(provisioning: str, profile=DAY, **kw) -> FleetConfig:
    return FleetConfig(provisioning=provisioning, profiles=profile, **kw)


# ---------------------------------------------------------------- helpers for issue 16


@pytest.mark.parametrize("p", [1, 5, 24])
def test_window_max_is_the_circular_lag_window_maximum(p):
    r = np.random.default_rng(p).random(p)
    out, tmp = np.empty(p), np.empty(p)
    for lag in range(p + 3):
        window_max(r, lag, out, tmp)
        want = [max(r[(j - k) % p] for k in range(min(lag, p - 1) + 1)) for j in range(p)]
        np.testing.assert_array_equal(out, want)


def test_slot_instances_per_policy():
    w = np.array([1.5, 0.5, 1.0])
    out = np.empty(3)
    assert slot_instances(POLICY_AUTOSCALE, 2.2, w, 1.5, 2.0, out) == 4 + 2 + 3
    np.testing.assert_array_equal(out, [4, 2, 3])
    assert slot_instances(POLICY_PEAK, 2.2, w, 1.5, 0.0, out) == 12
    np.testing.assert_array_equal(out, [4, 4, 4])
    assert slot_instances(POLICY_AVERAGE, 2.0, w, 1.5, 5.0, out) == pytest.approx(6.0)
    np.testing.assert_allclose(out, [3.0, 1.0, 2.0])  # fractional, the floor is the month's
    # a load a rounding error above a whole number does not add an instance
    assert slot_instances(POLICY_AUTOSCALE, 3.0 * (1 + 1e-15), np.ones(1), 1.0, 0.0, out) == 3


# ---------------------------------------------------------------- provisioning


def test_flat_profile_each_policy():
    x = inputs()
    d = demand_for(2.5)
    avg, s_avg = run(x, d, fleet("average", np.ones(1)))
    for pol in ("peak", "autoscale"):
        m, s = run(x, d, fleet(pol, np.ones(1)))
        # 2.5 instances of load -> 3 whole instances; optimized (g = 2): 1.25 -> 2
        np.testing.assert_allclose(s[S["instance_hours_baseline"]], 3 * H, rtol=1e-12)
        np.testing.assert_allclose(s[S["instance_hours_optimized"]], 2 * H, rtol=1e-12)
        np.testing.assert_allclose(s[S["spend_baseline"]], 3 * H * 10, rtol=1e-12)
        assert m[M["peak_instances_baseline"]] == 3 and m[M["peak_instances_optimized"]] == 2
        assert m[M["utilization_baseline"]] == pytest.approx(2.5 / 3, rel=1e-12)
        assert m[M["utilization_optimized"]] == pytest.approx(1.25 / 2, rel=1e-12)
    np.testing.assert_allclose(s_avg[S["instance_hours_baseline"]], 2.5 * H, rtol=1e-12)
    assert avg[M["peak_instances_baseline"]] == pytest.approx(2.5, rel=1e-12)
    assert avg[M["utilization_baseline"]] == pytest.approx(1.0, rel=1e-12)


def test_peaked_profile_autoscale_peak_and_average():
    x = inputs()
    d = demand_for(2.2)  # busy slots 3.3 -> 4 instances, quiet 1.1 -> 2
    _, s = run(x, d, fleet("autoscale"))
    assert s[S["instance_hours_baseline"], 0] == pytest.approx(
        H / 24 * (12 * 4 + 12 * 2), rel=1e-12
    )
    # optimized: 1.65 -> 2, 0.55 -> 1
    assert s[S["instance_hours_optimized"], 0] == pytest.approx(
        H / 24 * (12 * 2 + 12 * 1), rel=1e-12
    )
    m, s = run(x, d, fleet("peak"))
    assert s[S["instance_hours_baseline"], 0] == pytest.approx(4 * H, rel=1e-12)
    assert m[M["utilization_baseline"]] == pytest.approx(2.2 / 4, rel=1e-12)
    m, s = run(x, d, fleet("average"))
    assert s[S["instance_hours_baseline"], 0] == pytest.approx(2.2 * H, rel=1e-12)
    assert m[M["peak_instances_baseline"]] == pytest.approx(3.3, rel=1e-12)


def test_hour_of_week_profile():
    week = np.tile(DAY, 7) * np.repeat([1, 1, 1, 1, 1, 0.6, 0.6], 24)
    x = inputs()
    d = demand_for(2.0)
    _, s = run(x, d, fleet("autoscale", week))
    sw = week / week.mean()
    want = H / 168 * np.ceil(2.0 * sw - 1e-9).sum()
    assert s[S["instance_hours_baseline"], 0] == pytest.approx(want, rel=1e-12)


@pytest.mark.parametrize(("lag", "busy_slots"), [(0, 12), (3, 15), (2.2, 15), (30, 24)])
def test_scale_lag(lag, busy_slots):
    # instances in slot j cover the highest load of slots j-lag .. j: after the busy
    # hours 0-11 the fleet stays at 4 for ceil(lag) more hours; a lag beyond 23 is the peak
    _, s = run(inputs(fleet__scale_lag_hours=lag), demand_for(2.2), fleet("autoscale"))
    want = H / 24 * (busy_slots * 4 + (24 - busy_slots) * 2)
    assert s[S["instance_hours_baseline"], 0] == pytest.approx(want, rel=1e-12)


def test_floors_per_slot_and_per_month():
    x = inputs(baseline__floor_instances=3.0)
    d = demand_for(2.2)
    _, s = run(x, d, fleet("autoscale"))  # max(4, 3) busy, max(2, 3) quiet
    assert s[S["instance_hours_baseline"], 0] == pytest.approx(
        H / 24 * (12 * 4 + 12 * 3), rel=1e-12
    )
    _, s = run(x, d, fleet("average"))  # the month's floor, as before the fleet model
    assert s[S["instance_hours_baseline"], 0] == pytest.approx(3 * H, rel=1e-12)


# ---------------------------------------------------------------- commitments


def test_commitment_before_during_and_after_its_end():
    c, months, rec = 3.0, 2.5, 0.5
    x = inputs(
        pricing__committed_instances=c,
        pricing__commitment_months=months,
        pricing__stranded_recovery=rec,
    )
    m, s = run(x, demand_for(2.2), fleet("autoscale"))
    # baseline per slot: 4 (12 busy) and 2 (12 quiet) instances; 3 committed at 6 $/h
    committed = c * H * 6.0  # 13 140
    on_demand = H / 24 * 12 * (4 - 3) * 10.0  # busy hours above the commitment: 3 650
    stranded = H / 24 * 12 * (3 - 2)  # quiet hours below it: 365 instance-hours
    during = committed + on_demand - rec * stranded * 6.0  # 15 695
    after = H / 24 * 72 * 10.0  # 21 900
    want0 = [during, during, 0.5 * during + 0.5 * after, after]
    np.testing.assert_allclose(s[S["spend_baseline"]], want0, rtol=1e-12)
    assert m[M["stranded_instance_hours_baseline"]] == pytest.approx(2.5 * stranded, rel=1e-12)
    # optimized (same instance type): 2 and 1 instances, all within the commitment
    stranded1 = H / 24 * (12 * 1 + 12 * 2)
    during1 = committed - rec * stranded1 * 6.0
    after1 = H / 24 * 36 * 10.0
    want1 = [during1, during1, 0.5 * during1 + 0.5 * after1, after1]
    np.testing.assert_allclose(s[S["spend_optimized"]], want1, rtol=1e-12)
    assert m[M["stranded_instance_hours_optimized"]] == pytest.approx(2.5 * stranded1, rel=1e-12)
    # cost per million includes the commitment
    assert m[M["cost_per_million_baseline"]] == pytest.approx(
        sum(want0) / (4 * 2.2 * H * KAPPA) * 1e6, rel=1e-12
    )
    assert m[M["cost_per_million_optimized"]] == pytest.approx(
        sum(want1) / (4 * 2.2 * H * KAPPA) * 1e6, rel=1e-12
    )


def test_commitment_with_another_instance_type_is_all_stranded():
    x = inputs(
        pricing__committed_instances=3.0,
        pricing__commitment_months=1.0,
        pricing__stranded_recovery=0.25,
        optimized__price_ratio=0.8,
    )
    m, s = run(x, demand_for(2.2), fleet("autoscale"))
    on_demand1 = H / 24 * 36 * 0.8 * 10.0
    assert s[S["spend_optimized"], 0] == pytest.approx(on_demand1 + 3 * H * 6.0 * 0.75, rel=1e-12)
    assert s[S["spend_optimized"], 1] == pytest.approx(on_demand1, rel=1e-12)
    assert m[M["stranded_instance_hours_optimized"]] == pytest.approx(3 * H, rel=1e-12)


def test_commitment_in_the_average_fleet():
    x = inputs(pricing__committed_instances=2.0, pricing__commitment_months=9.0)
    # flat: 2.5 instances of load, 2 committed fully used, 0.5 on demand
    _, s = run(x, demand_for(2.5), fleet("average", np.ones(1)))
    assert s[S["spend_baseline"], 0] == pytest.approx(2 * H * 6 + 0.5 * H * 10, rel=1e-12)
    # peaked: slots of 3.3 and 1.1 instances; committed in use min(n, 2)
    m, s = run(x, demand_for(2.2), fleet("average"))
    used = H / 24 * (12 * 2 + 12 * 1.1)
    assert s[S["spend_baseline"], 0] == pytest.approx(2 * H * 6 + (2.2 * H - used) * 10, rel=1e-12)
    assert m[M["stranded_instance_hours_baseline"]] == pytest.approx(4 * (2 * H - used), rel=1e-12)
    # a floor of 2 with 0.5 instances of load and 1 committed: the idle committed
    # instance counts toward the floor, so 1 instance is on demand, none stranded
    x = inputs(
        pricing__committed_instances=1.0,
        pricing__commitment_months=9.0,
        baseline__floor_instances=2.0,
    )
    m, s = run(x, demand_for(0.5), fleet("average", np.ones(1)))
    assert s[S["spend_baseline"], 0] == pytest.approx(1 * H * 6 + 1 * H * 10, rel=1e-12)
    assert s[S["instance_hours_baseline"], 0] == pytest.approx(2 * H, rel=1e-12)
    assert m[M["stranded_instance_hours_baseline"]] == 0


def test_commitment_of_zero_or_ended_changes_nothing():
    d = demand_for(2.2)
    plain, _ = run(inputs(), d, fleet("autoscale"))
    for over in (
        {"pricing__committed_instances": 0.0, "pricing__commitment_months": 12.0},
        {"pricing__committed_instances": 5.0, "pricing__commitment_months": 0.0},
    ):
        m, _ = run(inputs(**over), d, fleet("autoscale"))
        np.testing.assert_array_equal(m, plain)


# ---------------------------------------------------------------- load-dependent gain


def test_gain_at_peak_is_linear_in_load():
    # g = 2 in the quiet slots, 3 in the busy ones; optimized kappa = 7200 at g = 2
    x = inputs(optimized__throughput_gain_at_peak=3.0)
    d = demand_for(2.4)
    m, s = run(x, d, fleet("autoscale"))
    # busy: 2.4 * 1.5 / 3 = 1.2 -> 2; quiet: 2.4 * 0.5 / 2 = 0.6 -> 1
    assert s[S["instance_hours_optimized"], 0] == pytest.approx(H / 24 * 36, rel=1e-12)
    capacity = H / 24 * (12 * 2 * 3 + 12 * 1 * 2)  # full-speed instance-hours x gain
    assert m[M["utilization_optimized"]] == pytest.approx(2.4 * H / capacity, rel=1e-12)
    # average: Σ (h/P) λ_j / κ_j = H/24 (12 * 1.2 + 12 * 0.6), the load-weighted capacity
    m, s = run(x, d, fleet("average"))
    assert s[S["instance_hours_optimized"], 0] == pytest.approx(H / 24 * 21.6, rel=1e-12)
    assert m[M["utilization_optimized"]] == pytest.approx(1.0, rel=1e-12)
    # peak: the busiest requirement max(1.2, 0.6) -> 2 all month
    _, s = run(x, d, fleet("peak"))
    assert s[S["instance_hours_optimized"], 0] == pytest.approx(2 * H, rel=1e-12)
    # flat profile: the gain is g
    _, s = run(x, d, fleet("autoscale", np.ones(24)))
    assert s[S["instance_hours_optimized"], 0] == pytest.approx(2 * H, rel=1e-12)  # 1.2 -> 2


# ---------------------------------------------------------------- API


def test_api_option():
    x = inputs(optimized__api_price_per_million=0.6)
    d = np.full((1, 3), 1e9)
    m, s = run(x, d, fleet("autoscale", api=True))
    np.testing.assert_allclose(s[S["spend_optimized"]], 600.0, rtol=1e-12)
    np.testing.assert_array_equal(s[S["instance_hours_optimized"]], 0.0)
    assert m[M["peak_instances_optimized"]] == 0
    assert math.isnan(m[M["utilization_optimized"]])
    assert m[M["cost_per_million_optimized"]] == pytest.approx(0.6, rel=1e-12)
    # a commitment is all stranded behind an API
    x = inputs(
        optimized__api_price_per_million=0.6,
        pricing__committed_instances=1.0,
        pricing__commitment_months=1.0,
    )
    _, s = run(x, d, fleet("average", api=True))
    np.testing.assert_allclose(s[S["spend_optimized"]], [600 + H * 6, 600, 600], rtol=1e-12)


# ---------------------------------------------------------------- several profiles, determinism


def test_profile_choice_is_per_draw_and_common_across_runs():
    n = 4000
    x = np.repeat(inputs(), n, axis=0)
    two = np.vstack([np.ones(24), DAY])
    d = demand_for(2.2)
    m, _ = simulate_arrays(x, d, seed=5, discount_rate=0.0, fleet=fleet("peak", two))
    peak = m[:, M["peak_instances_baseline"]]
    assert set(np.unique(peak)) == {3.0, 4.0}  # flat: ceil(2.2); busy: ceil(3.3)
    # each profile with probability 1/2: within 4 binomial standard errors
    assert abs((peak == 4).mean() - 0.5) < 4 * math.sqrt(0.25 / n)
    # the choice depends on (seed, draw), not on the price seed or the policy
    m2, _ = simulate_arrays(
        x, d, seed=5, price_seed=9, discount_rate=0.0, fleet=fleet("autoscale", two)
    )
    np.testing.assert_array_equal(m2[:, M["peak_instances_baseline"]], peak)
    m3, _ = simulate_arrays(x, d, seed=6, discount_rate=0.0, fleet=fleet("peak", two))
    assert not np.array_equal(m3[:, M["peak_instances_baseline"]], peak)


def random_fleet_inputs(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.repeat(inputs(), n, axis=0)
    x[:, COL["demand"]] = rng.random(n)
    x[:, COL["baseline.throughput"]] = rng.uniform(2, 20, n)
    x[:, COL["baseline.utilization"]] = rng.uniform(0.2, 0.6, n)
    x[:, COL["baseline.floor_instances"]] = rng.integers(0, 3, n)
    x[:, COL["optimized.throughput_gain"]] = rng.uniform(0.8, 3, n)
    x[:, COL["optimized.floor_instances"]] = rng.integers(0, 3, n)
    x[:, COL["optimized.price_ratio"]] = np.where(
        rng.random(n) < 0.5, 1.0, rng.uniform(0.5, 1.2, n)
    )
    x[:, COL["pricing.annual_volatility"]] = rng.uniform(0, 0.4, n)
    x[:, COL["implementation.months"]] = rng.uniform(0, 6, n)
    x[:, COL["implementation.ramp_months"]] = rng.uniform(0, 3, n)
    x[:, COL["churn.updates_per_year"]] = rng.uniform(0, 4, n)
    x[:, COL["churn.downtime_months"]] = rng.uniform(0, 1, n)
    x[:, COL["fleet.scale_lag_hours"]] = rng.uniform(0, 30, n)
    x[:, COL["pricing.committed_instances"]] = rng.integers(0, 6, n)
    x[:, COL["pricing.commitment_months"]] = rng.uniform(0, 30, n)
    x[:, COL["pricing.stranded_recovery"]] = rng.uniform(0, 1, n)
    gp = x[:, COL["optimized.throughput_gain"]] * rng.uniform(0.7, 1.6, n)
    x[:, COL["optimized.throughput_gain_at_peak"]] = np.where(
        rng.random(n) < 0.3, x[:, COL["optimized.throughput_gain"]], gp
    )
    x[:, COL["optimized.api_price_per_million"]] = rng.uniform(0.1, 3, n)
    return x


@pytest.mark.parametrize("provisioning", ["average", "peak", "autoscale"])
@pytest.mark.parametrize(("slots", "api"), [(168, False), (24, True), (1, False)])
def test_kernel_matches_reference_draw_by_draw(provisioning, slots, api):
    rng = np.random.default_rng(slots)
    demand = np.sort(rng.uniform(1e6, 1e8, (20, 1)), axis=0) * rng.lognormal(0, 0.1, (1, 24))
    demand = demand[np.argsort(demand.sum(axis=1))]
    fl = FleetConfig(provisioning, rng.uniform(0.1, 2, (3, slots)), api=api)
    x = random_fleet_inputs(400, slots)
    m, s = simulate_arrays(x, demand, seed=4, discount_rate=0.07, fleet=fl)
    mr, sr = simulate_reference(x, demand, seed=4, discount_rate=0.07, fleet=fl)
    for name, j in M.items():
        np.testing.assert_array_equal(np.isfinite(m[:, j]), np.isfinite(mr[:, j]), err_msg=name)
        ok = np.isfinite(m[:, j])
        rtol = 1e-7 if name == "irr" else 1e-9  # the reference's IRR is bisection-limited
        np.testing.assert_allclose(m[ok, j], mr[ok, j], rtol=rtol, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(s, sr, rtol=1e-9, atol=1e-6)
    assert (m[:, M["stranded_instance_hours_baseline"]] > 0).any()


def test_autoscale_same_with_1_or_2_threads():
    x = random_fleet_inputs(600, 8)
    demand = np.full((1, 12), 5e7)
    fl = FleetConfig("autoscale", np.random.default_rng(0).uniform(0.1, 2, (4, 168)))
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        m1, s1 = simulate_arrays(x, demand, seed=3, discount_rate=0.1, fleet=fl)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        m2, s2 = simulate_arrays(x, demand, seed=3, discount_rate=0.1, fleet=fl)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_array_equal(s1, s2)


# ---------------------------------------------------------------- configuration


def test_fleet_config_normalises_and_validates():
    fl = FleetConfig("peak", [2.0] * 12 + [6.0] * 12)
    assert fl.profiles.shape == (1, 24) and fl.profiles.mean() == pytest.approx(1.0)
    assert fl.policy == POLICY_PEAK and not fl.profiles.flags.writeable
    assert FleetConfig().profiles.shape == (1, 1) and FleetConfig().policy == POLICY_AVERAGE
    with pytest.raises(RoicastError, match=r"fleet\.provisioning: 'max'"):
        FleetConfig("max")
    with pytest.raises(RoicastError, match=r"fleet.profiles: expected shape .* got \(1, 7\)"):
        FleetConfig("peak", np.ones(7))
    with pytest.raises(RoicastError, match="finite and >= 0"):
        FleetConfig("peak", -np.ones(24))
    with pytest.raises(RoicastError, match="row 1 is all zero"):
        FleetConfig("peak", np.vstack([np.ones(24), np.zeros(24)]))
    with pytest.raises(RoicastError, match="fleet: expected a FleetConfig"):
        simulate_arrays(inputs(), demand_for(1), seed=1, discount_rate=0, fleet="peak")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("pricing.stranded_recovery", 1.5, r"stranded_recovery is 1\.5 .* in \[0, 1\]"),
        ("pricing.committed_instances", -1.0, "committed_instances"),
        ("pricing.commitment_months", -1.0, "commitment_months"),
        ("fleet.scale_lag_hours", -1.0, "scale_lag_hours"),
        ("optimized.throughput_gain_at_peak", 0.0, r"throughput_gain_at_peak .* > 0"),
        ("optimized.api_price_per_million", -0.1, "api_price_per_million"),
    ],
)
def test_fleet_inputs_are_validated(name, value, match):
    with pytest.raises(RoicastError, match=match):
        simulate_arrays(
            inputs(**{name.replace(".", "__"): value}), demand_for(1), seed=1, discount_rate=0
        )
