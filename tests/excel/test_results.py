"""results.xlsx and portfolio.xlsx: sheets, native charts, currency formats, the Draws cap."""

from __future__ import annotations

import tomllib

import numpy as np
import openpyxl
import pytest

from roicast.excel.results import money_format, write_portfolio_xlsx, write_results_xlsx
from roicast.report.summary import summary
from roicast.spec import spec_from_dict
from roicast.study import run_study

from .conftest import DEMO

SHEETS = ["Summary", "Scenarios", "Tornado", "Options", "S-curve", "Monthly quantiles", "Draws"]


@pytest.fixture(scope="module")
def study():
    """The three-option demo, small: 100 paths, 300 draws, no sensitivity beyond the tornado."""
    raw = tomllib.loads((DEMO / "options.toml").read_text(encoding="utf-8"))
    raw["project"]["currency"] = "EUR"
    raw["demand"]["paths"] = 100
    raw["demand"]["parameter_uncertainty"] = False
    raw["simulation"]["tornado_draws"] = 100
    spec = spec_from_dict(raw, base_dir=DEMO)
    result = run_study(spec, draws=300, sensitivity=False)
    return result, summary(result)


@pytest.fixture(scope="module")
def book(study, tmp_path_factory):
    result, doc = study
    path = tmp_path_factory.mktemp("res") / "results.xlsx"
    write_results_xlsx(result, doc, path, max_rows=400)
    return openpyxl.load_workbook(path)


def test_money_formats():
    assert money_format("USD") == '"$"#,##0;-"$"#,##0'
    assert money_format("EUR") == '"€"#,##0;-"€"#,##0'
    assert money_format("CHF") == '#,##0 "CHF";-#,##0 "CHF"'


@pytest.mark.slow
def test_sheets_and_charts(book):
    assert book.sheetnames == SHEETS
    charts = {name: len(book[name]._charts) for name in SHEETS}
    assert charts == {"Summary": 0, "Scenarios": 0, "Tornado": 1, "Options": 0, "S-curve": 1,
                      "Monthly quantiles": 1, "Draws": 0}  # fmt: skip
    assert type(book["Tornado"]._charts[0]).__name__ == "BarChart"
    assert type(book["S-curve"]._charts[0]).__name__ == "ScatterChart"
    fan = book["Monthly quantiles"]._charts[0]
    assert type(fan).__name__ == "LineChart" and len(fan.series) == 3


@pytest.mark.slow
def test_summary_numbers_and_currency(book, study):
    _, doc = study
    ws = book["Summary"]
    rows = {ws.cell(row=r, column=1).value: r for r in range(1, ws.max_row + 1)}
    assert ws.cell(row=rows["verdict"], column=2).value == doc["decision"]["verdict"]
    r = rows["NPV"]
    assert [ws.cell(row=r, column=c).value for c in range(2, 6)] == pytest.approx(
        [doc["npv"][k] for k in ("mean", "p10", "p50", "p90")]
    )
    assert ws.cell(row=r, column=2).number_format == '"€"#,##0;-"€"#,##0'
    assert ws.cell(row=rows["ROI"], column=3).number_format == "0.0%"
    assert ws.cell(row=rows["P(NPV < 0)"], column=2).value == pytest.approx(
        doc["prob_npv_negative"]
    )


@pytest.mark.slow
def test_options_tornado_and_s_curve(book, study):
    result, doc = study
    ws = book["Options"]
    ranking = doc["options_comparison"]["ranking"]
    assert [ws.cell(row=r, column=1).value for r in range(2, 2 + len(ranking))] == ranking
    ws = book["Tornado"]
    assert ws.cell(row=2, column=1).value == doc["tornado"][0]["input"]
    # S-curve: quantiles of the recommended option's NPV, increasing, probabilities (i - 1/2)/m
    ws = book["S-curve"]
    npv = np.array([ws.cell(row=r, column=2).value for r in range(2, 302)])
    assert np.all(np.diff(npv) >= 0)
    assert ws.cell(row=2, column=1).value == pytest.approx(0.5 / 300)
    best = result.options[doc["option"]].metrics["npv"].values
    assert npv[149] == pytest.approx(np.quantile(best, 149.5 / 300))


@pytest.mark.slow
def test_draws_are_capped_with_a_note(book, study):
    result, doc = study
    ws = book["Draws"]
    k = len(result.options)
    per = 400 // k  # the workbook is capped at 400 draw rows (the fixture's max_rows)
    assert ws["A1"].value.endswith(
        f"capped: the first {per} of 300 draws of each option ({per * k} of {300 * k} rows); "
        "every draw is in results.nc"
    )
    header = [c.value for c in ws[3]]
    assert (
        header[:2] == ["option", "draw"]
        and "npv" in header
        and "optimized.throughput_gain" in header
    )
    assert ws.max_row == 3 + per * k
    npv_col = header.index("npv") + 1
    first = result.options[doc["option"]].metrics["npv"].values[0]
    assert ws.cell(row=4, column=1).value == doc["option"]
    assert ws.cell(row=4, column=npv_col).value == pytest.approx(first)


@pytest.mark.slow
def test_uncapped_draws_note(study, tmp_path):
    result, doc = study
    write_results_xlsx(result, doc, tmp_path / "r.xlsx", max_rows=10_000)
    ws = openpyxl.load_workbook(tmp_path / "r.xlsx", read_only=True)["Draws"]
    assert next(ws.iter_rows(max_row=1, values_only=True))[0].endswith(
        f"every draw: {300 * len(result.options)} rows (300 draws x {len(result.options)} options)"
    )
    assert not list(tmp_path.glob(".*tmp*"))


def test_portfolio_xlsx(tmp_path):
    from roicast.batch.portfolio import CSV_COLUMNS

    recs = [
        {"rank": 1, "name": "a", "status": "done", "npv_mean": 1e5, "roi_mean": 0.4, "currency": "USD",
         "prob_npv_negative": 0.1, "payback_p50_months": 12.5},
        {"rank": 2, "name": "b", "status": "done", "npv_mean": -3e4, "currency": "GBP"},
        {"rank": None, "name": "c", "status": "failed", "error": "boom", "npv_mean": None},
    ]  # fmt: skip
    write_portfolio_xlsx(recs, tmp_path / "portfolio.xlsx", currency="USD")
    ws = openpyxl.load_workbook(tmp_path / "portfolio.xlsx")["Portfolio"]
    assert [c.value for c in ws[1]] == list(CSV_COLUMNS)
    col = CSV_COLUMNS.index("npv_mean") + 1
    assert ws.cell(row=2, column=col).value == 1e5
    assert ws.cell(row=2, column=col).number_format == '"$"#,##0;-"$"#,##0'
    assert ws.cell(row=3, column=col).number_format == '"£"#,##0;-"£"#,##0'
    assert ws.cell(row=2, column=CSV_COLUMNS.index("roi_mean") + 1).number_format == "0.0%"
    assert ws.cell(row=4, column=CSV_COLUMNS.index("error") + 1).value == "boom"
    assert len(ws._charts) == 1
