"""Backtest coverage with parameter uncertainty off vs on.

Run ``python benchmarks/backtest_coverage.py`` (a minute or two).  Prints, for
statsmodels' ``elec_equip`` (monthly; 8 origins, horizons 1–24) and the
ServeGen m-large / m-mid / m-small series (14 days, daily model; origins 8–13,
horizons 1–6), the 80 % and 95 % interval coverage over all held-out points,
and for elec_equip also the 13–24-month bucket.  Then the daily horizons on
Taylor's electricity demand (pmdarima ``load_taylor``, half-hourly June–August
2000 summed to 84 days): buckets 1–7 and 8–14 days, every day from day 28
(43 origins) and, as a second look, 12 origins from day 42 (target: 80 %
coverage 0.72–0.88).  A script, not a test; times are CPU seconds.
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


def taylor_daily():
    """Taylor's half-hourly electricity demand summed to days (84 days from 2000-06-05)."""
    import numpy as np
    import pandas as pd
    from pmdarima import datasets as pm

    t = np.asarray(pm.load_taylor(), float)
    d = t[: len(t) // 48 * 48].reshape(-1, 48).sum(axis=1)
    return pd.Series(d, index=pd.date_range("2000-06-05", periods=len(d), freq="D"), name="MWh")


def run_daily() -> None:
    s = taylor_daily()
    print(
        f"\n{'taylor daily':18s} {'origins':>12s} {'bucket':>7s} {'cov80':>6s} {'cov95':>6s} "
        f"{'snaive80':>8s} {'crps/sn':>7s} {'points':>6s}"
    )
    for min_train, k in ((28, 43), (42, 12)):
        t0 = time.process_time()
        res = backtest(s, horizons=[7, 14], n_origins=k, min_train=min_train, n_paths=400, seed=1)
        for bucket in ("1-7", "8-14", "all"):
            row = res.table.loc[bucket]
            print(
                f"{'':18s} {f'{k} from {min_train}':>12s} {bucket:>7s} {row['coverage_80']:6.3f} "
                f"{row['coverage_95']:6.3f} {row['snaive_coverage_80']:8.3f} "
                f"{row['crps_ratio']:7.3f} {int(row['n_points']):6d}"
            )
        print(f"{'':18s} ({time.process_time() - t0:.1f} CPU s)")


def main() -> None:
    print(f"{'series':18s} {'bucket':>7s} {'PU':>4s} {'cov80':>6s} {'cov95':>6s} {'points':>6s}")
    for name, hist, kw, long_bucket in series():
        for pu in (False, True):
            t0 = time.process_time()
            res = backtest(hist, n_paths=400, seed=1, parameter_uncertainty=pu, **kw)
            for bucket in ("all", long_bucket):
                if bucket is None:
                    continue
                row = res.table.loc[bucket]
                print(
                    f"{name:18s} {bucket:>7s} {'on' if pu else 'off':>4s} "
                    f"{row['coverage_80']:6.3f} {row['coverage_95']:6.3f} "
                    f"{int(row['n_points']):6d}   ({time.process_time() - t0:.1f} CPU s)"
                )
    run_daily()


if __name__ == "__main__":
    main()
