"""Planning a batch: which projects, their seeds, folders and resume keys.

* projects come from spec files (:func:`projects_from_specs`) or from a
  template spec and a CSV table (:func:`projects_from_table`: each column sets
  a spec field by its dotted name, each cell is a TOML value);
* seeds derive from the batch seed and labels (:func:`derive_seed`):
  project ``name`` gets :func:`project_seed`, the shared GPU price shocks
  :func:`market_seed`, a demand forecast ``derive_seed(seed, "forecast", key)``;
* :func:`plan_tasks` turns the projects into worker tasks, refusing duplicate
  names and skipping (with ``resume``) projects already finished with the same
  :func:`resume_key`.

Nothing here runs a study; everything is deterministic in its inputs.
"""

from __future__ import annotations

import copy
import csv
import datetime as dt
import hashlib
import json
import re
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from roicast.batch.options import BatchOptions, OptionError
from roicast.batch.worker import NPV_FILE, ProjectTask, failed_record, read_marker
from roicast.errors import RoicastError
from roicast.excel import load_any_spec
from roicast.spec import Spec, spec_from_dict

__all__ = [
    "Plan",
    "PlannedProject",
    "derive_seed",
    "forecast_key",
    "market_seed",
    "plan_projects",
    "plan_tasks",
    "project_seed",
    "projects_from_specs",
    "projects_from_table",
    "resume_key",
    "safe_name",
]


# ---------------------------------------------------------------- seeds, names


def derive_seed(batch_seed: int, *parts: object) -> int:
    """A seed in ``[0, 2**63)`` derived from the batch seed and labels.

    .. math:: s = \\lfloor \\mathrm{sha256}(\\texttt{"roicast-batch"}, b, p_1, \\dots)_{0..7} / 2 \\rfloor

    the first 8 bytes of the SHA-256 of the labels joined by ``\\x1f``, read
    big-endian and shifted to 63 bits: stable across processes, machines and
    Python versions (unlike the salted built-in ``hash``).
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


# ---------------------------------------------------------------- projects


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


def projects_from_specs(paths: Sequence[Path | str]) -> list[PlannedProject]:
    """One project per spec file; a file that does not load is a project with its error.

    A path that is not a file at all is refused up front (nothing runs).
    """
    for p in map(Path, paths):
        if not p.is_file():
            what = "is a folder; give spec files" if p.is_dir() else "file not found"
            raise OptionError(f"{{specs}}: {p}: {what}")
    out = []
    for p in map(Path, paths):
        try:
            spec = load_any_spec(p)
            out.append(PlannedProject(spec.project.name, str(p), spec))
        except RoicastError as e:
            out.append(PlannedProject(_name_of_bad_spec(p), str(p), error=str(e)))
    return out


def _settable_fields() -> dict[str, set[str]]:
    """Spec tables and their fields, as a CSV column may name them (``table.field``)."""
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
    """Set ``doc[a][b]…[z] = value`` for the column ``a.b.….z``, creating tables on the way."""
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


def _read_inputs(template: Path, table: Path) -> tuple[dict[str, Any], list[list[str]]]:
    """The template as a TOML dict and the table's rows (header first)."""
    for opt, path in (("template", template), ("table", table)):
        if path.is_dir():
            raise OptionError(f"{{{opt}}}: {path}: is a folder; give a file")
        if not path.is_file():
            raise OptionError(f"{{{opt}}}: {path}: file not found")
    try:
        raw = tomllib.loads(template.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise OptionError(f"{{template}}: {template}: not valid TOML: {e}") from None
    try:
        with table.open(newline="", encoding="utf-8-sig") as fh:
            rows = list(csv.reader(fh))
    except (UnicodeDecodeError, csv.Error) as e:
        raise OptionError(f"{{table}}: {table}: not a UTF-8 CSV file: {e}") from None
    if not rows:
        raise OptionError(
            f"{{table}}: {table} is empty; it needs a header row of dotted spec fields"
        )
    return raw, rows


def _check_header(header: list[str], table: Path) -> None:
    """Refuse a column that does not name a field of a spec table, or appears twice."""
    # a header that is not a spec table's is not echoed: the file may hold anything
    fields = _settable_fields()
    for k, c in enumerate(header, 1):
        parts = c.split(".")
        if not c or any(not p for p in parts) or parts[0] not in fields:
            raise OptionError(
                f"{{table}}: {table}: line 1, column {k}: not a dotted spec field of a spec "
                f"table ({', '.join(sorted(fields))}), e.g. baseline.price"
            )
        if len(parts) < 2 or parts[1] not in fields[parts[0]]:
            field_ = parts[1] if len(parts) > 1 else ""
            raise OptionError(
                f"{{table}}: {table}: line 1, column {k}: [{parts[0]}] has no field {field_!r}; "
                f"its fields are {', '.join(sorted(fields[parts[0]]))}"
            )
    dup = sorted({c for c in header if header.count(c) > 1})
    if dup:
        raise OptionError(f"{{table}}: {table}: column {dup[0]} appears more than once")


def _row_project(
    raw: dict[str, Any], header: list[str], row: list[str], name: str, source: str, base_dir: Path
) -> PlannedProject:
    """The project of one table row: the template with the row's non-empty cells set."""
    has_name = "project.name" in header
    if has_name and len(row) > header.index("project.name"):
        name = str(_parse_cell(row[header.index("project.name")]) or name)
    try:
        if len(row) != len(header):
            raise RoicastError(f"{len(row)} cells for {len(header)} columns")
        doc = copy.deepcopy(raw)
        for col, cell in zip(header, row, strict=True):
            if cell.strip():
                _set_dotted(doc, col, _parse_cell(cell))
        if not has_name or not row[header.index("project.name")].strip():
            doc.setdefault("project", {})["name"] = name
        name = str(doc["project"]["name"])
        spec = spec_from_dict(doc, base_dir=base_dir, source=source)
        _check_history(spec, source)
    except RoicastError as e:
        msg = str(e)
        msg = msg if msg.startswith(source) else f"{source}: {msg}"
        return PlannedProject(name, source, error=msg.replace("\n", "; "))
    return PlannedProject(name, source, spec)


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
    OptionError
        The template or table cannot be read, or a column does not name a
        field of a spec table (the message names the option: ``template`` or
        ``table``).  A bad value in one row does not raise: that project is
        returned with its ``error`` (naming the row, the column and the rule)
        and fails alone.
    """
    template, table = Path(template), Path(table)
    raw, rows = _read_inputs(template, table)
    header = [c.strip() for c in rows[0]]
    _check_header(header, table)
    base_name = str(raw.get("project", {}).get("name", "roicast study"))
    base_dir = template.resolve().parent
    data = [r for r in rows[1:] if any(cell.strip() for cell in r)]
    return [
        _row_project(raw, header, row, f"{base_name} #{i}", f"{table} row {i}", base_dir)
        for i, row in enumerate(data, 1)
    ]


def plan_projects(
    specs: Sequence[Path | str] | None,
    template: Path | str | None,
    table: Path | str | None,
) -> list[PlannedProject]:
    """The projects of a batch: from spec files, or from a template and a table.

    Raises
    ------
    OptionError
        Both kinds of input, neither, a template without a table (or the
        reverse), or no project at all.
    """
    if specs and (template is not None or table is not None):
        raise OptionError("give spec files, or {template} with {table}, not both")
    if not specs and template is None and table is None:
        raise OptionError("nothing to run: give spec files, or {template} and {table}")
    if (template is None) != (table is None):
        raise OptionError(
            "{template} and {table} go together: the table's rows override the template's fields"
        )
    if template is not None:
        planned = projects_from_table(template, table)  # type: ignore[arg-type]
    else:
        planned = projects_from_specs(specs or [])
    if not planned:
        raise OptionError("nothing to run: the table has no rows" if table else "no spec files")
    return planned


# ---------------------------------------------------------------- keys, tasks


def history_sha(spec: Spec, memo: dict[tuple[str, int, int], str] | None = None) -> str:
    """SHA-256 of the spec's history file content ("" without one).

    ``memo`` (keyed by resolved path, size and mtime) saves re-reading a file
    many projects share within one planning pass.
    """
    hp = spec.history_path()
    if hp is None:
        return ""
    st = hp.stat()
    k = (str(hp.resolve()), st.st_size, st.st_mtime_ns)
    if memo is not None and k in memo:
        return memo[k]
    digest = hashlib.sha256(hp.read_bytes()).hexdigest()
    if memo is not None:
        memo[k] = digest
    return digest


def forecast_key(spec: Spec, history_digest: str) -> str:
    """The key of a spec's demand forecast: history content, demand settings, horizon, start."""
    demand = spec.demand.model_dump(mode="json")
    demand["history"] = history_digest
    payload = {
        "demand": demand,
        "horizon": spec.project.horizon_months,
        "start": spec.project.start,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()[:16]


def resume_key(
    spec_hash: str, history_digest: str, seed: int, draws: int, sensitivity: bool
) -> str:
    """What a finished project folder must match to be reused by ``resume``."""
    payload = json.dumps([spec_hash, history_digest, seed, draws, sensitivity])
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


@dataclass
class Plan:
    """Planned work: records of projects already settled (failed, reused) and tasks to run."""

    records: list[dict[str, Any]] = field(default_factory=list)
    tasks: list[ProjectTask] = field(default_factory=list)


def _reusable(folder: Path, key: str, report: bool) -> dict[str, Any] | None:
    """The record of a finished folder that matches ``key`` (and has a report if needed)."""
    marker = read_marker(folder)
    if (
        marker is not None
        and marker.get("key") == key
        and (folder / NPV_FILE).is_file()
        and (not report or (folder / "report.html").is_file())
    ):
        return {**marker["record"], "status": "skipped", "seconds": 0.0}
    return None


def _plan_one(
    p: PlannedProject, base: dict[str, Any], folder: Path, opts: BatchOptions, memo: dict
) -> dict[str, Any] | ProjectTask:
    """A project with a valid spec: its reused record, its failure, or its task."""
    spec = p.spec
    assert spec is not None
    n = int(opts.draws if opts.draws is not None else spec.simulation.draws)
    base["draws"] = n
    try:
        hsha = history_sha(spec, memo)
    except OSError as e:
        return failed_record(base, f"{p.source}: demand.history: {e}")
    key = resume_key(spec.spec_hash, hsha, opts.seed, n, opts.sensitivity)
    if opts.resume:
        reused = _reusable(folder, key, opts.report)
        if reused is not None:
            return reused
    fkey = forecast_key(spec, hsha)
    return ProjectTask(
        name=p.name,
        folder=str(folder),
        rel_folder=base["folder"],
        source=p.source,
        spec=spec,
        seed=base["seed"],
        price_seed=market_seed(opts.seed),
        forecast_key=fkey,
        forecast_seed=derive_seed(opts.seed, "forecast", fkey),
        draws=n,
        report=opts.report,
        sensitivity=opts.sensitivity,
        key=key,
        batch_seed=opts.seed,
    )


def plan_tasks(
    planned: Sequence[PlannedProject], out: Path, projects_dir: Path, opts: BatchOptions
) -> Plan:
    """Records for projects that need no run (invalid, duplicate, reused) and tasks for the rest.

    A name used twice fails at its second use; ``resume`` reuses a folder whose
    done-marker matches :func:`resume_key` (spec hash, history content, batch
    seed, draws, ``sensitivity``) and that holds a report when one is asked for.
    """
    plan = Plan()
    seen: dict[str, str] = {}
    memo: dict[tuple[str, int, int], str] = {}
    for p in planned:
        folder = projects_dir / safe_name(p.name)
        base = {
            "name": p.name,
            "source": p.source,
            "folder": str(folder.relative_to(out)),
            "spec_hash": p.spec.spec_hash if p.spec else "",
            "seed": project_seed(opts.seed, p.name),
            "draws": None,
        }
        if p.name in seen:
            msg = (
                f"{p.source}: project.name {p.name!r} is already used by {seen[p.name]}; "
                "names must be unique within a batch"
            )
            plan.records.append(failed_record(base, msg))
            continue
        seen[p.name] = p.source
        if p.spec is None:
            plan.records.append(failed_record(base, p.error or "invalid spec"))
            continue
        item = _plan_one(p, base, folder, opts, memo)
        if isinstance(item, ProjectTask):
            plan.tasks.append(item)
        else:
            plan.records.append(item)
    return plan
