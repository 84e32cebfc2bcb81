"""Several options in one study: comparison, combinations, and bad option or decision input."""

from __future__ import annotations

import copy
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest

from roicast.errors import RoicastError
from roicast.report.summary import summary
from roicast.spec import spec_from_dict
from roicast.study import run_study
from tests.conftest import no_history_raw

DEMO = Path(str(files("roicast.demo")))


def options_raw() -> dict:
    return no_history_raw("options", draws=1000, seed=8)


@pytest.fixture(scope="module")
def study():
    return run_study(spec_from_dict(options_raw()))


@pytest.fixture(scope="module")
def doc(study):
    return summary(study)


def _npv(study, name: str) -> np.ndarray:
    return study.options[name].metrics["npv"].values


def test_four_options_with_a_combination(study, doc):
    assert list(study.options) == ["fp8", "batching", "both", "api"]
    assert study.spec.options[2].combines == ["fp8", "batching"]
    assert [o["name"] for o in doc["options"]] == ["fp8", "batching", "both", "api"]
    for o in doc["options"]:
        assert o["decision"]["verdict"] in ("go", "no-go") and o["decision"]["conditions"]
        assert o["npv"]["mean"] == pytest.approx(_npv(study, o["name"]).mean(), rel=1e-12)
    # the options differ (their own throughput gains), and are drawn with common random numbers
    means = {n: _npv(study, n).mean() for n in study.options}
    assert len({round(v) for v in means.values()}) == 4
    v = study.sample.values
    np.testing.assert_array_equal(
        v.sel(option="fp8", input="demand").values, v.sel(option="both", input="demand").values
    )


def test_probability_of_being_best_sums_to_one_with_do_nothing(study, doc):
    comp = doc["options_comparison"]
    prob = comp["prob_best"]
    assert set(prob) == {"fp8", "batching", "both", "api", "do nothing"}
    assert sum(prob.values()) == pytest.approx(1.0, abs=1e-12)
    # independently: per draw, the highest NPV among the options and 0 (do nothing)
    npv = np.stack([_npv(study, n) for n in ("fp8", "batching", "both", "api")] + [np.zeros(1000)])
    winner = npv.argmax(axis=0)
    for i, name in enumerate(("fp8", "batching", "both", "api", "do nothing")):
        assert prob[name] == (winner == i).mean(), name
    assert all(0 <= p <= 1 for p in prob.values())


def test_pareto_frontier(study, doc):
    comp = doc["options_comparison"]
    pts = {o["name"]: (o["npv"]["mean"], o["npv"]["p10"]) for o in doc["options"]}
    best_mean = max(pts, key=lambda n: pts[n][0])
    assert best_mean in comp["pareto_frontier"]
    assert comp["ranking"][0] == best_mean
    dominated = {
        n
        for n in pts
        for o in pts
        if o != n and pts[o][0] >= pts[n][0] and pts[o][1] >= pts[n][1] and pts[o] != pts[n]
    }
    assert set(comp["pareto_frontier"]) == set(pts) - dominated
    for row in comp["table"]:
        assert row["pareto"] == (row["option"] in comp["pareto_frontier"])


def test_value_of_combining(study, doc):
    (combo,) = doc["options_comparison"]["combinations"]
    assert combo["option"] == "both" and combo["combines"] == ["fp8", "batching"]
    m = {n: _npv(study, n).mean() for n in study.options}
    assert combo["value_over_best_single"] == pytest.approx(
        m["both"] - max(m["fp8"], m["batching"]), rel=1e-9, abs=1e-6
    )
    assert combo["interaction"] == pytest.approx(
        m["both"] - m["fp8"] - m["batching"], rel=1e-9, abs=1e-6
    )
    better = _npv(study, "both") > np.maximum(_npv(study, "fp8"), _npv(study, "batching"))
    assert combo["prob_better_than_each"] == better.mean()


def test_top_level_numbers_describe_the_recommended_option(study, doc):
    per = {o["name"]: o for o in doc["options"]}
    go = [n for n, o in per.items() if o["decision"]["verdict"] == "go"]
    pool = go or list(per)
    assert doc["option"] == max(pool, key=lambda n: per[n]["npv"]["mean"])
    assert doc["npv"] == per[doc["option"]]["npv"]
    assert doc["decision"] == per[doc["option"]]["decision"]


def test_each_option_has_its_own_sensitivity(study):
    for name, res in study.options.items():
        assert all(
            getattr(res, k) is not None for k in ("rankings", "break_even", "evpi", "sobol")
        ), name
        assert set(res.tornado["npv"].index) == set(study.sample.free_inputs(name))
    # batching's cost per update is fixed: not a free input of that option
    assert "churn.cost_per_update" not in study.sample.free_inputs("batching")
    assert "churn.cost_per_update" in study.sample.free_inputs("fp8")


# ------------------------------------------------------------------- bad input


def _error(raw) -> str:
    with pytest.raises(RoicastError) as e:
        spec_from_dict(raw, source="s.toml")
    msg = str(e.value)
    assert "\n" not in msg, msg
    return msg


def test_duplicate_option_names_are_refused():
    raw = options_raw()
    raw["option"][1]["name"] = "fp8"
    msg = _error(raw)
    assert msg == "s.toml: option.name: option names must be unique; 'fp8' repeats"


@pytest.mark.parametrize(
    ("block", "expected"),
    [
        (
            {"throughput_gian": 2.0},
            "s.toml: option[batching].throughput_gian: unknown key `throughput_gian` (value 2.0)",
        ),
        (
            {"implementation": {"monthz": 3}},
            "s.toml: option[batching].implementation.monthz: unknown key `monthz` (value 3)",
        ),
        (
            {"optimized": {"utilisation": 0.5}},
            "s.toml: option[batching].optimized.utilisation: unknown key `utilisation` (value 0.5)",
        ),
        (
            {"baseline": {"price": 3.0}},  # not a section an option may override
            "s.toml: option[batching].baseline: unknown key `baseline`",
        ),
    ],
)
def test_option_field_that_does_not_exist_is_refused(block, expected):
    raw = options_raw()
    raw["option"][1].update(block)
    assert _error(raw).startswith(expected)


def test_option_field_value_is_validated_with_the_option_named():
    raw = options_raw()
    raw["option"][1]["utilization"] = 1.4
    assert (
        _error(raw)
        == "s.toml: option[batching].optimized.utilization: value 1.4; must lie in (0, 1]"
    )


@pytest.mark.parametrize("combines", [["fp8", "nope"], ["both", "fp8"]], ids=["unknown", "itself"])
def test_combines_naming_an_unknown_option_is_refused(combines):
    raw = options_raw()
    raw["option"][2]["combines"] = combines
    bad = next(c for c in combines if c not in ("fp8", "batching"))
    assert _error(raw) == (
        f"s.toml: option[both].combines: {bad!r} is not another option of this spec "
        "(options: fp8, batching, both, api)"
    )


@pytest.mark.parametrize(
    ("decision", "expected"),
    [
        (
            {"min_prob_positive_npv": 1.5},
            "s.toml: decision.min_prob_positive_npv: input should be less than or equal to 1 (got 1.5)",
        ),
        (
            {"min_prob_positive_npv": -0.1},
            "s.toml: decision.min_prob_positive_npv: input should be greater than or equal to 0",
        ),
        (
            {"max_payback_p50_months": -3},
            "s.toml: decision.max_payback_p50_months: input should be greater than 0 (got -3)",
        ),
        (
            {"max_payback_p50_months": 0},
            "s.toml: decision.max_payback_p50_months: input should be greater than 0 (got 0)",
        ),
        ({"min_npv_p10": "big"}, "s.toml: decision.min_npv_p10: input should be a valid number"),
        ({"max_prob": 0.5}, "s.toml: decision.max_prob: unknown key `max_prob` (value 0.5)"),
    ],
)
def test_impossible_decision_threshold_is_refused(decision, expected):
    raw = options_raw()
    raw["decision"] = decision
    assert _error(raw).startswith(expected)


def test_options_raw_is_left_unchanged():
    raw = options_raw()
    before = copy.deepcopy(raw)
    spec = spec_from_dict(raw)
    assert raw == before
    assert spec.option_names == ["fp8", "batching", "both", "api"]
