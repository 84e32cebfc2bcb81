"""A study spec as an Excel workbook, read strictly and written back.

Layout (row 1 of each sheet is the header; header names are case-insensitive,
columns may come in any order, empty rows and rows whose first cell starts
with ``#`` are skipped, other sheets are ignored):

``Assumptions`` (required)
    One row per model scalar: ``field`` (dotted, ``optimized.throughput_gain``),
    ``distribution`` (``fixed``, ``uniform``, ``triangular``, ``pert``,
    ``normal``, ``truncnormal``, ``lognormal``, ``beta``, ``discrete``,
    ``quantiles``; a dropdown), one column per distribution parameter
    (``value``, ``min``, ``mode``, ``max``, ``low``, ``high``, ``mean``, ``sd``,
    ``median``, ``sigma``, ``alpha``, ``beta``, ``lambda``, ``p10``, ``p50``,
    ``p90``, ``lower``, ``upper``, ``values``, ``weights``: the keys of
    :func:`roicast.distributions.registry`), ``source`` (→ ``[sources]``) and
    ``note`` (ignored).  ``fixed`` takes ``value``; an empty distribution with
    only ``value`` is fixed, with only p10/p50/p90 (and lower/upper) it is
    ``quantiles``.  ``values`` / ``weights`` hold numbers separated by commas.
``Settings``
    Every other scalar: ``field`` (``project.horizon_months``,
    ``simulation.seed``, ``demand.history``, ``fleet.profile``,
    ``sources.<input>`` for a source of an input not on Assumptions…),
    ``value``, ``note``.  Numbers must be number cells, text text cells,
    booleans TRUE/FALSE; ``project.start`` may be a date cell (its month is
    taken); a list (``fleet.profile``) is numbers separated by commas.
``Options`` (optional: without it the study has one option)
    One row per (option, overridden field): ``option`` (name),
    ``description``, ``combines`` (names separated by commas), ``platform``
    (``cloud`` or ``onprem``), ``field`` (``throughput_gain`` or
    ``implementation.months``; empty for an option that overrides nothing),
    the distribution columns, ``source`` (where this option's value of the
    field comes from; a row with a field and a source only cites an input
    the option does not override) and ``note``.  The description, combines
    and platform may be given on any one row of the option.
``Launches`` (optional)
    ``[[demand.launches]]``: ``month``, and the launch ``factor`` as
    distribution columns.
``Correlations`` (optional)
    ``[[correlations]]``: ``input_a``, ``input_b``, ``rho``.
``History`` (optional)
    The traffic history instead of ``demand.history``: a header row with the
    column names (``date``, ``requests``) and one row per period; date cells
    are written as ISO dates.  The volume column (``demand.volume_column``, or
    the second of two columns) must hold numbers.  Reading the workbook writes
    the sheet to a CSV named by its content's hash (so it is written once,
    atomically, and never changes under a running study) in ``history_dir``
    (default: ``<system temp>/roicast-xlsx-history``) and points
    ``demand.history`` at it.  Line *n* of that CSV is row *n* of the sheet,
    so history errors name the row.

Cells are read strictly: a number must be a number cell (text that looks like
a number is refused), formulas are never run (a formula cell is read as the
value Excel saved with it; one without a saved value is refused), and every
refusal names the sheet, the cell, the field and the value::

    study.xlsx: Assumptions!D7 (optimized.throughput_gain min): 'abc' is not a number

The rules of the spec itself are then checked by
:func:`roicast.spec.spec_from_dict` with the same one-line errors as a TOML
spec.  An integral number shown with decimals (``1.0``, number format ``0.0``)
is a float, otherwise an integer, so TOML → workbook → TOML keeps ``1.0``
and ``1`` apart.
"""

from __future__ import annotations

import csv
import datetime as dt
import difflib
import hashlib
import io
import os
import tempfile
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from roicast._toml import dumps
from roicast.distributions import registry
from roicast.errors import RoicastError
from roicast.excel import _layout as L
from roicast.excel._cells import Book, CellErrors, Row, Table, boolean, number, number_list, text
from roicast.excel._write import write_spec_workbook
from roicast.spec import option_field_input

__all__ = [
    "load_xlsx_spec",
    "read_xlsx_spec",
    "toml_to_xlsx",
    "write_xlsx_spec",
    "xlsx_to_toml",
]


def default_history_dir() -> Path:
    """Where the History sheet's CSV goes when no ``history_dir`` is given."""
    return Path(tempfile.gettempdir()) / "roicast-xlsx-history"


# --------------------------------------------------------------------------- reading


def _check_columns(
    table: Table, allowed: tuple[str, ...], required: tuple[str, ...], errors
) -> bool:
    ok = True
    for col in table.columns:
        if col not in allowed:
            close = difflib.get_close_matches(col, allowed, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}?" if close else f"columns: {', '.join(allowed)}"
            errors.add(f"{table.name}!{table.header_refs[col]}", f"unknown column {col!r}; {hint}")
            ok = False
    for col in required:
        if col not in table.columns:
            errors.add(table.name, f"no {col!r} column (row 1 holds the column names)")
            ok = False
    return ok


def _guess_distribution(row: Row, given: list[str]) -> str | None:
    if given == ["value"]:
        return "fixed"
    if given and set(given) <= set(
        registry()[L.QUANTILES].required + registry()[L.QUANTILES].optional
    ):
        return L.QUANTILES
    return None


def _distribution(row: Row, label: str, errors: CellErrors) -> Any:
    """The spec value of a row's distribution columns: a number (fixed) or a table."""
    reg = registry()
    if row.bad & {"distribution", *L.param_columns()}:
        return None  # a refused cell, already reported
    given = [c for c in L.param_columns() if row.get(c) is not None]
    raw = row.get("distribution")
    if raw is None:
        dist = _guess_distribution(row, given)
        if dist is None:
            what = "no parameters either" if not given else f"parameters {', '.join(given)}"
            errors.add(
                f"{row.ref('distribution')} ({label})",
                f"empty, with {what}; choose one of {', '.join(reg)}",
            )
            return None
    else:
        dist = text(raw, f"{row.ref('distribution')} ({label})", errors)
        if dist is None:
            return None
        dist = dist.lower()
        if dist not in reg:
            close = difflib.get_close_matches(dist, list(reg), n=1, cutoff=0.6)
            hint = f"did you mean {close[0]!r}? " if close else ""
            errors.add(
                f"{row.ref('distribution')} ({label})",
                f"unknown distribution {raw!r}; {hint}use one of {', '.join(reg)}",
            )
            return None
    cls = reg[dist]
    allowed = (*cls.required, *cls.optional)
    before = len(errors.lines)
    for c in given:
        if c not in allowed:
            errors.add(
                f"{row.ref(c)} ({label} {c})",
                f"{dist} takes {', '.join(allowed)}, not {c}; clear this cell",
            )
    for c in cls.required:
        if c not in given:
            errors.add(
                f"{row.ref(c)} ({label} {c})", f"empty; {dist} needs {', '.join(cls.required)}"
            )
    table: dict[str, Any] = {} if dist == L.QUANTILES else {"dist": dist}
    for c in given:
        where = f"{row.ref(c)} ({label} {c})"
        read = number_list if c in L.LIST_PARAMS else number
        table[c] = read(row.get(c), where, errors, decimal=row.decimal.get(c, False))
    if len(errors.lines) > before:
        return None
    return table["value"] if dist == "fixed" else table


def _split_field(v: Any, where: str, errors: CellErrors, *, parts: int = 2) -> list[str] | None:
    name = text(v, where, errors)
    if name is None:
        return None
    bits = name.split(".", parts - 1) if parts else name.split(".")
    if len(bits) != parts or not all(b.strip() for b in bits) or " " in name:
        errors.add(where, f"{name!r} is not a dotted field such as optimized.throughput_gain")
        return None
    return bits


class _Raw:
    """The raw spec being assembled, remembering which cell set each field."""

    def __init__(self, errors: CellErrors):
        self.doc: dict[str, Any] = {}
        self.where: dict[str, str] = {}
        self.errors = errors

    def set(self, section: str, key: str, value: Any, ref: str) -> None:
        dotted = f"{section}.{key}"
        if dotted in self.where:
            self.errors.add(ref, f"{dotted} is already given in {self.where[dotted]}")
            return
        self.where[dotted] = ref
        sec = self.doc.setdefault(section, {})
        if isinstance(sec, dict):
            sec[key] = value


def _read_assumptions(table: Table, raw: _Raw, errors: CellErrors) -> None:
    if not _check_columns(table, L.assumption_columns(), ("field",), errors):
        return
    for row in table.rows:
        if "field" in row.bad:
            continue
        if row.get("field") is None:
            if any(row.get(c) is not None for c in ("distribution", *L.param_columns(), "source")):
                errors.add(row.ref("field"), "empty; give the field this row sets")
            continue
        bits = _split_field(row.get("field"), row.ref("field"), errors)
        if bits is None:
            continue
        label = ".".join(bits)
        value = _distribution(row, label, errors)
        if value is not None:
            raw.set(bits[0], bits[1], value, row.ref("field"))
        if row.get("source") is not None:
            src = text(row.get("source"), f"{row.ref('source')} ({label} source)", errors)
            if src:
                raw.set("sources", label, src, row.ref("source"))


def _setting(section: str, key: str, v: Any, where: str, decimal: bool, errors) -> Any:
    """A Settings cell as the type its field takes (see the module docstring)."""
    kinds = L.field_kinds(section, key)
    if kinds is None or section == "sources":
        return text(v, where, errors) if section == "sources" else v
    if isinstance(v, dt.date) and (section, key) == ("project", "start"):
        return f"{v.year:04d}-{v.month:02d}"
    if "bool" in kinds:
        return boolean(v, where, errors)
    if "list" in kinds and isinstance(v, str) and ("," in v or v.lstrip().startswith("[")):
        return number_list(v, where, errors, decimal=decimal)
    if "text" in kinds:
        return text(v, where, errors)
    if kinds & {"int", "float", "dist"}:
        integer = "int" in kinds and not kinds & {"float", "dist"}
        return number(v, where, errors, decimal=decimal, integer=integer)
    return v


#: Fields with a sheet of their own.
_OWN_SHEET = {"demand.launches": L.LAUNCHES, "correlations": L.CORRELATIONS}


def _read_settings(table: Table, raw: _Raw, errors: CellErrors) -> None:
    if not _check_columns(table, L.SETTINGS_COLUMNS, ("field", "value"), errors):
        return
    for row in table.rows:
        if row.bad & {"field", "value"}:
            continue
        if row.get("field") is None:
            if row.get("value") is not None:
                errors.add(row.ref("field"), "empty; give the field this row sets")
            continue
        bits = _split_field(row.get("field"), row.ref("field"), errors)
        if bits is None:
            continue
        label = ".".join(bits)
        where = f"{row.ref('value')} ({label})"
        if label in _OWN_SHEET:
            errors.add(row.ref("field"), f"{label} goes on the {_OWN_SHEET[label]} sheet")
            continue
        if row.get("value") is None:
            continue  # an empty value keeps the default
        v = _setting(
            bits[0], bits[1], row.get("value"), where, row.decimal.get("value", False), errors
        )
        if v is not None:
            raw.set(bits[0], bits[1], v, row.ref("field"))


def _option_meta(row: Row, block: dict[str, Any], name: str, errors: CellErrors) -> None:
    for col in ("description", "combines", "platform"):
        if row.get(col) is None:
            continue
        v = text(row.get(col), f"{row.ref(col)} ({name} {col})", errors)
        if v is None:
            continue
        if col == "combines":
            v = [c.strip() for c in v.split(",") if c.strip()]
        if col in block and block[col] != v:
            errors.add(row.ref(col), f"option {name!r} has another {col} on an earlier row")
        block[col] = v


def _read_options(table: Table, errors: CellErrors) -> list[dict[str, Any]] | None:
    if not _check_columns(table, L.option_columns(), ("option",), errors):
        return None
    blocks: dict[str, dict[str, Any]] = {}
    seen: dict[tuple[str, str], str] = {}
    for row in table.rows:
        if row.bad & {"option", "field"}:
            continue
        name = _option_name(row, errors)
        if not name:
            continue
        block = blocks.setdefault(name, {"name": name})
        _option_meta(row, block, name, errors)
        _option_override(row, block, name, seen, errors)
    return list(blocks.values()) or None


def _option_name(row, errors: CellErrors) -> str | None:
    """The option a row of the Options sheet belongs to (an error when it has data but no name)."""
    if row.get("option") is None:
        if any(row.get(c) is not None for c in L.option_columns() if c != "note"):
            errors.add(row.ref("option"), "empty; give the name of the option this row belongs to")
        return None
    return text(row.get("option"), f"{row.ref('option')} (option)", errors) or None


def _option_override(
    row, block: dict[str, Any], name: str, seen: dict[tuple[str, str], str], errors: CellErrors
) -> None:
    """The field a row of the Options sheet overrides, set in the option's block."""
    if row.get("field") is None:
        if row.get("distribution") is not None or any(
            row.get(c) is not None for c in L.param_columns()
        ):
            errors.add(row.ref("field"), f"empty; give the field option {name!r} overrides")
        return
    fld = text(row.get("field"), f"{row.ref('field')} ({name} field)", errors)
    if not fld:
        return
    if (name, fld) in seen:
        errors.add(row.ref("field"), f"option {name!r} already sets {fld} in {seen[(name, fld)]}")
        return
    seen[(name, fld)] = row.ref("field")
    if row.get("source") is not None:
        src = text(row.get("source"), f"{row.ref('source')} ({name} {fld} source)", errors)
        if src is not None:
            block.setdefault("sources", {})[option_field_input(fld)] = src
        if row.get("distribution") is None and not any(
            row.get(c) is not None for c in L.param_columns()
        ):
            return  # a source for an input the option does not override
    value = _distribution(row, f"option[{name}].{fld}", errors)
    if value is None:
        return
    sec, _, key = fld.rpartition(".")
    target = block.setdefault(sec, {}) if sec else block
    if isinstance(target, dict):
        target[key] = value


def _read_launches(table: Table, errors: CellErrors) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if not _check_columns(table, L.launch_columns(), ("month",), errors):
        return out
    for i, row in enumerate(table.rows):
        label = f"demand.launches[{i}]"
        month = number(
            row.get("month"), f"{row.ref('month')} ({label}.month)", errors, integer=True
        )
        factor = _distribution(row, f"{label}.factor", errors)
        if month is not None and factor is not None:
            out.append({"month": month, "factor": factor})
    return out


def _read_correlations(table: Table, errors: CellErrors) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if not _check_columns(table, L.CORRELATION_COLUMNS, ("input_a", "input_b", "rho"), errors):
        return out
    for i, row in enumerate(table.rows):
        label = f"correlations[{i}]"
        a = text(row.get("input_a"), f"{row.ref('input_a')} ({label} input_a)", errors)
        b = text(row.get("input_b"), f"{row.ref('input_b')} ({label} input_b)", errors)
        rho = number(row.get("rho"), f"{row.ref('rho')} ({label} rho)", errors, decimal=True)
        if a and b and rho is not None:
            out.append({"between": [a, b], "rho": rho})
    return out


def _stamp(v: Any, timed: bool = False) -> Any:
    """A date cell as ISO text; ``timed``: the column holds times of day (hourly data)."""
    if isinstance(v, dt.datetime):
        return v.isoformat(sep=" ") if timed or v.time() != dt.time() else v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    return v


def _history_cell(book: Book, ws, r: int, c: int, names, vol_idx, errors: CellErrors) -> Any:
    """One History cell's value; the volume column must hold numbers."""
    v, _ = book.cell(L.HISTORY, r, c, errors)
    if c - 1 == vol_idx and v is not None and not (isinstance(v, str) and not v.strip()):
        label = f"{L.HISTORY}!{ws.cell(row=r, column=c).coordinate} ({names[c - 1]})"
        v = number(v, label, errors)
    return v


def _timed_columns(cells: list[list[Any]], ncol: int) -> list[bool]:
    """Per column: does it hold times of day?  Then hourly stamps keep their time at midnight too."""
    cols = zip(*cells, strict=True) if cells else [[]] * ncol
    return [any(isinstance(v, dt.datetime) and v.time() != dt.time() for v in c) for c in cols]


def _csv_cell(v: Any, timed: bool) -> str:
    return "" if v is None else (repr(v) if isinstance(v, float) else _stamp(v, timed))


def _history_csv(book: Book, raw: dict[str, Any], errors: CellErrors) -> str | None:
    """The History sheet as CSV text, line n = sheet row n (volume cells checked)."""
    ws = book._values[L.HISTORY]
    ncol = ws.max_column
    header = [book.cell(L.HISTORY, 1, c, errors)[0] for c in range(1, ncol + 1)]
    names = [str(h).strip() if h is not None else "" for h in header]
    demand = raw.get("demand", {}) if isinstance(raw.get("demand"), dict) else {}
    vol = demand.get("volume_column")
    vol_idx = names.index(vol) if isinstance(vol, str) and vol in names else None
    if vol_idx is None and vol is None and len([n for n in names if n]) == 2:
        vol_idx = 1
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(names)
    cells = [
        [_history_cell(book, ws, r, c, names, vol_idx, errors) for c in range(1, ncol + 1)]
        for r in range(2, ws.max_row + 1)
    ]
    timed = _timed_columns(cells, ncol)
    for row in cells:
        w.writerow([_csv_cell(v, t) for v, t in zip(row, timed, strict=True)])
    if ws.max_row < 2:
        errors.add(L.HISTORY, "no data rows under the header")
        return None
    return buf.getvalue()


def _write_once(content: str, folder: Path, stem: str) -> Path:
    """Write ``content`` to ``folder/<stem>-<hash>.csv`` unless that file exists (atomic)."""
    from roicast.report._io import atomic_file

    digest = hashlib.sha256(content.encode()).hexdigest()[:16]
    path = folder / f"{stem}-{digest}.History.csv"
    if not path.is_file():
        with atomic_file(path) as tmp:
            tmp.write_text(content, encoding="utf-8")
    return path


def _read_book(book: Book, errors: CellErrors) -> dict[str, Any]:
    raw = _Raw(errors)
    if not book.has(L.ASSUMPTIONS):
        raise RoicastError(
            f"{book.source}: no {L.ASSUMPTIONS!r} sheet (sheets: {', '.join(book.sheetnames)}); "
            "a spec workbook has one row per input there (`roicast template --xlsx` writes one)"
        )
    _read_assumptions(book.table(L.ASSUMPTIONS, errors), raw, errors)
    if book.has(L.SETTINGS):
        _read_settings(book.table(L.SETTINGS, errors), raw, errors)
    if book.has(L.OPTIONS):
        blocks = _read_options(book.table(L.OPTIONS, errors), errors)
        if blocks:
            raw.doc["option"] = blocks
    if book.has(L.LAUNCHES):
        launches = _read_launches(book.table(L.LAUNCHES, errors), errors)
        if launches:
            raw.doc.setdefault("demand", {})["launches"] = launches
    if book.has(L.CORRELATIONS):
        corr = _read_correlations(book.table(L.CORRELATIONS, errors), errors)
        if corr:
            raw.doc["correlations"] = corr
    return raw.doc


def read_xlsx_spec(path: Path | str, *, history_dir: Path | str | None = None) -> dict[str, Any]:
    """Read a spec workbook into the raw spec dict (the shape ``tomllib`` gives for a TOML spec).

    Parameters
    ----------
    path : path-like
        The workbook (``.xlsx``); layout in the module docstring.
    history_dir : path-like, optional
        Folder for the CSV written from a History sheet (default
        :func:`default_history_dir`).  The file is named by its content's
        hash and written atomically once, so it stays valid for as long as
        the study runs, in this process or in local worker processes.

    Returns
    -------
    dict
        Validate it with ``spec_from_dict(raw, base_dir=path.parent, source=str(path))``
        (:func:`load_xlsx_spec` does).

    Raises
    ------
    RoicastError
        The file cannot be read as a workbook, has no Assumptions sheet, or
        cells break the layout's rules: one line per cell, naming the file,
        sheet, cell, field and value.
    """
    path = Path(path)
    source = str(path)
    if path.is_dir():
        raise RoicastError(f"{source}: is a folder; give a spec workbook (.xlsx)")
    if not path.is_file():
        raise RoicastError(f"{source}: spec workbook not found")
    return _read(path, history_dir)[0]


def _read(path: Path, history_dir: Path | str | None) -> tuple[dict[str, Any], str | None]:
    """The raw spec and the History sheet's CSV text (``None`` without one)."""
    source = str(path)
    errors = CellErrors(source)
    book = Book(path, source)
    doc = _read_book(book, errors)
    errors.raise_if_any()
    if not book.has(L.HISTORY):
        return doc, None
    if isinstance(doc.get("demand"), dict) and "history" in doc["demand"]:
        raise RoicastError(
            f"{source}: demand.history: {doc['demand']['history']!r} in {L.SETTINGS} and a "
            f"{L.HISTORY} sheet; give the history one way (remove one of them)"
        )
    content = _history_csv(book, doc, errors)
    errors.raise_if_any()
    folder = Path(history_dir) if history_dir is not None else default_history_dir()
    csv_path = _write_once(content or "", folder, path.stem)
    doc.setdefault("demand", {})["history"] = str(csv_path.resolve())
    return doc, content


def load_xlsx_spec(path: Path | str, *, history_dir: Path | str | None = None):
    """Read and validate a spec workbook (:func:`read_xlsx_spec` then ``spec_from_dict``).

    Returns
    -------
    roicast.spec.Spec
        Relative paths (``demand.history``) resolve against the workbook's folder.
    """
    from roicast.spec import spec_from_dict

    path = Path(path)
    raw = read_xlsx_spec(path, history_dir=history_dir)
    return spec_from_dict(raw, base_dir=path.resolve().parent, source=str(path))


# --------------------------------------------------------------------------- writing


def write_xlsx_spec(
    raw: Mapping[str, Any],
    path: Path | str,
    *,
    history_csv: Path | str | None = None,
    notes: Mapping[str, str] | None = None,
    extra_rows: Mapping[str, list[tuple[str, str]]] | None = None,
) -> None:
    """Write a raw spec dict (parsed TOML) as a spec workbook, atomically.

    Parameters
    ----------
    raw : mapping
        The spec as ``tomllib`` parses it (not validated here; validate first).
    path : path-like
        Destination ``.xlsx``.
    history_csv : path-like, optional
        A history CSV to copy into a History sheet; ``demand.history`` is then
        left out of Settings.
    notes : mapping, optional
        ``field -> note`` written in the note column (``option[name].field``
        for an option's row).
    extra_rows : mapping, optional
        Sheet name -> ``(first cell, note)`` comment rows appended (the
        template lists optional fields this way; they start with ``#``).
    """
    from roicast.report._io import atomic_file

    history = _read_history_csv(Path(history_csv)) if history_csv is not None else None
    with atomic_file(path) as tmp:
        wb = write_spec_workbook(
            raw, history=history, notes=notes or {}, extra_rows=extra_rows or {}
        )
        wb.save(tmp)


def _read_history_csv(path: Path) -> list[list[Any]]:
    try:
        with path.open(newline="", encoding="utf-8-sig") as fh:
            return list(csv.reader(fh))
    except (OSError, UnicodeDecodeError, csv.Error) as e:
        raise RoicastError(f"{path}: history CSV cannot be read ({e})") from None


def _rebase(raw: dict[str, Any], src_dir: Path, dst_dir: Path) -> None:
    """Make ``demand.history`` (relative to ``src_dir``) valid from ``dst_dir``."""
    demand = raw.get("demand")
    if not isinstance(demand, dict) or not isinstance(demand.get("history"), str):
        return
    h = Path(demand["history"])
    if h.is_absolute() or src_dir.resolve() == dst_dir.resolve():
        return
    target = (src_dir / h).resolve()
    try:
        demand["history"] = Path(os.path.relpath(target, dst_dir.resolve())).as_posix()
    except ValueError:  # another drive on Windows
        demand["history"] = str(target)


def toml_to_xlsx(src: Path | str, dst: Path | str, *, embed_history: bool = False) -> None:
    """Convert a TOML spec to a spec workbook (validated first, so only good specs convert).

    ``demand.history`` is rewritten so that it still finds the CSV from the
    workbook's folder; with ``embed_history`` the CSV goes into a History sheet.
    """
    from roicast.spec import load_spec

    src, dst = Path(src), Path(dst)
    spec = load_spec(src)
    raw = tomllib.loads(src.read_text(encoding="utf-8"))
    history = spec.history_path() if embed_history else None
    if history is not None:
        raw["demand"].pop("history", None)
    else:
        _rebase(raw, src.parent, dst.parent)
    write_xlsx_spec(raw, dst, history_csv=history)


def xlsx_to_toml(src: Path | str, dst: Path | str) -> None:
    """Convert a spec workbook to a TOML spec (validated first), atomically.

    A History sheet becomes ``<dst stem>.history.csv`` beside ``dst`` (replaced
    if it exists) and ``demand.history`` names it; a relative
    ``demand.history`` is rewritten to stay valid from ``dst``'s folder.
    """
    from roicast.report._io import atomic_file
    from roicast.spec import spec_from_dict

    src, dst = Path(src), Path(dst)
    if not src.is_file():
        raise RoicastError(f"{src}: spec workbook not found")
    raw, history_text = _read(src, None)
    spec_from_dict(raw, base_dir=src.resolve().parent, source=str(src))
    if history_text is None:
        _rebase(raw, src.parent, dst.parent)
    else:
        csv_name = f"{dst.stem}.history.csv"
        with atomic_file(dst.parent / csv_name) as tmp:
            tmp.write_text(history_text, encoding="utf-8")
        raw["demand"]["history"] = csv_name
    with atomic_file(dst) as tmp:
        tmp.write_text(
            dumps(raw, header=f"roicast spec converted from {src.name}"), encoding="utf-8"
        )
