"""Tests of voi_for_rule, evsi_pilot and the large-n EVPPI path against closed forms."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

import roicast.sensitivity.voi as voi
from roicast.errors import RoicastError
from roicast.sensitivity import evppi, evsi_pilot, voi_for_rule


def linear(n, a, b, tau, seed, extra=True):
    """NPV = a + b X + e, X ~ N(0, 1), e ~ N(0, tau^2); plus an irrelevant input."""
    rng = np.random.default_rng(seed)
    cols = {"x": rng.normal(0.0, 1.0, n)}
    if extra:
        cols["irrelevant"] = rng.uniform(0.0, 1.0, n)
    X = pd.DataFrame(cols)
    y = a + b * X["x"].to_numpy() + rng.normal(0.0, tau, n)
    return X, y


def test_mean_rule_is_evppi_before_clipping():
    X, y = linear(20_000, 0.3, 1.0, 1.0, seed=1)
    res = voi_for_rule(X, y, rule="mean_positive")
    classic = evppi(X, y)
    got = pd.Series(np.clip(res.evppi, 0.0, res.evpi), index=list(res.names))
    np.testing.assert_allclose(got[classic.index], classic, rtol=1e-12, atol=1e-15)
    assert res.evpi == pytest.approx(classic.attrs["evpi"], rel=1e-12)
    assert res.go_now and res.to_dataframe().index[0] == "x"


@pytest.mark.parametrize(
    ("a", "tau", "p_star"),
    [(0.5, 1.0, 0.6), (2.0, 3.0, 0.7)],  # EVPPI > 0, and < 0 (the rule turns down good bets)
)
def test_prob_rule_closed_form(a, tau, p_star):
    # P(NPV > 0 | x) = Phi((a + x)/tau) >= p*  <=>  x >= x* = tau z_p* - a.  Today
    # P(NPV > 0) = Phi(a / sqrt(1 + tau^2)) >= p* in both cases: go now, worth a.
    # Value after learning x: E[(a + X) 1{X >= x*}] = a (1 - Phi(x*)) + phi(x*).
    n = 100_000
    X, y = linear(n, a, 1.0, tau, seed=2)
    res = voi_for_rule(X, y, rule="prob_positive", threshold=p_star)
    x_star = tau * norm.ppf(p_star) - a
    truth = a * (1 - norm.cdf(x_star)) + norm.pdf(x_star) - a
    assert res.go_now
    # Tolerance, two terms.  (1) given the threshold, the estimator is the mean of
    # y 1{x >= x*} - y: SE = sd(.)/sqrt(n).  (2) the threshold comes from a spline fit
    # of 1{NPV > 0}: SE of p_hat(x*) ~ sqrt(p(1-p) K / n) (K = 8 basis functions),
    # moving x* by that / (dp/dx = phi((a + x*)/tau)/tau) and the value by
    # |a + x*| phi(x*) per unit of x*.
    x = X["x"].to_numpy()
    se_main = np.std(y * (x >= x_star) - y) / np.sqrt(n)
    dx = np.sqrt(p_star * (1 - p_star) * 8 / n) / (norm.pdf(norm.ppf(p_star)) / tau)
    se_thr = abs(a + x_star) * norm.pdf(x_star) * dx
    i = res.names.index("x")
    assert res.evppi[i] == pytest.approx(truth, abs=4 * np.hypot(se_main, se_thr))
    # Learning x flips "go" to "no go" when x < x*.
    se_flip = np.hypot(
        np.sqrt(norm.cdf(x_star) * (1 - norm.cdf(x_star)) / n), norm.pdf(x_star) * dx
    )
    assert res.prob_flip[i] == pytest.approx(norm.cdf(x_star), abs=4 * se_flip)
    j = res.names.index("irrelevant")
    assert abs(res.evppi[j]) < 4 * se_main and res.prob_flip[j] < 0.02
    assert res.evpi == pytest.approx(np.mean(np.maximum(y, 0)) - y.mean())
    d = res.to_dict()
    assert d["rule"] == "prob_positive" and d["inputs"][0]["input"] in ("x", "irrelevant")


def normal_max(m, sd):
    """E[max(N(m, sd^2), 0)] - max(m, 0)."""
    return sd * norm.pdf(m / sd) + m * norm.cdf(m / sd) - max(m, 0.0)


@pytest.mark.parametrize("sigma", [0.5, 1.0, 2.0])
def test_evsi_normal_normal_closed_form(sigma):
    # X ~ N(0, 1), NPV = a + X + e, pilot D = X + N(0, sigma^2): E[NPV | D] = a + D/(1 + sigma^2)
    # ~ N(a, 1/(1 + sigma^2)), so EVSI = E[max(N(a, v), 0)] - max(a, 0), v = 1/(1 + sigma^2).
    a, n = 0.3, 100_000
    X, y = linear(n, a, 1.0, 1.0, seed=3, extra=False)
    res = evsi_pilot(X, y, "x", sigma, cost=0.05, rule="mean_positive", seed=4)
    truth = normal_max(a, np.sqrt(1.0 / (1.0 + sigma**2)))
    # SE: the estimator is mean(y 1{go(D)}) - mean(y) given the decision boundary
    # (which is where the value is flat under the mean rule): sd(y 1{m(D) > 0} - y)/sqrt(n),
    # with D re-drawn here from the same seed.
    d = X["x"].to_numpy() + sigma * np.random.default_rng(4).standard_normal(n)
    se = np.std(y * (a + d / (1 + sigma**2) > 0) - y) / np.sqrt(n)
    assert res.evsi == pytest.approx(truth, abs=4 * se)
    assert res.net_value == pytest.approx(res.evsi - 0.05)
    assert res.worth_running == (res.evsi > 0.05)
    # Flip: go now (a > 0); no go after the pilot when E[NPV | D] < 0.
    p_flip = norm.cdf(-a / np.sqrt(1.0 / (1.0 + sigma**2)))
    assert res.prob_flip == pytest.approx(
        p_flip, abs=4 * np.sqrt(p_flip * (1 - p_flip) / n) + 0.005
    )
    assert res.evsi <= res.evppi + 4 * se


@pytest.mark.parametrize("rule", ["mean_positive", "prob_positive"])
def test_evsi_limits(rule):
    X, y = linear(20_000, 0.3, 1.0, 1.0, seed=5)
    perfect = voi_for_rule(X, y, rule=rule, threshold=0.55)
    evppi_x = perfect.evppi[perfect.names.index("x")]
    exact = evsi_pilot(X, y, "x", 0.0, 0.0, rule=rule, threshold=0.55)
    assert exact.evsi == pytest.approx(evppi_x, rel=1e-9)
    assert exact.evppi == exact.evsi
    tiny = evsi_pilot(X, y, "x", 1e-9, 0.0, rule=rule, threshold=0.55)
    assert tiny.evsi == pytest.approx(evppi_x, rel=1e-6)
    # A pilot buried in noise: the fitted E[NPV | D] and P(NPV > 0 | D) are flat at the
    # overall mean (0.3, sd ~1.4 · sqrt(8/n) = 0.03) and P(NPV > 0) (0.58, sd up to ~0.03
    # at the boundary knots), far from the decision thresholds (0 and 0.4), so no draw
    # changes the decision and EVSI = mean of fitted - mean = 0 (least squares with an
    # intercept keeps the mean).
    noisy = evsi_pilot(X, y, "x", 1e6, 10.0, rule=rule, threshold=0.4)
    assert abs(noisy.evsi) < 1e-9 and noisy.prob_flip == 0.0 and not noisy.worth_running
    assert noisy.to_dict()["seed"] == 0


def test_rule_and_pilot_argument_errors():
    X, y = linear(200, 0.3, 1.0, 1.0, seed=6)
    with pytest.raises(RoicastError, match="`rule`"):
        voi_for_rule(X, y, rule="median")
    with pytest.raises(RoicastError, match="`threshold`"):
        voi_for_rule(X, y, threshold=1.5)
    with pytest.raises(RoicastError, match="`input`"):
        evsi_pilot(X, y, "nope", 1.0, 0.0)
    with pytest.raises(RoicastError, match="`noise_sd`"):
        evsi_pilot(X, y, "x", -1.0, 0.0)
    with pytest.raises(RoicastError, match="`cost`"):
        evsi_pilot(X, y, "x", 1.0, np.nan)


def test_binned_sums_kernel_matches_searchsorted():
    from roicast.sensitivity._kernels import binned_sums

    rng = np.random.default_rng(7)
    for x in (
        rng.lognormal(0.0, 2.0, 50_000),
        np.round(rng.normal(size=50_000), 1),
        rng.uniform(size=50_000),
    ):
        ys = rng.normal(size=(2, x.size))
        edges = np.unique(np.quantile(x[:5000], np.linspace(0, 1, 130)[1:-1]))
        cells = 512
        scale = cells / (x.max() - x.min())
        left = x.min() + (np.arange(cells) - 1.0) / scale
        lo = np.searchsorted(edges, left, side="left").astype(np.int64)
        hi = np.searchsorted(edges, left + 3.0 / scale, side="right").astype(np.int64)
        counts = np.zeros(edges.size + 1, dtype=np.int64)
        sx = np.zeros(edges.size + 1)
        sy = np.zeros((2, edges.size + 1))
        binned_sums(x, ys, edges, float(x.min()), scale, lo, hi, counts, sx, sy)
        idx = np.searchsorted(edges, x, side="right")
        np.testing.assert_array_equal(counts, np.bincount(idx, minlength=edges.size + 1))
        np.testing.assert_allclose(sx, np.bincount(idx, x, minlength=edges.size + 1), rtol=1e-12)
        np.testing.assert_allclose(
            sy[1], np.bincount(idx, ys[1], minlength=edges.size + 1), rtol=1e-9, atol=1e-9
        )


def test_large_n_evppi_agrees_with_full_fit(monkeypatch):
    # From LARGE_N draws on, the spline is fitted to 1 024 bins' means instead of
    # every draw.  The change is the within-bin variation of the spline, O((bin width)^2):
    # here < 1e-3 of the EVPI, far below the estimator's MC SE (~3e-3).
    monkeypatch.setattr(voi, "LARGE_N", 50_000)
    rng = np.random.default_rng(8)
    n = 60_000
    X = pd.DataFrame({"x1": rng.normal(size=n), "x2": rng.lognormal(0, 1, n)})
    y = 0.3 + X["x1"] + 0.5 * np.log(X["x2"]) ** 2 - 0.5 + rng.normal(0, 1, n)
    fast = evppi(X, y)
    fast_rule = voi_for_rule(X, y, rule="prob_positive", threshold=0.6)
    monkeypatch.setattr(voi, "LARGE_N", 10**9)
    full = evppi(X, y)
    full_rule = voi_for_rule(X, y, rule="prob_positive", threshold=0.6)
    np.testing.assert_allclose(fast[full.index], full, atol=1e-3 * full.attrs["evpi"])
    np.testing.assert_allclose(fast_rule.evppi, full_rule.evppi, atol=3e-3)
    assert full["x1"] > 0.05  # the comparison is not between two zeros
