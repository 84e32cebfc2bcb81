"""Cost of deriving a combining option from its parts, against references measured in the same run.

1. ``sample_inputs`` of the options demo (fp8, batching, both = fp8 + batching
   derived per draw) against the same spec with ``both`` an ordinary option
   (its ``combines`` removed: no derivation).
2. The evaluator matrix of ``both`` at Sobol size (``n·(k + 2)`` rows) with the
   per-row re-derivation (:func:`roicast.sampling.option_evaluator`) against
   the plain :class:`roicast.evaluate.ModelEvaluator`.

CPU seconds (``time.process_time``), best of ``--repeat``; prints the ratios.

    python benchmarks/bench_combines.py [--draws 100000] [--sobol-n 1024] [--repeat 3]
"""

from __future__ import annotations

import argparse
import time
import tomllib

import numpy as np

from roicast.cli import demo_spec_path
from roicast.evaluate import ModelEvaluator
from roicast.sampling import base_point, option_evaluator, sample_inputs
from roicast.spec import spec_from_dict


def _cpu(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.process_time()
        fn()
        best = min(best, time.process_time() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--draws", type=int, default=100_000)
    ap.add_argument("--sobol-n", type=int, default=1024)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    path = demo_spec_path("options")
    raw = tomllib.loads(path.read_text())
    combined = spec_from_dict(raw, base_dir=path.parent)
    plain_raw = dict(raw, option=[dict(o) for o in raw["option"]])
    plain_raw["option"][2].pop("combines")
    plain = spec_from_dict(plain_raw, base_dir=path.parent)

    sample_inputs(combined, 1000, n_paths=1000, seed=1)  # compile the inverse CDFs
    t_ref = _cpu(lambda: sample_inputs(plain, args.draws, n_paths=1000, seed=1), args.repeat)
    t_new = _cpu(lambda: sample_inputs(combined, args.draws, n_paths=1000, seed=1), args.repeat)
    print(f"sample_inputs, {args.draws:,} draws, 3 options")
    print(f"  no derivation (reference)  {t_ref:8.3f} s CPU")
    print(f"  'both' derived per draw    {t_new:8.3f} s CPU   ratio {t_new / t_ref:5.2f}")

    smp = sample_inputs(combined, 2000, n_paths=1000, seed=1)
    dists = smp.distributions["both"]
    free = smp.free_inputs("both")
    rows = args.sobol_n * (len(free) + 2)
    rng = np.random.default_rng(0)
    a, b = rng.random((args.sobol_n, len(free))), rng.random((args.sobol_n, len(free)))
    settings = {
        f: dists[f].ppf(np.resize(np.concatenate([a[:, i], b[:, i]]), rows))
        for i, f in enumerate(free)
    }
    kw = dict(n_noise=1, seed=0, price_seed=0, discount=0.1, horizon=36)
    demand = np.ones((10, 36))
    ref = ModelEvaluator(demand, base_point(dists), smp.ties["both"], **kw)
    new = option_evaluator(smp, "both", demand, **kw)
    t_ref = _cpu(lambda: ref._matrix(settings), args.repeat)
    t_new = _cpu(lambda: new._matrix(settings), args.repeat)
    print(f"evaluator matrix of 'both', {rows:,} rows (Sobol n = {args.sobol_n}, k = {len(free)})")
    print(f"  plain ModelEvaluator (reference)  {t_ref:8.3f} s CPU")
    print(f"  with per-row re-derivation        {t_new:8.3f} s CPU   ratio {t_new / t_ref:6.1f}")


if __name__ == "__main__":
    main()
