"""Tests of roicast.sensitivity.convergence."""

import numpy as np
import pytest
from scipy import stats

from roicast.errors import RoicastError
from roicast.sensitivity import mc_standard_errors, until_stable


def test_standard_errors_normal():
    rng = np.random.default_rng(0)
    n = 20_000
    y = rng.normal(3.0, 2.0, n)
    df = mc_standard_errors(y)
    assert list(df.index) == ["mean", "p10", "p50", "p90"]
    assert df.loc["mean", "se"] == pytest.approx(y.std(ddof=1) / np.sqrt(n))
    # Asymptotic quantile SE for N(3, 2^2): sigma sqrt(q(1-q)/n) / phi(z_q).
    # The difference-quotient sparsity estimate uses ~2hn ~ 1 000 order
    # statistics around x_q; its relative error is a few %: tolerance 10 %.
    for q, label in [(0.1, "p10"), (0.5, "p50"), (0.9, "p90")]:
        exact = 2.0 * np.sqrt(q * (1 - q) / n) / stats.norm.pdf(stats.norm.ppf(q))
        assert df.loc[label, "se"] == pytest.approx(exact, rel=0.10)
    np.testing.assert_allclose(df["half_width"], 1.959963984540054 * df["se"])
    np.testing.assert_allclose(df["rel_half_width"], df["half_width"] / df["value"].abs())


def test_quantile_se_is_calibrated_over_seeds():
    # The sd of the sample P90 of a lognormal over 300 seeds is itself known to
    # ~ 1/sqrt(2*300) = 4 %; the mean reported SE must agree within 15 %.
    n = 2000
    p90 = []
    ses = []
    for seed in range(300):
        y = np.random.default_rng(seed).lognormal(0.0, 1.0, n)
        df = mc_standard_errors(y, quantiles=(0.9,))
        p90.append(df.loc["p90", "value"])
        ses.append(df.loc["p90", "se"])
    assert np.mean(ses) == pytest.approx(np.std(p90), rel=0.15)


def test_zero_guard_for_stats_near_zero():
    y = np.random.default_rng(1).normal(0.0, 1.0, 10_000)
    df = mc_standard_errors(y)
    # mean ~ 0.01: without the guard the relative half-width would be ~2;
    # with it the scale is max(|mean|, 0.1 sd).
    scale = max(abs(df.loc["mean", "value"]), 0.1 * y.std(ddof=1))
    assert df.loc["mean", "rel_half_width"] == pytest.approx(df.loc["mean", "half_width"] / scale)
    no_guard = mc_standard_errors(y, zero_guard=0.0)
    assert no_guard.loc["mean", "rel_half_width"] > df.loc["mean", "rel_half_width"]


def test_infinite_values_give_nan_se():
    y = np.concatenate([np.arange(1.0, 81.0), np.full(20, np.inf)])  # 20 % never pay back
    df = mc_standard_errors(y)
    assert np.isnan(df.loc["mean", "se"]) and np.isnan(df.loc["p90", "se"])
    assert np.isfinite(df.loc["p50", "value"])


def batches(seed=0, loc=10.0, scale=5.0):
    calls = []

    def run_batch(start, n):
        calls.append((start, n))
        # keyed by draw number, like a counter-based generator
        return np.random.default_rng([seed, start]).normal(loc, scale, n)

    return run_batch, calls


def test_until_stable_stops_when_tolerance_met():
    run_batch, calls = batches()
    res = until_stable(run_batch, tol=0.05, batch=1000, max_draws=100_000)
    # P10 of N(10, 5^2) is 3.59 with SE 5 sqrt(0.09/n)/0.1755: its relative
    # half-width falls under 0.05 near n = 8 700, the slowest of the four stats.
    assert res.converged
    assert 6_000 <= res.n_draws <= 12_000
    assert (
        res.record["max_rel_half_width"].iloc[-1]
        <= 0.05
        < res.record["max_rel_half_width"].iloc[-2]
    )
    assert res.record["max_rel_half_width"].iloc[-1] == res.errors["rel_half_width"].max()
    assert calls == [(i * 1000, 1000) for i in range(len(calls))]
    np.testing.assert_array_equal(res.draws, np.concatenate([run_batch(s, m) for s, m in calls[:]]))


def test_until_stable_respects_cap():
    run_batch, calls = batches()
    res = until_stable(run_batch, tol=0.001, batch=1500, max_draws=4000)
    assert not res.converged
    assert res.n_draws == 4000
    assert calls[-1] == (3000, 1000)


def test_until_stable_bad_input():
    run_batch, _ = batches()
    with pytest.raises(RoicastError, match="`max_draws`"):
        until_stable(run_batch, tol=0.01, batch=100, max_draws=10)
    with pytest.raises(RoicastError, match="`tol`"):
        until_stable(run_batch, tol=0.0, batch=100, max_draws=1000)
    with pytest.raises(RoicastError, match="returned 3 draws"):
        until_stable(lambda s, n: np.zeros(3), tol=0.01, batch=100, max_draws=1000)
    with pytest.raises(RoicastError, match="NaN"):
        mc_standard_errors([1.0, np.nan, 2.0])
