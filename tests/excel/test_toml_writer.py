"""The TOML writer: whatever it writes, tomllib reads back as the same dict."""

from __future__ import annotations

import tomllib

import pytest

from roicast._toml import dumps
from roicast.errors import RoicastError

from .conftest import DEMO


@pytest.mark.parametrize("name", ["quantization.toml", "options.toml"])
def test_demo_specs_round_trip(name):
    raw = tomllib.loads((DEMO / name).read_text(encoding="utf-8"))
    assert tomllib.loads(dumps(raw)) == raw


def test_awkward_values_round_trip():
    doc = {
        "project": {"name": 'say "hi"\\ \t\n\x01 €', "start": "2026-01", "rate": 1e-300},
        "sources": {"baseline.throughput": "vLLM, 2026-10 # not a comment"},
        "fleet": {"profile": [0.5, 1.0, 2, 1e20], "flag": True, "neg": -0.0},
        "demand": {
            "launches": [{"month": 3, "factor": {"dist": "pert", "min": 1, "mode": 2, "max": 3}}]
        },
        "correlations": [{"between": ["a.b", "c.d"], "rho": -0.5}],
        "option": [
            {"name": "x", "implementation": {"months": {"dist": "uniform", "low": 1, "high": 2}}}
        ],
        "empty": {},
    }
    back = tomllib.loads(dumps(doc, header="a header\nline two"))
    assert back == doc
    assert isinstance(back["fleet"]["profile"][1], float) and isinstance(
        back["fleet"]["profile"][2], int
    )


def test_unwritable_value_is_refused():
    with pytest.raises(RoicastError, match="cannot write"):
        dumps({"project": {"when": object()}})
