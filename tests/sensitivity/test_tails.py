"""Tests of tail_diagnostics on closed-form cases."""

import numpy as np
import pytest
from scipy import stats
from scipy.stats import norm

from roicast.sensitivity import tail_diagnostics

Z99 = norm.ppf(0.99)


def test_lognormal_closed_forms():
    s = 1.0
    n = 400_000
    y = np.random.default_rng(1).lognormal(0.0, s, n)
    d = tail_diagnostics(y)
    # Top-1 % share of the mean: 1 - Phi(z99 - s).  Its standard error from the
    # influence function of T/mu with T = int_{.99}^1 F^-1: IF = ((y - q)^+ - R y)/mu
    # (q = P99, R the share), so SE = sd((y - q)^+ - R y) / (sqrt(n) mu).
    share = 1.0 - norm.cdf(Z99 - s)
    mu = np.exp(s**2 / 2)
    q = np.exp(s * Z99)
    se_share = np.std(np.maximum(y - q, 0.0) - share * y) / (np.sqrt(n) * mu)
    assert d.top_share == pytest.approx(share, abs=4 * se_share)
    # P99 / P50 = exp(s z99).  log ratio = s (z99_hat - z50_hat) for the normal scores;
    # var of the difference of two sample quantiles of N(0,1):
    # [q1(1-q1)/phi1^2 + q2(1-q2)/phi2^2 - 2 q1 (1 - q2)/(phi1 phi2)] / n.
    p1, p2 = 0.5, 0.99
    f1, f2 = norm.pdf(norm.ppf(p1)), norm.pdf(Z99)
    var = (p1 * (1 - p1) / f1**2 + p2 * (1 - p2) / f2**2 - 2 * p1 * (1 - p2) / (f1 * f2)) / n
    assert np.log(d.p99_p50_ratio) == pytest.approx(s * Z99, abs=4 * s * np.sqrt(var))
    assert d.tail_driven  # kurtosis e^4 + 2e^3 + 3e^2 - 6 = 111 > 6
    assert any("kurtosis" in r for r in d.reasons)


def test_heavier_lognormal_is_tail_driven_by_share():
    y = np.random.default_rng(2).lognormal(0.0, 1.5, 200_000)
    d = tail_diagnostics(y)
    assert 1.0 - norm.cdf(Z99 - 1.5) == pytest.approx(0.204, abs=1e-3)
    assert d.top_share > 0.15  # true 0.204; SE ~0.01 at this n
    assert any("top 1%" in r for r in d.reasons)


def test_kurtosis_matches_scipy_and_exponential_closed_form():
    y = np.random.default_rng(3).exponential(1.0, 1_000_000)
    d = tail_diagnostics(y)
    assert d.excess_kurtosis == pytest.approx(stats.kurtosis(y), rel=1e-10)
    # Excess kurtosis of the exponential is 6.  SE from 20 batches of the same
    # statistic: sd(batch values) / sqrt(20) (bias O(1/batch size) is far smaller).
    batches = [stats.kurtosis(b) for b in y.reshape(20, -1)]
    se = np.std(batches, ddof=1) / np.sqrt(20)
    assert d.excess_kurtosis == pytest.approx(6.0, abs=4 * se)


def test_normal_output_is_not_tail_driven_and_undefined_cases():
    rng = np.random.default_rng(4)
    d = tail_diagnostics(rng.normal(1.0, 1.0, 100_000))
    # top 1 % mean is mu + s phi(z99)/0.01: share 0.01 (1 + 2.665) = 0.037.
    assert d.top_share == pytest.approx(0.01 * (1 + norm.pdf(Z99) / 0.01), abs=0.002)
    assert not d.tail_driven and d.reasons == ()
    neg = tail_diagnostics(rng.normal(-1.0, 1.0, 1000))
    assert np.isnan(neg.top_share) and np.isnan(neg.p99_p50_ratio)
    assert neg.to_dict()["top_share"] is None
