"""How numbers are shown: money, percentages, months (one definition for every output)."""

from __future__ import annotations

import html
import math
import re
from typing import Any

__all__ = [
    "INPUT_KINDS",
    "SYMBOLS",
    "html_text",
    "input_value",
    "irr_text",
    "markdown_text",
    "meaningless_ratio",
    "money",
    "months",
    "pct",
    "roi_text",
    "si",
    "sig",
]

#: Currency symbols written before the amount; other currencies follow it by code.
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}

#: SI-style prefixes used for money and counts (B = 10⁹, the business "billion").
_PREFIXES = ((1.0, ""), (1e3, "k"), (1e6, "M"), (1e9, "B"), (1e12, "T"))

#: How each model input is shown: ``money``, ``share`` (a fraction shown as %),
#: ``change`` (a yearly change shown as a signed %), ``multiplier`` (×),
#: ``months``, ``count``, ``rate`` (units per second), ``quantile`` (demand path).
INPUT_KINDS = {
    "demand": "quantile",
    "baseline.throughput": "rate",
    "baseline.utilization": "share",
    "baseline.price": "money",
    "baseline.floor_instances": "count",
    "optimized.throughput_gain": "multiplier",
    "optimized.utilization": "share",
    "optimized.price_ratio": "multiplier",
    "optimized.floor_instances": "count",
    "pricing.annual_change": "change",
    "pricing.annual_volatility": "share",
    "implementation.months": "months",
    "implementation.ramp_months": "months",
    "implementation.engineer_months": "months",
    "implementation.engineer_cost": "money",
    "implementation.validation_cost": "money",
    "implementation.licence_per_year": "money",
    "implementation.maintenance_fraction": "share",
    "churn.updates_per_year": "count",
    "churn.cost_per_update": "money",
    "churn.downtime_months": "months",
    "indirect.benefit_per_month": "money",
    "fleet.scale_lag_hours": "hours",
    "pricing.committed_instances": "count",
    "pricing.committed_price_ratio": "multiplier",
    "pricing.commitment_months": "months",
    "pricing.stranded_recovery": "share",
    "optimized.throughput_gain_at_peak": "multiplier",
    "optimized.api_price_per_million": "money",
}


def sig(x: float, digits: int = 3) -> str:
    """``x`` to ``digits`` significant figures, never in scientific notation.

    ``sig(1234.5) == "1230"``, ``sig(0.012345) == "0.0123"``, ``sig(15) == "15.0"``.
    """
    if x == 0 or not math.isfinite(x):
        return "0" if x == 0 else str(x)
    exp = math.floor(math.log10(abs(x)))
    nd = digits - 1 - exp
    r = round(x, nd)
    if r != 0 and math.floor(math.log10(abs(r))) > exp:  # 9.996 rounds to 10.0, not 10.00
        nd -= 1
        r = round(x, nd)
    return f"{r:.{max(nd, 0)}f}"


def si(x: float | None, unit: str = "", *, digits: int = 3) -> str:
    """A number with an SI-style prefix and ``digits`` significant figures: ``1.23k``, ``-45.0M``.

    Prefixes: k (10³), M (10⁶), B (10⁹), T (10¹²); below 1000 no prefix
    (``950``, ``12.3``, ``0.0123``).  ``unit`` follows after a space.
    ``n/a`` for ``None`` or a non-finite value.
    """
    if x is None or not math.isfinite(x):
        return "n/a"
    a = abs(x)
    sign = "-" if x < 0 else ""
    i = max([0, *(j for j, (scale, _) in enumerate(_PREFIXES) if a >= scale)])
    body = sig(a / _PREFIXES[i][0], digits)
    if float(body) >= 1000 and i + 1 < len(_PREFIXES):  # 999.6k rounds to 1.00M
        i += 1
        body = sig(a / _PREFIXES[i][0], digits)
    s = body + _PREFIXES[i][1]
    return f"{sign}{s}{' ' + unit if unit else ''}"


def money(x: float | None, currency: str = "USD", *, digits: int = 3) -> str:
    """Compact money label with 3 significant figures: ``$1.51M``, ``-$350k``, ``$15.0k``.

    ``n/a`` for ``None``; currencies without a symbol follow by code (``1.20k CHF``).
    """
    if x is None or not math.isfinite(x):
        return "n/a"
    sym = SYMBOLS.get(currency, "")
    suffix = "" if sym else f" {currency}"
    sign = "-" if x < 0 else ""
    return f"{sign}{sym}{si(abs(x), digits=digits)}{suffix}"


def pct(x: float | None, *, decimals: int = 0) -> str:
    """A share as a percentage: ``63%``; thousands separated (``26,927%``); ``n/a`` for ``None``."""
    if x is None or not math.isfinite(x):
        return "n/a"
    return f"{x * 100:,.{decimals}f}%"


def months(x: float | None, *, never: str = "not within horizon") -> str:
    """Months with one decimal; ``never`` for ``None`` (not reached within the horizon)."""
    return never if x is None else f"{x:.1f}"


#: A ratio whose denominator is below this share of the quantities it compares is
#: not shown as a number: it says more about the denominator than the investment.
MEANINGLESS_DENOMINATOR = 0.01


def meaningless_ratio(denominator: float | None, scale: float | None) -> bool:
    """Whether ``numerator / denominator`` is meaningless: the denominator is ≈ 0 against ``scale``.

    True when ``|denominator| <= 0.01 · |scale|`` (:data:`MEANINGLESS_DENOMINATOR`)
    or the denominator is 0 / missing.  E.g. an ROI ``(gains − K) / K`` with an
    investment ``K`` under 1 % of the gains: 26 927 % is then a statement about
    ``K`` ≈ 0, not a return.
    """
    if denominator is None or not math.isfinite(denominator) or denominator == 0:
        return True
    if scale is None or not math.isfinite(scale):
        return False
    return abs(denominator) <= MEANINGLESS_DENOMINATOR * abs(scale)


def roi_text(roi: float | None, investment: float | None, gains: float | None) -> str:
    """ROI as a percentage, or a note when it is meaningless (investment ≈ 0 next to the gains)."""
    if meaningless_ratio(investment, gains):
        return "not meaningful (investment ≈ 0)"
    text = pct(roi)
    if roi is not None and math.isfinite(roi) and abs(roi) >= 10:
        text += " (investment small next to the gains)"
    return text


#: An IRR above this (per year) is reported as a bound: the investment pays back
#: within weeks and the rate says nothing useful.
IRR_CAP = 10.0


def irr_text(irr: float | None) -> str:
    """IRR per year as a percentage; above 1000 % a year ``> 1,000% (pays back within weeks)``."""
    if irr is None or not math.isfinite(irr):
        return "n/a"
    if irr > IRR_CAP:
        return f"> {pct(IRR_CAP)} (pays back within weeks; not meaningful)"
    return pct(irr)


def input_value(name: str, x: float | None, currency: str = "USD") -> str:
    """A model input's value with its unit (:data:`INPUT_KINDS`): ``$3.50``, ``1.50×``, ``35%``."""
    if x is None or not math.isfinite(x):
        return "n/a"
    kind = INPUT_KINDS.get(name, "count")
    if kind == "money":
        return money(x, currency)
    if kind == "share":
        return pct(x, decimals=1 if abs(x) < 0.1 else 0)
    if kind == "change":
        return f"{x * 100:+.1f}%/yr" if abs(x) < 0.1 else f"{x * 100:+.0f}%/yr"
    if kind == "multiplier":
        return f"{sig(x)}×"
    if kind == "months":
        return f"{sig(x)} months"
    if kind == "hours":
        return f"{sig(x)} h"
    if kind == "quantile":
        return f"path quantile {x:.2f}"
    if kind == "rate":
        return si(x, "/s")
    return si(x)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def markdown_text(value: Any) -> Any:
    """A value as inert Markdown text: one line, no HTML, links, emphasis or table pipes.

    Newlines become spaces; ``<``, ``>`` and ``&`` become HTML entities; every
    Markdown punctuation that could start a construct (links, images, code,
    emphasis, headings, table cells) is backslash-escaped.  Values marked safe
    (``markupsafe.Markup``, e.g. the report's own figure paths) pass unchanged.
    """
    if value is None or hasattr(value, "__html__"):
        return "" if value is None else value
    text = " ".join(str(value).split())
    text = html.escape(text, quote=False)
    return _MD_SPECIAL.sub(r"\\\1", text)


def html_text(value: Any) -> str:
    """A value escaped for HTML text and attributes."""
    return html.escape("" if value is None else str(value), quote=True)
