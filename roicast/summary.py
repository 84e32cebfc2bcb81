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
from roicast.study import OptionResult, StudyResult, summarize_distribution

__all__ = ["decide", "option_summary", "summary"]


def decide(res: OptionResult, spec, horizon: int) -> dict[str, Any]:
    """Apply the spec's decision rule to one option; every condition is reported."""
    rule = spec.decision
    npv = res.metrics["npv"].values
    pb = res.metrics["payback_months"].values
    p_pos = float((npv > 0).mean())
    conds = [
        {
            "rule": "P(NPV > 0) >= min_prob_positive_npv",
            "value": p_pos,
            "threshold": rule.min_prob_positive_npv,
            "passed": p_pos >= rule.min_prob_positive_npv,
        }
    ]
    if rule.max_payback_p50_months is not None:
        p50 = float(np.quantile(np.where(np.isfinite(pb), pb, np.inf), 0.5, method="inverted_cdf"))
        conds.append(
            {
                "rule": "P50 payback months <= max_payback_p50_months",
                "value": p50 if np.isfinite(p50) else None,
                "threshold": rule.max_payback_p50_months,
                "passed": bool(p50 <= rule.max_payback_p50_months),
            }
        )
    if rule.min_npv_p10 is not None:
        p10 = float(np.quantile(npv, 0.1))
        conds.append(
            {
                "rule": "P10 NPV >= min_npv_p10",
                "value": p10,
                "threshold": rule.min_npv_p10,
                "passed": p10 >= rule.min_npv_p10,
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
    }


def _tornado_rows(res: OptionResult, output: str) -> list[dict[str, Any]]:
    df = res.tornado[output]
    return [
        {
            "input": name,
            "low": float(r["low"]),
            "high": float(r["high"]),
            "swing": float(r["swing"]),
            "low_value": float(r["low_value"]),
            "high_value": float(r["high_value"]),
            "base": float(r["base"]),
        }
        for name, r in df.iterrows()
    ]


def option_summary(res: OptionResult, result: StudyResult) -> dict[str, Any]:
    """Headline numbers of one option."""
    m = res.metrics
    horizon = result.horizon
    npv = m["npv"].values
    roi = m["roi"].values
    pb = m["payback_months"].values
    within = np.isfinite(pb)
    payback = summarize_distribution(pb)
    payback["prob_within_horizon"] = float(within.mean())
    payback["mean_note"] = "mean over draws that pay back within the horizon"
    q = {
        k: float(np.quantile(v, [0.1, 0.5, 0.9][i]))
        for i, (k, v) in enumerate([("p10", npv), ("p50", npv), ("p90", npv)])
    }
    qr = (
        np.quantile(roi[np.isfinite(roi)], [0.1, 0.5, 0.9])
        if np.isfinite(roi).any()
        else [np.nan] * 3
    )
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
        "scenarios": {
            "definition": "worst / expected / best = P10 / P50 / P90 of each output across the Monte Carlo draws",
            "worst": {"npv": q["p10"], "roi": float(qr[0])},
            "expected": {"npv": q["p50"], "roi": float(qr[1])},
            "best": {"npv": q["p90"], "roi": float(qr[2])},
        },
        "tornado": _tornado_rows(res, "npv"),
        "tornado_by_output": {k: _tornado_rows(res, k) for k in res.tornado},
        "decision": decide(res, result.spec, horizon),
    }
    out.update(res.extras.get("summary", {}))
    return out


def best_option(per_option: dict[str, dict[str, Any]]) -> str:
    """The recommended option: highest mean NPV among those with a "go", else highest mean NPV."""
    go = [k for k, v in per_option.items() if v["decision"]["verdict"] == "go"]
    pool = go or list(per_option)
    return max(pool, key=lambda k: per_option[k]["npv"]["mean"])


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
        "option": best,
        "roi": top["roi"],
        "npv": top["npv"],
        "payback_months": top["payback_months"],
        "prob_npv_negative": top["prob_npv_negative"],
        "scenarios": top["scenarios"],
        "tornado": top["tornado"],
        "decision": top["decision"],
        "details": {
            k: v
            for k, v in top.items()
            if k
            not in {
                "name",
                "roi",
                "npv",
                "payback_months",
                "prob_npv_negative",
                "scenarios",
                "tornado",
                "decision",
            }
        },
        "forecast": fc.to_dict(),
        "inputs": {
            name: {"distribution": d.describe(), "spec": d.to_dict(), "median": d.median}
            for name, d in result.sample.distributions[best].items()
        },
        "roicast_version": __version__,
        "spec_hash": spec.spec_hash,
    }
    if len(per) > 1:
        doc["options"] = [per[k] for k in per]
    return doc
