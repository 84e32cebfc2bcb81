"""The worker side of :mod:`roicast.batch`: run one project, write its folder.

Runs in a worker process (a local process pool or a Dask worker), or in the
calling process for ``workers=0``.  A task carries everything the project
needs (the validated spec, its seeds and its output folder); the worker runs
the study, writes the project's folder atomically and returns a small record
(a JSON-safe dict of headline numbers), never the per-draw arrays, so the
parent's memory stays flat however many projects there are.

Projects that serve the same traffic share a demand forecast, keyed by the
content of the history file and the demand settings.  A :class:`ForecastCache`
passed to :func:`run_task` fits it once: the in-process executor holds one, a
process-pool worker gets one from its initializer (:func:`init_process`), a
Dask worker from a worker plugin (:mod:`roicast.batch._dask`).  The forecast's seed derives
from the batch seed and that key (see :func:`roicast.batch.derive_seed`), so a
cache changes speed, never results.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from roicast.errors import RoicastError

__all__ = [
    "MARKER",
    "NPV_FILE",
    "ROI_FILE",
    "ForecastCache",
    "ProjectTask",
    "init_process",
    "run_in_process",
    "run_task",
]

#: File in a project folder that marks it finished by a batch (written last).
MARKER = "batch_record.json"
#: Per-draw NPV / ROI of the recommended option, float64, kept for the portfolio.
NPV_FILE = "npv.npy"
ROI_FILE = "roi.npy"


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


class ForecastCache:
    """The last ``size`` demand forecasts fitted, by forecast key and seed (thread-safe LRU)."""

    def __init__(self, size: int = 16) -> None:
        self.size = size
        self._items: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get(self, task: ProjectTask):
        """The forecast of ``task``'s spec, fitted now or earlier with the same key and seed."""
        from roicast.study import forecast_for

        key = f"{task.forecast_key}:{task.forecast_seed}"
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
        fc = forecast_for(task.spec, seed=task.forecast_seed)
        with self._lock:
            self._items[key] = fc
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return fc


def set_threads(threads: int | None) -> None:
    """Limit numba to ``threads`` threads in this process (``None``: leave as is)."""
    if threads is None:
        return
    import numba

    n = max(1, min(int(threads), numba.config.NUMBA_NUM_THREADS))
    if numba.get_num_threads() != n:
        numba.set_num_threads(n)


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


def _run(task: ProjectTask, cache: ForecastCache | None) -> dict[str, Any]:
    import numpy as np

    from roicast.batch.record import record_from
    from roicast.report import write_report
    from roicast.report._io import atomic_dir, write_json
    from roicast.report.summary import summary
    from roicast.study import forecast_for, run_study

    t0, c0 = time.perf_counter(), time.process_time()
    if cache is not None:
        fc = cache.get(task)
    else:
        fc = forecast_for(task.spec, seed=task.forecast_seed)
    result = run_study(
        task.spec,
        draws=task.draws,
        seed=task.seed,
        price_seed=task.price_seed,
        forecast=fc,
        sensitivity=task.sensitivity,
        monthly=task.report,
    )
    t_study = time.perf_counter()
    with atomic_dir(task.folder) as tmp:
        if task.report:
            doc = write_report(result, tmp, report=True)  # replaces the (empty) tmp whole
        else:
            doc = summary(result)
            t_summary = time.perf_counter()
            write_json(doc, tmp / "summary.json")
        metrics = result.options[doc["option"]].metrics
        npv = np.ascontiguousarray(metrics["npv"].values, dtype=np.float64)
        roi = np.ascontiguousarray(metrics["roi"].values, dtype=np.float64)
        np.save(tmp / NPV_FILE, npv)
        np.save(tmp / ROI_FILE, roi)
        rec = record_from(doc, npv, roi, base_record(task))
        rec["seconds"] = time.perf_counter() - t0
        rec["timings"] = {k: float(v) for k, v in result.timings.items()}
        if not task.report:  # the worker's own stages (wall s) and the project's CPU s
            rec["timings"]["summary"] = t_summary - t_study
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
    t_end = time.perf_counter()
    rec["timings"]["write"] = t_end - (t_summary if not task.report else t_study)
    rec["timings"]["cpu"] = time.process_time() - c0
    return rec


def run_task(task: ProjectTask, cache: ForecastCache | None = None) -> dict[str, Any]:
    """Run one project; return its record (``status`` "done" or "failed").

    Never raises for a project's own failure: a
    :class:`~roicast.errors.RoicastError` is recorded by its message, any other
    exception by its type and message.

    Parameters
    ----------
    task : ProjectTask
    cache : ForecastCache, optional
        Forecasts fitted for earlier projects in this process (None: fit afresh).
    """
    set_threads(task.threads)
    t0 = time.perf_counter()
    try:
        return _run(task, cache)
    except RoicastError as e:
        error = str(e)
    except Exception as e:  # a project's failure must not stop the batch
        error = f"{type(e).__name__}: {e}"
    return failed_record(base_record(task), error, time.perf_counter() - t0)


# A pool worker process can carry state from one task to the next only in its own
# globals: the initializer puts this process's cache here, run_in_process reads it.
_process_cache: ForecastCache | None = None


def init_process(threads: int | None) -> None:
    """Process-pool initializer: limit numba's threads and give this process a :class:`ForecastCache`."""
    global _process_cache
    set_threads(threads)
    _process_cache = ForecastCache()


def run_in_process(task: ProjectTask) -> dict[str, Any]:
    """:func:`run_task` with the cache :func:`init_process` gave this pool worker."""
    return run_task(task, _process_cache)


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
