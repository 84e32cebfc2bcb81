"""Spec validation: every rule broken gives one line naming the field, the value and the rule."""

from __future__ import annotations

import copy

import pytest

from roicast.distributions import Fixed, Pert
from roicast.errors import RoicastError
from roicast.spec import load_spec, spec_from_dict
from tests.conftest import write_toml


def test_demo_spec_loads(small_spec):
    s = load_spec(small_spec)
    assert s.option_names == ["optimized"]
    opt = s.options[0]
    assert isinstance(opt.optimized.throughput_gain, Pert)
    assert opt.optimized.utilization is s.baseline.utilization
    assert "optimized.utilization" in opt.inherits
    assert s.history_path() == small_spec.parent / "history.csv"
    assert len(s.spec_hash) == 16


def test_spec_hash_changes_with_content(demo_raw, spec_dir):
    a = spec_from_dict(demo_raw, base_dir=spec_dir)
    raw = copy.deepcopy(demo_raw)
    raw["baseline"]["price"] = 3.6
    assert spec_from_dict(raw, base_dir=spec_dir).spec_hash != a.spec_hash
    assert spec_from_dict(copy.deepcopy(demo_raw), base_dir=spec_dir).spec_hash == a.spec_hash


def _error(raw, spec_dir) -> str:
    with pytest.raises(RoicastError) as e:
        spec_from_dict(raw, base_dir=spec_dir, source="s.toml")
    return str(e.value)


@pytest.mark.parametrize(
    ("section", "key", "value", "expected"),
    [
        ("baseline", "pricee", 3, "s.toml: baseline.pricee: unknown key `pricee` (value 3)"),
        (
            "baseline",
            "price",
            "cheap",
            "s.toml: baseline.price: expected a number or a distribution table",
        ),
        ("baseline", "price", -3, "s.toml: baseline.price: value -3; must lie in (0, 10000]"),
        (
            "baseline",
            "utilization",
            1.3,
            "s.toml: baseline.utilization: value 1.3; must lie in (0, 1]",
        ),
        ("baseline", "utilization", 0, "s.toml: baseline.utilization: value 0; must lie in (0, 1]"),
        (
            "optimized",
            "throughput_gain",
            {"dist": "pert", "min": 3, "mode": 2, "max": 4},
            "s.toml: optimized.throughput_gain: pert needs min <= mode <= max, got min=3, mode=2, max=4",
        ),
        (
            "baseline",
            "throughput",
            {"dist": "normal", "mean": 2, "sd": 1},
            "s.toml: baseline.throughput: Normal(2, sd 1) reaches -3.99781; must lie in (0, 1e+09]",
        ),
        (
            "project",
            "horizon_months",
            "x",
            "s.toml: project.horizon_months: input should be a valid integer",
        ),
        (
            "project",
            "horizon_months",
            0,
            "s.toml: project.horizon_months: input should be greater than or equal to 1 (got 0)",
        ),
        (
            "project",
            "start",
            "2026-13",
            "s.toml: project.start: '2026-13' is not a month in the form YYYY-MM",
        ),
        (
            "pricing",
            "annual_change",
            -1.5,
            "s.toml: pricing.annual_change: value -1.5; must lie in (-1, 10]",
        ),
    ],
)
def test_field_rules(demo_raw, spec_dir, section, key, value, expected):
    raw = copy.deepcopy(demo_raw)
    raw[section][key] = value
    msg = _error(raw, spec_dir)
    assert msg.startswith(expected), msg
    assert "\n" not in msg


def test_missing_required_field(demo_raw, spec_dir):
    raw = copy.deepcopy(demo_raw)
    del raw["baseline"]["price"]
    assert _error(raw, spec_dir) == "s.toml: baseline.price: missing; this field is required"


def test_demand_needs_a_source(demo_raw, spec_dir):
    raw = copy.deepcopy(demo_raw)
    del raw["demand"]["history"]
    assert "give either `history`" in _error(raw, spec_dir)


def test_missing_history_file(demo_raw, spec_dir):
    raw = copy.deepcopy(demo_raw)
    raw["demand"]["history"] = "nope.csv"
    path = write_toml(spec_dir / "s.toml", raw)
    with pytest.raises(RoicastError, match=r"demand.history: file '.*nope.csv' not found"):
        load_spec(path)


def test_not_toml(spec_dir):
    p = spec_dir / "bad.toml"
    p.write_text("[project\nname = 1")
    with pytest.raises(RoicastError, match="not valid TOML"):
        load_spec(p)


def test_options_inherit_and_override(demo_raw, spec_dir):
    raw = copy.deepcopy(demo_raw)
    raw["option"] = [
        {"name": "fp8", "throughput_gain": 1.5},
        {
            "name": "batching",
            "optimized": {"throughput_gain": 2.0},
            "implementation": {"months": 1},
        },
    ]
    s = spec_from_dict(raw, base_dir=spec_dir)
    fp8, batching = s.options
    assert fp8.optimized.throughput_gain == Fixed(1.5)
    assert batching.implementation.months == Fixed(1.0)
    # not overridden: shared
    assert fp8.implementation.engineer_months == batching.implementation.engineer_months


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ([{"name": "a"}, {"name": "a"}], "option names must be unique; 'a' repeats"),
        (
            [{"name": "a", "throughput_gainz": 2}],
            "s.toml: option[a].throughput_gainz: unknown key `throughput_gainz` (value 2)",
        ),
        (
            [{"name": "a", "optimized": {"price_ratio": -1}}],
            "s.toml: option[a].optimized.price_ratio: value -1; must lie in (0, 1000]",
        ),
    ],
)
def test_option_errors(demo_raw, spec_dir, options, expected):
    raw = copy.deepcopy(demo_raw)
    raw["option"] = options
    assert expected in _error(raw, spec_dir)


def test_no_history_mode(demo_raw, spec_dir):
    raw = copy.deepcopy(demo_raw)
    raw["demand"] = {
        "start_volume": {"p10": 1e7, "p50": 2e7, "p90": 3e7, "lower": 0},
        "annual_growth": 0.3,
    }
    s = spec_from_dict(raw, base_dir=spec_dir)
    assert s.demand.history is None and s.demand.annual_growth == Fixed(0.3)


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda r: r["demand"].__setitem__("launches", [{"month": 100, "factor": 2}]),
            "demand.launches[0].month: 100 is after the study's last month (project.horizon_months = 36)",
        ),
        (
            lambda r: r["implementation"].__setitem__("months", 36),
            "implementation.months: value 36; must be below project.horizon_months (36)",
        ),
        (
            lambda r: r["implementation"].__setitem__(
                "months", {"dist": "uniform", "low": 10, "high": 40}
            ),
            "implementation.months: Uniform(10, 40) reaches 40; must be below project.horizon_months (36)",
        ),
        (
            lambda r: r["pricing"].__setitem__("annual_volatility", 50),
            "pricing.annual_volatility: value 50; must lie in [0, 3]",
        ),
        (
            lambda r: r["baseline"].__setitem__("price", 1e300),
            "baseline.price: value 1e+300; must lie in (0, 10000]",
        ),
        (
            lambda r: r["churn"].__setitem__(
                "updates_per_year", {"dist": "discrete", "values": [1, 2], "weights": [True, 1]}
            ),
            "discrete `values` and `weights` must be numbers, not booleans",
        ),
    ],
)
def test_plausibility_rules_found_by_review(demo_raw, spec_dir, mutate, expected):
    # inputs that used to pass validation and then crash or give absurd numbers
    raw = copy.deepcopy(demo_raw)
    mutate(raw)
    assert expected in _error(raw, spec_dir)
