"""Model frequency and calendar months.

* Sub-daily (hourly) history is added up into days for the long-horizon
  model; a first or last day not fully covered by the hourly grid is dropped.
* Daily, weekly and monthly history is modelled at its own frequency.
  A weekly point is the volume of the 7 days starting at its timestamp; a
  monthly point is the volume of the calendar month containing it.
* Simulated steps are added up into calendar months: a day belongs to one
  month; a week is split across months in proportion to its days.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from roicast.errors import RoicastError
from roicast.forecast._history import MIN_POINTS, HistoryData

__all__ = [
    "MAX_FIT_POINTS",
    "ModelSeries",
    "history_monthly",
    "model_series",
    "parse_start",
    "step_buckets",
]

_PERIOD = {"daily": 7, "weekly": 52, "monthly": 12}

#: Most recent points the model is fitted on (4 years daily, 6 years weekly,
#: 20 years monthly): older traffic says little about the next years, and
#: fitting ETS with 52 weekly seasonal states on decades of data is slow.
MAX_FIT_POINTS = {"daily": 1461, "weekly": 312, "monthly": 240}


@dataclass
class ModelSeries:
    """The series the ETS model is fitted on."""

    series: pd.Series  # volumes at model frequency, index = step start
    freq: str  # "daily", "weekly", "monthly"
    period: int  # seasonal period of that frequency
    notes: list[str] = field(default_factory=list)

    @property
    def fit_series(self) -> pd.Series:
        """The most recent ``MAX_FIT_POINTS[freq]`` points, which the model is fitted on."""
        return self.series.iloc[-MAX_FIT_POINTS[self.freq] :]

    @property
    def last_day(self) -> pd.Timestamp:
        """Last calendar day covered by the series."""
        last = self.series.index[-1]
        if self.freq == "daily":
            return last.normalize()
        if self.freq == "weekly":
            return last.normalize() + pd.Timedelta(days=6)
        return (last.to_period("M") + 1).to_timestamp() - pd.Timedelta(days=1)


def model_series(history: HistoryData, where: str = "history") -> ModelSeries:
    """Bring a cleaned history to the model frequency (hourly → daily sums)."""
    s = history.series
    notes: list[str] = []
    if history.freq == "hourly":
        counts = s.groupby(s.index.normalize()).size()
        sums = s.groupby(s.index.normalize()).sum()
        full = counts == 24
        dropped = int((~full).sum())
        sums = sums[full]
        # keep only the contiguous run between first and last full day
        if dropped:
            notes.append(f"{dropped} partial day(s) at the ends of the hourly history dropped")
        s = sums.astype(float)
        freq = "daily"
    else:
        freq = history.freq
    if len(s) < MIN_POINTS:
        raise RoicastError(
            f"{where}: {len(s)} {freq} point(s) after aggregation; at least {MIN_POINTS} "
            "are needed to fit the model"
        )
    if len(s) > MAX_FIT_POINTS[freq]:
        notes.append(f"model fitted on the last {MAX_FIT_POINTS[freq]} of {len(s)} {freq} points")
    return ModelSeries(series=s, freq=freq, period=_PERIOD[freq], notes=notes)


def parse_start(start, default: pd.Period) -> pd.Period:
    """``"2026-01"``, a Period or ``None`` (→ ``default``) as a monthly Period."""
    if start is None:
        return default
    if isinstance(start, str) and not re.fullmatch(r"\d{4}-\d{2}", start.strip()):
        raise RoicastError(f"start: {start!r} is not a month such as '2026-01'")
    try:
        return pd.Period(start, freq="M")
    except (ValueError, TypeError):
        raise RoicastError(f"start: {start!r} is not a month such as '2026-01'") from None


def month_labels(start: pd.Period, horizon: int) -> list[str]:
    """``["YYYY-MM", ...]`` for ``horizon`` months from ``start``."""
    return [str(start + i) for i in range(horizon)]


def step_buckets(
    ms: ModelSeries, start: pd.Period, horizon: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Which study month(s) each future model step falls in.

    Steps run from just after the history to the end of the study's last
    month; steps before the study starts get no bucket (they are simulated,
    not counted).
    """
    first_day = start.to_timestamp()
    if first_day <= ms.last_day:
        raise RoicastError(
            f"start: {start} begins before the history ends ({ms.last_day.date()}); "
            "the study must start after the history"
        )
    end = start + horizon  # exclusive
    out: list[tuple[np.ndarray, np.ndarray]] = []
    if ms.freq == "monthly":
        last = ms.series.index[-1].to_period("M")
        n_steps = (end - last).n - 1
        for h in range(1, n_steps + 1):
            j = (last + h - start).n
            out.append(
                (np.array([j]), np.array([1.0])) if j >= 0 else (np.array([], int), np.array([]))
            )
        return out
    step_days = 1 if ms.freq == "daily" else 7
    day0 = ms.last_day + pd.Timedelta(days=1)
    end_day = end.to_timestamp()
    n_steps = -(-(end_day - day0).days // step_days)
    days = pd.date_range(day0, periods=n_steps * step_days, freq="D")
    months = days.to_period("M")
    # month ordinals: (mo - start).n of every day, without a Period object per day
    idx = np.asarray(months.asi8, dtype=np.int64) - np.int64(start.ordinal)
    idx = np.where((idx >= 0) & (idx < horizon), idx, -1).reshape(n_steps, step_days)
    if step_days == 1:  # one day a step: its month, whole (what np.unique would give)
        for row in idx:
            ks = row[row >= 0].copy()
            out.append((ks, np.ones(ks.size, dtype=np.int64) / step_days))
        return out
    for row in idx:
        ks, counts = np.unique(row[row >= 0], return_counts=True)
        out.append((ks, counts / step_days))
    return out


def history_monthly(ms: ModelSeries) -> pd.Series:
    """History added up into calendar months.

    A month only partly covered by the history is scaled to a full month
    (mean daily volume × days in the month); those months are listed in
    ``result.attrs["partial_months"]``.  Index: ``"YYYY-MM"`` strings.
    """
    s = ms.series
    if ms.freq == "monthly":
        out = pd.Series(s.to_numpy(), index=[str(p) for p in s.index.to_period("M")])
        out.attrs["partial_months"] = []
        return out
    if ms.freq == "weekly":
        days = pd.date_range(s.index[0], ms.last_day, freq="D")
        daily = pd.Series(np.repeat(s.to_numpy() / 7.0, 7)[: len(days)], index=days)
        daily = daily.reindex(days)
    else:
        daily = s
    months = daily.index.to_period("M")
    sums = daily.groupby(months).sum()
    covered = daily.groupby(months).size()
    full = np.array([p.days_in_month for p in sums.index])
    scaled = sums * full / covered.to_numpy()
    out = pd.Series(scaled.to_numpy(), index=[str(p) for p in sums.index])
    out.attrs["partial_months"] = [
        str(p) for p, c, f in zip(sums.index, covered, full, strict=True) if c < f
    ]
    return out
