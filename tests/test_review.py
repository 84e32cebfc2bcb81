"""The review meeting (issue 14): ask, stress tests, goal seek, spider, pilots, formatting."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest
from scipy.stats import norm

from roicast.errors import RoicastError
from roicast.report import review, write_report
from roicast.report._format import (
    input_value,
    irr_text,
    meaningless_ratio,
    money,
    pct,
    roi_text,
    si,
    sig,
)
from roicast.report._io import jsonable
from roicast.report.summary import summary
from roicast.spec import spec_from_dict
from roicast.study import draws_until_decided, forecast_for, run_study, verdict_settled
from tests.conftest import no_history_raw

# ----------------------------------------------------------------- formatting


@pytest.mark.parametrize(
    ("x", "text"),
    [
        (0, "0"),
        (12.345, "12.3"),
        (999.6, "1.00k"),
        (1234.5, "1.23k"),
        (15_000, "15.0k"),
        (350_000, "350k"),
        (999_600, "1.00M"),
        (1.51e6, "1.51M"),
        (2.5e9, "2.50B"),
        (-15_000, "-15.0k"),
        (0.0123, "0.0123"),
    ],
)
def test_si_prefixes_and_three_significant_figures(x, text):
    assert si(x) == text


def test_money_keeps_significant_figures_and_units():
    # the "$1k / $2k": costs now keep three significant figures
    assert money(1_114.0) == "$1.11k" and money(2_592.0) == "$2.59k"
    assert money(-350_000) == "-$350k" and money(1.5e6, "EUR") == "€1.50M"
    assert money(1200, "CHF") == "1.20k CHF" and money(None) == "n/a"
    assert sig(1234.5) == "1230" and sig(0.012345) == "0.0123" and sig(15) == "15.0"
    assert pct(269.27) == "26,927%"
    # no scientific notation anywhere
    for x in (1.114e4, 2.592e4, 1e10, 3.3e-5):
        assert "e" not in si(x).lower().replace("m", "")


def test_meaningless_ratio_when_investment_is_about_zero():
    assert meaningless_ratio(0.0, 1e6) and meaningless_ratio(5_000, 1e6)
    assert not meaningless_ratio(50_000, 1e6)
    assert roi_text(269.27, 1_000, 270_000) == "not meaningful (investment ≈ 0)"
    assert roi_text(0.5, 100_000, 150_000) == "50%"
    assert "not meaningful" in irr_text(5660.27) and irr_text(0.25) == "25%"


def test_input_values_carry_units():
    assert input_value("implementation.validation_cost", 11_140) == "$11.1k"
    assert input_value("optimized.throughput_gain", 1.5) == "1.50×"
    assert input_value("pricing.annual_change", -0.15) == "-15%/yr"
    assert input_value("baseline.utilization", 0.35) == "35%"
    assert input_value("implementation.months", 3.25) == "3.25 months"


# ----------------------------------------------------------------- spec


def _review_raw() -> dict:
    raw = no_history_raw("options", draws=600, seed=21)
    raw["project"]["description"] = "FP8 quantization and continuous batching of the chat model"
    raw["stress"] = [
        {"name": "GPU prices fall 50 %", "set": {"pricing.annual_change": -0.5}},
        {
            "name": "benchmark over-promised",
            "description": "the gain is a third lower",
            "set": {"optimized.throughput_gain": {"dist": "uniform", "low": 1.0, "high": 1.2}},
        },
    ]
    raw["pilot"] = [
        {"input": "optimized.throughput_gain", "noise_sd": 0.1, "cost": 15000, "name": "canary"}
    ]
    raw["sources"] = {"optimized.throughput_gain": "lab benchmark, FP8"}
    raw["option"][1]["sources"] = {"optimized.throughput_gain": "vLLM blog, batching"}
    raw["correlations"] = [
        {"between": ["optimized.throughput_gain", "implementation.engineer_months"], "rho": 0.4}
    ]
    return raw


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (lambda r: r["stress"][0].update(set={"nope": 1}), "stress[0].set: 'nope' is not an input"),
        (
            lambda r: r["stress"][0].update(set={"baseline.utilization": 1.5}),
            "baseline.utilization: value 1.5; must lie in (0, 1]",
        ),
        (lambda r: r["pilot"][0].update(noise_sd=0), "pilot[0].noise_sd"),
        (lambda r: r["pilot"][0].update(cost=-1), "pilot[0].cost"),
        (lambda r: r["pilot"][0].update(input="demand"), "not an input a pilot can measure"),
        (
            lambda r: r["option"][0].update(sources={"bogus": "x"}),
            "'bogus' is not an input of the model",
        ),
        (lambda r: r["stress"].append(dict(r["stress"][0])), "stress names must be unique"),
    ],
)
def test_spec_review_sections_are_validated(mutate, expected):
    raw = _review_raw()
    mutate(raw)
    with pytest.raises(RoicastError) as e:
        spec_from_dict(raw)
    assert expected in str(e.value)


def test_spec_review_sections_parse():
    spec = spec_from_dict(_review_raw())
    assert spec.project.description.startswith("FP8")
    assert [s.name for s in spec.stress] == ["GPU prices fall 50 %", "benchmark over-promised"]
    assert spec.stress[0].set["pricing.annual_change"].median == -0.5
    assert spec.pilot[0].noise_sd == 0.1 and spec.pilot[0].cost == 15000
    assert spec.options[1].sources == {"optimized.throughput_gain": "vLLM blog, batching"}
    assert spec.options[0].sources == {}


# ----------------------------------------------------------------- summary keys


@pytest.fixture(scope="module")
def study():
    return run_study(spec_from_dict(_review_raw()))


@pytest.fixture(scope="module")
def doc(study):
    return json.loads(json.dumps(jsonable(summary(study)), allow_nan=False))


def test_summary_has_the_review_keys(doc):
    for key in ("ask", "basis", "drivers", "diagnostics", "correlations", "option_inputs",
                "stress", "goal_seek", "spider", "pilots", "description"):  # fmt: skip
        assert key in doc, key
    assert "rule" in doc["value_of_information"]
    assert doc["decision"]["rule_text"] == "go when P(NPV > 0) ≥ 80%"
    assert len(doc["drivers"]) == 3 and all(d["text"] for d in doc["drivers"])
    row = doc["options_comparison"]["table"][0]
    assert {"p50_npv", "p90_npv"} <= set(row)


def test_the_ask_agrees_with_the_headline(study, doc):
    ask = doc["ask"]
    assert ask["option"] == doc["option"]
    assert ask["payback_months"]["p50"] == doc["payback_months"]["p50"]
    assert ask["investment"] == doc["details"]["investment"]
    m = study.options[doc["option"]].metrics
    go_live = study.sample.values.sel(option=doc["option"], input="implementation.months").values
    monthly = m["savings"].values / np.maximum(1.0, 36 - go_live)
    assert math.isclose(ask["monthly_saving"]["p50"], float(np.median(monthly)), rel_tol=1e-12)
    assert ask["description"].startswith("FP8") and "a month" in ask["sentence"]


def test_stress_base_is_the_study_and_cases_rerun_every_option(study, doc):
    st = doc["stress"]
    for name, row in st["base"].items():
        npv = study.options[name].metrics["npv"].values
        assert row["npv"]["p50"] == pytest.approx(float(np.median(npv)), rel=1e-12)
        assert (
            row["verdict"]
            == next(o for o in doc["options"] if o["name"] == name)["decision"]["verdict"]
        )
    assert [c["name"] for c in st["cases"]] == ["GPU prices fall 50 %", "benchmark over-promised"]
    for c in st["cases"]:
        assert set(c["options"]) == set(study.options)
    # a lower gain lowers every self-hosted option's NPV draw by draw, so its P50 too; an
    # option served by an API has no fleet for the gain to act on
    low = st["cases"][1]["options"]
    for o in study.spec.options:
        lo, base = low[o.name]["npv"]["p50"], st["base"][o.name]["npv"]["p50"]
        if o.optimized.api_price_per_million is None:
            assert lo < base, o.name
        else:
            assert lo == pytest.approx(base, rel=1e-12), o.name


def test_option_sources_are_the_options_own(study, doc):
    per = doc["option_inputs"]["options"]
    gain = "optimized.throughput_gain"
    assert per["fp8"]["overrides"][gain]["source"] == "lab benchmark, FP8"
    assert per["batching"]["overrides"][gain]["source"] == "vLLM blog, batching"
    assert gain in doc["option_inputs"]["differing_inputs"]


def test_combination_on_a_consistent_basis(study, doc):
    (combo,) = doc["options_comparison"]["combinations"]
    cb = combo["consistent_basis"]
    c0 = study.options["both"].metrics["tco_baseline"].values
    sa = study.options["fp8"].metrics["savings"].values
    sb = study.options["batching"].metrics["savings"].values
    composed = c0 * (1 - (1 - sa / c0) * (1 - sb / c0))
    assert cb["savings_if_gains_compose"] == pytest.approx(float(composed.mean()), rel=1e-12)
    # composing shares never exceeds adding them (the overlap is counted once)
    assert cb["savings_if_gains_compose"] <= cb["savings_sum_of_parts"]


def test_correlations_are_reported_with_the_achieved_rho(doc):
    (c,) = doc["correlations"]
    assert c["rho"] == 0.4
    # Iman–Conover on 600 LHS draws: Spearman's s.e. ≈ (1 − ρ²)/√n ≈ 0.034; allow 4 s.e.
    assert abs(c["achieved"] - 0.4) < 4 * (1 - 0.16) / math.sqrt(600)


def test_pilot_wiring_matches_the_sensitivity_stage(study, doc):
    from roicast.sensitivity import evsi_pilot

    (p,) = doc["pilots"]
    best = doc["option"]
    free = study.sample.free_inputs(best)
    X = study.sample.values.sel(option=best, input=free).to_pandas()
    ref = evsi_pilot(
        X,
        study.options[best].metrics["npv"].values,
        "optimized.throughput_gain",
        0.1,
        15000,
        rule="prob_positive",
        threshold=0.8,
        seed=np.random.default_rng([study.seed, 8, 0]),
    )
    assert p["evsi"] == pytest.approx(ref.evsi, rel=1e-12)
    assert p["worth_running"] == ref.worth_running and p["name"] == "canary"
    assert p["verdict_could_flip"] == (ref.prob_flip > 0)
    rule = doc["value_of_information"]["rule"]
    assert rule["rule"] == "prob_positive" and rule["threshold"] == 0.8


def test_spider_centre_is_the_tornado_centre(doc):
    sp = doc["spider"]
    centre = doc["tornado"][0]["base"]
    mid = sp["percentiles"].index(0.5)
    for row in sp["inputs"]:
        assert row["npv"][mid] == pytest.approx(centre, rel=1e-9)
    assert sp["inputs"][0]["input"] == doc["tornado"][0]["input"]


def test_quick_study_skips_the_reruns():
    raw = _review_raw()
    d = summary(run_study(spec_from_dict(raw), sensitivity=False))
    assert "ask" in d and "stress" not in d and "goal_seek" not in d and "pilots" not in d


# ----------------------------------------------------------------- fixed inputs: by hand


def _linear_raw(benefit) -> dict:
    """NPV = 12·b − V: no saving (gain 1), no discounting, live from month 1, 12 months."""
    raw = no_history_raw("quantization", draws=400, seed=3)
    raw["project"].update(horizon_months=12, discount_rate=0.0)
    raw["optimized"] = {"throughput_gain": 1.0}
    raw["pricing"] = {"annual_change": 0.0, "annual_volatility": 0.0}
    raw["implementation"] = {
        "months": 0,
        "ramp_months": 0,
        "engineer_months": 0,
        "validation_cost": 10_000,
    }
    raw["churn"] = {}
    raw["indirect"] = {"benefit_per_month": benefit}
    raw["baseline"].update(throughput=2.0, utilization=0.35)
    return raw


def test_stress_verdicts_by_hand():
    raw = _linear_raw(500.0)  # NPV = 12 * 500 - 10 000 = -4 000
    raw["stress"] = [
        {"name": "twice the benefit", "set": {"indirect.benefit_per_month": 1000}},
        {"name": "dearer validation", "set": {"implementation.validation_cost": 20_000}},
    ]
    d = summary(run_study(spec_from_dict(raw)))
    base = d["stress"]["base"]["optimized"]
    assert base["verdict"] == "no-go" and base["npv"]["p50"] == pytest.approx(-4000, abs=1e-6)
    twice, dearer = (c["options"]["optimized"] for c in d["stress"]["cases"])
    assert twice["verdict"] == "go" and twice["npv"]["p50"] == pytest.approx(2000, abs=1e-6)
    assert twice["prob_npv_negative"] == 0.0
    assert dearer["verdict"] == "no-go" and dearer["npv"]["p10"] == pytest.approx(-14_000, abs=1e-6)
    assert dearer["prob_npv_negative"] == 1.0


def test_goal_seek_matches_the_closed_form():
    # b ~ N(1000, 300): P(NPV > 0) = P(b > V/12) >= 0.8  <=>  V <= 12 (1000 - 300 z_0.8)
    raw = _linear_raw({"dist": "normal", "mean": 1000, "sd": 300})
    result = run_study(spec_from_dict(raw))
    g = review.goal_seek(
        result,
        "optimized",
        inputs=["implementation.validation_cost"],
        search={"implementation.validation_cost": (0.0, 30_000.0)},
        steps=30,
    )
    (row,) = g["inputs"]
    exact = 12 * (1000 - 300 * norm.ppf(0.8))
    # LHS puts one draw per 1/n of probability, so the sample's 20 % quantile of b is within
    # 1/n in probability of the true one: (1/n) / phi(z) * sd in b, times 12; doubled for margin
    tol = 12 * 300 * (2 / 400) / norm.pdf(norm.ppf(0.8)) + row["tolerance"]
    assert row["go_when"] == "below"
    assert abs(row["value"] - exact) < tol


# ----------------------------------------------------------------- until stable near NPV = 0


def test_verdict_settled_is_a_binomial_test():
    class Rule:
        min_prob_positive_npv = 0.8
        max_payback_p50_months = None
        min_npv_p10 = None

    rng = np.random.default_rng(0)
    n = 10_000
    npv = np.where(rng.random(n) < 0.36, 1.0, -1.0)  # P(NPV > 0) ≈ 0.36: far below 0.8
    res = verdict_settled(npv, np.full(n, 5.0), Rule())
    assert res["settled"] and res["verdict"] == "no-go"
    # 0.80 ± 0.004 (s.e. at n = 10 000) cannot be told from the threshold
    npv = np.where(np.arange(n) < 8000, 1.0, -1.0)
    assert not verdict_settled(npv, np.full(n, 5.0), Rule())["settled"]


def test_until_stable_stops_near_npv_zero():
    # mean NPV near 0 (benefit centred on the break-even 833/month): a relative tolerance on the
    # mean never closes; the verdict (P(NPV > 0) ≈ 0.5 vs 0.8) is settled at once
    raw = _linear_raw({"dist": "normal", "mean": 10_000 / 12, "sd": 300})
    spec = spec_from_dict(raw)
    fc = forecast_for(spec, seed=3)
    n, rec = draws_until_decided(spec, 0.05, seed=3, forecast=fc, batch=500, max_draws=20_000)
    o = rec["options"]["optimized"]
    assert o["verdict_settled"] and o["verdict"] == "no-go" and o["converged"]
    assert n < 20_000 and o["max_half_width"] <= 0.05 * 10_000
    assert rec["confidence"] == 0.95


# ----------------------------------------------------------------- HTML


def test_report_html_first_screen_content(study, tmp_path):
    out = tmp_path / "out"
    d = write_report(study, out)
    html = (out / "report.html").read_text()
    head = html[: html.index("</header>")]
    assert "The ask:" in head and d["ask"]["sentence"].split(" (")[0] in head
    assert "Rule:" in head and "go when P(NPV &gt; 0) ≥ 80%" in head
    assert "for an investment of" in head and "Top drivers" in head
    for dr in d["drivers"]:
        assert dr["input"] in head
    for section in ("Stress tests", "Goal seek", "Spider chart", "Pilot planner", "Correlations"):
        assert section in html
    text = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", html)
    assert not re.search(r"\de[+-]\d", text)  # no unit-less scientific notation
    md = (out / "report.md").read_text()
    assert "**The ask:**" in md and "Stress tests" in md
    assert (out / "figures" / "spider.png").is_file()
    assert (out / "figures" / "npv_options.png").is_file()
