"""The worked analyses in ``notebooks/`` run top to bottom, cleanly, and are committed clean.

Each notebook is executed with nbclient in a kernel that runs *this* interpreter
(a kernel spec written to a temporary folder, so a stale ``python3`` kernel spec
elsewhere on the machine cannot pick another environment), headless
(``MPLBACKEND=Agg``), in a temporary working directory.  A notebook fails if a
cell raises, if anything is written to stderr, or if any output mentions a
warning: ``filterwarnings = error`` covers this process only, not the kernel.

The notebooks read their number of Monte Carlo draws from ``ROICAST_NOTEBOOK_DRAWS``
(5,000 when unset); the test runs them with :data:`DRAWS`: every cell still runs,
on fewer draws (the notebooks assert nothing statistical: they print estimates
with their Monte Carlo standard errors).
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))
KERNEL = "roicast-test-python"
WARNING = re.compile(r"\w*Warning\b")
#: Monte Carlo draws per study in the notebooks under test (their own default: 5,000).
DRAWS = 1000


def _kernel_dir(root: Path) -> Path:
    """A Jupyter data folder holding one kernel spec that runs ``sys.executable``."""
    spec_dir = root / "kernels" / KERNEL
    spec_dir.mkdir(parents=True)
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": f"Python {sys.version_info.major}.{sys.version_info.minor} (tests)",
        "language": "python",
    }
    (spec_dir / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    return root


def _problems(nb) -> list[str]:
    found = []
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        for out in cell.get("outputs", []):
            if out.output_type == "error":
                found.append(f"cell {i}: {out.ename}: {out.evalue}")
            elif out.output_type == "stream":
                if out.name == "stderr":
                    found.append(f"cell {i}: stderr: {out.text.strip()[:500]}")
                elif WARNING.search(out.text):
                    found.append(f"cell {i}: warning in output: {out.text.strip()[:500]}")
            else:
                text = out.get("data", {}).get("text/plain", "")
                if WARNING.search(text):
                    found.append(f"cell {i}: warning in output: {text.strip()[:500]}")
    return found


def test_notebooks_exist():
    names = {p.name for p in NOTEBOOKS}
    assert {"01_quantization_go_no_go.ipynb", "02_compare_options.ipynb"} <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [
        i
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code" and (cell.outputs != [] or cell.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: clear the outputs of cells {dirty} before committing"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_cleanly(path, tmp_path, monkeypatch):
    # the kernel inherits this environment: headless matplotlib, our kernel spec first
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("JUPYTER_PATH", str(_kernel_dir(tmp_path / "jupyter")))
    monkeypatch.setenv("ROICAST_NOTEBOOK_DRAWS", str(DRAWS))
    work = tmp_path / "work"
    work.mkdir()
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=300,
        kernel_name=KERNEL,
        resources={"metadata": {"path": str(work)}},
    )
    client.execute()
    problems = _problems(nb)
    assert not problems, f"{path.name}:\n" + "\n".join(problems)
    assert not list(work.iterdir()), f"{path.name} left files in its working directory"
    printed = "".join(
        out.get("text", "")
        for cell in nb.cells
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out.output_type == "stream"
    )
    assert f"{DRAWS} draws, seed" in printed, f"{path.name} did not read ROICAST_NOTEBOOK_DRAWS"
