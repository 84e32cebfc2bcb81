"""The batch's per-project costs are recorded; a shared forecast is summarised once."""

from __future__ import annotations

import json

from roicast.batch import run_batch


def test_worker_records_its_own_stages_and_cpu(specs, tmp_path):
    res = run_batch(specs, out=tmp_path / "out", workers=0, report=False, sensitivity=False)
    assert not res.failed, res.failed[0]["error"]
    for rec in res.records:
        t = rec["timings"]
        assert {"summary", "write", "cpu"} <= set(t)
        assert t["cpu"] > 0 and t["summary"] >= 0 and t["write"] >= 0
        # the worker's stages are within the project's wall time
        assert t["summary"] + t["write"] <= rec["seconds"]
    doc = json.loads((tmp_path / "out" / "batch.json").read_text())
    stages = doc["project_stage_seconds"]
    assert stages["cpu"] == sum(r["timings"]["cpu"] for r in res.records)
    marker = json.loads(
        next((tmp_path / "out" / "projects").glob("*/batch_record.json")).read_text()
    )
    assert "timings" not in marker["record"]  # the resume marker stays as it was


def test_projects_sharing_traffic_share_the_forecast_bands(specs, tmp_path, monkeypatch):
    """In one process, the forecast of projects with the same traffic is summarised once."""
    from roicast.forecast import Forecast

    calls = []
    real = Forecast._cached

    def spy(self, key, make):
        def counted():
            calls.append(key)
            return make()

        return real(self, key, counted)

    monkeypatch.setattr(Forecast, "_cached", spy)
    res = run_batch(specs, out=tmp_path / "out", workers=0, report=False, sensitivity=False)
    assert not res.failed and len(res.records) == len(specs) == 3
    assert calls.count(("bands",)) == 1
