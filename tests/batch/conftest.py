"""Fixtures of the batch tests: small spec files, a template + table, a Dask cluster."""

from __future__ import annotations

import copy
import csv
import json
import logging
import warnings
from pathlib import Path

import pytest

from tests.conftest import write_toml

#: Gains of the default projects (distinct, so their NPVs differ).
GAINS = {"alpha": 1.3, "beta": 1.6, "gamma/δ": 1.9}


def small(raw: dict, name: str, gain: float) -> dict:
    """The demo spec made tiny: 300 draws, 100 tornado draws, no Sobol."""
    doc = copy.deepcopy(raw)
    doc["project"]["name"] = name
    doc["optimized"]["throughput_gain"]["mode"] = gain
    doc["simulation"]["draws"] = 300
    doc["simulation"]["tornado_draws"] = 100
    doc["simulation"]["sobol"] = False
    return doc


@pytest.fixture
def specs(spec_dir, demo_raw) -> list[Path]:
    """Three small spec files sharing one history (one name needs a slug)."""
    return [
        write_toml(spec_dir / f"p{i}.toml", small(demo_raw, name, g))
        for i, (name, g) in enumerate(GAINS.items())
    ]


def npv_roi(out: Path) -> dict[str, tuple]:
    """Per project: the NPV and ROI entries of its summary.json."""
    res = {}
    for marker in sorted((out / "projects").glob("*/batch_record.json")):
        doc = json.loads((marker.parent / "summary.json").read_text())
        res[doc["project"]] = (doc["npv"], doc["roi"], doc["prob_npv_negative"])
    return res


def read_csv(path: Path) -> list[dict[str, str]]:
    """The rows of a CSV file as dicts."""
    return list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))


@pytest.fixture(scope="module")
def dask_scheduler():
    """A real 2-worker, 1-thread, process-based LocalCluster; yields its address."""
    distributed = pytest.importorskip("distributed")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port: 8787 may be taken
            silence_logs=logging.ERROR,
        )
    try:
        yield cluster.scheduler_address
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cluster.close()
