"""The machine-readable summary of a study (``summary.json``) and the decision.

``summary.json`` is roicast's stable contract; its keys are documented in the
README ("summary.json").  Distribution entries carry ``mean``, ``p10``,
``p50``, ``p90`` (plus ``sd`` and ``se_mean``, the Monte Carlo standard error
of the mean); quantiles that are not finite (a payback not reached) are
``null``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from roicast import __version__
from roicast.report import review
from roicast.study import OptionAnalysis, StudyResult, summarize_distribution

__all__ = ["decide", "onprem_summary", "option_summary", "summary"]


def decide(res: OptionAnalysis, spec, horizon: int) -> dict[str, Any]:
    """Apply the spec's decision rule to one option; every condition is reported."""
    return review.decide_metrics(
        res.metrics["npv"].values, res.metrics["payback_months"].values, spec.decision
    )


def _tornado_rows(res: OptionAnalysis, output: str) -> list[dict[str, Any]]:
    df = res.tornado[output]
    keys = ("low", "high", "swing", "low_value", "high_value", "base")
    cols = [df[k].to_numpy(dtype=float).tolist() for k in keys]  # by column: no per-row Series
    return [
        {"input": name, **{k: c[i] for k, c in zip(keys, cols, strict=True)}}
        for i, name in enumerate(df.index)
    ]


def _records(df, index_name: str = "input") -> list[dict[str, Any]]:
    return [{index_name: str(i), **{k: _py(v) for k, v in row.items()}} for i, row in df.iterrows()]


def _py(v: Any) -> Any:
    if isinstance(v, np.generic):
        v = v.item()
    return v


def _convergence(res: OptionAnalysis) -> dict[str, Any]:
    conv = res.convergence
    return {
        str(stat): {k: _py(row[k]) for k in ("value", "se", "rel_half_width")}
        for stat, row in conv.iterrows()
    }


def _sensitivity(res: OptionAnalysis) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if res.rankings is not None:
        rk = res.rankings
        out["rankings"] = _records(rk)
        out["nonmonotonic"] = [str(i) for i in rk.index[rk["nonmonotonic"]]]
    if res.sobol is not None:
        out["sobol"] = res.sobol.to_dict()
    if res.break_even is not None:
        out["break_even"] = res.break_even.to_dict()
    if res.three_point is not None:
        out["three_point"] = res.three_point.to_dict()
    return out


def _scenarios(res: OptionAnalysis, npv: np.ndarray, roi: np.ndarray) -> dict[str, Any]:
    q = np.quantile(npv, [0.1, 0.5, 0.9])
    fr = roi[np.isfinite(roi)]
    qr = np.quantile(fr, [0.1, 0.5, 0.9]) if fr.size else [None] * 3
    out: dict[str, Any] = {
        "definition": "worst / expected / best = P10 / P50 / P90 of each output across the Monte Carlo draws; "
        "drivers: inputs whose mean in that tail (NPV below P10, within ±5 % of P50, above P90) "
        "differs most from their overall mean, in standard deviations",
    }
    for i, k in enumerate(("worst", "expected", "best")):
        out[k] = {"npv": float(q[i]), "roi": None if qr[i] is None else float(qr[i])}
        if res.scenarios_npv is not None:
            out[k]["drivers"] = res.scenarios_npv[k].to_dict()["drivers"]
    if res.three_point is not None:
        tp = res.three_point.to_dict()
        out["deterministic"] = {
            "definition": "every input at its adverse / base / favourable value (P10 or P90, median), "
            "mean NPV over the price-path and model-update noise: deterministic cases, not probabilities",
            **{k: v["output"] for k, v in tp["cases"].items()},
        }
    return out


def option_summary(res: OptionAnalysis, result: StudyResult) -> dict[str, Any]:
    """Headline numbers of one option.

    ``criterion`` is the value of ``[decision] rank_by`` that ranks it
    (:func:`roicast.report.review.criterion`); every demand rank is paired with
    its total volume over the horizon (:func:`roicast.report.review.add_demand_volumes`).
    """
    m = res.metrics
    horizon = result.horizon
    npv = m["npv"].values
    roi = m["roi"].values
    pb = m["payback_months"].values
    within = np.isfinite(pb)
    payback = summarize_distribution(pb)
    payback["prob_within_horizon"] = float(within.mean())
    payback["mean_note"] = "mean over draws that pay back within the horizon"
    out: dict[str, Any] = {
        "name": res.name,
        "roi": summarize_distribution(roi),
        "npv": summarize_distribution(npv),
        "payback_months": payback,
        "discounted_payback_months": {
            **summarize_distribution(m["discounted_payback_months"].values),
            "prob_within_horizon": float(np.isfinite(m["discounted_payback_months"].values).mean()),
        },
        "irr": {
            **summarize_distribution(m["irr"].values),
            "prob_defined": float(np.isfinite(m["irr"].values).mean()),
        },
        "prob_npv_negative": float((npv < 0).mean()),
        "tco_baseline": summarize_distribution(m["tco_baseline"].values),
        "tco_optimized": summarize_distribution(m["tco_optimized"].values),
        "cost_per_million_baseline": summarize_distribution(m["cost_per_million_baseline"].values),
        "cost_per_million_optimized": summarize_distribution(
            m["cost_per_million_optimized"].values
        ),
        "instance_hours_saved": summarize_distribution(m["instance_hours_saved"].values),
        "investment": summarize_distribution(m["investment"].values),
        "scenarios": _scenarios(res, npv, roi),
        "tornado": _tornado_rows(res, "npv"),
        "tornado_by_output": {k: _tornado_rows(res, k) for k in res.tornado},
        "decision": decide(res, result.spec, horizon),
        "convergence": _convergence(res),
        "sensitivity": _sensitivity(res),
    }
    out["criterion"] = out["decision"]["criterion"]  # the value that ranks this option
    review.add_demand_volumes(out, result)
    if res.evpi is not None:
        out["value_of_information"] = {
            "evpi": float(res.evpi),
            "evppi": {str(k): float(v) for k, v in res.evppi.items()},
            "definition": "EVPI = E[max(NPV, 0)] - max(E[NPV], 0): what perfect information would be worth "
            "before the go/no-go decision; EVPPI per input: the same for learning that input alone",
        }
    return out


def fleet_summary(result: StudyResult, option: str) -> dict[str, Any]:
    """How the fleet is provisioned and bought: policy, load profile, commitment, platforms."""
    spec = result.spec
    dists = result.sample.distributions[option]
    opt = next(o for o in spec.options if o.name == option)
    prof = result.profiles
    base_platform = "cloud" if spec.onprem is None else spec.onprem.baseline_platform
    return {
        "provisioning": spec.fleet.provisioning,
        "profile": None if prof is None else prof.source,
        "profile_slots": None if prof is None else int(prof.rows.shape[1]),
        "peak_to_mean": None if prof is None else prof.peak_to_mean,
        "committed_instances": dists["pricing.committed_instances"].median,
        "commitment_months": dists["pricing.commitment_months"].median,
        "api": opt.optimized.api_price_per_million is not None,
        "baseline_platform": base_platform,
        "optimized_platform": opt.platform or base_platform,
    }


# ----------------------------------------------------------------------------- on-prem

#: What the ``onprem`` section conditions on (README, "On-prem fleets: the report").
ONPREM_DEFINITIONS = {
    "first_purchase_month": "month (1 = the study's first) in which a fleet orders its first lot "
    "(paid when ordered, in service lead_time_months later); P10/P50/P90 over every draw, a draw "
    "that orders nothing within the horizon counting as later than the horizon (null quantile); "
    "mean over the draws that order; prob_none = share of draws that order nothing",
    "deferral": "months by which the option (as operated: the baseline's fleet before go-live and "
    "during ramp or downtime) orders its first lot after the baseline does, per draw, "
    "conditioned on the draws in which the baseline orders within the horizon (prob_baseline_"
    "orders of them); +inf (beyond the horizon, null quantile) when the option orders nothing "
    "within the horizon ('avoided'); negative when it orders earlier; mean over the draws in "
    "which both order. Draws in which the baseline orders nothing (neither fleet orders, or only "
    "the option does: a purchase the baseline never needed) defer nothing: they are counted in "
    "outcomes only",
    "outcomes": "share of every draw: both fleets order, only the baseline (the option avoids "
    "its purchases within the horizon), only the option (a new purchase), neither",
    "lots_avoided": "lots the baseline orders minus lots the option orders within the horizon, "
    "per draw",
    "energy_saved": "energy cost of the baseline's owned fleet minus the option's, over the "
    "horizon, undiscounted (negative: the option spends more on energy)",
    "burst_hours_avoided": "cloud burst instance-hours of the baseline minus the option's",
    "between_options": "each later option in the spec against each earlier one, both with an "
    "owned fleet: the same deferral with the earlier option as the reference",
}


#: What the purchase-timeline figure conditions on (shown under it and in ``summary.json``).
PURCHASE_TIMELINE_BASIS = (
    "Lines and bands: median and P10–P90 of the instances owned in each month, month by month "
    "over every draw (not one draw's path); bars: instances ordered that month, averaged over "
    "every draw (a lot is paid when ordered and in service lead_time_months later); arrows: the "
    "median first order month over the draws that order, to its arrival after the median lead "
    "time. The option's fleet is shown as operated (the baseline's fleet before go-live)"
)


def _first_purchase(first: np.ndarray) -> dict[str, Any]:
    """Distribution of a first purchase month (``inf``: no order within the horizon)."""
    out = summarize_distribution(first)
    out["prob_none"] = float((~np.isfinite(first)).mean())
    return out


def _deferral(ref_first: np.ndarray, first: np.ndarray) -> dict[str, Any]:
    """Deferral of ``first`` against ``ref_first``, per draw (see ``ONPREM_DEFINITIONS``).

    :math:`d_i = f_i - f^{ref}_i` over the draws with :math:`f^{ref}_i < \\infty`
    (``inf`` when :math:`f_i = \\infty`: avoided within the horizon).
    """
    ref, opt = np.isfinite(ref_first), np.isfinite(first)
    d = first[ref] - ref_first[ref]  # inf where the option orders nothing
    out: dict[str, Any] = {
        "prob_baseline_orders": float(ref.mean()),
        "draws": int(ref.sum()),
        "outcomes": {
            "both_order": float((ref & opt).mean()),
            "only_baseline_orders": float((ref & ~opt).mean()),
            "only_option_orders": float((~ref & opt).mean()),
            "neither_orders": float((~ref & ~opt).mean()),
        },
    }
    if d.size == 0:
        keys = ("mean", "p10", "p50", "p90", "sd", "se_mean", "prob_deferred", "prob_same_month")
        return {**out, **dict.fromkeys((*keys, "prob_earlier", "prob_avoided"))}
    return {
        **out,
        **summarize_distribution(d),
        "prob_deferred": float((d > 0).mean()),
        "prob_same_month": float((d == 0).mean()),
        "prob_earlier": float((d < 0).mean()),
        "prob_avoided": float((~np.isfinite(d)).mean()),
    }


def _months_text(s: dict[str, Any], unit: str = "", extra: str = "") -> str:
    """'7 months (P10–P90 3 to 12)' from a distribution entry; a null quantile reads 'beyond the horizon'."""

    def m(v: float | None) -> str:
        return "beyond the horizon" if v is None else f"{v:.0f}"

    return f"{m(s['p50'])}{unit} (P10–P90 {m(s['p10'])} to {m(s['p90'])}{extra})"


def deferral_sentence(option: str, reference: str, lot: float, sec: dict[str, Any]) -> str:
    """The deferral entry (:func:`_deferral`) of ``option`` against ``reference`` in words."""
    text = _deferral_words(option, reference, lot, sec)
    text = text[0].upper() + text[1:] if text.startswith("the baseline") else text
    avoided = sec["lots_avoided"]["mean"]
    if avoided is not None and avoided != 0:
        more = "fewer" if avoided > 0 else "more"
        text += f" Over the horizon it orders {abs(avoided):.3g} {more} lots (mean)."
    return text


def _deferral_words(option: str, reference: str, lot: float, sec: dict[str, Any]) -> str:
    d, o = sec["deferral"], sec["deferral"]["outcomes"]
    first = sec["first_purchase_month"]["optimized"]
    purchase = f"the first purchase (a lot of {lot:.3g} instances)"
    if d["draws"] == 0:
        if o["only_option_orders"] == 0:
            return (
                f"Neither {reference} nor {option} orders servers within the horizon: "
                "there is no purchase to defer."
            )
        return (
            f"{reference} orders no servers within the horizon, so there is no purchase to defer: "
            f"{option} makes {purchase} in month {_months_text(first)}, in "
            f"{1 - first['prob_none']:.0%} of draws (a new purchase)."
        )
    mean = f"; mean {d['mean']:.1f} where both order" if d["mean"] is not None else ""
    if d["mean"] is None:
        return (
            f"In the {d['prob_baseline_orders']:.0%} of draws in which {reference} orders "
            f"servers, {option} orders none within the horizon: it avoids the purchase."
        )
    return (
        f"{option} defers {purchase} of {reference} by {_months_text(d, ' months', mean)} and "
        "avoids it "
        "within the horizon in "
        f"{d['prob_avoided']:.0%} of the draws in which {reference} orders "
        f"({d['prob_baseline_orders']:.0%} of all draws); it orders earlier in "
        f"{d['prob_earlier']:.0%} of them."
    )


def _metric_diff(res: OptionAnalysis, a: str, b: str) -> dict[str, Any]:
    """Distribution of ``metric a − metric b`` per draw."""
    return summarize_distribution(res.metrics[a].values - res.metrics[b].values)


def _onprem_option(res: OptionAnalysis, platform: str, lot: float) -> dict[str, Any]:
    """The ``onprem`` entry of one option: first purchases, deferral, lots, energy, burst."""
    m = res.metrics
    f0 = m["first_purchase_month_baseline"].values
    f1 = m["first_purchase_month_optimized"].values
    sec: dict[str, Any] = {
        "platform": platform,
        "first_purchase_month": {"baseline": _first_purchase(f0), "optimized": _first_purchase(f1)},
        "deferral": _deferral(f0, f1),
        "lots": {
            "baseline": summarize_distribution(m["purchases_baseline"].values),
            "optimized": summarize_distribution(m["purchases_optimized"].values),
        },
        "lots_avoided": _metric_diff(res, "purchases_baseline", "purchases_optimized"),
        "capex": {
            "baseline": summarize_distribution(m["capex_baseline"].values),
            "optimized": summarize_distribution(m["capex_optimized"].values),
        },
        "energy_cost": {
            "baseline": summarize_distribution(m["energy_cost_baseline"].values),
            "optimized": summarize_distribution(m["energy_cost_optimized"].values),
        },
        "energy_saved": _metric_diff(res, "energy_cost_baseline", "energy_cost_optimized"),
        "burst_hours_avoided": _metric_diff(res, "burst_hours_baseline", "burst_hours_optimized"),
    }
    sec["sentence"] = deferral_sentence(res.name, "the baseline", lot, sec)
    return sec


def _between_options(result: StudyResult, owned: list[str], lot: float) -> list[dict[str, Any]]:
    """Deferral of each later owned-fleet option against each earlier one (common random numbers)."""
    out = []
    for i, ref in enumerate(owned):
        for name in owned[i + 1 :]:
            a, b = result.options[ref].metrics, result.options[name].metrics
            f_ref = a["first_purchase_month_optimized"].values
            f = b["first_purchase_month_optimized"].values
            sec = {
                "option": name,
                "reference": ref,
                "first_purchase_month": {
                    "reference": _first_purchase(f_ref),
                    "optimized": _first_purchase(f),
                },
                "deferral": _deferral(f_ref, f),
                "lots_avoided": summarize_distribution(
                    a["purchases_optimized"].values - b["purchases_optimized"].values
                ),
            }
            sec["sentence"] = deferral_sentence(name, ref, lot, sec)
            out.append(sec)
    return out


def onprem_summary(result: StudyResult) -> dict[str, Any] | None:
    """The ``onprem`` section of ``summary.json``; ``None`` when no fleet is owned.

    Per option (``options[name]``): first purchase month of the baseline and of
    the option as operated, the deferral of the first purchase (conditioned on
    the draws in which the baseline orders), lots, CapEx, energy and burst;
    ``between_options``: the same deferral between owned-fleet options.  Every
    statistic is computed from the per-draw metrics of :data:`METRIC_NAMES`;
    the definitions are in ``definitions``.
    """
    spec = result.spec
    if spec.onprem is None:
        return None
    base = spec.onprem.baseline_platform
    platforms = {o.name: o.platform or base for o in spec.options}
    if base == "cloud" and "onprem" not in platforms.values():
        return None
    first = next(iter(result.options))
    lot = float(result.sample.distributions[first]["onprem.lot_size"].median)
    owned = [n for n in result.options if platforms[n] == "onprem" or base == "onprem"]
    return {
        "baseline_platform": base,
        "lot_size_median": lot,
        "options": {
            n: _onprem_option(result.options[n], platforms[n], lot) for n in result.options
        },
        "between_options": _between_options(result, owned, lot),
        "definitions": ONPREM_DEFINITIONS,
        "basis": PURCHASE_TIMELINE_BASIS,
    }


def add_tco(comparison: dict[str, Any], per: dict[str, dict[str, Any]]) -> None:
    """TCO over the horizon beside NPV in ``options_comparison`` (in place).

    ``table[].mean_tco``: mean of the option's ``tco_optimized`` (as operated,
    investment included); ``tco_do_nothing``: mean ``tco_baseline`` (the same
    in every option: common random numbers).  TCO counts rent for cloud
    fleets and depreciation, energy and burst for owned ones (README).
    """
    for row in comparison["table"]:
        row["mean_tco"] = per[row["option"]]["tco_optimized"]["mean"]
    comparison["tco_do_nothing"] = next(iter(per.values()))["tco_baseline"]["mean"]
    comparison["tco_definition"] = (
        "total cost of ownership over the horizon, undiscounted, mean over draws: rent "
        "(instance-hours × price, commitments) for cloud fleets; depreciation (straight line to "
        "salvage over the useful life) + energy + cloud burst for owned fleets; the option's "
        "includes its investment; do nothing = the baseline as it is. NPV uses cash (purchases "
        "when ordered, salvage at the horizon) and discounting, so it is not the TCO difference"
    )


def _criterion(per: dict[str, Any]) -> float:
    """The option's ranking value (``[decision] rank_by``; mean NPV in summaries without one)."""
    crit = per.get("criterion")
    return per["npv"]["mean"] if crit is None else crit["value"]


def best_option(per_option: dict[str, dict[str, Any]]) -> str:
    """The recommended option: the highest criterion among those with a "go", else the highest.

    The criterion is ``[decision] rank_by`` (:func:`roicast.report.review.criterion_value`:
    mean NPV by default, or its P50, or CVaR10); ties go to the option listed first.
    """
    go = [k for k, v in per_option.items() if v["decision"]["verdict"] == "go"]
    pool = go or list(per_option)
    return max(pool, key=lambda k: _criterion(per_option[k]))


_TOP_LEVEL = {
    "name", "roi", "npv", "payback_months", "prob_npv_negative", "scenarios", "tornado", "decision",
    "convergence", "value_of_information", "sensitivity",
}  # fmt: skip


def compare_options(result: StudyResult, per: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Compare options drawn with common random numbers.

    Options are ranked by the criterion of ``[decision] rank_by`` (mean NPV
    by default, P50 NPV, or CVaR10 NPV: the mean of the worst 10 % of draws;
    ``criterion_npv`` in the table).  P(option is best) counts, draw by draw,
    which option has the highest NPV ("do nothing", NPV 0, included): it does
    not depend on a central value.  The Pareto frontier is over mean NPV
    (higher is better) and P10 NPV (the downside, higher is better) whatever
    the criterion; an option that ``combines`` others is compared with the
    best of them (value of doing both: ``value_over_best_single`` in mean NPV,
    ``criterion_over_best_single`` in the criterion) and with their sum
    (interaction: negative when savings overlap).
    """
    names = list(result.options)
    npv = np.stack([result.options[n].metrics["npv"].values for n in names])  # (option, draw)
    with_nothing = np.vstack([npv, np.zeros((1, npv.shape[1]))])
    best = with_nothing.argmax(axis=0)
    prob_best = {n: float((best == i).mean()) for i, n in enumerate(names)}
    prob_best["do nothing"] = float((best == len(names)).mean())
    pts = {n: (per[n]["npv"]["mean"], per[n]["npv"]["p10"]) for n in names}
    pareto = [
        n
        for n in names
        if not any(
            pts[o][0] >= pts[n][0] and pts[o][1] >= pts[n][1] and pts[o] != pts[n] for o in names
        )
    ]
    rank_by = result.spec.decision.rank_by
    crit = {n: _criterion(per[n]) for n in names}
    combos = []
    for opt in result.spec.options:
        if not opt.combines:
            continue
        parts = [per[c]["npv"]["mean"] for c in opt.combines]
        diff_best = npv[names.index(opt.name)] - npv[[names.index(c) for c in opt.combines]].max(
            axis=0
        )
        combos.append(
            {
                "option": opt.name,
                "combines": list(opt.combines),
                "mean_npv": per[opt.name]["npv"]["mean"],
                "value_over_best_single": float(per[opt.name]["npv"]["mean"] - max(parts)),
                "criterion_over_best_single": float(
                    crit[opt.name] - max(crit[c] for c in opt.combines)
                ),
                "prob_better_than_each": float((diff_best > 0).mean()),
                "interaction": float(per[opt.name]["npv"]["mean"] - sum(parts)),
                "interaction_note": "interaction = mean NPV of the combination − the sum of the "
                "parts' mean NPVs: it counts the same baseline spend saved twice; see "
                "consistent_basis (savings against the parts' gains composing on the same fleet)",
                "derived": dict(result.sample.combinations[opt.name].derived),
                "overridden": list(result.sample.combinations[opt.name].overridden),
                "consistent_basis": review.combination_terms(result, opt.name, list(opt.combines)),
            }
        )
    ranking = sorted(names, key=lambda n: crit[n], reverse=True)
    return {
        "rank_by": rank_by,
        "criterion": review.CRITERIA[rank_by],
        "criterion_text": review.criterion_text(rank_by),
        "ranking": ranking,
        "prob_best": prob_best,
        "pareto_frontier": pareto,
        "combinations": combos,
        "table": [
            {
                "option": n,
                "mean_npv": per[n]["npv"]["mean"],
                "p10_npv": per[n]["npv"]["p10"],
                "p50_npv": per[n]["npv"]["p50"],
                "p90_npv": per[n]["npv"]["p90"],
                "cvar10_npv": review.cvar(npv[names.index(n)]),
                "criterion_npv": crit[n],
                "mean_roi": per[n]["roi"]["mean"],
                "prob_npv_negative": per[n]["prob_npv_negative"],
                "prob_best": prob_best[n],
                "payback_p50": per[n]["payback_months"]["p50"],
                "verdict": per[n]["decision"]["verdict"],
                "pareto": n in pareto,
            }
            for n in ranking
        ],
    }


def summary(result: StudyResult) -> dict[str, Any]:
    """The ``summary.json`` document of a study."""
    spec = result.spec
    per = {name: option_summary(res, result) for name, res in result.options.items()}
    best = best_option(per)
    top = per[best]
    fc = result.forecast
    doc: dict[str, Any] = {
        "project": spec.project.name,
        "draws": result.draws,
        "seed": result.seed,
        "horizon_months": spec.project.horizon_months,
        "start_month": str(fc.paths["month"].values[0]),
        "currency": spec.project.currency,
        "unit": spec.demand.unit,
        "discount_rate": spec.project.discount_rate,
        "demand_volume": review.demand_summary(result),
        "option": best,
        "roi": top["roi"],
        "npv": top["npv"],
        "payback_months": top["payback_months"],
        "prob_npv_negative": top["prob_npv_negative"],
        "scenarios": top["scenarios"],
        "tornado": top["tornado"],
        "decision": top["decision"],
        "convergence": top["convergence"],
        "value_of_information": top.get("value_of_information", {}),
        "sensitivity": top["sensitivity"],
        "details": {k: v for k, v in top.items() if k not in _TOP_LEVEL},
        "forecast": fc.to_dict(),
        "inputs": {
            name: {"distribution": d.describe(), "spec": d.to_dict(), "median": d.median}
            for name, d in result.sample.distributions[best].items()
        },
        "roicast_version": __version__,
        "spec_hash": spec.spec_hash,
    }
    if result.backtest is not None:
        doc["forecast"]["backtest"] = result.backtest.to_dict()
    doc["fleet"] = fleet_summary(result, best)
    onprem = onprem_summary(result)
    if onprem is not None:
        doc["onprem"] = onprem
    if result.until_stable is not None:
        doc["until_stable"] = result.until_stable
    if len(per) > 1:
        doc["options"] = [per[k] for k in per]
        doc["options_comparison"] = compare_options(result, per)
        add_tco(doc["options_comparison"], per)
    _review(doc, result, best)
    return doc


def _review(doc: dict[str, Any], result: StudyResult, best: str) -> None:
    """The review keys (``ask``, ``basis``, ``drivers``, ``diagnostics``, ``stress``, …), in place.

    ``stress``, ``goal_seek``, ``spider``, ``value_of_information.rule`` and
    ``pilots`` re-run the simulator, so they are computed only when the study
    ran the full sensitivity analysis (``run_study(..., sensitivity=True)``) or
    nothing is uncertain.
    """
    spec = result.spec
    res = result.options[best]
    doc["description"] = spec.project.description
    doc["ask"] = review.ask(result, best)
    doc["decision"]["rule_text"] = review.rule_text(spec.decision)
    doc["basis"] = review.basis(doc)
    doc["drivers"] = review.drivers_in_words(result, best)
    doc["diagnostics"] = review.diagnostics(result, doc, best)
    doc["correlations"] = review.correlations(result)
    ranking = review.correlation_ranking(result, best) if spec.correlations else None
    if ranking is not None:
        doc["correlation_ranking"] = ranking
    if len(result.options) > 1:
        doc["option_inputs"] = review.option_inputs(result)
    if res.evpi is None and result.sample.free_inputs(best):  # quick analysis (batches)
        return
    if spec.stress:
        doc["stress"] = review.stress_tests(result)
    doc["goal_seek"] = review.goal_seek(result, best)
    doc["spider"] = review.spider(result, best)
    voi = review.rule_voi(result, best)
    if voi is not None:
        doc["value_of_information"]["rule"] = voi
    if spec.pilot:
        doc["pilots"] = review.pilots(result, best)
