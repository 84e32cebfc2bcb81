"""Issue 13, quick start: the start-up shortcuts give plain xarray's / scipy's answers.

* :func:`roicast.forecast._xarray.defer_dask`: no ``dask.array`` import while no
  Dask array can exist; once Dask is loaded, Dask arrays are recognised again;
* :func:`roicast.forecast._xarray.write_netcdf_plain`: the same bytes as
  ``Dataset.to_netcdf(engine="h5netcdf")``;
* the default growth prior (``ndtri``) equals ``scipy.stats.norm.ppf`` bit for bit.
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import xarray as xr

from roicast.forecast._xarray import defer_dask, write_netcdf_plain
from roicast.forecast.averaging import DEFAULT_GROWTH_LOG_SD, N_ATOMS, growth_prior


def _fresh(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip().splitlines()[-1]


@pytest.mark.slow  # a fresh interpreter importing xarray and dask
def test_defer_dask_loads_dask_array_only_when_something_else_does():
    code = (
        "import sys\n"
        "import numpy as np, xarray as xr\n"
        "from roicast.forecast._xarray import defer_dask\n"
        "assert defer_dask()\n"
        "a = xr.DataArray(np.arange(4.0), dims='x')\n"
        "before = 'dask.array' in sys.modules\n"
        "import dask.array as da\n"
        "d = xr.DataArray(da.ones(4, chunks=2), dims='x')\n"
        "assert d.chunks == ((2, 2),), d.chunks\n"  # recognised as a Dask array
        "assert float((d + a).sum().compute()) == 10.0\n"
        "print(before, type(d.data).__module__.split('.')[0])\n"
    )
    assert _fresh(code) == "False dask"


def _dataset() -> xr.Dataset:
    rng = np.random.default_rng(4)
    months = [f"2027-{m:02d}" for m in range(1, 13)]
    return xr.Dataset(
        {
            "npv": (("option", "draw"), rng.normal(size=(2, 50))),
            "monthly": (("option", "month"), rng.normal(size=(2, 12))),
            "count": ("option", np.array([3, 4])),
        },
        coords={"option": ["a", "b"], "month": months},
        attrs={"project": "p", "seed": 7, "draws": 50},
    )


def test_plain_netcdf_writer_writes_to_netcdf_bytes(tmp_path):
    ds = _dataset()
    defer_dask()
    write_netcdf_plain(ds, tmp_path / "plain.nc")
    ds.to_netcdf(tmp_path / "xarray.nc", engine="h5netcdf")
    assert (tmp_path / "plain.nc").read_bytes() == (tmp_path / "xarray.nc").read_bytes()
    assert xr.load_dataset(tmp_path / "plain.nc", engine="h5netcdf").identical(ds)


def test_plain_netcdf_writer_refuses_what_to_netcdf_refuses(tmp_path):
    ds = _dataset()
    ds.attrs["bad"] = {"a": 1}  # a dict is not a netCDF attribute
    with pytest.raises(TypeError) as plain:
        write_netcdf_plain(ds, tmp_path / "plain.nc")
    with pytest.raises(TypeError) as ref:
        ds.to_netcdf(tmp_path / "xarray.nc", engine="h5netcdf")
    assert str(plain.value) == str(ref.value)


@pytest.mark.parametrize("n_atoms", [N_ATOMS, 1, 2, 7, 101])
def test_default_growth_prior_is_scipy_norm_ppf_bit_for_bit(n_atoms):
    from scipy import stats

    q = (np.arange(n_atoms) + 0.5) / n_atoms
    ref = np.sort(stats.norm(0.0, DEFAULT_GROWTH_LOG_SD).ppf(q)) / 12.0
    got = growth_prior(None, 12.0, n_atoms=n_atoms).mu
    np.testing.assert_array_equal(got, ref)
    assert not growth_prior(None, 12.0, n_atoms=n_atoms).stated


def _results_dataset_one_at_a_time(result) -> xr.Dataset:
    """The first part of ``results_dataset`` as it was: one variable added at a time."""
    opts = list(result.options)
    ds = xr.Dataset()
    ds["inputs"] = result.sample.values.astype("float64")
    first = result.options[opts[0]]
    for var in first.metrics.data_vars:
        ds[var] = xr.concat(
            [result.options[o].metrics[var] for o in opts], dim="option"
        ).assign_coords(option=opts)
    for var in first.monthly.data_vars:
        ds[f"monthly_{var}"] = xr.concat(
            [result.options[o].monthly[var] for o in opts], dim="option"
        ).assign_coords(option=opts)
    ds["demand_quantiles"] = result.forecast.paths.quantile(
        list(first.monthly["quantile"].values), dim="path"
    ).rename(quantile="quantile")
    return ds


@pytest.mark.slow  # a two-option study of 300 draws
def test_results_dataset_merged_once_equals_one_at_a_time(tmp_path):
    from pathlib import Path

    from roicast.report.write import results_dataset
    from roicast.spec import load_spec
    from roicast.study import run_study

    demo = Path(__file__).resolve().parents[1] / "roicast" / "demo" / "options.toml"
    result = run_study(load_spec(demo), draws=300, seed=5)
    got = results_dataset(result)
    ref = _results_dataset_one_at_a_time(result)
    names = list(ref.variables)
    assert list(got.variables)[: len(names)] == names  # same order: the same netCDF file
    # (results_dataset writes the month labels as strings at its end)
    assert got["month"].values.tolist() == ref["month"].values.astype(str).tolist()
    sub = got[list(ref.data_vars)].drop_vars("month")
    sub.attrs = {}  # (and the study's attributes)
    assert sub.identical(ref.drop_vars("month"))


def _step_buckets_per_day(ms, start, horizon):
    """``step_buckets`` as it was for daily and weekly steps: one Period per day, np.unique per step."""
    import pandas as pd

    end = start + horizon
    step_days = 1 if ms.freq == "daily" else 7
    day0 = ms.last_day + pd.Timedelta(days=1)
    n_steps = -(-(end.to_timestamp() - day0).days // step_days)
    days = pd.date_range(day0, periods=n_steps * step_days, freq="D")
    months = days.to_period("M")
    idx = np.array([(mo - start).n for mo in months]) if len(days) else np.array([], int)
    idx = np.where((idx >= 0) & (idx < horizon), idx, -1).reshape(n_steps, step_days)
    out = []
    for row in idx:
        ks, counts = np.unique(row[row >= 0], return_counts=True)
        out.append((ks, counts / step_days))
    return out


@pytest.mark.parametrize("freq", ["daily", "weekly"])
@pytest.mark.parametrize(("start", "horizon"), [("2026-03", 1), ("2026-02", 36), ("2027-11", 13)])
def test_step_buckets_from_month_ordinals_equal_per_day_periods(freq, start, horizon):
    import pandas as pd

    from roicast.forecast._calendar import ModelSeries, step_buckets

    step = "D" if freq == "daily" else "7D"
    index = pd.date_range("2024-01-03", "2026-01-20", freq=step)
    ms = ModelSeries(pd.Series(1.0, index=index), freq, 7 if freq == "daily" else 52)
    got = step_buckets(ms, pd.Period(start, "M"), horizon)
    ref = _step_buckets_per_day(ms, pd.Period(start, "M"), horizon)
    assert len(got) == len(ref)
    for (k1, w1), (k2, w2) in zip(got, ref, strict=True):
        assert k1.dtype == k2.dtype and w1.dtype == w2.dtype
        np.testing.assert_array_equal(k1, k2)
        np.testing.assert_array_equal(w1, w2)
