"""The house rules of the code base (issue 9): stages stand alone, the front stays small."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FRONT = ("roicast.spec", "roicast.study", "roicast.report", "roicast.batch", "roicast.cli")


def _loaded_after(statement: str, names: tuple[str, ...]) -> list[str]:
    code = f"import sys\n{statement}\nprint(','.join(m for m in {names!r} if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return [m for m in proc.stdout.strip().split(",") if m]


@pytest.mark.parametrize(
    ("module", "forbidden"),
    [
        ("roicast.errors", (*FRONT, "pydantic", "numpy", "scipy", "roicast.simulate")),
        ("roicast", (*FRONT, "pydantic", "scipy.stats", "xarray", "numba")),
        ("roicast.forecast", (*FRONT, "pydantic", "roicast.simulate", "roicast.sensitivity")),
        ("roicast.simulate", (*FRONT, "pydantic", "roicast.forecast", "roicast.sensitivity")),
        ("roicast.sensitivity", (*FRONT, "pydantic", "roicast.simulate", "roicast.forecast")),
    ],
)
def test_a_stage_loads_no_front(module, forbidden):
    assert _loaded_after(f"import {module}", forbidden) == []


def test_the_spec_does_not_load_the_report_or_matplotlib():
    loaded = _loaded_after(
        "import roicast.spec", ("roicast.report", "roicast.batch", "matplotlib", "dask")
    )
    assert loaded == []


def _functions(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def _length(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    """Lines of a function, its docstring left out."""
    body = fn.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        body = body[1:] or body
    return (
        fn.end_lineno - (body[0].lineno if body else fn.lineno) + 1 + (body[0].lineno > fn.lineno)
    )


def _complexity(fn: ast.AST) -> int:
    """McCabe complexity: 1 + decision points (the count ruff's C901 uses, near enough)."""
    n = 1
    for node in ast.walk(fn):
        if isinstance(node, ast.If | ast.For | ast.While | ast.IfExp | ast.ExceptHandler):
            n += 1
        elif isinstance(node, ast.BoolOp):
            n += len(node.values) - 1
        elif isinstance(node, ast.comprehension):
            n += 1 + len(node.ifs)
        elif isinstance(node, ast.match_case):
            n += 1
    return n


def test_no_long_or_tangled_function_in_the_front():
    too_long, too_complex = [], []
    for path in sorted((ROOT / "roicast").rglob("*.py")):
        for fn in _functions(path):
            where = f"{path.relative_to(ROOT)}:{fn.lineno} {fn.name}"
            if _length(fn) > 80:
                too_long.append(f"{where} ({_length(fn)} lines)")
            if _complexity(fn) > 20:
                too_complex.append(f"{where} (complexity {_complexity(fn)})")
    assert not too_long, "functions over 80 lines (docstring aside): " + "; ".join(too_long)
    assert not too_complex, "functions over complexity 20: " + "; ".join(too_complex)
