"""How numbers are shown: money, percentages, months (one definition for every output)."""

from __future__ import annotations

import html
import re
from typing import Any

__all__ = ["SYMBOLS", "html_text", "markdown_text", "money", "months", "pct"]

#: Currency symbols written before the amount; other currencies follow it by code.
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}


def money(x: float | None, currency: str = "USD") -> str:
    """Compact money label: ``$1.2M``, ``-$350k``; ``n/a`` for ``None``."""
    if x is None:
        return "n/a"
    sym = SYMBOLS.get(currency, "")
    suffix = "" if sym else f" {currency}"
    a = abs(x)
    sign = "-" if x < 0 else ""
    if a >= 1e9:
        s = f"{a / 1e9:.2f}B"
    elif a >= 1e6:
        s = f"{a / 1e6:.2f}M"
    elif a >= 1e3:
        s = f"{a / 1e3:.0f}k"
    else:
        s = f"{a:.0f}"
    return f"{sign}{sym}{s}{suffix}"


def pct(x: float | None) -> str:
    """A share as a whole percentage: ``63%``; ``n/a`` for ``None``."""
    return "n/a" if x is None else f"{x:.0%}"


def months(x: float | None, *, never: str = "not within horizon") -> str:
    """Months with one decimal; ``never`` for ``None`` (not reached within the horizon)."""
    return never if x is None else f"{x:.1f}"


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
