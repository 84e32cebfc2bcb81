"""How a whole study scales with draws: CPU seconds, peak RSS and the split by stage.

    python benchmarks/bench_scale.py [--draws 10000 100000 1000000] [--sensitivity]

Each size runs in a fresh process (so peak RSS is that run's alone) on the
built-in demo spec, without writing the report: forecast, sampling, the
chunked simulation with its monthly quantiles, and the tornado (with
``--sensitivity``, the full analysis too).  CPU seconds (user + system, all
threads) are less sensitive than wall time to a shared machine.  It prints
the ratio of CPU at each size to CPU at the smallest, and the figures the
issue recorded for the previous version beside them.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time
t0 = time.process_time()
from roicast.cli import demo_spec_path
from roicast.spec import load_spec
from roicast.study import run_study
spec = load_spec(demo_spec_path("quantization"))
res = run_study(spec, draws=int(sys.argv[1]), sensitivity=sys.argv[2] == "1")
cpu = time.process_time() - t0
print(json.dumps({"cpu": cpu, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "stages": res.timings}))
"""

#: What the previous version measured (issue 13), CPU seconds and peak RSS, no report.
PREVIOUS = {10_000: (8.3, None), 1_000_000: (46.0, 3500.0)}


def run(draws: int, sensitivity: bool) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(draws), "1" if sensitivity else "0"],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--sensitivity", action="store_true", help="also the full sensitivity analysis")
    args = ap.parse_args()
    run(200, False)  # numba cache load, forecast warm-up: excluded
    rows = []
    for n in args.draws:
        r = run(n, args.sensitivity)
        rows.append((n, r))
        st = ", ".join(f"{k} {v:.2f}" for k, v in r["stages"].items())
        prev = PREVIOUS.get(n)
        before = (
            f"  (before: {prev[0]:.1f} s CPU" + (f", {prev[1]:.0f} MB)" if prev[1] else ")")
            if prev
            else ""
        )
        print(
            f"{n:>10,} draws: {r['cpu']:7.2f} s CPU, peak RSS {r['rss_mb']:7.0f} MB; wall by stage: {st}{before}"
        )
    base_n, base = rows[0]
    for n, r in rows[1:]:
        print(
            f"CPU at {n:,} / CPU at {base_n:,} draws: {r['cpu'] / base['cpu']:.2f}× for {n / base_n:.0f}× the draws"
        )
    _ = resource  # the child measures its own peak


if __name__ == "__main__":
    main()
