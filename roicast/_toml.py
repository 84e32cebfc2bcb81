"""The one TOML writer of roicast (``tomllib`` reads, nothing in the stdlib writes).

Used by ``roicast convert`` (Excel → TOML) and the what-if page's "Save as spec".

It writes the values a spec holds: strings, booleans, integers, floats, lists
and tables.  Top-level tables become ``[section]`` headers, lists of tables
``[[section]]`` blocks (``[[option]]``, ``[[correlations]]``,
``[[demand.launches]]``); a table inside a section (a distribution) is written
inline, ``{ dist = "pert", min = 1, mode = 2, max = 3 }``, as in the README.
``tomllib.loads(dumps(doc)) == doc`` for every such ``doc`` (the tests check it).
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Mapping
from typing import Any

from roicast.errors import RoicastError

__all__ = ["dumps"]

_BARE = re.compile(r"[A-Za-z0-9_-]+")
#: Sections in the order the README and the demos use; others follow in their own order.
ORDER = (
    "project",
    "demand",
    "baseline",
    "optimized",
    "pricing",
    "fleet",
    "implementation",
    "churn",
    "indirect",
    "decision",
    "simulation",
    "sources",
    "correlations",
    "option",
)
_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def _key(k: Any) -> str:
    if not isinstance(k, str):
        raise RoicastError(f"TOML: key {k!r} is not text")
    return k if _BARE.fullmatch(k) else _string(k)


def _string(s: str) -> str:
    out = []
    for ch in s:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def _float(x: float) -> str:
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    r = repr(x)
    return r if any(c in r for c in ".en") else r + ".0"


def value(v: Any) -> str:
    """One TOML value: scalar, array or inline table."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return _float(v)
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, _dt.datetime | _dt.date | _dt.time):
        return v.isoformat()
    if isinstance(v, Mapping):
        if not v:
            return "{}"
        return "{ " + ", ".join(f"{_key(k)} = {value(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(value(x) for x in v) + "]"
    raise RoicastError(f"TOML: cannot write {v!r} ({type(v).__name__})")


def _is_table_list(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, Mapping) for x in v)


def _table(header: str, body: Mapping[str, Any], *, array: bool) -> list[str]:
    lines = [f"[[{header}]]" if array else f"[{header}]"]
    later: list[str] = []
    for k, v in body.items():
        if _is_table_list(v):
            for block in v:
                later += ["", *_table(f"{header}.{_key(k)}", block, array=True)]
        else:
            lines.append(f"{_key(k)} = {value(v)}")
    return lines + later


def dumps(doc: Mapping[str, Any], *, header: str = "") -> str:
    """``doc`` (a parsed spec) as TOML text; ``header`` lines are written first as comments."""
    lines = [f"# {h}".rstrip() for h in header.splitlines()]
    rest = []
    for k, v in doc.items():
        if isinstance(v, Mapping) or _is_table_list(v):
            rest.append(k)
        else:
            lines.append(f"{_key(k)} = {value(v)}")
    rank = {name: i for i, name in enumerate(ORDER)}
    rest.sort(key=lambda k: rank.get(k, len(ORDER)))
    for k in rest:
        v = doc[k]
        if lines:
            lines.append("")
        if isinstance(v, Mapping):
            lines += _table(_key(k), v, array=False)
        else:
            for i, block in enumerate(v):
                lines += ([""] if i else []) + _table(_key(k), block, array=True)
    return "\n".join(lines) + "\n"
