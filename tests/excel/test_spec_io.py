"""Spec workbooks: exact round trips with TOML, strict cells, formulas never run."""

from __future__ import annotations

import re
import shutil
import tomllib
import zipfile
from pathlib import Path

import openpyxl
import pytest

from roicast.errors import RoicastError
from roicast.excel import load_any_spec
from roicast.excel.spec_io import (
    load_xlsx_spec,
    read_xlsx_spec,
    toml_to_xlsx,
    write_xlsx_spec,
    xlsx_to_toml,
)
from roicast.spec import load_spec, spec_from_dict

from .conftest import col_of, find_row


def _dump(spec):
    return spec.model_dump(exclude={"base_dir"})


@pytest.mark.parametrize("name", ["quantization", "options", "fleet", "onprem"])
def test_toml_xlsx_toml_round_trip_is_exact(demo_dir, name):
    src = demo_dir / f"{name}.toml"
    toml_to_xlsx(src, demo_dir / f"{name}.xlsx")
    raw = read_xlsx_spec(demo_dir / f"{name}.xlsx")
    original = tomllib.loads(src.read_text(encoding="utf-8"))
    assert raw == original
    # the types survive too: 1.0 stays a float, 1 an int (so the spec hash is the same)
    assert repr(raw) == repr({k: raw[k] for k in raw})
    if name in ("quantization", "options"):
        assert isinstance(raw["optimized"]["price_ratio"], float)
        assert isinstance(raw["implementation"]["ramp_months"], int)
    xlsx_to_toml(demo_dir / f"{name}.xlsx", demo_dir / f"{name}_back.toml")
    back = tomllib.loads((demo_dir / f"{name}_back.toml").read_text(encoding="utf-8"))
    assert back == original
    a, b = load_spec(src), load_xlsx_spec(demo_dir / f"{name}.xlsx")
    assert _dump(a) == _dump(b)
    assert a.spec_hash == b.spec_hash == load_spec(demo_dir / f"{name}_back.toml").spec_hash


def test_round_trip_of_the_less_common_sections(demo_dir):
    raw = tomllib.loads((demo_dir / "quantization.toml").read_text(encoding="utf-8"))
    raw["project"]["start"] = "2026-11"
    raw["demand"]["launches"] = [
        {"month": 6, "factor": {"dist": "pert", "min": 1.05, "mode": 1.2, "max": 1.5}},
        {"month": 12, "factor": 1.1},
    ]
    raw["demand"]["backtest"] = False
    raw["fleet"] = {
        "provisioning": "peak",
        "profile": [1.0] * 12 + [2.0] * 12,
        "scale_lag_hours": 2,
    }
    raw["correlations"] = [
        {"between": ["baseline.throughput", "optimized.throughput_gain"], "rho": -0.4}
    ]
    raw["sources"] = {"optimized.throughput_gain": "lab benchmark", "demand": "18 months of logs"}
    raw["churn"]["cost_per_update"] = {
        "dist": "discrete",
        "values": [3000, 8000.5],
        "weights": [0.5, 0.5],
    }
    raw["indirect"]["benefit_per_month"] = {"dist": "lognormal", "median": 1000.0, "sigma": 0.5}
    raw["decision"]["max_payback_p50_months"] = 24.0
    raw["simulation"]["sobol"] = False
    write_xlsx_spec(raw, demo_dir / "s.xlsx")
    assert read_xlsx_spec(demo_dir / "s.xlsx") == raw
    assert _dump(load_xlsx_spec(demo_dir / "s.xlsx")) == _dump(
        spec_from_dict(raw, base_dir=demo_dir, source="x")
    )
    xlsx_to_toml(demo_dir / "s.xlsx", demo_dir / "s.toml")
    assert tomllib.loads((demo_dir / "s.toml").read_text(encoding="utf-8")) == raw


def test_history_path_stays_valid_in_another_folder(demo_dir):
    (demo_dir / "out").mkdir()
    toml_to_xlsx(demo_dir / "quantization.toml", demo_dir / "out" / "q.xlsx")
    spec = load_xlsx_spec(demo_dir / "out" / "q.xlsx")
    assert spec.history_path().resolve() == (demo_dir / "history.csv").resolve()
    xlsx_to_toml(demo_dir / "out" / "q.xlsx", demo_dir / "q.toml")
    assert tomllib.loads((demo_dir / "q.toml").read_text())["demand"]["history"] == "history.csv"


def test_embedded_history_sheet(demo_dir, tmp_path_factory):
    hist_dir = tmp_path_factory.mktemp("hist")
    toml_to_xlsx(demo_dir / "quantization.toml", demo_dir / "q.xlsx", embed_history=True)
    wb = openpyxl.load_workbook(demo_dir / "q.xlsx")
    assert "History" in wb.sheetnames and wb["History"].max_row == 550
    assert all(wb["Settings"].cell(row=r, column=1).value != "demand.history" for r in range(1, 40))
    raw = read_xlsx_spec(demo_dir / "q.xlsx", history_dir=hist_dir)
    csv_path = Path(raw["demand"]["history"])
    assert csv_path.parent == hist_dir
    # the CSV written from the sheet is the original, byte for byte
    assert csv_path.read_text() == (demo_dir / "history.csv").read_text()
    # named by content: reading again writes nothing new
    assert read_xlsx_spec(demo_dir / "q.xlsx", history_dir=hist_dir) == raw
    assert len(list(hist_dir.iterdir())) == 1
    xlsx_to_toml(demo_dir / "q.xlsx", demo_dir / "q.toml")
    back = tomllib.loads((demo_dir / "q.toml").read_text())
    assert back["demand"]["history"] == "q.history.csv"
    assert (demo_dir / "q.history.csv").read_text() == (demo_dir / "history.csv").read_text()
    assert load_spec(demo_dir / "q.toml").spec_hash


def _edit(path: Path, sheet: str, field: str, column: str, value) -> str:
    """Set one cell of ``field``'s row; returns its reference (e.g. ``D6``)."""
    wb = openpyxl.load_workbook(path)
    ws = wb[sheet]
    cell = ws.cell(row=find_row(ws, field), column=col_of(ws, column))
    cell.value = value
    wb.save(path)
    return cell.coordinate


@pytest.fixture
def book(demo_dir) -> Path:
    toml_to_xlsx(demo_dir / "quantization.toml", demo_dir / "study.xlsx")
    return demo_dir / "study.xlsx"


def _error(path: Path) -> str:
    with pytest.raises(RoicastError) as e:
        load_xlsx_spec(path)
    return str(e.value)


def test_text_where_a_number_is_expected(book):
    ref = _edit(book, "Assumptions", "optimized.throughput_gain", "min", "abc")
    assert ref == "D6"
    assert (
        _error(book)
        == f"{book}: Assumptions!D6 (optimized.throughput_gain min): 'abc' is not a number"
    )


def test_every_bad_cell_is_reported_one_line_each(book):
    _edit(book, "Assumptions", "optimized.throughput_gain", "min", "1.2")
    _edit(book, "Assumptions", "baseline.throughput", "mean", 3)
    _edit(book, "Assumptions", "churn.cost_per_update", "max", None)
    _edit(book, "Assumptions", "indirect.benefit_per_month", "distribution", "normla")
    _edit(book, "Settings", "project.horizon_months", "value", "36")
    _edit(book, "Settings", "simulation.seed", "value", 20.5)
    _edit(book, "Settings", "project.name", "value", 2026)
    lines = _error(book).splitlines()
    s = str(book)
    assert lines == [
        f"{s}: Assumptions!I2 (baseline.throughput mean): pert takes min, mode, max, lambda, not mean; clear this cell",
        f"{s}: Assumptions!D6 (optimized.throughput_gain min): '1.2' is not a number "
        "(it is text that looks like a number: enter it as a number)",
        f"{s}: Assumptions!F18 (churn.cost_per_update max): empty; pert needs min, mode, max",
        f"{s}: Assumptions!B20 (indirect.benefit_per_month): unknown distribution 'normla'; "
        "did you mean 'normal'? use one of fixed, uniform, triangular, pert, normal, truncnormal, "
        "lognormal, beta, discrete, quantiles",
        f"{s}: Settings!B2 (project.name): the number 2026 where text is expected (format the cell as text)",
        f"{s}: Settings!B3 (project.horizon_months): '36' is not a number "
        "(it is text that looks like a number: enter it as a number)",
        f"{s}: Settings!B13 (simulation.seed): 20.5 is not a whole number",
    ]


def test_spec_rules_give_the_spec_errors(book):
    _edit(book, "Assumptions", "baseline.price", "value", 20000)
    assert _error(book) == f"{book}: baseline.price: value 20000; must lie in (0, 10000]"


def test_unknown_field_gets_the_spec_typo_hint(book):
    _edit(book, "Assumptions", "baseline.price", "field", "baseline.prise")
    msg = _error(book)
    assert "baseline.prise: unknown key `prise`" in msg and "did you mean `price`?" in msg


def test_duplicate_field_and_unknown_column(book):
    _edit(book, "Assumptions", "baseline.price", "field", "baseline.throughput")
    wb = openpyxl.load_workbook(book)
    wb["Assumptions"]["Z1"] = "mde"
    wb.save(book)
    lines = _error(book).splitlines()
    assert lines[0] == f"{book}: Assumptions!Z1: unknown column 'mde'; did you mean 'mode'?"
    wb["Assumptions"]["Z1"] = None
    wb.save(book)
    assert _error(book) == (
        f"{book}: Assumptions!A4: baseline.throughput is already given in Assumptions!A2"
    )


def test_formula_without_cached_value_is_refused(book):
    ref = _edit(book, "Assumptions", "baseline.price", "value", "=3+0.5")
    assert _error(book) == (
        f"{book}: Assumptions!{ref}: formula '=3+0.5' has no computed value saved in the file; "
        "roicast never runs formulas: open and save the workbook in Excel, or type the value"
    )


def test_formula_with_cached_value_is_read_as_that_value(book, tmp_path):
    ref = _edit(book, "Assumptions", "baseline.price", "value", "=3+0.5")
    # what Excel does on save: keep the formula and store its result (here 4.25, not 3.5,
    # to show that the saved value is read and the formula is not run)
    with zipfile.ZipFile(book) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    sheet = next(
        n for n in parts if n.startswith("xl/worksheets/sheet") and b"<f>3+0.5</f>" in parts[n]
    )
    parts[sheet] = re.sub(
        rb"<f>3\+0\.5</f>\s*<v\s*/>|<f>3\+0\.5</f>(<v></v>)?",
        b"<f>3+0.5</f><v>4.25</v>",
        parts[sheet],
    )
    assert b"<v>4.25</v>" in parts[sheet]
    out = tmp_path / "cached.xlsx"
    with zipfile.ZipFile(out, "w") as z:
        for n, data in parts.items():
            z.writestr(n, data)
    assert ref
    assert read_xlsx_spec(out)["baseline"]["price"] == 4.25


def test_options_sheet_errors(demo_dir):
    toml_to_xlsx(demo_dir / "options.toml", demo_dir / "o.xlsx")
    wb = openpyxl.load_workbook(demo_dir / "o.xlsx")
    ws = wb["Options"]
    r = find_row(ws, "batching")
    ws.cell(row=r + 1, column=col_of(ws, "description")).value = "another description"
    ws.cell(row=r + 2, column=col_of(ws, "min")).value = "x"
    wb.save(demo_dir / "o.xlsx")
    lines = _error(demo_dir / "o.xlsx").splitlines()
    s = str(demo_dir / "o.xlsx")
    assert (
        lines[0]
        == f"{s}: Options!B{r + 1}: option 'batching' has another description on an earlier row"
    )
    assert (
        lines[1]
        == f"{s}: Options!H{r + 2} (option[batching].implementation.engineer_months min): 'x' is not a number"
    )


def test_not_a_workbook_and_no_assumptions(tmp_path):
    bad = tmp_path / "bad.xlsx"
    bad.write_text("not a zip")
    assert "not a readable Excel workbook" in _error(bad)
    wb = openpyxl.Workbook()
    wb.active.title = "Sheet"
    wb.save(tmp_path / "empty.xlsx")
    assert "no 'Assumptions' sheet" in _error(tmp_path / "empty.xlsx")
    with pytest.raises(RoicastError, match="spec workbook not found"):
        load_xlsx_spec(tmp_path / "missing.xlsx")


def test_history_sheet_with_text_volume_and_history_given_twice(demo_dir):
    toml_to_xlsx(demo_dir / "quantization.toml", demo_dir / "q.xlsx", embed_history=True)
    wb = openpyxl.load_workbook(demo_dir / "q.xlsx")
    wb["History"]["B5"] = "lots"
    wb.save(demo_dir / "q.xlsx")
    assert (
        _error(demo_dir / "q.xlsx")
        == f"{demo_dir / 'q.xlsx'}: History!B5 (requests): 'lots' is not a number"
    )
    wb["History"]["B5"] = 1000
    ws = wb["Settings"]
    ws.append(["demand.history", "history.csv"])
    wb.save(demo_dir / "q.xlsx")
    assert "give the history one way" in _error(demo_dir / "q.xlsx")


def test_load_any_spec_dispatches_on_suffix(book, demo_dir):
    assert load_any_spec(book).spec_hash == load_any_spec(demo_dir / "quantization.toml").spec_hash
    shutil.copy(book, demo_dir / "old.xls")
    with pytest.raises(RoicastError, match=r"save it as an Excel workbook \(\.xlsx\)"):
        load_any_spec(demo_dir / "old.xls")


def test_option_platform_and_sources_round_trip(demo_dir):
    """An option's platform, a source for a field it overrides (shorthand key) and a source
    for an input it does not override (a row with a field and a source only) come back."""
    raw = tomllib.loads((demo_dir / "options.toml").read_text(encoding="utf-8"))
    fp8 = raw["option"][0]
    fp8["throughput_gain"] = {"dist": "pert", "min": 1.2, "mode": 1.5, "max": 1.8}
    fp8["sources"] = {
        "optimized.throughput_gain": "lab benchmark, FP8",
        "baseline.utilization": "our dashboards",  # not overridden by the option
    }
    raw["option"][3]["platform"] = "cloud"  # the api option (a combined one must agree)
    write_xlsx_spec(raw, demo_dir / "o.xlsx")
    back = read_xlsx_spec(demo_dir / "o.xlsx")
    assert back["option"][0]["sources"] == fp8["sources"]
    assert back["option"][3]["platform"] == "cloud"
    assert back == raw
    spec = load_xlsx_spec(demo_dir / "o.xlsx")
    assert spec.options[0].sources == fp8["sources"]
