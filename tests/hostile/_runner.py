"""Run many ``roicast`` command lines in one Python process (the tests' cheap path).

Every subprocess pays the import of numpy, numba, scipy, pandas and xarray
(10+ s on a loaded machine), so the hostile cases that are refused before any
simulation run through this script: it imports :func:`roicast.cli.main` once
and, for each case, changes into the case's folder, points file descriptors 1
and 2 at files (so C-level writes are captured too), sets ``sys.argv`` and calls
``main()`` exactly as the console script does, catching ``SystemExit`` for the
exit code.  An exception escaping ``main()`` is recorded as Python would print
it (a traceback, exit code 1).  Each result is appended as one JSON line as soon
as it is known, so a crash of this process loses only the case that crashed it
(the harness reruns the rest in their own subprocesses).

Usage: ``python _runner.py CASES.json RESULTS.jsonl`` where ``CASES.json`` is a
list of ``{"key": str, "args": [str, ...], "cwd": str}``.
"""

from __future__ import annotations

import json
import os
import sys
import traceback


def call_main(main, uncaught: type[BaseException] = Exception) -> int:
    """``main()``'s exit code as the interpreter would give it.

    ``SystemExit``: its code (a string is printed on stderr, code 1); an
    ``uncaught`` exception: its traceback on stderr, code 1.
    """
    try:
        main()
    except SystemExit as e:
        code = e.code
        if isinstance(code, str):
            print(code, file=sys.stderr)
        return code if isinstance(code, int) else (0 if code is None else 1)
    except uncaught:  # what the interpreter would print for an uncaught exception
        traceback.print_exc()
        return 1
    return 0


def _run_one(main, case: dict) -> dict:
    os.chdir(case["cwd"])
    out_path = os.path.join(case["cwd"], ".runner-stdout")
    err_path = os.path.join(case["cwd"], ".runner-stderr")
    saved = os.dup(1), os.dup(2)
    sys.stdout.flush()
    sys.stderr.flush()
    with open(out_path, "wb") as fo, open(err_path, "wb") as fe:
        os.dup2(fo.fileno(), 1)
        os.dup2(fe.fileno(), 2)
    sys.argv = ["roicast", *case["args"]]
    try:
        rc = call_main(main, uncaught=BaseException)
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        os.close(saved[0])
        os.close(saved[1])
    with open(out_path, encoding="utf-8", errors="replace") as f:
        stdout = f.read()
    with open(err_path, encoding="utf-8", errors="replace") as f:
        stderr = f.read()
    os.unlink(out_path)
    os.unlink(err_path)
    return {"key": case["key"], "rc": rc, "stdout": stdout, "stderr": stderr}


def main_runner(cases_path: str, results_path: str) -> None:
    """Run every case of ``cases_path``; append one JSON line per result to ``results_path``."""
    from roicast.cli import main

    with open(cases_path, encoding="utf-8") as f:
        cases = json.load(f)
    for case in cases:
        res = _run_one(main, case)
        with open(results_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(res) + "\n")


if __name__ == "__main__":
    main_runner(sys.argv[1], sys.argv[2])
