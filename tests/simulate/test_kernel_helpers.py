"""The kernels' per-slot helpers against plain NumPy (issue 13: fused, branch-free slot loops)."""

from __future__ import annotations

import numpy as np
import pytest

from roicast.simulate._kernels import fleet_slots, owned_month
from roicast.simulate._layout import (
    HOURS_PER_MONTH,
    POLICY_AUTOSCALE,
    POLICY_AVERAGE,
    POLICY_PEAK,
)


def _expected(policy, x, w, floor, q):
    if policy == POLICY_AVERAGE:
        n = np.maximum(x * w, floor)
    elif policy == POLICY_PEAK:
        n = np.full_like(w, max(np.ceil(x * w.max() * (1 - 1e-12)), floor))
    else:
        n = np.maximum(np.ceil(x * w * (1 - 1e-12)), floor)
    return n


@pytest.mark.parametrize("policy", [POLICY_AVERAGE, POLICY_PEAK, POLICY_AUTOSCALE])
@pytest.mark.parametrize("varied", [False, True])
@pytest.mark.parametrize("slots", [1, 24, 168])
def test_fleet_slots_matches_numpy(policy, varied, slots):
    rng = np.random.default_rng(slots + 10 * policy + int(varied))
    for _ in range(20):
        w = rng.uniform(0.2, 2.0, slots)
        q = rng.uniform(1.0, 1.5, slots) if varied else np.ones(slots)
        x = rng.uniform(0.0, 40.0)
        floor = float(rng.integers(0, 4))
        out = np.empty(slots)
        total, cap, peak = fleet_slots(policy, x, w, w.max(), floor, q, varied, out)
        n = _expected(policy, x, w, floor, q)
        np.testing.assert_array_equal(out, n)
        # sums of the same terms; whole numbers (peak, autoscale) are exact in any order
        assert total == pytest.approx(n.sum(), rel=1e-14)
        assert cap == pytest.approx((n * q).sum(), rel=1e-14)
        assert peak == n.max()  # taken from w_max, not a scan: must be the scan's maximum


@pytest.mark.parametrize("covered", [False, True])
def test_owned_month_hours(covered):
    rng = np.random.default_rng(7 + int(covered))
    p, horizon = 24, 12
    for _ in range(50):
        n = rng.integers(0, 9, p).astype(float)
        owned = 20.0 if covered else float(rng.integers(0, 8))
        state = np.array([owned, 0.0])
        arrivals = np.zeros(horizon + 1)
        lot, lead = 4.0, 2  # what is bought arrives later: this month's owned fleet is `owned`
        lots, busy, idle, burst = owned_month(
            3, n, n.sum(), n.max(), state, arrivals, lot, lead, horizon
        )
        rep = HOURS_PER_MONTH / p
        assert busy == np.minimum(n, owned).sum() * rep
        assert burst == np.maximum(n - owned, 0.0).sum() * rep
        assert idle == (owned * p - np.minimum(n, owned).sum()) * rep
        short = n.max() - owned
        assert lots == (np.ceil(short / lot) if short > 0 else 0.0)
