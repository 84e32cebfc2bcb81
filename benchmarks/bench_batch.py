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

CPU seconds (this process and its worker processes, ``getrusage``) are printed
beside wall time, since the machine may be shared: CPU per project, and the
projects/s that CPU per project allows on ``--workers`` cores.
``--before REV`` runs the same measurements with roicast as of git commit
``REV`` (its tree extracted to a temporary folder and imported in a subprocess
in place of the editable install) and prints now/before ratios::

    python benchmarks/bench_batch.py --projects 200 --subset 40 --before cb98bd2
    python benchmarks/bench_batch.py --projects 0 --subset 20 --sensitivity --before cb98bd2
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import shutil
import sys
import tempfile
import threading
import time
from importlib.resources import files
from pathlib import Path
from typing import Any

import numpy as np
import psutil

from roicast.batch import run_batch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _at_rev import run_at_rev


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


def cpu_now() -> float:
    """CPU seconds of this process and of its finished child processes (user + system)."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    ch = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + ch.ru_utime + ch.ru_stime


def timed_batch(
    template: Path, table: Path, out: Path, **kw
) -> tuple[float, int, dict, Any, float]:
    """Wall s, peak RSS, batch.json, the result and CPU s (parent + workers) of one batch."""
    with PeakRSS() as rss:
        t0, c0 = time.perf_counter(), cpu_now()
        res = run_batch(template=template, table=table, out=out, report=False, **kw)
        dt, cpu = time.perf_counter() - t0, cpu_now() - c0
    assert res.counts["failed"] == 0, res.failed[:3]
    doc = json.loads((out / "batch.json").read_text())
    return dt, rss.peak, doc, res, cpu


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


def measure(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """Run the subset (1 and ``--workers`` workers, best of ``--repeat``) and the full batch."""
    kw = {"sensitivity": args.sensitivity, "draws": args.draws}
    out: dict[str, Any] = {}
    warm = work / "warm"  # compile (or load) the numba caches once, outside the timings
    warm.mkdir()
    timed_batch(*make_inputs(warm, 2), warm / "out", workers=1, **kw)
    if args.subset:
        tpl, tab = make_inputs(work, args.subset)
        for w in (1, args.workers):
            best = None
            for r in range(args.repeat):
                t, peak, doc, _, cpu = timed_batch(tpl, tab, work / f"sub{w}-{r}", workers=w, **kw)
                if best is None or cpu < best["cpu"]:
                    best = {"wall": t, "cpu": cpu, "peak": peak}
            out[f"subset_{w}"] = best
    if args.projects:
        tpl, tab = make_inputs(work, args.projects)
        t, peak, doc, res, cpu = timed_batch(tpl, tab, work / "full", workers=args.workers, **kw)
        stages = doc.get("project_stage_seconds", {})
        out["full"] = {
            "wall": t,
            "cpu": cpu,
            "peak": peak,
            "timings": doc["timings"],
            "stages": {k: v / args.projects for k, v in stages.items()},
        }
        if not args.json:
            time_selection(res, doc["timings"]["portfolio"])
    return out


def show(m: dict[str, Any], args: argparse.Namespace, label: str) -> None:
    n, w = args.subset, args.workers
    for k in (1, w):
        s = m.get(f"subset_{k}")
        if s:
            print(
                f"  [{label}] subset {n} projects, {k} worker(s): {s['wall']:6.1f} s wall "
                f"({n / s['wall']:5.2f} projects/s incl. start-up), {s['cpu'] / n:.3f} s CPU per "
                f"project, peak RSS {s['peak'] / 2**20:6.0f} MB"
            )
    if m.get("subset_1") and m.get(f"subset_{w}"):
        print(f"  [{label}] speed-up 1 → {w} workers (subset, wall): "
              f"{m['subset_1']['wall'] / m[f'subset_{w}']['wall']:.2f}×")  # fmt: skip
    f = m.get("full")
    if f:
        p = args.projects
        print(
            f"  [{label}] full: {p} projects on {w} workers: {f['wall']:6.1f} s wall, "
            f"{p / f['wall']:5.2f} projects/s; {f['cpu'] / p:.3f} s CPU per project "
            f"(→ {w * p / f['cpu']:5.2f} projects/s on {w} free cores); "
            f"peak RSS {f['peak'] / 2**20:6.0f} MB"
        )
        tm = f["timings"]
        print(
            f"  [{label}] batch timings: plan {tm['plan']:.1f} s, run {tm['run']:.1f} s, "
            f"portfolio {tm['portfolio']:.1f} s"
        )
        print(
            f"  [{label}] per project, in the workers (s; cpu = CPU s, others wall): "
            + ", ".join(f"{k} {v:.3f}" for k, v in sorted(f["stages"].items()))
        )


def before(args: argparse.Namespace, rev: str, work: Path) -> dict[str, Any]:
    """:func:`measure` with roicast as of commit ``rev``, in a subprocess."""
    argv = [str(Path(__file__).resolve()), "--json"]
    argv += ["--projects", str(args.projects), "--draws", str(args.draws)]
    argv += ["--workers", str(args.workers), "--subset", str(args.subset)]
    argv += ["--repeat", str(args.repeat)] + (["--sensitivity"] if args.sensitivity else [])
    return run_at_rev(rev, work, argv)["measures"]


def ratios(now: dict[str, Any], ref: dict[str, Any], args: argparse.Namespace) -> None:
    for key, n in (("subset_1", args.subset), (f"subset_{args.workers}", args.subset),
                   ("full", args.projects)):  # fmt: skip
        if key in now and key in ref:
            a, b = now[key], ref[key]
            print(
                f"  {key}: CPU per project {a['cpu'] / n:.3f} s now vs {b['cpu'] / n:.3f} s before "
                f"({b['cpu'] / a['cpu']:.2f}× less); wall {b['wall'] / a['wall']:.2f}× faster"
            )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--projects", type=int, default=1000, help="projects of the full batch (0: skip)"
    )
    ap.add_argument("--draws", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--subset", type=int, default=100, help="projects for the 1-vs-2-worker run")
    ap.add_argument("--sensitivity", action="store_true", help="full per-project sensitivity")
    ap.add_argument("--repeat", type=int, default=1, help="subset runs, best CPU kept")
    ap.add_argument("--before", metavar="REV", help="also measure roicast at git commit REV")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="roicast-bench-batch-"))
    try:
        if args.json:  # the reference run of --before: measures on one line
            import roicast

            m = measure(args, work)
            print(json.dumps({"roicast_file": roicast.__file__, "measures": m}))
            return
        print(
            f"roicast batch benchmark: {args.projects} projects (subset {args.subset}) × "
            f"{args.draws} draws × 36 months, no reports, "
            f"sensitivity={'full' if args.sensitivity else 'tornado only'}"
        )
        ref = before(args, args.before, work) if args.before else None
        now = measure(args, work)
        show(now, args, "now")
        if ref is not None:
            show(ref, args, f"before {args.before}")
            ratios(now, ref, args)
        f = now.get("full")
        if f and args.projects == 1000 and not args.sensitivity:
            ok_t = f["wall"] < 180
            ok_m = f["peak"] < 2 * 2**30
            print(
                f"  target < 180 s: {'PASS' if ok_t else 'MISS'}; "
                f"peak memory < 2 GB: {'PASS' if ok_m else 'MISS'}"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
