import json

import matplotlib.figure
import numpy as np
import xarray as xr
from scipy import stats

from roicast.forecast import (
    forecast_demand,
    forecast_from_growth,
    plot_fan,
    read_history,
    write_forecast,
)
from roicast.forecast.backtest import backtest


def test_write_forecast_files_roundtrip(tmp_path, servegen_path):
    h = read_history(servegen_path, volume_column="m-large")
    fc = forecast_demand(h, horizon_months=12, n_paths=100, n_refits=3)
    bt = backtest(h, n_paths=100, parameter_uncertainty=False)
    out = tmp_path / "out"
    files = write_forecast(fc, out, backtest=bt)
    assert [f.name for f in files] == ["forecast.nc", "fan.png", "forecast.json"]
    assert all(f.exists() and f.stat().st_size > 0 for f in files)
    with xr.open_dataset(out / "forecast.nc", engine="h5netcdf") as ds:
        np.testing.assert_array_equal(ds["demand"].to_numpy(), fc.paths.to_numpy())
        np.testing.assert_array_equal(ds["rank"].to_numpy(), fc.paths["rank"].to_numpy())
        assert list(ds["month"].to_numpy()) == list(fc.paths["month"].to_numpy())
        assert ds.attrs["unit"] == "m-large"
    summary = json.loads((out / "forecast.json").read_text())
    assert summary["model"] == fc.model
    assert summary["backtest"]["table"][-1]["horizon"] == "all"
    assert (out / "fan.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # no temporary directory left beside the output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_write_forecast_overwrites(tmp_path):
    fc = forecast_from_growth(
        stats.uniform(10, 5), 0.1, horizon_months=6, start="2026-01", n_paths=20
    )
    write_forecast(fc, tmp_path)
    fc2 = forecast_from_growth(50.0, 0.0, horizon_months=6, start="2026-01", n_paths=20)
    write_forecast(fc2, tmp_path)
    with xr.open_dataset(tmp_path / "forecast.nc", engine="h5netcdf") as ds:
        assert float(ds["demand"].min()) == 50.0


def test_plot_fan_returns_figure_and_uses_given_axes():
    fc = forecast_from_growth(
        stats.uniform(10, 5), 0.1, horizon_months=6, start="2026-01", n_paths=20
    )
    fig = plot_fan(fc)
    assert isinstance(fig, matplotlib.figure.Figure)
    ax = fig.axes[0]
    assert len(ax.collections) == 2  # the two bands
    fig2 = matplotlib.figure.Figure()
    ax2 = fig2.add_subplot()
    assert plot_fan(fc, ax=ax2) is fig2
