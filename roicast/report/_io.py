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

__all__ = ["atomic_dir", "atomic_file", "finite_or_none", "jsonable", "write_json"]

#: The file that marks a folder as a roicast study output.
MARKER = "summary.json"


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


@contextmanager
def atomic_dir(out: Path | str, *, marker: str = MARKER, option: str = "out") -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces ``out`` whole.

    ``out`` may not exist, be empty, or hold a previous roicast output
    (recognised by ``marker``); anything else is refused rather than deleted.
    ``option`` names the setting in messages.
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or (any(out.iterdir()) and not (out / marker).exists())):
        raise RoicastError(
            f"{option}: {str(out)!r} exists and is not a roicast output folder; choose another folder or empty it"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.tmp-", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o777 & ~umask)  # mkdtemp makes it 0700; the output is an ordinary folder
    try:
        yield tmp
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
