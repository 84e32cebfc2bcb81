"""The simulator against closed forms, the seed's numbers and the NumPy oracle."""

from __future__ import annotations

import math

import numba
import numpy as np
import pytest
import xarray as xr

from roicast.errors import RoicastError
from roicast.simulate import (
    INPUT_NAMES,
    METRIC_NAMES,
    NEUTRAL_INPUTS,
    SERIES_NAMES,
    simulate,
    simulate_arrays,
    simulate_reference,
)

H = 730.0
M = {name: j for j, name in enumerate(METRIC_NAMES)}
S = {name: j for j, name in enumerate(SERIES_NAMES)}

BASE = {
    "demand": 0.5,
    "baseline.throughput": 10.0,
    "baseline.utilization": 0.3,
    "baseline.price": 10.0,
    "baseline.floor_instances": 0.0,
    "optimized.throughput_gain": 2.0,
    "optimized.utilization": 0.3,
    "optimized.price_ratio": 1.0,
    "optimized.floor_instances": 0.0,
    "pricing.annual_change": 0.0,
    "pricing.annual_volatility": 0.0,
    "implementation.months": 0.0,
    "implementation.ramp_months": 0.0,
    "implementation.engineer_months": 0.0,
    "implementation.engineer_cost": 0.0,
    "implementation.validation_cost": 0.0,
    "implementation.licence_per_year": 0.0,
    "implementation.maintenance_fraction": 0.0,
    "churn.updates_per_year": 0.0,
    "churn.cost_per_update": 0.0,
    "churn.downtime_months": 0.0,
    "indirect.benefit_per_month": 0.0,
    # fleet model at its neutral values (average fleet, no commitment)
    "fleet.scale_lag_hours": 0.0,
    "pricing.committed_instances": 0.0,
    "pricing.committed_price_ratio": 0.6,
    "pricing.commitment_months": 0.0,
    "pricing.stranded_recovery": 0.0,
    "optimized.throughput_gain_at_peak": 2.0,
    "optimized.api_price_per_million": 0.0,
}
# the on-prem inputs (issue 16) at their neutral values: these fleets are rented
BASE |= {k: v for k, v in NEUTRAL_INPUTS.items() if k.startswith("onprem.")}


def inputs(n: int = 1, **over: float) -> np.ndarray:
    point = {**BASE, **{k.replace("__", "."): v for k, v in over.items()}}
    if "optimized.throughput_gain_at_peak" not in {k.replace("__", ".") for k in over}:
        point["optimized.throughput_gain_at_peak"] = point["optimized.throughput_gain"]
    return np.array([[point[name] for name in INPUT_NAMES]] * n, dtype=float)


def flat(volume: float, months: int) -> np.ndarray:
    return np.full((1, months), float(volume))


def run(x, demand, *, seed=1, d=0.0, monthly=True):
    return simulate_arrays(
        np.ascontiguousarray(x),
        np.ascontiguousarray(demand),
        seed=seed,
        discount_rate=d,
        monthly=monthly,
    )


# ---------------------------------------------------------------- the seed's numbers


def test_cost_per_million_tokens_seed_example():
    # $10/h generating 2M tokens/h costs $5 per million tokens.
    tau = 2e6 / 3600  # tokens/s at utilization 1 -> 2M tokens per paid hour
    x = inputs(baseline__throughput=tau, baseline__utilization=1.0, optimized__utilization=1.0)
    m, _ = run(x, flat(1e9, 12))
    assert m[0, M["cost_per_million_baseline"]] == pytest.approx(5.0, rel=1e-12)
    # twice the throughput: half the cost per million
    assert m[0, M["cost_per_million_optimized"]] == pytest.approx(2.5, rel=1e-12)


def test_roi_150_percent_when_savings_are_2_5x_cost():
    # build 100k in month 1 (T = 0), savings 25k/month for 10 months: gain 250k = 2.5 x cost.
    tau = 1.0
    # G0 = D / (tau*3600*u0) = 5000 instance-hours; C0 = 50k; g = 2 -> C1 = 25k; savings 25k
    u0 = 0.5
    demand = flat(5000 * tau * 3600 * u0, 10)
    x = inputs(
        baseline__throughput=tau,
        baseline__utilization=u0,
        optimized__utilization=u0,
        implementation__engineer_months=4,
        implementation__engineer_cost=20_000,
        implementation__validation_cost=20_000,
    )
    m, _ = run(x, demand)
    assert m[0, M["investment"]] == pytest.approx(100_000, rel=1e-12)
    assert m[0, M["gain"]] == pytest.approx(250_000, rel=1e-12)
    assert m[0, M["roi"]] == pytest.approx(1.5, rel=1e-12)


def test_seed_baseline_example_one_million_requests_a_day():
    # 1M requests/day, $10/h GPU at 30 % utilization, 10 requests/s per GPU at the SLO.
    per_month = 1e6 * 730 / 24
    x = inputs(baseline__throughput=10.0, baseline__utilization=0.3, baseline__price=10.0)
    _, s = run(x, flat(per_month, 3))
    hours = per_month / (10.0 * 3600 * 0.3)
    assert s[S["instance_hours_baseline"], 0, 0] == pytest.approx(hours, rel=1e-12)
    assert s[S["spend_baseline"], 0, 0] == pytest.approx(hours * 10.0, rel=1e-12)
    # ~2816 instance-hours = 3.86 GPUs busy around the clock at 30 %: $28,164 a month
    assert s[S["spend_baseline"], 0, 0] == pytest.approx(28_163.58, abs=0.01)


# ---------------------------------------------------------------- closed forms


@pytest.mark.parametrize("discount", [0.0, 0.12])
def test_deterministic_case_matches_closed_form(discount):
    horizon, T = 24, 3
    D, tau, u0, u1, g, p0, rho = 4e7, 5.0, 0.4, 0.5, 1.6, 4.0, 0.8
    m0, m1 = 2.0, 1.0
    E, ce, V, L, phi, b = 6.0, 20_000.0, 15_000.0, 12_000.0, 0.2, 500.0
    x = inputs(
        baseline__throughput=tau,
        baseline__utilization=u0,
        baseline__price=p0,
        baseline__floor_instances=m0,
        optimized__throughput_gain=g,
        optimized__utilization=u1,
        optimized__price_ratio=rho,
        optimized__floor_instances=m1,
        implementation__months=T,
        implementation__engineer_months=E,
        implementation__engineer_cost=ce,
        implementation__validation_cost=V,
        implementation__licence_per_year=L,
        implementation__maintenance_fraction=phi,
        indirect__benefit_per_month=b,
    )
    m, s = run(x, flat(D, horizon), d=discount)
    c0 = max(D / (tau * 3600 * u0), m0 * H) * p0
    c1 = max(D / (tau * g * 3600 * u1), m1 * H) * rho * p0
    build = E * ce + V
    maint = phi * E * ce / 12
    live = horizon - T
    K = build + L / 12 * horizon + maint * live
    gain = live * (c0 - c1 + b)
    cf = [
        (-build / T - L / 12) if t <= T else (c0 - c1 + b - L / 12 - maint)
        for t in range(1, horizon + 1)
    ]
    npv = sum(c * (1 + discount) ** (-t / 12) for t, c in enumerate(cf, start=1))
    net = c0 - c1 + b - L / 12 - maint
    payback = T + (build + T * L / 12) / net
    rel = 1e-9
    assert m[0, M["investment"]] == pytest.approx(K, rel=rel)
    assert m[0, M["gain"]] == pytest.approx(gain, rel=rel)
    assert m[0, M["roi"]] == pytest.approx((gain - K) / K, rel=rel)
    assert m[0, M["npv"]] == pytest.approx(npv, rel=rel)
    assert m[0, M["payback_months"]] == pytest.approx(payback, rel=rel)
    assert m[0, M["tco_baseline"]] == pytest.approx(horizon * c0, rel=rel)
    assert m[0, M["tco_optimized"]] == pytest.approx(T * c0 + live * c1 + K, rel=rel)
    assert m[0, M["instance_hours_saved"]] == pytest.approx(live * (c0 - c1 / rho) / p0, rel=rel)
    assert s[S["cumulative_cash_flow"], 0, -1] == pytest.approx(sum(cf), rel=rel)
    # IRR: the annual rate at which the cash flows' NPV is zero
    irr = m[0, M["irr"]]
    assert sum(c * (1 + irr) ** (-t / 12) for t, c in enumerate(cf, start=1)) == pytest.approx(
        0, abs=1e-6 * K
    )


def test_ramp_and_price_trend_closed_form():
    horizon, T, R, r = 12, 2, 4, -0.2
    x = inputs(
        implementation__months=T,
        implementation__ramp_months=R,
        pricing__annual_change=r,
        implementation__validation_cost=1.0,
    )
    D = 1e7
    _, s = run(x, flat(D, horizon))
    c0 = D / (10 * 3600 * 0.3)
    for t in range(1, horizon + 1):
        price = 10 * math.exp(t * math.log1p(r) / 12)
        a = min(1, max(0, (t - T) / R))
        assert s[S["spend_baseline"], 0, t - 1] == pytest.approx(c0 * price, rel=1e-12)
        assert s[S["spend_optimized"], 0, t - 1] == pytest.approx(
            c0 * price * (1 - a / 2), rel=1e-12
        )


def test_churn_downtime_and_cost_against_hand_computation():
    # lambda huge -> at least one update nearly every month; check bookkeeping vs the oracle
    x = inputs(
        1,
        churn__updates_per_year=24.0,
        churn__cost_per_update=1000.0,
        churn__downtime_months=0.3,
        implementation__months=1,
        implementation__validation_cost=5000.0,
    )
    m, _ = run(x, flat(1e7, 24), seed=5)
    mr, _ = simulate_reference(x, flat(1e7, 24), seed=5, discount_rate=0.0)
    assert m[0, M["model_updates"]] == mr[0, M["model_updates"]] > 10
    np.testing.assert_allclose(m, mr, rtol=1e-9)
    # investment = validation + updates * cost
    assert m[0, M["investment"]] == pytest.approx(5000 + 1000 * m[0, M["model_updates"]], rel=1e-12)


def test_never_paid_back_is_inf():
    x = inputs(implementation__validation_cost=1e9)
    m, _ = run(x, flat(1e6, 12))
    assert math.isinf(m[0, M["payback_months"]])
    assert math.isnan(m[0, M["irr"]]) or m[0, M["irr"]] < -0.99


# ---------------------------------------------------------------- against the NumPy oracle


def random_inputs(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = inputs(n)
    col = {name: j for j, name in enumerate(INPUT_NAMES)}
    x[:, col["demand"]] = rng.random(n)
    x[:, col["baseline.throughput"]] = rng.uniform(2, 20, n)
    x[:, col["baseline.utilization"]] = rng.uniform(0.2, 0.6, n)
    x[:, col["baseline.floor_instances"]] = rng.integers(0, 3, n)
    x[:, col["optimized.throughput_gain"]] = rng.uniform(0.8, 3, n)
    x[:, col["optimized.throughput_gain_at_peak"]] = x[:, col["optimized.throughput_gain"]]
    x[:, col["optimized.price_ratio"]] = rng.uniform(0.5, 1.2, n)
    x[:, col["pricing.annual_change"]] = rng.uniform(-0.3, 0.1, n)
    x[:, col["pricing.annual_volatility"]] = rng.uniform(0, 0.4, n)
    x[:, col["implementation.months"]] = rng.uniform(0, 8, n)
    x[:, col["implementation.ramp_months"]] = rng.uniform(0, 4, n)
    x[:, col["implementation.engineer_months"]] = rng.uniform(1, 10, n)
    x[:, col["implementation.engineer_cost"]] = 20_000
    x[:, col["implementation.validation_cost"]] = rng.uniform(0, 50_000, n)
    x[:, col["implementation.licence_per_year"]] = rng.uniform(0, 20_000, n)
    x[:, col["implementation.maintenance_fraction"]] = rng.uniform(0, 0.3, n)
    x[:, col["churn.updates_per_year"]] = rng.uniform(0, 6, n)
    x[:, col["churn.cost_per_update"]] = rng.uniform(0, 10_000, n)
    x[:, col["churn.downtime_months"]] = rng.uniform(0, 2, n)
    x[:, col["indirect.benefit_per_month"]] = rng.normal(0, 2000, n)
    return x


@pytest.fixture(scope="module")
def paths():
    rng = np.random.default_rng(3)
    d = (
        rng.uniform(1e7, 1e8, (40, 1))
        * np.exp(np.linspace(0, 0.5, 30))[None, :]
        * rng.lognormal(0, 0.1, (40, 30))
    )
    return d[np.argsort(d.sum(axis=1))]


def test_kernel_matches_oracle_draw_by_draw(paths):
    x = random_inputs(3000, 11)
    m, s = run(x, paths, seed=42, d=0.08)
    mr, sr = simulate_reference(x, paths, seed=42, discount_rate=0.08)
    for name, j in M.items():
        a, b = m[:, j], mr[:, j]
        np.testing.assert_array_equal(np.isfinite(a), np.isfinite(b), err_msg=name)
        ok = np.isfinite(a)
        rtol = (
            1e-7 if name == "irr" else 1e-9
        )  # the oracle finds IRR by bisection, the kernel by Newton
        np.testing.assert_allclose(a[ok], b[ok], rtol=rtol, atol=1e-6, err_msg=name)
    np.testing.assert_allclose(s, sr, rtol=1e-9, atol=1e-6)


def test_kernel_agrees_with_oracle_in_distribution(paths):
    # Different seeds, so the draws are independent: the means must agree within
    # 4 standard errors of their difference (sqrt(se1² + se2²)).
    x = random_inputs(4000, 12)
    m, _ = run(x, paths, seed=1, d=0.1, monthly=False)
    mr, _ = simulate_reference(x, paths, seed=2, discount_rate=0.1)
    for name in ("npv", "savings", "tco_baseline", "model_updates"):
        a, b = m[:, M[name]], mr[:, M[name]]
        # the inputs are shared (paired), so use the standard error of the paired difference
        diff = a - b
        se = diff.std(ddof=1) / math.sqrt(diff.size)
        assert abs(diff.mean()) < 4 * se, name


def test_poisson_churn_rate_and_price_volatility():
    n, horizon, T, lam, sigma, r = 20_000, 36, 6.0, 4.0, 0.3, -0.1
    x = inputs(
        n,
        implementation__months=T,
        churn__updates_per_year=lam,
        pricing__annual_volatility=sigma,
        pricing__annual_change=r,
        implementation__validation_cost=1.0,
    )
    m, s = run(x, flat(1e7, horizon), seed=9)
    # number of updates ~ Poisson(lam * (H - T) / 12): mean within 4 s.e.
    k = m[:, M["model_updates"]]
    mu = lam * (horizon - T) / 12
    assert abs(k.mean() - mu) < 4 * math.sqrt(mu / n)
    # log price at month t ~ N(log p0 + t ln(1+r)/12, sigma² t / 12)
    price = s[S["spend_baseline"]] / s[S["instance_hours_baseline"]]
    for t in (1, 12, 36):
        lp = np.log(price[:, t - 1])
        mean, var = math.log(10) + t * math.log1p(r) / 12, sigma**2 * t / 12
        assert abs(lp.mean() - mean) < 4 * math.sqrt(var / n)
        # s.e. of a normal sample variance: var * sqrt(2 / (n - 1))
        assert abs(lp.var(ddof=1) - var) < 4 * var * math.sqrt(2 / (n - 1))


# ---------------------------------------------------------------- reproducibility and the xarray layer


def test_same_seed_same_results_with_1_or_2_threads(paths):
    x = random_inputs(2000, 13)
    before = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        m1, s1 = run(x, paths, seed=77, d=0.1)
        numba.set_num_threads(min(2, numba.config.NUMBA_NUM_THREADS))
        m2, s2 = run(x, paths, seed=77, d=0.1)
    finally:
        numba.set_num_threads(before)
    np.testing.assert_array_equal(m1, m2)
    np.testing.assert_array_equal(s1, s2)
    m3, _ = run(x, paths, seed=78, d=0.1)
    assert not np.array_equal(m1[:, M["npv"]], m3[:, M["npv"]])


def test_draw_offset_splits_a_run_into_batches(paths):
    x = random_inputs(1000, 14)
    whole = simulate(x, paths, seed=5, discount_rate=0.1, monthly=False)
    a = simulate(x[:400], paths, seed=5, discount_rate=0.1, monthly=False)
    b = simulate(x[400:], paths, seed=5, discount_rate=0.1, monthly=False, draw_offset=400)
    joined = xr.concat([a, b], dim="draw")
    xr.testing.assert_equal(whole, joined)


def test_simulate_labels_and_sorts_demand(paths):
    x = xr.DataArray(
        random_inputs(200, 15), dims=("draw", "input"), coords={"input": list(INPUT_NAMES)}
    )
    shuffled = xr.DataArray(
        paths[::-1],
        dims=("path", "month"),
        coords={
            "month": [f"2027-{m:02d}" for m in range(1, 13)]
            + [f"2028-{m:02d}" for m in range(1, 13)]
            + [f"2029-{m:02d}" for m in range(1, 7)]
        },
    )
    ds = simulate(x.isel(input=slice(None, None, -1)), shuffled, seed=3, discount_rate=0.1)
    m, _ = run(x.values, paths, seed=3, d=0.1)
    np.testing.assert_array_equal(ds["npv"].values, m[:, M["npv"]])
    assert ds["cumulative_cash_flow"].dims == ("draw", "month")
    assert str(ds["month"].values[0]) == "2027-01"


def test_bad_inputs_are_refused(paths):
    with pytest.raises(RoicastError, match="expected shape"):
        simulate(np.zeros((3, 5)), paths, seed=1, discount_rate=0.1)
    x = random_inputs(3, 1)
    x[1, 3] = np.nan
    with pytest.raises(RoicastError, match=r"baseline\.price is nan at draw 1"):
        simulate(x, paths, seed=1, discount_rate=0.1)
    with pytest.raises(RoicastError, match="seed"):
        simulate(random_inputs(3, 1), paths, seed=-1, discount_rate=0.1)


def test_price_seed_shares_price_paths_across_studies():
    x = inputs(
        500,
        pricing__annual_volatility=0.3,
        churn__updates_per_year=3.0,
        churn__cost_per_update=100.0,
    )
    demand = flat(1e7, 12)
    _, s1 = simulate_arrays(x, demand, seed=1, discount_rate=0.0, price_seed=77)
    m2, s2 = simulate_arrays(x, demand, seed=2, discount_rate=0.0, price_seed=77)
    m3, _ = simulate_arrays(x, demand, seed=1, discount_rate=0.0, price_seed=77)
    np.testing.assert_array_equal(s1[S["spend_baseline"]], s2[S["spend_baseline"]])  # same market
    assert not np.array_equal(m2[:, M["model_updates"]], m3[:, M["model_updates"]])  # own churn
    mr, _ = simulate_reference(x, demand, seed=2, discount_rate=0.0, price_seed=77)
    np.testing.assert_allclose(m2, mr, rtol=1e-9, equal_nan=True)
