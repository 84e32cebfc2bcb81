"""The `roicast batch` command, on a local Typer app (cli.py registers the same function)."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from roicast.batch_cli import batch

app = typer.Typer()
app.command(name="batch")(batch)
app.command(name="noop")(lambda: None)  # two commands: `batch` is named as in roicast's CLI

FAST = ["--workers", "0", "--no-report", "--no-sensitivity", "--quiet"]


def invoke(*args):
    return CliRunner().invoke(app, ["batch", *map(str, args)])


def test_batch_prints_a_ranking_and_exits_0(specs, tmp_path):
    r = invoke(*specs, "--out", tmp_path / "out", *FAST)
    assert r.exit_code == 0, r.output
    assert "3 projects — 3 run, 0 reused, 0 failed" in r.stdout
    assert "alpha" in r.stdout and "portfolio.csv" in r.stdout
    assert (tmp_path / "out" / "portfolio.csv").is_file()
    again = invoke(*specs, "--out", tmp_path / "out", "--resume", *FAST)
    assert again.exit_code == 0 and "0 run, 3 reused" in again.stdout


def test_a_failed_project_exits_1_with_a_count(specs, spec_dir, tmp_path):
    (spec_dir / "broken.toml").write_text("[project]\nname = 'broken'\n")
    r = invoke(*specs, spec_dir / "broken.toml", "--out", tmp_path / "out", *FAST)
    assert r.exit_code == 1
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: 1 of 4 projects failed (first: broken:")
    assert "failed: broken:" in r.stdout
    assert "Traceback" not in r.output


@pytest.mark.parametrize(
    ("args", "message", "rc"),
    [
        ([], "nothing to run", 1),
        (["--template", "t.toml"], "--template and --table go together", 1),
        (["x.toml", "--dask-local", "2", "--scheduler", "tcp://h:1"], "exclude each other", 1),
    ],
)
def test_bad_combinations_are_one_line_errors(tmp_path, args, message, rc):
    r = invoke(*args, "--out", tmp_path / "out")
    assert r.exit_code == rc
    assert message in r.stderr
    assert r.stderr.startswith("error:") and len(r.stderr.strip().splitlines()) <= 2
    assert not (tmp_path / "out").exists()


def test_bad_scheduler_is_one_line_and_leaves_no_running_batch(specs, tmp_path):
    out = tmp_path / "out"
    r = invoke(*specs, "--out", out, "--scheduler", "nonsense", "--no-report", "--quiet")
    assert r.exit_code == 1
    assert r.stderr.startswith("error: --scheduler: cannot reach the Dask scheduler 'nonsense'")
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    batch = out / "batch.json"
    if batch.exists():  # absent, or final
        doc = json.loads(batch.read_text())
        assert doc["status"] == "failed" and "nonsense" in doc["error"]
    # the folder stays a batch folder: the same command with a usable backend runs
    again = invoke(*specs[:1], "--out", out, *FAST)
    assert again.exit_code == 0, again.output
    assert json.loads(batch.read_text())["status"] == "finished"


def test_option_errors_name_flags_on_the_command_line(tmp_path):
    r = invoke("x.toml", "--workers", "-2", "--out", tmp_path / "out")
    assert r.exit_code == 1 and r.stderr.startswith("error: --workers: -2; give 0")
    r = invoke("x.toml", "--budget-money", "-1", "--out", tmp_path / "out")
    assert r.exit_code == 1 and "--budget-money: -1.0; give a finite number" in r.stderr
