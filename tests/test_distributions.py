"""Distributions: quantiles against scipy and closed forms, parsing rules."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from roicast.distributions import (
    Beta,
    Discrete,
    Fixed,
    Lognormal,
    Metalog,
    Normal,
    Pert,
    Uniform,
    parse_distribution,
)

Q = np.array([0.01, 0.1, 0.25, 0.5, 0.75, 0.9, 0.99])


def test_pert_is_the_scaled_beta_with_the_pert_mean():
    d = parse_distribution({"dist": "pert", "min": 1, "mode": 2, "max": 5})
    assert isinstance(d, Pert)
    a, b = 1 + 4 * (2 - 1) / 4, 1 + 4 * (5 - 2) / 4
    np.testing.assert_allclose(d.ppf(Q), stats.beta(a, b, loc=1, scale=4).ppf(Q), rtol=1e-12)
    # PERT mean (min + 4 mode + max) / 6
    u = (np.arange(200_000) + 0.5) / 200_000
    assert d.ppf(u).mean() == pytest.approx((1 + 8 + 5) / 6, rel=1e-4)


@pytest.mark.parametrize(
    ("table", "ref"),
    [
        ({"dist": "uniform", "low": 2, "high": 6}, stats.uniform(2, 4)),
        ({"dist": "triangular", "min": 0, "mode": 1, "max": 4}, stats.triang(0.25, 0, 4)),
        ({"dist": "normal", "mean": 3, "sd": 2}, stats.norm(3, 2)),
        ({"dist": "lognormal", "median": 2, "sigma": 0.5}, stats.lognorm(0.5, scale=2)),
        ({"dist": "truncnormal", "mean": 1, "sd": 1, "low": 0}, stats.truncnorm(-1, np.inf, 1, 1)),
        ({"dist": "beta", "alpha": 2, "beta": 5, "low": 1, "high": 3}, stats.beta(2, 5, 1, 2)),
    ],
)
def test_scipy_backed_quantiles(table, ref):
    np.testing.assert_allclose(parse_distribution(table).ppf(Q), ref.ppf(Q), rtol=1e-12)


def test_lognormal_from_mean_and_sd():
    d = parse_distribution({"dist": "lognormal", "mean": 10, "sd": 3})
    s2 = np.log1p(0.09)
    assert d.median == pytest.approx(10 / np.sqrt(1.09))
    ref = stats.lognorm(np.sqrt(s2), scale=10 / np.sqrt(1.09))
    assert ref.mean() == pytest.approx(10) and ref.std() == pytest.approx(3)


def test_discrete_quantiles_follow_the_weights():
    d = parse_distribution({"dist": "discrete", "values": [3, 1, 2], "weights": [0.25, 0.5, 0.25]})
    np.testing.assert_array_equal(
        d.ppf(np.array([0.1, 0.49, 0.51, 0.74, 0.76, 0.99])), [1, 1, 2, 2, 3, 3]
    )


@pytest.mark.parametrize("bounds", [{}, {"lower": 0}, {"lower": 0, "upper": 1}])
def test_quantile_form_hits_p10_p50_p90_exactly(bounds):
    d = parse_distribution({"p10": 0.2, "p50": 0.35, "p90": 0.6, **bounds})
    assert isinstance(d, Metalog)
    np.testing.assert_allclose(d.ppf(np.array([0.1, 0.5, 0.9])), [0.2, 0.35, 0.6], rtol=1e-12)
    v = d.ppf(np.linspace(1e-6, 1 - 1e-6, 10_001))
    assert np.all(np.diff(v) > 0)
    if bounds:
        lo, hi = d.bounds()
        assert lo > 0 and (hi < 1 if "upper" in bounds else True)


def test_plain_number_is_fixed():
    d = parse_distribution(3)
    assert isinstance(d, Fixed) and d.is_fixed and d.median == 3.0
    np.testing.assert_array_equal(d.ppf(Q), 3.0)


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            {"dist": "pert", "min": 3, "mode": 2, "max": 4},
            "pert needs min <= mode <= max, got min=3, mode=2, max=4",
        ),
        ({"dist": "uniform", "low": 2, "high": 1}, "uniform needs low < high"),
        ({"dist": "normal", "mean": 0, "sd": -1}, "`sd` must be >= 0"),
        ({"dist": "gamma", "a": 1}, "unknown dist 'gamma'"),
        ({"dist": "pert", "min": 1, "max": 2}, "pert needs min, mode, max; missing mode"),
        ({"dist": "uniform", "low": 0, "high": 1, "mode": 0.5}, "unknown key mode"),
        ({"p10": 5, "p50": 4, "p90": 6}, "p10 < p50 < p90"),
        ({"p10": 1, "p50": 1.1, "p90": 100}, "too skewed for a 3-term metalog"),
        ({"dist": "pert", "min": "a", "mode": 2, "max": 4}, "`min` must be a number, got 'a'"),
        ("cheap", "expected a number or a distribution table"),
        ({"mean": 1}, "needs `dist`"),
        (
            {"dist": "discrete", "values": [1, 2], "weights": [1, 2]},
            "`weights` must sum to 1, got 3",
        ),
        ({"dist": "discrete", "values": [1, 1], "weights": [0.5, 0.5]}, "must be distinct"),
        ({"dist": "lognormal", "median": 2, "sigma": 0}, "sigma > 0"),
        ({"dist": "pert", "min": 1, "mode": "2", "max": 4}, "`mode` must be a number, got '2'"),
    ],
)
def test_bad_tables_name_the_rule(table, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_distribution(table)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Pert(3, 1, 2), "min <= mode <= max"),
        (lambda: Pert(1, 1, 1), "min < max"),
        (lambda: Uniform(2, 1), "low < high"),
        (lambda: Normal(0, 0), "`sd` must be > 0"),
        (lambda: Lognormal(1, 0), "sigma > 0"),
        (lambda: Beta(0, 1), "alpha > 0"),
        (lambda: Metalog(3, 2, 1), "p10 < p50 < p90"),
        (lambda: Discrete((1.0, 2.0), (0.2, 0.2)), "sum to 1"),
        (lambda: Fixed(float("nan")), "finite"),
    ],
)
def test_classes_check_their_own_rules(build, message):
    """Validation lives in the classes: building one directly breaks the same rules."""
    with pytest.raises(ValueError, match=message):
        build()


def test_registry_names_every_table_kind():
    from roicast.distributions import registry

    assert set(registry()) == {
        "fixed",
        "uniform",
        "triangular",
        "pert",
        "normal",
        "truncnormal",
        "lognormal",
        "beta",
        "discrete",
        "quantiles",
    }
    for kind, cls in registry().items():
        assert cls.kind == kind
