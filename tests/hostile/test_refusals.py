"""Hostile specs, histories, flags and destinations: refused with one clear line, nothing written.

All cases of :mod:`tests.hostile.cases` run in one group process (the real
``roicast.cli.main``, one call per case; see ``_harness.run_group``), then each
parametrized test checks its own result and folder against the README promise.
"""

from __future__ import annotations

import re

import pytest

from tests.hostile._harness import SECRET, check_no_secret, check_refusal, run_group, snapshot
from tests.hostile.cases import CASES, Case


def _params():
    for c in CASES:
        marks = []
        if c.xfail:
            marks.append(pytest.mark.xfail(strict=True, reason=c.xfail))
        yield pytest.param(c, id=c.id, marks=marks)


@pytest.fixture(scope="module")
def group(tmp_path_factory):
    """Build every case's folder, run them all in one process; case id → (Prepared, Result)."""
    root = tmp_path_factory.mktemp("hostile")
    prepared = {}
    for c in CASES:
        if c.skip and c.skip():
            continue
        d = root / re.sub(r"[^A-Za-z0-9_-]", "_", c.id)
        d.mkdir()
        prepared[c.id] = c.build(d)
    results = run_group({k: (p.args, p.cwd) for k, p in prepared.items()})
    # every case's exit code and stderr, for reading (pytest's basetemp keeps it)
    (root / "lines.txt").write_text(
        "".join(f"{k} [{r.rc}] {r.stderr.strip()}\n" for k, r in results.items()),
        encoding="utf-8",
    )
    return {k: (prepared[k], results[k]) for k in prepared}


@pytest.mark.parametrize("case", list(_params()))
def test_hostile_input(case: Case, group) -> None:
    """The promise for one hostile input (or, for a control, that it is accepted)."""
    if case.skip and (why := case.skip()):
        pytest.skip(why)
    prep, res = group[case.id]
    if case.accept:
        assert res.rc == 0, f"a valid input was refused\n{res.show()}"
        assert "Traceback" not in res.stderr
        check_no_secret(res, prep.secret_files)
        if case.extra.get("one_stdout_line"):
            out = [ln for ln in res.stdout.splitlines() if ln.strip()]
            assert len(out) == 1, f"{len(out)} stdout lines, expected one\n{res.show()}"
        if case.extra.get("one_line_per_warning"):
            bad = [ln for ln in res.lines if not ln.startswith("warning:")]
            assert not bad, f"stderr lines that are not whole warnings: {bad}\n{res.show()}"
        return
    line = check_refusal(
        res,
        rc=case.rc,
        names=case.names,
        value=case.value,
        out=prep.watch,
        before=prep.before,
        secret_files=prep.secret_files,
    )
    # the line is a line: no control characters that rewrite a terminal or forge another line
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f]", line), f"control characters in {line!r}"
    assert len(line) <= 1000, f"a {len(line)}-character line echoes too much"
    assert SECRET not in line
    if prep.watch is not None and prep.before is None:
        assert snapshot(prep.watch) is None
