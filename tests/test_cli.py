"""The command line, end to end: demo, run, validate, bad input, reproducibility."""

from __future__ import annotations

import copy
import json

import numba
import pytest
import xarray as xr
from typer.testing import CliRunner

from roicast.cli import app
from tests.conftest import write_toml

runner = CliRunner()

SUMMARY_KEYS = {
    "project",
    "draws",
    "seed",
    "horizon_months",
    "roi",
    "npv",
    "payback_months",
    "prob_npv_negative",
    "scenarios",
    "tornado",
    "decision",
}


def test_run_writes_every_output(small_spec, tmp_path):
    out = tmp_path / "out"
    r = runner.invoke(
        app, ["run", str(small_spec), "--out", str(out), "--draws", "600", "--seed", "3", "-q"]
    )
    assert r.exit_code == 0, r.output
    assert "Verdict:" in r.output and "NPV" in r.output
    for f in ("summary.json", "report.md", "report.html", "results.nc"):
        assert (out / f).is_file(), f
    for png in ("npv_hist.png", "payback.png", "tornado_npv.png", "cashflow_fan.png"):
        assert (out / "figures" / png).stat().st_size > 5_000
    doc = json.loads((out / "summary.json").read_text())
    assert SUMMARY_KEYS <= doc.keys()
    assert doc["draws"] == 600 and doc["seed"] == 3
    for k in ("roi", "npv"):
        assert {"mean", "p10", "p50", "p90"} <= doc[k].keys()
        assert doc[k]["p10"] <= doc[k]["p50"] <= doc[k]["p90"]
    assert 0 <= doc["payback_months"]["prob_within_horizon"] <= 1
    assert doc["decision"]["verdict"] in ("go", "no-go")
    swings = [t["swing"] for t in doc["tornado"]]
    assert swings == sorted(swings, reverse=True) and len(swings) >= 5
    assert set(doc["tornado"][0]) >= {"input", "low", "high", "swing"}
    html = (out / "report.html").read_text()
    assert "data:image/png;base64," in html and '<img src="figures/' not in html
    ds = xr.open_dataset(out / "results.nc", engine="h5netcdf")
    assert ds["npv"].dims == ("option", "draw") and ds["inputs"].dims == ("option", "draw", "input")
    assert float(ds["npv"].mean()) == pytest.approx(doc["npv"]["mean"], rel=1e-12)
    ds.close()


def test_same_seed_same_summary_twice_and_across_threads(small_spec, tmp_path):
    docs = []
    before = numba.get_num_threads()
    try:
        for i, threads in enumerate((1, min(2, numba.config.NUMBA_NUM_THREADS), 1)):
            numba.set_num_threads(threads)
            out = tmp_path / f"o{i}"
            r = runner.invoke(
                app,
                ["run", str(small_spec), "--out", str(out), "--draws", "500", "--no-report", "-q"],
            )
            assert r.exit_code == 0, r.output
            docs.append((out / "summary.json").read_text())
    finally:
        numba.set_num_threads(before)
    assert docs[0] == docs[1] == docs[2]
    out = tmp_path / "other-seed"
    runner.invoke(
        app,
        [
            "run",
            str(small_spec),
            "--out",
            str(out),
            "--draws",
            "500",
            "--seed",
            "99",
            "--no-report",
            "-q",
        ],
    )
    assert json.loads((out / "summary.json").read_text())["npv"] != json.loads(docs[0])["npv"]


def test_validate_ok(small_spec):
    r = runner.invoke(app, ["validate", str(small_spec)])
    assert r.exit_code == 0, r.output
    assert "OK" in r.output and "history" in r.output


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda r: r["baseline"].__setitem__("pricee", 3),
            "baseline.pricee: unknown key `pricee` (value 3)",
        ),
        (
            lambda r: r["baseline"].__setitem__("price", "cheap"),
            "baseline.price: expected a number or a distribution table",
        ),
        (
            lambda r: r["baseline"].__setitem__("price", -3),
            "baseline.price: value -3; must lie in (0, 10000]",
        ),
        (
            lambda r: r["baseline"].__setitem__("utilization", 1.5),
            "baseline.utilization: value 1.5; must lie in (0, 1]",
        ),
        (
            lambda r: r["optimized"].__setitem__(
                "throughput_gain", {"dist": "pert", "min": 3, "mode": 2, "max": 4}
            ),
            "optimized.throughput_gain: pert needs min <= mode <= max, got min=3, mode=2, max=4",
        ),
        (lambda r: r["demand"].__setitem__("history", "missing.csv"), "demand.history: file"),
    ],
)
@pytest.mark.parametrize("command", ["run", "validate"])
def test_bad_input_one_line_exit_1_nothing_written(
    demo_raw, spec_dir, tmp_path, mutate, expected, command
):
    raw = copy.deepcopy(demo_raw)
    mutate(raw)
    spec = write_toml(spec_dir / "bad.toml", raw)
    out = tmp_path / "never"
    args = [command, str(spec)] + (["--out", str(out)] if command == "run" else [])
    r = runner.invoke(app, args)
    assert r.exit_code == 1
    text = " ".join(r.output.split())  # rich may wrap long lines
    assert expected in text, r.output
    assert "Traceback" not in r.output
    assert r.exception is None or isinstance(r.exception, SystemExit)
    assert not out.exists()
    assert not list(tmp_path.glob(".never*"))


def test_history_without_numeric_column(demo_raw, spec_dir, tmp_path):
    (spec_dir / "words.csv").write_text(
        "date,comment\n" + "".join(f"2026-01-{d:02d},busy\n" for d in range(1, 29))
    )
    raw = copy.deepcopy(demo_raw)
    raw["demand"]["history"] = "words.csv"
    raw["demand"].pop("volume_column")
    spec = write_toml(spec_dir / "bad.toml", raw)
    r = runner.invoke(app, ["run", str(spec), "--out", str(tmp_path / "never")])
    assert r.exit_code == 1
    assert "words.csv" in r.output and "numeric" in r.output
    assert not (tmp_path / "never").exists()


def test_out_folder_with_foreign_files_is_refused(small_spec, tmp_path):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.tex").write_text("do not delete")
    r = runner.invoke(app, ["run", str(small_spec), "--out", str(out), "--draws", "200", "-q"])
    assert r.exit_code == 1 and "holds files roicast did not write" in " ".join(r.output.split())
    assert (out / "thesis.tex").read_text() == "do not delete"


def test_rerun_replaces_previous_output_whole(small_spec, tmp_path):
    out = tmp_path / "out"
    assert (
        runner.invoke(
            app, ["run", str(small_spec), "--out", str(out), "--draws", "200", "-q"]
        ).exit_code
        == 0
    )
    again = ["run", str(small_spec), "--out", str(out), "--draws", "200", "--no-report", "-q"]
    (out / "notes.txt").write_text("mine")  # a file roicast did not write: never deleted
    r = runner.invoke(app, again)
    assert r.exit_code == 1 and "notes.txt" in r.output
    assert (out / "notes.txt").read_text() == "mine" and (out / "report.html").exists()
    (out / "notes.txt").unlink()
    assert runner.invoke(app, again).exit_code == 0
    assert not (out / "report.html").exists()  # roicast's own files are replaced whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["history.csv", "out", "study.toml"]
