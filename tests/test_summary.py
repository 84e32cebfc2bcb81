"""summary.json: the documented keys, the decision rule on numbers we control, strict JSON."""

from __future__ import annotations

import dataclasses
import json
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest

from roicast import __version__
from roicast.report import write_report
from roicast.report.summary import summary
from roicast.spec import spec_from_dict
from roicast.study import run_study, summarize_distribution
from tests.conftest import no_history_raw

DEMO = Path(str(files("roicast.demo")))


def fast_raw() -> dict:
    return no_history_raw(draws=1000, seed=5)


def controlled_raw(benefit) -> dict:
    """Every input fixed but the indirect benefit: NPV = NPV0 + A·b, linear in b.

    Flat demand, no price drift or volatility, no churn: nothing else varies
    from draw to draw.
    """
    return {
        "project": {"name": "controlled", "start": "2026-01", "horizon_months": 24},
        "demand": {"start_volume": 5.0e7, "annual_growth": 0.0, "paths": 20},
        "baseline": {"throughput": 2.0, "utilization": 0.35, "price": 3.5, "floor_instances": 2},
        "optimized": {"throughput_gain": 1.5},
        "implementation": {
            "months": 3,
            "ramp_months": 1,
            "engineer_months": 4,
            "engineer_cost": 25_000,
            "validation_cost": 20_000,
        },
        "indirect": {"benefit_per_month": benefit},
        "simulation": {"draws": 1000, "seed": 3, "tornado_draws": 100, "sobol_n": 256},
    }


LOW, HIGH = -40_000.0, 20_000.0


def _npv(result) -> np.ndarray:
    return result.options["optimized"].metrics["npv"].values


@pytest.fixture(scope="module")
def controlled():
    """The study with b ~ uniform(LOW, HIGH) and the exact P(NPV > 0) from the two ends."""
    ends = [
        float(_npv(run_study(spec_from_dict(controlled_raw(b)), draws=100, sensitivity=False))[0])
        for b in (LOW, HIGH)
    ]
    assert ends[0] < 0 < ends[1]  # the range straddles break-even
    b_star = LOW - ends[0] * (HIGH - LOW) / (ends[1] - ends[0])  # linear in b
    p_true = (HIGH - b_star) / (HIGH - LOW)
    raw = controlled_raw({"dist": "uniform", "low": LOW, "high": HIGH})
    result = run_study(spec_from_dict(raw), sensitivity=False)
    return raw, result, p_true


def _with_decision(raw: dict, result, **decision):
    spec = spec_from_dict({**raw, "decision": decision})
    return summary(dataclasses.replace(result, spec=spec))["decision"]


def strict_loads(text: str):
    def refuse(token):
        raise ValueError(f"non-standard JSON constant {token}")

    return json.loads(text, parse_constant=refuse)


# --------------------------------------------------------------------- keys


@pytest.fixture(scope="module")
def study():
    return run_study(spec_from_dict(fast_raw()))


DIST_KEYS = {"mean", "p10", "p50", "p90", "sd", "se_mean"}


def test_summary_has_the_documented_keys(study, tmp_path):
    doc = write_report(study, tmp_path / "out", report=False)
    on_disk = strict_loads((tmp_path / "out" / "summary.json").read_text())
    assert on_disk.keys() == doc.keys()
    top = {
        "project", "draws", "seed", "horizon_months", "start_month", "currency", "unit",
        "discount_rate", "option", "roi", "npv", "payback_months", "prob_npv_negative",
        "scenarios", "tornado", "decision", "convergence", "value_of_information",
        "sensitivity", "details", "forecast", "inputs", "roicast_version", "spec_hash",
    }  # fmt: skip
    assert top <= on_disk.keys()
    assert "options" not in on_disk  # one option only
    assert on_disk["draws"] == 1000 and on_disk["seed"] == 5 and on_disk["horizon_months"] == 36
    assert on_disk["start_month"] == "2026-01" and on_disk["option"] == "optimized"
    assert on_disk["roicast_version"] == __version__
    assert on_disk["spec_hash"] == study.spec.spec_hash and len(on_disk["spec_hash"]) == 16
    for k in ("roi", "npv"):
        assert DIST_KEYS <= on_disk[k].keys()
    assert DIST_KEYS | {"prob_within_horizon"} <= on_disk["payback_months"].keys()
    for case in ("worst", "expected", "best"):
        assert {"npv", "roi", "drivers"} <= on_disk["scenarios"][case].keys()
    assert {"adverse", "base", "favourable"} <= on_disk["scenarios"]["deterministic"].keys()
    for stat in ("mean", "p10", "p50", "p90"):
        assert on_disk["convergence"][stat].keys() == {"value", "se", "rel_half_width"}
    voi = on_disk["value_of_information"]
    assert voi["evpi"] >= 0 and set(voi["evppi"]) <= set(on_disk["inputs"])
    sens = on_disk["sensitivity"]
    assert {"rankings", "nonmonotonic", "sobol", "break_even", "three_point"} <= sens.keys()
    assert {"input", "spearman", "contribution", "nonmonotonic"} <= sens["rankings"][0].keys()
    assert {"monthly", "model", "warnings"} <= on_disk["forecast"].keys()
    for bar in on_disk["tornado"]:
        assert bar.keys() - {"low_volume", "high_volume", "base_volume"} == {
            "input", "low", "high", "swing", "low_value", "high_value", "base",
        }  # fmt: skip
        assert (bar["input"] == "demand") == ("low_volume" in bar)  # demand rows carry volumes
    assert {"verdict", "rule", "conditions", "reason"} <= on_disk["decision"].keys()
    for c in on_disk["decision"]["conditions"]:
        assert {"value", "threshold", "passed"} <= c.keys()
    details = on_disk["details"]
    assert {
        "discounted_payback_months", "irr", "tco_baseline", "tco_optimized",
        "cost_per_million_baseline", "cost_per_million_optimized", "instance_hours_saved",
        "investment", "tornado_by_output",
    } <= details.keys()  # fmt: skip
    assert {"roi", "payback_months"} <= details["tornado_by_output"].keys()
    assert "optimized.throughput_gain" in on_disk["inputs"]


def test_summary_numbers_are_the_draws_statistics(study):
    doc = summary(study)
    m = study.options["optimized"].metrics
    npv, pb = m["npv"].values, m["payback_months"].values
    assert doc["npv"]["mean"] == pytest.approx(npv.mean(), rel=1e-12)
    np.testing.assert_allclose(
        [doc["npv"][k] for k in ("p10", "p50", "p90")], np.quantile(npv, [0.1, 0.5, 0.9])
    )
    assert doc["npv"]["se_mean"] == pytest.approx(npv.std(ddof=1) / np.sqrt(npv.size))
    assert doc["prob_npv_negative"] == (npv < 0).mean()
    assert 0 < doc["prob_npv_negative"] < 1  # a study with both outcomes
    assert doc["payback_months"]["prob_within_horizon"] == np.isfinite(pb).mean()
    assert doc["payback_months"]["mean"] == pytest.approx(pb[np.isfinite(pb)].mean())
    assert doc["scenarios"]["worst"]["npv"] == doc["npv"]["p10"]
    assert doc["scenarios"]["best"]["npv"] == doc["npv"]["p90"]
    swings = [b["swing"] for b in doc["tornado"]]
    assert swings == sorted(swings, reverse=True)


# ------------------------------------------------------------------ decision


def test_controlled_probability_of_positive_npv(controlled):
    # b is drawn by Latin hypercube: exactly one of the 1000 draws in each
    # 1/1000 stratum, so the share of draws with b > b* is within 1/1000 of
    # P(b > b*); we allow 2/1000.
    raw, result, p_true = controlled
    assert 0.2 < p_true < 0.8
    decision = _with_decision(raw, result, min_prob_positive_npv=0.5)
    assert decision["conditions"][0]["value"] == pytest.approx(p_true, abs=0.002)
    assert decision["prob_npv_positive"] == decision["conditions"][0]["value"]


@pytest.mark.parametrize(
    ("rule", "passes"),
    [
        ({"min_prob_positive_npv": "p - 0.05"}, [True]),
        ({"min_prob_positive_npv": "p + 0.05"}, [False]),
        ({"min_prob_positive_npv": "p"}, [True]),  # "at least": equal passes
        ({"min_prob_positive_npv": 0.0, "max_payback_p50_months": "pb + 1"}, [True, True]),
        ({"min_prob_positive_npv": 0.0, "max_payback_p50_months": "pb - 1"}, [True, False]),
        ({"min_prob_positive_npv": 0.0, "min_npv_p10": "p10 - 1"}, [True, True]),
        ({"min_prob_positive_npv": 0.0, "min_npv_p10": "p10 + 1"}, [True, False]),
        (
            {
                "min_prob_positive_npv": "p + 0.05",
                "max_payback_p50_months": "pb - 1",
                "min_npv_p10": "p10 + 1",
            },
            [False, False, False],
        ),
        (
            {
                "min_prob_positive_npv": "p - 0.05",
                "max_payback_p50_months": "pb + 1",
                "min_npv_p10": "p10 + 1",
            },
            [True, True, False],
        ),
    ],
)
def test_decision_rule(controlled, rule, passes):
    raw, result, _ = controlled
    npv = _npv(result)
    pb = result.options["optimized"].metrics["payback_months"].values
    stats = {
        "p": float((npv > 0).mean()),
        # the decision checks the same P50 that summary.json reports
        "pb": summarize_distribution(pb)["p50"],
        "p10": float(np.quantile(npv, 0.1)),
    }
    assert np.isfinite(stats["pb"]) and stats["pb"] > 2
    thresholds = {}
    for field, expr in rule.items():
        if isinstance(expr, str):
            name, _, delta = expr.partition(" ")
            expr = stats[name] + (float(delta.replace(" ", "")) if delta else 0.0)
        thresholds[field] = expr
    decision = _with_decision(raw, result, **thresholds)
    conds = decision["conditions"]
    assert [c["passed"] for c in conds] == passes
    fields = list(thresholds)
    for c, field in zip(conds, fields, strict=True):
        assert c["threshold"] == thresholds[field]
        assert field in c["rule"]
    statistic = {
        "min_prob_positive_npv": stats["p"],
        "max_payback_p50_months": stats["pb"],
        "min_npv_p10": stats["p10"],
    }
    assert [c["value"] for c in conds] == pytest.approx([statistic[f] for f in fields])
    assert decision["verdict"] == ("go" if all(passes) else "no-go")
    assert decision["rule"] == " and ".join(c["rule"] for c in conds)
    if all(passes):
        assert decision["reason"] == "all conditions pass"
    else:
        assert decision["reason"].startswith("failed: ")
        for c in conds:
            assert (c["rule"] in decision["reason"]) == (not c["passed"])


def test_payback_not_reached_fails_the_payback_condition(tmp_path):
    raw = controlled_raw(-50_000.0)  # loses money every month
    raw["decision"] = {"min_prob_positive_npv": 0.0, "max_payback_p50_months": 12}
    result = run_study(spec_from_dict(raw), draws=200, sensitivity=False)
    doc = write_report(result, tmp_path / "out", report=False)
    cond = doc["decision"]["conditions"][1]
    assert cond["value"] is None and cond["passed"] is False
    assert doc["decision"]["verdict"] == "no-go"
    assert doc["decision"]["reason"] == "failed: P50 payback months <= max_payback_p50_months"
    on_disk = strict_loads((tmp_path / "out" / "summary.json").read_text())
    assert on_disk["payback_months"]["p50"] is None
    assert on_disk["payback_months"]["prob_within_horizon"] == 0.0


# ------------------------------------------------------------------- strict JSON


def _zero_investment(raw):
    raw["implementation"] = {"months": 0}  # ROI undefined (K = 0), payback 0, IRR NaN
    return raw


def _losing(raw):
    raw["indirect"]["benefit_per_month"] = -50_000.0  # payback and IRR never defined
    return raw


@pytest.mark.parametrize(
    "make",
    [
        lambda: fast_raw(),
        lambda: _zero_investment(controlled_raw(0.0)),
        lambda: _losing(controlled_raw(0.0)),
    ],
    ids=["uncertain", "zero-investment", "losing"],
)
def test_summary_json_has_no_nan_or_infinity(make, tmp_path):
    raw = make()
    result = run_study(spec_from_dict(raw), draws=300, sensitivity=False)
    m = result.options["optimized"].metrics
    doc = write_report(result, tmp_path / "out", report=False)
    text = (tmp_path / "out" / "summary.json").read_text()
    assert strict_loads(text).keys() == doc.keys()
    for token in ("NaN", "Infinity"):
        assert token not in text
    on_disk = strict_loads(text)
    # the degenerate cases do have non-finite draws, written as null
    if not np.isfinite(m["irr"].values).any():
        assert on_disk["details"]["irr"]["mean"] is None
    if not np.isfinite(m["roi"].values).any():
        assert on_disk["roi"]["mean"] is None and on_disk["scenarios"]["worst"]["roi"] is None
