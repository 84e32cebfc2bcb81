"""Issue 13, quick start: CPU seconds of validate, --help, a 10 000-draw run, and EVPPI + rankings at 10^6.

Run::

    python benchmarks/bench_quick.py            # all four
    python benchmarks/bench_quick.py --skip-run # without the 10 000-draw run

Every figure is CPU seconds (user + system), not wall time, so that a shared
machine's load matters less: the CLI commands run in a fresh interpreter and
are measured with ``resource.getrusage(RUSAGE_CHILDREN)``; the sensitivity
functions in this process with ``time.process_time``.  Each is printed beside
its goal and beside a reference measured in the same run:

* the CLI commands against ``python -c "import numpy"`` (the floor of any
  command: interpreter + NumPy start-up on this machine, this minute);
* EVPPI + rankings against the argsort path of the rankings (``FAST_RANK_N``
  set out of reach), i.e. the code before issue 13's value sort.

``roicast run`` is measured warm: it runs once untimed first (numba caches,
forecast code), then timed, on the demo spec, without a report.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "roicast" / "demo" / "quantization.toml"

GOALS = {"validate": 1.0, "help": 0.5, "run_10k": 3.0, "sensitivity_1e6": 2.0}


def child_cpu(args: list[str]) -> float:
    """CPU seconds (user + system) of ``python args`` in a fresh interpreter."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=ROOT)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)} failed:\n{proc.stderr[-2000:]}")
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def best_child_cpu(args: list[str], repeat: int = 3) -> float:
    """Smallest CPU seconds of ``repeat`` runs (the least disturbed by other processes)."""
    return min(child_cpu(args) for _ in range(repeat))


def sensitivity_cpu(n: int = 1_000_000, k: int = 20) -> tuple[float, float, float, float]:
    """CPU seconds of EVPPI and of rankings at ``n`` draws x ``k`` inputs, and the argsort rankings."""
    import roicast.sensitivity._common as common
    from roicast.sensitivity import evppi, rankings

    rankings_module = sys.modules["roicast.sensitivity.rankings"]
    rng = np.random.default_rng(1)
    names = [f"input{i:02d}" for i in range(k)]
    X = pd.DataFrame(rng.uniform(size=(n, k)), columns=names)
    y = 4.0 * X["input00"] - 2.0 * X["input01"] + 12.0 * (X["input02"] - 0.5) ** 2
    y = y + rng.normal(0.0, 1.0, n) - 2.3
    evppi(X.iloc[:300_000], y.iloc[:300_000])  # load the numba kernels from their cache
    rankings(X.iloc[:100_000], y.iloc[:100_000])

    def cpu(fn):
        t0 = time.process_time()
        out = fn()
        return time.process_time() - t0, out

    t_evppi, _ = cpu(lambda: evppi(X, y))
    t_rank, fast = cpu(lambda: rankings(X, y))
    saved = rankings_module.FAST_RANK_N, common.FAST_RANK_N
    rankings_module.FAST_RANK_N = common.FAST_RANK_N = 10**15
    try:
        t_ref, ref = cpu(lambda: rankings(X, y))
    finally:
        rankings_module.FAST_RANK_N, common.FAST_RANK_N = saved
    num = fast.select_dtypes("number").columns
    diff = float(np.nanmax(np.abs(fast[num].to_numpy() - ref.loc[fast.index, num].to_numpy())))
    return t_evppi, t_rank, t_ref, diff


def line(what: str, cpu: float, goal: float, ref: float, ref_name: str) -> str:
    status = "MET" if cpu <= goal else f"MISSED by {cpu - goal:.2f} s"
    return (
        f"  {what:<34} {cpu:6.2f} s CPU   goal <= {goal:4.1f} s ({cpu / goal:4.2f}× goal, {status})"
        f"   {cpu / ref:5.2f}× {ref_name}"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-run", action="store_true", help="skip the 10 000-draw run")
    ap.add_argument("--draws", type=int, default=1_000_000, help="draws of the sensitivity part")
    args = ap.parse_args()

    numpy_ref = best_child_cpu(["-c", "import numpy"])
    print(
        f"roicast quick start (issue 13), CPU seconds; reference `import numpy`: {numpy_ref:.2f} s"
    )
    t_help = best_child_cpu(["-m", "roicast", "--help"])
    print(line("roicast --help", t_help, GOALS["help"], numpy_ref, "import numpy"))
    t_val = best_child_cpu(["-m", "roicast", "validate", str(DEMO)])
    print(line("roicast validate (demo)", t_val, GOALS["validate"], numpy_ref, "import numpy"))
    if not args.skip_run:
        out = Path(tempfile.mkdtemp(prefix="roicast-bench-quick-"))
        try:
            cmd = ["-m", "roicast", "run", str(DEMO), "-n", "10000", "--no-report", "-q"]
            child_cpu([*cmd, "-o", str(out / "warm")])  # warm the numba caches
            t_run = min(child_cpu([*cmd, "-o", str(out / f"r{i}")]) for i in range(2))
        finally:
            shutil.rmtree(out, ignore_errors=True)
        print(
            line(
                "roicast run, 10 000 draws (warm)",
                t_run,
                GOALS["run_10k"],
                numpy_ref,
                "import numpy",
            )
        )
    t_evppi, t_rank, t_ref, diff = sensitivity_cpu(args.draws)
    total = t_evppi + t_rank
    print(
        line(
            f"evppi + rankings, {args.draws:,} x 20",
            total,
            GOALS["sensitivity_1e6"],
            t_evppi + t_ref,
            "with argsort rankings",
        )
    )
    print(
        f"    evppi {t_evppi:.2f} s, rankings {t_rank:.2f} s (argsort rankings {t_ref:.2f} s, "
        f"{t_ref / t_rank:.1f}× slower; max |difference| {diff:.1e})"
    )


if __name__ == "__main__":
    main()
