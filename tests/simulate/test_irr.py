"""The kernel's IRR (issue 13: Halley steps, an even/odd Horner split, branch-free signs).

Checked against independent oracles: direct sums for the polynomial and its
derivatives, a plain Python count of sign changes (the rule as first written,
with branches), SciPy's ``brentq`` for the root, and a closed form.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from roicast.simulate._kernels import _irr, _npv_derivatives, _sign_changes

#: The IRR's stated tolerance: a step of less than 1e-12 v stops the search, so the
#: IRR is within ~12 (1 + IRR) 1e-12 of the root; checked at 1e-10 (1 + |IRR|), as
#: tests/simulate/_points.py checks a pinned IRR.
IRR_TOL = 1e-10


def _cash_flows(rng: np.random.Generator, horizon: int) -> np.ndarray:
    """``cf[0..H]`` with ``cf[0] = 0``: an investment, then mostly positive months."""
    cf = np.zeros(horizon + 1)
    k = int(rng.integers(1, max(2, horizon // 3)))
    cf[1 : k + 1] = -rng.uniform(1e3, 1e5, k)
    cf[k + 1 :] = rng.normal(rng.uniform(-2e3, 2e4), 5e3, horizon - k)
    cf[rng.random(horizon + 1) < 0.1] = 0.0
    cf[0] = 0.0
    return cf


def _python_sign_changes(x: np.ndarray, horizon: int) -> int:
    """The rule with branches, as the kernel first wrote it."""
    n, last = 0, 0.0
    for t in range(1, horizon + 1):
        if x[t] != 0.0:
            if last != 0.0 and (x[t] > 0.0) != (last > 0.0):
                n += 1
            last = x[t]
    return n


@pytest.mark.parametrize("horizon", [1, 2, 3, 7, 36, 37, 120])
def test_npv_derivatives_match_direct_sums(horizon):
    rng = np.random.default_rng(horizon)
    t = np.arange(horizon + 1, dtype=float)
    for _ in range(20):
        cf = _cash_flows(rng, horizon)
        for v in (1.0 / 3.0, 0.9, 1.0, 1.01, 2.0):
            terms = cf * v**t
            want = (
                terms.sum(),
                (t * cf * v ** (t - 1)).sum(),
                (t * (t - 1) / 2 * cf * v ** (t - 2)).sum(),
            )
            # scale of each sum: the sum of its terms' magnitudes; Horner's rounding
            # error is a few ulps of it per term (H terms): 1e-13 relative is ~500 ulps
            scale = (
                np.abs(terms).sum(),
                np.abs(t * cf * v ** (t - 1)).sum(),
                np.abs(t * (t - 1) / 2 * cf * v ** (t - 2)).sum(),
            )
            got = _npv_derivatives(cf, horizon, v)
            for g, w, s in zip(got, want, scale, strict=True):
                assert abs(g - w) <= 1e-13 * max(s, 1e-300) * max(1, horizon), (horizon, v, g, w)


def test_sign_changes_count_like_the_branching_rule():
    rng = np.random.default_rng(5)
    for horizon in (1, 2, 5, 36):
        for _ in range(200):
            x = rng.choice([-2.0, -1.0, 0.0, 0.0, 1.0, 3.0], horizon + 1)
            assert _sign_changes(x, horizon) == _python_sign_changes(x, horizon)
    # non-finite values keep the branching rule's answer too (NaN counts as "not > 0")
    x = np.array([0.0, 1.0, np.nan, 2.0, -np.inf, 0.0, np.inf])
    assert _sign_changes(x, 6) == _python_sign_changes(x, 6)


def test_irr_closed_form():
    # -1 now, +1.1 a month later: the monthly rate is 10 %, the IRR 1.1^12 - 1
    cf = np.array([0.0, -1.0, 1.1])
    cum = np.cumsum(cf)
    assert _irr(cf, cum, 2) == pytest.approx(1.1**12 - 1.0, rel=1e-13)
    # no sign change: no IRR
    cf = np.array([0.0, 1.0, 1.0, 1.0])
    assert math.isnan(_irr(cf, np.cumsum(cf), 3))


@pytest.mark.parametrize("horizon", [6, 36, 120])
def test_irr_is_the_root_brentq_finds(horizon):
    rng = np.random.default_rng(100 + horizon)
    t = np.arange(horizon + 1, dtype=float)
    found = 0
    for _ in range(300):
        cf = _cash_flows(rng, horizon)
        cum = np.cumsum(cf)
        got = _irr(cf, cum, horizon)
        unique = _python_sign_changes(cf, horizon) == 1 or (
            _python_sign_changes(cum, horizon) == 1 and cum[horizon] != 0.0
        )

        def f(v, cf=cf):
            return float((cf * v**t).sum())

        lo, hi = 1.0 / 3.0, 2.0
        if not unique or np.sign(f(lo)) == np.sign(f(hi)):
            assert math.isnan(got)
            continue
        v = brentq(f, lo, hi, xtol=1e-15, rtol=4 * np.finfo(float).eps, maxiter=500)
        want = v**-12 - 1.0
        assert abs(got - want) <= IRR_TOL * (1.0 + abs(want)), (got, want)
        found += 1
    assert found > 100  # the test exercised the root search, not only the NaN rule
