"""roicast.excel: studies in and out of Excel workbooks (openpyxl).

* :func:`read_xlsx_spec` / :func:`load_xlsx_spec`: a spec workbook (an
  Assumptions sheet, optional Settings, Options, Launches, Correlations and
  History sheets) as the raw spec dict / a validated :class:`~roicast.spec.Spec`;
* :func:`write_xlsx_spec`, :func:`toml_to_xlsx`, :func:`xlsx_to_toml`: the other way and conversions;
* :func:`write_template`: a commented, runnable template (the built-in demo);
* :func:`write_results_xlsx`: ``results.xlsx`` of a study (sheets and native charts);
* :func:`write_portfolio_xlsx`: ``portfolio.xlsx`` of a batch;
* :func:`load_any_spec`: a spec file of either kind, by suffix.

Names are loaded on first use (PEP 562): ``import roicast.excel`` does not import openpyxl.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

__all__ = [
    "XLSX_SUFFIXES",
    "load_any_spec",
    "load_xlsx_spec",
    "read_xlsx_spec",
    "toml_to_xlsx",
    "write_portfolio_xlsx",
    "write_results_xlsx",
    "write_template",
    "write_xlsx_spec",
    "xlsx_to_toml",
]

#: Suffixes read as spec workbooks (``.xlsm`` is read the same way; its macros are never run).
XLSX_SUFFIXES = (".xlsx", ".xlsm")

_WHERE = {
    "load_xlsx_spec": "roicast.excel.spec_io",
    "read_xlsx_spec": "roicast.excel.spec_io",
    "toml_to_xlsx": "roicast.excel.spec_io",
    "write_xlsx_spec": "roicast.excel.spec_io",
    "xlsx_to_toml": "roicast.excel.spec_io",
    "write_template": "roicast.excel.template",
    "write_results_xlsx": "roicast.excel.results",
    "write_portfolio_xlsx": "roicast.excel.results",
}


def load_any_spec(path: Path | str):
    """Read and validate a spec: a workbook (``.xlsx``, ``.xlsm``) or TOML (anything else).

    Raises
    ------
    RoicastError
        As :func:`roicast.spec.load_spec` or :func:`load_xlsx_spec`; an old
        binary ``.xls`` is refused with the fix (save it as ``.xlsx``).
    """
    from roicast.errors import RoicastError

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in XLSX_SUFFIXES:
        from roicast.excel.spec_io import load_xlsx_spec

        return load_xlsx_spec(path)
    if suffix == ".xls":
        raise RoicastError(
            f"{path}: an old binary Excel file (.xls); save it as an Excel workbook (.xlsx)"
        )
    from roicast.spec import load_spec

    return load_spec(path)


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'roicast.excel' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
