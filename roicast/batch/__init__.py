"""roicast.batch: the same study over many projects, locally or on a Dask cluster.

* :func:`run_batch`: plan, execute (serial, process pool or Dask), write the portfolio;
* :func:`projects_from_table`: one project per row of a CSV over a template spec;
* :func:`derive_seed`, :func:`project_seed`, :func:`market_seed`: how seeds are derived;
* :class:`BatchResult`: what a batch did.

See :mod:`roicast.batch.run` for the layout of a batch's output folder.
"""

from roicast.batch.run import (
    BatchResult,
    PlannedProject,
    derive_seed,
    market_seed,
    project_seed,
    projects_from_table,
    run_batch,
    safe_name,
)

__all__ = [
    "BatchResult",
    "PlannedProject",
    "derive_seed",
    "market_seed",
    "project_seed",
    "projects_from_table",
    "run_batch",
    "safe_name",
]
