"""The worker side of :mod:`roicast.batch`: run one project, write its folder.

Runs in a worker process (a local process pool or a Dask worker), or in the
calling process for ``workers=0``.  A task carries everything the project
needs (the validated spec, its seeds and its output folder); the worker runs
the study, writes the project's folder atomically and returns a small record
(a JSON-safe dict of headline numbers), never the per-draw arrays, so the
parent's memory stays flat however many projects there are.

Each worker process keeps a small cache of demand forecasts keyed by the
content of the history file and the demand settings, so projects that serve
the same traffic fit the forecast once per process.  The forecast's seed
derives from the batch seed and that key (see :func:`roicast.batch.derive_seed`),
so the cache changes speed, never results.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roicast.errors import RoicastError
from roicast.report._io import finite_or_none

__all__ = ["MARKER", "ProjectTask", "init_worker", "run_task"]

#: File in a project folder that marks it finished by a batch (written last).
MARKER = "batch_record.json"
#: Per-draw NPV / ROI of the recommended option, float64, kept for the portfolio.
NPV_FILE = "npv.npy"
ROI_FILE = "roi.npy"

#: Forecasts kept per worker process.
_CACHE_SIZE = 16
_FORECASTS: OrderedDict[str, Any] = OrderedDict()
_THREADS: int | None = None


@dataclass(frozen=True)
class ProjectTask:
    """One project of a batch, as sent to a worker (picklable)."""

    name: str
    folder: str  # absolute path of the project's output folder
    rel_folder: str  # the same, relative to the batch's output folder
    source: str
    spec: Any  # roicast.spec.Spec
    seed: int
    price_seed: int
    forecast_key: str
    forecast_seed: int
    draws: int
    report: bool
    sensitivity: bool
    key: str  # resume key: spec hash, history content, batch seed, draws
    batch_seed: int
    threads: int | None = None  # numba threads in the worker (None: leave as is)


def init_worker(threads: int | None) -> None:
    """Process initializer: limit numba's threads (one per worker when workers ≥ cores)."""
    global _THREADS
    if threads is None or threads == _THREADS:
        return
    import numba

    numba.set_num_threads(max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS)))
    _THREADS = threads


def _forecast(task: ProjectTask):
    from roicast.study import forecast_for

    key = f"{task.forecast_key}:{task.forecast_seed}"
    fc = _FORECASTS.get(key)
    if fc is not None:
        _FORECASTS.move_to_end(key)
        return fc
    fc = forecast_for(task.spec, seed=task.forecast_seed)
    _FORECASTS[key] = fc
    while len(_FORECASTS) > _CACHE_SIZE:
        _FORECASTS.popitem(last=False)
    return fc


def failed_record(task_like: dict[str, Any], error: str, seconds: float = 0.0) -> dict[str, Any]:
    """The record of a project that failed (the error on one line; no folder)."""
    one_line = "; ".join(x.strip() for x in str(error).splitlines() if x.strip())
    return {**task_like, "folder": "", "status": "failed", "error": one_line, "seconds": seconds}


def base_record(task: ProjectTask) -> dict[str, Any]:
    """The identity columns of a project's portfolio row."""
    return {
        "name": task.name,
        "source": task.source,
        "folder": task.rel_folder,
        "spec_hash": task.spec.spec_hash,
        "seed": task.seed,
        "draws": task.draws,
    }


def record_from(doc: dict[str, Any], npv, base: dict[str, Any]) -> dict[str, Any]:
    """The portfolio record of a finished project from its summary and per-draw NPV.

    EVPI of the go/no-go decision: ``E[max(NPV, 0)] − max(E[NPV], 0)``.
    """
    import numpy as np

    from roicast.sensitivity import evpi as _evpi

    npv = np.asarray(npv, dtype=float)
    evpi = float(_evpi(npv))
    n, r, pb = doc["npv"], doc["roi"], doc["payback_months"]
    return {
        **base,
        "status": "done",
        "error": "",
        "option": doc["option"],
        "npv_mean": finite_or_none(n["mean"]),
        "npv_p10": finite_or_none(n["p10"]),
        "npv_p50": finite_or_none(n["p50"]),
        "npv_p90": finite_or_none(n["p90"]),
        "roi_mean": finite_or_none(r["mean"]),
        "roi_p10": finite_or_none(r["p10"]),
        "roi_p50": finite_or_none(r["p50"]),
        "roi_p90": finite_or_none(r["p90"]),
        "prob_npv_negative": finite_or_none(doc["prob_npv_negative"]),
        "payback_p50_months": finite_or_none(pb["p50"]),
        "payback_prob_within_horizon": finite_or_none(pb["prob_within_horizon"]),
        "evpi": max(evpi, 0.0),
        "verdict": doc["decision"]["verdict"],
        "currency": doc["currency"],
        "inputs_median": {
            k: finite_or_none(v.get("median")) for k, v in doc.get("inputs", {}).items()
        },
    }


def _run(task: ProjectTask) -> dict[str, Any]:
    import numpy as np

    from roicast.report import write_report
    from roicast.report._io import atomic_dir, write_json
    from roicast.report.summary import summary
    from roicast.study import run_study

    t0 = time.perf_counter()
    fc = _forecast(task)
    result = run_study(
        task.spec,
        draws=task.draws,
        seed=task.seed,
        price_seed=task.price_seed,
        forecast=fc,
        sensitivity=task.sensitivity,
        monthly=task.report,
    )
    with atomic_dir(task.folder) as tmp:
        if task.report:
            doc = write_report(result, tmp, report=True)  # replaces the (empty) tmp whole
        else:
            doc = summary(result)
            write_json(doc, tmp / "summary.json")
        metrics = result.options[doc["option"]].metrics
        npv = np.ascontiguousarray(metrics["npv"].values, dtype=np.float64)
        np.save(tmp / NPV_FILE, npv)
        np.save(tmp / ROI_FILE, np.ascontiguousarray(metrics["roi"].values, dtype=np.float64))
        rec = record_from(doc, npv, base_record(task))
        rec["seconds"] = time.perf_counter() - t0
        rec["timings"] = {k: float(v) for k, v in result.timings.items()}
        marker = {
            "key": task.key,
            "batch_seed": task.batch_seed,
            "price_seed": task.price_seed,
            "forecast_seed": task.forecast_seed,
            "report": task.report,
            "sensitivity": task.sensitivity,
            "record": {k: v for k, v in rec.items() if k != "timings"},
        }
        write_json(marker, tmp / MARKER)  # last: a folder with the marker is complete
    return rec


def run_task(task: ProjectTask) -> dict[str, Any]:
    """Run one project; return its record (``status`` "done" or "failed", never raises
    for a project's own failure).

    A :class:`~roicast.errors.RoicastError` is recorded by its message; any other
    exception by its type and message.
    """
    init_worker(task.threads)
    t0 = time.perf_counter()
    try:
        return _run(task)
    except RoicastError as e:
        error = str(e)
    except Exception as e:  # a project's failure must not stop the batch
        error = f"{type(e).__name__}: {e}"
    return failed_record(base_record(task), error, time.perf_counter() - t0)


def read_marker(folder: Path) -> dict[str, Any] | None:
    """The done-marker of a finished project folder, or None if absent or unreadable."""
    import json

    p = Path(folder) / MARKER
    if not (p.is_file() and (Path(folder) / "summary.json").is_file()):
        return None
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
