"""roicast.report: what a study's reader gets.

* :func:`write_report`: ``summary.json``, ``results.nc``, ``report.md`` with
  PNG figures and a self-contained ``report.html``, written atomically;
* :func:`results_dataset`: every result as one labelled :class:`xarray.Dataset`;
* :func:`summary`: the ``summary.json`` document (the stable contract);
* :mod:`roicast.report.figures`: the figures, as matplotlib ``Figure`` objects.

It only consumes a :class:`roicast.study.StudyResult`.  Names are loaded on
first use (PEP 562), so ``import roicast.report._io`` stays light.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["decide", "results_dataset", "summary", "write_report"]

_WHERE = {
    "write_report": "roicast.report.write",
    "results_dataset": "roicast.report.write",
    "summary": "roicast.report.summary",
    "decide": "roicast.report.summary",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    if name == "figures":
        return importlib.import_module("roicast.report.figures")
    raise AttributeError(f"module 'roicast.report' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*__all__, "figures"])
