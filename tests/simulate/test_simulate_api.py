"""The simulate stage's public boundary: validation, seeds, layout, imports, regression."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from roicast.errors import RoicastError
from roicast.simulate import (
    INPUT_NAMES,
    METRIC_NAMES,
    SERIES_NAMES,
    simulate,
    simulate_arrays,
)
from roicast.simulate import _layout as L
from tests.simulate._points import assert_metrics_unchanged

DATA = Path(__file__).with_name("data") / "legacy_outputs.npz"
N_LEGACY_INPUTS = 22


@pytest.fixture(scope="module")
def legacy():
    with np.load(DATA) as f:
        return {k: f[k] for k in f.files}


def legacy_matrix(x22: np.ndarray) -> np.ndarray:
    """The pre-fleet inputs with every later input at its neutral default."""
    from roicast.simulate import neutral_inputs

    return neutral_inputs(x22)


# ---------------------------------------------------------------- regression


def test_existing_numbers_unchanged(legacy):
    # Captured from the code before issues 9 and 12 (tests/simulate/_make_legacy_fixture.py).
    x = legacy_matrix(legacy["inputs"])
    m, s = simulate_arrays(x, legacy["demand"], seed=123, discount_rate=0.09)
    n_old = legacy["metrics"].shape[1]
    irr = METRIC_NAMES.index("irr")
    assert_metrics_unchanged(m[:, :n_old], legacy["metrics"], irr_col=irr, rtol=1e-12)
    np.testing.assert_allclose(s[: legacy["series"].shape[0]], legacy["series"], rtol=1e-12)
    mp, sp = simulate_arrays(
        x, legacy["demand"], seed=123, discount_rate=0.09, price_seed=77, draw_offset=5
    )
    assert_metrics_unchanged(mp[:, :n_old], legacy["metrics_ps"], irr_col=irr, rtol=1e-12)
    np.testing.assert_allclose(sp[: legacy["series_ps"].shape[0]], legacy["series_ps"], rtol=1e-12)


# ---------------------------------------------------------------- price_seed


def test_simulate_honours_price_seed(legacy):
    x = legacy_matrix(legacy["inputs"][:100])
    demand = legacy["demand"]
    price_driven = ("spend_baseline", "tco_baseline", "npv")
    a = simulate(x, demand, seed=3, discount_rate=0.1, price_seed=1)
    b = simulate(x, demand, seed=3, discount_rate=0.1, price_seed=999)
    a2 = simulate(x, demand, seed=3, discount_rate=0.1, price_seed=1)
    for name in price_driven:
        assert not np.array_equal(a[name].values, b[name].values), name
        np.testing.assert_array_equal(a[name].values, a2[name].values)
    # the model-update times are keyed by seed alone
    np.testing.assert_array_equal(a["model_updates"].values, b["model_updates"].values)
    # price_seed=None is price_seed=seed
    c = simulate(x, demand, seed=3, discount_rate=0.1)
    d = simulate(x, demand, seed=3, discount_rate=0.1, price_seed=3)
    for name in (*METRIC_NAMES, *SERIES_NAMES):
        np.testing.assert_array_equal(c[name].values, d[name].values)
    # and matches the array entry given the same price seed
    m, _ = simulate_arrays(x, demand, seed=3, discount_rate=0.1, price_seed=999)
    np.testing.assert_array_equal(b["npv"].values, m[:, METRIC_NAMES.index("npv")])


# ---------------------------------------------------------------- validation


def _base(n: int = 4) -> np.ndarray:
    from roicast.simulate import neutral_inputs

    x = np.zeros((n, N_LEGACY_INPUTS))
    col = {name: j for j, name in enumerate(INPUT_NAMES)}
    for name, v in {
        "demand": 0.5,
        "baseline.throughput": 10.0,
        "baseline.utilization": 0.3,
        "baseline.price": 4.0,
        "optimized.throughput_gain": 2.0,
        "optimized.utilization": 0.3,
        "optimized.price_ratio": 1.0,
    }.items():
        x[:, col[name]] = v
    return neutral_inputs(x)


DEMAND = np.full((3, 6), 1e6) * np.array([[1.0], [2.0], [3.0]])


@pytest.mark.parametrize(
    ("name", "value", "match"),
    [
        ("baseline.throughput", 0.0, r"baseline\.throughput is 0\.0 at draw 2; it must be > 0"),
        ("baseline.utilization", -0.1, r"baseline\.utilization is -0\.1 at draw 2"),
        ("baseline.price", 0.0, r"baseline\.price"),
        ("optimized.throughput_gain", 0.0, r"optimized\.throughput_gain"),
        ("optimized.price_ratio", -1.0, r"optimized\.price_ratio.*>= 0"),
        ("baseline.floor_instances", -1.0, r"baseline\.floor_instances"),
        ("pricing.annual_change", -1.0, r"pricing\.annual_change.*> -1"),
        ("pricing.annual_volatility", -0.1, r"pricing\.annual_volatility"),
        ("churn.updates_per_year", -1.0, r"churn\.updates_per_year"),
        ("demand", 1.5, r"demand is 1\.5 at draw 2; it must be in \[0, 1\]"),
        ("baseline.price", np.inf, r"baseline\.price is inf at draw 2; inputs must be finite"),
    ],
)
def test_simulate_arrays_validates_inputs(name, value, match):
    x = _base()
    x[2, INPUT_NAMES.index(name)] = value
    with pytest.raises(RoicastError, match=match):
        simulate_arrays(x, DEMAND, seed=1, discount_rate=0.1)


def test_simulate_arrays_validates_the_rest():
    x = _base()
    with pytest.raises(RoicastError, match="expected shape"):
        simulate_arrays(x[:, :5], DEMAND, seed=1, discount_rate=0.1)
    with pytest.raises(RoicastError, match="sorted by total volume"):
        simulate_arrays(x, DEMAND[::-1], seed=1, discount_rate=0.1)
    with pytest.raises(RoicastError, match="finite and >= 0"):
        simulate_arrays(x, -DEMAND, seed=1, discount_rate=0.1)
    with pytest.raises(RoicastError, match="at least one path"):
        simulate_arrays(x, np.zeros((0, 4)), seed=1, discount_rate=0.1)
    with pytest.raises(RoicastError, match="seed"):
        simulate_arrays(x, DEMAND, seed=-1, discount_rate=0.1)
    with pytest.raises(RoicastError, match="price_seed"):
        simulate_arrays(x, DEMAND, seed=1, price_seed=2**64, discount_rate=0.1)
    with pytest.raises(RoicastError, match="discount_rate"):
        simulate_arrays(x, DEMAND, seed=1, discount_rate=-1.0)
    with pytest.raises(RoicastError, match="draw_ids: expected 4 integers"):
        simulate_arrays(x, DEMAND, seed=1, discount_rate=0.1, draw_ids=np.arange(3))
    with pytest.raises(RoicastError, match="draw_ids: -1 is negative"):
        simulate_arrays(x, DEMAND, seed=1, discount_rate=0.1, draw_ids=np.array([0, 1, 2, -1]))
    with pytest.raises(RoicastError, match="draw_offset"):
        simulate_arrays(x, DEMAND, seed=1, discount_rate=0.1, draw_offset=-3)
    m, _ = simulate_arrays(x, DEMAND, seed=1, discount_rate=0.1)  # and a valid call runs
    assert np.isfinite(m[:, METRIC_NAMES.index("npv")]).all()


# ---------------------------------------------------------------- layout


def test_layout_is_defined_once():
    assert INPUT_NAMES is L.INPUT_NAMES and METRIC_NAMES is L.METRIC_NAMES
    assert len(set(INPUT_NAMES)) == L.N_INPUTS
    for prefix, names in (("I_", INPUT_NAMES), ("M_", METRIC_NAMES), ("S_", SERIES_NAMES)):
        idx = sorted(getattr(L, k) for k in dir(L) if k.startswith(prefix))
        assert idx == list(range(len(names))), prefix  # every column has exactly one constant
    assert INPUT_NAMES[:N_LEGACY_INPUTS][-1] == "indirect.benefit_per_month"  # old columns fixed


# ---------------------------------------------------------------- imports


def test_import_does_not_load_the_front():
    code = (
        "import sys, roicast.simulate\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('pydantic', 'typer', 'jinja2') "
        "or m in ('roicast.spec', 'roicast.study', 'roicast.sampling', 'roicast.report', "
        "'roicast.cli', 'roicast.forecast', 'roicast.sensitivity')]\n"
        "print(','.join(sorted(bad)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == ""
