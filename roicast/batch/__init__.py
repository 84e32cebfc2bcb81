"""roicast.batch: the same study over many projects, locally or on a Dask cluster.

* :func:`run_batch`: plan, execute (serial, process pool or Dask), write the portfolio;
* :func:`projects_from_table`: one project per row of a CSV over a template spec;
* :func:`derive_seed`, :func:`project_seed`, :func:`market_seed`: how seeds are derived;
* :class:`BatchResult`: what a batch did;
* :class:`OptionError`: a bad option, named as :func:`run_batch` names it.

Modules: :mod:`~roicast.batch.plan` (projects, seeds, resume keys),
:mod:`~roicast.batch.execute` (serial / process pool / Dask behind one
interface), :mod:`~roicast.batch.worker` (one project, its folder),
:mod:`~roicast.batch.record` (a project's row from its summary.json),
:mod:`~roicast.batch.budget` (selection under a budget),
:mod:`~roicast.batch.portfolio` (portfolio.csv / .nc / .html) and
:mod:`~roicast.batch.run` (the orchestration; the layout of a batch's folder).
"""

from roicast.batch.options import OptionError
from roicast.batch.plan import (
    PlannedProject,
    derive_seed,
    market_seed,
    project_seed,
    projects_from_table,
    safe_name,
)
from roicast.batch.run import BatchResult, run_batch

__all__ = [
    "BatchResult",
    "OptionError",
    "PlannedProject",
    "derive_seed",
    "market_seed",
    "project_seed",
    "projects_from_table",
    "run_batch",
    "safe_name",
]
