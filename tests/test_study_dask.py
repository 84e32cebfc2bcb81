"""One study split over a real 2-worker Dask LocalCluster equals the local run, exactly."""

from __future__ import annotations

import numpy as np
import pytest

from roicast.simulate import METRIC_NAMES, SERIES_NAMES
from roicast.study import run_study
from tests.test_study_memory import SEED, fast_spec


@pytest.mark.slow
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


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["--dask-local", "2", "--scheduler", "tcp://127.0.0.1:1"], 1, "exclude each other"),
        (["--dask-local", "0"], 2, "--dask-local"),
        (["--dask-local", "65"], 2, "--dask-local"),
        (["--scheduler", " "], 1, "--scheduler: empty"),
    ],
)
def test_run_refuses_bad_dask_flags_before_any_work(tmp_path, args, code, needle):
    from typer.testing import CliRunner

    from roicast.cli import app, demo_spec_path

    res = CliRunner().invoke(
        app, ["run", str(demo_spec_path()), "-o", str(tmp_path / "out"), "-q", "-n", "100", *args]
    )
    assert res.exit_code == code, res.output
    assert needle in res.output + str(res.stderr if code == 1 else "")
    assert not (tmp_path / "out").exists()
