import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from roicast.forecast import BacktestResult, backtest, read_history
from roicast.forecast.backtest import crps_sample, pinball_loss


def test_crps_of_a_normal_sample_matches_closed_form():
    x = stats.norm(0, 1).rvs(20000, random_state=np.random.default_rng(0))
    y = 0.7
    exact = y * (2 * stats.norm.cdf(y) - 1) + 2 * stats.norm.pdf(y) - 1 / np.sqrt(np.pi)
    assert crps_sample(x, y) == pytest.approx(exact, rel=0.02)


def test_pinball_loss_is_zero_spread_median_error():
    assert pinball_loss(np.full(10, 3.0), 3.0) == 0.0
    # point mass at 0, y = 1: mean over τ of τ·1
    assert pinball_loss(np.zeros(10), 1.0) == pytest.approx(np.mean(np.arange(1, 20) / 20))


def _log_local_level(n=150, alpha=0.4, sigma=0.05, seed=11):
    """Monthly volumes from a known ETS(A,N,N) process on log scale."""
    rng = np.random.default_rng(seed)
    e = rng.normal(0, sigma, n)
    level = 8 + np.concatenate([[0.0], np.cumsum(alpha * e[:-1])])
    return pd.Series(np.exp(level + e), index=pd.date_range("2000-01-01", periods=n, freq="MS"))


def test_known_process_coverage():
    res = backtest(
        _log_local_level(),
        horizons=[3, 12],
        n_origins=6,
        n_paths=300,
        parameter_uncertainty=False,
    )
    assert isinstance(res, BacktestResult)
    assert res.freq == "monthly"
    assert list(res.table.index) == ["1-3", "4-12", "all"]
    allrow = res.table.loc["all"]
    assert allrow["n_points"] == sum(min(12, 150 - o) for o in res.origins)
    assert 0.65 <= allrow["coverage_80"] <= 0.95
    assert 0.85 <= allrow["coverage_95"] <= 1.0
    # the right model beats seasonal naive (a random walk on monthly data is not seasonal)
    assert allrow["crps_ratio"] < 1.0


def test_servegen_backtest_runs_and_says_it_is_short(servegen_path):
    h = read_history(servegen_path, volume_column="m-small")
    res = backtest(h, n_paths=200, n_refits=4)
    assert res.freq == "daily"
    assert res.origins == [8, 9, 10, 11, 12, 13]
    assert res.table.loc["all", "n_points"] == 6 + 5 + 4 + 3 + 2 + 1
    cov = res.table[["coverage_80", "coverage_95"]].to_numpy()
    assert np.all((cov >= 0) & (cov <= 1))
    assert res.notes and "indicative only" in res.notes[0]
    d = json.loads(json.dumps(res.to_dict(), allow_nan=False))
    assert d["table"][-1]["horizon"] == "all"


def _elec_equip():
    from statsmodels.datasets import elec_equip

    return elec_equip.load().data.iloc[:, 0]


@pytest.mark.slow
def test_real_monthly_series_coverage_near_nominal():
    """statsmodels' elec_equip (real, monthly, seasonal): the bands cover about the
    nominal share of held-out points, with and without bootstrap refits, and the
    refits do not make the probabilistic forecast worse."""
    kw = {"n_origins": 8, "n_paths": 400, "seed": 1}
    plain = backtest(_elec_equip(), parameter_uncertainty=False, **kw).table.loc["all"]
    boot = backtest(_elec_equip(), parameter_uncertainty=True, n_refits=20, **kw).table.loc["all"]
    for row in (plain, boot):
        assert 0.7 <= row["coverage_80"] <= 0.92
        assert 0.85 <= row["coverage_95"] <= 1.0
        assert row["crps_ratio"] < 1.0  # better than seasonal naive
    assert boot["coverage_80"] >= plain["coverage_80"] - 0.02
    assert boot["crps"] <= 1.1 * plain["crps"]


def _local_linear_trend(seed, n=40, alpha=0.3, beta=0.1, sigma=0.05):
    """Weekly volumes from a known ETS(A,A,N) process on log scale."""
    rng = np.random.default_rng(seed)
    e = rng.normal(0, sigma, n)
    level, slope, y = 8.0, 0.01, []
    for t in range(n):
        y.append(level + slope + e[t])
        level, slope = level + slope + alpha * e[t], slope + beta * e[t]
    return pd.Series(np.exp(y), index=pd.date_range("2020-01-06", periods=n, freq="7D"))


# Tolerance from the binomial standard error.  At a fixed long horizon h, the
# indicator "held-out point inside the 80 % band" is Bernoulli(p), independent
# across replicate series (each has its own seed), so the coverage over R
# series has standard error sqrt(p(1 − p)/R), 0.4/sqrt(R) at p = 0.8.  Pooling
# the long horizons of a series into one per-series share c_s ∈ [0, 1] keeps
# the series independent and only lowers the variance, so 0.4/sqrt(R) stays a
# conservative bound for the coverage of a calibrated forecaster.
# The two forecasters are scored on the same series, so their difference is a
# paired (McNemar-type) comparison: d_s = c_s(on) − c_s(off) ∈ [−1, 1] has
# Var(d_s) ≤ E[d_s²] ≤ E|d_s| (the share of discordant indicators), hence
# SE(mean d) ≤ sqrt(mean|d_s| / R).  The tests ask for an improvement of more
# than two such standard errors (one-sided, ≈ 2.3 % false alarm), for the
# improved coverage to be closer to 0.8, and not to overshoot 0.8 by more than
# 2 · 0.4/sqrt(R) (wide bands are not bought for free).
def _assert_closer_to_nominal(plain: np.ndarray, pu: np.ndarray) -> None:
    r = len(plain)
    d = pu - plain
    se_diff = np.sqrt(max(np.mean(np.abs(d)), 1e-12) / r)
    cov_off, cov_on = float(np.mean(plain)), float(np.mean(pu))
    msg = (cov_off, cov_on, se_diff)
    assert cov_on - cov_off > 2 * se_diff, msg
    assert abs(cov_on - 0.8) < abs(cov_off - 0.8), msg
    assert cov_on <= 0.8 + 2 * 0.4 / np.sqrt(r), msg


def _long_horizon_coverage(n_series, n_train, horizon, long_from, n_paths, seed0=0):
    """Per-series 80 % coverage at horizons long_from..horizon, (off, on)."""
    from roicast.forecast.ets import fit_ets, posterior_draws, simulate

    steps = [(np.array([h]), np.array([1.0])) for h in range(horizon)]
    inside = {False: [], True: []}
    for s in range(n_series):
        y = np.log(_local_linear_trend(seed0 + s, n=n_train + horizon).to_numpy())
        fit = fit_ets(y[:n_train], period=52, horizon_steps=horizon, freq_label="weekly")
        rng = np.random.default_rng(1000 + s)
        for pu in (False, True):
            sets = posterior_draws(fit, 200, n_paths, rng)[0] if pu else [fit.state]
            sims = simulate(sets, n_paths, steps, horizon, rng, trend=fit.candidate.trend)
            lo, hi = np.quantile(np.log(sims[:, long_from - 1 :]), [0.1, 0.9], axis=0)
            obs = y[n_train + long_from - 1 : n_train + horizon]
            inside[pu].append(np.mean((lo <= obs) & (obs <= hi)))
    return np.array(inside[False]), np.array(inside[True])


def test_parameter_uncertainty_improves_long_horizon_coverage_fast():
    """Short histories (28 weeks) of a known local linear trend: the plug-in
    bands cover far less than 80 % at 9–12 weeks ahead (the ML estimates of
    α, β often sit at 0); posterior parameter draws bring coverage closer to
    nominal, by more than the binomial tolerance."""
    _assert_closer_to_nominal(
        *_long_horizon_coverage(40, n_train=28, horizon=12, long_from=9, n_paths=300)
    )


@pytest.mark.slow
def test_short_history_parameter_uncertainty_improves_coverage():
    """The same through the public backtest, on 60 other series."""

    def coverage(pu):
        return np.array(
            [
                backtest(
                    _local_linear_trend(s),
                    horizons=[(9, 12)],
                    n_origins=1,
                    min_train=28,
                    n_paths=400,
                    parameter_uncertainty=pu,
                    seed=s,
                ).table.loc["9-12", "coverage_80"]
                for s in range(100, 160)
            ]
        )

    _assert_closer_to_nominal(coverage(False), coverage(True))
