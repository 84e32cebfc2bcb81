"""Fixtures: the demo specs copied to a temporary folder, and workbook editing helpers."""

from __future__ import annotations

import shutil
from importlib.resources import files
from pathlib import Path

import pytest

DEMO = Path(str(files("roicast.demo")))


@pytest.fixture
def demo_dir(tmp_path: Path) -> Path:
    """A folder holding the demo specs and their histories."""
    for name in (
        "quantization.toml", "options.toml", "fleet.toml", "onprem.toml",
        "history.csv", "servegen_hourly.csv",
    ):  # fmt: skip
        shutil.copy(DEMO / name, tmp_path / name)
    return tmp_path


def find_row(ws, field: str, column: int = 1) -> int:
    for r in range(1, ws.max_row + 1):
        if ws.cell(row=r, column=column).value == field:
            return r
    raise AssertionError(f"{field} not on sheet {ws.title}")


def col_of(ws, name: str) -> int:
    for c in range(1, ws.max_column + 1):
        if ws.cell(row=1, column=c).value == name:
            return c
    raise AssertionError(f"no column {name} on {ws.title}")
