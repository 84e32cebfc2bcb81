"""Tests of roicast.sensitivity.scenarios."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from roicast.errors import RoicastError
from roicast.sensitivity import tail_scenarios, three_point_cases


@pytest.fixture
def run():
    rng = np.random.default_rng(5)
    n = 20_000
    X = pd.DataFrame(
        {
            "gain": rng.uniform(0, 1, n),
            "price": rng.uniform(0, 1, n),
            "noise": rng.normal(size=n),
            "fixed": np.ones(n),
        }
    )
    y = 10.0 * X["gain"] - 2.0 * X["price"]
    return X, y.to_numpy()


def test_single_input_tail_shift_is_exact():
    # y = x, x ~ U(0, 1): the worst tail is x <= P10, whose mean is 0.05; overall
    # mean 0.5, sd 1/sqrt(12): z = (0.05 - 0.5) * sqrt(12) = -1.5588.  MC error of z:
    # dominated by the sample's overall mean, SE (1/sqrt 12)/sqrt(20 000) = 0.002,
    # i.e. 0.007 in z (the sd of z over 300 seeds was 0.0067): tolerance 4 SE = 0.028.
    rng = np.random.default_rng(0)
    x = rng.uniform(size=20_000)
    sc = tail_scenarios(pd.DataFrame({"x": x}), x)
    assert sc["worst"].shifts.loc["x", "z"] == pytest.approx(-0.45 * np.sqrt(12), abs=0.028)
    assert sc["best"].shifts.loc["x", "z"] == pytest.approx(0.45 * np.sqrt(12), abs=0.028)
    assert abs(sc["expected"].shifts.loc["x", "z"]) < 0.028
    assert sc["worst"].value == pytest.approx(np.quantile(x, 0.1))


def test_drivers_and_directions(run):
    X, y = run
    sc = tail_scenarios(X, y, top=2)
    assert list(sc) == ["worst", "expected", "best"]
    worst = sc["worst"]
    assert list(worst.drivers.index) == ["gain", "price"]
    assert list(worst.drivers["direction"]) == ["low", "high"]
    assert list(sc["best"].drivers["direction"]) == ["high", "low"]
    assert worst.selection == "y <= P10" and worst.n_draws == 2000
    # expected: draws within P45..P55 -> 10 % of them
    assert sc["expected"].n_draws == pytest.approx(0.1 * len(y), abs=2)
    assert sc["worst"].shifts.loc["fixed", "z"] == 0.0
    d = worst.to_dict()
    assert d["name"] == "worst" and d["drivers"][0]["input"] == "gain"


def test_window_tails_select_around_quantile(run):
    X, y = run
    sc = tail_scenarios(X, y, tails="window", window=0.02)
    assert sc["worst"].selection == "0.08 <= F(y) <= 0.12"
    assert sc["worst"].n_draws == pytest.approx(0.04 * len(y), abs=2)
    # At P10 (not below it) the gain shift is smaller than in the whole tail.
    beyond = tail_scenarios(X, y)["worst"].shifts.loc["gain", "z"]
    assert beyond < sc["worst"].shifts.loc["gain", "z"] < 0


def test_tail_scenarios_bad_input(run):
    X, y = run
    with pytest.raises(RoicastError, match="three numbers"):
        tail_scenarios(X, y, quantiles=(0.1, 0.9))
    with pytest.raises(RoicastError, match="increasing"):
        tail_scenarios(X, y, quantiles=(0.9, 0.5, 0.1))
    with pytest.raises(RoicastError, match="`top`"):
        tail_scenarios(X, y, top=0)
    with pytest.raises(RoicastError, match="`tails`"):
        tail_scenarios(X, y, tails="both")


INPUTS = {
    "gain": stats.uniform(1.0, 2.0),  # U(1, 3)
    "price": stats.norm(1.0, 0.1),
    "inert": stats.uniform(0.0, 1.0),
}


def model(x):
    return 10.0 * x["gain"] - 8.0 * x["price"] + 0.0 * x["inert"]


def test_three_point_cases_directions_from_one_at_a_time():
    cases = three_point_cases(model, INPUTS)
    assert cases.label == "deterministic"
    assert dict(cases.direction) == {"gain": 1, "price": -1, "inert": 0}
    z = stats.norm.ppf(0.9)
    assert cases.values.loc["adverse", "gain"] == pytest.approx(1.2)
    assert cases.values.loc["adverse", "price"] == pytest.approx(1.0 + 0.1 * z)
    assert cases.values.loc["favourable", "price"] == pytest.approx(1.0 - 0.1 * z)
    assert (cases.values["inert"] == 0.5).all()
    assert cases.output["base"] == pytest.approx(10 * 2.0 - 8 * 1.0)
    assert cases.output["adverse"] == pytest.approx(10 * 1.2 - 8 * (1 + 0.1 * z))
    assert cases.output["adverse"] < cases.output["base"] < cases.output["favourable"]
    assert cases.n_evals == 1 + 2 * 3 + 3
    assert cases.to_dict()["cases"]["favourable"]["inputs"]["gain"] == pytest.approx(2.8)


def test_three_point_cases_given_direction_overrides():
    cases = three_point_cases(model, INPUTS, favourable_direction={"price": 1}, low=0.05, high=0.95)
    assert cases.direction["price"] == 1
    assert cases.values.loc["favourable", "price"] > cases.values.loc["adverse", "price"]
    assert cases.n_evals == 1 + 2 * 2 + 3  # price's sign was not evaluated


def test_three_point_cases_bad_input():
    with pytest.raises(RoicastError, match="unknown input 'cost'"):
        three_point_cases(model, INPUTS, favourable_direction={"cost": 1})
    with pytest.raises(RoicastError, match=r"must be \+1 or -1"):
        three_point_cases(model, INPUTS, favourable_direction={"gain": 2})
    with pytest.raises(RoicastError, match=r"low < 0\.5 < high"):
        three_point_cases(model, INPUTS, low=0.6)
