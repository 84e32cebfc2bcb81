"""Evaluations per second of roicast._fastppf against scipy, in the same run.

    python benchmarks/bench_ppf.py [--n 1000000 10000000] [--repeat 3]

For each kind: scipy's ``ppf`` (the path of ``roicast.distributions`` today)
and ``ppf_into`` on the same uniforms, best of ``--repeat`` runs, numba's
default thread count.  Prints M evaluations/s and the speed-up; the beta
tables are built (and cached) before timing, their build time is printed
separately.  Also checks that both agree (max abs difference).
"""

from __future__ import annotations

import argparse
import math
import time

import numba as nb
import numpy as np

from roicast import _fastppf as F
from roicast.distributions import (
    Beta,
    Lognormal,
    Metalog,
    Normal,
    Pert,
    Triangular,
    TruncNormal,
    Uniform,
)

CASES = [
    ("pert", (1.5, 2.2, 3.0, 4.0), Pert(1.5, 2.2, 3.0, 4.0)),
    ("beta", (2.5, 30.0, 0.0, 1.0), Beta(2.5, 30.0)),
    ("truncnormal", (0.1, 0.05, 0.0, math.inf), TruncNormal(0.1, 0.05, 0.0, math.inf)),
    ("truncnormal", (0.0, 1.0, 2.5, 6.0), TruncNormal(0.0, 1.0, 2.5, 6.0)),
    ("metalog", (0.25, 0.35, 0.5, 0.0, 1.0), Metalog(0.25, 0.35, 0.5, 0.0, 1.0)),
    ("metalog", (1.0, 2.0, 4.0, None, None), Metalog(1.0, 2.0, 4.0)),
    ("normal", (3.0, 0.5), Normal(3.0, 0.5)),
    ("lognormal", (100.0, 0.6), Lognormal(100.0, 0.6)),
    ("triangular", (1.0, 2.0, 4.0), Triangular(1.0, 2.0, 4.0)),
    ("uniform", (0.2, 0.9), Uniform(0.2, 0.9)),
]


def _best(fn, repeat: int) -> float:
    best = math.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, nargs="+", default=[1_000_000, 10_000_000])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    print(f"numba threads: {nb.get_num_threads()}")
    warm = np.linspace(0.0, 1.0, 101)
    for kind, params, _ in CASES:  # compile (cached) and build beta tables
        t0 = time.perf_counter()
        F.ppf(kind, params, warm)
        if kind in ("pert", "beta"):
            print(f"{kind} {params}: first call incl. table build {time.perf_counter() - t0:.3f} s")

    for n in args.n:
        q = np.random.default_rng(1).random(n)
        q = np.clip(q, 1e-9, 1 - 1e-9)  # as the sampler does
        out = np.zeros(n)
        print(f"\nn = {n:,}")
        print(
            f"{'kind':<12} {'params':<32} {'scipy M/s':>10} {'fast M/s':>10} {'ratio':>7} {'max|diff|':>10}"
        )
        for kind, params, dist in CASES:
            t_ref = _best(lambda d=dist, q=q: d.ppf(q), max(1, args.repeat - 1))
            t_new = _best(lambda k=kind, p=params, q=q, o=out: F.ppf_into(k, p, q, o), args.repeat)
            ref = dist.ppf(q[:200_000])
            diff = float(np.max(np.abs(out[:200_000] - ref)))
            print(
                f"{kind:<12} {params!s:<32} {n / t_ref / 1e6:>10.2f} {n / t_new / 1e6:>10.2f}"
                f" {t_ref / t_new:>7.1f} {diff:>10.1e}"
            )


if __name__ == "__main__":
    main()
