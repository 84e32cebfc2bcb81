import numpy as np
import pandas as pd
import pytest

from roicast.errors import RoicastError
from roicast.forecast import HistoryData, read_history


def _hourly_csv(n=48, start="2025-01-06", value=1000.0):
    stamps = pd.date_range(start, periods=n, freq="h")
    rows = [f"{t:%Y-%m-%dT%H:%M},{value + (i % 24) * 10:g}" for i, t in enumerate(stamps)]
    return "timestamp,requests\n" + "\n".join(rows) + "\n"


@pytest.mark.parametrize(("column", "n_imputed"), [("m-large", 0), ("m-mid", 17), ("m-small", 1)])
def test_servegen_reads_and_imputes_dropouts(servegen_path, column, n_imputed):
    h = read_history(servegen_path, volume_column=column)
    assert isinstance(h, HistoryData)
    assert h.freq == "hourly"
    assert h.unit_column == column
    assert len(h.series) == 336
    assert h.n_imputed == n_imputed == len(h.imputed)
    assert np.all(np.isfinite(h.series)) and np.all(h.series > 0)
    raw = pd.read_csv(servegen_path, index_col=0, parse_dates=True)[column]
    if n_imputed:
        assert any(f"{n_imputed} of 336" in w for w in h.warnings)
        # the zero hours are among the imputed points and now look like their neighbours
        zeros = raw.index[raw == 0]
        assert set(zeros) <= set(h.imputed)
        assert h.series[zeros].min() > 0.2 * raw.median()
    else:
        assert h.warnings == []
    # untouched points keep their values
    keep = ~h.series.index.isin(h.imputed)
    np.testing.assert_array_equal(h.series[keep].to_numpy(), raw[keep].to_numpy())


def test_several_volume_columns_is_an_error_listing_them(servegen_path):
    with pytest.raises(RoicastError, match=r"several volume columns \(m-large, m-mid, m-small\)"):
        read_history(servegen_path)


def test_unknown_column(servegen_path):
    with pytest.raises(RoicastError, match="no volume column named 'tokens'"):
        read_history(servegen_path, volume_column="tokens")


def test_single_numeric_column_is_picked(write_csv):
    h = read_history(write_csv(_hourly_csv()))
    assert h.unit_column == "requests" and h.freq == "hourly" and h.n_imputed == 0


def test_gap_nan_and_zero_are_imputed_and_counted(write_csv):
    text = _hourly_csv(72).splitlines()
    text[5] = text[5].split(",")[0] + ","  # empty value, line 6
    text[10] = text[10].split(",")[0] + ",0"  # isolated zero in busy traffic
    del text[20]  # missing timestamp
    h = read_history(write_csv("\n".join(text) + "\n"))
    assert h.n_imputed == 3
    assert len(h.series) == 72
    assert "1 missing timestamp(s)" in h.warnings[0]
    assert "1 empty value(s)" in h.warnings[0]
    assert "1 zero or near-zero dropout(s)" in h.warnings[0]
    # imputed from the same hour one day away: (i % 24) pattern is preserved
    assert h.series.iloc[4] == pytest.approx(1000 + 4 * 10, rel=0.05)


@pytest.mark.parametrize(
    ("edit", "pattern"),
    [
        (lambda t: t.__setitem__(4, t[3]), r"line 5: timestamp .* duplicates line 4"),
        (lambda t: t.__setitem__(7, t[7].split(",")[0] + ",-3"), r"line 8: .*negative"),
        (
            lambda t: t.__setitem__(9, t[9].split(",")[0] + ",12abc"),
            r"line 10: .*'12abc' is not a number",
        ),
        (
            lambda t: t.__setitem__(12, "yesterday," + t[12].split(",")[1]),
            r"line 13: .*'yesterday' is not a timestamp",
        ),
        (
            lambda t: t.__setitem__(6, "2025-01-06T04:30," + t[6].split(",")[1]),
            r"line 7: .*off the hourly grid",
        ),
    ],
)
def test_bad_rows_name_file_line_and_rule(write_csv, edit, pattern):
    text = _hourly_csv(30).splitlines()
    edit(text)
    path = write_csv("\n".join(text) + "\n")
    with pytest.raises(RoicastError, match=pattern) as info:
        read_history(path)
    assert str(path) in str(info.value)
    assert "\n" not in str(info.value)


def test_too_few_points(write_csv):
    with pytest.raises(RoicastError, match=r"13 usable point\(s\); at least 14"):
        read_history(write_csv(_hourly_csv(13)))


def test_missing_file(tmp_path):
    with pytest.raises(RoicastError, match="file not found"):
        read_history(tmp_path / "nope.csv")


@pytest.mark.parametrize(("freq", "name"), [("D", "daily"), ("7D", "weekly"), ("MS", "monthly")])
def test_frequency_detection(write_csv, freq, name):
    stamps = pd.date_range("2020-01-01", periods=30, freq=freq)
    text = "day,x\n" + "\n".join(f"{t.date()},{100 + i}" for i, t in enumerate(stamps)) + "\n"
    h = read_history(write_csv(text))
    assert h.freq == name and len(h.series) == 30


def test_monthly_end_of_month_stamps_map_to_months(write_csv):
    stamps = pd.date_range("2020-01-31", periods=20, freq="ME")
    text = "month,units\n" + "\n".join(f"{t.date()},{50 + i}" for i, t in enumerate(stamps)) + "\n"
    h = read_history(write_csv(text))
    assert h.freq == "monthly"
    assert h.series.index[0] == pd.Timestamp("2020-01-01")
