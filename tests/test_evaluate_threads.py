"""The evaluators' shared row caches under two threads (the what-if page's quick and refining runs).

The row cache is shared by every evaluator on the same demand paths and settings; one
thread's ``mean`` adds rows while another's ``mean_npv`` scans the cache for an affine
input's line.  Without the lock the scan raised "dictionary changed size during
iteration" within a few iterations (reproduced before the fix on this machine, every run).
"""

from __future__ import annotations

import threading

import numpy as np

import roicast.evaluate as E
from roicast.simulate import INPUT_NAMES, METRIC_NAMES


def _fake_run(self, x, ids):
    # a stand-in for the kernel: NPV = sum of the inputs (affine in every input), fast
    self.rows_evaluated += x.shape[0]
    m = np.zeros((x.shape[0], len(METRIC_NAMES)))
    m[:, E._NPV] = x.sum(axis=1)
    return m


def test_a_scan_and_concurrent_inserts_do_not_collide(monkeypatch):
    monkeypatch.setattr(E.ModelEvaluator, "_run", _fake_run)
    demand = np.full((4, 12), 7.0)  # a demand content no other test uses: a cache of its own
    base = {n: 1.0 for n in INPUT_NAMES}
    kw = {"n_noise": 2, "seed": 11, "price_seed": 11, "discount": 0.1, "horizon": 12}
    a = E.ModelEvaluator(demand, base, {}, **kw)
    b = E.ModelEvaluator(demand, base, {}, **kw)
    assert a._cache is b._cache
    a.mean({"optimized.throughput_gain": np.linspace(1, 2, 500)})
    errors: list[str] = []
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            i += 1
            a.mean({"optimized.throughput_gain": np.arange(50) * 1e-3 + 3 + i})

    t = threading.Thread(target=writer)
    t.start()
    try:
        for k in range(6):
            b._fits.clear()  # force a fresh scan of the cache
            got = b.mean_npv({"implementation.engineer_cost": np.array([0.5, 2.0, 3.0]) + k})
            # NPV = sum of inputs: the base row sums to len(INPUT_NAMES), minus 1 for the base cost
            want = len(INPUT_NAMES) - 1 + np.array([0.5, 2.0, 3.0]) + k
            np.testing.assert_allclose(got, want, rtol=1e-12)
    except RuntimeError as e:  # the collision this test is about
        errors.append(repr(e))
    finally:
        stop.set()
        t.join()
    assert not errors
