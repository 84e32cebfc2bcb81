"""``[decision] rank_by``: the criterion that ranks options and joins the go/no-go rule (issue 11)."""

from __future__ import annotations

import shutil
import tomllib
from pathlib import Path

import numpy as np
import pytest

from roicast.errors import RoicastError
from roicast.report.review import (
    CRITERIA,
    criterion_se,
    criterion_value,
    cvar,
    cvar_se,
    decide_metrics,
    rule_text,
)
from roicast.report.summary import best_option, summary
from roicast.spec import Decision, spec_from_dict
from roicast.study import run_study, verdict_settled
from tests.conftest import DEMO, no_history_raw, write_toml

# ----------------------------------------------------------------------------- closed forms


def test_each_criterion_in_closed_form():
    # x = 1..100 shifted by -30.5, shuffled: mean 20, median 20, worst 10 = 1..10 - 30.5
    x = np.random.default_rng(0).permutation(np.arange(1.0, 101.0)) - 30.5
    assert criterion_value(x, "mean") == pytest.approx(20.0, abs=1e-12)
    assert criterion_value(x, "p50") == pytest.approx(20.0, abs=1e-12)
    assert criterion_value(x, "cvar10") == pytest.approx(5.5 - 30.5, abs=1e-12)
    # k = ceil(0.1 n): 101 draws average the 11 lowest
    y = np.arange(101.0)
    assert cvar(y) == pytest.approx(5.0, abs=1e-12)
    assert set(CRITERIA) == {"mean", "p50", "cvar10"}
    with pytest.raises(RoicastError, match="rank_by"):
        criterion_value(x, "median")


def test_cvar_is_the_batch_definition():
    from roicast.batch.budget import cvar as batch_cvar

    x = np.random.default_rng(1).standard_t(3, size=997)
    assert cvar(x) == batch_cvar(x, 0.1)


def test_cvar_standard_error_matches_the_spread_of_replicates():
    # 400 replicates of n = 2000 standard normals: the empirical sd of the CVaR10
    # estimates has a relative standard error of 1/sqrt(2 (R - 1)) = 3.5 %, so the
    # formula's s.e. must agree with it within 4 of those (14 %).
    rng = np.random.default_rng(2)
    reps = rng.standard_normal((400, 2000))
    est = np.array([cvar(r) for r in reps])
    se = np.array([cvar_se(r) for r in reps[:50]]).mean()
    rel = 1 / np.sqrt(2 * (len(est) - 1))
    assert est.std(ddof=1) == pytest.approx(se, rel=4 * rel)
    # the closed form of the N(0, 1) lower 10 % tail mean: -phi(z_0.1)/0.1 = -1.7550
    assert est.mean() == pytest.approx(-1.75498, abs=4 * est.std(ddof=1) / np.sqrt(len(est)))


# ----------------------------------------------------------------------------- the rule

# 85 draws at +1, 15 at -20: P(NPV > 0) = 0.85, mean -2.15, P50 = 1, CVaR10 = -20
_NPV = np.r_[np.full(85, 1.0), np.full(15, -20.0)]
_PAYBACK = np.full(100, 12.0)


def test_default_rule_is_the_rule_before_rank_by():
    dec = decide_metrics(_NPV, _PAYBACK, Decision())
    assert dec["rank_by"] == "mean"
    assert dec["rule"] == "P(NPV > 0) >= min_prob_positive_npv"
    assert len(dec["conditions"]) == 1
    assert dec["verdict"] == "go"  # a negative mean does not fail the unchanged rule
    assert dec["criterion"]["value"] == pytest.approx(-2.15)
    assert rule_text(Decision()) == "go when P(NPV > 0) ≥ 80%"


@pytest.mark.parametrize(
    ("rank_by", "value", "verdict"),
    [("p50", 1.0, "go"), ("cvar10", -20.0, "no-go")],
)
def test_robust_criterion_joins_the_rule(rank_by, value, verdict):
    dec = decide_metrics(_NPV, _PAYBACK, Decision(rank_by=rank_by))
    cond = dec["conditions"][-1]
    assert cond["rule"] == f"{CRITERIA[rank_by]} > 0"
    assert cond["value"] == pytest.approx(value)
    assert cond["passed"] is (value > 0)
    assert dec["verdict"] == verdict
    assert dec["conditions"][0]["passed"]  # P(NPV > 0) = 0.85 >= 0.8 still checked
    assert f"{CRITERIA[rank_by]} > 0" in rule_text(Decision(rank_by=rank_by))
    if verdict == "no-go":
        assert "CVaR10 NPV > 0" in dec["reason"]


def test_p50_condition_bites_below_a_threshold_of_one_half():
    npv = np.r_[np.full(60, -1.0), np.full(40, 5.0)]  # P(NPV > 0) = 0.4, median -1
    loose = Decision(min_prob_positive_npv=0.3)
    assert decide_metrics(npv, _PAYBACK, loose)["verdict"] == "go"
    assert (
        decide_metrics(npv, _PAYBACK, Decision(min_prob_positive_npv=0.3, rank_by="p50"))["verdict"]
        == "no-go"
    )


def test_until_stable_settles_the_criterion_too():
    x = np.random.default_rng(3).normal(1.0, 1.0, 4000)  # P(NPV > 0) = 0.84, CVaR10 < 0
    d = Decision(min_prob_positive_npv=0.5, rank_by="cvar10")
    got = verdict_settled(x, np.full(x.size, 6.0), d)
    assert got["verdict"] == "no-go" and got["settled"]
    assert (
        verdict_settled(x, np.full(x.size, 6.0), Decision(min_prob_positive_npv=0.5))["verdict"]
        == "go"
    )


def test_best_option_prefers_go_then_the_criterion():
    def opt(verdict: str, mean: float, value: float) -> dict:
        return {
            "decision": {"verdict": verdict},
            "npv": {"mean": mean},
            "criterion": {"value": value},
        }

    per = {"a": opt("go", 10.0, -5.0), "b": opt("go", 5.0, 3.0), "c": opt("no-go", 99.0, 99.0)}
    assert best_option(per) == "b"  # highest criterion among the "go" options
    per_old = {k: {kk: vv for kk, vv in v.items() if kk != "criterion"} for k, v in per.items()}
    assert best_option(per_old) == "a"  # summaries without a criterion rank by mean NPV


def test_spec_refuses_an_unknown_criterion():
    raw = no_history_raw("quantization", draws=200)
    raw["decision"]["rank_by"] = "median"
    with pytest.raises(RoicastError) as err:
        spec_from_dict(raw)
    msg = str(err.value)
    assert "decision.rank_by" in msg and "'median'" in msg and "cvar10" in msg
    assert "\n" not in msg


# ----------------------------------------------------------------------------- a study


def _two_options(rank_by: str) -> dict:
    """A steady option and a gamble: the gamble has the higher mean NPV, the lower median."""
    raw = no_history_raw("options", draws=1000)
    raw["indirect"] = {"benefit_per_month": 0}
    raw["decision"] = {"min_prob_positive_npv": 0.0, "rank_by": rank_by}
    raw["option"] = [
        {"name": "steady", "throughput_gain": 1.45},
        {
            "name": "gamble",  # no gain in 55 % of draws, a 10× gain in 45 %
            "throughput_gain": {"dist": "discrete", "values": [1.0, 10.0], "weights": [0.55, 0.45]},
        },
    ]
    return raw


@pytest.fixture(scope="module")
def docs() -> dict[str, tuple]:
    out = {}
    for rank_by in CRITERIA:
        res = run_study(spec_from_dict(_two_options(rank_by)), sensitivity=False)
        out[rank_by] = (res, summary(res))
    return out


def test_mean_and_p50_recommend_different_options(docs):
    res, doc = docs["mean"]
    s = res.options["steady"].metrics["npv"].values
    g = res.options["gamble"].metrics["npv"].values
    # the orderings are real, not Monte Carlo noise: each gap is more than 4 standard errors
    # (common random numbers: the s.e. of the mean gap is the sd of the paired differences / sqrt n)
    gap_mean = g.mean() - s.mean()
    assert gap_mean > 4 * (g - s).std(ddof=1) / np.sqrt(g.size)
    gap_p50 = criterion_value(s, "p50") - criterion_value(g, "p50")
    assert gap_p50 > 4 * np.hypot(criterion_se(s, "p50"), criterion_se(g, "p50"))
    assert doc["option"] == "gamble"
    assert doc["options_comparison"]["ranking"] == ["gamble", "steady"]
    _, doc50 = docs["p50"]
    assert doc50["option"] == "steady"
    assert doc50["options_comparison"]["ranking"] == ["steady", "gamble"]
    assert doc50["decision"]["rule_text"].endswith("P50 NPV > 0")
    gamble = next(o for o in doc50["options"] if o["name"] == "gamble")
    assert gamble["decision"]["verdict"] == "no-go"  # its median is negative
    _, doc10 = docs["cvar10"]
    assert doc10["options_comparison"]["ranking"] == ["steady", "gamble"]


@pytest.mark.parametrize("rank_by", list(CRITERIA))
def test_summary_keys_carry_the_criterion(docs, rank_by):
    res, doc = docs[rank_by]
    assert doc["decision"]["rank_by"] == rank_by
    comp = doc["options_comparison"]
    assert comp["rank_by"] == rank_by and comp["criterion"] == CRITERIA[rank_by]
    for row in comp["table"]:
        npv = res.options[row["option"]].metrics["npv"].values
        assert row["criterion_npv"] == pytest.approx(criterion_value(npv, rank_by), rel=1e-12)
        assert row["cvar10_npv"] == pytest.approx(cvar(npv), rel=1e-12)
    for opt in doc["options"]:
        npv = res.options[opt["name"]].metrics["npv"].values
        assert opt["decision"]["criterion"]["value"] == pytest.approx(
            criterion_value(npv, rank_by), rel=1e-12
        )
    values = [r["criterion_npv"] for r in comp["table"]]
    assert values == sorted(values, reverse=True)


# ----------------------------------------------------------------------------- other front doors


def test_excel_round_trip_keeps_rank_by(tmp_path):
    from roicast.excel import load_xlsx_spec, toml_to_xlsx

    raw = tomllib.loads((DEMO / "options.toml").read_text())
    raw["decision"]["rank_by"] = "cvar10"
    shutil.copy(DEMO / "history.csv", tmp_path / "history.csv")
    src = write_toml(tmp_path / "study.toml", raw)
    toml_to_xlsx(src, tmp_path / "study.xlsx")
    assert load_xlsx_spec(tmp_path / "study.xlsx").decision.rank_by == "cvar10"


def test_batch_table_sets_rank_by(tmp_path):
    from roicast.batch.plan import projects_from_table

    shutil.copy(DEMO / "history.csv", tmp_path / "history.csv")
    template = write_toml(
        tmp_path / "base.toml", tomllib.loads((DEMO / "options.toml").read_text())
    )
    table = Path(tmp_path / "rows.csv")
    table.write_text(
        'project.name,decision.rank_by\na,"""p50"""\nb,"""worst"""\n', encoding="utf-8"
    )
    a, b = projects_from_table(template, table)
    assert a.error is None and a.spec.decision.rank_by == "p50"
    assert b.spec is None and "decision.rank_by" in b.error and "worst" in b.error


@pytest.mark.parametrize("rank_by", ["mean", "p50"])
def test_tail_driven_warning_points_at_rank_by(rank_by):
    raw = no_history_raw("quantization", draws=500)
    # a benefit with a very heavy right tail: a few draws carry the mean (lognormal s = 2.5
    # has excess kurtosis ~1e10; the rule flags kurtosis > 6 or a top-1 % share > 10 %)
    raw["indirect"] = {"benefit_per_month": {"dist": "lognormal", "median": 2000, "sigma": 2.5}}
    raw["decision"]["rank_by"] = rank_by
    doc = summary(run_study(spec_from_dict(raw), sensitivity=False))
    assert doc["diagnostics"]["tail"]["tail_driven"]
    (warning,) = [w for w in doc["diagnostics"]["warnings"] if w.startswith("Tail-driven mean")]
    if rank_by == "mean":
        assert 'set [decision] rank_by = "p50"' in warning
    else:
        assert 'options are ranked by P50 NPV (rank_by = "p50")' in warning
