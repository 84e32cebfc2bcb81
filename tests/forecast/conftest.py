"""Shared fixtures for the forecast stage tests."""

from __future__ import annotations

from pathlib import Path

import pytest

SERVEGEN = Path(__file__).resolve().parents[1] / "data" / "servegen_hourly_requests.csv"


@pytest.fixture(scope="session")
def servegen_path() -> Path:
    return SERVEGEN


@pytest.fixture
def write_csv(tmp_path):
    """Write CSV text to a file and return its path."""

    def _write(text: str, name: str = "history.csv") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path

    return _write
