"""Tests of the vectorized one-at-a-time tornado."""

from collections.abc import Mapping

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from roicast.errors import RoicastError
from roicast.sensitivity import TornadoResult, tornado

INPUTS = {"a": stats.norm(1, 2), "b": stats.lognorm(0.5), "c": stats.uniform(2, 3)}


def model(x):
    return {"npv": x["a"] * x["b"] - 0.1 * x["c"] ** 2, "roi": x["a"] / (1.0 + x["b"])}


def scalar_reference(inputs, low, high):
    """The pre-vectorization algorithm: one scalar call per setting."""
    point = {n: float(d.ppf(0.5)) for n, d in inputs.items()}

    def f(p):
        return {k: float(v[0]) for k, v in model({n: np.array([v]) for n, v in p.items()}).items()}

    base = f(point)
    rows = {k: [] for k in base}
    for name, d in inputs.items():
        lo_v, hi_v = float(d.ppf(low)), float(d.ppf(high))
        lo, hi = f({**point, name: lo_v}), f({**point, name: hi_v})
        for k in base:
            rows[k].append((name, lo_v, hi_v, lo[k], hi[k], abs(hi[k] - lo[k]), base[k]))
    cols = ["input", "low_value", "high_value", "low", "high", "swing", "base"]
    return {
        k: pd.DataFrame(r, columns=cols)
        .set_index("input")
        .sort_values("swing", ascending=False, kind="stable")
        for k, r in rows.items()
    }


def test_one_call_and_same_numbers_as_scalar_algorithm():
    calls = []

    def counted(x):
        calls.append({k: v.shape for k, v in x.items()})
        return model(x)

    res = tornado(counted, INPUTS, low=0.2, high=0.85)
    assert calls == [{"a": (7,), "b": (7,), "c": (7,)}]
    ref = scalar_reference(INPUTS, 0.2, 0.85)
    assert isinstance(res, TornadoResult) and isinstance(res, Mapping)
    assert list(res) == ["npv", "roi"] and len(res) == 2
    for k in ref:
        pd.testing.assert_frame_equal(res[k], ref[k], check_exact=True)
    assert res.n_evals == 7 and res.names == ("a", "b", "c")
    assert res.to_dataframe() is res["npv"]
    d = res.to_dict()
    assert [b["input"] for b in d["outputs"]["npv"]] == list(res["npv"].index)


def test_bare_array_output_vary_base_and_nan():
    res = tornado(lambda x: x["a"] * 2.0, INPUTS, vary=["a"], base={"b": 5.0})
    assert list(res) == ["output"]
    row = res["output"].loc["a"]
    assert row["swing"] == pytest.approx(2.0 * (INPUTS["a"].ppf(0.9) - INPUTS["a"].ppf(0.1)))
    assert res.base_point["b"] == 5.0
    nan = tornado(lambda x: np.where(x["a"] > 1.5, np.nan, x["a"]), INPUTS, vary=["a"])
    assert np.isnan(nan["output"].loc["a", "swing"])  # undefined output: a NaN bar
    assert nan.to_dict()["outputs"]["output"][0]["swing"] is None


def test_tornado_errors():
    with pytest.raises(RoicastError, match="low/high"):
        tornado(model, INPUTS, low=0.6)
    with pytest.raises(RoicastError, match="unknown input"):
        tornado(model, INPUTS, vary=["zz"])
    with pytest.raises(RoicastError, match="one value per row"):
        tornado(lambda x: {"npv": np.zeros(2)}, INPUTS)
