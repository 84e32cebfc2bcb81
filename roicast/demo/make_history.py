"""Generate the demo's traffic history (``history.csv``), deterministically.

The demo team serves an LLM chat product: daily requests over 18 months, growing
about 40 % a year with a weekly cycle (weekends ~25 % lower), a step up when a
new client integrated (month 9), and day-to-day noise.  Synthetic, made by
this script with a fixed seed so anybody can regenerate it:

    python -m roicast.demo.make_history > roicast/demo/history.csv
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd


def make_history(seed: int = 20261101) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    days = pd.date_range("2025-05-01", "2026-10-31", freq="D")
    t = np.arange(len(days)) / 365.25
    level = 420_000 * np.exp(np.log(1.4) * t)
    weekly = np.where(days.day_of_week >= 5, 0.75, 1.0) * (
        1 + 0.03 * np.sin(2 * np.pi * days.day_of_week / 7)
    )
    step = np.where(days >= pd.Timestamp("2026-02-01"), 1.12, 1.0)
    noise = np.exp(rng.normal(0, 0.06, len(days)))
    requests = np.round(level * weekly * step * noise).astype(np.int64)
    return pd.DataFrame({"date": days.strftime("%Y-%m-%d"), "requests": requests})


if __name__ == "__main__":
    make_history().to_csv(sys.stdout, index=False, lineterminator="\n")
