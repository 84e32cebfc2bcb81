"""A whole study from 1e4 to 1e7 draws: CPU seconds, peak RSS and the split by stage.

    python benchmarks/bench_study.py [--draws 10000 100000 1000000 10000000]
                                     [--sensitivity] [--write] [--dask-local N]

Each size runs in a fresh process (so its peak RSS is that run's alone) on the
built-in demo spec (``quantization``: 18 months of daily history, 36 months,
one option), without the report: forecast, sampling, the chunked simulation
with its monthly quantiles, and the tornado (``--sensitivity``: the full
analysis too; ``--write``: then ``summary.json`` and ``results.nc``, timed as
"writing").  A first small run (numba cache load) is excluded.

CPU seconds (``time.process_time``: user + system of every thread) depend less
than wall time on a shared machine; the stages are CPU seconds too, and the
peak RSS of each stage is sampled every 10 ms.  Printed beside the figures the
previous version measured on this machine (``PREVIOUS``, the same command
without ``--sensitivity``/``--write``; or, with ``--reference DIR``, that
version measured in this run, with its simulate stage), with the ratios of CPU
and memory to them and the growth of CPU with draws (goal: CPU at 1e6 ≤ 4 × CPU
at 1e5).  The first, excluded, run also loads the approximate quantiles' kernels.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import json, resource, sys, tempfile, threading, time
import psutil
t0 = time.process_time()
from contextlib import contextmanager
from roicast import study
from roicast.cli import demo_spec_path
from roicast.spec import load_spec

proc = psutil.Process()
state = {"stage": "imports", "rss": {}, "cpu": {}}

def sampler():
    while True:
        r = proc.memory_info().rss / 2**20
        s = state["stage"]
        state["rss"][s] = max(state["rss"].get(s, 0.0), r)
        time.sleep(0.01)

threading.Thread(target=sampler, daemon=True).start()

@contextmanager
def stage(name):
    prev, state["stage"] = state["stage"], name
    c0 = time.process_time()
    try:
        yield
    finally:
        state["cpu"][name] = state["cpu"].get(name, 0.0) + time.process_time() - c0
        state["stage"] = prev

class Clock(study._Clock):  # the study's own stages, in CPU seconds and peak RSS
    @contextmanager
    def __call__(self, name):
        with super().__call__(name), stage(name):
            yield

study._Clock = Clock
draws, sens, write, dask_local = int(sys.argv[1]), sys.argv[2] == "1", sys.argv[3] == "1", int(sys.argv[4])
if sys.argv[5] == "1":  # warm-up: the approximate monthly quantiles' kernels too
    study.QUANTILE_BUDGET = 0
spec = load_spec(demo_spec_path("quantization"))
state["cpu"]["imports"] = time.process_time() - t0
state["stage"] = "other"  # outside the stages: checks, labelling, the paid-back curve
kw = {}
if dask_local:
    from roicast.batch.execute import DaskExecutor
    ex = DaskExecutor(local=dask_local).__enter__()
    kw["client"] = ex.client
res = study.run_study(spec, draws=draws, sensitivity=sens, monthly=True, **kw)
if write:
    from roicast.report import write_report
    with stage("writing"), tempfile.TemporaryDirectory() as d:
        write_report(res, d + "/out", report=False)
cpu = time.process_time() - t0
time.sleep(0.03)
print(json.dumps({
    "cpu": cpu,
    "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "stage_cpu": state["cpu"],
    "stage_rss": state["rss"],
    "quantiles_exact": int(res.options["optimized"].monthly.attrs["quantiles_exact"]),
}))
"""

#: The previous version (cb98bd2, before the cheaper monthly-quantile binning), this
#: machine, 2026-12-02: measured with ``--reference`` in the same run as this version
#: (1e4-1e6), and the README's figure for 1e7; no report, tornado only: CPU seconds and
#: peak RSS in MB.  ``--reference DIR`` measures it again instead.
PREVIOUS = {
    10_000: (5.9, 341.0),
    100_000: (10.0, 452.0),
    1_000_000: (45.5, 773.0),
    10_000_000: (399.0, 4350.0),
}
STAGES = ("imports", "forecast", "sampling", "simulate", "sensitivity", "writing")


def run(
    draws: int, sensitivity: bool, write: bool, dask_local: int, path: str = "", warm: bool = False
) -> dict:
    env = {**os.environ, "PYTHONPATH": path} if path else None
    out = subprocess.run(
        [
            sys.executable,
            "-c",
            CHILD,
            str(draws),
            str(int(sensitivity)),
            str(int(write)),
            str(dask_local),
            str(int(warm)),
        ],
        capture_output=True,
        text=True,
        check=False,
        env=env,
        cwd=path or None,  # ``python -c`` puts the working folder first on sys.path
    )
    if out.returncode:
        raise SystemExit(f"{draws} draws failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--draws", type=int, nargs="+", default=[10_000, 100_000, 1_000_000, 10_000_000]
    )
    ap.add_argument("--sensitivity", action="store_true", help="the full sensitivity analysis too")
    ap.add_argument("--write", action="store_true", help="write summary.json and results.nc too")
    ap.add_argument("--dask-local", type=int, default=0, help="split over N local Dask workers")
    ap.add_argument(
        "--reference",
        default="",
        help="a folder holding the previous version's roicast/ package (e.g. from "
        "`git archive <commit> roicast | tar -x -C DIR`): measured in this run too, "
        "in the 'before' columns instead of PREVIOUS",
    )
    args = ap.parse_args()
    # numba cache load (exact and approximate monthly quantiles), first forecast: excluded
    run(200, False, False, 0, warm=True)
    if args.reference:
        run(200, False, False, 0, args.reference, warm=True)
    rows = []
    measured: dict[int, tuple[float, float]] = {}
    head = (
        "| draws | CPU s | peak RSS MB | "
        + " | ".join(STAGES)
        + " | before: CPU s, MB (simulate s) | CPU ×, RSS × |"
    )
    print(head)
    print("|" + "---|" * (head.count("|") - 1))
    for n in args.draws:
        r = run(n, args.sensitivity, args.write, args.dask_local)
        rows.append((n, r))
        st = " | ".join(
            f"{r['stage_cpu'][s]:.1f} s / {r['stage_rss'].get(s, 0):.0f} MB"
            if s in r["stage_cpu"]
            else "–"
            for s in STAGES
        )
        prev = PREVIOUS.get(n)
        sim = ""
        if args.reference:
            ref = run(n, args.sensitivity, args.write, 0, args.reference)
            prev = (ref["cpu"], ref["rss_mb"])
            measured[n] = prev
            sim = f" ({ref['stage_cpu'].get('simulate', float('nan')):.1f})"
        before = f"{prev[0]:.1f}, {prev[1]:.0f}{sim}" if prev else "–"
        ratio = f"{r['cpu'] / prev[0]:.2f}, {r['rss_mb'] / prev[1]:.2f}" if prev else "–"
        exact = "" if r["quantiles_exact"] else "*"
        print(
            f"| {n:,}{exact} | {r['cpu']:.1f} | {r['rss_mb']:.0f} | {st} | {before} | {ratio} |",
            flush=True,
        )
    print(
        "stages: CPU seconds / peak RSS while in the stage; * monthly quantiles approximate "
        "(within the stated bound), otherwise exact"
    )
    by_n = dict(rows)
    if 100_000 in by_n and 1_000_000 in by_n:
        g = by_n[1_000_000]["cpu"] / by_n[100_000]["cpu"]
        before = measured or PREVIOUS
        g0 = before[1_000_000][0] / before[100_000][0] if 1_000_000 in before else float("nan")
        print(f"CPU at 1e6 / CPU at 1e5: {g:.2f}× (goal ≤ 4×; before {g0:.2f}×)")
    if 1_000_000 in by_n:
        rss = by_n[1_000_000]["rss_mb"]
        print(
            f"peak RSS at 1e6: {rss:.0f} MB (goal ≤ 1024 MB: {'met' if rss <= 1024 else 'NOT met'})"
        )


if __name__ == "__main__":
    main()
