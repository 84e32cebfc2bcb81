"""Run this benchmark script again with roicast as of another commit (``--before REV``).

The commit is extracted with ``git archive`` into a temporary folder and imported in place of
this tree: a ``sitecustomize`` rewrites the paths of the editable install's import finder
(``__editable__…roicast…``, which maps ``roicast``, ``roicast.forecast`` … to this tree).
The child prints one JSON line last; it must carry ``roicast_file`` (``roicast.__file__``),
checked to lie in the extracted tree.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]

_SITECUSTOMIZE = (
    "import os, sys\n"
    "for _m in [m for m in sys.modules if m.startswith('__editable__') and 'roicast' in m]:\n"
    "    _f = sys.modules[_m]\n"
    "    for _k, _v in list(getattr(_f, 'MAPPING', {}).items()):\n"
    "        _f.MAPPING[_k] = _v.replace(os.environ['ROICAST_BENCH_FROM'],"
    " os.environ['ROICAST_BENCH_SRC'])\n"
)


def run_at_rev(rev: str, work: Path, argv: list[str]) -> dict[str, Any]:
    """``python argv`` with roicast as of commit ``rev`` (extracted under ``work``); its JSON line.

    Raises ``SystemExit`` with the child's error when it fails, or when roicast was not
    imported from the extracted tree.
    """
    src = work / f"src-{rev}"
    src.mkdir(parents=True)
    tar = subprocess.run(["git", "-C", str(REPO), "archive", rev], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", str(src)], input=tar.stdout, check=True)
    site = work / "site"
    site.mkdir(exist_ok=True)
    (site / "sitecustomize.py").write_text(_SITECUSTOMIZE)
    env = {
        **os.environ,
        "ROICAST_BENCH_FROM": str(REPO),
        "ROICAST_BENCH_SRC": str(src),
        "PYTHONPATH": os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")]),
    }
    proc = subprocess.run(
        [sys.executable, *argv], env=env, cwd=work, capture_output=True, text=True, check=False
    )
    if proc.returncode:
        raise SystemExit(f"--before {rev}: the reference run failed:\n{proc.stderr[-2000:]}")
    doc = json.loads(proc.stdout.splitlines()[-1])
    if not doc["roicast_file"].startswith(str(src)):
        raise SystemExit(f"--before {rev}: roicast was imported from {doc['roicast_file']}")
    return doc
