"""Reading and cleaning traffic history.

A history is a CSV with a timestamp column and one or more volume columns
(requests or tokens per period).  :func:`read_history` turns it into a regular
series with every missing point imputed:

* the frequency (hourly, daily, weekly, monthly) is detected from the median
  spacing of the timestamps; every timestamp must lie on that grid;
* missing timestamps, empty / NaN cells, and *dropouts* -- zeros or values
  below 1 % of the local median inside otherwise busy traffic -- are missing
  data, not zero demand.  They are imputed on the log scale from the same
  season one or two cycles away (same hour of the day for hourly data, same
  weekday for daily data, same month for monthly data), or by log-linear
  interpolation when no such neighbour exists.  The count is reported as a
  warning;
* duplicate timestamps, negative or non-numeric volumes, unparseable
  timestamps and fewer than 14 usable points are errors whose one-line message
  names the file, the line and the rule broken.

Line numbers in messages are the lines of the file (the header is line 1).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from roicast.errors import RoicastError

__all__ = ["MIN_POINTS", "HistoryData", "clean_series", "read_history"]

#: Fewest usable points a history (and the series the model is fitted on) may have.
MIN_POINTS = 14

#: A value below this fraction of its local median is a logging dropout.
DROPOUT_FRACTION = 0.01

# frequency name -> (nominal spacing, seasonal period used for imputation)
_FREQS = {
    "hourly": (pd.Timedelta(hours=1), 24),
    "daily": (pd.Timedelta(days=1), 7),
    "weekly": (pd.Timedelta(days=7), 52),
    "monthly": (pd.Timedelta(days=30.44), 12),
}


@dataclass
class HistoryData:
    """A cleaned traffic history.

    Attributes
    ----------
    series : pandas.Series
        Float volumes on a regular ``DatetimeIndex`` (no gaps, no NaN); imputed
        points are included.  For monthly data the index holds month starts.
    freq : str
        ``"hourly"``, ``"daily"``, ``"weekly"`` or ``"monthly"``.
    unit_column : str
        Name of the volume column read (the unit of the forecast).
    n_imputed : int
        Number of points that were missing (gaps, NaN, dropouts) and imputed.
    warnings : list of str
        Human-readable notes about the cleaning.
    path : pathlib.Path or None
        The file read (``None`` for an in-memory series).
    imputed : pandas.DatetimeIndex
        The timestamps of the imputed points.
    """

    series: pd.Series
    freq: str
    unit_column: str
    n_imputed: int = 0
    warnings: list[str] = field(default_factory=list)
    path: Path | None = None
    imputed: pd.DatetimeIndex = field(default_factory=lambda: pd.DatetimeIndex([]))


def _line(pos: int) -> int:
    """File line of the data row at position ``pos`` (header is line 1)."""
    return int(pos) + 2


def _parse_timestamps(raw: pd.Series) -> pd.Series:
    """Parse strings to naive timestamps (tz-aware values are converted to UTC)."""
    text = raw.astype("string").str.strip()
    try:
        parsed = pd.to_datetime(text, errors="coerce", format="mixed", utc=True)
    except (ValueError, TypeError, OverflowError):  # pragma: no cover - defensive
        return pd.Series(pd.NaT, index=raw.index)
    return parsed.dt.tz_convert(None)


def _looks_numeric(raw: pd.Series) -> pd.Series:
    text = raw.astype("string").str.strip()
    return pd.to_numeric(text, errors="coerce").notna()


def _pick_columns(
    frame: pd.DataFrame, where: str, timestamp_column: str | None, volume_column: str | None
) -> tuple[str, str]:
    columns = list(frame.columns)
    if timestamp_column is None:
        for col in columns:
            values = frame[col].dropna()
            if values.empty or _looks_numeric(values).mean() > 0.5:
                continue
            if _parse_timestamps(values).notna().mean() > 0.5:
                timestamp_column = col
                break
        else:
            # the header is not echoed: a file that is not a history may hold secrets
            raise RoicastError(
                f"{where}: line 1: none of the {len(columns)} columns parses as timestamps; "
                "a history needs a timestamp column and a volume column (name them with "
                "timestamp_column / volume_column)"
            )
    elif timestamp_column not in columns:
        raise RoicastError(
            f"{where}: line 1: no column named {timestamp_column!r} among its {len(columns)} "
            "columns (timestamp_column)"
        )
    if volume_column is None:
        numeric = [
            col
            for col in columns
            if col != timestamp_column
            and frame[col].notna().any()
            and _looks_numeric(frame[col].dropna()).mean() > 0.5
        ]
        if not numeric:
            raise RoicastError(f"{where}: no numeric volume column besides {timestamp_column!r}")
        if len(numeric) > 1:
            raise RoicastError(
                f"{where}: several volume columns ({', '.join(map(str, numeric))}); "
                "choose one with --column / volume_column"
            )
        volume_column = numeric[0]
    elif volume_column not in columns or volume_column == timestamp_column:
        raise RoicastError(
            f"{where}: line 1: no volume column named {volume_column!r} among its "
            f"{len(columns)} columns (volume_column)"
        )
    return str(timestamp_column), str(volume_column)


def read_history(
    path,
    *,
    timestamp_column: str | None = None,
    volume_column: str | None = None,
    outliers: str = "refuse",
) -> HistoryData:
    """Read a traffic history CSV into a cleaned, regular series.

    Parameters
    ----------
    path : str or os.PathLike
        CSV file with a header row.
    timestamp_column : str, optional
        Column holding the timestamps.  By default the first column whose values
        parse as dates / datetimes.  Timezone-aware stamps are converted to UTC.
    volume_column : str, optional
        Column holding the volume (requests, tokens...).  By default the only
        numeric column; if there are several, the error lists them.

    Returns
    -------
    HistoryData
        The cleaned series, its detected frequency, the number of imputed points
        and the warnings.

    Raises
    ------
    RoicastError
        If the file cannot be read, a timestamp does not parse or is duplicated
        or off the grid, a volume is negative or not a number, or fewer than
        14 usable points remain.  The message names the file, the line and the rule.

    Notes
    -----
    Missing points (absent timestamps, empty cells, zeros or values below 1 %
    of the local median inside busy traffic) are imputed on the log scale from
    the same season one or two cycles away, or by log-linear interpolation.
    """
    path = Path(path)
    where = str(path)
    if path.is_dir():
        raise RoicastError(f"{where}: is a folder; give a history file (CSV)")
    try:
        frame = pd.read_csv(path, dtype=str, skip_blank_lines=False, keep_default_na=False)
    except FileNotFoundError:
        raise RoicastError(f"{where}: file not found") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RoicastError(f"{where}: not a readable CSV ({msg})") from None
    frame = frame.replace({"": None, "NA": None, "NaN": None, "nan": None, "null": None})
    # drop entirely blank lines but keep positions (line numbers) intact
    frame = frame[frame.notna().any(axis=1)]
    if frame.empty:
        raise RoicastError(f"{where}: no data rows")
    ts_col, vol_col = _pick_columns(frame, where, timestamp_column, volume_column)

    raw_ts = frame[ts_col]
    stamps = _parse_timestamps(raw_ts.fillna(""))
    bad = stamps.isna()
    if bad.any():
        pos = bad.to_numpy().nonzero()[0][0]
        raise RoicastError(
            f"{where}: line {_line(frame.index[pos])}: column {ts_col!r} value "
            f"{raw_ts.iloc[pos]!r} is not a timestamp"
        )
    raw_vol = frame[vol_col]
    text = raw_vol.astype("string").str.strip()
    volume = pd.to_numeric(text, errors="coerce")
    non_numeric = volume.isna() & raw_vol.notna()
    if non_numeric.any():
        pos = non_numeric.to_numpy().nonzero()[0][0]
        raise RoicastError(
            f"{where}: line {_line(frame.index[pos])}: column {vol_col!r} value "
            f"{raw_vol.iloc[pos]!r} is not a number; volumes must be numeric"
        )
    volume = volume.astype(float)
    lines = np.array([_line(i) for i in frame.index])
    return clean_series(
        stamps.to_numpy(),
        volume.to_numpy(),
        where=where,
        lines=lines,
        unit_column=vol_col,
        path=path,
        outliers=outliers,
    )


def _detect_freq(stamps: pd.DatetimeIndex, where: str) -> str:
    diffs = np.diff(stamps.asi8)
    if len(diffs) == 0:
        raise RoicastError(
            f"{where}: {len(stamps)} usable point(s); at least {MIN_POINTS} are needed"
        )
    median = pd.Timedelta(int(np.median(diffs)), unit="ns")
    for name, lo, hi in (
        ("hourly", pd.Timedelta(minutes=59), pd.Timedelta(minutes=61)),
        ("daily", pd.Timedelta(hours=23), pd.Timedelta(hours=25)),
        ("weekly", pd.Timedelta(days=6.9), pd.Timedelta(days=7.1)),
        ("monthly", pd.Timedelta(days=27.5), pd.Timedelta(days=31.5)),
    ):
        if lo <= median <= hi:
            return name
    raise RoicastError(
        f"{where}: median spacing of timestamps is {median}; supported spacings are "
        "hourly, daily, weekly and monthly (resample the data first)"
    )


def _grid(stamps: pd.DatetimeIndex, freq: str) -> pd.DatetimeIndex:
    """Regular grid from the first to the last stamp (monthly: month starts)."""
    if freq == "monthly":
        periods = pd.period_range(
            stamps.min().to_period("M"), stamps.max().to_period("M"), freq="M"
        )
        return periods.to_timestamp()
    step = _FREQS[freq][0]
    return pd.date_range(stamps.min(), stamps.max(), freq=step)


def clean_series(
    stamps,
    values,
    *,
    where: str = "history",
    lines=None,
    unit_column: str = "volume",
    path: Path | None = None,
    outliers: str = "refuse",
) -> HistoryData:
    """Validate, regularize and impute a (timestamp, volume) series.

    Parameters
    ----------
    stamps : array_like of datetime64
        Timestamps (any order).
    values : array_like of float
        Volumes; NaN marks a missing value.
    where : str
        Name used in messages (the file path).
    lines : array_like of int, optional
        Line number of each point, for messages (default: position + 2).
    unit_column : str
        Name of the volume.
    path : pathlib.Path, optional
        Recorded in the result.

    Returns
    -------
    HistoryData

    Raises
    ------
    RoicastError
        On duplicate, off-grid or missing timestamps, negative or infinite
        volumes, or fewer than 14 usable points.
    """
    stamps = pd.DatetimeIndex(pd.to_datetime(np.asarray(stamps))).as_unit("ns")
    values = np.asarray(values, dtype=float)
    n = len(values)
    lines = np.arange(n) + 2 if lines is None else np.asarray(lines)
    if stamps.hasnans:
        pos = int(np.flatnonzero(stamps.isna())[0])
        raise RoicastError(f"{where}: line {lines[pos]}: timestamp is missing")
    if np.isinf(values).any():
        pos = int(np.flatnonzero(np.isinf(values))[0])
        raise RoicastError(
            f"{where}: line {lines[pos]}: column {unit_column!r} value {values[pos]} is not finite"
        )
    negative = values < 0
    if negative.any():
        pos = int(np.flatnonzero(negative)[0])
        raise RoicastError(
            f"{where}: line {lines[pos]}: column {unit_column!r} value {values[pos]:g} is "
            "negative; volumes must be ≥ 0"
        )
    dup = stamps.duplicated(keep="first")
    if dup.any():
        pos = int(np.flatnonzero(dup)[0])
        first = int(np.flatnonzero(stamps == stamps[pos])[0])
        raise RoicastError(
            f"{where}: line {lines[pos]}: timestamp {stamps[pos]} duplicates line {lines[first]}; "
            "timestamps must be unique"
        )
    order = np.argsort(stamps.asi8, kind="stable")
    stamps, values, lines = stamps[order], values[order], lines[order]
    usable = np.isfinite(values)
    if usable.sum() < MIN_POINTS:
        raise RoicastError(
            f"{where}: {int(usable.sum())} usable point(s); at least {MIN_POINTS} are needed"
        )
    freq = _detect_freq(stamps[usable], where)
    if freq == "monthly":
        keys = stamps.to_period("M")
        dup = keys.duplicated()
        if dup.any():
            pos = int(np.flatnonzero(dup)[0])
            raise RoicastError(
                f"{where}: line {lines[pos]}: month {keys[pos]} appears twice; monthly "
                "timestamps must be unique per month"
            )
        stamps = keys.to_timestamp()
    grid = _grid(stamps, freq)
    on_grid = stamps.isin(grid)
    if not on_grid.all():
        pos = int(np.flatnonzero(~on_grid)[0])
        raise RoicastError(
            f"{where}: line {lines[pos]}: timestamp {stamps[pos]} is off the {freq} grid "
            f"that starts at {grid[0]}; timestamps must be evenly spaced"
        )
    series = pd.Series(values, index=stamps).reindex(grid)
    # trim missing ends: nothing to impute from on one side
    valid = series.notna() & (series > 0)
    if not valid.any():
        raise RoicastError(f"{where}: every volume is 0 or missing")
    series = series.loc[valid.idxmax() : valid[::-1].idxmax()]
    period = _FREQS[freq][1]
    missing = series.isna().to_numpy().copy()
    gap = ~series.index.isin(stamps)
    n_gap = int(gap.sum())
    n_nan = int((missing & ~gap).sum())
    dropout = _dropouts(series.to_numpy(), period)
    n_drop = int(dropout.sum())
    missing |= dropout
    n_usable = int((~missing).sum())
    if n_usable < MIN_POINTS:
        raise RoicastError(
            f"{where}: {n_usable} usable point(s) after removing gaps and dropouts; "
            f"at least {MIN_POINTS} are needed"
        )
    zeros = (series.to_numpy() == 0) & ~missing
    if zeros.any():
        raise RoicastError(
            f"{where}: line {lines[np.flatnonzero(stamps == series.index[zeros][0])[0]]}: "
            f"volume 0 in sparse traffic; the log model needs positive volumes "
            f"(aggregate to a coarser frequency)"
        )
    warnings: list[str] = []
    series, missing = _implausible(
        series, missing, period, outliers, where, unit_column, stamps, lines, warnings
    )
    imputed = series.index[missing]
    if missing.any():
        series = pd.Series(_impute(series.to_numpy(), missing, period), index=series.index)
        parts = []
        if n_gap > 0:
            parts.append(f"{n_gap} missing timestamp(s)")
        if n_nan > 0:
            parts.append(f"{n_nan} empty value(s)")
        if n_drop > 0:
            parts.append(f"{n_drop} zero or near-zero dropout(s) in busy traffic")
        warnings.append(
            f"{where}: {int(missing.sum())} of {len(series)} {freq} points imputed as "
            f"missing data ({', '.join(parts) or 'implausible values'})"
        )
    series = series.astype(float)
    series.name = unit_column
    return HistoryData(
        series=series,
        freq=freq,
        unit_column=unit_column,
        n_imputed=int(missing.sum()),
        warnings=warnings,
        path=path,
        imputed=pd.DatetimeIndex(imputed),
    )


#: A point this many times above (or below) its local level is implausible, not a spike.
IMPLAUSIBLE_FACTOR = 50.0
OUTLIER_POLICIES = ("refuse", "keep", "clip", "impute")


def _implausible(series, missing, period, policy, where, unit_column, stamps, lines, warnings):
    """Points ``IMPLAUSIBLE_FACTOR``× away from the local level (a rolling median on the log scale).

    ``refuse`` names the first one's line and value; ``keep`` uses them;
    ``clip`` moves them to the bound; ``impute`` treats them as missing.
    Ordinary spikes (a few × the level) and launches (steps) stay well inside.
    """
    if policy not in OUTLIER_POLICIES:
        raise RoicastError(
            f"{where}: outliers: {policy!r} is not one of {', '.join(OUTLIER_POLICIES)}"
        )
    values = series.to_numpy(dtype=float)
    ok = ~missing & (values > 0)
    logv = pd.Series(np.where(ok, np.log(np.where(ok, values, 1.0)), np.nan), index=series.index)
    window = max(2 * period + 1, 7)
    level = logv.rolling(window, center=True, min_periods=1).median().to_numpy()
    dev = np.where(ok, logv.to_numpy() - level, 0.0)
    bad = np.abs(dev) > np.log(IMPLAUSIBLE_FACTOR)
    if not bad.any() or policy == "keep":
        return series, missing
    first = int(np.flatnonzero(bad)[0])
    if policy == "refuse":
        line = lines[np.flatnonzero(stamps == series.index[first])[0]]
        raise RoicastError(
            f"{where}: line {line}: column {unit_column!r} value {values[first]:g} is "
            f"{np.exp(abs(dev[first])):.3g}× {'above' if dev[first] > 0 else 'below'} the series' "
            f"local level ({np.exp(level[first]):.4g}); implausible beyond "
            f'{IMPLAUSIBLE_FACTOR:g}× (set demand.outliers = "keep", "clip" or "impute")'
        )
    if policy == "clip":
        bound = np.exp(level + np.sign(dev) * np.log(IMPLAUSIBLE_FACTOR))
        series = pd.Series(np.where(bad, bound, values), index=series.index)
    else:
        missing = missing | bad
    warnings.append(
        f"{where}: {int(bad.sum())} implausible point(s) (over {IMPLAUSIBLE_FACTOR:g}× the local "
        f"level) {'clipped' if policy == 'clip' else 'imputed'}"
    )
    return series, missing


def _dropouts(values: np.ndarray, period: int) -> np.ndarray:
    """Zeros / near-zeros below 1 % of the local median (window of two cycles)."""
    s = pd.Series(values)
    window = 2 * period + 1
    local = s.rolling(window, center=True, min_periods=1).median()
    return ((s < DROPOUT_FRACTION * local) & (local > 0)).to_numpy()


def _impute(values: np.ndarray, missing: np.ndarray, period: int) -> np.ndarray:
    """Impute missing points on the log scale.

    Each missing point takes the mean log of the points one and two seasonal
    cycles before and after it that are present; where none is, log-linear
    interpolation between the nearest present neighbours.
    """
    logs = np.full(len(values), np.nan)
    ok = ~missing
    logs[ok] = np.log(values[ok])
    filled = logs.copy()
    n = len(values)
    for i in np.flatnonzero(missing):
        cands = [
            logs[j]
            for j in (i - period, i + period, i - 2 * period, i + 2 * period)
            if 0 <= j < n and ok[j]
        ]
        if cands:
            # shift the seasonal neighbours' level to the local level
            filled[i] = np.mean(cands)
    # level adjustment / fallback: log-linear interpolation of the present points
    interp = pd.Series(logs).interpolate(method="linear", limit_direction="both").to_numpy()
    idx = np.flatnonzero(missing)
    seasonal = np.isfinite(filled[idx])
    if period > 1 and seasonal.any():
        # seasonal value + (local level - level at the seasonal neighbours), via smoothed levels
        level = pd.Series(interp).rolling(period, center=True, min_periods=1).mean().to_numpy()
        out = filled.copy()
        for i in idx[seasonal]:
            js = [
                j
                for j in (i - period, i + period, i - 2 * period, i + 2 * period)
                if 0 <= j < n and ok[j]
            ]
            out[i] = filled[i] + level[i] - np.mean(level[js])
        filled = out
    filled[idx[~seasonal]] = interp[idx[~seasonal]]
    out = np.array(values, dtype=float)
    out[idx] = np.exp(filled[idx])
    return out
