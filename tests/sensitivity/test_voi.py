"""Tests of roicast.sensitivity.voi against closed forms for normal NPV."""

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from roicast.errors import RoicastError
from roicast.sensitivity import evpi, evppi


def normal_evpi(mu: float, sigma: float) -> float:
    """E[max(N(mu, sigma^2), 0)] - max(mu, 0)."""
    return sigma * norm.pdf(mu / sigma) + mu * norm.cdf(mu / sigma) - max(mu, 0.0)


@pytest.mark.parametrize(("mu", "sigma"), [(0.5, 2.0), (-1.0, 3.0), (4.0, 1.0)])
def test_evpi_normal_closed_form(mu, sigma):
    rng = np.random.default_rng(7)
    n = 50_000
    y = rng.normal(mu, sigma, n)
    # When the sample mean has the sign of mu (true here: |mu|/(sigma/sqrt n) > 50),
    # the estimator is the sample mean of max(-y, 0) (mu > 0) or max(y, 0) (mu < 0),
    # so its MC standard error is the sd of that term / sqrt(n).  4 SE: a false
    # failure has probability ~6e-5.
    term = np.maximum(-y, 0.0) if mu > 0 else np.maximum(y, 0.0)
    se = term.std() / np.sqrt(n)
    assert abs(evpi(y) - normal_evpi(mu, sigma)) < 4 * se
    assert evpi(y) >= 0


def linear_gaussian(n: int, seed: int):
    # NPV = a + b X1 + c X2 + e, X1 ~ N(0, 1), X2 ~ U(-sqrt3, sqrt3) (sd 1), e ~ N(0, 1).
    # E[NPV | X1] = a + b X1 ~ N(a, b^2): EVPPI(X1) = normal_evpi(a, |b|).
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "x1": rng.normal(0.0, 1.0, n),
            "x2": rng.uniform(-np.sqrt(3), np.sqrt(3), n),
            "irrelevant": rng.uniform(0, 1, n),
        }
    )
    y = 0.5 + 1.0 * X["x1"] + 1.0 * X["x2"] + rng.normal(0.0, 1.0, n)
    return X, y.to_numpy()


# Standard error of the EVPPI estimator at n = 100 000 for this model: the
# delta-method (influence-function) approximation of the linear-fit estimator,
# sd(max(g,0) - (g - a) - (1 - Phi) r + phi x1 r)/sqrt(n) with g = a + b x1,
# r = y - g, gives 0.0025; the spline's extra terms raise it a little: the sd of
# the estimator over 60 seeds was 0.0028 (regression) and 0.0029 (bins, whose
# sqrt(n) = 316 bin means also bias it up by about +0.001).
SE_EVPPI = 0.0029


@pytest.mark.parametrize("method", ["regression", "bins"])
def test_evppi_linear_gaussian_closed_form(method):
    X, y = linear_gaussian(100_000, seed=11)
    got = evppi(X, y, method=method)
    assert got["x1"] == pytest.approx(normal_evpi(0.5, 1.0), abs=4 * SE_EVPPI + 0.001)
    assert got["x2"] == pytest.approx(
        # X2 is uniform, not normal: E[max(a + U, 0)] for U ~ U(-sqrt3, sqrt3), by quadrature.
        np.mean(np.maximum(0.5 + np.linspace(-np.sqrt(3), np.sqrt(3), 200_001), 0.0)) - 0.5,
        abs=4 * SE_EVPPI + 0.001,
    )
    assert got["irrelevant"] < 0.005
    assert got.index[0] in ("x1", "x2")
    assert got.attrs["evpi"] == pytest.approx(evpi(y))
    assert (got <= got.attrs["evpi"] + 1e-12).all()


def test_evppi_discrete_input_uses_group_means():
    # NPV = -1 + 2 D + e, D ~ Bernoulli(1/2): E[NPV | D] is -1 or 1, E[NPV] = 0,
    # EVPPI(D) = 0.5 * 1 - max(0, 0) = 0.5, minus the estimate of max(E[NPV], 0),
    # whose SE is sd(NPV)/sqrt(n) ~ 1.4 / 200 = 0.007: tolerance 4 SE.
    rng = np.random.default_rng(3)
    n = 40_000
    X = pd.DataFrame({"d": rng.integers(0, 2, n).astype(float)})
    y = -1.0 + 2.0 * X["d"].to_numpy() + rng.normal(0, 1, n)
    assert evppi(X, y)["d"] == pytest.approx(0.5, abs=0.03)
    assert evppi(X, y, method="bins")["d"] == evppi(X, y)["d"]


def test_evppi_zero_when_decision_is_clear():
    # Mean NPV 10 sd above zero: no information changes the decision.
    X, y = linear_gaussian(5_000, seed=1)
    got = evppi(X, y + 50.0)
    np.testing.assert_allclose(got, 0.0, atol=1e-9)
    assert evpi(y + 50.0) == 0.0


def test_evppi_bad_input():
    X, y = linear_gaussian(100, seed=0)
    with pytest.raises(RoicastError, match="`method`"):
        evppi(X, y, method="gp")
    with pytest.raises(RoicastError, match="`knots`"):
        evppi(X, y, knots=2)
    with pytest.raises(RoicastError, match="`n_bins`"):
        evppi(X, y, method="bins", n_bins=1000)
    with pytest.raises(RoicastError, match="has 99 draws"):
        evppi(X, y[:-1])
    with pytest.raises(RoicastError, match="non-finite"):
        evpi([1.0, np.nan])
