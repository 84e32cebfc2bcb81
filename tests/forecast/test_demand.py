import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from roicast.errors import RoicastError
from roicast.forecast import Forecast, forecast_demand, forecast_from_growth, read_history


@pytest.fixture(scope="module")
def servegen_mid(servegen_path):
    return read_history(servegen_path, volume_column="m-mid")


@pytest.fixture(scope="module")
def servegen_forecast(servegen_mid):
    return forecast_demand(servegen_mid, horizon_months=36, n_paths=400, n_refits=8, seed=7)


def _daily(n=120, level=1000.0, noise=0.01, seed=0, start="2024-01-01"):
    rng = np.random.default_rng(seed)
    return pd.Series(
        level * np.exp(rng.normal(0, noise, n)),
        index=pd.date_range(start, periods=n, freq="D"),
        name="tokens",
    )


def test_servegen_forecast_shape_coords_and_warnings(servegen_forecast):
    fc = servegen_forecast
    assert isinstance(fc, Forecast)
    p = fc.paths
    assert p.dims == ("path", "month") and p.shape == (400, 36)
    assert p["month"].values[0] == "2025-02" and p["month"].values[-1] == "2028-01"
    assert p.dtype == np.float64 and np.all(np.isfinite(p)) and np.all(p > 0)
    assert p.attrs["unit"] == "m-mid" and p.attrs["history_freq"] == "hourly"
    assert fc.model.startswith("Bayesian average of ETS+drift") and "log daily volume" in fc.model
    assert sum(fc.info["model_weights"].values()) == pytest.approx(1.0)
    assert fc.info["trend"]["prior"] == "default" and fc.info["trend"]["dominated_by"] == "prior"
    assert any("no growth view stated" in w for w in fc.warnings)
    assert fc.extrapolation_ratio == pytest.approx(1107 / 14)
    assert any("ratio 79.1×" in w for w in fc.warnings)
    assert any("17 of 336" in w for w in fc.warnings)
    assert fc.history_monthly.index.tolist() == ["2025-01"]
    assert fc.history_monthly.attrs["partial_months"] == ["2025-01"]
    assert len(fc.history) == 336


def test_servegen_long_extrapolation_stays_sane(servegen_forecast, servegen_mid):
    """14 days extrapolated 36 months: the spread is about what the default growth
    prior implies (P90/P10 of (1+g)^(35/12), ln(1+g) ~ N(0, 0.5²): e^3.74), no e^10 blow-up."""
    p = servegen_forecast.paths
    month_now = servegen_mid.series.sum() / 14 * 30
    q = np.quantile(p.isel(month=-1), [0.1, 0.5, 0.9])
    assert np.exp(-2) < q[1] / month_now < np.exp(2)
    assert q[2] / q[0] < np.exp(2 * 1.2816 * 0.5 * 35 / 12 + 1.0)
    assert float(p.max()) < month_now * np.exp(8)


def test_rank_coordinate_is_uniform_rank_of_total(servegen_forecast):
    p = servegen_forecast.paths
    rank = p["rank"].to_numpy()
    n = p.sizes["path"]
    np.testing.assert_allclose(np.sort(rank), (np.arange(n) + 0.5) / n)
    total = p.sum("month").to_numpy()
    assert np.all(np.diff(total[np.argsort(rank)]) >= 0)


def test_same_seed_same_paths(servegen_mid):
    kw = {"horizon_months": 6, "n_paths": 100, "n_refits": 4}
    a = forecast_demand(servegen_mid, seed=3, **kw).paths
    b = forecast_demand(servegen_mid, seed=3, **kw).paths
    c = forecast_demand(servegen_mid, seed=4, **kw).paths
    np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())
    assert not np.array_equal(a.to_numpy(), c.to_numpy())
    g = forecast_demand(servegen_mid, seed=np.random.default_rng(3), **kw).paths
    assert g.shape == a.shape


def test_months_are_sums_of_days():
    """Flat 1000/day traffic: each month is ≈ 1000 × days in the month."""
    fc = forecast_demand(
        _daily(noise=0.001),
        horizon_months=3,
        start="2024-06",
        n_paths=50,
        parameter_uncertainty=False,
    )
    days = np.array([30, 31, 31])
    np.testing.assert_allclose(fc.paths.median("path").to_numpy(), 1000 * days, rtol=0.02)
    assert fc.n_refits == 0


def test_start_inside_history_is_an_error():
    with pytest.raises(RoicastError, match="start: 2024-03 begins before the history ends"):
        forecast_demand(_daily(), horizon_months=3, start="2024-03", n_paths=10)


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"horizon_months": 0}, "horizon_months"),
        ({"horizon_months": 3, "n_paths": 1}, "n_paths"),
        ({"horizon_months": 3, "seed": -1}, "seed"),
        ({"horizon_months": 3, "start": "June"}, "start: 'June'"),
    ],
)
def test_bad_arguments(kwargs, pattern):
    with pytest.raises(RoicastError, match=pattern):
        forecast_demand(_daily(), **kwargs)


def test_progress_is_reported():
    calls = []
    forecast_demand(
        _daily(60),
        horizon_months=2,
        n_paths=20,
        n_refits=5,
        progress=lambda done, total: calls.append((done, total)),
    )
    total = calls[-1][1]
    assert calls == [(i, total) for i in range(1, total + 1)]


def test_to_dict_is_json(servegen_forecast):
    d = servegen_forecast.to_dict()
    text = json.dumps(d, allow_nan=False)
    assert json.loads(text)["model"] == servegen_forecast.model
    m0 = d["monthly"][0]
    assert m0["p10"] <= m0["p50"] <= m0["p90"]
    assert set(d) >= {"model", "params", "aicc", "warnings", "monthly", "extrapolation_ratio"}


def test_growth_mode_formula():
    fc = forecast_from_growth(
        stats.uniform(100, 100), 0.5, horizon_months=24, start="2026-01", n_paths=200
    )
    p = fc.paths.to_numpy()
    t = np.arange(24)
    np.testing.assert_allclose(p / p[:, :1], np.broadcast_to(1.5 ** (t / 12), p.shape))
    # stratified draws of V0: one per stratum of U(100, 200)
    v0 = np.sort(p[:, 0])
    assert np.all(
        (v0 >= 100 + 100 * np.arange(200) / 200) & (v0 <= 100 + 100 * np.arange(1, 201) / 200)
    )
    assert fc.paths["month"].values[12] == "2027-01"


def test_growth_mode_rejects_bad_draws():
    with pytest.raises(RoicastError, match="annual_growth"):
        forecast_from_growth(100.0, stats.uniform(-2, 1), horizon_months=3, start="2026-01")
    with pytest.raises(RoicastError, match="start_volume"):
        forecast_from_growth(-5.0, 0.1, horizon_months=3, start="2026-01")


def test_demo_history_long_horizon_tails_stay_credible():
    """18 months of steady ~40 %/yr growth, 36 months ahead: with parameter
    uncertainty the month-36 tails stay within a factor 5 of the median (the
    log-uniform trend prior gave P1 0.03× and P99 11×: a few posterior draws
    with a large trend random walk, β/α ≈ 0.02, dominated the tails)."""
    from pathlib import Path

    import roicast.demo

    hist = read_history(
        Path(roicast.demo.__file__).parent / "history.csv",
        timestamp_column="date",
        volume_column="requests",
    )
    fc = forecast_demand(hist, horizon_months=36, n_paths=1000, seed=2026)
    assert "ETS(A,A,A)+drift" in fc.info["model_weights"]
    assert fc.info["trend"]["dominated_by"] == "data"
    q = np.quantile(fc.paths.isel(month=-1), [0.01, 0.1, 0.5, 0.9, 0.99])
    rel = q / q[2]
    assert rel[0] >= 0.2 and rel[4] <= 5.0, rel
    # the bulk keeps the parameter uncertainty (plug-in bands: about 0.8–1.25)
    assert rel[1] < 0.7 and rel[3] > 1.45, rel
