"""The demos' summary.json is pinned: re-layering the code must not move a number.

Keys added since the fixture was written (new inputs, new results) are allowed;
every pinned key must keep its value: exactly, or for floats to 1e-8 relative
(1e-6 absolute), since the inputs' inverse CDFs moved from scipy to numba
routines that agree with scipy to about 1e-13.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from roicast.cli import demo_spec_path
from roicast.report.summary import summary
from roicast.spec import load_spec
from roicast.study import run_study

FIXTURES = Path(__file__).parent / "data" / "fixtures"


def _roundtrip(doc):
    from roicast.report._io import jsonable

    return json.loads(json.dumps(jsonable(doc), allow_nan=False))


def _diff(a, b, path="") -> list[str]:
    """Where ``a`` (now) differs from ``b`` (pinned); keys new in ``a`` are allowed."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{path}.{k}: missing now" for k in set(b) - set(a)]
        for k in a.keys() & b.keys():
            out += _diff(a[k], b[k], f"{path}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _diff(x, y, f"{path}[{i}]")
        ]
    if isinstance(a, float) and isinstance(b, float):
        # inputs come from numba inverse CDFs that agree with scipy's to ~1e-13 relative
        return [] if math.isclose(a, b, rel_tol=1e-8, abs_tol=1e-6) else [f"{path}: {a!r} != {b!r}"]
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("example", "draws", "fixture"),
    [
        ("quantization", None, "demo_quantization_summary.json"),
        ("options", 4000, "demo_options_4000_summary.json"),
    ],
)
def test_demo_summary_is_unchanged(example, draws, fixture):
    expected = json.loads((FIXTURES / fixture).read_text())
    result = run_study(load_spec(demo_spec_path(example)), draws=draws)
    got = _roundtrip(summary(result))
    got.pop("roicast_version"), expected.pop("roicast_version")
    diffs = _diff(got, expected)
    assert not diffs, "\n".join(sorted(diffs)[:20])
