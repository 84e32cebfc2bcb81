"""Reference problems: analytic indices pinned to published values."""

import numpy as np
import pytest

from roicast.errors import RoicastError
from roicast.sensitivity.reference import (
    g_function,
    g_function_indices,
    g_function_inputs,
    ishigami,
    ishigami_indices,
    ishigami_inputs,
)


def test_ishigami_analytic_values():
    # Published values for a = 7, b = 0.1 (e.g. Saltelli et al. 2010, SALib docs).
    ref = ishigami_indices(7.0, 0.1)
    np.testing.assert_allclose(ref["S1"], [0.3139, 0.4424, 0.0], atol=1e-4)
    np.testing.assert_allclose(ref["ST"], [0.5576, 0.4424, 0.2437], atol=1e-4)


def test_ishigami_function_and_variance():
    # Sample variance of f over 200 000 uniform draws matches the analytic V
    # (= 13.8446); SE of a variance is about V·sqrt(2/n)·(kurtosis factor) < 0.1.
    rng = np.random.default_rng(0)
    x = {k: rng.uniform(-np.pi, np.pi, 200_000) for k in ("x1", "x2", "x3")}
    v = 7.0**2 / 8 + 0.1 * np.pi**4 / 5 + 0.1**2 * np.pi**8 / 18 + 0.5
    assert abs(np.var(ishigami(x)) - v) < 0.15
    assert ishigami({"x1": np.pi / 2, "x2": np.pi / 2, "x3": 1.0}) == pytest.approx(1 + 7 + 0.1)
    assert set(ishigami_inputs()) == {"x1", "x2", "x3"}


def test_g_function_values_and_indices():
    a = [0.0, 1.0, 9.0]
    assert g_function({"x1": 0.0, "x2": 0.5, "x3": 1.0}, a) == pytest.approx(2.0 * 0.5 * 11 / 10)
    ref = g_function_indices(a)
    vi = 1 / (3 * (1 + np.array(a)) ** 2)
    np.testing.assert_allclose(ref["S1"], vi / (np.prod(1 + vi) - 1))
    assert np.all(ref["ST"] >= ref["S1"])
    assert list(g_function_inputs(3)) == ["x1", "x2", "x3"]
    with pytest.raises(RoicastError, match="`a`"):
        g_function_indices([-1.0])
    with pytest.raises(RoicastError, match="`k`"):
        g_function_inputs(0)
