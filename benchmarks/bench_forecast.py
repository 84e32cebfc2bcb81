"""Forecast-stage benchmark: fit + 10 000 paths × 36 months from a 3-year daily history.

Run ``python benchmarks/bench_forecast.py``.  Prints wall-clock seconds for
the fit and simulation without parameter uncertainty (target well under 1 s)
and with posterior parameter draws (target under 5 s).  A script, not a test.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from roicast.forecast import forecast_demand
from roicast.forecast.demand import as_history


def synthetic_daily_history(years: int = 3, seed: int = 1) -> pd.Series:
    """Daily request counts: 60 %/yr growth, weekly pattern, persistent and daily noise."""
    rng = np.random.default_rng(seed)
    n = 365 * years
    t = np.arange(n)
    weekly = np.array([0.05, 0.08, 0.07, 0.06, 0.02, -0.12, -0.16])[t % 7]
    level = np.cumsum(rng.normal(0.0, 0.01, n))
    logv = np.log(2e7) + np.log(1.6) * t / 365 + weekly + level + rng.normal(0.0, 0.05, n)
    return pd.Series(np.exp(logv), index=pd.date_range("2023-01-01", periods=n, freq="D"))


def timed(fn, repeat: int = 3) -> tuple[float, object]:
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main() -> None:
    hist = as_history(synthetic_daily_history())
    n_paths, horizon = 10_000, 36
    print(f"history: {len(hist.series)} daily points; {n_paths} paths × {horizon} months")
    t, fc = timed(
        lambda: forecast_demand(
            hist, horizon_months=horizon, n_paths=n_paths, parameter_uncertainty=False
        )
    )
    print(f"fit + simulate, no parameter uncertainty : {t:6.2f} s   ({fc.model})")
    for refits in (30, 200):
        t, fc = timed(
            lambda r=refits: forecast_demand(
                hist, horizon_months=horizon, n_paths=n_paths, n_refits=r
            ),
            repeat=2,
        )
        print(f"fit + simulate, parameter uncertainty ({refits} sets): {t:6.2f} s")
    q = fc.paths.quantile([0.1, 0.5, 0.9], dim="path")
    print(
        "month 36 P10/P50/P90 relative to month 1 median:",
        np.round(q.isel(month=-1).to_numpy() / float(q.isel(month=0)[1]), 2),
    )


if __name__ == "__main__":
    main()
