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


@pytest.mark.slow
@pytest.mark.xfail(
    reason="known gap: on 28-point histories the ETS MLE often puts α, β at 0; refits "
    "generated from such a fit stay at 0, so bootstrap refits do not widen the bands",
)
def test_short_history_parameter_uncertainty_improves_coverage():
    def coverage(pu):
        rows = [
            backtest(
                _local_linear_trend(s),
                horizons=[12],
                n_origins=1,
                min_train=28,
                n_paths=300,
                n_refits=10,
                parameter_uncertainty=pu,
                seed=s,
            ).table.loc["all", "coverage_80"]
            for s in range(30)
        ]
        return float(np.mean(rows))

    assert coverage(True) > coverage(False) + 0.05
