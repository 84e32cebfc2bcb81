"""``roicast template --xlsx``: a commented spec workbook that runs as it is.

The template is a built-in demo (FP8 quantization of a chat model, or the
three-option study) in the workbook layout of :mod:`roicast.excel.spec_io`:
its history in a History sheet (so the file stands alone), the demo's TOML
comments and the fields' descriptions in the note column, a comment on each
column header, a dropdown of distributions, and every optional field the demo
leaves out listed as a ``#`` comment row with its default.
"""

from __future__ import annotations

import re
import tomllib
from importlib.resources import files
from pathlib import Path
from typing import Any

from roicast.errors import RoicastError
from roicast.excel import _layout as L
from roicast.excel.spec_io import write_xlsx_spec

__all__ = ["EXAMPLES", "write_template"]

#: Built-in examples a template can start from.
EXAMPLES = {
    "quantization": "quantization.toml",
    "options": "options.toml",
    "fleet": "fleet.toml",
    "onprem": "onprem.toml",
}

_KEY_LINE = re.compile(r"^\s*([A-Za-z0-9_]+)\s*=")
_HEADER = re.compile(r"^\s*\[([A-Za-z0-9_.]+)\]\s*(#.*)?$")


def toml_comments(text: str) -> dict[str, str]:
    """``section.key -> trailing comment`` of a TOML spec's single-table sections.

    Comments inside ``[[...]]`` blocks are left out (they have no single field).
    """
    out: dict[str, str] = {}
    section: str | None = None
    for line in text.splitlines():
        if line.lstrip().startswith("[["):
            section = None
            continue
        m = _HEADER.match(line)
        if m:
            section = m.group(1)
            continue
        m = _KEY_LINE.match(line)
        comment = _trailing_comment(line)
        if section and m and comment:
            out[f"{section}.{m.group(1)}"] = comment
    return out


def _trailing_comment(line: str) -> str:
    """The text after a ``#`` that is not inside a quoted string ("" if none)."""
    quote = None
    i = 0
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\" and quote == '"':
                i += 1
            elif ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            return line[i + 1 :].strip()
        i += 1
    return ""


def _default(info: Any) -> str:
    d = info.default
    if d is None or repr(d) == "PydanticUndefined":
        return ""
    if hasattr(d, "describe"):
        return f"; default {d.describe()}"
    if isinstance(d, list | dict) and not d:
        return ""
    return f"; default {d!r}" if isinstance(d, str) else f"; default {d}"


def _optional_rows(raw: dict[str, Any]) -> dict[str, list[tuple[str, str]]]:
    """Comment rows for the fields the example leaves out, per sheet."""
    rows: dict[str, list[tuple[str, str]]] = {L.ASSUMPTIONS: [], L.SETTINGS: []}
    for sec, model in L.section_models().items():
        given = raw.get(sec) or {}
        for key, info in model.model_fields.items():
            if key in given or (sec, key) == ("demand", "launches"):
                continue
            sheet = L.ASSUMPTIONS if L.is_distribution_field(sec, key) else L.SETTINGS
            desc = info.description or ""
            note = f"optional{': ' + desc if desc else ''}{_default(info)}"
            rows[sheet].append((f"# {sec}.{key}", note))
    return rows


def _notes(raw: dict[str, Any], comments: dict[str, str]) -> dict[str, str]:
    notes = dict(comments)
    for sec, model in L.section_models().items():
        for key in raw.get(sec) or {}:
            info = model.model_fields.get(key)
            if f"{sec}.{key}" not in notes and info is not None and info.description:
                notes[f"{sec}.{key}"] = info.description
    return notes


def write_template(path: Path | str, *, example: str | None = None) -> Path:
    """Write a commented spec workbook prefilled with a built-in example, atomically.

    Parameters
    ----------
    path : path-like
        Destination ``.xlsx``.
    example : {"quantization", "options", "fleet", "onprem"}, optional
        The demo to start from (default ``"quantization"``).

    Returns
    -------
    Path
        ``path``.  ``roicast run path`` runs it as it is.
    """
    name = example or "quantization"
    if name not in EXAMPLES:
        raise RoicastError(
            f"--example: {name!r} is not a built-in example; choose one of {', '.join(EXAMPLES)}"
        )
    demo = files("roicast.demo")
    text = (demo / EXAMPLES[name]).read_text(encoding="utf-8")
    raw = tomllib.loads(text)
    hist = raw["demand"].pop("history", None)  # a demo may state start volume and growth instead
    history = Path(str(demo / hist)) if hist else None
    write_xlsx_spec(
        raw,
        path,
        history_csv=history,
        notes=_notes(raw, toml_comments(text)),
        extra_rows=_optional_rows(raw),
    )
    return Path(path)
