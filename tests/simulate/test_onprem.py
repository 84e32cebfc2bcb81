"""The on-prem model (issue 16) against hand calculations, the NumPy reference and the cloud model.

Units as in ``test_fleet.py``: throughput 1 unit/s at utilization 1 makes an
instance serve κ = 3600 units an hour, so a month of ``D = x · 730 · 3600``
units needs ``x`` instances; the cloud price is 10 $/h with no trend or
volatility, so the burst price ``b P_t / p_0`` is ``b`` = 4 $/h.  Hardware:
250 000 $ an instance, 4 years of life, 10 % salvage, so straight-line
depreciation is ``250 000 · 0.9 / 48 = 4 687.5`` $ a month; energy
``PUE · price = 1.3 · 0.12 = 0.156`` $ per IT kWh.
"""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numba
import numpy as np
import pytest

from roicast.errors import RoicastError
from roicast.simulate import (
    INPUT_NAMES,
    METRIC_NAMES,
    NEUTRAL_INPUTS,
    SERIES_NAMES,
    FleetConfig,
    neutral_inputs,
    simulate,
    simulate_arrays,
    simulate_reference,
)
from roicast.simulate import _kernels as K
from tests.simulate._points import RENTED, assert_metrics_unchanged

H = 730.0
KAPPA = 3600.0
M = {name: j for j, name in enumerate(METRIC_NAMES)}
S = {name: j for j, name in enumerate(SERIES_NAMES)}
COL = {name: j for j, name in enumerate(INPUT_NAMES)}
DATA = Path(__file__).with_name("data") / "fleet_outputs.npz"

PRICE = 250_000.0
RATE = PRICE * 0.9 / 48  # depreciation a month of one instance: 4 687.5
E = 1.3 * 0.12  # $ per IT kWh
KW_B, KW_I = 6.5, 1.8

POINT = {
    **RENTED,
    "onprem.owned_instances": 3.0,
    "onprem.purchase_price": PRICE,
    "onprem.useful_life_years": 4.0,
    "onprem.salvage_fraction": 0.1,
    "onprem.lot_size": 2.0,
    "onprem.lead_time_months": 2.0,
    "onprem.burst_price": 4.0,
    "onprem.power_kw_busy": KW_B,
    "onprem.power_kw_idle": KW_I,
    "onprem.pue": 1.3,
    "onprem.energy_price": 0.12,
    "onprem.energy_annual_change": 0.0,
}
assert set(POINT) == set(INPUT_NAMES)

# hour of day: busy 1.5 for hours 0-11, quiet 0.5 for hours 12-23 (mean 1)
DAY = np.array([1.5] * 12 + [0.5] * 12)
FLAT = np.ones(1)


def inputs(**over: float) -> np.ndarray:
    point = {**POINT, **{k.replace("__", "."): v for k, v in over.items()}}
    return np.array([[point[name] for name in INPUT_NAMES]])


def demand_for(*xs: float) -> np.ndarray:
    """Monthly demand needing ``xs[t]`` baseline instances on average in month t+1."""
    return np.array([xs]) * H * KAPPA


def onprem(baseline="onprem", optimized="onprem", provisioning="autoscale", profile=FLAT):
    return FleetConfig(
        provisioning, profile, baseline_platform=baseline, optimized_platform=optimized
    )


def run(x, demand, fleet, discount_rate=0.0):
    m, s = simulate_arrays(x, demand, seed=1, discount_rate=discount_rate, fleet=fleet)
    mr, sr = simulate_reference(x, demand, seed=1, discount_rate=discount_rate, fleet=fleet)
    np.testing.assert_allclose(m, mr, rtol=1e-9, atol=1e-9, equal_nan=True)
    np.testing.assert_allclose(s, sr, rtol=1e-9, atol=1e-9, equal_nan=True)
    return m[0], s[:, 0, :]


def energy(busy, idle, e=E):
    """Energy cost of a month with ``busy`` and ``idle`` instances every hour."""
    return H * (np.asarray(busy) * KW_B + np.asarray(idle) * KW_I) * e


# ---------------------------------------------------------------- cloud results unchanged


def _fixture_cases():
    spec = importlib.util.spec_from_file_location(
        "_make_fleet_fixture", Path(__file__).with_name("_make_fleet_fixture.py")
    )
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def _cloud_kernel_mode() -> str:
    """How this process got the rented-fleets kernel (``onprem=None``): from numba's cache or compiled.

    A cached kernel may differ from a fresh compile of the same code by an ulp
    (also before issue 16), so the fixture holds the outputs of both.
    """
    hits = K.simulate_kernel.stats.cache_hits
    return "cached" if any(sig[10] == numba.types.none for sig in hits) else "fresh"


def test_fleet_results_without_onprem_are_unchanged():
    # Captured on the code before issue 16 (tests/simulate/_make_fleet_fixture.py): every
    # policy, profiles, commitments, gain at peak, API.  Bit for bit, with the on-prem
    # inputs neutral and, since the platform is configuration, with them at any value.
    mod = _fixture_cases()
    with np.load(DATA) as f:
        data = {k: f[k] for k in f.files}
    x = neutral_inputs(data["inputs"])
    assert x.shape[1] == len(INPUT_NAMES) and data["inputs"].shape[1] == mod.N_FLEET
    busy = x.copy()
    rng = np.random.default_rng(0)
    for name in NEUTRAL_INPUTS:
        if name.startswith("onprem."):
            hi = 1.0 if name == "onprem.salvage_fraction" else 2.0
            busy[:, COL[name]] = rng.uniform(hi - 1.0, hi, x.shape[0])
    for name, pol, slots, n_prof, api in mod.CASES:
        fl = mod.case_fleet(pol, slots, n_prof, api)
        for xx in (x, busy):
            m, s = simulate_arrays(
                xx,
                data["demand"],
                seed=321,
                discount_rate=0.08,
                price_seed=17,
                draw_offset=3,
                fleet=fl,
            )
            mode = _cloud_kernel_mode()
            old_m, old_s = data[f"{mode}_metrics_{name}"], data[f"{mode}_series_{name}"]
            assert_metrics_unchanged(
                m[:, : old_m.shape[1]], old_m, irr_col=M["irr"], err_msg=f"{name} {mode}"
            )
            np.testing.assert_array_equal(s[: old_s.shape[0]], old_s, err_msg=f"{name} {mode}")
            # the on-prem outputs of two rented fleets: nothing bought, owned or burnt
            for k in ("purchases", "capex", "salvage", "energy_cost", "burst_hours"):
                for side in ("baseline", "optimized"):
                    assert (m[:, M[f"{k}_{side}"]] == 0).all()
            assert np.isinf(m[:, M["first_purchase_month_baseline"]]).all()
            assert np.isnan(m[:, M["purchase_deferral_months"]]).all()
            assert (s[S["owned_instances_optimized"]] == 0).all()
            assert (s[S["purchased_instances_baseline"]] == 0).all()


# ---------------------------------------------------------------- closed forms


def test_no_purchase_needed():
    # flat load of 2.5 instances: baseline 3 whole instances, optimized (g = 2) 2; 4 owned
    x = inputs(onprem__owned_instances=4.0)
    m, s = run(x, demand_for(2.5, 2.5, 2.5, 2.5), onprem())
    e0, e1 = energy(3, 1), energy(2, 2)
    np.testing.assert_allclose(s[S["spend_baseline"]], e0, rtol=1e-12)
    np.testing.assert_allclose(s[S["spend_optimized"]], e1, rtol=1e-12)
    np.testing.assert_array_equal(s[S["owned_instances_baseline"]], 4.0)
    np.testing.assert_array_equal(s[S["purchased_instances_optimized"]], 0.0)
    assert m[M["savings"]] == pytest.approx(4 * (e0 - e1), rel=1e-12)
    assert m[M["npv"]] == pytest.approx(4 * H * (KW_B - KW_I) * E - 1, rel=1e-12)
    assert m[M["energy_cost_baseline"]] == pytest.approx(4 * e0, rel=1e-12)
    for k in ("purchases", "capex", "salvage", "burst_hours"):
        assert m[M[f"{k}_baseline"]] == 0 and m[M[f"{k}_optimized"]] == 0
    assert math.isinf(m[M["first_purchase_month_baseline"]])
    assert math.isnan(m[M["purchase_deferral_months"]])
    # TCO: depreciation of the 4 owned instances (new at the start) + energy
    assert m[M["tco_baseline"]] == pytest.approx(4 * e0 + 4 * RATE * 4, rel=1e-12)
    assert m[M["tco_optimized"]] == pytest.approx(4 * e1 + 4 * RATE * 4 + 1, rel=1e-12)
    assert m[M["cost_per_million_baseline"]] == pytest.approx(
        (4 * e0 + 16 * RATE) / (4 * 2.5 * H * KAPPA) * 1e6, rel=1e-12
    )
    assert m[M["peak_instances_baseline"]] == 3 and m[M["peak_instances_optimized"]] == 2


def test_ramp_blends_the_requirement_of_one_owned_fleet():
    # a ramp of 2 months: month 1 runs half the load optimized, 0.5·3 + 0.5·2 = 2.5 instances
    x = inputs(onprem__owned_instances=4.0, implementation__ramp_months=2.0)
    _, s = run(x, demand_for(2.5, 2.5, 2.5), onprem())
    want = [energy(2.5, 1.5), energy(2, 2), energy(2, 2)]
    np.testing.assert_allclose(s[S["spend_optimized"]], want, rtol=1e-12)


# demand growing from 2 to 5 instances over 8 months; 3 owned, lots of 2, lead time 2
GROWTH = (2.0, 2.0, 3.0, 3.5, 4.0, 4.0, 4.5, 5.0)


def test_one_lot_with_lead_time_burst_and_deferral():
    x = inputs(optimized__throughput_gain=1.25, optimized__throughput_gain_at_peak=1.25)
    d = demand_for(*GROWTH)
    m, s = run(x, d, onprem())
    # baseline needs [2,2,3,4,4,4,5,5]: short in month 4, orders a lot (2) arriving in month 6
    owned0 = np.array([3, 3, 3, 3, 3, 5, 5, 5.0])
    busy0 = np.array([2, 2, 3, 3, 3, 4, 5, 5.0])
    burst0 = np.array([0, 0, 0, 1, 1, 0, 0, 0.0])
    bought0 = np.array([0, 0, 0, 2, 0, 0, 0, 0.0])
    # optimized needs GROWTH / 1.25 -> [2,2,3,3,4,4,4,4]: orders in month 5, arriving in month 7
    owned1 = np.array([3, 3, 3, 3, 3, 3, 5, 5.0])
    busy1 = np.array([2, 2, 3, 3, 3, 3, 4, 4.0])
    burst1 = np.array([0, 0, 0, 0, 1, 1, 0, 0.0])
    bought1 = np.array([0, 0, 0, 0, 2, 0, 0, 0.0])
    salvage0 = 2 * (PRICE - 3 * RATE)  # in service months 6-8
    salvage1 = 2 * (PRICE - 2 * RATE)  # months 7-8
    run0 = energy(busy0, owned0 - busy0) + burst0 * H * 4.0
    run1 = energy(busy1, owned1 - busy1) + burst1 * H * 4.0
    cash0 = run0 + bought0 * PRICE - np.r_[np.zeros(7), salvage0]
    cash1 = run1 + bought1 * PRICE - np.r_[np.zeros(7), salvage1]
    np.testing.assert_allclose(s[S["spend_baseline"]], cash0, rtol=1e-12)
    np.testing.assert_allclose(s[S["spend_optimized"]], cash1, rtol=1e-12)
    np.testing.assert_array_equal(s[S["owned_instances_baseline"]], owned0)
    np.testing.assert_array_equal(s[S["owned_instances_optimized"]], owned1)
    np.testing.assert_array_equal(s[S["purchased_instances_baseline"]], bought0)
    np.testing.assert_array_equal(s[S["purchased_instances_optimized"]], bought1)
    assert m[M["first_purchase_month_baseline"]] == 4
    assert m[M["first_purchase_month_optimized"]] == 5
    assert m[M["purchase_deferral_months"]] == 1
    assert m[M["purchases_baseline"]] == 1 and m[M["capex_baseline"]] == 2 * PRICE
    assert m[M["burst_hours_baseline"]] == pytest.approx(2 * H, rel=1e-12)
    assert m[M["burst_hours_optimized"]] == pytest.approx(2 * H, rel=1e-12)
    assert m[M["salvage_baseline"]] == pytest.approx(salvage0, rel=1e-12)
    assert m[M["salvage_optimized"]] == pytest.approx(salvage1, rel=1e-12)
    np.testing.assert_allclose(
        s[S["cumulative_cash_flow"]], np.cumsum(cash0 - cash1) - 1, rtol=1e-12
    )
    # TCO: depreciation (3 owned for 8 months + the lot for its months in service)
    assert m[M["tco_baseline"]] == pytest.approx(run0.sum() + RATE * (3 * 8 + 2 * 3), rel=1e-12)
    assert m[M["tco_optimized"]] == pytest.approx(
        run1.sum() + RATE * (3 * 8 + 2 * 2) + 1, rel=1e-12
    )
    # NPV discounts the cash: the purchase a month later and the salvage
    m10, _ = run(x, d, onprem(), discount_rate=0.1)
    t = np.arange(1, 9)
    cf = cash0 - cash1 - np.r_[1.0, np.zeros(7)]
    assert m10[M["npv"]] == pytest.approx((cf * 1.1 ** (-t / 12)).sum(), rel=1e-12)


def test_no_lead_time_means_no_burst():
    x = inputs(
        onprem__lead_time_months=0.0,
        optimized__throughput_gain=1.25,
        optimized__throughput_gain_at_peak=1.25,
    )
    m, s = run(x, demand_for(*GROWTH), onprem())
    np.testing.assert_array_equal(s[S["owned_instances_baseline"]], [3, 3, 3, 5, 5, 5, 5, 5])
    assert m[M["burst_hours_baseline"]] == 0 and m[M["burst_hours_optimized"]] == 0
    assert m[M["first_purchase_month_baseline"]] == 4
    # a fractional lead time counts in whole months, rounded up
    m, s = run(inputs(onprem__lead_time_months=1.2), demand_for(*GROWTH), onprem())
    np.testing.assert_array_equal(s[S["owned_instances_baseline"]], [3, 3, 3, 3, 3, 5, 5, 5])


def test_several_lots_at_once_and_the_order_book():
    # 3 owned, demand jumps to 7.5 -> 8 instances: 5 short -> 3 lots of 2 (6); next month
    # 9.5 -> 10 needs one more lot: 3 owned + 6 on order fall short by 1
    x = inputs(onprem__lead_time_months=3.0)
    m, s = run(x, demand_for(7.5, 9.5, 9.5, 9.5, 9.5), onprem(optimized="cloud"))
    np.testing.assert_array_equal(s[S["purchased_instances_baseline"]], [6, 2, 0, 0, 0])
    np.testing.assert_array_equal(s[S["owned_instances_baseline"]], [3, 3, 3, 9, 11])
    assert m[M["purchases_baseline"]] == 4
    burst = (5 + 7 + 7 + 1) * H  # above the owned fleet until both orders arrive
    assert m[M["burst_hours_baseline"]] == pytest.approx(burst, rel=1e-12)


@pytest.mark.parametrize(
    ("provisioning", "profile", "floor", "busy", "idle"),
    [
        # flat: 2.2 -> 3 whole instances of the 5 owned, every hour
        ("autoscale", FLAT, 0.0, 3 * 24, 2 * 24),
        # peaked: 3.3 -> 4 instances in 12 hours, 1.1 -> 2 in the other 12
        ("autoscale", DAY, 0.0, 12 * 4 + 12 * 2, 12 * 1 + 12 * 3),
        ("peak", DAY, 0.0, 24 * 4, 24 * 1),
        # average: the fractional load, 3.3 and 1.1, floored per slot
        ("average", DAY, 0.0, 12 * 3.3 + 12 * 1.1, 12 * 1.7 + 12 * 3.9),
        ("average", DAY, 2.0, 12 * 3.3 + 12 * 2.0, 12 * 1.7 + 12 * 3.0),
    ],
)
def test_energy_flat_and_peaked(provisioning, profile, floor, busy, idle):
    # busy and idle are instance-hours of a day; a month holds 730 / 24 days of them
    x = inputs(
        onprem__owned_instances=5.0,
        onprem__energy_annual_change=0.03,
        baseline__floor_instances=floor,
    )
    m, s = run(x, demand_for(*[2.2] * 13), onprem(provisioning=provisioning, profile=profile))
    month1 = H / 24 * (busy * KW_B + idle * KW_I) * E
    assert s[S["spend_baseline"], 0] == pytest.approx(month1, rel=1e-12)
    assert s[S["spend_baseline"], 12] == pytest.approx(month1 * 1.03, rel=1e-12)  # a year later
    want = month1 * (1.03 ** (np.arange(13) / 12)).sum()
    assert m[M["energy_cost_baseline"]] == pytest.approx(want, rel=1e-12)
    assert m[M["burst_hours_baseline"]] == 0


def test_salvage_past_life_and_orders_not_delivered():
    # life 6 months: the lot delivered in month 2 is worth its salvage fraction at the
    # end of month 8; the lot ordered in month 8 (lead 1) is still on order: worth its price
    x = inputs(
        onprem__useful_life_years=0.5,
        onprem__lead_time_months=1.0,
        optimized__throughput_gain=1.0,
        optimized__throughput_gain_at_peak=1.0,
    )
    d = demand_for(4, 4, 4, 4, 4, 4, 4, 6)
    m, s = run(x, d, onprem())
    np.testing.assert_array_equal(s[S["purchased_instances_baseline"]], [2, 0, 0, 0, 0, 0, 0, 2])
    np.testing.assert_array_equal(s[S["owned_instances_baseline"]], [3, 5, 5, 5, 5, 5, 5, 5])
    rate = PRICE * 0.9 / 6
    assert m[M["salvage_baseline"]] == pytest.approx(2 * 0.1 * PRICE + 2 * PRICE, rel=1e-12)
    assert m[M["capex_baseline"]] == 4 * PRICE
    run0 = m[M["energy_cost_baseline"]] + m[M["burst_hours_baseline"]] * 4.0
    assert m[M["burst_hours_baseline"]] == pytest.approx(2 * H, rel=1e-12)  # months 1, 8
    # TCO: 6 months of depreciation for the 3 owned and for the lot (7 months in service)
    assert m[M["tco_baseline"]] == pytest.approx(run0 + rate * (3 * 6 + 2 * 6), rel=1e-12)
    # the undiscounted cash of the purchases is the TCO's depreciation of the lots bought
    assert s[S["spend_baseline"]].sum() == pytest.approx(run0 + rate * 2 * 6, rel=1e-12)
    # the same fleet on both sides: nothing saved
    assert m[M["savings"]] == 0 and m[M["purchase_deferral_months"]] == 0


def test_buy_hardware_option_against_a_cloud_baseline():
    # stay on cloud (3 instances at 10 $/h) vs buy hardware (no speed-up) going live after
    # month 2: the option orders a lot of 4 when it needs 3 in month 3, bursts that month
    x = inputs(
        optimized__throughput_gain=1.0,
        optimized__throughput_gain_at_peak=1.0,
        optimized__price_ratio=0.5,  # a cloud price: not used by an owned fleet
        onprem__owned_instances=0.0,
        onprem__lot_size=4.0,
        onprem__lead_time_months=1.0,
        implementation__months=2.0,
    )
    m, s = run(x, demand_for(*[2.5] * 6), onprem(baseline="cloud"))
    cloud = 3 * H * 10.0
    e = energy(3, 1)
    salvage = 4 * (PRICE - 3 * RATE)
    want1 = [cloud, cloud, 4 * PRICE + 3 * H * 4.0, e, e, e - salvage]
    np.testing.assert_allclose(s[S["spend_baseline"]], cloud, rtol=1e-12)
    np.testing.assert_allclose(s[S["spend_optimized"]], want1, rtol=1e-12)
    np.testing.assert_array_equal(s[S["owned_instances_optimized"]], [0, 0, 0, 4, 4, 4])
    np.testing.assert_array_equal(s[S["owned_instances_baseline"]], 0)
    assert m[M["savings"]] == pytest.approx(6 * cloud - sum(want1), rel=1e-12)
    assert m[M["first_purchase_month_optimized"]] == 3
    assert math.isinf(m[M["first_purchase_month_baseline"]])
    assert math.isnan(m[M["purchase_deferral_months"]])
    assert m[M["tco_optimized"]] == pytest.approx(
        2 * cloud + 3 * H * 4.0 + 3 * e + 4 * RATE * 3 + 1, rel=1e-12
    )
    # cost per million of the option as if live all along: bought in month 1, there 5 months
    full = 3 * H * 4.0 + 5 * e + 4 * RATE * 5
    assert m[M["cost_per_million_optimized"]] == pytest.approx(
        full / (6 * 2.5 * H * KAPPA) * 1e6, rel=1e-12
    )


def test_move_to_cloud_option_against_an_owned_baseline():
    # the 4 owned instances stay (idle, drawing idle power) once the option is live
    x = inputs(
        onprem__owned_instances=4.0,
        optimized__throughput_gain=1.0,
        optimized__throughput_gain_at_peak=1.0,
        implementation__months=1.0,
    )
    m, s = run(x, demand_for(2.5, 2.5, 2.5), onprem(optimized="cloud"))
    e0, idle = energy(3, 1), energy(0, 4)
    cloud = 3 * H * 10.0
    np.testing.assert_allclose(s[S["spend_baseline"]], e0, rtol=1e-12)
    np.testing.assert_allclose(s[S["spend_optimized"]], [e0, idle + cloud, idle + cloud])
    assert m[M["tco_optimized"]] == pytest.approx(
        e0 + 2 * (idle + cloud) + 4 * RATE * 3 + 1, rel=1e-12
    )


def test_commitment_behind_an_owned_fleet_is_stranded():
    # 2 committed cloud instances for 2 months at 6 $/h, a quarter recovered
    x = inputs(
        onprem__owned_instances=4.0,
        pricing__committed_instances=2.0,
        pricing__commitment_months=2.0,
        pricing__stranded_recovery=0.25,
    )
    m, s = run(x, demand_for(2.5, 2.5, 2.5), onprem())
    contract = 2 * H * 6.0 * 0.75
    np.testing.assert_allclose(
        s[S["spend_baseline"]], energy(3, 1) + np.array([contract, contract, 0]), rtol=1e-12
    )
    assert m[M["stranded_instance_hours_baseline"]] == pytest.approx(4 * H, rel=1e-12)


# ---------------------------------------------------------------- reference, random draws


def random_onprem_inputs(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.repeat(inputs(), n, axis=0)
    gain = rng.uniform(0.8, 3, n)
    cols = {
        "demand": rng.random(n),
        "baseline.throughput": rng.uniform(2, 20, n),
        "baseline.utilization": rng.uniform(0.2, 0.6, n),
        "baseline.floor_instances": rng.integers(0, 3, n),
        "optimized.throughput_gain": gain,
        "optimized.throughput_gain_at_peak": np.where(rng.random(n) < 0.3, gain, gain * 1.3),
        "optimized.floor_instances": rng.integers(0, 3, n),
        "optimized.price_ratio": rng.uniform(0.5, 1.2, n),
        "pricing.annual_change": rng.uniform(-0.3, 0.1, n),
        "pricing.annual_volatility": rng.uniform(0, 0.4, n),
        "implementation.months": rng.uniform(0, 6, n),
        "implementation.ramp_months": rng.uniform(0, 3, n),
        "churn.updates_per_year": rng.uniform(0, 4, n),
        "churn.downtime_months": rng.uniform(0, 1, n),
        "fleet.scale_lag_hours": rng.uniform(0, 30, n),
        "pricing.committed_instances": rng.integers(0, 4, n),
        "pricing.commitment_months": rng.uniform(0, 30, n),
        "pricing.stranded_recovery": rng.uniform(0, 1, n),
        "onprem.owned_instances": rng.integers(0, 12, n),
        "onprem.purchase_price": rng.uniform(1e5, 4e5, n),
        "onprem.useful_life_years": rng.uniform(0.5, 6, n),
        "onprem.salvage_fraction": rng.uniform(0, 0.3, n),
        "onprem.lot_size": rng.integers(1, 9, n),
        "onprem.lead_time_months": rng.uniform(0, 8, n),
        "onprem.burst_price": rng.uniform(2, 8, n),
        "onprem.power_kw_busy": rng.uniform(4, 10, n),
        "onprem.power_kw_idle": rng.uniform(1, 3, n),
        "onprem.pue": rng.uniform(1.1, 1.6, n),
        "onprem.energy_price": rng.uniform(0.05, 0.3, n),
        "onprem.energy_annual_change": rng.uniform(-0.05, 0.1, n),
    }
    for name, v in cols.items():
        x[:, COL[name]] = v
    return x


@pytest.mark.parametrize(
    ("provisioning", "slots", "platforms"),
    [
        ("autoscale", 168, ("onprem", "onprem")),
        ("average", 24, ("onprem", "onprem")),
        ("peak", 24, ("cloud", "onprem")),
        ("autoscale", 24, ("onprem", "cloud")),
        ("average", 1, ("cloud", "onprem")),
    ],
)
def test_kernel_matches_reference_draw_by_draw(provisioning, slots, platforms):
    rng = np.random.default_rng(slots)
    demand = (
        np.sort(rng.uniform(3e6, 3e7, (20, 1)), axis=0)
        * np.exp(np.linspace(0, 0.8, 30))
        * rng.lognormal(0, 0.1, (1, 30))
    )
    demand = demand[np.argsort(demand.sum(axis=1))]
    fl = FleetConfig(
        provisioning,
        rng.uniform(0.1, 2, (3, slots)),
        baseline_platform=platforms[0],
        optimized_platform=platforms[1],
    )
    x = random_onprem_inputs(300, slots)
    m, s = simulate_arrays(x, demand, seed=4, discount_rate=0.07, fleet=fl)
    mr, sr = simulate_reference(x, demand, seed=4, discount_rate=0.07, fleet=fl)
    for name, j in M.items():
        np.testing.assert_array_equal(np.isnan(m[:, j]), np.isnan(mr[:, j]), err_msg=name)
        np.testing.assert_array_equal(np.isinf(m[:, j]), np.isinf(mr[:, j]), err_msg=name)
        ok = np.isfinite(m[:, j])
        rtol = 1e-7 if name == "irr" else 1e-9  # the reference's IRR is bisection-limited
        np.testing.assert_allclose(m[ok, j], mr[ok, j], rtol=rtol, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(s, sr, rtol=1e-9, atol=1e-6)
    # the draws exercise purchases, bursts and deferrals
    side = "optimized" if platforms[1] == "onprem" else "baseline"
    assert (m[:, M[f"purchases_{side}"]] > 0).mean() > 0.1
    assert (m[:, M[f"burst_hours_{side}"]] > 0).mean() > 0.1
    if platforms == ("onprem", "onprem"):
        assert (m[:, M["purchase_deferral_months"]] > 0).any()


def test_same_with_1_or_2_threads_and_through_simulate():
    x = random_onprem_inputs(600, 8)
    demand = np.full((1, 24), 2e7) * np.exp(np.linspace(0, 0.7, 24))
    fl = FleetConfig("autoscale", DAY, baseline_platform="onprem", optimized_platform="onprem")
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
    ds = simulate(x[:5], demand, seed=3, discount_rate=0.1, fleet=fl)
    assert ds.attrs["baseline_platform"] == "onprem" and ds.attrs["optimized_platform"] == "onprem"
    np.testing.assert_array_equal(
        ds["owned_instances_optimized"].values, s1[S["owned_instances_optimized"], :5]
    )


# ---------------------------------------------------------------- configuration


def test_platforms_are_validated():
    assert FleetConfig().onprem == (False, False)
    assert FleetConfig(baseline_platform="onprem").onprem == (True, False)
    with pytest.raises(
        RoicastError, match=r"fleet\.optimized_platform: 'edge' is not one of cloud, onprem"
    ):
        FleetConfig(optimized_platform="edge")
    with pytest.raises(RoicastError, match=r"fleet\.baseline_platform"):
        FleetConfig(baseline_platform="on-prem")
    with pytest.raises(RoicastError, match="an API option has no fleet to own"):
        FleetConfig(api=True, optimized_platform="onprem")
    # an owned baseline with an API option is fine
    FleetConfig(api=True, baseline_platform="onprem")


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("onprem.owned_instances", -1.0, r"owned_instances is -1\.0 .* >= 0"),
        ("onprem.useful_life_years", 0.0, r"useful_life_years is 0\.0 .* > 0"),
        ("onprem.salvage_fraction", 1.2, r"salvage_fraction is 1\.2 .* in \[0, 1\]"),
        ("onprem.lot_size", 0.0, r"lot_size is 0\.0 .* > 0"),
        ("onprem.lead_time_months", -1.0, "lead_time_months"),
        ("onprem.pue", 0.9, r"pue is 0\.9 .* >= 1"),
        ("onprem.energy_annual_change", -1.0, r"energy_annual_change .* > -1"),
        ("onprem.purchase_price", -5.0, "purchase_price"),
    ],
)
def test_onprem_inputs_are_validated(name, value, match):
    with pytest.raises(RoicastError, match=match):
        simulate_arrays(
            inputs(**{name.replace(".", "__"): value}), demand_for(1.0), seed=1, discount_rate=0
        )
