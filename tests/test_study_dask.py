"""One study split over a real 2-worker Dask LocalCluster equals the local run, exactly."""

from __future__ import annotations

import numpy as np
import pytest

from roicast.simulate import METRIC_NAMES, SERIES_NAMES
from roicast.study import run_study
from tests.test_study_memory import SEED, fast_spec

pytestmark = pytest.mark.slow


def test_split_study_equals_local_study(monkeypatch):
    from roicast import study as study_mod
    from roicast.batch.execute import DaskExecutor

    # tasks of 1200 draws: 3000 draws make a local first chunk and two tasks on the workers
    monkeypatch.setattr(study_mod, "DASK_TASK_DRAWS", 1200)
    spec = fast_spec()
    local = run_study(spec, draws=3000, seed=SEED, sensitivity=False)
    with DaskExecutor(local=2) as ex:
        assert len(ex.client.nthreads()) == 2
        split = run_study(spec, draws=3000, seed=SEED, sensitivity=False, client=ex.client)
    for name, opt in local.options.items():
        other = split.options[name]
        for m in METRIC_NAMES:
            np.testing.assert_array_equal(other.metrics[m].values, opt.metrics[m].values, m)
        assert other.monthly.attrs["quantiles_exact"] == opt.monthly.attrs["quantiles_exact"]
        for s in [*SERIES_NAMES, "prob_paid_back"]:
            np.testing.assert_array_equal(other.monthly[s].values, opt.monthly[s].values, s)
        for out, df in opt.tornado.items():
            np.testing.assert_array_equal(other.tornado[out].values, df.values, out)
