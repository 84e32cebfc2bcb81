"""Choosing projects under a budget: a 0/1 knapsack on mean NPV, and the risk of the choice.

Given finished projects with mean NPV :math:`v_i > 0` and costs :math:`w_{ik}`
in one or two resources :math:`k` (engineer-months, money) with budgets
:math:`B_k`, :func:`knapsack` solves

.. math:: \\max_{x \\in \\{0,1\\}^n} \\sum_i v_i x_i \\quad\\text{s.t.}\\quad \\sum_i w_{ik} x_i \\le B_k \\;\\; \\forall k

exactly, by depth-first branch and bound: items in order of NPV per budget
share :math:`v_i / s_i`, :math:`s_i = \\sum_k w_{ik}/B_k`; at each node the
bound is the smallest of the fractional (LP) relaxations of each constraint
alone and of their sum (each a valid upper bound), and a node whose bound does
not beat the best selection found is cut.  Costs are real numbers (no
discretisation).  A node limit guards against pathological inputs; if it is
hit the best selection found is returned with ``exact = False``.

:func:`selection_stats` then sums the selected projects' per-draw NPV — draw
*i* of every project shares one market (the batch's price shocks), so the sum
is the portfolio's NPV in draw *i* — and reports its mean, quantiles,
:math:`P(\\mathrm{NPV} < 0)` and :math:`\\mathrm{CVaR}_{10\\%}`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from roicast.sensitivity.tails import cvar

__all__ = [
    "RESOURCES",
    "KnapsackResult",
    "cvar",
    "knapsack",
    "select_projects",
    "selection_stats",
]

#: Budget resources and the record key each project's cost is read from.
RESOURCES = {"engineer_months": "engineer_months_mean", "money": "investment_mean"}
#: Branch-and-bound nodes explored before giving up exactness.
NODE_LIMIT = 200_000
#: Relative tolerance of the budget check and of the bound cut.
_TOL = 1e-12


@dataclass(frozen=True)
class KnapsackResult:
    """A knapsack solution.

    Attributes
    ----------
    chosen : tuple of int
        Indices of the selected items, ascending.
    value : float
        :math:`\\sum_{i \\in \\text{chosen}} v_i`.
    exact : bool
        False only if the node limit stopped the search (``value`` is then a lower bound).
    nodes : int
        Branch-and-bound nodes explored.
    """

    chosen: tuple[int, ...]
    value: float
    exact: bool
    nodes: int


class _Bounds:
    """Fractional-knapsack upper bounds over the items not yet decided (those from depth ``j`` on)."""

    def __init__(self, v: np.ndarray, u: np.ndarray) -> None:
        # u: (n, m) costs as budget shares, one column per constraint, plus their sum
        self.v = v
        cols = np.column_stack([u, u.sum(axis=1)]) if u.shape[1] > 1 else u
        self.cols = cols
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(cols > 0, v[:, None] / cols, np.inf)
        self.orders = [np.argsort(-ratio[:, c], kind="stable") for c in range(cols.shape[1])]
        # a column already in branching order (one constraint; the sum of two): prefix sums
        self.sorted = [bool(np.array_equal(o, np.arange(v.size))) for o in self.orders]
        self.cum_w = [np.concatenate([[0.0], np.cumsum(cols[:, c])]) for c in range(cols.shape[1])]
        self.cum_v = np.concatenate([[0.0], np.cumsum(v)])

    def _sorted_bound(self, c: int, j: int, cap: float) -> float:
        cw, cv = self.cum_w[c], self.cum_v
        k = int(np.searchsorted(cw, cw[j] + cap * (1 + _TOL) + _TOL, side="right")) - 1
        b = float(cv[k] - cv[j])
        if k < self.v.size and self.cols[k, c] > 0:
            b += float(self.v[k]) * (cw[j] + cap - cw[k]) / float(self.cols[k, c])
        return b

    def _masked_bound(self, c: int, j: int, cap: float) -> float:
        order = self.orders[c]
        idx = order[order >= j]
        w, val = self.cols[idx, c], self.v[idx]
        cum = np.cumsum(w)
        k = int(np.searchsorted(cum, cap * (1 + _TOL) + _TOL, side="right"))
        b = float(val[:k].sum())
        if k < idx.size and w[k] > 0:
            b += float(val[k]) * (cap - (cum[k - 1] if k else 0.0)) / float(w[k])
        return b

    def bound(self, j: int, value: float, room: np.ndarray) -> float:
        """Best value reachable from a node at depth ``j`` with ``room`` left per constraint."""
        caps = np.append(room, room.sum()) if self.cols.shape[1] > room.size else room
        best = math.inf
        for c in range(self.cols.shape[1]):
            f = self._sorted_bound if self.sorted[c] else self._masked_bound
            best = min(best, value + f(c, j, float(caps[c])))
        return best


def knapsack(
    values: Sequence[float],
    costs: np.ndarray,
    budgets: Sequence[float],
    *,
    node_limit: int = NODE_LIMIT,
) -> KnapsackResult:
    """Exact 0/1 knapsack with one or more constraints, by branch and bound (module docstring).

    Parameters
    ----------
    values : sequence of float
        :math:`v_i`; items with :math:`v_i \\le 0` are never chosen.
    costs : array (n, m)
        :math:`w_{ik} \\ge 0` (a 1-D array is one constraint).
    budgets : sequence of float
        :math:`B_k \\ge 0`, one per column of ``costs``.
    node_limit : int
        Nodes to explore before returning the best selection found (``exact`` False).

    Returns
    -------
    KnapsackResult
    """
    v = np.asarray(values, dtype=float)
    B = np.asarray(budgets, dtype=float).reshape(-1)
    w = np.asarray(costs, dtype=float).reshape(v.size, B.size)
    fits = (v > 0) & np.all(w <= B * (1 + _TOL), axis=1)
    free = fits & np.all(w <= 0, axis=1)
    items = np.flatnonzero(fits & ~free)
    pos = B > 0  # constraints a paying item can use (with B = 0 only free items fit)
    u = w[np.ix_(items, np.flatnonzero(pos))] / B[pos]
    share = u.sum(axis=1)
    order = np.argsort(-(v[items] / share), kind="stable")
    items, u = items[order], u[order]
    chosen, _, exact, nodes = _branch_and_bound(v[items], u, node_limit)
    picked = sorted([*np.flatnonzero(free).tolist(), *items[list(chosen)].tolist()])
    total = float(v[picked].sum()) if picked else 0.0
    return KnapsackResult(tuple(int(i) for i in picked), total, exact, nodes)


def _branch_and_bound(v: np.ndarray, u: np.ndarray, node_limit: int):
    """Depth-first search over items in the given order; costs ``u`` are budget shares."""
    n = v.size
    bounds = _Bounds(v, u)
    best_val, best_set = 0.0, ()
    room0 = np.ones(u.shape[1])
    stack: list[tuple[int, float, np.ndarray, tuple[int, ...]]] = [(0, 0.0, room0, ())]
    nodes, exact = 0, True
    while stack:
        j, val, room, taken = stack.pop()
        if val > best_val:
            best_val, best_set = val, taken
        if j == n or bounds.bound(j, val, room) <= best_val * (1 + 1e-12):
            continue
        nodes += 1
        if nodes > node_limit:
            exact = False
            break
        stack.append((j + 1, val, room, taken))  # without item j (explored second)
        if np.all(u[j] <= room + _TOL):
            stack.append((j + 1, val + float(v[j]), room - u[j], (*taken, j)))
    return best_set, best_val, exact, nodes


def selection_stats(npv_draws: Sequence[np.ndarray], draws: int) -> dict[str, Any]:
    """The distribution of the sum of per-draw NPVs over the first ``draws`` shared draws.

    Returns ``draws``, ``mean``, ``p10``, ``p50``, ``p90``, ``prob_negative``
    (:math:`P(\\mathrm{NPV} < 0)`) and ``cvar10`` (:func:`cvar` at 10 %).  An
    empty selection is an NPV of 0 in every draw.
    """
    total = np.zeros(draws)
    for x in npv_draws:
        total += np.asarray(x, dtype=float)[:draws]
    if draws == 0:
        return {k: None for k in ("mean", "p10", "p50", "p90", "prob_negative", "cvar10")} | {
            "draws": 0
        }
    q = np.quantile(total, [0.1, 0.5, 0.9])
    return {
        "draws": draws,
        "mean": float(total.mean()),
        "p10": float(q[0]),
        "p50": float(q[1]),
        "p90": float(q[2]),
        "prob_negative": float((total < 0).mean()),
        "cvar10": cvar(total, 0.1),
    }


def _candidates(records, budgets) -> tuple[list[dict], list[dict[str, str]]]:
    """Finished projects with mean NPV > 0 and a known cost per budgeted resource; the rest, why not."""
    cands, excluded = [], []
    for r in records:
        if r.get("status") not in ("done", "skipped"):
            continue
        if not (r.get("npv_mean") or 0) > 0:
            continue  # never worth selecting: not listed as excluded
        missing = [k for k in budgets if not _cost_ok(r.get(RESOURCES[k]))]
        if missing:
            excluded.append({"name": r["name"], "reason": f"no {', '.join(missing)} cost"})
        else:
            cands.append(r)
    return cands, excluded


def _cost_ok(x: Any) -> bool:
    return isinstance(x, int | float) and math.isfinite(x) and x >= 0


def _share(r: dict, budgets: dict[str, float]) -> float:
    """Budget share of a project: :math:`s = \\sum_k w_k / B_k` (inf when a budget is 0)."""
    s = 0.0
    for k, b in budgets.items():
        c = float(r[RESOURCES[k]])
        s += c / b if b > 0 else (math.inf if c > 0 else 0.0)
    return s


def _marginal(cands, chosen: set[int], budgets, used) -> dict[str, Any]:
    """The selected project with the least NPV per budget share, the unselected one with the most."""

    def entry(r: dict) -> dict[str, Any]:
        s = _share(r, budgets)
        return {
            "name": r["name"],
            "npv_mean": r["npv_mean"],
            "cost": {k: r[RESOURCES[k]] for k in budgets},
            "npv_per_budget_share": r["npv_mean"] / s if 0 < s < math.inf else None,
        }

    def ratio(r: dict) -> float:
        s = _share(r, budgets)
        return math.inf if s == 0 else r["npv_mean"] / s

    inside = [r for i, r in enumerate(cands) if i in chosen and ratio(r) < math.inf]
    outside = [r for i, r in enumerate(cands) if i not in chosen]
    last_in = min(inside, key=lambda r: (ratio(r), r["name"]), default=None)
    first_out = max(outside, key=lambda r: (ratio(r), r["name"]), default=None)
    res: dict[str, Any] = {"last_in": None, "first_out": None}
    if last_in is not None:
        res["last_in"] = entry(last_in)
    if first_out is not None:
        e = entry(first_out)
        over = {k: used[k] + first_out[RESOURCES[k]] - b for k, b in budgets.items()}
        e["short_by"] = {k: v for k, v in over.items() if v > 0}  # the budgets it would break
        res["first_out"] = e
    return res


def select_projects(
    records: Sequence[dict[str, Any]], budgets: dict[str, float], out: Path
) -> dict[str, Any]:
    """The subset of projects with the highest expected portfolio NPV within ``budgets``.

    Candidates are finished projects with mean NPV > 0 and a known cost for
    every budgeted resource (``engineer_months_mean``, ``investment_mean``).
    The selection's risk comes from the sum of the selected projects'
    per-draw NPV (``npv.npy`` of each folder under ``out``) over the draws
    they all have.

    Returns
    -------
    dict
        ``budget``, ``used`` (per resource), ``projects`` (names, by mean NPV),
        ``candidates``, ``excluded`` (candidates without a cost), ``npv`` (the
        portfolio NPV: :func:`selection_stats`), ``marginal`` (``last_in``,
        ``first_out`` with ``short_by``: how much more of each resource it
        would need on top of the selection, for the budgets it would exceed),
        ``exact``, ``nodes``, ``rule``.
    """
    from roicast.batch.worker import NPV_FILE

    cands, excluded = _candidates(records, budgets)
    names = list(budgets)
    costs = np.array([[float(r[RESOURCES[k]]) for k in names] for r in cands]).reshape(
        len(cands), len(names)
    )
    ks = knapsack([r["npv_mean"] for r in cands], costs, [budgets[k] for k in names])
    chosen = set(ks.chosen)
    picked = sorted((cands[i] for i in chosen), key=lambda r: (-r["npv_mean"], r["name"]))
    used = {k: float(sum(r[RESOURCES[k]] for r in picked)) for k in names}
    draws = min((int(r["draws"]) for r in picked), default=0)
    npv = [np.load(out / r["folder"] / NPV_FILE) for r in picked]
    return {
        "budget": dict(budgets),
        "used": used,
        "projects": [r["name"] for r in picked],
        "candidates": len(cands),
        "excluded": excluded,
        "npv": selection_stats(npv, draws),
        "marginal": _marginal(cands, chosen, budgets, used),
        "exact": ks.exact,
        "nodes": ks.nodes,
        "rule": (
            "maximise the sum of mean NPV subject to the sum of each cost ≤ its budget "
            "(0/1 knapsack, branch and bound); candidates: finished projects with mean NPV > 0; "
            "costs: engineer_months_mean (mean of implementation.engineer_months), "
            "investment_mean (details.investment.mean)"
        ),
    }
