"""Selection under a budget: the knapsack against brute force, the selection's risk, marginal projects."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from roicast.batch.budget import cvar, knapsack, select_projects, selection_stats


def brute_force(values, costs, budgets):
    """The best subset by enumeration (2^n), the same feasibility rule as the knapsack."""
    v, w, b = np.asarray(values), np.asarray(costs).reshape(len(values), -1), np.asarray(budgets)
    best = 0.0
    for x in itertools.product((0, 1), repeat=v.size):
        x = np.array(x, dtype=bool)
        if np.all(w[x].sum(axis=0) <= b * (1 + 1e-12)) and v[x].sum() > best:
            best = float(v[x].sum())
    return best


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("m", [1, 2])
def test_knapsack_matches_brute_force(seed, m):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 14))
    values = rng.lognormal(0, 1, n) * np.where(rng.random(n) < 0.15, -1, 1)  # a few negative
    costs = rng.uniform(0, 10, (n, m)) * (rng.random((n, m)) > 0.1)  # some free in a resource
    budgets = costs.sum(axis=0) * rng.uniform(0.1, 0.7, m)
    res = knapsack(values, costs, budgets)
    assert res.exact
    assert res.value == pytest.approx(brute_force(values, costs, budgets), rel=1e-9, abs=1e-12)
    chosen = list(res.chosen)
    assert np.all(costs[chosen].sum(axis=0) <= budgets * (1 + 1e-12))
    assert all(values[i] > 0 for i in chosen)
    assert res.value == pytest.approx(values[chosen].sum())


def test_knapsack_needs_more_than_the_greedy_order():
    # greedy by NPV per cost takes item 0 (ratio 1.1) and then nothing fits; best is 1 + 2
    res = knapsack([11.0, 9.0, 9.0], np.array([10.0, 9.0, 1.0]), [10.0])
    assert res.chosen == (1, 2) and res.value == 18.0


def test_knapsack_edge_cases():
    assert knapsack([], np.zeros((0, 1)), [5.0]).chosen == ()
    assert knapsack([3.0, 2.0], np.array([0.0, 1.0]), [0.0]).chosen == (0,)  # free only
    assert knapsack([3.0, 2.0], np.array([6.0, 7.0]), [5.0]).value == 0.0  # nothing fits
    assert knapsack([3.0, 2.0], np.array([5.0, 7.0]), [5.0]).chosen == (0,)  # exactly the budget


def test_knapsack_node_limit_is_reported():
    rng = np.random.default_rng(3)
    w = rng.uniform(1, 2, 30)
    res = knapsack(w + rng.uniform(0, 1e-3, 30), w, [w.sum() / 2], node_limit=5)
    assert not res.exact and res.value > 0


def test_cvar_and_prob_negative_closed_form():
    # project A: NPV = d - 100 in draw d = 0..999; project B: 50 in every draw.
    # Portfolio: d - 50.  P(< 0) = 50/1000; CVaR10 = mean of the 100 lowest = mean(-50..49) = -0.5
    a = np.arange(1000.0) - 100
    b = np.full(1000, 50.0)
    s = selection_stats([a, b], 1000)
    assert s["prob_negative"] == 0.05
    assert s["cvar10"] == -0.5
    assert s["mean"] == pytest.approx(449.5)
    assert s["p50"] == pytest.approx(np.quantile(a + 50, 0.5))
    # ⌈0.1 n⌉ lowest: 11 of 101 values 0..100 → mean 5
    assert cvar(np.arange(101.0)[::-1], 0.1) == 5.0
    assert selection_stats([], 0)["mean"] is None
    empty = selection_stats([], 200)
    assert empty["mean"] == 0.0 and empty["prob_negative"] == 0.0 and empty["cvar10"] == 0.0


def _portfolio(tmp_path, specs):
    """Records and npv.npy files of made-up finished projects (no studies run)."""
    records = []
    for name, npv_draws, em, inv in specs:
        folder = tmp_path / "projects" / name
        folder.mkdir(parents=True)
        np.save(folder / "npv.npy", np.asarray(npv_draws, dtype=float))
        records.append(
            {
                "name": name,
                "status": "done",
                "folder": f"projects/{name}",
                "draws": len(npv_draws),
                "npv_mean": float(np.mean(npv_draws)),
                "engineer_months_mean": em,
                "investment_mean": inv,
            }
        )
    return records


def test_select_projects_names_the_marginal_projects(tmp_path):
    d = np.linspace(-1, 1, 200)
    recs = _portfolio(
        tmp_path,
        [
            ("a", 100 + 50 * d, 4.0, 1e5),  # 25 NPV / engineer-month
            ("b", 60 + 80 * d, 3.0, 2e5),  # 20
            ("c", 30 + 10 * d, 3.0, 1e5),  # 10
            ("d", 45 + 0 * d, 5.0, 1e5),  # 9
            ("loser", -10 + 0 * d, 1.0, 1e4),  # mean NPV < 0: never a candidate
            ("no cost", 99 + 0 * d, None, 1e4),  # cost unknown
        ],
    )
    recs.append({"name": "broken", "status": "failed", "folder": "", "draws": None})
    sel = select_projects(recs, {"engineer_months": 10.0}, tmp_path)
    assert sel["projects"] == ["a", "b", "c"]  # 10 engineer-months, NPV 190 (a+b+d: 12 months)
    assert sel["used"] == {"engineer_months": 10.0}
    assert sel["candidates"] == 4 and sel["excluded"] == [
        {"name": "no cost", "reason": "no engineer_months cost"}
    ]
    assert sel["marginal"]["last_in"]["name"] == "c"
    first_out = sel["marginal"]["first_out"]
    assert first_out["name"] == "d" and first_out["short_by"] == {"engineer_months": 5.0}
    total = 190 + 140 * d
    assert sel["npv"]["mean"] == pytest.approx(total.mean())
    assert sel["npv"]["prob_negative"] == (total < 0).mean()
    assert sel["npv"]["cvar10"] == pytest.approx(np.sort(total)[:20].mean())

    both = select_projects(recs, {"engineer_months": 10.0, "money": 2.5e5}, tmp_path)
    assert both["projects"] == ["a", "d"]  # a + b costs 3e5; a + d (145) beats a + c (130)
    brute = brute_force(
        [r["npv_mean"] for r in recs[:4]],
        [[r["engineer_months_mean"], r["investment_mean"]] for r in recs[:4]],
        [10.0, 2.5e5],
    )
    assert sum(r["npv_mean"] for r in recs if r["name"] in both["projects"]) == pytest.approx(brute)
    assert math.isclose(both["used"]["money"], 2e5)
