"""Build a spec workbook from a raw spec dict (the layout is described in :mod:`roicast.excel.spec_io`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from roicast.distributions import registry
from roicast.errors import RoicastError
from roicast.excel import _layout as L

__all__ = ["style_header", "write_spec_workbook"]

_HEADER_FILL = "DDEBF7"
_COMMENT_FILL = "F2F2F2"

_COLUMN_HELP = {
    "field": "The spec field this row sets, dotted: section.name (optimized.throughput_gain).",
    "distribution": "fixed (a known value) or a distribution: "
    + ", ".join(registry())
    + ". Empty with only `value`: fixed; with only p10/p50/p90: quantiles.",
    "source": "Where this assumption comes from (shown in the report's assumptions table).",
    "note": "Free text; roicast ignores it.",
    "value": "The value (Settings), or the known value of a `fixed` row.",
    "option": "The option's name; one row per field it overrides (or one row if none).",
    "description": "What the option is (on any one row of the option).",
    "combines": "Names of the options this one does together, separated by commas.",
    "platform": "The optimized fleet's platform, cloud or onprem (default: the baseline's).",
    "month": "Study month (1-based) from which the launch's volume factor applies.",
    "input_a": "A model input (dotted field name, or `demand`).",
    "input_b": "The other input.",
    "rho": "Spearman rank correlation in [-1, 1] (imposed by Iman-Conover).",
}

README_LINES = (
    "roicast study spec workbook",
    "",
    "Run it: roicast run THIS.xlsx --out results/   (check it: roicast validate THIS.xlsx)",
    "Convert: roicast convert THIS.xlsx study.toml (and back).",
    "",
    "Assumptions: one row per model input. `field` is the dotted spec name; `distribution` is",
    "  fixed or one of the distributions in the dropdown; fill only that distribution's parameter",
    "  columns (the header comments say which distribution uses which column). `source` says where",
    "  the number comes from. values / weights (discrete): numbers separated by commas.",
    "Settings: every other setting, one per row (field, value): project, demand, fleet, decision,",
    "  simulation. Numbers as numbers, text as text, TRUE/FALSE for switches. Empty value: default.",
    "Options (optional): several candidate optimizations; one row per (option, overridden field).",
    "Launches (optional): step changes of demand from a study month on (factor as a distribution).",
    "Correlations (optional): rank correlations between pairs of inputs.",
    "History (optional): the traffic history (date, volume) instead of demand.history.",
    "",
    "Rules: a number must be a number cell (text that looks like a number is refused); formulas",
    "are never run: a formula cell is read as the value Excel saved with it. Rows whose first",
    "cell starts with # are comments. Sheets with other names are ignored.",
    "Every error names the sheet and the cell, e.g.",
    "  study.xlsx: Assumptions!D7 (optimized.throughput_gain min): 'abc' is not a number",
)


def _param_help(col: str) -> str:
    users = [name for name, cls in registry().items() if col in (*cls.required, *cls.optional)]
    extra = " Numbers separated by commas." if col in L.LIST_PARAMS else ""
    return f"Parameter of: {', '.join(users)}.{extra}"


def column_help(col: str) -> str:
    """The header comment of a column."""
    return _COLUMN_HELP.get(col) or _param_help(col)


def style_header(ws, columns: Sequence[str], *, comments: bool = True) -> None:
    """Row 1: bold, shaded, frozen, with a comment per column explaining it."""
    from openpyxl.comments import Comment
    from openpyxl.styles import Font, PatternFill

    ws.append(list(columns))
    for i, col in enumerate(columns, 1):
        c = ws.cell(row=1, column=i)
        c.font = Font(bold=True)
        c.fill = PatternFill("solid", fgColor=_HEADER_FILL)
        if comments:
            c.comment = Comment(column_help(col), "roicast", width=260, height=90)
        ws.column_dimensions[c.column_letter].width = max(9, min(40, len(col) + 4))
    ws.freeze_panes = "A2"


def _fmt_num(x: Any) -> str:
    return repr(x) if isinstance(x, float) else str(x)


def put(ws, row: int, col: int, v: Any) -> None:
    """One cell: integral floats shown with a decimal (read back as floats), text as text."""
    if isinstance(v, list | tuple):
        v = ", ".join(_fmt_num(x) for x in v)
    c = ws.cell(row=row, column=col, value=v)
    if isinstance(v, float) and v.is_integer():
        c.number_format = "0.0"
    elif isinstance(v, str):
        c.number_format = "@"
    elif isinstance(v, dt.datetime):
        c.number_format = "yyyy-mm-dd" if v.time() == dt.time() else "yyyy-mm-dd hh:mm:ss"


def _dist_cells(label: str, v: Any) -> dict[str, Any]:
    if isinstance(v, bool) or not isinstance(v, int | float | Mapping):
        raise RoicastError(f"{label}: {v!r} is neither a number nor a distribution table")
    if not isinstance(v, Mapping):
        return {"distribution": "fixed", "value": v}
    table = dict(v)
    dist = table.pop("dist", None)
    if dist is None:
        dist = L.QUANTILES
    cells: dict[str, Any] = {"distribution": str(dist).lower()}
    for k, x in table.items():
        if k not in L.param_columns():
            raise RoicastError(
                f"{label}: {k!r} is not a parameter of any distribution "
                f"({', '.join(L.param_columns())}); fix the spec first"
            )
        cells[k] = x
    return cells


def _write_rows(ws, columns: Sequence[str], rows: list[dict[str, Any]]) -> None:
    index = {c: i for i, c in enumerate(columns, 1)}
    for r, cells in enumerate(rows, ws.max_row + 1):
        for k, v in cells.items():
            if v is not None:
                put(ws, r, index[k], v)


def _add_dropdown(ws, columns: Sequence[str], n_rows: int) -> None:
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    col = get_column_letter(columns.index("distribution") + 1)
    dv = DataValidation(
        type="list",
        formula1='"' + ",".join(registry()) + '"',
        allow_blank=True,
        showErrorMessage=True,
        errorTitle="roicast",
        error="Choose a distribution from the list.",
    )
    ws.add_data_validation(dv)
    dv.add(f"{col}2:{col}{max(n_rows + 200, 500)}")


def _comment_rows(ws, extra: list[tuple[str, str]], columns: Sequence[str]) -> None:
    from openpyxl.styles import Font

    note = columns.index("note") + 1
    for first, text in extra:
        r = ws.max_row + 1
        ws.cell(row=r, column=1, value=first).font = Font(italic=True, color="808080")
        ws.cell(row=r, column=note, value=text).font = Font(italic=True, color="808080")


def _split(raw: Mapping[str, Any]) -> tuple[list[tuple[str, Any]], list[tuple[str, Any]]]:
    """(Assumptions rows, Settings rows) as (dotted field, value)."""
    from roicast._toml import ORDER

    rank = {name: i for i, name in enumerate(ORDER)}
    dists: list[tuple[str, Any]] = []
    settings: list[tuple[str, Any]] = []
    for sec in sorted(raw, key=lambda k: rank.get(k, len(ORDER))):
        body = raw[sec]
        if sec in ("option", "correlations", "sources"):
            continue
        if not isinstance(body, Mapping):
            raise RoicastError(f"{sec}: {body!r} is not a [section] table; fix the spec first")
        for key, v in body.items():
            if (sec, key) == ("demand", "launches"):
                continue
            if isinstance(v, Mapping) or L.is_distribution_field(sec, key):
                dists.append((f"{sec}.{key}", v))
            else:
                settings.append((f"{sec}.{key}", v))
    return dists, settings


def _assumptions(wb, raw, notes: Mapping[str, str], extra) -> set[str]:
    cols = L.assumption_columns()
    ws = wb.create_sheet(L.ASSUMPTIONS)
    style_header(ws, cols)
    dists, _ = _split(raw)
    sources = dict(raw.get("sources") or {})
    rows = []
    for fld, v in dists:
        rows.append(
            {
                "field": fld,
                **_dist_cells(fld, v),
                "source": sources.get(fld),
                "note": notes.get(fld),
            }
        )
    _write_rows(ws, cols, rows)
    _comment_rows(ws, extra.get(L.ASSUMPTIONS, []), cols)
    _add_dropdown(ws, cols, len(rows))
    ws.column_dimensions["A"].width = 36
    return {fld for fld, _ in dists}


def _settings(wb, raw, notes: Mapping[str, str], on_assumptions: set[str], extra, history) -> None:
    ws = wb.create_sheet(L.SETTINGS)
    style_header(ws, L.SETTINGS_COLUMNS)
    _, settings = _split(raw)
    rows = []
    for fld, v in settings:
        if fld == "demand.history" and history is not None:
            continue
        if isinstance(v, Mapping) or (
            isinstance(v, list | tuple) and not all(isinstance(x, int | float) for x in v)
        ):
            raise RoicastError(f"{fld}: {v!r} cannot be written in one cell; fix the spec first")
        rows.append({"field": fld, "value": v, "note": notes.get(fld)})
    for key, src in (raw.get("sources") or {}).items():
        if key not in on_assumptions:
            rows.append(
                {"field": f"sources.{key}", "value": src, "note": notes.get(f"sources.{key}")}
            )
    _write_rows(ws, L.SETTINGS_COLUMNS, rows)
    _comment_rows(ws, extra.get(L.SETTINGS, []), L.SETTINGS_COLUMNS)
    ws.column_dimensions["A"].width = 36
    ws.column_dimensions["B"].width = 40
    ws.column_dimensions["C"].width = 70


def _option_rows(block: Mapping[str, Any], notes: Mapping[str, str]) -> list[dict[str, Any]]:
    from roicast.spec import OPTION_SECTIONS

    name = block.get("name")
    meta = {
        "option": name,
        "description": block.get("description"),
        "combines": ", ".join(block["combines"]) if block.get("combines") else None,
        "platform": block.get("platform"),
    }
    sources = dict(block.get("sources") or {})
    rows = []
    for k, v in block.items():
        if k in ("name", "description", "combines", "platform", "sources"):
            continue
        pairs = (
            [(f"{k}.{fk}", fv) for fk, fv in v.items()]
            if k in OPTION_SECTIONS and isinstance(v, Mapping)
            else [(k, v)]
        )
        for fld, fv in pairs:
            label = f"option[{name}].{fld}"
            rows.append(
                {"option": name, "field": fld, **_dist_cells(label, fv), "note": notes.get(label)}
            )
    for row in rows:
        row["source"] = sources.pop(_input_name(row["field"]), None)
    # a source for an input the option does not override: a row with the field and its source only
    rows += [{"option": name, "field": fld, "source": src} for fld, src in sources.items()]
    if not rows:
        return [meta]
    rows[0].update(meta)
    return rows


def _input_name(field: str) -> str:
    """The model input an Options-sheet field sets (``throughput_gain`` is ``optimized.throughput_gain``)."""
    from roicast.spec import option_field_input

    return option_field_input(field)


def _options(wb, raw, notes) -> None:
    cols = L.option_columns()
    ws = wb.create_sheet(L.OPTIONS)
    style_header(ws, cols)
    rows = [r for block in raw.get("option") or [] for r in _option_rows(block, notes)]
    _write_rows(ws, cols, rows)
    _add_dropdown(ws, cols, len(rows))
    ws.column_dimensions["B"].width = 50
    ws.column_dimensions["D"].width = 30


def _launches(wb, raw) -> None:
    cols = L.launch_columns()
    ws = wb.create_sheet(L.LAUNCHES)
    style_header(ws, cols)
    launches = (raw.get("demand") or {}).get("launches") or []
    rows = []
    for i, launch in enumerate(launches):
        rows.append(
            {
                "month": launch.get("month"),
                **_dist_cells(f"demand.launches[{i}].factor", launch.get("factor")),
            }
        )
    _write_rows(ws, cols, rows)
    _add_dropdown(ws, cols, len(rows))


def _correlations(wb, raw) -> None:
    ws = wb.create_sheet(L.CORRELATIONS)
    style_header(ws, L.CORRELATION_COLUMNS)
    rows = []
    for c in raw.get("correlations") or []:
        a, b = [*(c.get("between") or []), None, None][:2]
        rows.append({"input_a": a, "input_b": b, "rho": c.get("rho")})
    _write_rows(ws, L.CORRELATION_COLUMNS, rows)
    ws.column_dimensions["A"].width = 36
    ws.column_dimensions["B"].width = 36


def _history_cell(s: str) -> Any:
    s = s.strip()
    for parse in (int, float):
        try:
            return parse(s)
        except ValueError:
            pass
    try:
        d = dt.datetime.fromisoformat(s)
    except ValueError:
        return s
    return s if d.tzinfo is not None else d


def _history(wb, rows: list[list[str]]) -> None:
    from openpyxl.styles import Font

    ws = wb.create_sheet(L.HISTORY)
    if not rows:
        return
    ws.append(rows[0])
    for c in ws[1]:
        c.font = Font(bold=True)
    for r, line in enumerate(rows[1:], 2):
        for col, s in enumerate(line, 1):
            if s.strip():
                put(ws, r, col, _history_cell(s))
    ws.freeze_panes = "A2"
    ws.column_dimensions["A"].width = 20
    ws.column_dimensions["B"].width = 14


def _readme(ws) -> None:
    from openpyxl.styles import Font

    for line in README_LINES:
        ws.append([line])
    ws["A1"].font = Font(bold=True, size=14)
    ws.column_dimensions["A"].width = 110


def write_spec_workbook(
    raw: Mapping[str, Any],
    *,
    history: list[list[str]] | None,
    notes: Mapping[str, str],
    extra_rows: Mapping[str, list[tuple[str, str]]],
):
    """The spec workbook (an ``openpyxl.Workbook``, not saved)."""
    from openpyxl import Workbook

    wb = Workbook()
    readme = wb.active
    readme.title = L.README
    _readme(readme)
    on_assumptions = _assumptions(wb, raw, notes, extra_rows)
    _settings(wb, raw, notes, on_assumptions, extra_rows, history)
    _options(wb, raw, notes)
    _launches(wb, raw)
    _correlations(wb, raw)
    if history is not None:
        _history(wb, history)
    return wb
