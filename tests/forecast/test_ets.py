import numpy as np
import pytest
from scipy import stats

from roicast.forecast.ets import (
    Candidate,
    ParamSet,
    _filter,
    _fit_quiet,
    _sm_model,
    _unpack,
    candidates_for,
    fit_ets,
    simulate,
)


def _seasonal_log_series(n=120, seed=3):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    return 10 + 0.01 * t + 0.2 * np.sin(2 * np.pi * t / 7) + rng.normal(0, 0.05, n)


def test_filter_matches_statsmodels_residuals():
    y = _seasonal_log_series()
    cand = Candidate(trend=True, damped=True, seasonal=True)
    res = _fit_quiet(_sm_model(y, cand, 7, 0.98))
    params = dict(zip(res.model.param_names, res.params, strict=True))
    resid, level, trend, season = _filter(y, *_unpack(params, cand, 7))
    np.testing.assert_allclose(resid, res.resid, atol=1e-9)
    assert level == pytest.approx(res.level[-1])
    assert trend == pytest.approx(res.slope[-1])
    # next step's seasonal state is the one from m steps before it
    np.testing.assert_allclose(season[0], res.season[-7])


def test_candidate_family():
    names = [c.name for c in candidates_for(30, 7, allow_linear_trend=True)]
    assert names == [
        "ETS(A,N,N)",
        "ETS(A,A,N)",
        "ETS(A,Ad,N)",
        "ETS(A,N,A)",
        "ETS(A,A,A)",
        "ETS(A,Ad,A)",
    ]
    # fewer than two full cycles: no seasonal candidates; no linear trend for far horizons
    names = [c.name for c in candidates_for(13, 7, allow_linear_trend=False)]
    assert names == ["ETS(A,N,N)", "ETS(A,Ad,N)"]


def test_selection_picks_seasonal_model_for_seasonal_data():
    fit = fit_ets(_seasonal_log_series(), period=7, horizon_steps=30)
    assert fit.candidate.seasonal
    assert fit.aicc[fit.name] == min(fit.aicc.values())


def test_simulation_matches_local_level_distribution():
    """ETS(A,N,N): log y[h] ~ N(l, σ²(1 + α²(h−1))) -- coverage of a known process."""
    alpha, sigma, level = 0.5, 0.1, 3.0
    ps = ParamSet(alpha, 0.0, 0.0, 1.0, sigma, level, 0.0, np.zeros(1))
    steps = [(np.array([h]), np.array([1.0])) for h in range(10)]
    out = simulate([ps], 4000, steps, 10, np.random.default_rng(0), trend=False)
    logs = np.log(out)
    for h in (1, 5, 10):
        sd = sigma * np.sqrt(1 + alpha**2 * (h - 1))
        lo, hi = stats.norm.ppf([0.1, 0.9], loc=level, scale=sd)
        inside = np.mean((logs[:, h - 1] > lo) & (logs[:, h - 1] < hi))
        assert inside == pytest.approx(0.8, abs=0.03)
        assert logs[:, h - 1].std() == pytest.approx(sd, rel=0.06)


def test_state_shocks_fade_beyond_history_length():
    ps = ParamSet(1.0, 0.0, 0.0, 1.0, 0.1, 0.0, 0.0, np.zeros(1))
    steps = [(np.array([h]), np.array([1.0])) for h in range(400)]
    free = simulate([ps], 2000, steps, 400, np.random.default_rng(1), trend=False)
    held = simulate([ps], 2000, steps, 400, np.random.default_rng(1), trend=False, n_history=20)
    # random walk: sd 0.1·√400 = 2; faded after 20 steps: about 0.1·√(20 + 20 + 1)
    assert np.log(free[:, -1]).std() == pytest.approx(2.0, rel=0.1)
    assert np.log(held[:, -1]).std() == pytest.approx(0.1 * np.sqrt(41), rel=0.1)
    np.testing.assert_array_equal(free[:, :20], held[:, :20])


def test_short_history_trend_is_bounded():
    """A 14-day ramp of +5 %/day must not be extrapolated for three years."""
    rng = np.random.default_rng(0)
    y = 15 + 0.05 * np.arange(14) + rng.normal(0, 0.02, 14)
    fit = fit_ets(y, period=7, horizon_steps=1100)
    assert "ETS(A,A," not in fit.name  # no undamped trend this far out
    assert fit.phi_max == pytest.approx(14 / 15)
    if fit.candidate.damped:
        phi = fit.state.phi
        assert fit.state.trend * phi / (1 - phi) <= 14 * abs(fit.state.trend) + 1e-12
