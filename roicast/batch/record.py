"""A project's portfolio record, read from its ``summary.json`` (the stable contract).

The record is one row of ``portfolio.csv``: headline NPV / ROI / payback
numbers, the EVPI of the go/no-go decision, the investment and engineering
effort (the costs a budget is spent on), and a one-line diagnosis of a project
that cannot pay back.  Everything comes from the project's summary and its
per-draw ROI (``roi.npy``, written by the batch), never from study internals.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from roicast.report._io import finite_or_none

__all__ = [
    "EXTRA_KEYS",
    "ROI_NEAR_TOTAL_LOSS",
    "diagnose",
    "distribution_mean",
    "record_extras",
    "record_from",
    "refresh_extras",
]

#: Record keys added after the first batch layout; a reused record without them is refreshed.
EXTRA_KEYS = ("investment_mean", "engineer_months_mean", "prob_roi_near_total_loss", "diagnosis")
#: ROI at or below this counts as "≈ −100 %" (the investment is essentially lost).
ROI_NEAR_TOTAL_LOSS = -0.95
#: Share of draws with ROI ≈ −100 % from which a project is flagged.
FLAG_SHARE = 0.9
#: Instance-hours saved over the horizon within ± this count as zero.
ZERO_HOURS = 0.5
#: Midpoints of the quadrature that turns a distribution into its mean.
_QUAD = 4096


def distribution_mean(spec_table: Any) -> float | None:
    """The mean of an input distribution given in spec form (``summary["inputs"][k]["spec"]``).

    .. math:: \\mathrm{E}[X] = \\int_0^1 F^{-1}(q)\\,dq \\approx \\frac1N \\sum_{i=0}^{N-1} F^{-1}\\!\\left(\\frac{i + 1/2}{N}\\right)

    with :math:`N = 4096` midpoints (exact for a fixed value; relative error
    below :math:`10^{-5}` for the bounded distributions of a spec), the
    probabilities clipped to the range the sampler uses.  ``None`` when the
    table cannot be read.
    """
    from roicast.distributions import Q_HIGH, Q_LOW, parse_distribution

    try:
        dist = parse_distribution(spec_table)
        q = np.clip((np.arange(_QUAD) + 0.5) / _QUAD, Q_LOW, Q_HIGH)
        return finite_or_none(float(np.mean(dist.ppf(q))))
    except Exception:
        return None


def _median(doc: dict[str, Any], name: str) -> float | None:
    return finite_or_none(((doc.get("inputs") or {}).get(name) or {}).get("median"))


def _zero_savings(doc: dict[str, Any]) -> str | None:
    """How often instance-hours saved are zero, from ``details.instance_hours_saved``; else None."""
    s = (doc.get("details") or {}).get("instance_hours_saved") or {}
    mean, sd, p10, p90 = (s.get(k) for k in ("mean", "sd", "p10", "p90"))
    if mean is not None and sd is not None and abs(mean) <= ZERO_HOURS and sd <= 1e-9:
        return "in every draw"
    if p10 is not None and p90 is not None and max(abs(p10), abs(p90)) <= ZERO_HOURS:
        return "in at least 80 % of draws (P10 to P90)"
    return None


def diagnose(doc: dict[str, Any], roi: np.ndarray) -> str:
    """One line on why a project cannot pay back, or "" when nothing stands out.

    Flags a project whose instance-hours saved (``details.instance_hours_saved``
    of its summary: mean, sd, P10, P90) are zero in every draw or from P10 to
    P90, or whose ROI is ≤ −95 % (:data:`ROI_NEAR_TOTAL_LOSS`) in at least 90 %
    of its draws (from ``roi.npy``).  Zero savings are blamed on the fleet's
    floor (``baseline.floor_instances`` median, from ``inputs``) when there is one.
    """
    roi = np.asarray(roi, dtype=float)
    share = float((roi <= ROI_NEAR_TOTAL_LOSS).mean()) if roi.size else 0.0
    zero = _zero_savings(doc)
    roi_note = f"ROI ≈ −100 % in {share:.0%} of draws"
    if zero is not None:
        floor = _median(doc, "baseline.floor_instances") or 0.0
        if floor > 0:
            why = (
                f"the fleet never rises above its floor of {floor:g} instances "
                "— check demand vs floor_instances"
            )
        else:
            why = (
                "the optimized fleet uses as many instance-hours as the baseline "
                "— check demand, throughput_gain and floor_instances"
            )
        tail = f" ({roi_note})" if share >= 0.5 else ""
        return f"instance-hours saved are zero {zero}: {why}{tail}"
    if share >= FLAG_SHARE:
        return (
            f"{roi_note}: savings and benefits are a small fraction of the investment "
            "— check demand and price against implementation costs"
        )
    return ""


def record_extras(doc: dict[str, Any], roi: np.ndarray) -> dict[str, Any]:
    """Costs and diagnosis of a finished project (the keys :data:`EXTRA_KEYS`).

    ``investment_mean``: ``details.investment.mean`` (the recommended option's
    mean investment); ``engineer_months_mean``: the mean of the assumed
    ``implementation.engineer_months`` distribution (:func:`distribution_mean`
    of ``inputs``); ``prob_roi_near_total_loss``: share of draws with ROI ≤ −95 %.
    """
    roi = np.asarray(roi, dtype=float)
    inv = ((doc.get("details") or {}).get("investment") or {}).get("mean")
    em = ((doc.get("inputs") or {}).get("implementation.engineer_months") or {}).get("spec")
    return {
        "investment_mean": finite_or_none(inv),
        "engineer_months_mean": None if em is None else distribution_mean(em),
        "prob_roi_near_total_loss": (
            float((roi <= ROI_NEAR_TOTAL_LOSS).mean()) if roi.size else None
        ),
        "diagnosis": diagnose(doc, roi),
    }


def record_from(
    doc: dict[str, Any], npv: np.ndarray, roi: np.ndarray, base: dict[str, Any]
) -> dict[str, Any]:
    """The portfolio record of a finished project from its summary and per-draw NPV / ROI.

    EVPI of the go/no-go decision: :math:`\\mathrm{E}[\\max(NPV, 0)] - \\max(\\mathrm{E}[NPV], 0)`.
    """
    from roicast.sensitivity import evpi as _evpi

    npv = np.asarray(npv, dtype=float)
    evpi = float(_evpi(npv))
    n, r, pb = doc["npv"], doc["roi"], doc["payback_months"]
    return {
        **base,
        "status": "done",
        "error": "",
        "option": doc["option"],
        "npv_mean": finite_or_none(n["mean"]),
        "npv_p10": finite_or_none(n["p10"]),
        "npv_p50": finite_or_none(n["p50"]),
        "npv_p90": finite_or_none(n["p90"]),
        "roi_mean": finite_or_none(r["mean"]),
        "roi_p10": finite_or_none(r["p10"]),
        "roi_p50": finite_or_none(r["p50"]),
        "roi_p90": finite_or_none(r["p90"]),
        "prob_npv_negative": finite_or_none(doc["prob_npv_negative"]),
        "payback_p50_months": finite_or_none(pb["p50"]),
        "payback_prob_within_horizon": finite_or_none(pb["prob_within_horizon"]),
        "evpi": max(evpi, 0.0),
        "verdict": doc["decision"]["verdict"],
        "currency": doc["currency"],
        "inputs_median": {
            k: finite_or_none(v.get("median")) for k, v in doc.get("inputs", {}).items()
        },
        **record_extras(doc, roi),
    }


def refresh_extras(record: dict[str, Any], out: Path) -> dict[str, Any]:
    """A reused record from an older batch, completed with :data:`EXTRA_KEYS` from its folder."""
    from roicast.batch.worker import ROI_FILE

    if all(k in record for k in EXTRA_KEYS):
        return record
    folder = out / record["folder"]
    try:
        doc = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
        roi = np.load(folder / ROI_FILE)
    except (OSError, ValueError):
        return {**{k: None for k in EXTRA_KEYS}, "diagnosis": "", **record}
    return {**record, **record_extras(doc, roi)}
