"""Tests of roicast.sensitivity.breakeven."""

import numpy as np
import pytest
from scipy import stats

from roicast.errors import RoicastError
from roicast.sensitivity import break_even

INPUTS = {
    "gain": stats.uniform(1.0, 2.0),  # U(1, 3), median 2
    "price": stats.uniform(0.5, 1.0),  # U(0.5, 1.5), median 1
    "demand": stats.lognorm(0.3, scale=1.0),  # median 1
}


def mean_npv(x):
    # A linear "mean NPV": 10 g - 8 p + 0.5 d - 10; at base 10*2 - 8 + 0.5 - 10 = 2.5.
    return 10.0 * x["gain"] - 8.0 * x["price"] + 0.5 * x["demand"] - 10.0


def test_break_even_linear_model():
    res = break_even(mean_npv, INPUTS)
    assert res.base_output == pytest.approx(2.5)
    # gain: 10 g - 8 + 0.5 - 10 = 0 -> g = 1.75 (quantile 0.375 of U(1, 3))
    assert res["gain"].value == pytest.approx(1.75, abs=1e-3)
    assert res["gain"].quantile == pytest.approx(0.375, abs=1e-4)
    assert res["gain"].below_target_when == "lower"
    # price: 20 - 8 p + 0.5 - 10 = 0 -> p = 1.3125 (quantile 0.8125)
    assert res["price"].value == pytest.approx(1.3125, abs=1e-3)
    assert res["price"].below_target_when == "higher"
    # demand would need to reach -5: not within its range.
    assert res["demand"].value is None
    assert "not within the input's range" in res["demand"].reason
    assert "stays above target" in res["demand"].reason
    # evaluation budget: 1 base row + 3 inputs x 9 grid rows + brentq refinements
    assert res.n_evals <= 1 + 3 * 9 + 2 * 12
    df = res.to_dataframe()
    assert np.isnan(df.loc["demand", "value"])
    assert res.to_dict()["inputs"][2]["value"] is None


def test_break_even_target_and_base_override():
    res = break_even(mean_npv, INPUTS, target=1.0, base={"price": 1.1})
    # 10 g - 8.8 + 0.5 - 10 = 1 -> g = 1.93
    assert res["gain"].value == pytest.approx(1.93, abs=1e-3)
    assert res.base["price"] == 1.1


def test_break_even_nonmonotonic_reports_crossing_nearest_median():
    inputs = {"u": stats.uniform(0.0, 1.0)}
    # (u - 0.5)^2 - 0.04 crosses zero at 0.3 and 0.7, equidistant from the median;
    # shift to make 0.35 and 0.75 -> nearest the median: 0.35 (distance 0.15).
    res = break_even(lambda x: (x["u"] - 0.55) ** 2 - 0.04, inputs)
    assert res["u"].n_crossings == 2
    assert res["u"].value == pytest.approx(0.35, abs=1e-3)


def test_break_even_fixed_input_and_bad_input():
    class Fixed:
        def ppf(self, q):
            return np.full(np.shape(q), 3.0)

    res = break_even(lambda x: x["a"] - 1.0, {"a": Fixed()})
    assert res["a"].value is None and res["a"].reason == "input is fixed (no range)"
    with pytest.raises(RoicastError, match="unknown input 'b'"):
        break_even(mean_npv, INPUTS, base={"b": 1.0})
    with pytest.raises(RoicastError, match="`grid`"):
        break_even(mean_npv, INPUTS, grid=1)
    with pytest.raises(RoicastError, match="`q_range`"):
        break_even(mean_npv, INPUTS, q_range=(0.9, 0.1))
    with pytest.raises(RoicastError, match="one value per row"):
        break_even(lambda x: np.zeros(2), INPUTS)
