"""An option that ``combines`` others derives the fields it does not set from its parts.

Closed forms per draw (all options share the uniforms of every input): gains
multiply, costs add, churn is the union of the parts' update processes
(expected yearly cost and downtime add), indirect benefits add; a field the
option sets wins; chains compose; the tornado and break-even of a combining
option use the derived values, and every place that builds input matrices
agrees with the sampled draws.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from roicast.distributions import Combined, Fixed, quantile_of
from roicast.errors import RoicastError
from roicast.evaluate import ModelEvaluator
from roicast.sampling import base_point, option_evaluator, sample_inputs
from roicast.spec import spec_from_dict
from roicast.study import run_study
from tests.conftest import no_history_raw

N = 2000


def _raw() -> dict:
    """Two parts with different shapes of every derived input, and their combination."""
    raw = no_history_raw("quantization", draws=400, seed=3)
    raw["simulation"].update(sobol=False)
    raw.pop("correlations", None)
    raw["option"] = [
        {
            "name": "a",
            "throughput_gain": {"dist": "pert", "min": 1.1, "mode": 1.4, "max": 1.9},
            "implementation": {
                "months": {"dist": "uniform", "low": 1, "high": 3},
                "ramp_months": 1,
                "engineer_months": {"dist": "pert", "min": 2, "mode": 3, "max": 6},
                "engineer_cost": 20000,
                "validation_cost": {"dist": "uniform", "low": 5000, "high": 15000},
                "licence_per_year": 1200,
                "maintenance_fraction": 0.1,
            },
            "churn": {
                "updates_per_year": {"dist": "triangular", "min": 1, "mode": 2, "max": 6},
                "cost_per_update": {"dist": "pert", "min": 2000, "mode": 5000, "max": 12000},
                "downtime_months": 0.5,
            },
            "indirect": {"benefit_per_month": {"dist": "normal", "mean": 500, "sd": 300}},
        },
        {
            "name": "b",
            "throughput_gain": {"dist": "uniform", "low": 1.05, "high": 1.3},
            "implementation": {
                "months": {"dist": "pert", "min": 2, "mode": 2.5, "max": 5},
                "ramp_months": 2,
                "engineer_months": {"dist": "uniform", "low": 1, "high": 2},
                "engineer_cost": 30000,
                "validation_cost": 4000,
                "licence_per_year": {"dist": "uniform", "low": 0, "high": 6000},
                "maintenance_fraction": 0.3,
            },
            "churn": {
                "updates_per_year": {"dist": "uniform", "low": 4, "high": 5},
                "cost_per_update": 800,
                "downtime_months": {"dist": "uniform", "low": 0, "high": 0.2},
            },
            "indirect": {"benefit_per_month": 250},
        },
        {"name": "ab", "combines": ["a", "b"]},
    ]
    return raw


@pytest.fixture(scope="module")
def spec():
    return spec_from_dict(_raw())


@pytest.fixture(scope="module")
def sample(spec):
    return sample_inputs(spec, N, n_paths=50, seed=11)


def _v(sample, option: str, name: str) -> np.ndarray:
    return sample.values.sel(option=option, input=name).values


def test_gains_multiply_per_draw(sample):
    g = {o: _v(sample, o, "optimized.throughput_gain") for o in ("a", "b", "ab")}
    np.testing.assert_allclose(g["ab"], g["a"] * g["b"], rtol=1e-15)
    # the parts' gains move together (one uniform per input): the product spans the extremes
    assert g["ab"].max() == pytest.approx(g["a"].max() * g["b"].max(), rel=1e-12)
    # the gain at peak is tied to the gain when no part gives one
    np.testing.assert_array_equal(_v(sample, "ab", "optimized.throughput_gain_at_peak"), g["ab"])


def test_costs_add_per_draw(sample):
    def each(name):
        return [_v(sample, o, f"implementation.{name}") for o in ("a", "b", "ab")]

    ea, eb, eab = each("engineer_months")
    ca, cb, cab = each("engineer_cost")
    fa, fb, fab = each("maintenance_fraction")
    np.testing.assert_allclose(eab, ea + eb, rtol=1e-15)
    np.testing.assert_allclose(eab * cab, ea * ca + eb * cb, rtol=1e-12)  # engineering cost
    np.testing.assert_allclose(fab * eab * cab, fa * ea * ca + fb * eb * cb, rtol=1e-12)  # upkeep
    for name in ("validation_cost", "licence_per_year"):
        a, b, ab = each(name)
        np.testing.assert_allclose(ab, a + b, rtol=1e-15)
    ma, mb, mab = each("months")
    np.testing.assert_array_equal(mab, np.maximum(ma, mb))  # built in parallel
    ra, rb, rab = each("ramp_months")
    np.testing.assert_array_equal(rab, np.maximum(ra, rb))
    # costs differ between draws in both parts: the derivation is per draw, not at the medians
    assert np.ptp(cab) > 0


def test_churn_is_the_union_of_update_processes(sample):
    lam = {o: _v(sample, o, "churn.updates_per_year") for o in ("a", "b", "ab")}
    cost = {o: _v(sample, o, "churn.cost_per_update") for o in ("a", "b", "ab")}
    down = {o: _v(sample, o, "churn.downtime_months") for o in ("a", "b", "ab")}
    np.testing.assert_allclose(lam["ab"], lam["a"] + lam["b"], rtol=1e-15)
    yearly = {o: lam[o] * cost[o] for o in lam}  # expected churn cost a year
    np.testing.assert_allclose(yearly["ab"], yearly["a"] + yearly["b"], rtol=1e-12)
    lost = {o: lam[o] * down[o] for o in lam}  # expected months of downtime a year
    np.testing.assert_allclose(lost["ab"], lost["a"] + lost["b"], rtol=1e-12)
    b = {o: _v(sample, o, "indirect.benefit_per_month") for o in ("a", "b", "ab")}
    np.testing.assert_allclose(b["ab"], b["a"] + b["b"], rtol=1e-15)


def test_expected_yearly_churn_cost_adds_in_the_simulation():
    """Simulated: with every other input known, mean churn spend of ab = a's + b's.

    Each option's churn cost in a draw is a compound Poisson sum; the test
    compares the means over 20 000 draws within 4 Monte Carlo standard errors
    of the difference (each mean's s.e. from its draws' sd, added in quadrature).
    """
    raw = _raw()
    for o in raw["option"][:2]:
        o["throughput_gain"] = 1.0  # no savings: the investment is the whole cash flow
        o["indirect"] = {"benefit_per_month": 0}
        o["implementation"].update(
            months=1, engineer_months=0, validation_cost=0, licence_per_year=0, ramp_months=0
        )
    raw["baseline"]["floor_instances"] = 0
    spec = spec_from_dict(raw)
    res = run_study(spec, draws=20_000, seed=5, sensitivity=False, monthly=False)
    inv = {o: res.options[o].metrics["investment"].values for o in ("a", "b", "ab")}
    diff = inv["ab"].mean() - inv["a"].mean() - inv["b"].mean()
    se = np.sqrt(sum(v.var(ddof=1) / v.size for v in inv.values()))
    assert abs(diff) < 4 * se
    assert inv["ab"].mean() > 0


def test_an_explicit_field_overrides_the_derivation():
    raw = _raw()
    raw["option"][2]["throughput_gain"] = {"dist": "pert", "min": 1.1, "mode": 1.5, "max": 2.0}
    raw["option"][2]["churn"] = {"cost_per_update": 3000}
    spec = spec_from_dict(raw)
    smp = sample_inputs(spec, N, n_paths=50, seed=11)
    own = spec.options[2].optimized.throughput_gain
    u = smp.uniforms.sel(input="optimized.throughput_gain").values
    np.testing.assert_array_equal(_v(smp, "ab", "optimized.throughput_gain"), own.ppf(u))
    np.testing.assert_array_equal(_v(smp, "ab", "churn.cost_per_update"), 3000.0)
    # the rate is still the union
    lam = {o: _v(smp, o, "churn.updates_per_year") for o in ("a", "b", "ab")}
    np.testing.assert_allclose(lam["ab"], lam["a"] + lam["b"], rtol=1e-15)
    combo = smp.combinations["ab"]
    assert set(combo.overridden) == {"optimized.throughput_gain", "churn.cost_per_update"}
    assert "optimized.throughput_gain" not in combo.derived
    assert "churn.updates_per_year" in combo.derived


def test_a_chain_of_three_composes():
    raw = _raw()
    c = copy.deepcopy(raw["option"][1])
    c.update(name="c", throughput_gain={"dist": "triangular", "min": 1.0, "mode": 1.1, "max": 1.5})
    raw["option"] = [*raw["option"], c, {"name": "abc", "combines": ["ab", "c"]}]
    spec = spec_from_dict(raw)
    smp = sample_inputs(spec, N, n_paths=50, seed=4)
    g = {o: _v(smp, o, "optimized.throughput_gain") for o in ("a", "b", "c", "abc")}
    np.testing.assert_allclose(g["abc"], g["a"] * g["b"] * g["c"], rtol=1e-14)
    lam = {o: _v(smp, o, "churn.updates_per_year") for o in ("a", "b", "c", "abc")}
    cost = {o: _v(smp, o, "churn.cost_per_update") for o in lam}
    np.testing.assert_allclose(
        lam["abc"] * cost["abc"], sum(lam[o] * cost[o] for o in "abc"), rtol=1e-12
    )
    e = {o: _v(smp, o, "implementation.engineer_months") for o in ("a", "b", "c", "abc")}
    np.testing.assert_allclose(e["abc"], e["a"] + e["b"] + e["c"], rtol=1e-14)
    # the chain's marginal is a combination of a combination
    d = smp.distributions["abc"]["optimized.throughput_gain"]
    assert isinstance(d, Combined) and isinstance(d.parts[0], Combined)


def test_gain_at_peak_composes_its_ratio():
    raw = _raw()
    raw["option"][0]["throughput_gain_at_peak"] = {"dist": "uniform", "low": 1.0, "high": 1.3}
    spec = spec_from_dict(raw)
    smp = sample_inputs(spec, N, n_paths=50, seed=2)
    peak = "optimized.throughput_gain_at_peak"
    g = {o: _v(smp, o, "optimized.throughput_gain") for o in ("a", "b", "ab")}
    gp = {o: _v(smp, o, peak) for o in ("a", "b", "ab")}
    np.testing.assert_array_equal(gp["b"], g["b"])  # b keeps its gain in every slot
    np.testing.assert_allclose(gp["ab"], g["ab"] * gp["a"] / g["a"], rtol=1e-14)
    assert peak in smp.free_inputs("ab") and peak not in smp.ties["ab"]


def test_every_place_that_builds_matrices_agrees_with_the_draws(sample):
    """The evaluator (tornado, break-even, Sobol, three-point) at a draw's probabilities is that draw."""
    ev = option_evaluator(
        sample, "ab", np.ones((50, 36)), n_noise=1, seed=0, price_seed=0, discount=0.1, horizon=36
    )
    free = sample.free_inputs("ab")
    d = sample.distributions["ab"]
    rows = slice(0, 300)
    u = sample.uniforms.isel(draw=rows)
    settings = {n: d[n].ppf(u.sel(input=n).values) for n in free}
    x = ev._matrix(settings)
    np.testing.assert_allclose(x, sample.values.sel(option="ab").values[rows], rtol=1e-9)
    # the plain evaluator leaves the rate-weighted cost at its value at the median rates
    plain = ModelEvaluator(
        np.ones((50, 36)),
        base_point(d),
        sample.ties["ab"],
        n_noise=1,
        seed=0,
        price_seed=0,
        discount=0.1,
        horizon=36,
    )
    j = list(sample.values["input"].values).index("churn.cost_per_update")
    assert not np.allclose(plain._matrix(settings)[:, j], x[:, j], rtol=1e-6)


def test_quantile_of_inverts_a_combined_quantile_function(sample):
    d = sample.distributions["ab"]["churn.updates_per_year"]
    q = np.linspace(0.01, 0.99, 33)
    np.testing.assert_allclose(quantile_of(d, d.ppf(q)), q, atol=1e-12)
    assert quantile_of(Fixed(2.0), np.array([2.0]))[0] == 0.5


@pytest.fixture(scope="module")
def study(spec):
    return run_study(spec, draws=400, seed=3)


def test_tornado_and_break_even_use_the_derived_values(study, sample):
    sim = study.spec.simulation
    parts = {o: study.sample.distributions[o]["optimized.throughput_gain"] for o in ("a", "b")}
    tor = study.options["ab"].tornado["npv"].loc["optimized.throughput_gain"]
    for q, col in ((sim.tornado_low, "low_value"), (sim.tornado_high, "high_value")):
        want = parts["a"].ppf(np.array([q]))[0] * parts["b"].ppf(np.array([q]))[0]
        assert tor[col] == pytest.approx(want, rel=1e-12)
    cost = study.options["ab"].tornado["npv"].loc["implementation.validation_cost"]
    va = study.sample.distributions["a"]["implementation.validation_cost"]
    assert cost["low_value"] == pytest.approx(va.ppf(np.array([sim.tornado_low]))[0] + 4000)
    be = study.options["ab"].break_even.to_dict()
    row = next(r for r in be["inputs"] if r["input"] == "optimized.throughput_gain")
    if row["value"] is not None:
        q = np.array([row["quantile"]])
        assert row["value"] == pytest.approx(parts["a"].ppf(q)[0] * parts["b"].ppf(q)[0], rel=1e-9)
    # the base point is every derived input at its median: the parts' medians composed
    base = study.options["ab"].tornado["npv"]["base"].iloc[0]
    assert np.isfinite(base)


def test_summary_lists_derived_and_overridden_fields(study):
    from roicast.report.summary import summary

    doc = summary(study)
    (combo,) = doc["options_comparison"]["combinations"]
    assert combo["overridden"] == [] and "churn.cost_per_update" in combo["derived"]
    assert combo["consistent_basis"]["derived"] == combo["derived"]
    per = doc["option_inputs"]["options"]["ab"]
    assert per["combination"]["parts"] == ["a", "b"]
    src = per["overrides"]["optimized.throughput_gain"]["source"]
    assert src.startswith("derived from its parts")


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda r: r["option"][0].update(utilization=0.5),
            "option[ab].optimized.utilization: its parts a (0.5) and b (left out) differ",
        ),
        (
            lambda r: r["option"][2].update(churn={"cost_per_update": -1}),
            "option[ab].churn.cost_per_update",
        ),
        (lambda r: r["option"][2].update(thruput=2), "option[ab].thruput: unknown key"),
    ],
)
def test_combining_options_are_validated_by_name_and_field(mutate, expected):
    raw = _raw()
    mutate(raw)
    with pytest.raises(RoicastError) as e:
        spec_from_dict(raw, source="s.toml")
    assert expected in str(e.value)


def test_parts_that_agree_pass_their_value_on():
    raw = _raw()
    for o in raw["option"][:2]:
        o["utilization"] = 0.5
    spec = spec_from_dict(raw)
    ab = spec.options[2]
    assert ab.optimized.utilization == Fixed(0.5)
    assert "optimized.utilization" not in ab.inherits


def test_the_chain_rederives_like_its_draws():
    """A combination of a combination: the evaluator at a draw's probabilities is that draw."""
    raw = _raw()
    c = copy.deepcopy(raw["option"][0])
    c.update(name="c")
    c["churn"] = {"updates_per_year": {"dist": "uniform", "low": 0.5, "high": 1}}
    raw["option"] = [*raw["option"], c, {"name": "abc", "combines": ["ab", "c"]}]
    spec = spec_from_dict(raw)
    smp = sample_inputs(spec, 300, n_paths=50, seed=9)
    ev = option_evaluator(
        smp, "abc", np.ones((50, 36)), n_noise=1, seed=0, price_seed=0, discount=0.1, horizon=36
    )
    d = smp.distributions["abc"]
    settings = {n: d[n].ppf(smp.uniforms.sel(input=n).values) for n in smp.free_inputs("abc")}
    np.testing.assert_allclose(ev._matrix(settings), smp.values.sel(option="abc").values, rtol=1e-9)
