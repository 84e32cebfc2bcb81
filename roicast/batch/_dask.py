"""Dask pieces of :mod:`roicast.batch` (imported only when a batch runs on Dask).

:class:`ForecastCachePlugin` gives every Dask worker one
:class:`~roicast.batch.worker.ForecastCache`; :func:`run_in_dask_worker` runs a
project with the cache of the worker it landed on.
"""

from __future__ import annotations

from typing import Any

from distributed import get_worker
from distributed.diagnostics.plugin import WorkerPlugin

from roicast.batch.worker import ForecastCache, ProjectTask, run_task

__all__ = ["ForecastCachePlugin", "run_in_dask_worker"]

_ATTR = "roicast_forecasts"


class ForecastCachePlugin(WorkerPlugin):
    """A worker plugin: each Dask worker holds one :class:`~roicast.batch.worker.ForecastCache`."""

    name = "roicast-forecast-cache"

    def setup(self, worker) -> None:
        """Give ``worker`` its cache."""
        setattr(worker, _ATTR, ForecastCache())

    def teardown(self, worker) -> None:
        """Drop the cache."""
        setattr(worker, _ATTR, None)


def run_in_dask_worker(task: ProjectTask) -> dict[str, Any]:
    """:func:`~roicast.batch.worker.run_task` with the cache of the Dask worker running it."""
    try:
        cache = getattr(get_worker(), _ATTR, None)
    except ValueError:  # not on a Dask worker (a plugin-less client.submit in a test)
        cache = None
    return run_task(task, cache)
