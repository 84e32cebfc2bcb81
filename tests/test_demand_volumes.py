"""Demand shown as volumes: rank q of the ``demand`` input ↔ the q-quantile of path totals (issue 11)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from roicast.report.review import break_even_text, demand_volume
from roicast.report.summary import summary
from roicast.spec import spec_from_dict
from roicast.study import run_study
from tests.conftest import no_history_raw


def test_rank_to_volume_is_the_quantile_of_path_totals():
    rng = np.random.default_rng(0)
    paths = rng.lognormal(16, 0.4, size=(257, 24))  # unsorted: the helper must not care
    totals = paths.sum(axis=1)
    q = np.array([0.0, 0.001, 0.1, 0.37, 0.5, 0.9, 1.0])
    np.testing.assert_array_equal(demand_volume(q, paths), np.quantile(totals, q))
    assert demand_volume(0.25, paths) == np.quantile(totals, 0.25)
    assert isinstance(demand_volume(0.25, paths), float)
    assert np.isnan(demand_volume(np.array([np.nan]), paths)[0])
    # the simulator takes path floor(q n) of the paths sorted by total: its total lies
    # between the neighbouring order statistics of the volume the helper reports
    s = np.sort(totals)
    for r in q[1:-1]:
        i = int(r * s.size)
        assert s[max(i - 1, 0)] <= demand_volume(r, paths) <= s[min(i + 1, s.size - 1)]


def test_break_even_in_words():
    b = {"volume": 8.04e8, "quantile": 0.04, "below_target_when": "lower"}
    assert break_even_text(b, "requests", 36) == (
        "mean NPV = 0 when total demand falls to 804M requests over 36 months, P4 of the forecast"
    )
    assert break_even_text({"volume": None, "reason": "not within range"}, "requests", 36) == (
        "not within range"
    )


@pytest.fixture(scope="module")
def study():
    # wide growth so that demand has a break-even inside its range and drives the tails
    raw = no_history_raw("quantization", draws=1000, start_volume=1.4e7, growth=(-0.5, 2.0))
    raw["simulation"]["sobol"] = False
    res = run_study(spec_from_dict(raw))
    return res, summary(res)


def _volume(res, rank):
    return demand_volume(rank, res.demand_sorted)


def test_demand_volume_block(study):
    res, doc = study
    dv = doc["demand_volume"]
    totals = res.forecast.paths.sum("month").values  # from the forecast itself, unsorted
    assert [dv["p10"], dv["p50"], dv["p90"]] == pytest.approx(
        np.quantile(totals, [0.1, 0.5, 0.9]).tolist(), rel=1e-12
    )
    assert dv["mean"] == pytest.approx(totals.mean(), rel=1e-12)
    assert dv["unit"] == "requests" and dv["horizon_months"] == 36
    assert dv["text"].startswith("total requests over 36 months, P10 → P90: ")
    json.dumps(dv, allow_nan=False)


def test_tornado_break_even_and_scenarios_carry_volumes(study):
    res, doc = study
    rows = [r for r in doc["tornado"] if r["input"] == "demand"]
    assert len(rows) == 1
    r = rows[0]
    assert r["low_volume"] == pytest.approx(_volume(res, r["low_value"]), rel=1e-12)
    assert r["high_volume"] == pytest.approx(_volume(res, r["high_value"]), rel=1e-12)
    assert r["low_volume"] < r["base_volume"] < r["high_volume"]
    assert r["low_volume"] == pytest.approx(doc["demand_volume"]["low"], rel=1e-12)
    for rows in doc["details"]["tornado_by_output"].values():
        assert all("low_volume" in x for x in rows if x["input"] == "demand")
    (be,) = [b for b in doc["sensitivity"]["break_even"]["inputs"] if b["input"] == "demand"]
    assert be["value"] is not None  # this study was chosen to have one
    assert be["volume"] == pytest.approx(_volume(res, be["value"]), rel=1e-12)
    assert be["base_volume"] == pytest.approx(doc["demand_volume"]["p50"], rel=1e-12)
    cases = doc["sensitivity"]["three_point"]["cases"]
    for case in cases.values():
        assert case["demand_volume"] == pytest.approx(
            _volume(res, case["inputs"]["demand"]), rel=1e-12
        )
    drivers = [
        d
        for k in ("worst", "best")
        for d in doc["scenarios"][k]["drivers"]
        if d["input"] == "demand"
    ]
    assert drivers  # demand drives the tails of this study
    for d in drivers:
        assert d["scenario_volume"] == pytest.approx(_volume(res, d["scenario_mean"]), rel=1e-12)
    spider = [s for s in doc["spider"]["inputs"] if s["input"] == "demand"]
    assert spider and spider[0]["volumes"] == pytest.approx(
        _volume(res, np.array(spider[0]["values"])).tolist(), rel=1e-12
    )
    goal = [g for g in doc["goal_seek"]["inputs"] if g["input"] == "demand"]
    for g in goal:
        assert g["median_volume"] == pytest.approx(_volume(res, g["median"]), rel=1e-12)


def test_texts_name_the_unit(study):
    from roicast.report.write import _HTML, _MD, _context

    res, doc = study
    words = [d["text"] for d in doc["drivers"] if d["input"] == "demand"]
    assert words and "total requests over 36 months" in words[0]
    (be,) = [b for b in doc["sensitivity"]["break_even"]["inputs"] if b["input"] == "demand"]
    ctx = _context(res, doc, {})
    md = _MD.get_template("report.md.j2").render(**ctx)
    html = _HTML.get_template("report.html.j2").render(**ctx)
    for text in (md, html):
        assert "total requests over 36 months, P10 → P90" in text  # the run line, assumptions
        assert f"P{be['quantile'] * 100:.0f} of the forecast" in text  # the break-even sentence
        assert "path quantile" not in text
    tornado_row = next(line for line in md.splitlines() if line.startswith("| demand (total"))
    assert "requests |" in tornado_row


def test_figures_label_demand_in_its_unit(study):
    from roicast.report.figures import fig_spider, fig_tornado

    res, doc = study
    opt = res.options[doc["option"]]
    fig = fig_tornado(opt, demand=res.demand_sorted, unit="requests")
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert any(lab.startswith("demand: total requests over 36 months") for lab in labels)
    fig = fig_spider(doc["spider"])
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert any(lab.startswith("demand (total requests: ") for lab in legend)


@pytest.mark.slow
def test_written_report_shows_volumes(study, tmp_path: Path):
    from roicast.report import write_report

    res, _ = study
    doc = write_report(res, tmp_path / "out")
    md = (tmp_path / "out" / "report.md").read_text(encoding="utf-8")
    assert doc["demand_volume"]["text"] in md.replace("\\", "")
    saved = json.loads((tmp_path / "out" / "summary.json").read_text(encoding="utf-8"))
    assert saved["demand_volume"]["p50"] == pytest.approx(doc["demand_volume"]["p50"])
