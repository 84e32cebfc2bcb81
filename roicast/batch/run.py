"""Run many studies as one batch: locally or on a Dask cluster, resumable, with a portfolio view.

:func:`run_batch` takes either spec files (one project each) or a template
spec and a CSV table (one project per row, each column overriding a spec
field by its dotted name, e.g. ``optimized.throughput_gain.mode``) and runs
every project's study in worker processes: a local process pool by default,
a ``dask.distributed.LocalCluster`` (``dask_local=N``) or an existing Dask
cluster (``scheduler="tcp://host:8786"``).  Results are identical in all three
and for any number of workers:

- project ``name``'s seed is :func:`derive_seed` ``(seed, "project", name)``;
- the GPU price shocks use one market seed for the whole batch,
  ``derive_seed(seed, "market")``, so draw *i* of every project sees the same
  price path and the portfolio NPV of draw *i* is a sum over one market;
- projects that serve the same traffic (same history file content, demand
  settings, horizon and start) share one forecast, seeded by
  ``derive_seed(seed, "forecast", key)``; each worker fits it once and
  caches it.

So a project's result depends on its own spec, the batch seed and the draws,
never on order, worker count or which other projects are in the batch.

Layout of ``out``::

    out/batch.json             counts, seeds, timings, portfolio NPV, selection under a budget
                               ("running" while the projects run; "finished", or "failed" /
                               "interrupted" with the error, at the end)
    out/portfolio.csv          one row per project, ranked by mean NPV
    out/portfolio.nc           npv / roi (project, draw), portfolio NPV per draw
    out/portfolio.html         ranking with costs, risk columns, selection and a figure (with ``report``)
    out/projects/<folder>/     summary.json, npv.npy, roi.npy, batch_record.json
                               (+ results.nc, report.html, report.md, figures/ with ``report``)

Each project folder is written atomically (a temporary folder moved into
place, the done-marker ``batch_record.json`` written last), so a batch killed
at any moment leaves finished projects whole and no half-written one;
``resume=True`` skips projects whose marker matches the spec hash, the
history file's content, the batch seed and the draws.  With a remote
scheduler, ``out`` and the history files must be reachable by the workers at
the same paths (a shared filesystem).

The stages live in their own modules: :mod:`~roicast.batch.plan` (projects,
seeds, resume keys), :mod:`~roicast.batch.execute` (serial, process pool,
Dask), :mod:`~roicast.batch.worker` (one project), :mod:`~roicast.batch.budget`
(selection under a budget) and :mod:`~roicast.batch.portfolio` (outputs).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roicast import __version__
from roicast.batch.budget import select_projects
from roicast.batch.execute import executor_for
from roicast.batch.options import BatchOptions, OptionError
from roicast.batch.plan import (
    PlannedProject,
    derive_seed,
    market_seed,
    plan_projects,
    plan_tasks,
    project_seed,
    projects_from_table,
    safe_name,
)
from roicast.batch.portfolio import (
    rank_records,
    write_portfolio_csv,
    write_portfolio_html,
    write_portfolio_nc,
)
from roicast.batch.record import refresh_extras
from roicast.batch.worker import ProjectTask
from roicast.report._io import write_json

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

#: ``progress(counts, record)``: called once after planning (``record`` None)
#: and once per finished project; ``counts`` has total, done, failed, skipped, remaining.
BatchProgress = Callable[[dict[str, int], dict[str, Any] | None], None]


@dataclass
class BatchResult:
    """What a batch did.

    Attributes
    ----------
    out : Path
        The batch's output folder.
    records : list of dict
        One per project, ranked as in ``portfolio.csv`` (finished by mean NPV,
        then failed); keys are the CSV columns plus ``inputs_median`` and
        ``prob_roi_near_total_loss``.
    counts : dict
        ``total``, ``done`` (run now), ``skipped`` (finished earlier, reused by
        ``resume``), ``failed``.
    portfolio : dict
        Portfolio NPV per draw summarised: ``go`` and ``all`` with ``projects``,
        ``mean``, ``p10``, ``p50``, ``p90``, ``prob_negative``; ``draws``.
    seed, market_seed : int
        The batch seed and the seed of the shared price shocks.
    timings : dict
        Seconds: ``plan``, ``run``, ``portfolio``, ``total``.
    selection : dict or None
        The choice under a budget (:func:`roicast.batch.budget.select_projects`),
        None without a budget.
    """

    out: Path
    records: list[dict[str, Any]]
    counts: dict[str, int]
    portfolio: dict[str, Any]
    seed: int
    market_seed: int
    timings: dict[str, float] = field(default_factory=dict)
    selection: dict[str, Any] | None = None

    @property
    def failed(self) -> list[dict[str, Any]]:
        """Records of the projects that failed."""
        return [r for r in self.records if r["status"] == "failed"]

    @property
    def ok(self) -> bool:
        """True when no project failed."""
        return self.counts["failed"] == 0


class _Tally:
    """Counts and records as projects settle; tells ``progress``."""

    def __init__(self, total: int, settled: list[dict[str, Any]], progress: BatchProgress | None):
        self.records = list(settled)
        self.counts = {"total": total, "done": 0, "failed": 0, "skipped": 0}
        for r in settled:
            self.counts["skipped" if r["status"] == "skipped" else "failed"] += 1
        self.progress = progress
        self._tell(None)

    def _tell(self, rec: dict[str, Any] | None) -> None:
        if self.progress:
            c = self.counts
            remaining = c["total"] - c["done"] - c["failed"] - c["skipped"]
            self.progress({**c, "remaining": remaining}, rec)

    def add(self, rec: dict[str, Any]) -> None:
        """One more project finished (``status`` "done") or failed."""
        self.counts["done" if rec["status"] == "done" else "failed"] += 1
        self.records.append(rec)
        self._tell(rec)


def prepare_out(out: Path) -> Path:
    """Make ``out/projects``; clear what a killed run left there; return it.

    Refuses a file, and a non-empty folder without ``batch.json`` (not a batch's).
    A project folder set aside mid-swap (``.name.old-*``) whose replacement
    never arrived is restored; temporary folders and files are removed.
    """
    if out.exists() and not out.is_dir():
        raise OptionError(f"{{out}}: {str(out)!r} is a file; give a folder")
    if out.exists() and any(out.iterdir()) and not (out / "batch.json").exists():
        raise OptionError(
            f"{{out}}: {str(out)!r} exists and is not a roicast batch folder (no batch.json); "
            "choose another folder or empty it"
        )
    projects = out / "projects"
    projects.mkdir(parents=True, exist_ok=True)
    for p in projects.iterdir():
        m = re.fullmatch(r"\.(.+)\.(tmp|old)-.*", p.name)
        if not m:
            continue
        target = projects / m.group(1)
        if m.group(2) == "old" and not target.exists() and (p / "summary.json").exists():
            os.replace(p, target)  # killed between the two renames: restore the previous result
        else:
            shutil.rmtree(p, ignore_errors=True)
    for p in out.glob(".portfolio.*.tmp-*"):
        p.unlink(missing_ok=True)
    return projects


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def _head(opts: BatchOptions, started: str, counts: dict[str, int]) -> dict[str, Any]:
    """The first part of ``batch.json``: how the batch runs."""
    return {
        "status": "running",
        "started": started,
        "seed": opts.seed,
        "market_seed": market_seed(opts.seed),
        "draws": opts.draws,
        "backend": opts.backend,
        "workers": opts.n_workers,
        "scheduler": opts.scheduler,
        "resume": opts.resume,
        "report": opts.report,
        "sensitivity": opts.sensitivity,
        "counts": counts,
        "roicast_version": __version__,
    }


def _execute(
    opts: BatchOptions, tasks: Sequence[ProjectTask], tally: _Tally, out: Path, head: dict
) -> dict[str, Any]:
    """Start the executor, mark the batch running, run the tasks; return the executor's info.

    ``batch.json`` says "running" only once the workers are up (or a scheduler
    answered): a bad ``scheduler`` stops the batch before that.
    """
    with executor_for(opts, len(tasks)) if tasks else nullcontext() as ex:
        write_json(head, out / "batch.json")
        if ex is not None:
            for rec in ex.map_unordered(tasks):
                tally.add(rec)
        return ex.info if ex is not None else {}


def _stage_totals(records: Sequence[dict[str, Any]]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for r in records:
        for k, v in (r.get("timings") or {}).items():
            totals[k] = totals.get(k, 0.0) + v
    return totals


def _mark_selected(ranked: list[dict[str, Any]], selection: dict[str, Any] | None) -> None:
    if selection is not None:
        chosen = set(selection["projects"])
        for r in ranked:
            r["selected"] = r["name"] in chosen


def _write_portfolio(
    out: Path, opts: BatchOptions, head: dict, tally: _Tally, info: dict
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any] | None]:
    """Rank, choose under the budget, write portfolio.csv/.nc/.html; return batch.json's body."""
    records = [refresh_extras(r, out) if r["status"] == "skipped" else r for r in tally.records]
    ranked = rank_records(records)
    selection = select_projects(ranked, opts.budgets, out) if opts.budgets else None
    _mark_selected(ranked, selection)
    write_portfolio_csv(ranked, out / "portfolio.csv")
    from roicast.excel.results import write_portfolio_xlsx

    currency = next((r["currency"] for r in ranked if r.get("currency")), "USD")
    write_portfolio_xlsx(ranked, out / "portfolio.xlsx", currency=currency)
    pstats, go_sum = write_portfolio_nc(
        ranked,
        out,
        out / "portfolio.nc",
        attrs={"batch_seed": opts.seed, "market_seed": head["market_seed"]},
    )
    doc = {**head, "status": "finished", "finished": _now(), "counts": tally.counts}
    doc["portfolio"] = pstats
    if selection is not None:
        doc["selection"] = selection
    doc["failed"] = [
        {"name": r["name"], "error": r["error"]} for r in ranked if r["status"] == "failed"
    ]
    doc.update(info)
    if opts.report:
        for r in ranked:
            r["has_report"] = (out / r["folder"] / "report.html").is_file()
        write_portfolio_html(ranked, go_sum, out / "portfolio.html", batch=doc)
    return doc, ranked, selection


def _finish(
    doc: dict[str, Any], tally: _Tally, t_start: float, t_run0: float, t_port0: float
) -> dict[str, float]:
    """Add timings and throughput to ``batch.json``'s body; return the timings."""
    now = time.perf_counter()
    t_run = t_port0 - t_run0
    timings = {
        "plan": t_run0 - t_start,
        "run": t_run,
        "portfolio": now - t_port0,
        "total": now - t_start,
    }
    done = tally.counts["done"]
    doc["timings"] = timings
    doc["projects_per_second"] = done / t_run if t_run > 0 and done else None
    doc["project_stage_seconds"] = _stage_totals(tally.records)
    return timings


def _write_stopped(
    out: Path, head: dict[str, Any], counts: dict[str, int], e: BaseException
) -> None:
    """batch.json for a batch that stopped early: a final status and the reason, on one line."""
    status = "failed" if isinstance(e, Exception) else "interrupted"
    reason = str(e) if isinstance(e, OptionError) else f"{type(e).__name__}: {e}"
    one_line = "; ".join(x.strip() for x in reason.splitlines() if x.strip())
    doc = {**head, "status": status, "finished": _now(), "counts": counts, "error": one_line}
    write_json(doc, out / "batch.json")


def run_batch(
    specs: Sequence[Path | str] | None = None,
    *,
    out: Path | str,
    template: Path | str | None = None,
    table: Path | str | None = None,
    seed: int = 0,
    draws: int | None = None,
    workers: int | None = None,
    dask_local: int | None = None,
    scheduler: str | None = None,
    resume: bool = False,
    report: bool = True,
    sensitivity: bool = True,
    budget_engineer_months: float | None = None,
    budget_money: float | None = None,
    progress: BatchProgress | None = None,
) -> BatchResult:
    """Run a study for every project and write the portfolio.

    Parameters
    ----------
    specs : sequence of path, optional
        Spec files, one project each (named by ``[project] name``, which must
        be unique within the batch; a later duplicate fails).
    out : path
        Output folder (see the module docstring for its layout).  It may be
        new, empty, or a previous batch's folder.
    template, table : path, optional
        Instead of ``specs``: a template spec and a CSV with one project per
        row (:func:`projects_from_table`).
    seed : int
        The batch seed; every project's seeds derive from it (module docstring).
        A spec's own ``[simulation] seed`` is not used.
    draws : int, optional
        Monte Carlo draws of every project (default: each spec's ``[simulation] draws``).
    workers : int, optional
        Local worker processes (default: the number of cores).  ``0`` runs the
        projects one after the other in this process (for debugging).  With
        workers ≥ cores, numba runs one thread per worker.
    dask_local : int, optional
        Start a ``dask.distributed.LocalCluster`` with this many single-thread
        worker processes and run on it.
    scheduler : str, optional
        Address of a running Dask scheduler (``tcp://host:8786``).
    resume : bool
        Skip projects whose folder holds a finished result with the same spec
        hash, history content, batch seed, draws and ``sensitivity`` (and a report,
        if ``report``).
    report : bool
        Write each project's report.md/html, figures and results.nc, and
        portfolio.html.  Without it a project folder holds summary.json and
        the per-draw NPV/ROI only (results.nc costs ~0.25 s a project).
    sensitivity : bool
        Each study's full sensitivity analysis (rankings, Sobol, scenarios,
        break-even, EVPI/EVPPI), as ``roicast run`` does; without it only the
        tornado and the Monte Carlo standard errors (much faster: a screening
        run over many projects).
    budget_engineer_months, budget_money : float, optional
        Choose the projects that maximise expected portfolio NPV with total
        mean engineer-months (``implementation.engineer_months``) and / or
        total mean investment within these budgets
        (:func:`roicast.batch.budget.select_projects`); the choice goes to
        ``batch.json`` (``selection``), ``portfolio.csv`` (``selected``) and
        ``portfolio.html``.
    progress : callable, optional
        ``progress(counts, record)`` (see :data:`BatchProgress`).

    Returns
    -------
    BatchResult

    Raises
    ------
    RoicastError
        Bad arguments (an :class:`~roicast.batch.options.OptionError` naming
        the option), an unusable ``out`` folder, an unreadable template or
        table, an unreachable scheduler.  A project's own failure never raises:
        it is recorded (``status`` "failed", ``error``) and the batch goes on.
        Once ``out`` is prepared, a batch that stops early leaves ``batch.json``
        with status "failed" (or "interrupted") and the error, never "running".
    """
    t_start = time.perf_counter()
    started = _now()
    opts = BatchOptions.checked(
        out=Path(out),
        seed=seed,
        draws=draws,
        workers=workers,
        dask_local=dask_local,
        scheduler=scheduler,
        resume=resume,
        report=report,
        sensitivity=sensitivity,
        budget_engineer_months=budget_engineer_months,
        budget_money=budget_money,
    )
    out = opts.out.resolve()
    planned = plan_projects(specs, template, table)
    plan = plan_tasks(planned, out, prepare_out(out), opts)
    tally = _Tally(len(planned), plan.records, progress)
    head = _head(opts, started, tally.counts)
    t0 = time.perf_counter()
    try:
        info = _execute(opts, plan.tasks, tally, out, head)
        t_port0 = time.perf_counter()
        doc, ranked, selection = _write_portfolio(out, opts, head, tally, info)
        timings = _finish(doc, tally, t_start, t0, t_port0)
        write_json(doc, out / "batch.json")
    except BaseException as e:
        _write_stopped(out, head, tally.counts, e)
        raise
    return BatchResult(
        out=out,
        records=ranked,
        counts=dict(tally.counts),
        portfolio=doc["portfolio"],
        seed=opts.seed,
        market_seed=head["market_seed"],
        timings=timings,
        selection=selection,
    )
