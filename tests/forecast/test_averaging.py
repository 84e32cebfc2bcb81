import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from roicast.forecast import forecast_demand, read_history
from roicast.forecast.averaging import (
    draw_path_params,
    family_for,
    fit_family,
    growth_prior,
    mode_params,
    state_shock_weights,
    zero_drift_allowed,
)
from roicast.forecast.demand import simulate_history
from roicast.forecast.overlays import apply_ceiling

#: the issue's growth view for ServeGen: P10 20 %, P50 60 %, P90 150 %/yr,
#: as a split normal on ln(1 + g)
_G = np.log1p([0.2, 0.6, 1.5])


class SplitLogGrowth:
    def ppf(self, q):
        z = stats.norm.ppf(q)
        sd = np.where(z < 0, (_G[1] - _G[0]) / 1.2816, (_G[2] - _G[1]) / 1.2816)
        return np.expm1(_G[1] + sd * z)


def _daily_growth(n, g=0.6, seed=0, level_sd=0.01):
    """Log-daily volume: 60 %/yr drift, weekly pattern, level random walk, noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    weekly = np.array([0.05, 0.08, 0.07, 0.06, 0.02, -0.12, -0.16])[t % 7]
    level = np.cumsum(rng.normal(0.0, level_sd, n))
    logv = 15 + math.log1p(g) * t / 365.25 + weekly + level + rng.normal(0.0, 0.04, n)
    return pd.Series(np.exp(logv), index=pd.date_range("2023-01-01", periods=n, freq="D"))


def test_growth_prior_dominates_fourteen_days(servegen_path):
    hist = read_history(servegen_path, volume_column="m-large")
    fc = forecast_demand(
        hist, horizon_months=36, n_paths=2000, n_refits=50, seed=3, annual_growth=SplitLogGrowth()
    )
    tr = fc.info["trend"]
    assert tr["prior"] == "stated" and tr["dominated_by"] == "prior" and tr["sd_ratio"] > 0.9
    # 2000 stratified-by-atom draws: the posterior median is the prior's to a few %
    assert tr["posterior_p50"] == pytest.approx(0.6, abs=0.06)
    assert tr["posterior_p90"] == pytest.approx(1.5, abs=0.15)


def test_long_history_overrides_the_prior():
    """Three years at +60 %/yr (no level random walk, so the realised growth is the
    true one) against a prior centred on 0 %/yr (P90 +26 %): the data win."""
    fc = forecast_demand(
        _daily_growth(3 * 365, level_sd=0.0),
        horizon_months=24,
        n_paths=2000,
        n_refits=50,
        seed=1,
        annual_growth=stats.norm(0.0, 0.2),
    )
    tr = fc.info["trend"]
    assert tr["dominated_by"] == "data" and tr["sd_ratio"] < 0.3
    # far above the prior's P90 (+26 %), near the truth (shrunk a little towards 0)
    assert 0.45 < tr["posterior_p50"] < 0.65
    assert tr["posterior_p10"] > 0.4
    assert any("outside the stated growth prior" in w for w in fc.warnings)


def _seasonal_monthly(n, seasonal, seed):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    s = 0.25 * np.sin(2 * np.pi * t / 12) if seasonal else 0.0
    level = np.cumsum(rng.normal(0.0, 0.015, n))
    return 8 + 0.02 * t + s + level + rng.normal(0.0, 0.03, n)


@pytest.mark.parametrize("seasonal", [True, False])
def test_weights_sum_to_one_and_favour_the_true_model(seasonal):
    y = _seasonal_monthly(30, seasonal, seed=4)
    fit = fit_family(
        y,
        period=12,
        horizon_steps=36,
        prior=growth_prior(None, 12.0),
        rng=np.random.default_rng(0),
    )
    assert sum(fit.weights.values()) == pytest.approx(1.0, abs=1e-12)
    seasonal_weight = sum(w for name, w in fit.weights.items() if not name.endswith(",N)+drift"))
    if seasonal:  # 2.5 cycles of a 0.25 amplitude against 0.03 noise
        assert seasonal_weight > 0.99
    else:
        assert seasonal_weight < 0.2


def test_seasonal_candidate_from_one_cycle_plus_a_few_points():
    y = _seasonal_monthly(16, True, seed=5)
    fit = fit_family(
        y, period=12, horizon_steps=36, prior=growth_prior(None, 12.0), rng=np.random.default_rng(0)
    )
    assert "ETS(A,N,A)+drift" in fit.weights and "ETS(A,N,Af)+drift" in fit.weights
    # a smooth (sinusoidal) season: the two-harmonic candidates carry the weight
    smooth = sum(w for name, w in fit.weights.items() if name.endswith(",Af)+drift"))
    assert smooth > 0.5


def test_parameter_uncertainty_off_is_the_posterior_mode_and_stays_sane():
    """18 months of a clean 5 %/month trend: the ML trend model would extrapolate it
    (and a raw ML β can explode); the mode under the priors keeps month-36 bounded."""
    rng = np.random.default_rng(8)
    t = np.arange(18)
    y = pd.Series(
        np.exp(10 + 0.05 * t + rng.normal(0, 0.01, 18)),
        index=pd.date_range("2024-01-01", periods=18, freq="MS"),
    )
    fc = forecast_demand(y, horizon_months=36, n_paths=2000, seed=0, parameter_uncertainty=False)
    q = np.quantile(fc.paths.isel(month=-1), [0.1, 0.5, 0.9])
    # growth on trend: e^(0.05·36·1) ≈ 6× the last month; the mode may not exceed it much
    last = float(y.iloc[-1])
    assert 1.5 < q[1] / last < 12
    assert q[2] / q[0] < 3  # innovation noise only: no parameter or trend explosion
    fit = fit_family(
        np.log(y.to_numpy()),
        period=12,
        horizon_steps=36,
        prior=growth_prior(None, 12.0),
        rng=np.random.default_rng(0),
    )
    pp, owner, names = mode_params(fit, 5)
    assert np.all(pp.drift == pp.drift[0]) and np.all(pp.alpha == pp.alpha[0])
    assert names[owner[0]] == fit.best.name
    # the mode's θ is the highest-posterior draw of the most probable candidate
    dr = next(d for d in fit.draws if d.member == fit.best)
    assert pp.alpha[0] == dr.lik.theta["alpha"][int(np.argmax(dr.log_post))]


def test_ceiling_is_the_logistic_curve_and_caps_paths():
    b, c, r = 100.0, 1000.0, 0.1
    t = np.arange(60)
    exp_path = b * np.exp(r * t)[None, :]
    out, info = apply_ceiling(exp_path, c, rng=np.random.default_rng(0))
    np.testing.assert_allclose(out[0], c / (1 + (c / b - 1) * np.exp(-r * t)), rtol=1e-12)
    assert info["share_capped"] == 0.0
    # a path starting above its ceiling is held at it
    held, info = apply_ceiling(
        np.array([[2000.0, 3000.0, 1500.0]]), c, rng=np.random.default_rng(0)
    )
    np.testing.assert_allclose(held, c)
    assert info["share_capped"] == 1.0
    fc = forecast_demand(
        _daily_growth(120),
        horizon_months=36,
        n_paths=500,
        n_refits=20,
        seed=0,
        annual_growth=1.0,
        ceiling=stats.uniform(1e8, 1e8),
    )
    assert float(fc.paths.max()) <= 2e8
    assert fc.info["ceiling"]["p50"] == pytest.approx(1.5e8, rel=0.02)


def test_state_shock_weights():
    w = state_shock_weights(40, 100)
    assert np.all(w[:10] == 1.0) and w[10] < 1.0
    # Σ w² → full steps + fade length = (0.25 + 0.25)·n
    assert np.sum(w**2) == pytest.approx(20.0, rel=0.05)
    assert np.all(state_shock_weights(400, 36) == 1.0)


def test_tail_ratio_and_same_seed(servegen_path):
    hist = read_history(servegen_path, volume_column="m-large")
    kw = {"horizon_months": 12, "n_paths": 300, "n_refits": 10, "seed": 5}
    a, b = forecast_demand(hist, **kw), forecast_demand(hist, **kw)
    np.testing.assert_array_equal(a.paths.to_numpy(), b.paths.to_numpy())
    tail = a.info["tail"]
    assert tail["month"] == "2026-01"
    q = np.quantile(a.paths.isel(month=-1), [0.5, 0.99])
    assert tail["p99_p50"] == pytest.approx(q[1] / q[0])


@pytest.mark.slow
def test_coverage_on_series_with_known_truth():
    """Series drawn from the model's own prior (local level with drift, growth from
    the default prior): the 80 % band covers the next value and the value 6 steps
    ahead about 80 % of the time.  One point per series and horizon, so the hits
    are independent: 150 series give a binomial SE of √(0.8·0.2/150) = 0.033; we
    allow 3 SE."""
    rng = np.random.default_rng(21)
    n, k = 30, 150
    hits = {1: [], 6: []}
    for i in range(k):
        mu = rng.normal(0.0, 0.5) / 12.0
        alpha, sigma = rng.uniform(0.1, 0.9), 0.05
        level, y = 5.0, np.empty(n + 6)
        for t in range(n + 6):
            e = sigma * rng.standard_normal()
            y[t] = level + mu + e
            level = level + mu + alpha * e
        steps = [(np.array([h]), np.array([1.0])) for h in range(6)]
        v, *_ = simulate_history(
            y[:n],
            period=1,
            freq="monthly",
            buckets=steps,
            n_buckets=6,
            n_paths=400,
            rng_fit=np.random.default_rng(i),
            rng_sim=np.random.default_rng(10_000 + i),
            n_refits=50,
        )
        for h in hits:
            lo, hi = np.quantile(np.log(v[:, h - 1]), [0.1, 0.9])
            hits[h].append(lo <= y[n + h - 1] <= hi)
    tol = 3 * math.sqrt(0.8 * 0.2 / k)
    for h, v in hits.items():
        assert abs(np.mean(v) - 0.8) < tol, (h, np.mean(v))


def test_zero_drift_candidates_only_under_the_default_prior_and_a_long_history():
    default, stated = growth_prior(None, 12.0), growth_prior(stats.norm(0.1, 0.2), 12.0)
    assert zero_drift_allowed(120, 24, default)
    assert zero_drift_allowed(96, 24, default)
    assert not zero_drift_allowed(95, 24, default)  # history < 4 study lengths
    assert not zero_drift_allowed(120, 24, stated)  # a stated prior is used as stated
    names = [mb.name for mb in family_for(120, 12, 24, zero_drift=True)]
    # the AICc family of roicast.forecast.ets (N, Ad without drift) joins; A keeps its drift
    assert {"ETS(A,N,N)", "ETS(A,Ad,N)", "ETS(A,N,A)", "ETS(A,Ad,A)"} <= set(names)
    assert "ETS(A,A,N)" not in names and "ETS(A,A,N)+drift" in names
    assert names[: len(family_for(120, 12, 24))] == [mb.name for mb in family_for(120, 12, 24)]


def _random_walk(n, mu, seed):
    rng = np.random.default_rng(seed)
    return 8.0 + np.cumsum(mu + rng.normal(0.0, 0.03, n))


def _zero_drift_weight(fit):
    return sum(w for name, w in fit.weights.items() if not name.endswith("+drift"))


def test_evidence_tells_a_wandering_level_from_a_drifting_one():
    """120 months of a random walk (σ = 0.03).  Without drift, the drift's posterior
    sd (σ/√120 ≈ 0.0027 a month) is ~15× narrower than the default prior's
    (0.5/12 ≈ 0.042), so the Occam factor gives the zero-drift candidates most of the
    weight; with +50 %/yr (μ = 0.034 a month, ~12 posterior sd from 0) they get none."""
    kw = {"period": 12, "horizon_steps": 24, "prior": growth_prior(None, 12.0)}
    flat = fit_family(_random_walk(120, 0.0, 3), rng=np.random.default_rng(0), **kw)
    grow = fit_family(
        _random_walk(120, math.log1p(0.5) / 12, 3), rng=np.random.default_rng(0), **kw
    )
    assert _zero_drift_weight(flat) > 0.7
    assert _zero_drift_weight(grow) < 1e-3
    # zero-drift paths have μ = 0 exactly; the others do not
    pp, owner, names = draw_path_params(flat, 50, 400, np.random.default_rng(1))
    no_drift = np.array([not names[i].endswith("+drift") for i in owner])
    assert no_drift.any() and np.all(pp.drift[no_drift] == 0.0)
    assert np.all(pp.drift[~no_drift] != 0.0)
    mode, owner_m, names_m = mode_params(flat, 3)
    if not names_m[owner_m[0]].endswith("+drift"):
        assert np.all(mode.drift == 0.0)
