"""Benchmark `roicast batch`: 1 000 projects × 10 000 draws × 36 months, no reports, 2 workers.

Target (DESIGN.md, "Performance targets"): under 3 minutes on 2 cores with peak
memory (parent + worker processes) under 2 GB.

The projects come from the demo spec through a template + table: one CSV row
per project varying the throughput gain, the instance price, the engineering
effort, the model-update rate and the always-on floor.  They share the demo's
traffic history, so each worker fits the forecast once (the forecast cache).
The 1-vs-2-worker speed-up is measured on a subset (``--subset``, default 100
projects) run both ways, plus the full batch on ``--workers`` workers.

Run::

    python benchmarks/bench_batch.py                    # the target: 1000 × 10 000, 2 workers
    python benchmarks/bench_batch.py --projects 200 --subset 40   # quicker
    python benchmarks/bench_batch.py --sensitivity      # full per-project sensitivity (slower)

After the full batch, the selection under a budget (engineer-months and money,
each 20 % of the portfolio's total) is timed on its records and compared with
the portfolio stage of the same run.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import tempfile
import threading
import time
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from roicast.batch import run_batch


def make_inputs(folder: Path, n_projects: int, seed: int = 1) -> tuple[Path, Path]:
    """The demo spec as a template and a table of ``n_projects`` varied rows."""
    demo = Path(str(files("roicast.demo")))
    shutil.copy(demo / "history.csv", folder / "history.csv")
    template = folder / "template.toml"  # draws: set by run_batch(draws=...)
    shutil.copy(demo / "quantization.toml", template)
    rng = np.random.default_rng(seed)
    table = folder / "projects.csv"
    with table.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "project.name",
                "optimized.throughput_gain.mode",
                "baseline.price",
                "implementation.engineer_months.mode",
                "churn.updates_per_year.mode",
                "baseline.floor_instances",
            ]
        )
        for i in range(n_projects):
            w.writerow(
                [
                    f"candidate {i:04d}",
                    round(rng.uniform(1.2, 1.85), 3),
                    round(rng.uniform(2.0, 5.0), 2),
                    round(rng.uniform(3.5, 8.5), 2),
                    round(rng.uniform(1.2, 5.8), 2),
                    int(rng.integers(0, 5)),
                ]
            )
    return template, table


class PeakRSS:
    """Samples the RSS of this process and all its descendants; keeps the peak of the sum."""

    def __init__(self, every: float = 0.1) -> None:
        self.every = every
        self.peak = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(self.every)

    def __enter__(self) -> PeakRSS:
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()


def timed_batch(template: Path, table: Path, out: Path, **kw) -> tuple[float, int, dict, Any]:
    with PeakRSS() as rss:
        t0 = time.perf_counter()
        res = run_batch(template=template, table=table, out=out, report=False, **kw)
        dt = time.perf_counter() - t0
    assert res.counts["failed"] == 0, res.failed[:3]
    doc = json.loads((out / "batch.json").read_text())
    return dt, rss.peak, doc, res


def time_selection(res, portfolio_seconds: float) -> None:
    """Time the budget selection (two constraints, 20 % of the totals) on a finished batch."""
    from roicast.batch.budget import select_projects

    done = [r for r in res.records if r["status"] != "failed"]
    budgets = {
        "engineer_months": 0.2 * sum(r["engineer_months_mean"] for r in done),
        "money": 0.2 * sum(r["investment_mean"] for r in done),
    }
    t0 = time.perf_counter()
    sel = select_projects(res.records, budgets, res.out)
    t = time.perf_counter() - t0
    flagged = sum(bool(r.get("diagnosis")) for r in done)
    print(
        f"  selection under 2 budgets: {len(sel['projects'])} of {sel['candidates']} candidates, "
        f"{sel['nodes']} nodes, exact={sel['exact']}, {t:.2f} s "
        f"({t / portfolio_seconds:.2f}× the portfolio stage); {flagged} projects flagged"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--projects", type=int, default=1000)
    ap.add_argument("--draws", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--subset", type=int, default=100, help="projects for the 1-vs-2-worker run")
    ap.add_argument("--sensitivity", action="store_true", help="full per-project sensitivity")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="roicast-bench-batch-"))
    try:
        kw = {"sensitivity": args.sensitivity, "draws": args.draws}
        print(
            f"roicast batch benchmark: {args.projects} projects × {args.draws} draws × 36 months, "
            f"no reports, sensitivity={'full' if args.sensitivity else 'tornado only'}"
        )
        if args.subset:
            tpl, tab = make_inputs(work, args.subset)
            sub = {}
            for w in (1, args.workers):
                t, peak, doc, _ = timed_batch(tpl, tab, work / f"sub{w}", workers=w, **kw)
                sub[w] = t
                print(
                    f"  subset {args.subset} projects, {w} worker(s): {t:6.1f} s "
                    f"({args.subset / t:5.2f} projects/s incl. start-up), peak RSS {peak / 2**20:6.0f} MB"
                )
            print(
                f"  speed-up 1 → {args.workers} workers (subset): {sub[1] / sub[args.workers]:.2f}×"
            )
        tpl, tab = make_inputs(work, args.projects)
        t, peak, doc, res = timed_batch(tpl, tab, work / "full", workers=args.workers, **kw)
        print(
            f"  full: {args.projects} projects on {args.workers} workers: {t:6.1f} s total, "
            f"{args.projects / t:5.2f} projects/s, peak RSS (parent + workers) {peak / 2**20:6.0f} MB"
        )
        tm = doc["timings"]
        print(
            f"  batch timings: plan {tm['plan']:.1f} s, run {tm['run']:.1f} s, "
            f"portfolio {tm['portfolio']:.1f} s"
        )
        time_selection(res, tm["portfolio"])
        stages = doc.get("project_stage_seconds", {})
        per = {k: v / args.projects for k, v in stages.items()}
        print(
            "  per project, in the workers (s): "
            + ", ".join(f"{k} {v:.3f}" for k, v in sorted(per.items()))
        )
        ok_t = t < 180
        ok_m = peak < 2 * 2**30
        print(
            f"  target < 180 s: {'PASS' if ok_t else 'MISS'}; peak memory < 2 GB: {'PASS' if ok_m else 'MISS'}"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
