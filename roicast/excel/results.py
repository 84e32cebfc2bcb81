"""``results.xlsx`` (one study) and ``portfolio.xlsx`` (a batch) with native Excel charts.

``results.xlsx`` sheets:

* **Summary**: verdict, rule and reason; NPV, ROI, payback and investment
  (mean, P10, P50, P90), P(NPV < 0), P(payback within the horizon), the study's
  draws, seed, horizon, spec hash;
* **Scenarios**: worst / expected / best (P10 / P50 / P90) NPV and ROI with
  their drivers, and the deterministic three-point cases when computed;
* **Tornado**: mean NPV with each input at its low / high quantile (others at
  the median), its swing, and a bar chart of the change from the base;
* **Options**: one row per option (verdict, mean and P10 NPV, mean ROI,
  P(NPV < 0), P(best) when there are several, P50 payback);
* **S-curve**: the cumulative distribution of NPV, :math:`F(x) = P(\\mathrm{NPV} \\le x)`,
  at probabilities :math:`(i - 1/2)/m`, :math:`i = 1..m` (:math:`m \\le 1000`), per option, as a chart;
* **Monthly quantiles**: every monthly quantile of every option by month, and
  a line chart of the recommended option's cumulative cash-flow fan P10/P50/P90;
* **Draws**: per-draw inputs (those that vary) and metrics, one row per
  (option, draw), capped (default 10 000 rows, the first draws of each
  option: openpyxl writes some 10^5 cells a second, so a larger cap is
  a choice, ``max_rows``) with a note saying so; every draw is in ``results.nc``.

Money cells carry the study's currency as a number format (``"$"#,##0`` for
USD, EUR and GBP by symbol, ``#,##0 "CHF"`` for other codes), shares
``0.0%``, months ``0.0``.  Files are written atomically (a temporary file
renamed into place) in openpyxl's streaming mode.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from roicast.report._format import SYMBOLS
from roicast.report._io import atomic_file

__all__ = ["DRAWS_ROW_CAP", "money_format", "write_portfolio_xlsx", "write_results_xlsx"]

#: Rows of the Draws sheet at most (Excel's own limit is 1 048 576).
DRAWS_ROW_CAP = 10_000
#: Points of the S-curve per option.
S_CURVE_POINTS = 1000
PCT = "0.0%"
MONTHS = "0.0"
NUMBER = "#,##0.00"


def money_format(currency: str) -> str:
    """Excel number format for whole amounts in ``currency``: ``"$"#,##0`` or ``#,##0 "CHF"``."""
    cur = str(currency).replace('"', "")
    sym = SYMBOLS.get(cur)
    if sym:
        return f'"{sym}"#,##0;-"{sym}"#,##0'
    return f'#,##0 "{cur}";-#,##0 "{cur}"'


class _Sheet:
    """A write-only sheet with a cursor and typed cells."""

    def __init__(self, wb, title: str):
        self.ws = wb.create_sheet(title)
        self.title = title
        self.row = 0
        self._styles: dict[tuple[str | None, bool], Any] = {}

    def _style(self, fmt: str | None, bold: bool):
        """The style of (number format, bold), built once: setting it per cell is slow."""
        from openpyxl.cell import WriteOnlyCell
        from openpyxl.styles import Font

        key = (fmt, bold)
        if key not in self._styles:
            proto = WriteOnlyCell(self.ws)
            if fmt:
                proto.number_format = fmt
            if bold:
                proto.font = Font(bold=True)
            self._styles[key] = proto._style
        return self._styles[key]

    def append(
        self, values: Sequence[Any], fmts: Sequence[str | None] | None = None, *, bold=False
    ):
        from openpyxl.cell import WriteOnlyCell

        cells = []
        for i, v in enumerate(values):
            fmt = fmts[i] if fmts is not None and i < len(fmts) else None
            if fmt is None and not bold:
                cells.append(_clean(v))
                continue
            c = WriteOnlyCell(self.ws, value=_clean(v))
            c._style = copy.copy(self._style(fmt, bold))
            cells.append(c)
        self.ws.append(cells)
        self.row += 1
        return self.row

    def widths(self, widths: Sequence[float]) -> None:
        from openpyxl.utils import get_column_letter

        for i, w in enumerate(widths, 1):
            self.ws.column_dimensions[get_column_letter(i)].width = w


def _clean(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _dist_row(
    label: str, d: Mapping[str, Any] | None, fmt: str
) -> tuple[list[Any], list[str | None]]:
    d = d or {}
    return [label, d.get("mean"), d.get("p10"), d.get("p50"), d.get("p90")], [None, *[fmt] * 4]


def _summary(wb, doc: Mapping[str, Any], money: str) -> None:
    s = _Sheet(wb, "Summary")
    dec = doc.get("decision", {})
    s.append([doc.get("project")], bold=True)
    for label, v, fmt in (
        ("option", doc.get("option"), None),
        ("verdict", dec.get("verdict"), None),
        ("rule", dec.get("rule"), None),
        ("reason", dec.get("reason"), None),
        ("P(NPV < 0)", doc.get("prob_npv_negative"), PCT),
        (
            "P(payback within horizon)",
            (doc.get("payback_months") or {}).get("prob_within_horizon"),
            PCT,
        ),
        ("draws", doc.get("draws"), "#,##0"),
        ("seed", doc.get("seed"), "0"),
        ("horizon (months)", doc.get("horizon_months"), "0"),
        ("start month", doc.get("start_month"), None),
        ("currency", doc.get("currency"), None),
        ("discount rate (annual)", doc.get("discount_rate"), PCT),
        ("spec hash", doc.get("spec_hash"), None),
        ("roicast version", doc.get("roicast_version"), None),
    ):
        s.append([label, v], [None, fmt])
    s.append([])
    s.append(["", "mean", "P10", "P50", "P90"], bold=True)
    details = doc.get("details", {})
    for label, d, fmt in (
        ("NPV", doc.get("npv"), money),
        ("ROI", doc.get("roi"), PCT),
        ("payback (months)", doc.get("payback_months"), MONTHS),
        ("investment", details.get("investment"), money),
        ("TCO baseline", details.get("tco_baseline"), money),
        ("TCO optimized", details.get("tco_optimized"), money),
    ):
        s.append(*_dist_row(label, d, fmt))
    s.append([])
    s.append(["payback mean: over draws that pay back within the horizon; empty: not reached"])
    s.widths([30, 18, 18, 18, 18])


def _drivers(case: Mapping[str, Any]) -> str:
    return "; ".join(
        f"{d['input']} {d['direction']} ({d['z']:+.2f} sd)" for d in case.get("drivers", [])
    )


def _scenarios(wb, doc: Mapping[str, Any], money: str) -> None:
    s = _Sheet(wb, "Scenarios")
    sc = doc.get("scenarios", {})
    s.append(["scenario", "NPV", "ROI", "drivers"], bold=True)
    for k in ("worst", "expected", "best"):
        case = sc.get(k, {})
        s.append([k, case.get("npv"), case.get("roi"), _drivers(case)], [None, money, PCT, None])
    det = sc.get("deterministic")
    if det:
        s.append([])
        s.append(["deterministic case", "mean NPV"], bold=True)
        for k, v in det.items():
            if k != "definition":
                s.append([k, v], [None, money])
        s.append([det.get("definition")])
    s.append([])
    s.append([sc.get("definition")])
    s.widths([22, 16, 10, 90])


def _tornado(wb, doc: Mapping[str, Any], money: str) -> None:
    from openpyxl.chart import BarChart, Reference

    s = _Sheet(wb, "Tornado")
    rows = doc.get("tornado") or []
    s.append(
        ["input", "input low", "input high", "NPV at low", "NPV at high", "swing", "base",
         "change at low", "change at high"],
        bold=True,
    )  # fmt: skip
    fm = [None, NUMBER, NUMBER, money, money, money, money, money, money]
    for r in rows:
        s.append(
            [r["input"], r["low_value"], r["high_value"], r["low"], r["high"], r["swing"], r["base"],
             r["low"] - r["base"], r["high"] - r["base"]],
            fm,
        )  # fmt: skip
    s.append([])
    s.append(
        [
            f"mean NPV of option {doc.get('option')!r} with one input at its low / high quantile, others at the median"
        ]
    )
    dv = doc.get("demand_volume")
    if dv and any(r["input"] == "demand" for r in rows):
        s.append(
            [f"demand: the rank of a forecast path by total volume; {dv['text']} {dv['unit']}"]
        )
    s.widths([34, 12, 12, 14, 14, 14, 14, 14, 14])
    if not rows:
        return
    n = len(rows)
    chart = BarChart()
    chart.type = "bar"
    chart.grouping = "clustered"
    chart.overlap = 100
    chart.title = f"Tornado: change in mean NPV ({doc.get('currency')})"
    chart.add_data(
        Reference(s.ws, min_col=8, max_col=9, min_row=1, max_row=n + 1), titles_from_data=True
    )
    chart.set_categories(Reference(s.ws, min_col=1, min_row=2, max_row=n + 1))
    chart.x_axis.scaling.orientation = "maxMin"  # largest swing on top
    chart.y_axis.number_format = money
    chart.y_axis.title = "change from base"
    chart.height, chart.width = max(7.5, 0.6 * n + 3), 18
    s.ws.add_chart(chart, "K2")


def _option_rows(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    comp = doc.get("options_comparison")
    if comp:
        return list(comp["table"])
    return [
        {
            "option": doc.get("option"),
            "verdict": doc.get("decision", {}).get("verdict"),
            "mean_npv": doc.get("npv", {}).get("mean"),
            "p10_npv": doc.get("npv", {}).get("p10"),
            "mean_roi": doc.get("roi", {}).get("mean"),
            "prob_npv_negative": doc.get("prob_npv_negative"),
            "prob_best": None,
            "payback_p50": doc.get("payback_months", {}).get("p50"),
            "pareto": None,
        }
    ]


def _options(wb, doc: Mapping[str, Any], money: str) -> None:
    s = _Sheet(wb, "Options")
    cols = [
        ("option", None), ("verdict", None), ("mean_npv", money), ("p10_npv", money),
        ("mean_roi", PCT), ("prob_npv_negative", PCT), ("prob_best", PCT),
        ("payback_p50", MONTHS), ("pareto", None),
    ]  # fmt: skip
    s.append([c for c, _ in cols], bold=True)
    for r in _option_rows(doc):
        s.append([r.get(c) for c, _ in cols], [f for _, f in cols])
    comp = doc.get("options_comparison")
    if comp:
        s.append([])
        s.append(["P(best) of doing nothing", comp["prob_best"].get("do nothing")], [None, PCT])
        ranked = comp.get("criterion_text", "ranked by mean NPV")
        s.append([f"{ranked}; P(best): share of draws where the option has the highest NPV"])
    s.widths([24, 10, 16, 16, 12, 18, 12, 14, 10])


def _order(result, doc: Mapping[str, Any]) -> list[str]:
    best = doc.get("option")
    names = list(result.options)
    return [best, *(n for n in names if n != best)] if best in names else names


def _s_curve(wb, result, doc: Mapping[str, Any], money: str) -> None:
    from openpyxl.chart import Reference, ScatterChart, Series

    s = _Sheet(wb, "S-curve")
    names = _order(result, doc)
    m = min(S_CURVE_POINTS, result.draws)
    probs = (np.arange(m) + 0.5) / m
    curves = [np.quantile(result.options[n].metrics["npv"].values, probs) for n in names]
    s.append(["probability", *[f"NPV {n}" for n in names]], bold=True)
    for i in range(m):
        s.append([float(probs[i]), *[float(c[i]) for c in curves]], [PCT, *[money] * len(names)])
    s.append([])
    s.append([f"P(NPV <= x): NPV at probabilities (i - 0.5)/{m} of the {result.draws} draws"])
    s.widths([12, *[16] * len(names)])
    chart = ScatterChart()
    chart.title = f"S-curve: cumulative distribution of NPV ({doc.get('currency')})"
    chart.style = 13
    y = Reference(s.ws, min_col=1, min_row=2, max_row=m + 1)
    for j, n in enumerate(names):
        x = Reference(s.ws, min_col=2 + j, min_row=2, max_row=m + 1)
        series = Series(y, x, title=n)
        series.marker.symbol = "none"
        series.smooth = False
        chart.series.append(series)
    chart.x_axis.title = "NPV"
    chart.x_axis.number_format = money
    chart.y_axis.title = "P(NPV <= x)"
    chart.y_axis.number_format = "0%"
    chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 1
    chart.height, chart.width = 9, 18
    s.ws.add_chart(chart, f"{_col(len(names) + 3)}2")


def _col(i: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(i)


_MONEY_VARS = ("cumulative_cash_flow", "spend_baseline", "spend_optimized")


def _monthly(wb, result, doc: Mapping[str, Any], money: str) -> None:
    from openpyxl.chart import LineChart, Reference

    s = _Sheet(wb, "Monthly quantiles")
    names = _order(result, doc)
    several = len(names) > 1
    header, fmts, columns = ["month"], [None], []
    fan: dict[float, int] = {}
    for n in names:
        mo = result.options[n].monthly
        qs = [float(q) for q in mo["quantile"].values]
        for var in mo.data_vars:
            arr = mo[var]
            fmt = money if var in _MONEY_VARS else (PCT if var.startswith("prob") else NUMBER)
            for j, q in enumerate(qs if "quantile" in arr.dims else [None]):
                label = var if q is None else f"{var} P{round(q * 100)}"
                header.append(f"{n}: {label}" if several else label)
                fmts.append(fmt)
                columns.append(arr.values[j] if q is not None else arr.values)
                if n == names[0] and var == "cumulative_cash_flow" and q is not None:
                    fan[round(q, 6)] = len(header)
    s.append(header, bold=True)
    months = [str(m) for m in result.options[names[0]].monthly["month"].values]
    for i, month in enumerate(months):
        s.append([month, *[float(c[i]) for c in columns]], fmts)
    s.widths([10, *[16] * len(columns)])
    chart = LineChart()
    chart.title = f"Cumulative cash flow, {names[0]}: P10 / P50 / P90 ({doc.get('currency')})"
    for q in (0.1, 0.5, 0.9):
        if q in fan:
            col = fan[q]
            chart.add_data(
                Reference(s.ws, min_col=col, min_row=1, max_row=len(months) + 1),
                titles_from_data=True,
            )
    chart.set_categories(Reference(s.ws, min_col=1, min_row=2, max_row=len(months) + 1))
    chart.y_axis.number_format = money
    chart.y_axis.title = "cumulative cash flow"
    chart.x_axis.title = "month"
    chart.height, chart.width = 9, 20
    s.ws.add_chart(chart, "B" + str(len(months) + 4))


def _draws(wb, result, doc: Mapping[str, Any], money: str, cap: int) -> None:
    s = _Sheet(wb, "Draws")
    names = _order(result, doc)
    vals = result.sample.values  # (option, draw, input)
    inputs = [str(i) for i in vals["input"].values]
    varying = [
        k for k, name in enumerate(inputs)
        if np.ptp(vals.sel(input=name).values) > 0
    ]  # fmt: skip
    metrics = list(result.options[names[0]].metrics.data_vars)
    per = max(1, cap // len(names))
    shown = min(result.draws, per)
    total = result.draws * len(names)
    if shown < result.draws:
        note = (f"capped: the first {shown} of {result.draws} draws of each option "
                f"({shown * len(names)} of {total} rows); every draw is in results.nc")  # fmt: skip
    else:
        note = f"every draw: {total} rows ({result.draws} draws x {len(names)} options)"
    s.append([f"Per-draw inputs (those that vary) and metrics; {note}"])
    s.append([])
    s.append(["option", "draw", *[inputs[k] for k in varying], *metrics], bold=True)
    mfmt = [
        money if m in ("npv", "investment", "savings") or m.startswith("tco") else NUMBER
        for m in metrics
    ]
    fmts = [None, "0", *[NUMBER] * len(varying), *mfmt]
    for n in names:
        x = vals.sel(option=n).values[:shown][:, varying]
        mets = np.column_stack([result.options[n].metrics[m].values[:shown] for m in metrics])
        for d in range(shown):
            s.append([n, d, *x[d].tolist(), *mets[d].tolist()], fmts)
    s.widths([14, 8, *[14] * (len(varying) + len(metrics))])


def write_results_xlsx(
    result, doc: Mapping[str, Any], path: Path | str, *, max_rows: int = DRAWS_ROW_CAP
) -> Path:
    """Write ``results.xlsx`` of a study, atomically (sheets and charts in the module docstring).

    Parameters
    ----------
    result : roicast.study.StudyResult
        The study (run with ``monthly=True``).
    doc : dict
        Its ``summary.json`` document (:func:`roicast.report.summary.summary`).
    path : path-like
        Destination.
    max_rows : int
        Cap on the Draws sheet's rows (the first draws of each option).
    """
    from openpyxl import Workbook

    money = money_format(doc.get("currency", "USD"))
    wb = Workbook(write_only=True)
    _summary(wb, doc, money)
    _scenarios(wb, doc, money)
    _tornado(wb, doc, money)
    _options(wb, doc, money)
    _s_curve(wb, result, doc, money)
    _monthly(wb, result, doc, money)
    _draws(wb, result, doc, money, max_rows)
    with atomic_file(path) as tmp:
        wb.save(tmp)
    return Path(path)


def _portfolio_fmt(col: str, money: str) -> str | None:
    if col.startswith("npv_") or col == "evpi":
        return money
    if col.startswith("roi_") or col.startswith("prob_") or col.endswith("_within_horizon"):
        return PCT
    if col.endswith("_months"):
        return MONTHS
    if col == "seconds":
        return "0.0"
    return None


def write_portfolio_xlsx(
    records: Sequence[Mapping[str, Any]], path: Path | str, *, currency: str
) -> Path:
    """Write ``portfolio.xlsx``: one row per project (the ``portfolio.csv`` columns), atomically.

    Money columns take each project's own currency format (``currency`` when a
    record has none); a bar chart shows mean NPV of up to 50 finished projects.
    """
    from openpyxl import Workbook
    from openpyxl.chart import BarChart, Reference

    from roicast.batch.portfolio import CSV_COLUMNS

    wb = Workbook(write_only=True)
    s = _Sheet(wb, "Portfolio")
    s.append(list(CSV_COLUMNS), bold=True)
    for r in records:
        money = money_format(r.get("currency") or currency)
        s.append([r.get(c) for c in CSV_COLUMNS], [_portfolio_fmt(c, money) for c in CSV_COLUMNS])
    s.widths([6, 30, 9, 40, 14, 8, *[14] * (len(CSV_COLUMNS) - 6)])
    n = min(50, sum(1 for r in records if r.get("npv_mean") is not None))
    if n:
        chart = BarChart()
        chart.type = "bar"
        chart.title = f"Mean NPV by project ({currency})"
        col = CSV_COLUMNS.index("npv_mean") + 1
        chart.add_data(
            Reference(s.ws, min_col=col, min_row=1, max_row=n + 1), titles_from_data=True
        )
        chart.set_categories(Reference(s.ws, min_col=2, min_row=2, max_row=n + 1))
        chart.x_axis.scaling.orientation = "maxMin"
        chart.y_axis.number_format = money_format(currency)
        chart.height, chart.width = max(7.5, 0.45 * n + 3), 18
        s.ws.add_chart(chart, f"{_col(len(CSV_COLUMNS) + 2)}2")
    with atomic_file(path) as tmp:
        wb.save(tmp)
    return Path(path)
