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
  ``derive_seed(seed, "forecast", key)``; each worker process fits it once and
  caches it.

So a project's result depends on its own spec, the batch seed and the draws,
never on order, worker count or which other projects are in the batch.

Layout of ``out``::

    out/batch.json             counts, seeds, timings, portfolio NPV (written first, "running")
    out/portfolio.csv          one row per project, ranked by mean NPV
    out/portfolio.nc           npv / roi (project, draw), portfolio NPV per draw
    out/portfolio.html         ranking with risk columns and a figure (with ``report``)
    out/projects/<folder>/     summary.json, npv.npy, roi.npy, batch_record.json
                               (+ results.nc, report.html, report.md, figures/ with ``report``)

Each project folder is written atomically (a temporary folder moved into
place, the done-marker ``batch_record.json`` written last), so a batch killed
at any moment leaves finished projects whole and no half-written one;
``resume=True`` skips projects whose marker matches the spec hash, the
history file's content, the batch seed and the draws.  With a remote
scheduler, ``out`` and the history files must be reachable by the workers at
the same paths (a shared filesystem).
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import hashlib
import json
import multiprocessing as mp
import os
import re
import shutil
import sys
import time
import tomllib
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from roicast import __version__
from roicast.batch.worker import (
    NPV_FILE,
    ProjectTask,
    base_record,
    failed_record,
    init_worker,
    read_marker,
    run_task,
)
from roicast.errors import RoicastError
from roicast.report._io import write_json
from roicast.spec import Spec, load_spec, spec_from_dict

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

_SEED_LIMIT = 2**63


# ---------------------------------------------------------------- seeds, names


def derive_seed(batch_seed: int, *parts: object) -> int:
    """A seed in ``[0, 2**63)`` derived from the batch seed and labels.

    ``sha256("roicast-batch", batch_seed, *parts)``, first 8 bytes, shifted to 63
    bits: stable across processes, machines and Python versions (unlike the
    salted built-in ``hash``).
    """
    text = "\x1f".join(["roicast-batch", str(int(batch_seed)), *map(str, parts)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") >> 1


def project_seed(batch_seed: int, name: str) -> int:
    """The study seed of project ``name`` in a batch seeded ``batch_seed``."""
    return derive_seed(batch_seed, "project", name)


def market_seed(batch_seed: int) -> int:
    """The seed of the GPU price shocks, shared by every project of the batch."""
    return derive_seed(batch_seed, "market")


def safe_name(name: str) -> str:
    """A folder name for project ``name``: ``[a-z0-9._-]``, at most ~70 characters.

    A name that is already safe is kept; otherwise the slug gets an 8-hex
    suffix from the full name, so distinct names never share a folder.
    """
    slug = re.sub(r"[^a-z0-9._-]+", "-", name.lower()).strip("-.")[:60] or "project"
    if slug == name:
        return slug
    return f"{slug}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"


# ---------------------------------------------------------------- planning


@dataclass
class PlannedProject:
    """One project of a batch before it runs: a validated spec, or the error that stopped it."""

    name: str
    source: str
    spec: Spec | None = None
    error: str | None = None


def _name_of_bad_spec(path: Path) -> str:
    try:
        name = tomllib.loads(path.read_text(encoding="utf-8"))["project"]["name"]
        return str(name) if isinstance(name, str) and name else path.stem
    except Exception:
        return path.stem


def _check_history(spec: Spec, source: str) -> None:
    hp = spec.history_path()
    if hp is not None and not hp.is_file():
        raise RoicastError(
            f"{source}: demand.history: file {str(hp)!r} not found "
            "(relative paths resolve against the spec's or template's folder)"
        )


def _projects_from_specs(paths: Sequence[Path | str]) -> list[PlannedProject]:
    out = []
    for p in map(Path, paths):
        try:
            spec = load_spec(p)
            out.append(PlannedProject(spec.project.name, str(p), spec))
        except RoicastError as e:
            out.append(PlannedProject(_name_of_bad_spec(p), str(p), error=str(e)))
    return out


def _settable_fields() -> dict[str, set[str]]:
    from roicast.spec import OPTION_SECTIONS, Option

    fields: dict[str, set[str]] = {}
    for sec, info in Spec.model_fields.items():
        ann = info.annotation
        if isinstance(ann, type) and hasattr(ann, "model_fields"):
            fields[sec] = set(ann.model_fields)
    for sec in OPTION_SECTIONS:
        fields[sec] = set(Option.model_fields[sec].annotation.model_fields)
    return fields


def _parse_cell(cell: str) -> Any:
    """A CSV cell as a TOML value (number, bool, quoted string, inline table, array), else text."""
    s = cell.strip()
    try:
        v = tomllib.loads(f"v = {s}")["v"]
    except tomllib.TOMLDecodeError:
        return s
    if isinstance(v, dt.date | dt.time):  # a bare 2026-01-01 stays text
        return s
    return v


def _set_dotted(doc: dict[str, Any], column: str, value: Any) -> None:
    parts = column.split(".")
    node = doc
    for i, key in enumerate(parts[:-1]):
        nxt = node.get(key)
        if nxt is None:
            nxt = node[key] = {}
        elif not isinstance(nxt, dict):
            prefix = ".".join(parts[: i + 1])
            raise RoicastError(
                f"column {column}: the template's {prefix} is {nxt!r}, not a table; "
                f"set the column {prefix} to a number or a distribution table instead"
            )
        node = nxt
    node[parts[-1]] = value


def projects_from_table(template: Path | str, table: Path | str) -> list[PlannedProject]:
    """One project per row of ``table`` (CSV), each the ``template`` spec with the row's fields set.

    The header names spec fields by their dotted path (``baseline.price``,
    ``optimized.throughput_gain.mode``, ``project.name``); a cell holds a TOML
    value (``1.5``, ``true``, ``"text"``, ``{ dist = "pert", min = 1, mode = 2, max = 3 }``)
    or plain text; an empty cell keeps the template's value.  Relative paths
    (``demand.history``) resolve against the template's folder.  Without a
    ``project.name`` column, row *i* is named ``"<template name> #i"``.

    Raises
    ------
    RoicastError
        The template or table cannot be read, or a column does not name a
        field of a spec table.  A bad value in one row does not raise: that
        project is returned with its ``error`` (naming the row, the column and
        the rule) and fails alone.
    """
    template, table = Path(template), Path(table)
    if not template.is_file():
        raise RoicastError(f"--template: {template}: file not found")
    if not table.is_file():
        raise RoicastError(f"--table: {table}: file not found")
    try:
        raw = tomllib.loads(template.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise RoicastError(f"--template: {template}: not valid TOML: {e}") from None
    try:
        with table.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except (UnicodeDecodeError, csv.Error) as e:
        raise RoicastError(f"--table: {table}: not a UTF-8 CSV file: {e}") from None
    if not rows:
        raise RoicastError(
            f"--table: {table} is empty; it needs a header row of dotted spec fields"
        )
    header = [c.strip() for c in rows[0]]
    fields = _settable_fields()
    for c in header:
        parts = c.split(".")
        if not c or any(not p for p in parts):
            raise RoicastError(f"--table: {table}: column {c!r}: give a dotted spec field")
        if parts[0] not in fields:
            raise RoicastError(
                f"--table: {table}: column {c}: {parts[0]!r} is not a spec table; "
                f"use one of {', '.join(sorted(fields))}"
            )
        if len(parts) < 2 or parts[1] not in fields[parts[0]]:
            raise RoicastError(
                f"--table: {table}: column {c}: [{parts[0]}] has no field "
                f"{parts[1] if len(parts) > 1 else ''!r}; its fields are {', '.join(sorted(fields[parts[0]]))}"
            )
    dup = sorted({c for c in header if header.count(c) > 1})
    if dup:
        raise RoicastError(f"--table: {table}: column {dup[0]} appears more than once")
    base_name = str(raw.get("project", {}).get("name", "roicast study"))
    out = []
    data = [r for r in rows[1:] if any(cell.strip() for cell in r)]
    for i, row in enumerate(data, 1):
        source = f"{table} row {i}"
        name = f"{base_name} #{i}"
        if "project.name" in header and len(row) > header.index("project.name"):
            name = str(_parse_cell(row[header.index("project.name")]) or name)
        try:
            if len(row) != len(header):
                raise RoicastError(f"{len(row)} cells for {len(header)} columns")
            doc = copy.deepcopy(raw)
            for col, cell in zip(header, row, strict=True):
                if cell.strip():
                    _set_dotted(doc, col, _parse_cell(cell))
            if "project.name" not in header or not row[header.index("project.name")].strip():
                doc.setdefault("project", {})["name"] = name
            name = str(doc["project"]["name"])
            spec = spec_from_dict(doc, base_dir=template.resolve().parent, source=source)
            _check_history(spec, source)
        except RoicastError as e:
            msg = str(e)
            msg = msg if msg.startswith(source) else f"{source}: {msg}"
            out.append(PlannedProject(name, source, error=msg.replace("\n", "; ")))
            continue
        out.append(PlannedProject(name, source, spec))
    return out


_HISTORY_SHA: dict[tuple[str, int, int], str] = {}


def _history_sha(spec: Spec) -> str:
    hp = spec.history_path()
    if hp is None:
        return ""
    st = hp.stat()
    k = (str(hp.resolve()), st.st_size, st.st_mtime_ns)
    if k not in _HISTORY_SHA:
        _HISTORY_SHA[k] = hashlib.sha256(hp.read_bytes()).hexdigest()
    return _HISTORY_SHA[k]


def forecast_key(spec: Spec, history_sha: str) -> str:
    """The key of a spec's demand forecast: history content, demand settings, horizon, start."""
    demand = spec.demand.model_dump(mode="json")
    demand["history"] = history_sha
    payload = {
        "demand": demand,
        "horizon": spec.project.horizon_months,
        "start": spec.project.start,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


# ---------------------------------------------------------------- result


@dataclass
class BatchResult:
    """What a batch did.

    Attributes
    ----------
    out : Path
        The batch's output folder.
    records : list of dict
        One per project, ranked as in ``portfolio.csv`` (finished by mean NPV,
        then failed); keys are the CSV columns plus ``inputs_median``.
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
    """

    out: Path
    records: list[dict[str, Any]]
    counts: dict[str, int]
    portfolio: dict[str, Any]
    seed: int
    market_seed: int
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def failed(self) -> list[dict[str, Any]]:
        """Records of the projects that failed."""
        return [r for r in self.records if r["status"] == "failed"]

    @property
    def ok(self) -> bool:
        """True when no project failed."""
        return self.counts["failed"] == 0


# ---------------------------------------------------------------- execution


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _error_text(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}".replace("\n", "; ")


def _run_serial(tasks: Iterable[ProjectTask], emit: Callable[[dict[str, Any]], None]) -> None:
    for t in tasks:
        emit(run_task(t))


@contextmanager
def _main_not_reimported() -> Iterator[None]:
    """Let spawned workers start without re-running the caller's ``__main__``.

    ``multiprocessing``'s spawn start method re-imports the parent's main
    module in every child, which fails for ``python -`` and for scripts
    without an ``if __name__ == "__main__"`` guard.  Workers only need
    roicast's own functions, so the main module's ``__spec__`` / ``__file__``
    are hidden while worker processes start.
    """
    main = sys.modules.get("__main__")
    saved = {k: getattr(main, k) for k in ("__spec__", "__file__") if hasattr(main, k)}
    try:
        if main is not None:
            main.__spec__ = None
            if "__file__" in saved:
                del main.__file__
        yield
    finally:
        for k, v in saved.items():
            setattr(main, k, v)


def _run_pool(
    tasks: Sequence[ProjectTask], emit: Callable[[dict[str, Any]], None], workers: int
) -> None:
    """A spawn-context process pool; at most ``2 × workers`` tasks in flight (flat memory).

    A worker process that dies (a crash, the OOM killer) breaks the pool: it is
    restarted and the projects that were in flight are retried once; a project
    in flight at two breaks is recorded as failed.
    """
    threads = max(1, _cores() // workers)
    ctx = mp.get_context("spawn")

    def new_pool() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=workers, mp_context=ctx, initializer=init_worker, initargs=(threads,)
        )

    pending = deque(replace(t, threads=threads) for t in tasks)
    inflight: dict[Any, ProjectTask] = {}
    breaks: Counter[str] = Counter()
    pool = new_pool()
    clean = False
    try:
        while pending or inflight:
            while pending and len(inflight) < 2 * workers:
                t = pending.popleft()
                inflight[pool.submit(run_task, t)] = t
            finished, _ = wait(inflight, return_when=FIRST_COMPLETED)
            broken = False
            for f in finished:
                t = inflight.pop(f)
                try:
                    emit(f.result())
                except BrokenProcessPool:
                    broken = True
                    breaks[t.name] += 1
                    if breaks[t.name] >= 2:
                        emit(
                            failed_record(
                                base_record(t),
                                "worker process died while running this project (twice); "
                                "out of memory?",
                            )
                        )
                    else:
                        pending.appendleft(t)
                except Exception as e:  # e.g. a task that cannot be pickled
                    emit(failed_record(base_record(t), _error_text(e)))
            if broken:
                for t in inflight.values():
                    breaks[t.name] += 1
                    pending.appendleft(t)
                inflight.clear()
                pool.shutdown(wait=False, cancel_futures=True)
                pool = new_pool()
        clean = True
    finally:
        pool.shutdown(wait=clean, cancel_futures=True)


def _run_dask(
    tasks: Sequence[ProjectTask],
    emit: Callable[[dict[str, Any]], None],
    *,
    dask_local: int | None,
    scheduler: str | None,
) -> dict[str, Any]:
    """Run on a ``LocalCluster(dask_local)`` started here or on the cluster at ``scheduler``.

    Numba runs one thread per task (Dask's parallelism is across tasks); at
    most ``2 × total worker threads`` (≥ 4) tasks are submitted at a time.
    """
    import logging

    from distributed import Client, LocalCluster, as_completed

    cluster = None
    try:
        if dask_local:
            cluster = LocalCluster(
                n_workers=dask_local,
                threads_per_worker=1,
                processes=True,
                dashboard_address=":0",  # any free port: 8787 may be taken
                silence_logs=logging.ERROR,
            )
            client = Client(cluster)
        else:
            client = Client(scheduler, timeout="15s")
    except (OSError, TimeoutError) as e:
        if cluster is not None:
            cluster.close()
        raise RoicastError(
            f"--scheduler: cannot reach the Dask scheduler {scheduler!r}: {e}"
        ) from None
    info: dict[str, Any] = {}
    try:
        nthreads = client.nthreads()
        info = {"dask_workers": len(nthreads), "dask_threads": sum(nthreads.values())}
        limit = max(4, 2 * info["dask_threads"])
        todo = iter(replace(t, threads=1) for t in tasks)
        by_key: dict[str, ProjectTask] = {}
        ac = as_completed()

        def submit() -> None:
            t = next(todo, None)
            if t is None:
                return
            key = f"roicast-project-{safe_name(t.name)}-{uuid.uuid4().hex[:8]}"
            by_key[key] = t
            ac.add(client.submit(run_task, t, key=key, pure=False))

        for _ in range(limit):
            submit()
        for fut in ac:
            t = by_key.pop(fut.key)
            try:
                rec = fut.result()
            except Exception as e:  # KilledWorker, a lost connection, …
                rec = failed_record(base_record(t), _error_text(e))
            fut.release()
            emit(rec)
            submit()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    return info


# ---------------------------------------------------------------- the batch


def _prepare_out(out: Path) -> Path:
    if out.exists() and not out.is_dir():
        raise RoicastError(f"--out: {str(out)!r} is a file; give a folder")
    if out.exists() and any(out.iterdir()) and not (out / "batch.json").exists():
        raise RoicastError(
            f"--out: {str(out)!r} exists and is not a roicast batch folder (no batch.json); "
            "choose another folder or empty it"
        )
    projects = out / "projects"
    projects.mkdir(parents=True, exist_ok=True)
    # leftovers of a killed run: temporary folders, and previous outputs set aside mid-swap
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
    progress : callable, optional
        ``progress(counts, record)`` (see :data:`BatchProgress`).

    Returns
    -------
    BatchResult

    Raises
    ------
    RoicastError
        Bad arguments, an unusable ``out`` folder, an unreadable template or
        table, an unreachable scheduler.  A project's own failure never raises:
        it is recorded (``status`` "failed", ``error``) and the batch goes on.
    """
    t_start = time.perf_counter()
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    if dask_local is not None and scheduler is not None:
        raise RoicastError(
            "--dask-local and --scheduler exclude each other: start a local cluster or use an existing one"
        )
    if workers is not None and (dask_local is not None or scheduler is not None):
        raise RoicastError("--workers sets local processes; with Dask the cluster's workers run")
    if workers is not None and workers < 0:
        raise RoicastError(f"--workers: {workers}; give 0 (in this process) or more")
    if dask_local is not None and dask_local < 1:
        raise RoicastError(f"--dask-local: {dask_local}; give at least 1 worker")
    if not 0 <= seed < _SEED_LIMIT:
        raise RoicastError(f"--seed: {seed} must be in 0 .. 2**63 - 1")
    if draws is not None and draws < 100:
        raise RoicastError(f"--draws: {draws} is too few; use at least 100")
    if specs and (template is not None or table is not None):
        raise RoicastError("give spec files, or --template with --table, not both")
    if not specs and template is None and table is None:
        raise RoicastError("nothing to run: give spec files, or --template and --table")
    if (template is None) != (table is None):
        raise RoicastError(
            "--template and --table go together: the table's rows override the template's fields"
        )

    out = Path(out).resolve()
    planned = (
        projects_from_table(template, table)  # type: ignore[arg-type]
        if template is not None
        else _projects_from_specs(specs or [])
    )
    if not planned:
        raise RoicastError("nothing to run: the table has no rows" if table else "no spec files")
    projects_dir = _prepare_out(out)
    mseed = market_seed(seed)

    records: list[dict[str, Any]] = []
    tasks: list[ProjectTask] = []
    counts = {"total": len(planned), "done": 0, "failed": 0, "skipped": 0}
    seen: dict[str, str] = {}
    for p in planned:
        folder = projects_dir / safe_name(p.name)
        base = {
            "name": p.name,
            "source": p.source,
            "folder": str(folder.relative_to(out)),
            "spec_hash": p.spec.spec_hash if p.spec else "",
            "seed": project_seed(seed, p.name),
            "draws": None,
        }
        if p.name in seen:
            records.append(
                failed_record(
                    base,
                    f"{p.source}: project.name {p.name!r} is already used by {seen[p.name]}; "
                    "names must be unique within a batch",
                )
            )
            continue
        seen[p.name] = p.source
        if p.spec is None:
            records.append(failed_record(base, p.error or "invalid spec"))
            continue
        spec = p.spec
        n = int(draws if draws is not None else spec.simulation.draws)
        base["draws"] = n
        try:
            hsha = _history_sha(spec)
        except OSError as e:
            records.append(failed_record(base, f"{p.source}: demand.history: {e}"))
            continue
        fkey = forecast_key(spec, hsha)
        key = hashlib.sha256(
            json.dumps([spec.spec_hash, hsha, seed, n, sensitivity]).encode()
        ).hexdigest()[:16]
        if resume:
            marker = read_marker(folder)
            if (
                marker is not None
                and marker.get("key") == key
                and (folder / NPV_FILE).is_file()
                and (not report or (folder / "report.html").is_file())
            ):
                records.append({**marker["record"], "status": "skipped", "seconds": 0.0})
                continue
        tasks.append(
            ProjectTask(
                name=p.name,
                folder=str(folder),
                rel_folder=base["folder"],
                source=p.source,
                spec=spec,
                seed=base["seed"],
                price_seed=mseed,
                forecast_key=fkey,
                forecast_seed=derive_seed(seed, "forecast", fkey),
                draws=n,
                report=report,
                sensitivity=sensitivity,
                key=key,
                batch_seed=seed,
            )
        )
    for r in records:
        counts["skipped" if r["status"] == "skipped" else "failed"] += 1

    def remaining() -> int:
        return counts["total"] - counts["done"] - counts["failed"] - counts["skipped"]

    if progress:
        progress({**counts, "remaining": remaining()}, None)

    if dask_local is not None:
        backend, n_workers = "dask-local", dask_local
    elif scheduler is not None:
        backend, n_workers = "dask", None
    else:
        n_workers = _cores() if workers is None else workers
        backend = "processes" if n_workers > 0 else "in-process"
    head = {
        "status": "running",
        "started": started,
        "seed": seed,
        "market_seed": mseed,
        "draws": draws,
        "backend": backend,
        "workers": n_workers,
        "scheduler": scheduler,
        "resume": resume,
        "report": report,
        "sensitivity": sensitivity,
        "counts": counts,
        "roicast_version": __version__,
    }
    write_json(head, out / "batch.json")
    t_plan = time.perf_counter() - t_start

    def emit(rec: dict[str, Any]) -> None:
        counts["done" if rec["status"] == "done" else "failed"] += 1
        records.append(rec)
        if progress:
            progress({**counts, "remaining": remaining()}, rec)

    t0 = time.perf_counter()
    info: dict[str, Any] = {}
    if tasks:
        if backend.startswith("dask"):
            with _main_not_reimported():  # the local cluster's nannies spawn (and respawn) workers
                info = _run_dask(tasks, emit, dask_local=dask_local, scheduler=scheduler)
        elif n_workers == 0:
            _run_serial(tasks, emit)
        else:
            with _main_not_reimported():  # the pool spawns its processes on submit
                _run_pool(tasks, emit, min(n_workers, len(tasks)))
    t_run = time.perf_counter() - t0

    from roicast.batch.portfolio import (
        rank_records,
        write_portfolio_csv,
        write_portfolio_html,
        write_portfolio_nc,
    )

    t0 = time.perf_counter()
    ranked = rank_records(records)
    write_portfolio_csv(ranked, out / "portfolio.csv")
    pstats, go_sum = write_portfolio_nc(
        ranked,
        out,
        out / "portfolio.nc",
        attrs={"batch_seed": seed, "market_seed": mseed},
    )
    stage_totals: dict[str, float] = {}
    for r in records:
        for k, v in (r.get("timings") or {}).items():
            stage_totals[k] = stage_totals.get(k, 0.0) + v
    doc = {
        **head,
        "status": "finished",
        "finished": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "counts": counts,
        "portfolio": pstats,
        "failed": [
            {"name": r["name"], "error": r["error"]} for r in ranked if r["status"] == "failed"
        ],
        **info,
    }
    if report:
        for r in ranked:
            r["has_report"] = (out / r["folder"] / "report.html").is_file()
        write_portfolio_html(ranked, go_sum, out / "portfolio.html", batch=doc)
    t_port = time.perf_counter() - t0
    timings = {
        "plan": t_plan,
        "run": t_run,
        "portfolio": t_port,
        "total": time.perf_counter() - t_start,
    }
    doc["timings"] = timings
    doc["projects_per_second"] = counts["done"] / t_run if t_run > 0 and counts["done"] else None
    doc["project_stage_seconds"] = stage_totals
    write_json(doc, out / "batch.json")
    return BatchResult(
        out=out,
        records=ranked,
        counts=dict(counts),
        portfolio=pstats,
        seed=seed,
        market_seed=mseed,
        timings=timings,
    )
