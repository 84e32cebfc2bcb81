"""Shared fixtures: small specs written to a temporary folder."""

from __future__ import annotations

import shutil
import tomllib
from importlib.resources import files
from pathlib import Path

import pytest

DEMO = Path(str(files("roicast.demo")))


def write_toml(path: Path, doc: dict) -> Path:
    """Write a spec dict as TOML with roicast's one TOML writer (quoted dotted keys and all)."""
    from roicast._toml import dumps

    path.write_text(dumps(doc), encoding="utf-8")
    return path


def small_demo_raw() -> dict:
    """The demo spec as a dict, made small: 200 paths, 1000 draws, no bootstrap refits."""
    raw = tomllib.loads((DEMO / "quantization.toml").read_text())
    raw["demand"]["paths"] = 200
    raw["demand"]["parameter_uncertainty"] = False
    raw["simulation"]["draws"] = 1000
    raw["simulation"]["tornado_draws"] = 200
    return raw


@pytest.fixture
def demo_raw() -> dict:
    """The demo spec as a dict, made small (:func:`small_demo_raw`); a fresh copy per test."""
    return small_demo_raw()


@pytest.fixture
def spec_dir(tmp_path) -> Path:
    shutil.copy(DEMO / "history.csv", tmp_path / "history.csv")
    return tmp_path


@pytest.fixture
def small_spec(spec_dir, demo_raw) -> Path:
    """A small copy of the demo spec and its history in a temporary folder."""
    return write_toml(spec_dir / "study.toml", demo_raw)


def no_history_raw(
    example: str = "quantization",
    *,
    draws: int = 1000,
    seed: int | None = None,
    start_volume: float = 2.5e7,
    growth: tuple[float, float] = (0.1, 0.5),
) -> dict:
    """A demo spec as a dict in no-history mode (no forecast fitting), small: fast to run."""
    raw = tomllib.loads((DEMO / f"{example}.toml").read_text())
    raw["project"]["start"] = "2026-01"
    raw["demand"] = {
        "start_volume": start_volume,
        "annual_growth": {"dist": "uniform", "low": growth[0], "high": growth[1]},
        "paths": 200,
    }
    raw["simulation"].update(draws=draws, tornado_draws=200, sobol_n=256)
    if seed is not None:
        raw["simulation"]["seed"] = seed
    return raw
