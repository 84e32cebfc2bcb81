"""The hostile-input harness: run the real CLI and check the README's promise.

The promise (README, "Bad input is refused…"): bad input is refused with ONE
line on stderr, starting ``error:``, naming the field (or file and line), the
value and the rule; exit code 1 (usage errors: 2); nothing is written; a
previous output is intact; no traceback; no leftover temporary folders; and no
content of a file that is not a parseable history is echoed anywhere.

Two ways to run a command line:

* :func:`run_cli`: a real subprocess, ``python -m roicast ARGS`` in a folder,
  ``MPLBACKEND=Agg``, stdout/stderr not a terminal (as in cron or CI);
* :func:`run_inproc`: the same ``roicast.cli.main`` the console script calls,
  in *this* process (no interpreter start, no re-import, kernels already
  loaded), with file descriptors 1 and 2 redirected as in ``_runner.py``; for
  tests of what a command writes and says, where a separate process is not
  what is being tested;
* :func:`run_group`: many command lines in one subprocess (``_runner.py``
  calls the same ``roicast.cli.main`` the console script calls, once per case,
  with file descriptors 1 and 2 redirected), because each Python start pays
  10+ s of imports on a loaded machine.  A case that crashes the group process
  is rerun alone in :func:`run_cli`, and the rest of the group goes on.

:func:`check_refusal` asserts the whole promise for one result.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent

#: Planted in files that are not traffic histories; must never appear in any output.
SECRET = "S3CR3T-7f3a9c-hostile"

#: The output folder every case writes to (relative to the case's folder).
OUT = "out"

#: Seconds a single command may take before the harness gives up (a hang is a failure).
TIMEOUT = 900


@dataclass
class Result:
    """What one command line did."""

    rc: int | None
    stdout: str
    stderr: str
    cwd: Path
    args: tuple[str, ...] = ()

    @property
    def lines(self) -> list[str]:
        """Non-empty lines of stderr."""
        return [ln for ln in self.stderr.splitlines() if ln.strip()]

    def show(self) -> str:
        """The result, for assertion messages."""
        return (
            f"args={list(self.args)!r} rc={self.rc}\n--- stderr ---\n{self.stderr[-3000:]}"
            f"\n--- stdout ---\n{self.stdout[-1500:]}"
        )


def env() -> dict[str, str]:
    """The environment of every command: headless matplotlib, no forced colours or width."""
    e = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "COLUMNS", "LINES")}
    e["MPLBACKEND"] = "Agg"
    e["PYTHONDONTWRITEBYTECODE"] = "1"
    return e


def run_cli(
    args: Iterable[str], cwd: Path, *, timeout: float = TIMEOUT, extra_env: Mapping | None = None
) -> Result:
    """Run ``python -m roicast ARGS`` in ``cwd`` as a real subprocess."""
    args = tuple(str(a) for a in args)
    e = env()
    if extra_env:
        e.update(extra_env)
    try:
        p = subprocess.run(
            [sys.executable, "-m", "roicast", *args],
            cwd=cwd,
            env=e,
            capture_output=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as t:
        return Result(None, _text(t.stdout), _text(t.stderr) + "\n<timeout>", Path(cwd), args)
    return Result(p.returncode, _text(p.stdout), _text(p.stderr), Path(cwd), args)


#: Python's default warning filters (``python`` without ``-W``): a warning a
#: subprocess would print on stderr is printed on the captured stderr here too,
#: instead of being turned into an exception by pytest's ``filterwarnings = error``.
_DEFAULT_IGNORED = (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning)


def _print_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Print a warning on ``sys.stderr`` as the interpreter does."""
    sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))


def run_inproc(args: Iterable[str], cwd: Path) -> Result:
    """Run ``roicast ARGS`` in ``cwd`` in this process, as the console script would.

    Calls :func:`roicast.cli.main` (the console script's entry point) with
    ``sys.argv`` set, the working directory changed to ``cwd``, the environment
    of :func:`env`, Python's default warning filters (a warning is printed on
    the captured stderr, as a subprocess would print it), file descriptors 1 and 2
    pointed at files (so C-level writes are captured too) and ``sys.stdout`` /
    ``sys.stderr`` writing to them (pytest replaces those objects, so redirecting
    the descriptors alone would miss ``print``).  ``SystemExit`` gives the exit
    code; an escaping exception is printed as the interpreter would (a
    traceback, exit code 1).  Everything is restored afterwards.
    """
    import io

    from roicast.cli import main
    from tests.hostile._runner import call_main

    args = tuple(str(a) for a in args)
    cwd = Path(cwd)
    saved_env = dict(os.environ)
    saved_cwd = os.getcwd()
    saved_argv = sys.argv
    saved_streams = sys.stdout, sys.stderr
    with tempfile.TemporaryDirectory(prefix="hostile-inproc-") as tmp:
        out_path, err_path = Path(tmp) / "stdout", Path(tmp) / "stderr"
        saved_fds = os.dup(1), os.dup(2)
        for s in saved_streams:
            s.flush()
        rc: int | None = 0
        with open(out_path, "wb") as fo, open(err_path, "wb") as fe:
            os.dup2(fo.fileno(), 1)
            os.dup2(fe.fileno(), 2)
        streams = [
            io.TextIOWrapper(os.fdopen(os.dup(fd), "wb"), encoding="utf-8", errors="replace")
            for fd in (1, 2)
        ]
        try:
            os.environ.clear()
            os.environ.update(env())
            os.chdir(cwd)
            sys.argv = ["roicast", *args]
            sys.stdout, sys.stderr = streams
            with warnings.catch_warnings():
                warnings.showwarning = _print_warning  # not pytest's recorder: on stderr
                warnings.resetwarnings()
                warnings.simplefilter("default")
                for cat in _DEFAULT_IGNORED:
                    warnings.simplefilter("ignore", cat)
                rc = call_main(main)
        finally:
            for s in streams:
                s.flush()
                s.close()
            sys.stdout, sys.stderr = saved_streams
            os.dup2(saved_fds[0], 1)
            os.dup2(saved_fds[1], 2)
            os.close(saved_fds[0])
            os.close(saved_fds[1])
            sys.argv = saved_argv
            os.chdir(saved_cwd)
            os.environ.clear()
            os.environ.update(saved_env)
        stdout = _text(out_path.read_bytes())
        stderr = _text(err_path.read_bytes())
    return Result(rc, stdout, stderr, cwd, args)


def _text(b: bytes | str | None) -> str:
    if b is None:
        return ""
    return b if isinstance(b, str) else b.decode("utf-8", errors="replace")


def run_group(cases: Mapping[str, tuple[tuple[str, ...], Path]]) -> dict[str, Result]:
    """Run many command lines (key → (args, cwd)) in one process; see the module docstring."""
    pending = list(cases)
    results: dict[str, Result] = {}
    while pending:
        with tempfile.TemporaryDirectory(prefix="hostile-group-") as tmp:
            cases_path = Path(tmp) / "cases.json"
            res_path = Path(tmp) / "results.jsonl"
            cases_path.write_text(
                json.dumps(
                    [
                        {"key": k, "args": list(cases[k][0]), "cwd": str(cases[k][1])}
                        for k in pending
                    ]
                ),
                encoding="utf-8",
            )
            try:
                subprocess.run(
                    [sys.executable, str(HERE / "_runner.py"), str(cases_path), str(res_path)],
                    env=env(),
                    capture_output=True,
                    timeout=TIMEOUT * 2,
                    stdin=subprocess.DEVNULL,
                    cwd=tmp,
                )
            except subprocess.TimeoutExpired:
                pass
            if res_path.exists():
                for line in res_path.read_text(encoding="utf-8").splitlines():
                    d = json.loads(line)
                    k = d["key"]
                    results[k] = Result(d["rc"], d["stdout"], d["stderr"], cases[k][1], cases[k][0])
        pending = [k for k in pending if k not in results]
        if pending:  # the first one crashed or hung the group: run it alone, go on with the rest
            k = pending.pop(0)
            results[k] = run_cli(cases[k][0], cases[k][1])
    return results


# ----------------------------------------------------------------------------- folder state


def snapshot(folder: Path) -> dict[str, bytes] | None:
    """Every file under ``folder`` (relative path → bytes), or ``None`` if it does not exist."""
    folder = Path(folder)
    if not folder.exists():
        return None
    if folder.is_file():
        return {"": folder.read_bytes()}
    return {
        str(p.relative_to(folder)): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def leftovers(folder: Path) -> list[str]:
    """Temporary or hidden-previous folders/files roicast left in ``folder`` (recursively)."""
    pat = re.compile(r"^\..+\.(tmp|old)-")
    return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob(".*") if pat.match(p.name))


def files_with(folder: Path, needle: str, *, skip: Iterable[Path] = ()) -> list[str]:
    """Files under ``folder`` (except ``skip``) whose bytes contain ``needle``."""
    skip = {Path(p).resolve() for p in skip}
    hits = []
    for p in Path(folder).rglob("*"):
        if p.is_file() and not p.is_symlink() and p.resolve() not in skip:
            try:
                if needle.encode() in p.read_bytes():
                    hits.append(str(p.relative_to(folder)))
            except OSError:
                pass
    return hits


# ----------------------------------------------------------------------------- the promise


def check_refusal(
    res: Result,
    *,
    rc: int | Iterable[int] = 1,
    names: Iterable[str] = (),
    value: str | Iterable[str] | None = None,
    out: Path | None = None,
    before: dict[str, bytes] | None = None,
    secret_files: Iterable[Path] = (),
) -> str:
    """Assert the README's promise for a refused command; return the error line.

    Parameters
    ----------
    res : Result
    rc : int or iterable of int
        The exit code(s) allowed (1: bad input; 2: a usage error).
    names : iterable of str
        Substrings the line must hold: the field or flag (or the file).
    value : str or iterable of str, optional
        The offending value as the line should show it (any one of several spellings).
    out : Path, optional
        The output folder: it must be absent, or byte-identical to ``before``.
    before : dict, optional
        :func:`snapshot` of ``out`` (or of a user file) before the command.
    secret_files : iterable of Path
        Files that hold :data:`SECRET` (inputs); the secret must appear nowhere else.
    """
    allowed = {rc} if isinstance(rc, int) else set(rc)
    assert res.rc in allowed, f"exit code {res.rc}, expected {sorted(allowed)}\n{res.show()}"
    assert "Traceback" not in res.stderr + res.stdout, f"a traceback\n{res.show()}"
    lines = res.lines
    assert len(lines) == 1, f"{len(lines)} lines on stderr, expected exactly one\n{res.show()}"
    line = lines[0]
    assert line.startswith("error:"), f"the line does not start with 'error:'\n{res.show()}"
    for n in names:
        assert n in line, f"the line does not name {n!r}: {line}"
    if value is not None:
        spellings = [value] if isinstance(value, str) else list(value)
        assert any(v.lower() in line.lower() for v in spellings), (
            f"the line does not show the value {spellings}: {line}"
        )
    if out is not None:
        assert snapshot(out) == before, (
            f"{out} changed (expected {'absent' if before is None else 'intact'}): "
            f"{sorted(snapshot(out) or {})}"
        )
    left = leftovers(res.cwd)
    assert not left, f"leftover temporary folders: {left}"
    check_no_secret(res, secret_files)
    check_no_content(res, secret_files)
    return line


def check_no_secret(res: Result, secret_files: Iterable[Path] = ()) -> None:
    """:data:`SECRET` appears neither in stdout/stderr nor in any file but its inputs."""
    assert SECRET not in res.stderr + res.stdout, f"secret echoed\n{res.show()}"
    hits = files_with(res.cwd, SECRET, skip=secret_files)
    assert not hits, f"secret copied into {hits}"


def check_no_content(res: Result, files: Iterable[Path]) -> None:
    """No line (8+ characters) of a non-history input file is echoed on stdout or stderr."""
    said = res.stderr + res.stdout
    for f in files:
        text = Path(f).read_bytes().decode("utf-8", errors="ignore")
        for ln in text.splitlines():
            ln = ln.strip()
            assert len(ln) < 8 or ln not in said, f"content of {Path(f).name} echoed: {ln!r}"


# ----------------------------------------------------------------------------- spec files


def toml_value(v: Any) -> str:
    """A Python value as TOML (nan/inf as TOML's nan/inf; strings escaped)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False).replace("\x7f", "\\u007f")
    if isinstance(v, Mapping):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    raise TypeError(type(v))


def toml_key(k: str) -> str:
    """A bare key when possible, else a quoted one."""
    return k if re.fullmatch(r"[A-Za-z0-9_-]+", k) else toml_value(k)


def dumps_toml(doc: Mapping[str, Any]) -> str:
    """A spec dict as TOML: top-level scalars, tables, arrays of tables (one level deep)."""
    lines: list[str] = []
    for k, v in doc.items():
        if not isinstance(v, Mapping) and not (
            isinstance(v, list) and v and all(isinstance(x, Mapping) for x in v)
        ):
            lines.append(f"{toml_key(k)} = {toml_value(v)}")
    for k, v in doc.items():
        if isinstance(v, Mapping):
            lines.append(f"\n[{toml_key(k)}]")
            for kk, vv in v.items():
                if isinstance(vv, list) and vv and all(isinstance(x, Mapping) for x in vv):
                    continue
                lines.append(f"{toml_key(kk)} = {toml_value(vv)}")
            for kk, vv in v.items():
                if isinstance(vv, list) and vv and all(isinstance(x, Mapping) for x in vv):
                    for block in vv:
                        lines.append(f"\n[[{toml_key(k)}.{toml_key(kk)}]]")
                        lines += [f"{toml_key(a)} = {toml_value(b)}" for a, b in block.items()]
        elif isinstance(v, list) and v and all(isinstance(x, Mapping) for x in v):
            for block in v:
                lines.append(f"\n[[{toml_key(k)}]]")
                lines += [f"{toml_key(a)} = {toml_value(b)}" for a, b in block.items()]
    return "\n".join(lines) + "\n"


def tiny_spec(**sections: Any) -> dict[str, Any]:
    """A tiny no-history study (20 demand paths, no Sobol, 100 tornado draws): fast to run."""
    doc: dict[str, Any] = {
        "project": {"name": "hostile", "start": "2026-01", "horizon_months": 24},
        "demand": {
            "start_volume": 2.5e7,
            "annual_growth": {"dist": "uniform", "low": 0.1, "high": 0.5},
            "paths": 20,
        },
        "baseline": {"throughput": 2.0, "utilization": 0.35, "price": 3.5},
        "optimized": {"throughput_gain": {"dist": "pert", "min": 1.15, "mode": 1.5, "max": 1.9}},
        "implementation": {"months": 3, "engineer_months": 4, "engineer_cost": 22000.0},
        "simulation": {"draws": 200, "sobol": False, "tornado_draws": 100},
    }
    for k, v in sections.items():
        doc[k] = v
    return doc


DELETE = object()


def mutate(doc: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Set (or with :data:`DELETE` remove) the dotted ``path`` of ``doc`` in place; return it."""
    *parents, last = path.split(".")
    d = doc
    for p in parents:
        d = d.setdefault(p, {})
    if value is DELETE:
        d.pop(last, None)
    else:
        d[last] = value
    return doc


#: Daily history: 60 days of ~600k requests with a weekly pattern (parseable, plausible).
def history_rows(n: int = 60) -> list[tuple[str, float]]:
    """(date, requests) rows of a plausible daily history."""
    import datetime as dt

    start = dt.date(2025, 1, 1)
    rows = []
    for i in range(n):
        day = start + dt.timedelta(days=i)
        weekly = 1.0 + 0.15 * math.sin(2 * math.pi * i / 7)
        rows.append((day.isoformat(), round(600_000 * (1 + 0.004 * i) * weekly)))
    return rows


def write_history(path: Path, rows: list[tuple[str, Any]], header: str = "date,requests") -> Path:
    """Write a history CSV."""
    path.write_text(header + "\n" + "".join(f"{a},{b}\n" for a, b in rows), encoding="utf-8")
    return path


def history_spec(history: str = "history.csv", **demand: Any) -> dict[str, Any]:
    """:func:`tiny_spec` reading its demand from a history file."""
    doc = tiny_spec()
    doc["project"].pop("start")
    doc["demand"] = {"history": history, "paths": 20, "parameter_uncertainty": False, **demand}
    return doc


def fake_previous_output(folder: Path) -> Path:
    """A folder as a previous roicast run leaves it: its files plus the marker listing them."""
    folder.mkdir(parents=True)
    (folder / "summary.json").write_text('{"project": "previous", "npv": {"mean": 1.0}}\n')
    (folder / "report.md").write_text("# previous\n")
    (folder / "figures").mkdir()
    (folder / "figures" / "fan.png").write_bytes(b"\x89PNG previous")
    files = ["figures/fan.png", "report.md", "summary.json"]
    (folder / ".roicast-output.json").write_text(
        json.dumps({"roicast": "0", "files": files}, indent=1) + "\n"
    )
    return folder


@dataclass
class Prepared:
    """A case's folder, its command line and what to compare after."""

    cwd: Path
    args: tuple[str, ...]
    before: dict[str, bytes] | None = None
    watch: Path | None = None
    secret_files: list[Path] = field(default_factory=list)
