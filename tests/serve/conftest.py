"""Fixtures of the ``roicast serve`` tests: small specs in a temporary folder."""

from __future__ import annotations

import shutil
from importlib.resources import files
from pathlib import Path

import pytest

DEMO = Path(str(files("roicast.demo")))

#: A spec without history (a fast forecast), small enough for unit tests.
SMALL = """\
[project]
name = "small what-if"
start = "2026-01"
horizon_months = 24
currency = "USD"

[demand]
start_volume = 2.0e7
annual_growth = 0.4
paths = 60

[baseline]
throughput = { dist = "pert", min = 1.6, mode = 2.0, max = 2.3 }
utilization = 0.35
price = 3.5
floor_instances = 2

[optimized]
throughput_gain = { dist = "pert", min = 1.15, mode = 1.5, max = 1.9 }

[implementation]
months = { dist = "pert", min = 2, mode = 3, max = 6 }
engineer_months = 5
engineer_cost = 22000
validation_cost = { dist = "uniform", low = 15000, high = 40000 }

[sources]
"optimized.throughput_gain" = "lab \\"benchmark\\", 2026"

[simulation]
draws = 600
seed = 7
tornado_draws = 200
sobol_n = 64
"""


def pytest_configure(config):
    # also to be listed in pyproject's markers; registered here so --strict-markers passes
    config.addinivalue_line("markers", "browser: needs Debian chromium (/usr/bin/chromium)")


@pytest.fixture
def small_spec(tmp_path: Path) -> Path:
    path = tmp_path / "study" / "small.toml"
    path.parent.mkdir()
    path.write_text(SMALL, encoding="utf-8")
    return path


def small_demo(folder: Path, name: str = "quantization.toml", *, draws: int = 1000) -> Path:
    """A built-in demo spec and its history copied into ``folder``, with fewer draws and paths."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(DEMO / "history.csv", folder / "history.csv")
    text = (DEMO / name).read_text(encoding="utf-8")
    text = text.replace("paths = 1000", "paths = 100").replace(
        "draws = 20000", f"draws = {draws}\ntornado_draws = 200\nsobol_n = 64"
    )
    assert f"draws = {draws}" in text and "paths = 100" in text
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path
