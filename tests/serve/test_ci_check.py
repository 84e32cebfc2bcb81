"""``.ci/check-no-browser-skips``: CI fails when the browser tests were skipped or not run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "check-no-browser-skips"

RAN = '<testcase classname="tests.serve.test_browser" name="test_page" time="3"/>'
SKIPPED = (
    '<testcase classname="tests.serve.test_browser" name="test_page" time="0">'
    '<skipped type="pytest.skip" message="browser tests need Debian\'s chromium"/></testcase>'
)
OTHER = '<testcase classname="tests.serve.test_api" name="test_state" time="1"/>'


def _xml(tmp_path: Path, *cases: str, name: str = "junit.xml") -> Path:
    path = tmp_path / name
    path.write_text(
        f'<?xml version="1.0"?><testsuites><testsuite name="pytest">{"".join(cases)}'
        "</testsuite></testsuites>"
    )
    return path


@pytest.mark.parametrize(
    ("cases", "code"),
    [((RAN, OTHER), 0), ((SKIPPED, OTHER), 1), ((RAN, SKIPPED), 1), ((OTHER,), 1)],
)
def test_the_check_reads_the_junit_report(tmp_path, cases, code):
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), str(_xml(tmp_path, *cases))], capture_output=True, text=True
    )
    assert proc.returncode == code, proc.stderr
    if code:
        assert "check-no-browser-skips" in proc.stderr


def test_a_missing_report_fails(tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT), str(tmp_path / "none.xml")])
    assert proc.returncode == 1


def test_two_reports_are_read_together(tmp_path):
    # CI writes one report for `pytest` and one for `pytest -m slow`; the browser tests may be in either
    fast = _xml(tmp_path, OTHER, name="fast.xml")
    slow = _xml(tmp_path, RAN, name="slow.xml")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), str(fast), str(slow)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    skipped = _xml(tmp_path, SKIPPED, name="skipped.xml")
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), str(slow), str(skipped)], capture_output=True, text=True
    )
    assert proc.returncode == 1
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--module=test_api", str(fast)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
