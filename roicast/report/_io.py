"""Writing files so that they appear whole or not at all.

The one place roicast writes output: :func:`atomic_file` (a temporary file in
the same folder, renamed over the destination), :func:`atomic_dir` (a temporary
folder moved into place), :func:`write_json` (JSON through :func:`jsonable`).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from roicast.errors import RoicastError

__all__ = [
    "OUTPUT_MARKER",
    "atomic_dir",
    "atomic_file",
    "check_destination",
    "finite_or_none",
    "jsonable",
    "recover_leftovers",
    "write_json",
]


def finite_or_none(x: Any) -> float | None:
    """``float(x)``, or ``None`` when ``x`` is ``None``, NaN or infinite (JSON's null)."""
    if x is None:
        return None
    v = float(x)
    return v if math.isfinite(v) else None


def jsonable(o: Any) -> Any:
    """JSON-safe copy: non-finite floats become ``None``, numpy scalars and arrays Python values."""
    if isinstance(o, dict):
        return {str(k): jsonable(v) for k, v in o.items()}
    if isinstance(o, list | tuple):
        return [jsonable(v) for v in o]
    if hasattr(o, "tolist") and hasattr(o, "dtype"):  # numpy scalar or array
        return jsonable(o.tolist())
    if isinstance(o, float) and not math.isfinite(o):
        return None
    return o


@contextmanager
def atomic_file(path: Path | str) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex[:12]}")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_json(doc: Any, path: Path | str) -> None:
    """Write ``doc`` as indented JSON (non-finite numbers as null), atomically."""
    text = json.dumps(jsonable(doc), indent=2, sort_keys=False, allow_nan=False) + "\n"
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


#: The file roicast writes last into every output folder: the list of files it wrote.
OUTPUT_MARKER = ".roicast-output.json"


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, someone else's
        return True
    return True


def _owner_pid(leftover: Path) -> int | None:
    parts = leftover.name.rsplit("-", 2)
    for part in parts[1:]:
        if part.isdigit():
            return int(part)
    return None


def _owned_files(folder: Path) -> set[str] | None:
    """The files roicast recorded writing into ``folder``, or ``None`` if it has no valid marker."""
    try:
        doc = json.loads((folder / OUTPUT_MARKER).read_text(encoding="utf-8"))
        files = doc["files"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return {str(f) for f in files} if isinstance(files, list) else None


def _foreign_files(folder: Path) -> list[str]:
    """Files in ``folder`` that roicast did not write (all of them when it has no marker)."""
    owned = _owned_files(folder)
    present = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if not p.is_dir())
    if owned is None:
        return present
    return [f for f in present if f not in owned and f != OUTPUT_MARKER]


def recover_leftovers(out: Path) -> list[str]:
    """Clean what killed runs left beside ``out``; restore a previous output hidden mid-swap.

    ``.NAME.tmp-PID-*`` folders of processes that are gone are removed; a
    ``.NAME.old-PID`` folder (a run killed between its two renames) is moved
    back to ``out`` when ``out`` is missing, else removed.  Returns what was done.
    """
    done: list[str] = []
    if not out.parent.is_dir():
        return done
    for p in sorted(out.parent.glob(f".{out.name}.tmp-*")):
        pid = _owner_pid(p)
        if pid is None or not _pid_alive(pid):
            shutil.rmtree(p, ignore_errors=True)
            done.append(f"removed {p.name}")
    for p in sorted(out.parent.glob(f".{out.name}.old-*")):
        pid = _owner_pid(p)
        if pid is not None and _pid_alive(pid) and pid != os.getpid():
            continue
        if not out.exists() and _owned_files(p) is not None:
            os.replace(p, out)
            done.append(f"restored {out.name} from {p.name}")
        else:
            shutil.rmtree(p, ignore_errors=True)
            done.append(f"removed {p.name}")
    return done


def check_destination(out: Path | str, *, option: str = "out") -> Path:
    """Refuse an output folder roicast cannot (or must not) replace, before any work is done.

    Rules: not the current folder or one of its parents; not under a file; its
    parent creatable and writable; if it exists, a folder holding only files
    roicast wrote (its marker lists them) or nothing.
    """
    out = Path(out)
    resolved = out.resolve()
    cwd = Path.cwd().resolve()
    if resolved == cwd or resolved in cwd.parents:
        raise RoicastError(
            f"{option}: {str(out)!r} is the current folder or contains it; roicast replaces its "
            "output folder whole, so give it a folder of its own (e.g. results/)"
        )
    if out.exists() and not out.is_dir():
        raise RoicastError(f"{option}: {str(out)!r} is a file, not a folder; give a folder")
    for parent in resolved.parents:
        if parent.exists() and not parent.is_dir():
            raise RoicastError(
                f"{option}: {str(out)!r} is under {str(parent)!r}, which is a file, not a folder"
            )
    if out.exists():
        foreign = _foreign_files(out)
        if foreign:
            raise RoicastError(
                f"{option}: {str(out)!r} holds files roicast did not write (e.g. {foreign[0]!r}); "
                "choose another folder or empty it: roicast never deletes files it did not write"
            )
    existing = next(p for p in [resolved.parent, *resolved.parent.parents] if p.exists())
    if not os.access(existing, os.W_OK | os.X_OK):
        raise RoicastError(
            f"{option}: {str(out)!r} cannot be written: {str(existing)!r} is not writable"
        )
    return out


def _write_marker(folder: Path) -> None:
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if not p.is_dir())
    from roicast import __version__

    doc = {"roicast": __version__, "files": [f for f in files if f != OUTPUT_MARKER]}
    (folder / OUTPUT_MARKER).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")


@contextmanager
def atomic_dir(out: Path | str, *, option: str = "out") -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces ``out`` whole.

    ``out`` may not exist, be empty, or hold a previous roicast output whose
    files are all listed in its marker (:data:`OUTPUT_MARKER`, written last);
    anything else is refused rather than deleted (:func:`check_destination`).
    Leftovers of killed runs are cleaned first (:func:`recover_leftovers`).
    On any error the temporary folder is removed and ``out`` is untouched.
    ``option`` names the setting in messages.
    """
    out = Path(out)
    recover_leftovers(out)
    check_destination(out, option=option)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-{os.getpid()}-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it 0700; the output is an ordinary folder
    try:
        yield tmp
        _write_marker(tmp)
        old = None
        if out.exists():
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            os.replace(out, old)
        os.replace(tmp, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
