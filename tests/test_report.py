"""Written outputs (results.nc, report.html, report.md), atomic writing, and the CLI around them."""

from __future__ import annotations

import json
import re
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from typer.testing import CliRunner

from roicast import __version__
from roicast.cli import app
from roicast.errors import RoicastError
from roicast.report import figures, write_report
from roicast.simulate import INPUT_NAMES
from roicast.spec import spec_from_dict
from roicast.study import QUANTILES, run_study
from tests.conftest import no_history_raw, write_toml

DEMO = Path(str(files("roicast.demo")))
DATA = Path(__file__).parent / "data"
runner = CliRunner()


def options_raw() -> dict:
    return no_history_raw("options", draws=800, seed=21)


def single_raw() -> dict:
    raw = options_raw()
    raw.pop("option")
    raw["simulation"]["draws"] = 300
    return raw


@pytest.fixture(scope="module")
def study():
    return run_study(spec_from_dict(options_raw()))


@pytest.fixture(scope="module")
def written(study, tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "out"
    doc = write_report(study, out)
    return out, doc


@pytest.fixture(scope="module")
def quick():
    """One option, no sensitivity extras: cheap to write again and again."""
    return run_study(spec_from_dict(single_raw()), sensitivity=False)


# ----------------------------------------------------------------- results.nc


def test_results_nc_round_trips(study, written):
    out, _ = written
    with xr.open_dataset(out / "results.nc") as ds:  # the README's call, default engine
        ds.load()
    assert {"option", "draw", "input", "month", "quantile"} <= set(ds.dims)
    assert list(ds["option"].values) == ["fp8", "batching", "both", "api"]
    assert list(ds["input"].values) == list(INPUT_NAMES)
    assert list(ds["quantile"].values) == list(QUANTILES)
    assert ds.sizes["draw"] == 800 and ds.sizes["month"] == 36
    assert str(ds["month"].values[0]) == "2026-01"
    assert ds["npv"].dims == ("option", "draw")
    assert ds["inputs"].dims == ("option", "draw", "input")
    for i, name in enumerate(study.options):
        res = study.options[name]
        np.testing.assert_array_equal(ds["npv"].values[i], res.metrics["npv"].values)
        np.testing.assert_array_equal(ds["payback_months"].values[i], res.metrics["payback_months"])
        np.testing.assert_array_equal(
            ds["monthly_cumulative_cash_flow"].values[i],
            res.monthly["cumulative_cash_flow"].values,
        )
        tor = res.tornado["npv"]
        for inp in tor.index[:3]:
            np.testing.assert_array_equal(
                ds["tornado"].sel(option=name, output="npv", input=inp).values,
                tor.loc[inp, ["low", "high"]].to_numpy(dtype=float),
            )
    np.testing.assert_array_equal(ds["inputs"].values, study.sample.values.values)
    assert ds["monthly_cumulative_cash_flow"].dims == ("option", "quantile", "month")
    assert ds["demand_quantiles"].dims == ("quantile", "month")
    assert ds["tornado"].dims == ("option", "output", "input", "end")
    for var in (
        "spearman",
        "contribution_to_variance",
        "binned_mean_low",
        "binned_mean_high",
        "evppi",
        "break_even_value",
    ):
        assert ds[var].dims == ("option", "input"), var
    assert ds["evpi"].dims == ("option",)
    assert ds["sobol_S1"].dims == ("option", "sobol_input")
    np.testing.assert_allclose(
        ds["evpi"].values, [study.options[n].evpi for n in study.options], rtol=1e-12
    )
    be = study.options["fp8"].break_even["optimized.throughput_gain"].value
    assert be is not None
    assert ds["break_even_value"].sel(option="fp8", input="optimized.throughput_gain") == be
    assert ds.attrs["seed"] == 21 and ds.attrs["draws"] == 800
    assert ds.attrs["spec_hash"] == study.spec.spec_hash
    assert ds.attrs["roicast_version"] == __version__


# ------------------------------------------------------------------ report


def test_report_html_is_self_contained_with_verdict_and_footer(study, written):
    out, doc = written
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'src="figures/' not in html
    assert not re.findall(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html, re.I)
    assert "@import" not in html and "<script src" not in html.lower()
    srcs = re.findall(r"""<img[^>]*\ssrc=["']([^"']*)""", html)
    assert len(srcs) >= 8 and all(s.startswith("data:image/png;base64,") for s in srcs)
    verdict = doc["decision"]["verdict"]
    assert f'class="verdict {verdict}">{verdict.upper()}<' in html
    assert doc["decision"]["reason"] in html
    footer = re.search(r"<footer>(.*?)</footer>", html, re.S).group(1)
    for piece in (
        f"roicast {__version__}",
        f"seed {doc['seed']}",
        f"{doc['draws']} draws",
        f"spec hash {study.spec.spec_hash}",
    ):
        assert piece in footer, piece
    for name in study.options:
        assert name in html
    assert "<h2>Break-even</h2>" in html and "<h2>Value of information</h2>" in html


def test_report_shows_rankings_and_sobol_figures(written):
    out, _ = written
    html = (out / "report.html").read_text(encoding="utf-8")
    assert 'alt="Sobol indices"' in html
    assert 'alt="rank correlation' in html
    md = (out / "report.md").read_text(encoding="utf-8")
    assert "![Sobol indices](figures/" in md and "![rankings](figures/" in md


def test_report_md_references_pngs_that_exist(written):
    out, doc = written
    md = (out / "report.md").read_text(encoding="utf-8")
    refs = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", md)
    assert len(refs) >= 8
    for ref in refs:
        assert ref.endswith(".png") and not ref.startswith(("/", "http")), ref
        png = out / ref
        assert png.is_file(), ref
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "figures/options.png" in refs  # several options: the comparison figure
    assert doc["decision"]["verdict"] in md
    assert sorted(p.name for p in out.iterdir()) == [
        ".roicast-output.json",
        "figures",
        "report.html",
        "report.md",
        "results.nc",
        "results.xlsx",
        "summary.json",
    ]


# ----------------------------------------------------------- atomic writing


def _leftovers(parent: Path, name: str) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name.startswith(f".{name}"))


def test_folder_with_foreign_files_is_refused(quick, tmp_path):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.tex").write_text("do not delete")
    with pytest.raises(RoicastError) as e:
        write_report(quick, out, report=False)
    assert "holds files roicast did not write" in str(e.value) and "\n" not in str(e.value)
    assert [p.name for p in out.iterdir()] == ["thesis.tex"]
    assert (out / "thesis.tex").read_text() == "do not delete"
    assert _leftovers(tmp_path, "precious") == []
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(RoicastError, match="is a file, not a folder"):
        write_report(quick, tmp_path / "a-file", report=False)
    assert (tmp_path / "a-file").read_text() == "x"


class Boom(RuntimeError):
    pass


def _explode(*args, **kwargs):
    raise Boom("figure failed")


def test_crash_while_writing_leaves_nothing(quick, tmp_path, monkeypatch):
    # summary.json and results.nc are written before the first figure
    monkeypatch.setattr(figures, "fig_demand_fan", _explode)
    out = tmp_path / "out"
    with pytest.raises(Boom):
        write_report(quick, out)
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary folder either


def test_crash_while_writing_keeps_the_previous_output(quick, tmp_path, monkeypatch):
    out = tmp_path / "out"
    # the previous output: a study without the sensitivity extras, whose report still renders
    doc = write_report(quick, out)
    html = (out / "report.html").read_text(encoding="utf-8")
    assert f">{doc['decision']['verdict'].upper()}<" in html and "<h2>Break-even</h2>" not in html
    with xr.open_dataset(out / "results.nc") as ds:
        assert "evpi" not in ds and "spearman" not in ds and "tornado" in ds
    before = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    monkeypatch.setattr(figures, "fig_spend_fan", _explode)  # after two figures are drawn
    with pytest.raises(Boom):
        write_report(quick, out)
    after = {p.relative_to(out): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert after == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


# ---------------------------------------------------------------------- CLI


def test_cli_forecast_writes_its_files(tmp_path):
    out = tmp_path / "fc"
    r = runner.invoke(
        app,
        [
            "forecast",
            str(DATA / "servegen_hourly_requests.csv"),
            "--column",
            "m-large",
            "--paths",
            "200",
            "--out",
            str(out),
            "-q",
        ],
    )
    assert r.exit_code == 0, r.output
    for name in ("forecast.nc", "fan.png", "forecast.json"):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    doc = json.loads((out / "forecast.json").read_text())
    assert doc
    with xr.open_dataset(out / "forecast.nc") as ds:
        assert ds.sizes["path"] == 200
    assert "model:" in r.output


def test_cli_demo_unknown_example(tmp_path):
    out = tmp_path / "never"
    r = runner.invoke(app, ["demo", "--example", "nope", "--out", str(out)])
    assert r.exit_code == 1
    text = r.output.strip()
    assert "\n" not in text
    assert "--example: 'nope' is not a built-in example" in text
    assert "quantization" in text and "options" in text
    assert not out.exists()


@pytest.mark.parametrize("tol", ["2", "0", "-0.5"])
def test_cli_until_stable_out_of_range(tmp_path, tol):
    spec = write_toml(tmp_path / "s.toml", single_raw())
    out = tmp_path / "never"
    r = runner.invoke(app, ["run", str(spec), "--out", str(out), "--until-stable", tol, "-q"])
    assert r.exit_code == 1
    text = " ".join(r.output.split())
    assert "--until-stable:" in text and "must be in (0, 1)" in text
    assert "Traceback" not in r.output
    assert not out.exists()


def test_cli_until_stable_records_the_draws(tmp_path):
    spec = write_toml(tmp_path / "s.toml", single_raw())
    out = tmp_path / "out"
    r = runner.invoke(
        app, ["run", str(spec), "--out", str(out), "--until-stable", "0.5", "--no-report", "-q"]
    )
    assert r.exit_code == 0, r.output
    doc = json.loads((out / "summary.json").read_text())
    rec = doc["until_stable"]
    assert rec["tol"] == 0.5 and rec["batch"] == 10_000
    assert doc["draws"] % 10_000 == 0 and doc["draws"] == rec["options"]["optimized"]["draws"]
    assert rec["options"]["optimized"]["converged"]
