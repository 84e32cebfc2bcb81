"""``roicast new`` and ``roicast priors`` through a test Typer app."""

from __future__ import annotations

import tomllib
from pathlib import Path

import typer
from typer.testing import CliRunner

from roicast.priors.cli import new, priors
from roicast.spec import load_spec

app = typer.Typer()
app.command("new")(new)
app.command("priors")(priors)
runner = CliRunner()

SERVEGEN = Path(__file__).resolve().parents[1] / "data" / "servegen_hourly_requests.csv"


def test_new_writes_a_spec_that_loads(tmp_path):
    out = tmp_path / "study.toml"
    res = runner.invoke(app, ["new", "--technique", "fp8", "--gpu", "h100", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert f"wrote {out}" in res.output
    spec = load_spec(out)
    assert spec.options[0].optimized.throughput_gain.median == 1.6
    assert "# REPLACE:" in out.read_text(encoding="utf-8")
    assert not list(tmp_path.glob(".*tmp*"))  # the atomic write left nothing behind


def test_new_refuses_to_overwrite_without_force(tmp_path):
    out = tmp_path / "study.toml"
    out.write_text("keep me", encoding="utf-8")
    res = runner.invoke(app, ["new", "-t", "fp8", "-g", "h100", "-o", str(out)])
    assert res.exit_code == 1
    assert "exists" in res.output and "--force" in res.output
    assert out.read_text(encoding="utf-8") == "keep me"
    res = runner.invoke(app, ["new", "-t", "fp8", "-g", "h100", "-o", str(out), "--force"])
    assert res.exit_code == 0, res.output
    assert load_spec(out).project.name.startswith("FP8")


def test_new_with_history_options_and_gpus_per_instance(tmp_path):
    out = tmp_path / "sub" / "study.toml"
    args = ["new", "-t", "fp8", "-g", "h100", "--history", str(SERVEGEN), "--column", "m-large"]
    args += ["--options", "fp8, batching", "--gpus-per-instance", "8", "-o", str(out)]
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    spec = load_spec(out)
    assert spec.history_path().resolve() == SERVEGEN.resolve()
    assert spec.option_names == ["fp8", "continuous_batching"]
    assert spec.baseline.price.median > 8 * 2.0


def test_new_bad_input_is_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "study.toml"
    res = runner.invoke(app, ["new", "-t", "fp9", "-g", "h100", "-o", str(out)])
    assert res.exit_code == 1
    assert "--technique: 'fp9'" in res.output and "Traceback" not in res.output
    assert not out.exists()
    res = runner.invoke(
        app, ["new", "-t", "fp8", "-g", "h100", "--pricing", "spot", "-o", str(out)]
    )
    assert res.exit_code == 1 and "--pricing: 'spot'" in res.output
    assert not out.exists()


def test_new_warns_when_the_figures_are_for_other_hardware(tmp_path):
    out = tmp_path / "study.toml"
    res = runner.invoke(
        app, ["new", "-t", "fp8", "-g", "a100", "--pricing", "hyperscaler", "-o", str(out)]
    )
    assert res.exit_code == 0, res.output
    assert "warning:" in res.output and "technique.fp8" in res.output


def test_new_uses_a_user_catalogue(tmp_path):
    mine = tmp_path / "mine.toml"
    mine.write_text(
        '[technique.fp8]\nlow = 1.2\ntypical = 1.4\nhigh = 1.5\nunit = "x"\n'
        'sources = ["our vLLM benchmark, 2026-11"]\nas_of = "2026-11"\n',
        encoding="utf-8",
    )
    out = tmp_path / "study.toml"
    res = runner.invoke(
        app, ["new", "-t", "fp8", "-g", "h100", "--catalogue", str(mine), "-o", str(out)]
    )
    assert res.exit_code == 0, res.output
    raw = tomllib.loads(out.read_text(encoding="utf-8"))
    assert raw["optimized"]["throughput_gain"]["p50"] == 1.4
    assert "our vLLM benchmark" in raw["sources"]["optimized.throughput_gain"]


def test_priors_lists_the_catalogue_and_filters_by_kind():
    res = runner.invoke(app, ["priors"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    for key in ("technique.fp8", "gpu.h100.neocloud", "engineering.loaded_cost"):
        assert key in res.output
    res = runner.invoke(app, ["priors", "--kind", "gpu", "--details"], env={"COLUMNS": "200"})
    assert res.exit_code == 0, res.output
    assert "gpu.h100.neocloud" in res.output and "technique.fp8" not in res.output
    res = runner.invoke(app, ["priors", "--kind", "gpus"])
    assert res.exit_code == 1 and "--kind: 'gpus'" in res.output


def test_priors_shows_user_entries_and_refuses_bad_files(tmp_path):
    bad = tmp_path / "bad.toml"
    text = '[technique.x]\nlow = 3\ntypical = 2\nhigh = 4\nunit = "x"\nsources = ["s"]\n'
    bad.write_text(text + 'as_of = "2026-01"\n', encoding="utf-8")
    res = runner.invoke(app, ["priors", "--catalogue", str(bad)])
    assert res.exit_code == 1
    assert "technique.x: low 3, typical 2, high 4" in res.output
