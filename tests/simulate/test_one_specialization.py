"""The kernel sees one array type whatever the caller passes (same draws, same bits).

numba compiles a specialization per argument type, and a read-only array (a
shared constant such as the flat load profile, or an array a Dask worker
deserialized) is a different type from a writeable one.  Under ``fastmath``
two specializations may associate a sum differently, so a split study once
differed from the local run in the last bit of ``tco_optimized``.
"""

from __future__ import annotations

import numpy as np
from numba import types

from roicast.simulate import INPUT_NAMES, FleetConfig, simulate_arrays
from roicast.simulate import _kernels as K

from ._points import RENTED


def _readonly(a: np.ndarray) -> np.ndarray:
    b = np.array(a)
    b.setflags(write=False)
    return b


def _point(n: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """``n`` draws of the rented fleet with price noise, model updates and growing demand."""
    rng = np.random.default_rng(11)
    row = dict(RENTED, **{"pricing.annual_volatility": 0.3, "churn.updates_per_year": 4.0})
    row["churn.downtime_months"] = 0.5
    x = np.tile([float(row[k]) for k in INPUT_NAMES], (n, 1))
    x[:, INPUT_NAMES.index("demand")] = rng.uniform(0.01, 0.99, n)
    demand = np.sort(rng.uniform(1e6, 5e6, (7, 1)) * np.linspace(1, 2, 30), axis=0)
    return x, demand


def test_read_only_arrays_reach_the_kernel_as_writeable_ones():
    x, demand = _point()
    prof = np.linspace(0.5, 1.5, 24)[None, :] / np.linspace(0.5, 1.5, 24).mean()
    fleets = [FleetConfig(), FleetConfig(provisioning="autoscale", profiles=prof)]
    out = []
    for fleet in fleets:
        ro = FleetConfig(
            provisioning=fleet.provisioning, profiles=_readonly(fleet.profiles), api=fleet.api
        )
        for xs, ds, fl in ((x, demand, fleet), (_readonly(x), _readonly(demand), ro)):
            out.append(simulate_arrays(xs, ds, seed=3, discount_rate=0.1, monthly=True, fleet=fl))
    for a, b in (out[0:2], out[2:4]):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[1], b[1])
    readonly = [
        str(t)
        for sig in K.simulate_kernel.signatures
        for t in sig
        if isinstance(t, types.Array) and not t.mutable
    ]
    assert not readonly, readonly
