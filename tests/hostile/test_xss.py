"""Stored XSS and Markdown injection (issue 10, item 1): user text is inert in every report.

Every user-written field (project name, option names and descriptions,
[sources], currency, unit, history column names) carries ``<script>``,
``<img onerror>``, a ``javascript:`` link, a newline + ``# heading`` and a
newline + table row.  A small study and a 2-project batch are run with reports;
no payload may survive raw in report.html, portfolio.html or report.md.
Both run in this process (``_harness.run_inproc``: the console script's
``main``): what is tested is what the reports contain, not a process.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from tests.hostile._harness import dumps_toml, history_rows, history_spec, run_inproc

pytestmark = pytest.mark.slow

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
LINK = "[x](javascript:alert(1))"
HEADING = "\n# INJECTED HEADING"
ROW = "\n| INJ | ROW |"


def payload(tag: str, *, newlines: bool = False) -> str:
    """All payloads after a short tag (so names stay distinct).

    Newlines in user text are refused at validation (one printable line), so
    the Markdown injection by newline is covered by the refusal cases.
    """
    return f"{tag} {SCRIPT} {IMG} {LINK}" + (f"{HEADING}{ROW}" if newlines else "")


def _hostile_spec(tag: str) -> dict:
    doc = history_spec("h.csv")
    doc["demand"].update(
        unit=payload("unit"),
        timestamp_column=f"date {IMG}",
        volume_column=f"req {SCRIPT}",
    )
    doc["project"].update(name=payload(tag), currency=IMG)
    doc["sources"] = {
        "optimized.throughput_gain": payload("src-gain"),
        "baseline.throughput": payload("src-tp"),
    }
    doc["baseline"]["throughput"] = {"dist": "pert", "min": 1.6, "mode": 2.0, "max": 2.3}
    doc["option"] = [
        {"name": payload("optA"), "description": payload("descA")},
        {
            "name": payload("optB"),
            "description": payload("descB"),
            "throughput_gain": {"dist": "pert", "min": 1.2, "mode": 1.4, "max": 1.7},
        },
    ]
    return doc


def _write(d: Path, name: str, tag: str) -> Path:
    rows = history_rows(60)
    header = f'"date {IMG}","req {SCRIPT}"'
    (d / "h.csv").write_text(header + "\n" + "".join(f"{a},{b}\n" for a, b in rows))
    p = d / name
    p.write_text(dumps_toml(_hostile_spec(tag)), encoding="utf-8")
    return p


RAW_HTML = [
    re.compile(r"<script\b", re.I),
    re.compile(r"<img\s+src=x", re.I),
    re.compile(r"""href\s*=\s*["']?\s*javascript:""", re.I),
]


class _Attributes(HTMLParser):
    """Every element's attributes as the browser parses them (event handlers are attributes)."""

    def __init__(self) -> None:
        super().__init__()
        self.handlers: list[tuple[str, str]] = []

    def handle_starttag(self, tag, attrs):
        self.handlers += [(tag, a) for a, _ in attrs if a.lower().startswith("on")]


def _check_html(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    parser = _Attributes()
    parser.feed(text)
    assert not parser.handlers, f"{path.name}: event-handler attributes {parser.handlers[:3]}"
    for pat in RAW_HTML:
        m = pat.search(text)
        assert m is None, (
            f"{path.name}: raw {m.group(0)!r} near {text[max(0, m.start() - 80) : m.end() + 80]!r}"
        )


def _check_md(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    # an escaped bracket (\\]) is text, not a link: only an unescaped ](javascript: is one
    for pat in (
        re.compile(r"<\s*/?\s*(script|img)\b", re.I),
        re.compile(r"(?<!\\)\]\(\s*javascript:", re.I),
    ):
        m = pat.search(text)
        assert m is None, (
            f"{path.name}: raw {m.group(0)!r} near {text[max(0, m.start() - 80) : m.end() + 80]!r}"
        )
    for ln in text.splitlines():
        assert not re.match(r"\s*#+\s*INJECTED", ln), f"{path.name}: injected heading {ln!r}"
        assert not re.match(r"\s*\|\s*INJ\s*\|", ln), f"{path.name}: injected table row {ln!r}"


def test_single_run_reports_inert(tmp_path):
    """report.html and report.md of one study: no payload raw."""
    _write(tmp_path, "spec.toml", "proj")
    res = run_inproc(("run", "spec.toml", "--out", "out", "--draws", "200", "-q"), tmp_path)
    assert res.rc == 0, res.show()
    assert "UserWarning" not in res.stderr, res.show()  # long names: no layout warning
    _check_html(tmp_path / "out" / "report.html")
    _check_md(tmp_path / "out" / "report.md")
    # the payloads were rendered (as text): the test looked at the right fields
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    for tag in ("proj", "optA", "optB", "src-gain"):
        assert f"{tag} &lt;script&gt;alert(1)" in html, f"{tag} not shown in report.html"
    assert "optA" in (tmp_path / "out" / "report.md").read_text(encoding="utf-8")


def test_batch_reports_inert(tmp_path):
    """portfolio.html and every project's report.html / report.md: no payload raw."""
    _write(tmp_path, "a.toml", "projA")
    (tmp_path / "b.toml").write_text(dumps_toml(_hostile_spec("projB")), encoding="utf-8")
    res = run_inproc(
        ("batch", "a.toml", "b.toml", "--out", "out", "--workers", "0", "--draws", "200", "-q"),
        tmp_path,
    )
    assert res.rc == 0, res.show()
    _check_html(tmp_path / "out" / "portfolio.html")
    reports = sorted((tmp_path / "out" / "projects").glob("*/report.html"))
    assert len(reports) == 2, reports
    for r in reports:
        _check_html(r)
        _check_md(r.with_name("report.md"))
