"""Issue 13, quick start: CPU seconds of validate, --help, a 10 000-draw run (split by stage), EVPPI + rankings.

Run::

    python benchmarks/bench_quick.py                 # all, against `import numpy`
    python benchmarks/bench_quick.py --before cb98bd2  # also the same figures of that commit
    python benchmarks/bench_quick.py --skip-run      # without the 10 000-draw run
    python benchmarks/bench_quick.py --skip-sensitivity

Every figure is CPU seconds (user + system), not wall time, so that a shared
machine's load matters less: the CLI commands run in a fresh interpreter and
are measured with ``resource.getrusage(RUSAGE_CHILDREN)`` (run as the
``roicast`` console script runs them), best of
``--repeat`` (3) runs; the sensitivity functions in this process with
``time.process_time``.  Each is printed beside its goal and beside references
measured in the same run:

* the CLI commands against ``python -c "import numpy"`` (the floor of any
  command: interpreter + NumPy start-up on this machine, this minute) and,
  with ``--before REV``, against the same command of commit ``REV`` (checked
  out in a temporary worktree and imported in place of this tree through the
  editable install's path mapping);
* EVPPI + rankings against the argsort path of the rankings (``FAST_RANK_N``
  set out of reach), i.e. the code before issue 13's value sort.

``roicast run`` is measured warm: it runs once untimed first (numba caches,
forecast code), then timed, on the demo spec, without a report.  Its split by
stage comes from one more run in a fresh interpreter that times (CPU) every
outermost import and the study's stage functions, imports excluded: imports;
forecast (history, fit, paths, backtest, load profiles); sampling; simulate;
sensitivity (tornado, rankings, Sobol, EVPPI ... per option); review (the
summary: goal seek, spider, break-even, verdict); writing (results dataset,
results.nc, summary.json); the rest (interpreter start, spec, CLI, printing).
The numba dispatchers that load (from the cache) are counted, with their CPU
(already inside their stage).
"""

from __future__ import annotations

import argparse
import json
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

#: (module, attribute, stage) of the functions timed in the split of a run.
STAGES = (
    ("roicast.study", "forecast_for", "forecast"),
    ("roicast.study", "demand_matrix", "forecast"),
    ("roicast.study", "_backtest", "forecast"),
    ("roicast.study", "study_profiles", "forecast"),
    ("roicast.study:ChunkedSample", "draw", "sampling"),
    ("roicast.study", "simulate_option", "simulate"),
    ("roicast.study", "analyse_option", "sensitivity"),
    ("roicast.report.write", "make_summary", "review"),
    ("roicast.report.write", "results_dataset", "writing"),
    ("roicast.report.write", "write_netcdf", "writing"),
    ("roicast.report.write", "write_json", "writing"),
)
SPLIT_ORDER = ("imports", "forecast", "sampling", "simulate", "sensitivity", "review", "writing")

# Run in the child before anything of roicast is imported: point the editable
# install's mapping (package -> folder) at another checkout of the repository.
_REROOT = """
import sys
root = {root!r}
if root:
    finder = next((m for n, m in list(sys.modules.items()) if n.startswith("__editable___roicast")), None)
    if finder is None:
        raise SystemExit("--before needs roicast installed editable (pip install -e .)")
    here = {here!r}
    finder.MAPPING.update({{k: v.replace(here, root, 1) for k, v in finder.MAPPING.items()}})
"""

# The instrumented child: CPU of outermost imports and of each stage (imports excluded).
_SPLIT = """
import importlib, importlib._bootstrap as _bs, json, resource, sys, time
_st = {{"depth": 0, "imports": 0.0}}
_find = _bs._find_and_load
def _timed_find(name, import_):
    if _st["depth"]:
        return _find(name, import_)
    _st["depth"] = 1
    t0 = time.process_time()
    try:
        return _find(name, import_)
    finally:
        _st["imports"] += time.process_time() - t0
        _st["depth"] = 0
_bs._find_and_load = _timed_find
T = {{}}
def _wrap(owner, attr, stage):
    fn = getattr(owner, attr, None)
    if fn is None:
        return
    def timed(*a, **k):
        t0, i0 = time.process_time(), _st["imports"]
        try:
            return fn(*a, **k)
        finally:
            T[stage] = T.get(stage, 0.0) + time.process_time() - t0 - (_st["imports"] - i0)
    setattr(owner, attr, timed)
import roicast.cli, roicast.study, roicast.report.write
for where, attr, stage in {stages!r}:
    mod, _, cls = where.partition(":")
    owner = importlib.import_module(mod)
    _wrap(getattr(owner, cls) if cls else owner, attr, stage)
import numba.core.dispatcher as _D
_loads = []
_compile = _D.Dispatcher.compile
def _timed_compile(self, sig):
    t0, i0 = time.process_time(), _st["imports"]
    try:
        return _compile(self, sig)
    finally:
        _loads.append(time.process_time() - t0 - (_st["imports"] - i0))
_D.Dispatcher.compile = _timed_compile
sys.argv = ["roicast", *{args!r}]
try:
    roicast.cli.main()
except SystemExit as e:
    if e.code:
        raise
ru = resource.getrusage(resource.RUSAGE_SELF)
out = {{"total": ru.ru_utime + ru.ru_stime, "imports": _st["imports"], **T,
        "numba_loads": len(_loads), "numba_load_cpu": sum(_loads)}}
print("SPLIT " + json.dumps(out), file=sys.stderr)
"""

_CLI = """
import sys
sys.argv = ["roicast", *{args!r}]
from roicast.cli import main
main()
"""


def child_cpu(args: list[str], *, stderr: list[str] | None = None) -> float:
    """CPU seconds (user + system) of ``python args`` in a fresh interpreter."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    # cwd: a folder without a roicast package, so that `-c` children import roicast
    # through the editable install's mapping (this tree, or --before's) and not from cwd
    proc = subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=tempfile.gettempdir()
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args)[:200]} failed:\n{proc.stderr[-2000:]}")
    if stderr is not None:
        stderr.append(proc.stderr)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def best_child_cpu(args: list[str], repeat: int = 3) -> float:
    """Smallest CPU seconds of ``repeat`` runs (the least disturbed by other processes)."""
    return min(child_cpu(args) for _ in range(repeat))


def best_interleaved(argsets: dict[str, list[str]], repeat: int) -> dict[str, float]:
    """Smallest CPU seconds of each command, the commands run in turn ``repeat`` times.

    Taking turns exposes every command to the same load of a shared machine.
    """
    best = {name: float("inf") for name in argsets}
    for _ in range(repeat):
        for name, args in argsets.items():
            best[name] = min(best[name], child_cpu(args))
    return best


def cli_args(root: Path | None, args: list[str]) -> list[str]:
    """Interpreter arguments running ``roicast args`` from this tree or from ``root``.

    Both run as the console script does (``from roicast.cli import main; main()``),
    so that the two trees are measured the same way.
    """
    reroot = _REROOT.format(root=str(root) if root else "", here=str(ROOT))
    return ["-c", reroot + _CLI.format(args=args)]


def split_args(root: Path | None, args: list[str]) -> list[str]:
    """Interpreter arguments of the instrumented run (see the module's docstring)."""
    reroot = _REROOT.format(root=str(root) if root else "", here=str(ROOT))
    return ["-c", reroot + _SPLIT.format(stages=STAGES, args=args)]


def run_split(root: Path | None, args: list[str]) -> dict[str, float]:
    """The split by stage of one instrumented run."""
    err: list[str] = []
    child_cpu(split_args(root, args), stderr=err)
    line = [x for x in err[-1].splitlines() if x.startswith("SPLIT ")][-1]
    return json.loads(line.removeprefix("SPLIT "))


def reference_tree(rev: str) -> Path:
    """A worktree of ``rev`` under the temporary folder (kept: its numba caches stay warm)."""
    sha = subprocess.run(
        ["git", "rev-parse", "--verify", f"{rev}^{{commit}}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    where = Path(tempfile.gettempdir()) / f"roicast-bench-quick-{sha[:12]}"
    if not (where / "roicast" / "cli.py").is_file():
        shutil.rmtree(where, ignore_errors=True)
        subprocess.run(
            ["git", "worktree", "add", "--detach", str(where), sha],
            cwd=ROOT,
            capture_output=True,
            check=True,
        )
    return where


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


def line(what: str, cpu: float, goal: float, refs: list[tuple[float, str]]) -> str:
    status = "MET" if cpu <= goal else f"MISSED by {cpu - goal:.2f} s"
    vs = "".join(f"   {cpu / ref:5.2f}× {name}" for ref, name in refs)
    return (
        f"  {what:<34} {cpu:6.2f} s CPU   goal <= {goal:4.1f} s ({cpu / goal:4.2f}× goal, "
        f"{status}){vs}"
    )


def split_line(label: str, split: dict[str, float]) -> str:
    parts = [f"{k} {split.get(k, 0.0):.2f}" for k in SPLIT_ORDER]
    rest = split["total"] - sum(split.get(k, 0.0) for k in SPLIT_ORDER)
    return (
        f"    {label:<10} total {split['total']:.2f} = " + ", ".join(parts) + f", rest {rest:.2f}"
        f"   (numba: {split['numba_loads']} dispatchers loaded, {split['numba_load_cpu']:.2f} s)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-run", action="store_true", help="skip the 10 000-draw run")
    ap.add_argument("--skip-sensitivity", action="store_true", help="skip EVPPI + rankings")
    ap.add_argument("--draws", type=int, default=1_000_000, help="draws of the sensitivity part")
    ap.add_argument("--repeat", type=int, default=3, help="runs per CLI figure (best kept)")
    ap.add_argument("--before", metavar="REV", help="also measure commit REV (e.g. cb98bd2)")
    args = ap.parse_args()

    roots: dict[str, Path | None] = {"now": None}
    if args.before:
        roots[args.before] = reference_tree(args.before)
    numpy_ref = best_child_cpu(["-c", "import numpy"], args.repeat)
    print(
        f"roicast quick start (issue 13), CPU seconds, best of {args.repeat}; "
        f"reference `import numpy`: {numpy_ref:.2f} s"
    )
    commands = {
        "help": ("roicast --help", ["--help"]),
        "validate": ("roicast validate (demo)", ["validate", str(DEMO)]),
    }
    for key, (what, cmd) in commands.items():
        t = best_interleaved({n: cli_args(root, cmd) for n, root in roots.items()}, args.repeat)
        refs = [(numpy_ref, "import numpy")]
        refs += [(t[name], name) for name in roots if name != "now"]
        print(line(what, t["now"], GOALS[key], refs))
    if not args.skip_run:
        out = Path(tempfile.mkdtemp(prefix="roicast-bench-quick-"))
        run = ["run", str(DEMO), "-n", "10000", "--no-report", "-q"]
        splits: dict[str, dict[str, float]] = {}
        try:
            for root in roots.values():
                child_cpu(cli_args(root, [*run, "-o", str(out / "warm")]))  # warm numba caches
            t_run = best_interleaved(
                {n: cli_args(root, [*run, "-o", str(out / n)]) for n, root in roots.items()},
                args.repeat,
            )
            for _ in range(2):
                for name, root in roots.items():
                    s = run_split(root, [*run, "-o", str(out / f"s-{name}")])
                    if name not in splits or s["total"] < splits[name]["total"]:
                        splits[name] = s
        finally:
            shutil.rmtree(out, ignore_errors=True)
        refs = [(numpy_ref, "import numpy")]
        refs += [(t_run[name], name) for name in roots if name != "now"]
        print(line("roicast run, 10 000 draws (warm)", t_run["now"], GOALS["run_10k"], refs))
        print("    split by stage (CPU s, one instrumented run, best total of 2):")
        for name, split in splits.items():
            print(split_line(name, split))
    if args.skip_sensitivity:
        return
    t_evppi, t_rank, t_ref, diff = sensitivity_cpu(args.draws)
    total = t_evppi + t_rank
    print(
        line(
            f"evppi + rankings, {args.draws:,} x 20",
            total,
            GOALS["sensitivity_1e6"],
            [(t_evppi + t_ref, "with argsort rankings")],
        )
    )
    print(
        f"    evppi {t_evppi:.2f} s, rankings {t_rank:.2f} s (argsort rankings {t_ref:.2f} s, "
        f"{t_ref / t_rank:.1f}× slower; max |difference| {diff:.1e})"
    )


if __name__ == "__main__":
    main()
