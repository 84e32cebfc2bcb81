"""A small TOML writer for roicast specs (what ``tomllib`` parsed, written back).

The spec schema needs tables (``[baseline]``), inline tables (distributions),
arrays of scalars, arrays of tables (``[[option]]``, ``[[correlations]]``,
``[[demand.launches]]``) and sub-tables inside them (``[option.optimized]``).
:func:`dumps` writes any such document so that ``tomllib.loads(dumps(doc)) ==
doc``; it refuses what TOML cannot hold (``None``, non-string keys).
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import re
from collections.abc import Mapping
from typing import Any

from roicast.errors import RoicastError

__all__ = ["dumps"]

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key(k: Any) -> str:
    if not isinstance(k, str):
        raise RoicastError(f"TOML key {k!r}: keys must be strings")
    return k if _BARE_KEY.fullmatch(k) else _string(k)


def _string(s: str) -> str:
    # JSON's escapes (\" \\ \n \t \uXXXX) are TOML basic-string escapes; DEL must be escaped too
    return json.dumps(s, ensure_ascii=False).replace("\x7f", "\\u007f")


def _float(x: float) -> str:
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return repr(x)


def _value(v: Any, where: str) -> str:
    """One TOML value, inline (tables become inline tables)."""
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
        inner = ", ".join(f"{_key(k)} = {_value(x, f'{where}.{k}')}" for k, x in v.items())
        return "{ " + inner + " }" if inner else "{}"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_value(x, f"{where}[{i}]") for i, x in enumerate(v)) + "]"
    raise RoicastError(f"{where}: value {v!r} cannot be written as TOML")


def _is_table_array(v: Any) -> bool:
    return isinstance(v, list) and bool(v) and all(isinstance(x, Mapping) for x in v)


def _inline(v: Mapping[str, Any]) -> bool:
    """Tables of scalars and arrays of scalars (a distribution) are written inline."""
    return all(not isinstance(x, Mapping) and not _is_table_array(x) for x in v.values())


def _table(path: list[str], table: Mapping[str, Any], out: list[str]) -> None:
    """Append the key/value lines of ``table``, then its sub-tables and arrays of tables."""
    subtables, arrays = [], []
    for k, v in table.items():
        where = ".".join([*path, str(k)])
        if isinstance(v, Mapping) and (not path or not _inline(v)):
            subtables.append((k, v))
        elif _is_table_array(v):
            arrays.append((k, v))
        else:
            out.append(f"{_key(k)} = {_value(v, where)}")
    for k, v in subtables:
        name = ".".join(_key(p) for p in [*path, k])
        out += ["", f"[{name}]"]
        _table([*path, k], v, out)
    for k, blocks in arrays:
        name = ".".join(_key(p) for p in [*path, k])
        for block in blocks:
            out += ["", f"[[{name}]]"]
            _table([*path, k], block, out)


def dumps(doc: Mapping[str, Any], *, header: str = "") -> str:
    """Write a spec document as TOML text.

    Parameters
    ----------
    doc : mapping
        The document (``tomllib``'s output, possibly edited): top-level
        mappings become ``[tables]``, lists of mappings ``[[arrays of
        tables]]``; inside a table, a mapping of scalars (a distribution) is
        written inline, ``{ dist = "pert", min = 1, mode = 2, max = 3 }``.
    header : str
        Comment lines written first (each prefixed with ``# ``).

    Returns
    -------
    str
        TOML text such that ``tomllib.loads(dumps(doc)) == doc``.

    Raises
    ------
    RoicastError
        A value TOML cannot hold (``None``, an object) or a non-string key.
    """
    out = [f"# {line}".rstrip() for line in header.splitlines()]
    body: list[str] = []
    _table([], doc, body)
    while body and body[0] == "":
        body.pop(0)
    if out and body:
        out.append("")
    return "\n".join(out + body) + "\n"
