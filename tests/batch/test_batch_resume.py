"""--resume: skip finished projects; a batch killed mid-run resumes without loss or half-written folders."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from roicast.batch import run_batch
from tests.batch.conftest import GAINS, npv_roi, small
from tests.conftest import DEMO, small_demo_raw, write_toml

FAST = {"workers": 0, "report": False, "sensitivity": False}


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """One finished batch of the three default projects, run once for the module.

    Its spec files have the content of the ``specs`` fixture's (the resume key is
    the spec's content hash, not its path), so a test copies ``out`` with
    :func:`copy_finished` next to its own ``specs`` instead of running the batch
    again.  Returns (the batch's folder, its result).
    """
    d = tmp_path_factory.mktemp("finished")
    shutil.copy(DEMO / "history.csv", d / "history.csv")
    raw = small_demo_raw()  # what the demo_raw fixture gives
    specs = [
        write_toml(d / f"p{i}.toml", small(raw, name, g))
        for i, (name, g) in enumerate(GAINS.items())
    ]
    res = run_batch(specs, out=d / "out", **FAST)
    assert res.counts == {"total": 3, "done": 3, "failed": 0, "skipped": 0}, res.failed
    return d / "out", res


def copy_finished(finished, out: Path):
    """A copy of the module's finished batch at ``out`` (file times kept); its result."""
    shutil.copytree(finished[0], out)
    return finished[1]


def markers(out: Path) -> dict[str, int]:
    """Finished projects: done-markers in project folders (a hidden temporary folder is not one)."""
    found = {}
    for p in (out / "projects").glob("*/batch_record.json"):
        if p.parent.name.startswith("."):
            continue
        try:
            found[p.parent.name] = p.stat().st_mtime_ns
        except FileNotFoundError:  # renamed away between the listing and the stat
            continue
    return found


@pytest.mark.slow
def test_resume_skips_only_matching_finished_projects(specs, demo_raw, finished, tmp_path):
    out = tmp_path / "out"
    first = copy_finished(finished, out)
    before = markers(out)
    again = run_batch(specs, out=out, resume=True, **FAST)
    # all three skipped: the copied batch matches these specs' resume keys (content, not paths)
    assert again.counts == {"total": 3, "done": 0, "failed": 0, "skipped": 3}
    assert markers(out) == before
    assert [r["npv_mean"] for r in again.records] == [r["npv_mean"] for r in first.records]

    write_toml(specs[0], small(demo_raw, "alpha", 1.45))  # alpha's spec changed
    changed = run_batch(specs, out=out, resume=True, **FAST)
    assert changed.counts["done"] == 1 and changed.counts["skipped"] == 2
    assert markers(out)["alpha"] != before["alpha"]

    more = run_batch(specs, out=out, resume=True, draws=400, **FAST)  # other draws: all again
    assert more.counts["done"] == 3
    reports = run_batch(
        specs[:1], out=out, resume=True, draws=400, workers=0, report=True, sensitivity=False
    )
    assert reports.counts["done"] == 1  # a report was asked for and is missing


def test_without_resume_everything_runs_again(specs, finished, tmp_path):
    out = tmp_path / "out"
    copy_finished(finished, out)
    res = run_batch(specs, out=out, **FAST)
    assert res.counts["done"] == 3 and res.counts["skipped"] == 0


def test_leftovers_of_a_killed_swap_are_cleaned(specs, finished, tmp_path):
    out = tmp_path / "out"
    copy_finished(finished, out)
    projects = out / "projects"
    (projects / ".beta.tmp-abc123").mkdir()  # a half-written folder
    (projects / ".beta.tmp-abc123" / "summary.json").write_text("{")
    os.replace(projects / "alpha", projects / ".alpha.old-999")  # killed between the renames
    res = run_batch(specs, out=out, resume=True, **FAST)
    assert res.counts["skipped"] == 3
    visible = sorted(p.name for p in projects.iterdir() if not p.name.startswith("."))
    assert visible == sorted(r["folder"].removeprefix("projects/") for r in res.records)
    assert not [p for p in projects.iterdir() if p.name.startswith(".")]
    assert (projects / "alpha" / "batch_record.json").is_file()


@pytest.mark.slow
def test_killed_batch_resumes_without_loss(spec_dir, demo_raw, tmp_path):
    # six projects with their own demand growth: six forecasts to fit, so the batch takes a while
    specs = []
    for i in range(6):
        doc = small(demo_raw, f"project {i}", 1.3 + 0.1 * i)
        doc["demand"]["growth"] = 0.05 * i
        specs.append(write_toml(spec_dir / f"k{i}.toml", doc))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "roicast.batch_cli", *map(str, specs), "--out", str(out)]
    cmd += ["--workers", "1", "--no-report", "--no-sensitivity", "--quiet"]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 120
        while not markers(out) if out.exists() else True:
            assert proc.poll() is None, "the batch ended before it could be killed"
            assert time.monotonic() < deadline, "no project finished in time"
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the batch and its worker processes
        proc.wait()
    finished = markers(out)
    assert 1 <= len(finished) < 6
    projects = out / "projects"
    for p in projects.iterdir():  # no half-written project folder: complete, or hidden temporary
        assert p.name.startswith(".") or {"summary.json", "npv.npy", "batch_record.json"} <= {
            q.name for q in p.iterdir()
        }
    assert not (out / "portfolio.csv").exists()

    res = run_batch(specs, out=out, resume=True, **FAST)
    assert res.counts == {
        "total": 6,
        "done": 6 - len(finished),
        "failed": 0,
        "skipped": len(finished),
    }
    after = markers(out)
    assert {k: after[k] for k in finished} == finished  # finished projects were not redone
    assert len(after) == 6 and not [p for p in projects.iterdir() if p.name.startswith(".")]
    fresh = tmp_path / "fresh"
    run_batch(specs, out=fresh, **FAST)
    assert npv_roi(out) == npv_roi(fresh)
