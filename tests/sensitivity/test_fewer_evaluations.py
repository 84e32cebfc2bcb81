"""Fewer model evaluations, the same numbers: the evaluator's row cache and affine
interpolation, goal seek on the undecided draws, the forecast's cached bands.

Every check compares the fast path with the plain computation on the same common
random numbers, so the tolerances are rounding tolerances, not Monte Carlo ones:
no statistical error enters (both sides average the very same draws).
"""

from __future__ import annotations

import numpy as np
import pytest

import roicast.evaluate as evaluate
from roicast.evaluate import AFFINE_INPUTS, ModelEvaluator
from roicast.report import review
from roicast.sampling import base_point
from roicast.spec import spec_from_dict
from roicast.study import run_study
from tests.conftest import no_history_raw


@pytest.fixture(scope="module")
def study():
    raw = no_history_raw(draws=2000, seed=5)
    raw["simulation"].update(tornado_draws=200, sobol=False)
    raw["implementation"].update(  # every affine input uncertain
        engineer_cost={"dist": "uniform", "low": 15000, "high": 30000},
        licence_per_year={"dist": "uniform", "low": 0, "high": 20000},
        maintenance_fraction={"dist": "uniform", "low": 0.05, "high": 0.3},
    )
    return run_study(spec_from_dict(raw), sensitivity=False)


def _evaluator(result, n_noise: int = 200, seed_shift: int = 0) -> ModelEvaluator:
    spec = result.spec
    return ModelEvaluator(
        result.demand_sorted,
        base_point(result.sample.distributions["optimized"]),
        result.sample.ties["optimized"],
        n_noise=n_noise,
        seed=result.seed + seed_shift,
        price_seed=result.seed + seed_shift,
        discount=spec.project.discount_rate,
        horizon=spec.project.horizon_months,
    )


def _direct_mean_npv(ev: ModelEvaluator, settings) -> np.ndarray:
    """Mean NPV per row straight from the kernel (no cache, no interpolation)."""
    x = ev._matrix(settings)
    k = ev.n_noise
    m = ev._run(np.repeat(x, k, axis=0), np.tile(np.arange(k, dtype=np.int64), x.shape[0]))
    return m.reshape(x.shape[0], k, -1)[:, :, evaluate._NPV].mean(axis=1)


def test_rows_are_cached_bit_for_bit_and_shared(study):
    ev = _evaluator(study, seed_shift=101)  # settings no other test uses: a fresh cache
    gain = np.array([1.2, 1.5, 1.5, 1.9])  # a repeated row is run once
    first = ev.mean({"optimized.throughput_gain": gain})
    assert ev.rows_evaluated == 3 * ev.n_noise
    again = _evaluator(study, seed_shift=101).mean({"optimized.throughput_gain": gain[::-1]})
    for key in first:  # a second evaluator with the same settings runs nothing
        np.testing.assert_array_equal(again[key], first[key][::-1])
    direct = _direct_mean_npv(ev, {"optimized.throughput_gain": gain})
    np.testing.assert_allclose(first["npv"], direct, rtol=1e-13)  # the same draws averaged
    other = _evaluator(study, n_noise=100, seed_shift=101)  # other settings: other rows
    other.mean({"optimized.throughput_gain": gain})
    assert other.rows_evaluated == 3 * 100


@pytest.mark.parametrize("name", sorted(AFFINE_INPUTS))
def test_affine_inputs_are_interpolated_to_rounding(study, name):
    dists = study.sample.distributions["optimized"]
    assert name in study.sample.free_inputs("optimized")
    ev = _evaluator(study, seed_shift=200)
    q = np.array([0.001, 0.1, 0.3, 0.5, 0.7, 0.9, 0.999])
    vals = np.asarray(dists[name].ppf(q), float)
    got = ev.mean_npv({name: vals})
    assert ev.rows_interpolated > 0
    want = _direct_mean_npv(ev, {name: vals})
    scale = np.abs(want).max()
    # rounding of a mean of 200 sums of 36 discounted cash flows: ~1e-13 of the scale
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9 * scale)


def test_a_curved_input_is_never_interpolated(study, monkeypatch):
    """Declared affine but curved: the straight-line check fails and every row is run."""
    monkeypatch.setattr(evaluate, "AFFINE_INPUTS", AFFINE_INPUTS | {"optimized.throughput_gain"})
    ev = _evaluator(study, seed_shift=300)
    vals = np.linspace(1.1, 2.5, 9)
    got = ev.mean_npv({"optimized.throughput_gain": vals})
    assert ev.rows_interpolated == 0
    np.testing.assert_allclose(
        got, _direct_mean_npv(ev, {"optimized.throughput_gain": vals}), rtol=1e-13
    )


@pytest.mark.parametrize(
    "name", ["optimized.throughput_gain", "demand", "implementation.months", "baseline.price"]
)
def test_goal_seek_on_undecided_draws_equals_full_bisection(study, monkeypatch, name):
    dists = study.sample.distributions["optimized"]
    rr = review._Rerun(study, "optimized")
    fast = review.goal_seek_input(rr, name, dists[name], horizon=study.horizon)
    calls = []
    metrics = review._Rerun.metrics

    def count(self, x, draws=None):
        calls.append(x.shape[0])
        return metrics(self, x, draws)

    monkeypatch.setattr(review._Rerun, "metrics", count)
    monkeypatch.setattr(review._Rerun, "prob_rule_only", property(lambda self: False))
    full = review.goal_seek_input(rr, name, dists[name], horizon=study.horizon)
    assert fast == full  # the same bracket, value, tolerance and P(NPV > 0), exactly
    if full["value"] is not None:
        assert len(calls) == 2 + review.GOAL_SEEK_STEPS + 1 and set(calls) == {rr.n}


def test_goal_seek_falls_back_when_draws_are_not_monotone(study, monkeypatch):
    """Draws whose sign is scrambled at the answer fail the check: full bisection decides."""
    dists = study.sample.distributions["optimized"]
    name = "optimized.throughput_gain"
    rr = review._Rerun(study, "optimized")
    want = review.goal_seek_input(rr, name, dists[name], horizon=study.horizon)
    real = review._Rerun.metrics
    n = rr.n

    def scrambled(self, x, draws=None):  # every full run flips the sign of draw 0
        m = real(self, x, draws).copy()
        if x.shape[0] == n:
            m[0, review._M["npv"]] *= -1.0
        return m

    monkeypatch.setattr(review._Rerun, "metrics", scrambled)
    passes = []
    subset_pass = review._subset_pass

    def spy(*a, **k):
        out = subset_pass(*a, **k)
        passes.append(bool(out[3].any()))
        return out

    monkeypatch.setattr(review, "_subset_pass", spy)
    got = review.goal_seek_input(rr, name, dists[name], horizon=study.horizon)
    assert passes and passes[0]  # the first pass found draw 0 settled with the wrong sign
    assert got["value"] is not None
    assert abs(got["value"] - want["value"]) <= want["tolerance"] + got["tolerance"]


def test_forecast_bands_are_computed_once(study):
    fc = study.forecast
    a = fc.to_dict()
    a["monthly"][0]["p50"] = -1.0  # a caller's change does not reach the next summary
    b = fc.to_dict()
    assert b["monthly"][0]["p50"] != -1.0
    q = fc.paths.quantile([0.1, 0.5, 0.9], dim="path").to_numpy()
    np.testing.assert_array_equal([m["p10"] for m in b["monthly"]], q[0])
    np.testing.assert_array_equal(fc.quantiles((0.25, 0.75)).to_numpy(),
                                  fc.paths.quantile([0.25, 0.75], dim="path").to_numpy())  # fmt: skip
    assert fc.quantiles() is not fc.quantiles()  # copies of the cached bands
