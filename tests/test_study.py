"""The study runner: model against a hand computation, and its use of the sensitivity stage."""

from __future__ import annotations

import copy
import math
import tomllib
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest

from roicast.errors import RoicastError
from roicast.evaluate import ModelEvaluator
from roicast.report.summary import summary
from roicast.sampling import base_point
from roicast.simulate import INPUT_NAMES, METRIC_NAMES, NEUTRAL_INPUTS, simulate_arrays
from roicast.spec import spec_from_dict
from roicast.study import draws_until_stable, forecast_for, run_study
from tests.conftest import no_history_raw

DEMO = Path(str(files("roicast.demo")))
SEED = 17


def fast_raw() -> dict:
    """The demo spec in no-history mode with one demand path shape (fast, no forecast fit).

    ``start_volume`` and ``annual_growth`` are fixed, so every demand path is the
    same and a spec with every input fixed reproduces any setting of the
    tornado exactly.
    """
    raw = tomllib.loads((DEMO / "quantization.toml").read_text())
    raw["project"]["start"] = "2026-01"
    raw["demand"] = {"start_volume": 2.5e7, "annual_growth": 0.3, "paths": 200}
    raw["simulation"].update(draws=1000, seed=SEED, tornado_draws=200, sobol_n=256)
    return raw


@pytest.fixture(scope="module")
def study():
    spec = spec_from_dict(fast_raw())
    return run_study(spec)


def _evaluator(result, option: str = "optimized") -> ModelEvaluator:
    """The evaluator the study's sensitivity analysis used, rebuilt from its parts."""
    spec = result.spec
    return ModelEvaluator(
        result.demand_sorted,
        base_point(result.sample.distributions[option]),
        result.sample.ties[option],
        n_noise=min(spec.simulation.tornado_draws, result.draws),
        seed=result.seed,
        price_seed=result.seed,
        discount=spec.project.discount_rate,
        horizon=spec.project.horizon_months,
    )


# ------------------------------------------------------------ deterministic study

DET = {
    "V0": 5.0e7,  # units a month, flat
    "tau0": 2.0,
    "u0": 0.35,
    "g": 1.5,
    "u1": 0.4,
    "rho": 1.1,
    "p0": 3.5,
    "m0": 2.0,
    "m1": 20.0,  # binds: D / κ1 = 11 574 h < 20 · 730 h
    "r": -0.1,
    "T": 2.5,  # fractional go-live
    "R": 2.0,
    "E": 4.0,
    "ce": 20_000.0,
    "V": 10_000.0,
    "L": 1_200.0,
    "phi": 0.15,
    "b": 500.0,
}
H, DISCOUNT = 24, 0.08


def det_raw(**changes) -> dict:
    p = {**DET, **changes}
    return {
        "project": {
            "name": "det",
            "start": "2026-01",
            "horizon_months": H,
            "discount_rate": DISCOUNT,
        },
        "demand": {"start_volume": p["V0"], "annual_growth": 0.0, "paths": 50},
        "baseline": {
            "throughput": p["tau0"],
            "utilization": p["u0"],
            "price": p["p0"],
            "floor_instances": p["m0"],
        },
        "optimized": {
            "throughput_gain": p["g"],
            "utilization": p["u1"],
            "price_ratio": p["rho"],
            "floor_instances": p["m1"],
        },
        "pricing": {"annual_change": p["r"], "annual_volatility": 0.0},
        "implementation": {
            "months": p["T"],
            "ramp_months": p["R"],
            "engineer_months": p["E"],
            "engineer_cost": p["ce"],
            "validation_cost": p["V"],
            "licence_per_year": p["L"],
            "maintenance_fraction": p["phi"],
        },
        "churn": {"updates_per_year": 0, "cost_per_update": 5_000, "downtime_months": 0.5},
        "indirect": {"benefit_per_month": p["b"]},
        "simulation": {"draws": 200, "seed": 11, "tornado_draws": 100, "sobol_n": 256},
    }


def hand_computation(p: dict, horizon: int, d: float) -> dict[str, float]:
    """NPV, ROI, payback and investment from the README's model equations, month by month."""
    h = 730.0
    k0 = p["tau0"] * 3600 * p["u0"]
    k1 = p["tau0"] * p["g"] * 3600 * p["u1"]
    T, R = p["T"], max(p["R"], 1.0)
    eng = p["E"] * p["ce"]
    build = eng + p["V"]
    span = max(T, 1.0)
    cfs, gain, K, npv = [], 0.0, 0.0, 0.0
    for t in range(1, horizon + 1):
        P = p["p0"] * math.exp(t * math.log(1 + p["r"]) / 12)  # σ = 0
        G0 = max(p["V0"] / k0, p["m0"] * h)
        G1 = max(p["V0"] / k1, p["m1"] * h)
        C0, C1 = G0 * P, G1 * p["rho"] * P
        a = min(max((t - T) / R, 0.0), 1.0)  # no churn: no downtime
        S, B = a * (C0 - C1), a * p["b"]
        build_share = max(min(t, span) - (t - 1), 0.0) / span  # spread over (0, max(T, 1)]
        live = min(max(t - T, 0.0), 1.0)  # month ⌈T⌉ partly live
        inv = build * build_share + p["L"] / 12 + p["phi"] * eng / 12 * live
        cf = S + B - inv
        cfs.append(cf)
        gain += S + B
        K += inv
        npv += cf * (1 + d) ** (-t / 12)
    cum, payback = 0.0, math.inf
    for t, cf in enumerate(cfs, start=1):
        prev, cum = cum, cum + cf
        if cum >= 0:
            payback = (t - 1) + (0.0 if prev >= 0 else -prev / cf)
            break
    return {"npv": npv, "roi": (gain - K) / K, "payback_months": payback, "investment": K}


@pytest.mark.parametrize(
    "changes",
    [{}, {"T": 0.4, "R": 0.0, "L": 0.0}, {"m1": 0.0, "r": 0.05, "b": -300.0, "T": 6.0}],
    ids=["fractional-go-live", "live-in-month-1", "no-floor-rising-prices"],
)
def test_deterministic_study_matches_the_hand_computation(changes):
    p = {**DET, **changes}
    expected = hand_computation(p, H, DISCOUNT)
    assert expected["npv"] > 0 and math.isfinite(expected["payback_months"])
    result = run_study(spec_from_dict(det_raw(**changes)), sensitivity=False)
    m = result.options["optimized"].metrics
    for k, v in expected.items():
        x = m[k].values
        # the same in every draw: no uncertainty left (demand paths identical)
        assert np.ptp(x) <= 1e-12 * abs(v), k
        assert x[0] == pytest.approx(v, rel=1e-9), k
    assert (m["model_updates"].values == 0).all()
    doc = summary(result)
    assert doc["npv"]["p10"] == pytest.approx(expected["npv"], rel=1e-9)
    assert doc["prob_npv_negative"] == 0.0
    assert doc["decision"]["verdict"] == "go"


def test_deterministic_study_runs_with_full_sensitivity():
    changes = {"T": 0.4, "R": 0.0, "L": 0.0}
    result = run_study(spec_from_dict(det_raw(**changes)))  # sensitivity=True
    expected = hand_computation({**DET, **changes}, H, DISCOUNT)
    npv = result.options["optimized"].metrics["npv"].values
    assert npv[0] == pytest.approx(expected["npv"], rel=1e-9)
    assert summary(result)["value_of_information"]["evpi"] == pytest.approx(0.0, abs=1e-6)


# ------------------------------------------------------------------- tornado


def _fixed_raw(result, point: dict[str, float]) -> dict:
    """fast_raw with every input fixed at ``point`` (tied inputs left out so they stay tied)."""
    raw = fast_raw()
    ties = result.sample.ties["optimized"]
    for name, value in point.items():
        if name == "demand" or name in ties or name in NEUTRAL_INPUTS:  # fleet inputs at defaults
            continue
        sec, field = name.split(".")
        raw[sec][field] = float(value)
    return raw


def test_tornado_sorted_by_swing_and_bars_are_means_at_p10_p90(study):
    res = study.options["optimized"]
    dists = study.sample.distributions["optimized"]
    table = res.tornado["npv"]
    assert list(table.index) == list(table.sort_values("swing", ascending=False).index)
    assert set(table.index) == set(study.sample.free_inputs("optimized"))
    np.testing.assert_allclose(table["swing"], (table["high"] - table["low"]).abs(), rtol=1e-12)
    assert table["swing"].iloc[0] > table["swing"].iloc[-1] >= 0
    assert table["base"].nunique() == 1
    for name, row in table.iterrows():
        assert row["low_value"] == pytest.approx(float(dists[name].ppf(0.1)), rel=1e-12)
        assert row["high_value"] == pytest.approx(float(dists[name].ppf(0.9)), rel=1e-12)
    # Recompute the widest bar independently: a spec with every input fixed at
    # its median and that input at its P10 (P90), run for n_noise = 200 draws
    # with the study's seed, sees the same price paths and model updates as the
    # tornado's common random numbers (draws 0..199), so the mean NPV is equal
    # up to summation order.
    name = table.index[0]
    n_noise = min(study.spec.simulation.tornado_draws, study.draws)
    base = base_point(dists)
    for end, q in (("low", 0.1), ("high", 0.9)):
        raw = _fixed_raw(study, {**base, name: float(dists[name].ppf(q))})
        fixed = run_study(spec_from_dict(raw), draws=n_noise, seed=SEED, sensitivity=False)
        mean_npv = float(fixed.options["optimized"].metrics["npv"].mean())
        assert table.loc[name, end] == pytest.approx(mean_npv, rel=1e-9), end
    # and with the evaluator the study used
    ev = _evaluator(study)
    point = {k: np.array([v]) for k, v in base.items()}
    low = ev.mean({**point, name: np.array([float(dists[name].ppf(0.1))])})
    assert low["npv"][0] == pytest.approx(table.loc[name, "low"], rel=1e-12)


def test_tornado_for_roi_and_payback_too(study):
    tor = study.options["optimized"].tornado
    assert set(tor) == {"npv", "roi", "payback_months"}
    for df in tor.values():
        assert list(df["swing"]) == sorted(df["swing"], reverse=True)
        assert np.isfinite(df[["low", "high", "base"]].to_numpy()).all()


# ---------------------------------------------------- break-even, three-point, VOI


def test_break_even_value_gives_zero_mean_npv(study):
    res = study.options["optimized"]
    be = res.break_even
    name = "optimized.throughput_gain"
    value = be[name].value
    assert value is not None, be[name].reason
    dists = study.sample.distributions["optimized"]
    lo, hi = dists[name].bounds()
    assert lo < value < hi
    # (a) Same noise as the search (the study's CRN evaluator): the residual is
    # only Brent's tolerance, xtol = 1e-4 in quantile units, times the slope of
    # mean NPV in quantile units (estimated by a ±0.01 difference); we allow 2x.
    ev = _evaluator(study)
    q = float(be[name].quantile)
    at = ev.mean_npv(
        {name: np.array([value, dists[name].ppf(q - 0.01), dists[name].ppf(q + 0.01)])}
    )
    slope = abs(at[2] - at[1]) / 0.02
    assert abs(at[0]) <= 2 * 1e-4 * slope + 1e-6
    npv_sd = float(res.metrics["npv"].std())
    assert abs(at[0]) < 1e-3 * npv_sd  # small on the study's NPV scale
    # (b) Fresh noise (draws 10**6 .. 10**6 + 1999, never used by the study):
    # the break-even solves a mean over n_noise = 200 noise draws, and the fresh
    # mean over 2000 has its own error, so mean NPV here is 0 ± s·sqrt(1/200 + 1/2000)
    # with s the per-draw sd at that point; 4 of those is a 1-in-15 000 false alarm.
    point = base_point(dists) | {name: value}
    x = np.tile([point[n] for n in INPUT_NAMES], (2000, 1))
    x[:, INPUT_NAMES.index("optimized.utilization")] = point["baseline.utilization"]
    x[:, INPUT_NAMES.index("optimized.floor_instances")] = point["baseline.floor_instances"]
    m, _ = simulate_arrays(
        x,
        study.demand_sorted,
        seed=SEED,
        discount_rate=study.spec.project.discount_rate,
        monthly=False,
        draw_offset=10**6,
    )
    npv = m[:, METRIC_NAMES.index("npv")]
    s = npv.std(ddof=1)
    assert s > 0
    assert abs(npv.mean()) <= 4 * s * math.sqrt(1 / 200 + 1 / 2000)


def test_break_even_not_within_range_has_a_reason(study):
    items = study.options["optimized"].break_even.items
    missing = [it for it in items if it.value is None]
    assert missing  # the demo has inputs that cannot sink this NPV alone
    for it in missing:
        assert it.reason.startswith("not within the input's range")


def test_three_point_cases_ordered_and_base_is_the_tornado_base(study):
    res = study.options["optimized"]
    tp = res.three_point
    out = tp.output
    assert out["adverse"] <= out["base"] <= out["favourable"]
    assert out["adverse"] < out["favourable"]
    assert tp.label == "deterministic"
    assert out["base"] == pytest.approx(res.tornado["npv"]["base"].iloc[0], rel=1e-9)
    det = summary(study)["scenarios"]["deterministic"]
    assert det["adverse"] <= det["base"] <= det["favourable"]


def test_evpi_at_least_every_evppi_at_least_zero(study):
    res = study.options["optimized"]
    npv = res.metrics["npv"].values
    expected = np.maximum(npv, 0).mean() - max(npv.mean(), 0)
    evpi = res.evpi
    assert evpi == pytest.approx(expected, rel=1e-12)
    evppi = res.evppi
    assert set(evppi.index) == set(study.sample.free_inputs("optimized"))
    assert evpi > 0  # P(NPV < 0) is not 0 in this study
    assert evpi >= evppi.max() >= 0
    assert (evppi >= -1e-9 * evpi).all()


def test_sensitivity_false_skips_the_extras(study):
    quick = run_study(study.spec, draws=500, sensitivity=False)
    res = quick.options["optimized"]
    sens = ("rankings", "sobol", "break_even", "three_point", "evpi", "evppi", "scenarios_npv")
    assert all(getattr(res, k) is None for k in sens)
    assert not res.convergence.empty
    assert not res.tornado["npv"].empty  # the tornado is always computed
    doc = summary(quick)
    assert doc["sensitivity"] == {} and doc["value_of_information"] == {}
    assert "deterministic" not in doc["scenarios"]
    full = study.options["optimized"]
    assert all(getattr(full, k) is not None for k in sens)


def test_same_seed_same_numbers(study):
    again = run_study(study.spec, sensitivity=False)
    np.testing.assert_array_equal(
        again.options["optimized"].metrics["npv"].values,
        study.options["optimized"].metrics["npv"].values,
    )


# --------------------------------------------------------------- until stable


@pytest.fixture(scope="module")
def fast_spec_and_forecast():
    spec = spec_from_dict(fast_raw())
    return spec, forecast_for(spec, seed=SEED)


def test_draws_until_stable_converges_in_batches(fast_spec_and_forecast):
    spec, fc = fast_spec_and_forecast
    # P10 of NPV is near 0 in this study, so its relative half-width is the
    # slowest to shrink: ±25 % needs ~1 000 draws, ±10 % ~5 000.
    n, record = draws_until_stable(spec, 0.25, seed=SEED, forecast=fc, batch=500, max_draws=10_000)
    assert n % 500 == 0 and 500 <= n < 10_000
    rec = record["options"]["optimized"]
    assert rec["converged"] and rec["max_rel_half_width"] <= 0.25 and rec["draws"] == n
    assert record["tol"] == 0.25 and record["batch"] == 500
    # a tighter tolerance needs more draws, still a multiple of the batch
    n2, rec2 = draws_until_stable(spec, 0.1, seed=SEED, forecast=fc, batch=500, max_draws=10_000)
    assert rec2["options"]["optimized"]["converged"]
    assert n2 % 500 == 0 and n < n2 < 10_000


def test_draws_until_stable_stops_at_the_cap(fast_spec_and_forecast):
    spec, fc = fast_spec_and_forecast
    n, record = draws_until_stable(spec, 1e-4, seed=SEED, forecast=fc, batch=200, max_draws=600)
    assert n == 600
    assert not record["options"]["optimized"]["converged"]
    assert record["options"]["optimized"]["max_rel_half_width"] > 1e-4


@pytest.mark.parametrize("tol", [0.0, 1.0, 2.0, -0.01])
def test_draws_until_stable_refuses_tol_outside_0_1(fast_spec_and_forecast, tol):
    spec, fc = fast_spec_and_forecast
    with pytest.raises(RoicastError) as e:
        draws_until_stable(spec, tol, seed=SEED, forecast=fc, batch=200)
    msg = str(e.value)
    assert msg.startswith("--until-stable:") and "must be in (0, 1)" in msg and "\n" not in msg


def test_draws_until_stable_refuses_cap_below_batch(fast_spec_and_forecast):
    spec, fc = fast_spec_and_forecast
    with pytest.raises(RoicastError, match=r"--max-draws: 100 must be at least the batch size 200"):
        draws_until_stable(spec, 0.1, seed=SEED, forecast=fc, batch=200, max_draws=100)


def test_too_few_draws_refused():
    spec = spec_from_dict(det_raw())
    with pytest.raises(RoicastError, match="draws: 50 is too few; use at least 100"):
        run_study(spec, draws=50)


def test_raw_unchanged_by_spec_building():
    raw = fast_raw()
    before = copy.deepcopy(raw)
    spec_from_dict(raw)
    assert raw == before


def test_absurd_magnitudes_are_refused_at_validation_naming_the_field():
    raw = no_history_raw(draws=200)
    raw["demand"] = {"start_volume": 1e306, "annual_growth": 0.0, "paths": 20}
    with pytest.raises(RoicastError, match=r"demand.start_volume: value 1e\+306; must lie in"):
        spec_from_dict(raw)


def test_cash_flows_that_overflow_are_refused_naming_the_draw():
    """The last guard (validation bounds every magnitude first): overflowing draws are named."""
    import xarray as xr

    from roicast.sampling import sample_inputs
    from roicast.study import _check_finite

    spec = spec_from_dict(no_history_raw(draws=200))
    sample = sample_inputs(spec, 200, n_paths=20, seed=0)
    npv = np.zeros(200)
    npv[3] = 1e200
    metrics = xr.Dataset({"npv": ("draw", npv), "investment": ("draw", np.ones(200))})
    with pytest.raises(
        RoicastError,
        match=r"option\[optimized\]: the cash flows overflow in 1 of 200 draws \(first: draw 3, ",
    ):
        _check_finite(metrics, sample, "optimized")


def test_roi_tornado_is_undefined_not_zero_when_there_is_no_investment():
    raw = no_history_raw(draws=200)
    impl = raw["implementation"]
    impl.update(engineer_months=0, validation_cost=0, licence_per_year=0, maintenance_fraction=0)
    raw["churn"]["cost_per_update"] = 0
    res = run_study(spec_from_dict(raw), sensitivity=False)
    roi = res.options["optimized"].tornado["roi"]
    assert roi["low"].isna().all() and roi["high"].isna().all()
