"""A batch with a budget end to end, and the diagnosis of projects that cannot pay back."""

from __future__ import annotations

import json

import numpy as np
import pytest

from roicast.batch.budget import knapsack
from roicast.batch.record import diagnose, distribution_mean, record_extras
from tests.batch.conftest import read_csv, small
from tests.batch.test_batch_cli import FAST, invoke
from tests.conftest import write_toml


def _summary(saved: dict, floor: float = 0.0) -> dict:
    return {
        "details": {"instance_hours_saved": saved, "investment": {"mean": 1234.5}},
        "inputs": {
            "baseline.floor_instances": {"median": floor},
            "implementation.engineer_months": {
                "spec": {"dist": "pert", "min": 3.0, "mode": 5.0, "max": 9.0, "lambda": 4.0}
            },
        },
    }


ZERO = {"mean": 0.0, "sd": 0.0, "p10": 0.0, "p50": 0.0, "p90": 0.0}
SOME = {"mean": 900.0, "sd": 300.0, "p10": 500.0, "p50": 900.0, "p90": 1300.0}


def test_diagnosis_names_the_floor_when_savings_are_zero():
    roi = np.full(100, -1.0)
    msg = diagnose(_summary(ZERO, floor=4), roi)
    assert msg.startswith("instance-hours saved are zero in every draw: ")
    assert "floor of 4 instances — check demand vs floor_instances" in msg
    assert "ROI ≈ −100 % in 100% of draws" in msg
    mostly = {"mean": 30.0, "sd": 90.0, "p10": 0.0, "p50": 0.0, "p90": 0.2}
    assert "zero in at least 80 % of draws" in diagnose(_summary(mostly, floor=4), roi[:0])
    assert "throughput_gain" in diagnose(_summary(ZERO, floor=0), roi)


def test_diagnosis_of_roi_near_minus_100_with_savings():
    roi = np.r_[np.full(95, -0.99), np.full(5, 0.2)]
    assert diagnose(_summary(SOME), roi).startswith("ROI ≈ −100 % in 95% of draws: ")
    assert diagnose(_summary(SOME), np.r_[np.full(85, -0.99), np.full(15, 0.2)]) == ""


def test_record_extras_read_the_summary():
    ex = record_extras(_summary(SOME), np.zeros(10))
    assert ex["investment_mean"] == 1234.5
    # PERT(3, 5, 9) with λ = 4: mean (3 + 4·5 + 9) / 6; quadrature error ≪ 1e-4
    assert ex["engineer_months_mean"] == pytest.approx(32 / 6, rel=1e-5)
    assert distribution_mean(7.0) == 7.0 and distribution_mean({"dist": "nonsense"}) is None
    assert ex["diagnosis"] == "" and ex["prob_roi_near_total_loss"] == 0.0


@pytest.mark.slow  # four small studies
def test_budget_end_to_end(spec_dir, demo_raw, tmp_path):
    specs = []
    for name, gain, em, floor in (
        ("fast", 1.9, 2.0, 0),
        ("big", 1.8, 6.0, 0),
        ("mid", 1.6, 3.0, 0),
        ("stuck", 1.5, 1.0, 400),
    ):
        doc = small(demo_raw, name, gain)
        doc["implementation"]["engineer_months"] = em
        doc["baseline"]["floor_instances"] = floor
        specs.append(write_toml(spec_dir / f"{name}.toml", doc))
    out = tmp_path / "out"
    r = invoke(*specs, "--out", out, "--budget", 6, "--draws", 200, *FAST)
    assert r.exit_code == 0, r.output
    assert "Selection within 6.0 engineer-months" in r.stdout
    assert "check: stuck: instance-hours saved are zero in every draw" in r.stdout

    batch = json.loads((out / "batch.json").read_text())
    sel = batch["selection"]
    rows = {row["name"]: row for row in read_csv(out / "portfolio.csv")}
    assert {k: float(rows[k]["engineer_months_mean"]) for k in rows} == {
        "fast": 2.0,
        "big": 6.0,
        "mid": 3.0,
        "stuck": 1.0,
    }
    npv = {k: float(rows[k]["npv_mean"]) for k in rows}
    cands = [k for k in npv if npv[k] > 0]
    assert "stuck" not in cands and "floor of 400 instances" in rows["stuck"]["diagnosis"]
    em = {"fast": 2.0, "big": 6.0, "mid": 3.0}
    best = knapsack([npv[k] for k in cands], np.array([em[k] for k in cands]), [6.0])
    assert sorted(sel["projects"]) == sorted(cands[i] for i in best.chosen)
    assert sel["used"]["engineer_months"] <= 6.0 and sel["exact"]
    assert [rows[k]["selected"] for k in rows] == [
        "true" if k in sel["projects"] else "false" for k in rows
    ]
    total = sum(np.load(out / rows[k]["folder"] / "npv.npy") for k in sel["projects"])
    assert sel["npv"]["mean"] == pytest.approx(total.mean(), rel=1e-12)
    assert sel["npv"]["prob_negative"] == (total < 0).mean()
    assert sel["npv"]["cvar10"] == pytest.approx(np.sort(total)[:20].mean(), rel=1e-12)
    assert sel["marginal"]["first_out"]["name"] in cands
    assert float(rows["fast"]["investment_mean"]) > 0

    # the same batch resumed with a money budget: projects reused, the selection recomputed
    r2 = invoke(*specs, "--out", out, "--resume", "--draws", 200, "--budget-money", 1, *FAST)
    assert r2.exit_code == 0 and "0 run, 4 reused" in r2.stdout
    assert json.loads((out / "batch.json").read_text())["selection"]["projects"] == []
