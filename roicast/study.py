"""Run a study: forecast → sample → simulate → sensitivity → summary.

:func:`run_study` wires the stages together for one spec and returns a
:class:`StudyResult` holding labelled data; :mod:`roicast.report` writes it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from roicast.errors import RoicastError
from roicast.forecast import Forecast, forecast_demand, forecast_from_growth, read_history
from roicast.sampling import Sample, base_point, expand_point, sample_inputs
from roicast.sensitivity import tornado
from roicast.simulate import INPUT_NAMES, METRIC_NAMES, SERIES_NAMES, simulate_arrays
from roicast.spec import Spec

__all__ = ["QUANTILES", "OptionResult", "StudyResult", "forecast_for", "run_study", "summarize_distribution"]

#: Quantiles kept of every monthly series.
QUANTILES = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
#: Outputs the tornado reports.
TORNADO_OUTPUTS = ("npv", "roi", "payback_months")

Progress = Callable[[str, int, int], None]


@dataclass
class OptionResult:
    """Results of one option of a study."""

    name: str
    metrics: xr.Dataset  # per-draw metrics over `draw`
    monthly: xr.Dataset  # quantiles of each monthly series over (quantile, month)
    tornado: dict[str, pd.DataFrame]
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass
class StudyResult:
    """Everything a study computed, labelled."""

    spec: Spec
    forecast: Forecast
    sample: Sample
    options: dict[str, OptionResult]
    draws: int
    seed: int
    timings: dict[str, float]
    demand_sorted: np.ndarray = field(repr=False, default_factory=lambda: np.empty((0, 0)))

    @property
    def horizon(self) -> int:
        return self.spec.project.horizon_months


def summarize_distribution(x: np.ndarray) -> dict[str, float | None]:
    """Mean, P10, P50, P90, sd and Monte Carlo standard error of the mean of finite draws."""
    x = np.asarray(x, dtype=float)
    finite = x[np.isfinite(x)]
    if finite.size == 0:
        return {"mean": None, "p10": None, "p50": None, "p90": None, "sd": None, "se_mean": None}
    q = (
        np.quantile(x, [0.1, 0.5, 0.9])
        if np.isfinite(x).all()
        else _quantiles_with_inf(x, [0.1, 0.5, 0.9])
    )
    sd = float(finite.std(ddof=1)) if finite.size > 1 else 0.0
    return {
        "mean": float(finite.mean()),
        "p10": _num(q[0]),
        "p50": _num(q[1]),
        "p90": _num(q[2]),
        "sd": sd,
        "se_mean": sd / math.sqrt(finite.size),
    }


def _num(v: float) -> float | None:
    return float(v) if np.isfinite(v) else None


def _quantiles_with_inf(x: np.ndarray, qs: list[float]) -> np.ndarray:
    s = np.sort(np.where(np.isnan(x), np.inf, x))
    n = s.size
    return np.array([s[min(n - 1, math.ceil(q * n) - 1)] for q in qs])


def forecast_for(spec: Spec, *, seed: int, progress: Progress | None = None) -> Forecast:
    """The demand forecast of a spec's ``[demand]`` section (seeded from ``seed``)."""
    d = spec.demand
    rng = np.random.default_rng([seed, 2])
    launches = [(launch.month, launch.factor) for launch in d.launches]
    cb = (lambda done, total: progress("forecast", done, total)) if progress else None
    if d.history is not None:
        hist = read_history(
            spec.history_path(), timestamp_column=d.timestamp_column, volume_column=d.volume_column
        )
        return forecast_demand(
            hist,
            horizon_months=spec.project.horizon_months,
            start=spec.project.start,
            n_paths=d.paths,
            seed=rng,
            parameter_uncertainty=d.parameter_uncertainty,
            growth=d.growth,
            launches=launches,
            progress=cb,
        )
    start = spec.project.start or (pd.Timestamp.today().to_period("M") + 1).strftime("%Y-%m")
    return forecast_from_growth(
        d.start_volume,
        d.annual_growth,
        horizon_months=spec.project.horizon_months,
        start=start,
        n_paths=d.paths,
        seed=rng,
        growth=d.growth,
        launches=launches,
    )


def _tornado_func(
    demand: np.ndarray,
    ties: Mapping[str, str],
    *,
    n: int,
    seed: int,
    price_seed: int,
    discount: float,
    horizon: int,
):
    def func(point: Mapping[str, float]) -> dict[str, float]:
        point = expand_point(point, ties)
        row = np.array([point[name] for name in INPUT_NAMES], dtype=float)
        x = np.ascontiguousarray(np.broadcast_to(row, (n, row.size)))
        m, _ = simulate_arrays(
            x, demand, seed=seed, discount_rate=discount, monthly=False, price_seed=price_seed
        )
        pb = np.minimum(m[:, METRIC_NAMES.index("payback_months")], horizon)
        return {
            "npv": float(m[:, METRIC_NAMES.index("npv")].mean()),
            "roi": float(np.nanmean(m[:, METRIC_NAMES.index("roi")])),
            "payback_months": float(np.median(pb)),
        }

    return func


def run_study(
    spec: Spec,
    *,
    draws: int | None = None,
    seed: int | None = None,
    progress: Progress | None = None,
    price_seed: int | None = None,
    forecast: Forecast | None = None,
) -> StudyResult:
    """Run the whole study of ``spec``.

    Parameters
    ----------
    spec : Spec
        A validated spec (:func:`roicast.spec.load_spec`).
    draws, seed : int, optional
        Override ``[simulation] draws`` / ``seed``.
    progress : callable, optional
        ``progress(stage, done, total)`` called as the study advances.
    price_seed : int, optional
        Seed of the GPU price shocks alone (default: the study seed).  A batch
        gives all its projects the same one, so that draw ``i`` of every
        project sees the same price path (a shared market).
    forecast : Forecast, optional
        Demand paths computed beforehand (e.g. one forecast shared by the
        projects of a batch that serve the same traffic); default: forecast
        from the spec's ``[demand]``.

    Returns
    -------
    StudyResult
    """
    sim = spec.simulation
    n = int(draws if draws is not None else sim.draws)
    seed = int(seed if seed is not None else sim.seed)
    if n < 100:
        raise RoicastError(f"draws: {n} is too few; use at least 100")
    if not 0 <= seed < 2**63:
        raise RoicastError(f"seed: {seed} must be in 0 .. 2**63 - 1")
    timings: dict[str, float] = {}
    horizon = spec.project.horizon_months
    discount = spec.project.discount_rate

    t0 = time.perf_counter()
    fc = forecast if forecast is not None else forecast_for(spec, seed=seed, progress=progress)
    order = np.argsort(fc.paths["rank"].values, kind="stable")
    demand = np.ascontiguousarray(fc.paths.transpose("path", "month").values[order], dtype=float)
    timings["forecast"] = time.perf_counter() - t0

    t0 = time.perf_counter()
    sample = sample_inputs(spec, n, n_paths=demand.shape[0], seed=seed)
    timings["sampling"] = time.perf_counter() - t0

    months = fc.paths["month"].values
    results: dict[str, OptionResult] = {}
    t_sim = t_tor = 0.0
    for k, opt in enumerate(spec.options):
        if progress:
            progress("simulate", k, len(spec.options))
        t0 = time.perf_counter()
        x = np.ascontiguousarray(sample.values.isel(option=k).values)
        metrics, series = simulate_arrays(
            x, demand, seed=seed, discount_rate=discount, monthly=True, price_seed=price_seed
        )
        mds = xr.Dataset(
            {name: ("draw", metrics[:, j]) for j, name in enumerate(METRIC_NAMES)},
            coords={"draw": np.arange(n)},
        )
        qs = np.quantile(series, QUANTILES, axis=1)  # (quantile, series, month)
        monthly = xr.Dataset(
            {name: (("quantile", "month"), qs[:, j, :]) for j, name in enumerate(SERIES_NAMES)},
            coords={"quantile": list(QUANTILES), "month": months},
        )
        monthly["prob_paid_back"] = ("month", _paid_back_curve(metrics, horizon))
        del series
        t_sim += time.perf_counter() - t0

        t0 = time.perf_counter()
        dists = sample.distributions[opt.name]
        func = _tornado_func(
            demand,
            sample.ties[opt.name],
            n=min(sim.tornado_draws, n),
            price_seed=seed if price_seed is None else price_seed,
            seed=seed,
            discount=discount,
            horizon=horizon,
        )
        vary = sample.free_inputs(opt.name)
        tor = tornado(
            func,
            dists,
            vary=vary,
            low=sim.tornado_low,
            high=sim.tornado_high,
            base=base_point(dists),
        )
        t_tor += time.perf_counter() - t0
        results[opt.name] = OptionResult(name=opt.name, metrics=mds, monthly=monthly, tornado=tor)
    timings["simulate"] = t_sim
    timings["tornado"] = t_tor
    if progress:
        progress("simulate", len(spec.options), len(spec.options))
    return StudyResult(
        spec=spec,
        forecast=fc,
        sample=sample,
        options=results,
        draws=n,
        seed=seed,
        timings=timings,
        demand_sorted=demand,
    )


def _paid_back_curve(metrics: np.ndarray, horizon: int) -> np.ndarray:
    """P(payback ≤ t) for t = 1..H."""
    pb = metrics[:, METRIC_NAMES.index("payback_months")]
    t = np.arange(1, horizon + 1)
    return (pb[:, None] <= t[None, :]).mean(axis=0)
