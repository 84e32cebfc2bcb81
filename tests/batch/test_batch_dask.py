"""The same batch on a real Dask cluster gives the same per-project results."""

from __future__ import annotations

import pytest

from roicast.batch import run_batch
from tests.batch.conftest import npv_roi, read_csv


@pytest.mark.slow
def test_dask_cluster_matches_local_processes(specs, tmp_path, dask_scheduler):
    local = run_batch(specs, out=tmp_path / "local", workers=2, report=False, sensitivity=False)
    dask = run_batch(
        specs, out=tmp_path / "dask", scheduler=dask_scheduler, report=False, sensitivity=False
    )
    assert not local.failed + dask.failed, (local.failed + dask.failed)[0]["error"]
    assert local.counts == dask.counts == {"total": 3, "done": 3, "failed": 0, "skipped": 0}
    assert npv_roi(tmp_path / "local") == npv_roi(tmp_path / "dask")
    drop = {"seconds", "folder"}
    rows = [
        [
            {k: v for k, v in r.items() if k not in drop}
            for r in read_csv(tmp_path / d / "portfolio.csv")
        ]
        for d in ("local", "dask")
    ]
    for r in rows[0] + rows[1]:
        r.pop("source")
    assert rows[0] == rows[1]
    assert local.portfolio == dask.portfolio


def test_dask_records_a_broken_project(specs, spec_dir, tmp_path, dask_scheduler):
    (spec_dir / "broken.toml").write_text("not toml at all [")
    res = run_batch(
        [*specs, spec_dir / "broken.toml"],
        out=tmp_path / "dask",
        scheduler=dask_scheduler,
        report=False,
        sensitivity=False,
    )
    assert [r["name"] for r in res.failed] == ["broken"], res.failed[0]["error"]
    assert res.counts["done"] == 3


@pytest.mark.slow  # waits for the connection timeout
def test_unreachable_scheduler_is_one_line(specs, tmp_path):
    from roicast.errors import RoicastError

    with pytest.raises(RoicastError, match="cannot reach the Dask scheduler"):
        run_batch(specs, out=tmp_path / "x", scheduler="tcp://127.0.0.1:9", report=False)


@pytest.mark.slow
def test_dask_local_cluster_matches(specs, tmp_path):
    run_batch(specs, out=tmp_path / "local", workers=1, report=False, sensitivity=False)
    run_batch(specs, out=tmp_path / "dl", dask_local=2, report=False, sensitivity=False)
    assert npv_roi(tmp_path / "local") == npv_roi(tmp_path / "dl")
