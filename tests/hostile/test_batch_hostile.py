"""Hostile projects in a batch: recorded, one line, exit 1; no file content leaked anywhere.

One batch (2 good projects, one with a bad field, one whose history is a
shadow-like file holding the secret marker) runs once for the module; each
test checks one promise.  ``--workers 0`` runs in one process (cheapest), this one
(``_harness.run_inproc``: the console script's ``main``); the unreachable
scheduler runs the real entry point in a subprocess.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from tests.hostile._harness import (
    SECRET,
    check_refusal,
    dumps_toml,
    files_with,
    history_spec,
    mutate,
    run_cli,
    run_inproc,
    tiny_spec,
)
from tests.hostile.cases import SHADOW

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Run the hostile batch once; (folder, result)."""
    d = tmp_path_factory.mktemp("batch")
    (d / "good1.toml").write_text(dumps_toml(mutate(tiny_spec(), "project.name", "good one")))
    (d / "good2.toml").write_text(dumps_toml(mutate(tiny_spec(), "project.name", "good two")))
    (d / "bad.toml").write_text(
        dumps_toml(mutate(mutate(tiny_spec(), "project.name", "bad"), "baseline.utilization", 1.3))
    )
    (d / "shadow.csv").write_text(SHADOW)
    leak = mutate(history_spec("shadow.csv"), "project.name", "leaky")
    (d / "leaky.toml").write_text(dumps_toml(leak))
    args = (
        "batch",
        "good1.toml",
        "good2.toml",
        "bad.toml",
        "leaky.toml",
        "--out",
        "out",
        "--workers",
        "0",
        "--draws",
        "200",
        "-q",
    )
    return d, run_inproc(args, d)


def _rows(out: Path) -> dict[str, dict[str, str]]:
    with open(out / "portfolio.csv", newline="", encoding="utf-8") as f:
        return {r["name"]: r for r in csv.DictReader(f)}


def test_batch_failures_recorded_and_exit_1(batch):
    """The bad projects are recorded as failed with their error; the good ones are done; exit 1."""
    d, res = batch
    assert res.rc == 1, res.show()
    assert "Traceback" not in res.stderr + res.stdout, res.show()
    rows = _rows(d / "out")
    assert rows["good one"]["status"] == rows["good two"]["status"] == "done", rows
    assert rows["bad"]["status"] == "failed"
    assert "baseline.utilization" in rows["bad"]["error"] and "1.3" in rows["bad"]["error"]
    assert rows["leaky"]["status"] == "failed"
    doc = json.loads((d / "out" / "batch.json").read_text())
    assert "running" not in json.dumps(doc.get("status", "")), doc.get("status")


def test_batch_one_stderr_line(batch):
    """The batch's failure is reported as one line on stderr naming the failed spec and field."""
    d, res = batch
    check_refusal(res, names=("bad", "baseline.utilization"), secret_files=[d / "shadow.csv"])


def test_batch_secret_not_stored(batch):
    """The secret of a non-history file is in no output file and not on stderr/stdout."""
    d, res = batch
    assert SECRET not in res.stderr + res.stdout
    hits = files_with(d / "out", SECRET)
    assert not hits, f"secret stored in {hits}"


def test_batch_bogus_scheduler_one_line(tmp_path):
    """--scheduler tcp://127.0.0.1:1: one line, exit 1, batch.json not left 'running'."""
    (tmp_path / "p.toml").write_text(dumps_toml(tiny_spec()))
    res = run_cli(
        ("batch", "p.toml", "--out", "out", "--scheduler", "tcp://127.0.0.1:1", "-q"), tmp_path
    )
    check_refusal(res, names=("--scheduler", "tcp://127.0.0.1:1"), out=None)
    bj = tmp_path / "out" / "batch.json"
    if bj.exists():
        assert "running" not in json.dumps(json.loads(bj.read_text()).get("status", ""))
