"""What a review committee asks of a study: the ask, stress tests, goal seek, spider, pilots.

Every function takes a finished :class:`~roicast.study.StudyResult` and
re-runs the simulator on the study's own draws (common random numbers: the
same demand paths, price paths, model-update histories and uniforms), so a
stress case or a goal-seek value differs from the base case by the changed
inputs alone.

* :func:`ask` — "spend X to save Y a month, paid back in Z": investment,
  average monthly saving once live, payback.
* :func:`stress_tests` — the spec's ``[[stress]]`` cases: every option
  re-simulated with some inputs set, verdict and NPV beside the base case.
* :func:`goal_seek` — per driver, the value at which the verdict flips with
  every *other* input still uncertain (not only at medians).
* :func:`spider` — mean NPV against each input's percentile, the others at
  their medians (the tornado's basis, at seven points instead of two).
* :func:`rule_voi` / :func:`pilots` — value of information and of the spec's
  ``[[pilot]]`` measurements under the configured decision rule.
* :func:`decide_metrics`, :func:`criterion_value` — the go/no-go rule and the
  ``[decision] rank_by`` criterion (mean, P50 or CVaR10 NPV) that ranks options.
* :func:`demand_volume` — the ``demand`` input's rank as a total volume over the
  horizon (the q-quantile of the forecast paths' totals), used wherever demand
  is shown (:func:`add_demand_volumes`, :func:`demand_summary`).
* :func:`drivers_in_words`, :func:`correlations`, :func:`diagnostics`,
  :func:`option_inputs`, :func:`basis` — the texts a reader needs to trust
  the numbers on one page.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from roicast.distributions import Distribution
from roicast.errors import RoicastError
from roicast.fleet import fleet_config
from roicast.report._format import input_value, meaningless_ratio, money, pct, si
from roicast.sampling import option_evaluator, sample_inputs
from roicast.sensitivity import cvar as _cvar
from roicast.sensitivity import (
    evsi_pilot,
    mc_standard_errors,
    rankings,
    tail_diagnostics,
    voi_for_rule,
)
from roicast.simulate import INPUT_NAMES, METRIC_NAMES
from roicast.simulate.model import _simulate_unchecked
from roicast.study import StudyResult, _option_rows, summarize_distribution

__all__ = [
    "CORRELATION_RANKING_DRAWS",
    "CRITERIA",
    "GOAL_SEEK_DRAWS",
    "SPIDER_PERCENTILES",
    "add_demand_volumes",
    "ask",
    "basis",
    "break_even_text",
    "combination_terms",
    "correlation_ranking",
    "correlations",
    "criterion",
    "criterion_text",
    "criterion_value",
    "cvar",
    "decide_metrics",
    "demand_summary",
    "demand_volume",
    "diagnostics",
    "drivers_in_words",
    "goal_seek",
    "input_text",
    "option_inputs",
    "pilots",
    "rule_text",
    "rule_voi",
    "spider",
    "stress_tests",
]

_COL = {name: j for j, name in enumerate(INPUT_NAMES)}
_M = {name: j for j, name in enumerate(METRIC_NAMES)}

#: Warn when the forecast horizon exceeds the history by this factor (``extrapolation_ratio``).
EXTRAPOLATION_WARN = 1.0
#: Percentiles of each input on the spider chart.
SPIDER_PERCENTILES = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
#: Draws of the study re-run per goal-seek evaluation (the first ones; all when fewer).
GOAL_SEEK_DRAWS = 10_000
#: Bisection steps of the goal seek (the bracket shrinks 2**-steps).
GOAL_SEEK_STEPS = 14
#: Draws of the study resampled without its rank correlations (the first ones; all when fewer).
CORRELATION_RANKING_DRAWS = 20_000


# ----------------------------------------------------------------------------- the rule


#: The criteria of ``[decision] rank_by``: how each is named in rules and tables.
CRITERIA = {"mean": "mean NPV", "p50": "P50 NPV", "cvar10": "CVaR10 NPV"}
#: The share of worst draws averaged by ``rank_by = "cvar10"``.
CVAR_ALPHA = 0.1

_CRITERION_DEFINITIONS = {
    "mean": "mean NPV over the Monte Carlo draws (expected NPV)",
    "p50": "median NPV over the Monte Carlo draws (numpy's linear quantile, as npv.p50)",
    "cvar10": "CVaR10: the mean of the ceil(0.1 n) lowest NPV draws (expected shortfall at "
    "10 %, the average of the worst decile)",
}


def cvar(x: np.ndarray, alpha: float = CVAR_ALPHA) -> float:
    """Conditional value at risk of the lower tail (:func:`roicast.sensitivity.cvar`, the
    definition ``roicast batch`` uses for a selection's CVaR10), at 10 % by default."""
    return _cvar(x, alpha)


def cvar_se(x: np.ndarray, alpha: float = CVAR_ALPHA) -> float:
    r"""Monte Carlo standard error of :func:`cvar` (asymptotic, independent draws).

    :math:`\mathrm{CVaR}_\alpha = q + \mathrm{E}[\min(X - q, 0)]/\alpha` with
    :math:`q` the :math:`\alpha`-quantile; the estimate of :math:`q` has no
    first-order effect, so

    .. math:: \operatorname{SE} = \frac{\operatorname{sd}\bigl(\min(X - \hat q, 0)\bigr)}
              {\alpha \sqrt n}.

    Latin hypercube draws make it conservative.
    """
    x = np.asarray(x, dtype=float)
    if x.size < 2:
        return float("nan")
    q = float(np.quantile(x, alpha))
    return float(np.minimum(x - q, 0.0).std(ddof=1) / (alpha * np.sqrt(x.size)))


def criterion_value(npv: np.ndarray, rank_by: str = "mean") -> float:
    r"""The central value of an option's NPV draws that ranks options (``[decision] rank_by``).

    ``"mean"``: :math:`\bar x`; ``"p50"``: the median (``np.quantile(x, 0.5)``,
    the ``npv.p50`` of ``summary.json``); ``"cvar10"``: :func:`cvar` at 10 %,
    the mean of the :math:`\lceil 0.1 n \rceil` lowest draws.
    """
    x = np.asarray(npv, dtype=float)
    if rank_by == "mean":
        return float(x.mean())
    if rank_by == "p50":
        return float(np.quantile(x, 0.5))
    if rank_by == "cvar10":
        return cvar(x, CVAR_ALPHA)
    raise RoicastError(f"rank_by: {rank_by!r} is not a criterion; use one of {', '.join(CRITERIA)}")


def criterion_se(npv: np.ndarray, rank_by: str = "mean") -> float:
    """Monte Carlo standard error of :func:`criterion_value` (mean: s/√n; P50: Siddiqui; CVaR10)."""
    x = np.asarray(npv, dtype=float)
    if rank_by == "mean":
        return float(x.std(ddof=1) / np.sqrt(x.size)) if x.size > 1 else float("nan")
    if rank_by == "p50":
        return float(mc_standard_errors(x, quantiles=(0.5,)).loc["p50", "se"])
    return cvar_se(x, CVAR_ALPHA)


def criterion(npv: np.ndarray, rank_by: str = "mean") -> dict[str, Any]:
    """``{rank_by, label, value, se, definition}`` of one option's NPV draws."""
    return {
        "rank_by": rank_by,
        "label": CRITERIA[rank_by],
        "value": criterion_value(npv, rank_by),
        "se": criterion_se(npv, rank_by),
        "definition": _CRITERION_DEFINITIONS[rank_by],
    }


def decide_metrics(npv: np.ndarray, payback: np.ndarray, decision) -> dict[str, Any]:
    """The spec's decision rule on per-draw NPV and payback; every condition reported.

    Conditions: ``P(NPV > 0) >= min_prob_positive_npv`` (with its binomial
    Monte Carlo s.e. :math:`\\sqrt{p(1-p)/n}`), and when set
    ``P50 payback <= max_payback_p50_months`` and ``P10 NPV >= min_npv_p10``;
    with ``rank_by = "p50"`` or ``"cvar10"`` also the criterion
    (:func:`criterion_value`) ``> 0``, with its Monte Carlo s.e.  With the
    default ``rank_by = "mean"`` there is no criterion condition: the rule is
    the one studies had before ``rank_by``.  ``criterion`` reports the
    criterion's value whatever it is.
    """
    npv = np.asarray(npv, float)
    rank_by = getattr(decision, "rank_by", "mean")
    p_pos = float((npv > 0).mean())
    conds: list[dict[str, Any]] = [
        {
            "rule": "P(NPV > 0) >= min_prob_positive_npv",
            "value": p_pos,
            "threshold": decision.min_prob_positive_npv,
            "passed": p_pos >= decision.min_prob_positive_npv,
            "se": float(np.sqrt(p_pos * (1 - p_pos) / npv.size)),  # binomial Monte Carlo s.e.
        }
    ]
    if decision.max_payback_p50_months is not None:
        p50 = summarize_distribution(payback)["p50"]  # the same P50 summary.json reports
        p50 = np.inf if p50 is None else p50
        conds.append(
            {
                "rule": "P50 payback months <= max_payback_p50_months",
                "value": p50 if np.isfinite(p50) else None,
                "threshold": decision.max_payback_p50_months,
                "passed": bool(p50 <= decision.max_payback_p50_months),
            }
        )
    if decision.min_npv_p10 is not None:
        p10 = float(np.quantile(npv, 0.1))
        conds.append(
            {
                "rule": "P10 NPV >= min_npv_p10",
                "value": p10,
                "threshold": decision.min_npv_p10,
                "passed": p10 >= decision.min_npv_p10,
            }
        )
    crit = criterion(npv, rank_by)
    if rank_by != "mean":
        conds.append(
            {
                "rule": f"{CRITERIA[rank_by]} > 0",
                "value": crit["value"],
                "threshold": 0.0,
                "passed": bool(crit["value"] > 0),
                "se": crit["se"],
                "money": True,
            }
        )
    go = all(c["passed"] for c in conds)
    failed = [c["rule"] for c in conds if not c["passed"]]
    return {
        "verdict": "go" if go else "no-go",
        "rule": " and ".join(c["rule"] for c in conds),
        "prob_npv_positive": p_pos,
        "conditions": conds,
        "reason": "all conditions pass" if go else "failed: " + "; ".join(failed),
        "rank_by": rank_by,
        "criterion": crit,
    }


def rule_text(decision) -> str:
    """The decision rule in words: ``go when P(NPV > 0) ≥ 80% and …``; options ranked by the criterion."""
    parts = [f"P(NPV > 0) ≥ {pct(decision.min_prob_positive_npv)}"]
    if decision.max_payback_p50_months is not None:
        parts.append(f"median payback ≤ {decision.max_payback_p50_months:g} months")
    if decision.min_npv_p10 is not None:
        parts.append(f"P10 NPV ≥ {decision.min_npv_p10:,.0f}")
    rank_by = getattr(decision, "rank_by", "mean")
    if rank_by != "mean":
        parts.append(f"{CRITERIA[rank_by]} > 0")
    return "go when " + " and ".join(parts)


def criterion_text(rank_by: str) -> str:
    """How options are ranked, in words: ``ranked by P50 NPV (rank_by = "p50"): …``."""
    label, definition = CRITERIA[rank_by], _CRITERION_DEFINITIONS[rank_by]
    return f'ranked by {label} (rank_by = "{rank_by}"): {definition}'


# ----------------------------------------------------------------------------- demand as volumes


def demand_volume(rank: float | np.ndarray, demand: np.ndarray) -> float | np.ndarray:
    r"""Total demand over the horizon at a rank of the ``demand`` input.

    The input ``demand`` is the rank :math:`q \in [0, 1]` of a forecast path by
    its total volume :math:`V_p = \sum_t D_p[t]`, so rank :math:`q` stands for
    the :math:`q`-quantile of the paths' totals,

    .. math:: v(q) = \hat F_V^{-1}(q) = \texttt{np.quantile}(\{V_p\}, q)

    (numpy's linear interpolation between order statistics; the simulator uses
    path :math:`\lfloor q n \rfloor` of the paths sorted by :math:`V_p`, whose
    total lies between the neighbouring order statistics).  Every place that
    shows demand as a volume (tornado, break-even, scenarios, spider, goal
    seek, drivers, the assumptions table) goes through this function.

    Parameters
    ----------
    rank : float or ndarray
        Rank(s) of the demand input, in [0, 1] (NaN gives NaN).
    demand : ndarray (path, month)
        The forecast paths (any order), in units a month.

    Returns
    -------
    float or ndarray
        Total units over the horizon, the shape of ``rank``.
    """
    totals = np.asarray(demand, dtype=float).reshape(np.shape(demand)[0], -1).sum(axis=1)
    r = np.asarray(rank, dtype=float)
    out = np.full(r.shape, np.nan)
    ok = np.isfinite(r)
    out[ok] = np.quantile(totals, np.clip(r[ok], 0.0, 1.0))
    return float(out) if out.ndim == 0 else out


def _volume_or_none(rank: Any, demand: np.ndarray) -> float | None:
    if rank is None or not np.isfinite(rank):
        return None
    return float(demand_volume(float(rank), demand))


def demand_unit_text(unit: str, horizon: int) -> str:
    """``total requests over 36 months``: what a demand volume counts."""
    return f"total {unit} over {horizon} months"


def volume_text(volume: float | None, unit: str) -> str:
    """A total volume with an SI prefix and its unit: ``1.23B requests``."""
    return si(volume, unit)


def demand_summary(result: StudyResult) -> dict[str, Any]:
    """``summary.json`` ``demand_volume``: the distribution of total demand over the horizon.

    Quantiles of the forecast paths' totals (:func:`demand_volume` at 0.1,
    0.5, 0.9) and their mean, with the unit, the horizon and a one-line text
    (``total requests over 36 months, P10 → P90: 1.2B → 3.4B``).
    """
    spec = result.spec
    d = result.demand_sorted
    unit, h = spec.demand.unit, result.horizon
    lo_q, hi_q = spec.simulation.tornado_low, spec.simulation.tornado_high
    p10, p50, p90 = (float(v) for v in demand_volume(np.array([0.1, 0.5, 0.9]), d))
    lo, hi = (float(v) for v in demand_volume(np.array([lo_q, hi_q]), d))
    return {
        "unit": unit,
        "horizon_months": h,
        "what": demand_unit_text(unit, h),
        "mean": float(d.sum(axis=1).mean()),
        "p10": p10,
        "p50": p50,
        "p90": p90,
        "low": lo,
        "high": hi,
        "low_quantile": lo_q,
        "high_quantile": hi_q,
        "text": f"{demand_unit_text(unit, h)}, P{lo_q * 100:.0f} → P{hi_q * 100:.0f}: "
        f"{si(lo)} → {si(hi)} (median {si(p50)})",
        "definition": "the input `demand` is the rank q of a forecast path by its total volume "
        "over the horizon; rank q stands for the q-quantile of the paths' totals "
        "(np.quantile of the path totals)",
    }


def add_demand_volumes(doc: dict[str, Any], result: StudyResult) -> None:
    """Volumes beside every demand rank of one option's summary, in place.

    Keys (each a total over the horizon, :func:`demand_volume` of the rank beside it):
    tornado rows of ``demand``: ``low_volume``, ``high_volume``, ``base_volume``;
    ``sensitivity.break_even.inputs[demand]``: ``volume`` (``null`` without a
    crossing) and ``base_volume``; ``sensitivity.three_point.cases[*]``:
    ``demand_volume``; ``scenarios.{worst,expected,best}.drivers[demand]``:
    ``scenario_volume``, ``overall_volume`` (at the tail's mean rank and the
    overall mean rank).
    """
    d = result.demand_sorted
    tornados = [doc.get("tornado") or [], *(doc.get("tornado_by_output") or {}).values()]
    for rows in tornados:
        for r in rows:
            if r["input"] == "demand":
                r["low_volume"] = _volume_or_none(r["low_value"], d)
                r["high_volume"] = _volume_or_none(r["high_value"], d)
                r["base_volume"] = _volume_or_none(0.5, d)
    sens = doc.get("sensitivity") or {}
    for b in (sens.get("break_even") or {}).get("inputs", []):
        if b["input"] == "demand":
            b["volume"] = _volume_or_none(b["value"], d)
            b["base_volume"] = _volume_or_none(b["base"], d)
    for case in ((sens.get("three_point") or {}).get("cases") or {}).values():
        if "demand" in case.get("inputs", {}):
            case["demand_volume"] = _volume_or_none(case["inputs"]["demand"], d)
    for k in ("worst", "expected", "best"):
        for dr in (doc.get("scenarios") or {}).get(k, {}).get("drivers") or []:
            if dr["input"] == "demand":
                dr["scenario_volume"] = _volume_or_none(dr["scenario_mean"], d)
                dr["overall_volume"] = _volume_or_none(dr["overall_mean"], d)


def break_even_text(b: Mapping[str, Any], unit: str, horizon: int) -> str:
    """The demand break-even in words: ``NPV = 0 when total demand falls to 0.8B requests …``."""
    if b.get("volume") is None:
        return str(b.get("reason") or "")
    side = "falls to" if b.get("below_target_when") == "lower" else "rises to"
    return (
        f"mean NPV = 0 when total demand {side} {si(b['volume'], unit)} over {horizon} months, "
        f"P{b['quantile'] * 100:.0f} of the forecast"
    )


def input_text(name: str, x: float | None, currency: str, demand: np.ndarray, unit: str) -> str:
    """An input's value in its unit; ``demand`` as a total volume (:func:`demand_volume`)."""
    if name == "demand":
        return volume_text(_volume_or_none(x, demand), unit)
    return input_value(name, x, currency)


# ----------------------------------------------------------------------------- re-runs


class _Rerun:
    """The study's draws of one option, re-simulated with some input columns replaced."""

    def __init__(self, result: StudyResult, option: str, n: int | None = None):
        spec = result.spec
        opt = next(o for o in spec.options if o.name == option)
        x = result.sample.values.sel(option=option).values
        self.x = np.ascontiguousarray(x if n is None else x[:n], dtype=float)
        self.n = self.x.shape[0]
        self.demand = result.demand_sorted
        self.seed = result.seed
        self.price_seed = result.price_path_seed  # a batch's market seed: the study's price paths
        self.discount = spec.project.discount_rate
        self.fleet = fleet_config(spec, opt, result.profiles) if result.profiles else None
        self.ties = result.sample.ties[option]
        self.decision = spec.decision

    def columns(self, cols: Mapping[str, np.ndarray | float]) -> np.ndarray:
        """The draws with ``cols`` replaced (inputs tied to a replaced one follow it)."""
        x = self.x.copy()
        for name, v in cols.items():
            x[:, _COL[name]] = v
        for target, source in self.ties.items():
            if source in cols and target not in cols:
                x[:, _COL[target]] = x[:, _COL[source]]
        return x

    def metrics(self, x: np.ndarray, draws: np.ndarray | None = None) -> np.ndarray:
        """Per-draw metrics of ``x`` (no IRR, no monthly series); ``draws``: the study's
        draw indices of the rows of ``x`` (default ``0..len(x)-1``), so a subset of the
        draws gets the same noise as in the whole."""
        m, _ = _simulate_unchecked(
            np.ascontiguousarray(x),
            self.demand,
            seed=self.seed,
            price_seed=self.price_seed,
            discount_rate=self.discount,
            monthly=False,
            irr=False,
            fleet=self.fleet,
            draw_ids=draws,
        )
        return m

    @property
    def prob_rule_only(self) -> bool:
        """The decision rule is ``P(NPV > 0) >= p*`` alone (the default rule)."""
        d = self.decision
        return (
            d.max_payback_p50_months is None
            and d.min_npv_p10 is None
            and getattr(d, "rank_by", "mean") == "mean"
        )

    def verdict(self, x: np.ndarray) -> dict[str, Any]:
        m = self.metrics(x)
        return decide_metrics(m[:, _M["npv"]], m[:, _M["payback_months"]], self.decision)


# ----------------------------------------------------------------------------- the ask


def ask(result: StudyResult, option: str) -> dict[str, Any]:
    """The ask of one option: spend X to save Y a month, paid back in Z months.

    ``investment``: every cost over the horizon (build, licence, upkeep,
    re-work on model updates), undiscounted, per draw.  ``monthly_saving``:
    the serving spend saved, averaged over the months after go-live,
    :math:`S / \\max(1, H - m)` per draw with :math:`m` the go-live month.
    ``payback_months``: the same P10/P50/P90 as the headline (a draw that
    does not pay back within the horizon counts as not reached).
    """
    res = result.options[option]
    m = res.metrics
    h = result.horizon
    # one input's column (a chunked sample computes it alone, not every input's values)
    go_live = _option_rows(result.sample, option, 0, result.draws, ["implementation.months"])[:, 0]
    monthly = m["savings"].values / np.maximum(1.0, h - go_live)
    inv = summarize_distribution(m["investment"].values)
    sav = summarize_distribution(monthly)
    pb = summarize_distribution(m["payback_months"].values)
    cur = result.spec.project.currency
    opt = next(o for o in result.spec.options if o.name == option)
    description = result.spec.project.description or opt.description or result.spec.project.name
    paid = (
        f"paid back in {pb['p50']:.1f} months (P50)"
        if pb["p50"] is not None
        else f"not paid back within {h} months in half the draws"
    )
    sentence = (
        f"Spend {money(inv['p50'], cur)} (P50; P10–P90 {money(inv['p10'], cur)}–"
        f"{money(inv['p90'], cur)}) over {h} months to save {money(sav['p50'], cur)} a month "
        f"once live (P50), {paid}."
    )
    return {
        "option": option,
        "description": description,
        "investment": inv,
        "monthly_saving": sav,
        "payback_months": pb,
        "sentence": sentence,
        "definition": "investment: every cost over the horizon (build, licence, upkeep, re-work on "
        "model updates), undiscounted; monthly saving: serving spend saved per month after "
        "go-live (total saving / months live); both per draw, P10/P50/P90 across draws",
    }


# ----------------------------------------------------------------------------- basis


def basis(doc: Mapping[str, Any]) -> dict[str, str]:
    """What each headline number conditions on, in one place (item: numbers must agree)."""
    cur = doc["currency"]
    tor = doc.get("tornado") or []
    centre = tor[0]["base"] if tor else None
    npv = doc["npv"]
    out = {
        "npv": "P10/P50/P90 and mean over every Monte Carlo draw (all inputs uncertain at once)",
        "payback": "P10/P50/P90 over every draw; a draw that does not pay back within the horizon "
        "counts as later than the horizon (so P90 may be 'not within horizon'); the cash-flow "
        "chart shades the same P10–P90",
        "roi": "mean of per-draw ROI (undiscounted gains − investment) / investment; it is not "
        "mean NPV / mean investment and can be positive while mean NPV (discounted) is negative",
        "tornado": "every input at its median except one, NPV averaged over the same price paths "
        "and model-update histories: a deterministic centre, not a statistic of the Monte Carlo "
        "draws",
        "deterministic": "adverse / favourable set every input at its P10 / P90 at the same time, "
        "a joint case far rarer than 1 in 10: it lies outside the P10–P90 of NPV by construction",
    }
    if centre is not None:
        out["tornado_centre"] = (
            f"tornado centre {money(centre, cur)} (all inputs at their medians) vs P50 NPV "
            f"{money(npv['p50'], cur)} vs mean NPV {money(npv['mean'], cur)}: NPV is not linear "
            "in the inputs, so the NPV at median inputs is neither its median nor its mean"
        )
    return out


# ----------------------------------------------------------------------------- drivers


def drivers_in_words(result: StudyResult, option: str, top: int = 3) -> list[dict[str, Any]]:
    """The top drivers of NPV in words.

    From the Monte Carlo run when the full analysis ran (contribution to
    variance of the Spearman rank correlations: every input uncertain at once,
    correlations included), else from the tornado's swings.
    """
    res = result.options[option]
    cur = result.spec.project.currency
    unit = result.spec.demand.unit
    dists = result.sample.distributions[option]
    lo_q, hi_q = result.spec.simulation.tornado_low, result.spec.simulation.tornado_high

    def value(name: str, x: float) -> str:
        return input_text(name, x, cur, result.demand_sorted, unit)

    def span(name: str, lo: float, hi: float) -> str:  # demand: its total volume and unit
        if name != "demand":
            return f"{value(name, lo)} to {value(name, hi)}"
        v = demand_volume(np.array([lo, hi], float), result.demand_sorted)
        return f"{demand_unit_text(unit, result.horizon)}: {si(v[0])} to {si(v[1], unit)}"

    tor = res.tornado["npv"]
    out: list[dict[str, Any]] = []
    if res.rankings is not None and len(res.rankings):
        rk = res.rankings.reindex(
            res.rankings["contribution"].abs().sort_values(ascending=False).index
        )
        for name, r in rk.head(top).iterrows():
            d = dists[name]
            direction = "higher is better" if r["spearman"] > 0 else "lower is better"
            lo, hi = float(d.ppf(np.array([lo_q]))[0]), float(d.ppf(np.array([hi_q]))[0])
            out.append(
                {
                    "input": str(name),
                    "contribution": float(abs(r["contribution"])),
                    "spearman": float(r["spearman"]),
                    "text": f"{name} ({span(name, lo, hi)}, "
                    f"P{lo_q * 100:.0f}–P{hi_q * 100:.0f}) explains "
                    f"{pct(abs(float(r['contribution'])))} of the rank variance of NPV; "
                    f"{direction}",
                }
            )
        return out
    for name, r in tor.head(top).iterrows():
        out.append(
            {
                "input": str(name),
                "swing": float(r["swing"]),
                "text": f"{name} from {value(name, r['low_value'])} to "
                f"{value(name, r['high_value'])}{' over the horizon' if name == 'demand' else ''} "
                f"moves mean NPV from {money(r['low'], cur)} to {money(r['high'], cur)}",
            }
        )
    return out


# ----------------------------------------------------------------------------- stress tests


def _stress_columns(
    result: StudyResult, option: str, case_set: Mapping[str, Distribution], n: int, key: int
) -> dict[str, np.ndarray | float]:
    """Values of a stress case's inputs for the study's draws of ``option``."""
    cols: dict[str, np.ndarray | float] = {}
    uncertain = result.sample.uncertain
    u_all = result.sample.uniforms.values
    for j, (name, d) in enumerate(case_set.items()):
        if d.is_fixed:
            cols[name] = float(d.median)
            continue
        source = result.sample.ties[option].get(name, name)
        if source in uncertain:  # the input's own uniforms: its correlations are kept
            u = u_all[:n, uncertain.index(source)]
        else:  # stratified uniforms, seeded by the study seed, the case and the input
            rng = np.random.default_rng([result.seed, 7, key, j])
            u = (rng.permutation(n) + rng.random(n)) / n
        cols[name] = np.asarray(d.ppf(np.clip(u, 1e-9, 1 - 1e-9)), float)
    return cols


def _case_row(npv: np.ndarray, pb: np.ndarray, decision) -> dict[str, Any]:
    dec = decide_metrics(npv, pb, decision)
    s = summarize_distribution(npv)
    return {
        "verdict": dec["verdict"],
        "reason": dec["reason"],
        "prob_npv_positive": dec["prob_npv_positive"],
        "prob_npv_negative": float((npv < 0).mean()),
        "npv": {k: s[k] for k in ("mean", "p10", "p50", "p90")},
        "payback_months_p50": summarize_distribution(pb)["p50"],
    }


def stress_tests(result: StudyResult) -> dict[str, Any]:
    """Every ``[[stress]]`` case of the spec, for every option, beside the base case.

    Each option's draws are re-run with the case's inputs replaced: a number
    in every draw, or a distribution drawn with the input's own uniforms (so
    rank correlations with other inputs hold) — fresh stratified uniforms when
    the input was fixed in the study.  Everything else (other inputs, demand
    and price paths, model updates) is the study's, draw for draw.
    """
    spec = result.spec
    base = {
        name: _case_row(
            res.metrics["npv"].values, res.metrics["payback_months"].values, spec.decision
        )
        for name, res in result.options.items()
    }
    cases = []
    for k, case in enumerate(spec.stress):
        per: dict[str, Any] = {}
        for name in result.options:
            rr = _Rerun(result, name)
            cols = _stress_columns(result, name, case.set, rr.n, k)
            m = rr.metrics(rr.columns(cols))
            per[name] = _case_row(m[:, _M["npv"]], m[:, _M["payback_months"]], spec.decision)
        cases.append(
            {
                "name": case.name,
                "description": case.description,
                "set": {n: d.describe() for n, d in case.set.items()},
                "options": per,
            }
        )
    return {
        "definition": "each case re-runs every option's Monte Carlo draws with the named inputs "
        "set (a value, or a distribution drawn with the input's own uniforms); every other "
        "input, demand and price path as in the base case, draw for draw",
        "base": base,
        "cases": cases,
    }


# ----------------------------------------------------------------------------- goal seek


def _search_range(name: str, d: Distribution) -> tuple[float, float]:
    """Where to look for the flip: the input's P0.1–P99.9 widened by half its width each side."""
    lo, hi = (float(v) for v in d.ppf(np.array([0.001, 0.999])))
    w = max(hi - lo, 1e-9 * max(1.0, abs(hi)))
    a, b = lo - 0.5 * w, hi + 0.5 * w
    kind_floor = {
        "pricing.annual_change": -0.99,
        "indirect.benefit_per_month": -np.inf,
    }
    floor = kind_floor.get(name, 0.0)
    if name in ("optimized.throughput_gain", "optimized.throughput_gain_at_peak",
                "baseline.throughput", "baseline.price", "optimized.price_ratio",
                "baseline.utilization", "optimized.utilization"):  # fmt: skip
        floor = 1e-3 * max(lo, 1e-9)
    a = max(a, floor)
    if name == "demand":  # the demand path's quantile by total volume
        a, b = 0.0, 1.0
    if name in ("baseline.utilization", "optimized.utilization", "pricing.stranded_recovery"):
        b = min(b, 1.0)
    return a, b


def _verdict_npv(rr: _Rerun, x: np.ndarray) -> dict[str, Any]:
    """:meth:`_Rerun.verdict` of ``x``, keeping the per-draw NPV (``"_npv"``) for
    :func:`_bisect` when the rule is ``P(NPV > 0) >= p*`` alone."""
    m = rr.metrics(x)
    out = decide_metrics(m[:, _M["npv"]], m[:, _M["payback_months"]], rr.decision)
    if rr.prob_rule_only:
        out["_npv"] = m[:, _M["npv"]]
    return out


#: Subset bisections tried (each adding the draws found non-monotone) before full bisection.
_SUBSET_PASSES = 3


def _subset_pass(
    rr: _Rerun,
    name: str,
    a: float,
    b: float,
    ga: bool,
    steps: int,
    npv_a: np.ndarray,
    npv_b: np.ndarray,
    always: np.ndarray,
) -> tuple[float, float, float, np.ndarray]:
    """One bisection of :func:`_bisect` on the undecided draws (and the ``always`` ones).

    Returns ``(lo, hi, P(NPV > 0) at the midpoint, wrong)``, ``wrong`` marking the
    settled draws whose sign at the midpoint (every draw re-run) is not the one counted.
    """
    n = rr.n
    p_star = rr.decision.min_prob_positive_npv
    sign = npv_a > 0  # per draw: its sign at lo while undecided, its settled sign after
    sign_hi = npv_b > 0  # per draw: its sign at hi while undecided
    undecided = np.flatnonzero((sign != sign_hi) | always)
    decided_pos = int(np.count_nonzero(sign)) - int(np.count_nonzero(sign[undecided]))
    lo, hi = a, b
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        pos_u = np.zeros(0, dtype=bool)
        if undecided.size:
            pos_u = rr.metrics(rr.columns({name: mid})[undecided], undecided)[:, _M["npv"]] > 0
        g = ((decided_pos + int(np.count_nonzero(pos_u))) / n) >= p_star
        if g == ga:  # mid replaces lo: the draws that agree with hi are settled
            lo = mid
            settled = pos_u == sign_hi[undecided]
            sign[undecided] = pos_u
        else:  # mid replaces hi: the draws that agree with lo are settled
            hi = mid
            settled = pos_u == sign[undecided]
            sign_hi[undecided] = pos_u
        settled &= ~always[undecided]
        decided_pos += int(np.count_nonzero(pos_u[settled]))
        undecided = undecided[~settled]
    full = rr.metrics(rr.columns({name: 0.5 * (lo + hi)}))[:, _M["npv"]] > 0
    wrong = full != sign
    wrong[undecided] = False
    return lo, hi, float(full.mean()), wrong


def _bisect(
    rr: _Rerun,
    name: str,
    a: float,
    b: float,
    ga: bool,
    steps: int,
    npv_a: np.ndarray | None,
    npv_b: np.ndarray | None,
) -> tuple[float, float, float | None]:
    r"""The bracket ``(lo, hi)`` of the verdict's flip after ``steps`` halvings of ``[a, b]``.

    Bisection: the midpoint replaces the end whose verdict it shares.  With the
    rule ``P(NPV > 0) >= p*`` alone and the per-draw NPV at both ends known,
    each step re-runs only the draws whose sign of NPV differs between the
    bracket's ends (a draw whose NPV is monotone in the input keeps its sign
    inside a bracket whose ends agree), counting the others as at the ends:
    :math:`\#\{	ext{NPV}_i(m) > 0\} = \#\{	ext{decided positive}\} +
    \#\{i \in U : 	ext{NPV}_i(m) > 0\}`.  The bracket is then checked with
    every draw at the midpoint of the last one (every settled draw must have
    the sign it was counted with; its P(NPV > 0) is returned as the third
    value); if not, the steps are redone with every draw (third value None).
    The midpoints, the verdicts and so the bracket are those of full
    bisection when every draw's NPV is monotone in the input.  When a draw's
    NPV is not (it dips below zero and back inside the bracket: go-live month,
    whole-instance rounding), a settled draw is counted with its end sign at a
    midpoint where it differs, and the search can take the other half: the
    result is still a flip of the verdict checked with every draw at the last
    midpoint, but when the verdict flips more than once it may be another flip
    than full bisection finds (goal seek assumes one flip).
    """
    if npv_a is not None and npv_b is not None:
        always = np.zeros(rr.n, dtype=bool)
        for _ in range(_SUBSET_PASSES):
            lo, hi, p_mid, wrong = _subset_pass(rr, name, a, b, ga, steps, npv_a, npv_b, always)
            if not wrong.any():
                return lo, hi, p_mid
            always |= wrong  # non-monotone draws: evaluated at every step next time
    lo, hi = a, b
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        g = rr.verdict(rr.columns({name: mid}))["verdict"] == "go"
        if g == ga:
            lo = mid
        else:
            hi = mid
    return lo, hi, None


def goal_seek_input(
    rr: _Rerun,
    name: str,
    d: Distribution,
    *,
    horizon: int,
    steps: int = GOAL_SEEK_STEPS,
    search: tuple[float, float] | None = None,
) -> dict[str, Any]:
    """The value of ``name`` at which the verdict flips, every other input uncertain.

    :math:`\text{go}(v)` is the decision rule applied to the draws with the
    input's column set to :math:`v` (ties follow); the flip is found by
    bisection between the ends of ``search`` (default: the input's P0.1–P99.9
    widened by half its width each side, within the input's domain), assuming
    one flip; the result is within ``(b - a) / 2**steps`` of it.  With the
    default rule (``P(NPV > 0) >= p*`` alone) the steps re-run only the draws
    whose sign is still open (:func:`_bisect`): about 3 + 2 full re-runs of the
    draws instead of ``steps + 3``, the same midpoints and answer when every
    draw's NPV is monotone in the input (else possibly another flip, see
    :func:`_bisect`).
    """
    a, b = _search_range(name, d) if search is None else (float(search[0]), float(search[1]))
    if name == "implementation.months":
        b = min(b, horizon - 1e-6)
    va, vb = _verdict_npv(rr, rr.columns({name: a})), _verdict_npv(rr, rr.columns({name: b}))
    ga, gb = va["verdict"] == "go", vb["verdict"] == "go"
    base_val = float(d.median)
    row: dict[str, Any] = {
        "input": name,
        "median": base_val,
        "searched": [a, b],
        "prob_npv_positive_at_ends": [va["prob_npv_positive"], vb["prob_npv_positive"]],
    }
    if ga == gb:
        row.update(
            value=None,
            go_when=None,
            reason=f"the verdict is {'go' if ga else 'no-go'} at both ends of {a:.4g} … {b:.4g}",
        )
        return row
    lo, hi, p_mid = _bisect(rr, name, a, b, ga, steps, va.get("_npv"), vb.get("_npv"))
    v = 0.5 * (lo + hi)
    col = rr.x[:, _COL[name]]
    row.update(
        value=v,
        go_when="above" if gb else "below",
        tolerance=hi - lo,
        quantile=float((col < v).mean()) if np.ptp(col) > 0 else None,
        prob_npv_positive=(
            rr.verdict(rr.columns({name: v}))["prob_npv_positive"] if p_mid is None else p_mid
        ),
        reason="",
    )
    return row


def goal_seek(
    result: StudyResult,
    option: str,
    *,
    top: int = 3,
    inputs: list[str] | None = None,
    search: Mapping[str, tuple[float, float]] | None = None,
    steps: int = GOAL_SEEK_STEPS,
) -> dict[str, Any]:
    """Per driver of ``option``: the value at which the verdict flips, every other input uncertain.

    ``inputs`` default to the ``top`` tornado swings of NPV, with the
    throughput gain first when it is uncertain.  Uses the study's first
    :data:`GOAL_SEEK_DRAWS` draws (all when fewer), so with the input at its
    sampled values the verdict is the study's.  ``search`` gives the bracket
    per input (default :func:`_search_range`).
    """
    res = result.options[option]
    dists = result.sample.distributions[option]
    if inputs is None:
        free = result.sample.free_inputs(option)
        names = [str(n) for n in res.tornado["npv"].index[:top]]
        if "optimized.throughput_gain" in free and "optimized.throughput_gain" not in names:
            names.insert(0, "optimized.throughput_gain")
    else:
        names = list(inputs)
    search = dict(search or {})
    rr = _Rerun(result, option, n=min(result.draws, GOAL_SEEK_DRAWS))
    rows = [
        goal_seek_input(rr, n, dists[n], horizon=result.horizon, steps=steps, search=search.get(n))
        for n in names
    ]
    for row in rows:  # demand: the flip as a total volume over the horizon
        if row["input"] == "demand":
            row["volume"] = _volume_or_none(row["value"], rr.demand)
            row["median_volume"] = _volume_or_none(row["median"], rr.demand)
    return {
        "option": option,
        "draws": rr.n,
        "definition": "the value of each input at which the verdict flips when that input is set "
        "to it in every draw and every other input keeps its uncertainty (the decision rule "
        "applied to the re-run draws; bisection, one flip assumed)",
        "inputs": rows,
    }


# ----------------------------------------------------------------------------- spider


def spider(result: StudyResult, option: str, *, top: int = 8) -> dict[str, Any]:
    """Mean NPV against each input's percentile, the others at their medians.

    The tornado's basis (common random numbers over ``tornado_draws`` price
    paths and model-update histories) at :data:`SPIDER_PERCENTILES`; the
    50th-percentile point of every line is the tornado's centre.
    """
    spec = result.spec
    res = result.options[option]
    dists = result.sample.distributions[option]
    names = [str(n) for n in res.tornado["npv"].index[:top]]
    opt = next(o for o in spec.options if o.name == option)
    ev = option_evaluator(
        result.sample,
        option,
        result.demand_sorted,
        n_noise=min(spec.simulation.tornado_draws, result.draws),
        seed=result.seed,
        price_seed=result.price_path_seed,
        discount=spec.project.discount_rate,
        horizon=result.horizon,
        fleet=fleet_config(spec, opt, result.profiles) if result.profiles else None,
    )
    q = np.array(SPIDER_PERCENTILES)
    rows = []
    for name in names:
        vals = np.asarray(dists[name].ppf(q), float)
        npv = ev.mean_npv({name: vals})
        row = {"input": name, "values": vals.tolist(), "npv": npv.tolist()}
        if name == "demand":  # total volume over the horizon at each rank
            row["volumes"] = demand_volume(vals, result.demand_sorted).tolist()
            row["unit"] = spec.demand.unit
        rows.append(row)
    return {
        "option": option,
        "percentiles": list(SPIDER_PERCENTILES),
        "definition": "mean NPV with one input at each percentile of its distribution, the others "
        "at their medians (same price paths and model updates for every point; the tornado's "
        "basis)",
        "inputs": rows,
    }


# ----------------------------------------------------------------------------- value of information


def _rule(decision) -> tuple[str, float]:
    p = decision.min_prob_positive_npv
    return ("prob_positive", p) if p > 0 else ("mean_positive", 0.5)


def rule_voi(result: StudyResult, option: str) -> dict[str, Any] | None:
    """EVPI / EVPPI of ``option`` under the configured rule (:func:`roicast.sensitivity.voi_for_rule`).

    The rule's P(NPV > 0) condition is valued by its preposterior
    :math:`P(\\text{NPV} > 0 \\mid x)`; conditions on payback, P10 NPV or the
    ``rank_by`` criterion are not.
    """
    free = result.sample.free_inputs(option)
    npv = result.options[option].metrics["npv"].values
    if not free or np.ptp(npv) == 0:
        return None
    rule, thr = _rule(result.spec.decision)
    X = result.sample.values.sel(option=option, input=free).to_pandas()
    out = voi_for_rule(X, npv, rule=rule, threshold=thr).to_dict()
    out["definition"] = (
        "value of learning each input before deciding when the decision follows the configured "
        "rule (go when P(NPV > 0 | what is known) reaches the threshold): "
        "E[E[NPV | x] 1{go(x)}] − E[NPV] 1{go now}; negative when learning it would make the "
        "rule turn down projects worth doing on average; prob_flip: chance that learning it "
        "reverses today's verdict"
    )
    return out


def pilots(result: StudyResult, option: str) -> list[dict[str, Any]]:
    """Every ``[[pilot]]`` of the spec valued for ``option`` (:func:`roicast.sensitivity.evsi_pilot`)."""
    spec = result.spec
    free = result.sample.free_inputs(option)
    npv = result.options[option].metrics["npv"].values
    rule, thr = _rule(spec.decision)
    X = result.sample.values.sel(option=option, input=free).to_pandas() if free else None
    out = []
    cur = spec.project.currency
    for j, p in enumerate(spec.pilot):
        row: dict[str, Any] = {
            "name": p.name or f"pilot on {p.input}",
            "description": p.description,
            "option": option,
        }
        if X is None or p.input not in free or np.ptp(npv) == 0:
            row.update(
                input=p.input,
                noise_sd=p.noise_sd,
                cost=p.cost,
                evsi=None,
                worth_running=False,
                verdict_could_flip=False,
                text=f"{p.input} is not uncertain in option {option}: nothing to learn",
            )
            out.append(row)
            continue
        res = evsi_pilot(
            X,
            npv,
            p.input,
            p.noise_sd,
            p.cost,
            rule=rule,
            threshold=thr,
            seed=np.random.default_rng([result.seed, 8, j]),
        ).to_dict()
        row.update(res)
        row["verdict_could_flip"] = res["prob_flip"] > 0
        row["text"] = (
            f"{row['name']}: worth {money(res['evsi'], cur)} before deciding against a cost of "
            f"{money(p.cost, cur)} ({'run it' if res['worth_running'] else 'not worth it'}); "
            f"it reverses today's verdict with probability {pct(res['prob_flip'])}"
        )
        out.append(row)
    return out


# ----------------------------------------------------------------------------- correlations, diagnostics


def correlations(result: StudyResult) -> list[dict[str, Any]]:
    """The spec's rank correlations with the Spearman correlation achieved in the draws."""
    from scipy.stats import spearmanr

    u = result.sample.uniforms
    names = list(result.sample.uncertain)
    out = []
    for c in result.spec.correlations:
        a, b = c.between
        achieved = None
        if a in names and b in names:
            achieved = float(spearmanr(u.sel(input=a).values, u.sel(input=b).values)[0])
        out.append({"between": [a, b], "rho": c.rho, "achieved": achieved})
    return out


def diagnostics(result: StudyResult, doc: Mapping[str, Any], option: str) -> dict[str, Any]:
    """Warnings a reviewer must see: tail-driven mean, forecast warnings, meaningless ratios."""
    m = result.options[option].metrics
    npv = m["npv"].values
    cur = result.spec.project.currency
    warnings: list[str] = []
    tail = tail_diagnostics(npv).to_dict() if np.ptp(npv) > 0 else None
    if tail and tail["tail_driven"]:
        why = "; ".join(tail["reasons"])
        warnings.append(
            f"Tail-driven mean ({why}; the top 1 % of draws carry {pct(tail['top_share'])} of "
            f"total NPV): read the P50 ({money(doc['npv']['p50'], cur)}) before the mean "
            f"({money(doc['npv']['mean'], cur)})" + _rank_by_advice(result, doc)
        )
    ratio = doc.get("forecast", {}).get("extrapolation_ratio")
    if ratio is not None and ratio > EXTRAPOLATION_WARN:
        warnings.append(
            f"Extrapolated demand: the forecast runs {ratio:.1f}× as long as the history it was "
            "fitted on; its later months are assumptions, not data"
        )
    for w in doc.get("forecast", {}).get("warnings", []):
        warnings.append(f"Demand forecast: {w}")
    inv = float(np.median(m["investment"].values))
    gain = float(np.median(m["gain"].values))
    if meaningless_ratio(inv, gain):
        warnings.append(
            f"ROI and IRR are not meaningful: the investment ({money(inv, cur)}) is under 1 % of "
            f"the gains ({money(gain, cur)}); judge by NPV"
        )
    pb = doc["payback_months"]
    if pb.get("p90") is None:
        warnings.append(
            f"{pct(1 - pb['prob_within_horizon'])} of draws do not pay back within "
            f"{result.horizon} months"
        )
    return {"tail": tail, "warnings": warnings}


def _rank_by_advice(result: StudyResult, doc: Mapping[str, Any]) -> str:
    """With ``rank_by = "mean"``: the advice to rank and decide on the median instead."""
    rank_by = result.spec.decision.rank_by
    if rank_by != "mean":
        return f'; options are ranked by {CRITERIA[rank_by]} (rank_by = "{rank_by}")'
    text = '; set [decision] rank_by = "p50" to rank options and decide on the median'
    per = {o["name"]: o for o in doc.get("options") or []}
    if len(per) > 1:
        by_p50 = max(per, key=lambda k: per[k]["npv"]["p50"])
        if by_p50 != doc["option"]:
            text += f" (the highest P50 NPV is {by_p50}'s, not {doc['option']}'s)"
    return text


# ----------------------------------------------------------------------------- options


def option_inputs(result: StudyResult) -> dict[str, Any]:
    """Per option: its inputs that differ from another option's, with the source shown.

    An option's own ``sources`` override ``[sources]`` for that option; an
    input without a source that is tied to another shows the tie.
    """
    spec = result.spec
    names = list(result.options)
    dists = result.sample.distributions
    differing = [
        n
        for n in INPUT_NAMES
        if len({dists[o][n].describe() for o in names}) > 1
        or len({result.sample.ties[o].get(n, "") for o in names}) > 1
    ]
    per: dict[str, Any] = {}
    combos = result.sample.combinations
    for opt in spec.options:
        srcs = {**spec.sources, **opt.sources}
        ties = result.sample.ties[opt.name]
        derived = combos[opt.name].derived if opt.name in combos else {}

        def source(n: str, srcs=srcs, derived=derived, ties=ties) -> str:
            if n in srcs:
                return srcs[n]
            return f"derived from its parts: {derived[n]}" if n in derived and n not in ties else ""

        per[opt.name] = {
            "description": opt.description,
            "combines": list(opt.combines),
            "overrides": {
                n: {
                    "distribution": dists[opt.name][n].describe()
                    if n not in ties
                    else f"same value as {ties[n]} in every draw",
                    "source": source(n),
                }
                for n in differing
            },
            "sources": srcs,
            "set_in_option": list(opt.overrides),
        }
        if opt.name in combos:
            per[opt.name]["combination"] = combos[opt.name].to_dict()
    return {"differing_inputs": differing, "options": per}


def combination_terms(result: StudyResult, option: str, parts: list[str]) -> dict[str, Any]:
    """A combined option against its parts on a consistent basis, per draw.

    A combining option derives every field it does not set from its parts
    (:data:`roicast.inputs.DERIVATION`: gains multiply on the same fleet,
    costs add, churn events are the union, indirect benefits add).  With
    common random numbers every option sees the same baseline spend
    :math:`C_0` (``tco_baseline``) in a draw; with the gains composing, the
    spend left after all parts is :math:`C_0 \\prod_j (1 - f_j)` with
    :math:`f_j = S_j / C_0` each part's saved share, so the saving to expect
    from the combination is

    .. math:: S_\\text{composed} = C_0 \\Bigl(1 - \\prod_j (1 - f_j)\\Bigr),

    not :math:`\\sum_j S_j` (that counts the same spend twice).  The
    interaction is the combined option's saving minus
    :math:`S_\\text{composed}`: near zero for a fully derived combination
    (what is left comes from the fleet's floor and the go-live and ramp of the
    slowest part), and the effect of the fields the option sets itself
    (``overridden``, e.g. gains that multiply less than fully).  The cost side
    compares its investment with the sum of the parts' (equal when the costs
    are derived, up to the churn of the union of update processes).
    """
    combo = result.sample.combinations.get(option)
    c0 = result.options[option].metrics["tco_baseline"].values
    s = {o: result.options[o].metrics["savings"].values for o in [option, *parts]}
    k = {o: result.options[o].metrics["investment"].values for o in [option, *parts]}
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.prod([1.0 - np.where(c0 > 0, s[p] / c0, 0.0) for p in parts], axis=0)
    composed = c0 * (1.0 - left)
    return {
        "savings": float(s[option].mean()),
        "savings_if_gains_compose": float(composed.mean()),
        "savings_sum_of_parts": float(sum(s[p].mean() for p in parts)),
        "savings_interaction": float((s[option] - composed).mean()),
        "investment": float(k[option].mean()),
        "investment_sum_of_parts": float(sum(k[p].mean() for p in parts)),
        "derived": dict(combo.derived) if combo else {},
        "overridden": list(combo.overridden) if combo else [],
        "definition": "the combined option derives every field it does not set from its parts "
        "(gains multiply on the same fleet, costs add, churn events are the union, indirect "
        "benefits add; `derived`), and the fields it sets itself replace the derivation "
        "(`overridden`); savings_if_gains_compose = C0·(1 − Π(1 − S_part/C0)) per draw (C0 the "
        "baseline spend), not the sum of the parts' savings, which counts the same spend twice; "
        "savings_interaction = the combined option's saving − that: what its overrides, the "
        "fleet's floor and the slowest part's go-live change against pure composition",
    }


def correlation_ranking(
    result: StudyResult, option: str, *, max_draws: int = CORRELATION_RANKING_DRAWS
) -> dict[str, Any] | None:
    """The drivers of NPV ranked with and without the spec's rank correlations.

    *With*: the study's own ranking (contribution to variance of the Spearman
    rank correlations over all its draws, :func:`roicast.sensitivity.rankings`).
    *Without*: the same seed's sample drawn without Iman–Conover
    (:func:`roicast.sampling.sample_inputs` on the spec without
    ``[[correlations]]``: the study's uniforms before they were reordered when
    :math:`n` equals the study's draws), :math:`n = \\min(\\text{draws},` ``max_draws``:math:`)`,
    simulated with the study's demand paths and noise (draw :math:`i` sees the
    study's price path :math:`i`), ranked the same way.  The Monte Carlo
    standard error of a Spearman coefficient is about
    :math:`(1 - \\rho^2)\\sqrt{1.06/(n - 3)}` (Fieller, Hartley & Pearson
    1957), given per input.  ``None`` without correlations or without the
    study's rankings.
    """
    spec = result.spec
    res = result.options[option]
    free = result.sample.free_inputs(option)
    if not spec.correlations or res.rankings is None or not free:
        return None
    n = min(result.draws, max_draws)
    plain = spec.model_copy(update={"correlations": []})
    smp = sample_inputs(plain, n, n_paths=result.demand_sorted.shape[0], seed=result.seed)
    rr = _Rerun(result, option)
    x = np.ascontiguousarray(smp.values.sel(option=option).values)
    npv = rr.metrics(x)[:, _M["npv"]]
    without = rankings(smp.values.sel(option=option, input=free).to_pandas(), npv)

    def rows(rk, size: int) -> list[dict[str, Any]]:
        order = rk["contribution"].abs().sort_values(ascending=False, kind="stable").index
        out = []
        for i, name in enumerate(order):
            rho = float(rk.loc[name, "spearman"])
            out.append(
                {
                    "input": str(name),
                    "rank": i + 1,
                    "contribution": float(abs(rk.loc[name, "contribution"])),
                    "spearman": rho,
                    "se_spearman": float((1 - rho**2) * np.sqrt(1.06 / max(size - 3, 1))),
                }
            )
        return out

    with_rows, without_rows = rows(res.rankings, result.draws), rows(without, n)
    wo = {r["input"]: r for r in without_rows}
    moved = []
    for r in with_rows:
        w = wo.get(r["input"])
        if w is None or w["rank"] == r["rank"]:
            continue
        gap = abs(r["spearman"] - w["spearman"])
        moved.append(
            {
                "input": r["input"],
                "rank_with": r["rank"],
                "rank_without": w["rank"],
                "spearman_with": r["spearman"],
                "spearman_without": w["spearman"],
                # two independent samples: the s.e. of the difference adds in quadrature
                "beyond_mc_error": bool(gap > 3 * np.hypot(r["se_spearman"], w["se_spearman"])),
            }
        )
    return {
        "option": option,
        "draws_with": int(result.draws),
        "draws_without": int(n),
        "with": with_rows,
        "without": without_rows,
        "moved": moved,
        "top3_changed": [r["input"] for r in with_rows[:3]]
        != [r["input"] for r in without_rows[:3]],
        "definition": "drivers of NPV ranked by contribution to variance (Spearman rank "
        "correlation with NPV, squared and normalised) with the spec's correlations (the study's "
        f"draws) and without them (the same seed resampled without Iman–Conover, {n:,} draws, "
        "the same demand and price paths); se_spearman ≈ (1 − ρ²)·√(1.06/(n − 3)) is the Monte "
        "Carlo standard error of each ρ",
    }
