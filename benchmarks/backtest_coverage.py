"""Backtest coverage with parameter uncertainty off vs on.

Run ``python benchmarks/backtest_coverage.py`` (a minute or two).  Prints, for
statsmodels' ``elec_equip`` (monthly; 8 origins, horizons 1–24) and the
ServeGen m-large / m-mid / m-small series (14 days, daily model; origins 8–13,
horizons 1–6), the 80 % and 95 % interval coverage over all held-out points,
and for elec_equip also the 13–24-month bucket.  A script, not a test.
"""

from __future__ import annotations

import time
from pathlib import Path

from roicast.forecast import backtest, read_history

SERVEGEN = Path(__file__).resolve().parents[1] / "tests" / "data" / "servegen_hourly_requests.csv"


def series():
    from statsmodels.datasets import elec_equip

    yield "elec_equip", elec_equip.load().data.iloc[:, 0], {"n_origins": 8}, "13-24"
    for col in ("m-large", "m-mid", "m-small"):
        yield f"servegen {col}", read_history(SERVEGEN, volume_column=col), {}, None


def main() -> None:
    print(f"{'series':18s} {'bucket':>7s} {'PU':>4s} {'cov80':>6s} {'cov95':>6s} {'points':>6s}")
    for name, hist, kw, long_bucket in series():
        for pu in (False, True):
            t0 = time.perf_counter()
            res = backtest(hist, n_paths=400, seed=1, parameter_uncertainty=pu, **kw)
            for bucket in ("all", long_bucket):
                if bucket is None:
                    continue
                row = res.table.loc[bucket]
                print(
                    f"{name:18s} {bucket:>7s} {'on' if pu else 'off':>4s} "
                    f"{row['coverage_80']:6.3f} {row['coverage_95']:6.3f} "
                    f"{int(row['n_points']):6d}   ({time.perf_counter() - t0:.1f} s)"
                )


if __name__ == "__main__":
    main()
