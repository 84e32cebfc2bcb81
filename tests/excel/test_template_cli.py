"""The template re-reads as a valid spec; the template / convert commands."""

from __future__ import annotations

import tomllib

import openpyxl
import pytest
import typer
from typer.testing import CliRunner

from roicast.errors import RoicastError
from roicast.excel.cli import convert, template
from roicast.excel.spec_io import load_xlsx_spec
from roicast.excel.template import toml_comments, write_template
from roicast.spec import load_spec

from .conftest import DEMO, col_of, find_row


@pytest.mark.parametrize("example", ["quantization", "options", "fleet", "onprem"])
def test_template_is_a_valid_spec_equal_to_the_demo(tmp_path, example):
    path = write_template(tmp_path / "t.xlsx", example=example)
    spec = load_xlsx_spec(path, history_dir=tmp_path / "h")
    demo = load_spec(DEMO / f"{example}.toml")
    a = spec.model_dump(exclude={"base_dir", "spec_hash", "demand"})
    b = demo.model_dump(exclude={"base_dir", "spec_hash", "demand"})
    assert a == b
    # per-option sources (the options demo's api price) survive the workbook
    assert [o.sources for o in spec.options] == [o.sources for o in demo.options]
    if demo.demand.history is None:  # the on-prem demo states start volume and growth
        assert spec.demand.history is None
    else:
        import pandas as pd

        got, want = (pd.read_csv(p.history_path()) for p in (spec, demo))
        ts = demo.demand.timestamp_column
        assert (pd.to_datetime(got[ts]) == pd.to_datetime(want[ts])).all()
        assert got.drop(columns=ts).equals(want.drop(columns=ts))


def test_template_is_commented(tmp_path):
    wb = openpyxl.load_workbook(write_template(tmp_path / "t.xlsx"))
    assert wb.sheetnames[0] == "Read me"
    ws = wb["Assumptions"]
    r = find_row(ws, "optimized.throughput_gain")
    assert ws.cell(row=r, column=col_of(ws, "note")).value == "lab benchmark said 1.6x"
    assert "pert" in ws.cell(row=1, column=col_of(ws, "mode")).comment.text
    dv = ws.data_validations.dataValidation
    assert dv and "pert" in dv[0].formula1 and "B2" in str(dv[0].sqref)
    optional = [ws.cell(row=i, column=1).value for i in range(2, ws.max_row + 1)]
    assert "# optimized.throughput_gain_at_peak" in optional


def test_toml_comments():
    text = '[a]\nx = 1  # one\ny = "p # q"\n[[option]]\nz = 2 # no\n[b]\nw = { dist = "pert" }   # two\n'
    assert toml_comments(text) == {"a.x": "one", "b.w": "two"}


def test_unknown_example(tmp_path):
    with pytest.raises(RoicastError, match="'nope' is not a built-in example"):
        write_template(tmp_path / "t.xlsx", example="nope")


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    app.command("template")(template)
    app.command("convert")(convert)
    return app


def test_cli_template_and_convert_both_ways(app, tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["template", "--xlsx", str(tmp_path / "s.xlsx")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["template", "--xlsx", str(tmp_path / "s.xlsx")])
    assert res.exit_code == 1 and "exists; pass --force" in res.output
    res = runner.invoke(app, ["convert", str(tmp_path / "s.xlsx"), str(tmp_path / "s.toml")])
    assert res.exit_code == 0, res.output
    raw = tomllib.loads((tmp_path / "s.toml").read_text())
    assert raw["demand"]["history"] == "s.history.csv"
    res = runner.invoke(
        app, ["convert", str(tmp_path / "s.toml"), str(tmp_path / "s2.xlsx"), "--embed-history"]
    )
    assert res.exit_code == 0, res.output
    assert "History" in openpyxl.load_workbook(tmp_path / "s2.xlsx").sheetnames


def test_cli_convert_refuses(app, tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["convert", str(tmp_path / "a.toml"), str(tmp_path / "b.toml")])
    assert res.exit_code == 1 and "both are toml" in res.output
    res = runner.invoke(app, ["convert", str(tmp_path / "a.csv"), str(tmp_path / "b.xlsx")])
    assert res.exit_code == 1 and "give a .toml or .xlsx file" in res.output
    res = runner.invoke(app, ["convert", str(tmp_path / "a.toml"), str(tmp_path / "b.xlsx")])
    assert res.exit_code == 1 and "spec file not found" in res.output
