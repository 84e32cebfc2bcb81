"""Benchmark of roicast.sensitivity: rankings, Sobol and EVPPI at study sizes.

Run:  python benchmarks/bench_sensitivity.py

Prints, for this machine:
* all Monte Carlo rankings (Spearman, contribution to variance, decile binned
  effect, non-monotonic flag) on 100 000 draws x 20 inputs, against a naive
  pandas reference (per-input ``Series.corr(method="spearman")`` and
  ``groupby(pd.qcut(...)).mean()``) computed in the same run;
* Sobol first-order and total indices (200 bootstrap resamples) with 12 inputs
  at N = 4 096 on a 36-month cash-flow model written in NumPy below;
* EVPPI of 20 inputs on 100 000 draws (spline regression and bins), against a
  naive pandas groupby version of the bins method.

* issue 13: EVPPI (spline regression, fitted on bin statistics from 200 000 draws
  on) and all rankings at 1 000 000 draws x 20 inputs, in CPU seconds
  (``time.process_time``, all threads), against the full per-draw spline fit
  measured in the same run.

* issue 13, ``--project [--before REV]``: one project's full sensitivity as a
  batch worker runs it (the demo spec, 10 000 draws, one shared forecast,
  ``run_study(..., sensitivity=True, monthly=False)`` + ``summary``): CPU
  seconds per project (best of ``--repeat`` projects) and the split by analysis
  (tornado, three-point, break-even, Sobol, goal seek, spider, the rest) with
  the kernel rows each ran; ``--before REV`` measures roicast at git commit
  ``REV`` in a subprocess in the same run (its tree extracted to a temporary
  folder, imported in place of the editable install) and prints the ratios::

      python benchmarks/bench_sensitivity.py --project --before cb98bd2 [--example options]
      python benchmarks/bench_sensitivity.py --project --tornado-only --before cb98bd2

Targets (issue 4): rankings on 100 000 draws well under 1 s; Sobol with 12
inputs at N = 4 096 on a 36-month study under 3 s on 2 cores (the study's
simulator replaces the NumPy model here).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

import roicast.sensitivity.voi as voi_module
from roicast.sensitivity import evppi, rankings, sobol_indices

N_DRAWS = 100_000
N_INPUTS = 20
HORIZON = 36
HOURS = 730.0


def best_of(fn: Callable[[], Any], repeat: int = 3) -> tuple[float, Any]:
    """Shortest wall time of ``repeat`` calls, and the last result."""
    best = np.inf
    out = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def cpu_of(fn: Callable[[], Any]) -> tuple[float, Any]:
    """CPU seconds (all threads of this process) of one call, and its result."""
    t0 = time.process_time()
    out = fn()
    return time.process_time() - t0, out


def large(n: int = 1_000_000, k: int = N_INPUTS) -> None:
    """Issue 13: EVPPI + rankings at 10^6 draws x 20 inputs, CPU seconds (goal <= 2 s together)."""
    rng = np.random.default_rng(1)
    names = [f"input{i:02d}" for i in range(k)]
    X = pd.DataFrame(rng.uniform(size=(n, k)), columns=names)
    y = 4.0 * X["input00"] - 2.0 * X["input01"] + 3.0 * (X["input02"] - 0.5) ** 2 * 4.0
    y = y + rng.normal(0.0, 1.0, n) - 2.3
    evppi(X.iloc[:300_000], y.iloc[:300_000])  # load the numba kernel from its cache
    t_evppi, fast = cpu_of(lambda: evppi(X, y))
    t_rank, _ = cpu_of(lambda: rankings(X, y))
    saved = voi_module.LARGE_N
    voi_module.LARGE_N = 10**12  # the per-draw spline fit used below 200 000 draws
    try:
        t_full, full = cpu_of(lambda: evppi(X, y))
    finally:
        voi_module.LARGE_N = saved
    diff = float(np.max(np.abs(fast - full[fast.index])))
    print(
        f"  issue 13 ({n:,} draws x {k} inputs, CPU s): evppi {t_evppi:.2f}"
        f" + rankings {t_rank:.2f} = {t_evppi + t_rank:.2f} (goal <= 2)"
        f"   per-draw spline evppi: {t_full:.2f} (x{t_full / t_evppi:.1f})"
        f"   max |Δ evppi| {diff:.1e} (EVPI {fast.attrs['evpi']:.3f})"
    )


def naive_rankings(X: pd.DataFrame, y: pd.Series, bins: int = 10) -> pd.DataFrame:
    """The obvious pandas version: one Spearman and one qcut/groupby per input."""
    rows = {}
    for name in X.columns:
        rho = X[name].corr(y, method="spearman")
        means = y.groupby(pd.qcut(X[name].rank(method="first"), bins, labels=False)).mean()
        rows[name] = {"spearman": rho, "low": means.min(), "high": means.max()}
    df = pd.DataFrame(rows).T
    df["contribution"] = np.sign(df["spearman"]) * df["spearman"] ** 2 / (df["spearman"] ** 2).sum()
    df["swing"] = df["high"] - df["low"]
    return df


def naive_evppi_bins(X: pd.DataFrame, y: pd.Series, bins: int) -> pd.Series:
    base = max(y.mean(), 0.0)
    out = {}
    for name in X.columns:
        g = y.groupby(pd.qcut(X[name].rank(method="first"), bins, labels=False)).transform("mean")
        out[name] = np.maximum(g, 0.0).mean() - base
    return pd.Series(out)


# A 36-month cash-flow model in NumPy (rows = settings), after DESIGN.md "The model".
CASHFLOW_INPUTS = {
    "demand0": stats.lognorm(0.3, scale=3e9),  # units in month 1
    "growth": stats.norm(0.3, 0.15),  # annual demand growth
    "tau0": stats.uniform(800.0, 400.0),  # units/s per instance
    "gain": stats.triang(0.4, loc=1.2, scale=1.5),  # throughput multiplier
    "u0": stats.uniform(0.25, 0.2),
    "u1": stats.uniform(0.35, 0.25),
    "p0": stats.uniform(8.0, 4.0),  # $/instance-hour
    "rho": stats.uniform(0.6, 0.5),  # price ratio
    "price_change": stats.norm(-0.1, 0.05),  # annual
    "impl_months": stats.uniform(1.0, 5.0),
    "eng_months": stats.uniform(2.0, 6.0),
    "benefit": stats.norm(2000.0, 3000.0),  # $/month indirect
}


def cashflow_npv(x: dict[str, np.ndarray]) -> np.ndarray:
    t = np.arange(1, HORIZON + 1, dtype=float)[None, :]
    col = {k: np.asarray(v, dtype=float)[:, None] for k, v in x.items()}
    demand = col["demand0"] * (1.0 + col["growth"]) ** (t / 12.0)
    kappa0 = col["tau0"] * 3600.0 * col["u0"]
    kappa1 = col["tau0"] * col["gain"] * 3600.0 * col["u1"]
    hours0 = np.maximum(demand / kappa0, 2.0 * HOURS)
    hours1 = np.maximum(demand / kappa1, 2.0 * HOURS)
    price = col["p0"] * (1.0 + col["price_change"]) ** (t / 12.0)
    ramp = np.clip((t - col["impl_months"]) / 3.0, 0.0, 1.0)
    savings = ramp * (hours0 - hours1 * col["rho"]) * price
    build = col["eng_months"] * 20_000.0
    invest = np.where(
        t <= np.maximum(col["impl_months"], 1.0), build / np.maximum(col["impl_months"], 1.0), 0.0
    )
    maintenance = np.where(t > col["impl_months"], 0.15 * build / 12.0, 0.0)
    cash = savings + ramp * col["benefit"] - invest - maintenance
    discount = 1.10 ** (-t / 12.0)
    return cash @ discount.ravel()


#: Analyses timed by --project: (module, function name) -> label.
_ANALYSES = {
    ("roicast.study", "tornado"): "tornado",
    ("roicast.study", "three_point_cases"): "three-point",
    ("roicast.study", "break_even"): "break-even",
    ("roicast.study", "sobol_indices"): "Sobol",
    ("roicast.report.review", "goal_seek"): "goal seek",
    ("roicast.report.review", "spider"): "spider",
}


def project_split(example: str, draws: int, repeat: int, full: bool = True) -> dict[str, Any]:
    """CPU per project of the full sensitivity, split by analysis, with kernel rows."""
    import importlib

    from roicast.cli import demo_spec_path
    from roicast.report.summary import summary
    from roicast.spec import load_spec
    from roicast.study import forecast_for, run_study

    cpu: dict[str, float] = {}
    rows: dict[str, int] = {}
    stack: list[str] = []

    def timed(label, f):
        def g(*a, **k):
            stack.append(label)
            t = time.process_time()
            try:
                return f(*a, **k)
            finally:
                cpu[label] = cpu.get(label, 0.0) + time.process_time() - t
                stack.pop()

        return g

    for (mod, name), label in _ANALYSES.items():
        m = importlib.import_module(mod)
        setattr(m, name, timed(label, getattr(m, name)))
    for mod in ("roicast.evaluate", "roicast.report.review"):  # kernel rows by analysis
        m = importlib.import_module(mod)
        run = m._simulate_unchecked

        def counted(x, *a, _run=run, **k):
            label = stack[-1] if stack else "other"
            rows[label] = rows.get(label, 0) + x.shape[0]
            return _run(x, *a, **k)

        m._simulate_unchecked = counted
    spec = load_spec(demo_spec_path(example))
    fc = forecast_for(spec, seed=0)
    summary(run_study(spec, draws=draws, seed=0, forecast=fc, sensitivity=full, monthly=False))
    best = None
    for seed in range(1, repeat + 1):
        cpu.clear(), rows.clear()
        t = time.process_time()
        run = run_study(spec, draws=draws, seed=seed, forecast=fc, sensitivity=full, monthly=False)
        summary(run)
        total = time.process_time() - t
        if best is None or total < best["total"]:
            best = {"total": total, "cpu": dict(cpu), "rows": dict(rows)}
    import roicast

    best["roicast_file"] = roicast.__file__
    return best


def project_before(rev: str, args: argparse.Namespace) -> dict[str, Any]:
    """:func:`project_split` with roicast as of commit ``rev``, in a subprocess."""
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _at_rev import run_at_rev

    work = Path(tempfile.mkdtemp(prefix="roicast-bench-sens-"))
    argv = [str(Path(__file__).resolve()), "--project", "--json"]
    argv += ["--example", args.example, "--draws", str(args.draws), "--repeat", str(args.repeat)]
    argv += ["--tornado-only"] if args.tornado_only else []
    try:
        return run_at_rev(rev, work, argv)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def show_project(now: dict[str, Any], ref: dict[str, Any] | None, args: argparse.Namespace) -> None:
    what = "tornado only" if args.tornado_only else "full sensitivity"
    print(
        f"one project, {what}: demo {args.example!r}, {args.draws} draws, shared "
        f"forecast, run_study + summary, CPU s (best of {args.repeat})"
    )
    labels = list(_ANALYSES.values())
    head = f"  {'analysis':12s} {'now s':>8s} {'rows':>9s}"
    if ref:
        head += f" {'before s':>9s} {'rows':>9s} {'ratio':>6s}"
    print(head)

    def pick(d: dict[str, Any], label: str) -> float:
        if label == "total":
            return d["total"]
        if label == "rest":  # sampling, the main simulation, rankings, EVPPI, the summary
            return d["total"] - sum(d["cpu"].get(k, 0.0) for k in labels)
        return d["cpu"].get(label, 0.0)

    for label in [*labels, "rest", "total"]:
        a = pick(now, label)
        line = f"  {label:12s} {a:8.3f} {now['rows'].get(label, 0):9d}"
        if ref:
            b = pick(ref, label)
            line += f" {b:9.3f} {ref['rows'].get(label, 0):9d} {b / max(a, 1e-9):5.2f}×"
        print(line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--project", action="store_true", help="one project's full sensitivity split")
    ap.add_argument("--example", default="quantization", help="demo spec for --project")
    ap.add_argument("--draws", type=int, default=10_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--before", metavar="REV", help="with --project: also roicast at commit REV")
    ap.add_argument("--tornado-only", action="store_true", help="with --project: sensitivity=False")
    ap.add_argument("--json", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.project:
        full = not args.tornado_only
        if args.json:
            print(json.dumps(project_split(args.example, args.draws, args.repeat, full)))
            return
        ref = project_before(args.before, args) if args.before else None
        show_project(project_split(args.example, args.draws, args.repeat, full), ref, args)
        return
    study_sizes()
    large()


def study_sizes() -> None:
    rng = np.random.default_rng(0)
    names = [f"input{i:02d}" for i in range(N_INPUTS)]
    X = pd.DataFrame(rng.uniform(size=(N_DRAWS, N_INPUTS)), columns=names)
    X["input05"] = rng.integers(0, 5, N_DRAWS).astype(float)  # a discrete input (ties)
    y = (
        4.0 * X["input00"]
        - 2.0 * X["input01"]
        + 3.0 * (X["input02"] - 0.5) ** 2 * 4.0
        + 0.2 * X["input05"]
        + rng.normal(0.0, 1.0, N_DRAWS)
        - 2.3
    )

    print(f"roicast.sensitivity benchmark ({N_DRAWS:,} draws x {N_INPUTS} inputs)")
    t_fast, fast = best_of(lambda: rankings(X, y))
    t_naive, naive = best_of(lambda: naive_rankings(X, y), repeat=1)
    err = np.max(np.abs(fast["spearman"] - naive.loc[fast.index, "spearman"]))
    print(
        f"  rankings (spearman, contribution, decile bins, flag): {t_fast:.3f} s"
        f"   naive pandas: {t_naive:.3f} s   speed-up x{t_naive / t_fast:.1f}"
        f"   (max |Δρ| {err:.1e}; flagged: {list(fast.index[fast['nonmonotonic']])})"
    )

    k = len(CASHFLOW_INPUTS)
    n_sobol = 4096
    t_model, _ = best_of(
        lambda: cashflow_npv(
            {name: np.full(n_sobol * (k + 2), d.ppf(0.5)) for name, d in CASHFLOW_INPUTS.items()}
        )
    )
    t_sobol, res = best_of(lambda: sobol_indices(cashflow_npv, CASHFLOW_INPUTS, n_sobol, seed=0))
    top = res.to_dataframe().sort_values("ST", ascending=False).head(3)
    print(
        f"  sobol: {k} inputs, N = {n_sobol}, {res.n_evals:,} evaluations x {HORIZON} months:"
        f" {t_sobol:.3f} s (of which NumPy model ≈ {t_model:.3f} s)"
        f"   top ST: {', '.join(f'{i} {v:.2f}' for i, v in top['ST'].items())}"
    )

    t_evppi, vo = best_of(lambda: evppi(X, y))
    t_bins, _ = best_of(lambda: evppi(X, y, method="bins"))
    bins = int(np.sqrt(N_DRAWS))
    t_naive_evppi, _ = best_of(lambda: naive_evppi_bins(X, y, bins), repeat=1)
    print(
        f"  evppi: regression {t_evppi:.3f} s, bins {t_bins:.3f} s"
        f"   naive pandas bins: {t_naive_evppi:.3f} s   speed-up x{t_naive_evppi / t_bins:.1f}"
        f"   (EVPI {vo.attrs['evpi']:.3f}, top: {vo.index[0]} {vo.iloc[0]:.3f})"
    )


if __name__ == "__main__":
    main()
