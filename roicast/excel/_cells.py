"""Strict reading of workbook cells: a number is a number, a formula is never run.

A workbook is opened twice: once as written (to see which cells hold formulas)
and once with ``data_only=True`` (the values Excel cached when it last saved
the file).  A formula cell is read as its cached value; one without a cached
value (a workbook written by a program that does not compute formulas) is
refused, naming the cell.  Every refusal is one line of the form::

    study.xlsx: Assumptions!D7 (optimized.throughput_gain min): 'abc' is not a number
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roicast.errors import RoicastError

__all__ = ["Book", "CellErrors", "Row", "Table"]

_NUMBERISH = re.compile(r"\s*[-+]?(\d[\d_]*\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")


class CellErrors:
    """Problems found while reading a workbook, raised together (one line each)."""

    def __init__(self, source: str):
        self.source = source
        self.lines: list[str] = []

    def add(self, where: str, msg: str) -> None:
        self.lines.append(f"{self.source}: {where}: {msg}")

    def raise_if_any(self) -> None:
        if self.lines:
            raise RoicastError("\n".join(dict.fromkeys(self.lines)))


@dataclass
class Row:
    """One data row of a :class:`Table`: raw cell values by (lower-case) column name."""

    sheet: str
    number: int
    cells: dict[str, Any]
    refs: dict[str, str]
    decimal: dict[str, bool] = field(default_factory=dict)
    #: Columns whose cell was refused while reading (already reported).
    bad: set[str] = field(default_factory=set)

    def ref(self, column: str) -> str:
        """``Sheet!B7`` for ``column`` of this row."""
        return f"{self.sheet}!{self.refs[column]}"

    def get(self, column: str) -> Any:
        return self.cells.get(column)


@dataclass
class Table:
    """A sheet read as a header row and data rows (empty rows and ``#`` comment rows left out)."""

    name: str
    columns: list[str]
    rows: list[Row]
    header_refs: dict[str, str]


def _letter(col: int) -> str:
    from openpyxl.utils import get_column_letter

    return get_column_letter(col)


class Book:
    """A workbook opened for strict reading; ``source`` names it in messages."""

    def __init__(self, path: Path, source: str):
        import openpyxl
        from openpyxl.utils.exceptions import InvalidFileException

        self.source = source
        try:
            self._formulas = openpyxl.load_workbook(path, data_only=False)
            self._values = openpyxl.load_workbook(path, data_only=True)
        except FileNotFoundError:
            raise RoicastError(f"{source}: workbook not found") from None
        except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as e:
            raise RoicastError(
                f"{source}: not a readable Excel workbook (.xlsx): {e or type(e).__name__}"
            ) from None

    @property
    def sheetnames(self) -> list[str]:
        return list(self._values.sheetnames)

    def has(self, name: str) -> bool:
        return name in self._values.sheetnames

    def cell(self, sheet: str, row: int, col: int, errors: CellErrors) -> tuple[Any, bool]:
        """The value of a cell and whether its number format shows decimals.

        Formula cells give their cached value; without one the cell is refused.
        Error values (``#DIV/0!``) are refused.
        """
        raw = self._formulas[sheet].cell(row=row, column=col)
        c = self._values[sheet].cell(row=row, column=col)
        ref = f"{sheet}!{_letter(col)}{row}"
        if raw.data_type == "f" and c.value is None:
            errors.add(
                ref,
                f"formula {str(raw.value)!r} has no computed value saved in the file; "
                "roicast never runs formulas: open and save the workbook in Excel, or type the value",
            )
            return None, False
        if c.data_type == "e":
            errors.add(ref, f"the cell holds the error {c.value}; give a value")
            return None, False
        return c.value, "." in str(c.number_format or "")

    def table(self, name: str, errors: CellErrors) -> Table:
        """Read sheet ``name``: row 1 is the header (names compared lower-case)."""
        ws = self._values[name]
        columns: list[str] = []
        header_refs: dict[str, str] = {}
        positions: list[tuple[int, str]] = []
        for col in range(1, ws.max_column + 1):
            v, _ = self.cell(name, 1, col, errors)
            if v is None or (isinstance(v, str) and not v.strip()):
                continue
            key = str(v).strip().lower()
            if key in header_refs:
                errors.add(
                    f"{name}!{_letter(col)}1",
                    f"column {key!r} appears twice (also {name}!{header_refs[key]})",
                )
                continue
            columns.append(key)
            header_refs[key] = f"{_letter(col)}1"
            positions.append((col, key))
        rows = []
        for r in range(2, ws.max_row + 1):
            cells, refs, dec, bad = {}, {}, {}, set()
            for col, key in positions:
                before = len(errors.lines)
                v, d = self.cell(name, r, col, errors)
                if len(errors.lines) > before:
                    bad.add(key)
                if isinstance(v, str) and not v.strip():
                    v = None
                cells[key], refs[key], dec[key] = v, f"{_letter(col)}{r}", d
            if all(v is None for v in cells.values()) and not bad:
                continue
            first = cells[positions[0][1]] if positions else None
            if isinstance(first, str) and first.lstrip().startswith("#"):
                continue
            rows.append(Row(name, r, cells, refs, dec, bad))
        return Table(name, columns, rows, header_refs)


def number(
    v: Any, where: str, errors: CellErrors, *, decimal: bool = False, integer: bool = False
) -> int | float | None:
    """A numeric cell as int/float (``decimal``: an integral value shown with decimals is a float).

    ``integer``: the field takes a whole number, so ``36.0`` becomes ``36`` and ``1.5`` is refused.
    Text, booleans and dates are refused, even text that looks like a number.
    """
    if isinstance(v, bool):
        errors.add(where, f"{'TRUE' if v else 'FALSE'} is not a number")
        return None
    if isinstance(v, dt.date | dt.time | dt.timedelta):
        errors.add(where, f"{v} is a date or time, not a number")
        return None
    if isinstance(v, str):
        hint = (
            " (it is text that looks like a number: enter it as a number)"
            if _NUMBERISH.fullmatch(v)
            else ""
        )
        errors.add(where, f"{v!r} is not a number{hint}")
        return None
    if not isinstance(v, int | float) or not math.isfinite(v):
        errors.add(where, f"{v!r} is not a finite number")
        return None
    if integer:
        if float(v).is_integer():
            return int(v)
        errors.add(where, f"{v!r} is not a whole number")
        return None
    if isinstance(v, int) and decimal:
        return float(v)
    return v


def text(v: Any, where: str, errors: CellErrors) -> str | None:
    """A text cell; numbers, booleans and dates are refused (format the cell as text)."""
    if isinstance(v, str):
        return v.strip()
    what = (
        "a date"
        if isinstance(v, dt.date | dt.time)
        else ("TRUE/FALSE" if isinstance(v, bool) else f"the number {v!r}")
    )
    errors.add(where, f"{what} where text is expected (format the cell as text)")
    return None


def boolean(v: Any, where: str, errors: CellErrors) -> bool | None:
    """A TRUE/FALSE cell."""
    if isinstance(v, bool):
        return v
    errors.add(where, f"{v!r} is not TRUE or FALSE")
    return None


def number_list(
    v: Any, where: str, errors: CellErrors, *, decimal: bool = False
) -> list[int | float] | None:
    """A list of numbers: one number cell, or text ``1, 2.5, 3`` (brackets and ``;`` allowed)."""
    if isinstance(v, int | float) and not isinstance(v, bool):
        n = number(v, where, errors, decimal=decimal)
        return None if n is None else [n]
    if not isinstance(v, str):
        number(v, where, errors)
        return None
    body = v.strip().removeprefix("[").removesuffix("]")
    out: list[int | float] = []
    for tok in re.split(r"[,;]", body):
        tok = tok.strip()
        try:
            x: int | float = int(tok)
        except ValueError:
            try:
                x = float(tok)
            except ValueError:
                errors.add(
                    where, f"{tok!r} in {v!r} is not a number (give numbers separated by commas)"
                )
                return None
        if not math.isfinite(x):
            errors.add(where, f"{tok!r} in {v!r} is not a finite number")
            return None
        out.append(x)
    return out
