"""Demand paths: from a history (ETS on log volume) or from growth assumptions."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import xarray as xr

from roicast.errors import RoicastError
from roicast.forecast._calendar import (
    ModelSeries,
    history_monthly,
    model_series,
    month_labels,
    parse_start,
    step_buckets,
)
from roicast.forecast._history import HistoryData, clean_series
from roicast.forecast.ets import DEFAULT_REFITS, fit_ets, posterior_draws, simulate
from roicast.forecast.overlays import apply_overlays, draw

__all__ = ["Forecast", "forecast_demand", "forecast_from_growth"]

#: Warn when the study reaches further past the data than this many history lengths.
EXTRAPOLATION_WARN_RATIO = 2.0

_STEP_NAME = {"daily": "day", "weekly": "week", "monthly": "month"}


@dataclass
class Forecast:
    """Demand paths and how they were made.

    Attributes
    ----------
    paths : xarray.DataArray
        Units per calendar month, dims ``("path", "month")``; ``month`` holds
        ``"YYYY-MM"`` strings; coordinate ``rank`` on ``path`` is the uniform
        rank ``(r + 0.5) / n_paths`` of the path's total volume (``r`` = 0 for
        the smallest).  Attributes ``unit``, ``model``, ``history_freq``.
    model : str
        Description of the model, e.g. ``"ETS(A,Ad,A) on log daily volume,
        weekly seasonality"``.
    params : dict
        Fitted parameters (statsmodels names) of the selected model, plus ``sigma``.
    aicc : dict
        AICc of every candidate (``inf``: could not be fitted or too few points).
    warnings : list of str
        Imputed points, far extrapolation (with the ratio), and the like.
    history_monthly : pandas.Series or None
        History added up into calendar months (index ``"YYYY-MM"``); months only
        partly covered are scaled to a full month and listed in
        ``history_monthly.attrs["partial_months"]``.
    history : pandas.Series or None
        The cleaned history at its own frequency.
    extrapolation_ratio : float or None
        Distance from the end of the history to the end of the study, divided
        by the length of the history (both in model steps).
    n_refits : int
        Distinct posterior parameter sets pooled into the paths (0: no
        parameter uncertainty).
    """

    paths: xr.DataArray
    model: str
    params: dict[str, float]
    aicc: dict[str, float]
    warnings: list[str] = field(default_factory=list)
    history_monthly: pd.Series | None = None
    history: pd.Series | None = None
    extrapolation_ratio: float | None = None
    n_refits: int = 0

    def quantiles(self, q=(0.1, 0.5, 0.9)) -> xr.DataArray:
        """Monthly quantiles of demand across paths, dims ``("quantile", "month")``."""
        return self.paths.quantile(list(q), dim="path")

    def to_dict(self) -> dict:
        """JSON-able summary: model, parameters, AICc table, warnings, monthly bands."""
        qs = self.quantiles((0.1, 0.5, 0.9)).to_numpy()

        def finite(x):
            return float(x) if math.isfinite(x) else None

        out = {
            "model": self.model,
            "unit": self.paths.attrs.get("unit", ""),
            "history_freq": self.paths.attrs.get("history_freq", ""),
            "n_paths": int(self.paths.sizes["path"]),
            "n_refits": int(self.n_refits),
            "params": {k: float(v) for k, v in self.params.items()},
            "aicc": {k: finite(v) for k, v in self.aicc.items()},
            "warnings": list(self.warnings),
            "extrapolation_ratio": (
                None if self.extrapolation_ratio is None else float(self.extrapolation_ratio)
            ),
            "monthly": [
                {
                    "month": str(m),
                    "mean": float(mean),
                    "p10": float(a),
                    "p50": float(b),
                    "p90": float(c),
                }
                for m, mean, a, b, c in zip(
                    self.paths["month"].to_numpy(),
                    self.paths.mean("path").to_numpy(),
                    qs[0],
                    qs[1],
                    qs[2],
                    strict=True,
                )
            ],
        }
        if self.history_monthly is not None:
            out["history_monthly"] = {
                "values": {str(k): float(v) for k, v in self.history_monthly.items()},
                "partial_months": list(self.history_monthly.attrs.get("partial_months", [])),
            }
        return out


def _streams(seed, k: int) -> list[np.random.Generator]:
    """``k`` independent generators from an int seed or a Generator."""
    if isinstance(seed, np.random.Generator):
        return seed.spawn(k)
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise RoicastError(f"seed: {seed!r} is not a non-negative integer or a numpy Generator")
    return [np.random.default_rng(s) for s in np.random.SeedSequence(int(seed)).spawn(k)]


def _check_counts(horizon_months, n_paths) -> None:
    if isinstance(horizon_months, bool) or not isinstance(horizon_months, int | np.integer):
        raise RoicastError(f"horizon_months: {horizon_months!r} is not an integer")
    if horizon_months < 1:
        raise RoicastError(f"horizon_months: {horizon_months} must be ≥ 1")
    if isinstance(n_paths, bool) or not isinstance(n_paths, int | np.integer) or n_paths < 2:
        raise RoicastError(f"n_paths: {n_paths!r} must be an integer ≥ 2")


def as_history(history) -> HistoryData:
    """A :class:`HistoryData` from itself or from a ``pandas.Series`` with a DatetimeIndex."""
    if isinstance(history, HistoryData):
        return history
    if isinstance(history, pd.Series):
        if not isinstance(history.index, pd.DatetimeIndex):
            raise RoicastError(
                "history: a pandas Series needs a DatetimeIndex (got "
                f"{type(history.index).__name__}); use read_history for files"
            )
        try:
            values = pd.to_numeric(history, errors="raise").to_numpy(dtype=float)
        except (ValueError, TypeError):
            raise RoicastError("history: the series holds non-numeric volumes") from None
        return clean_series(
            history.index,
            values,
            where="history series",
            unit_column=str(history.name) if history.name is not None else "volume",
        )
    raise RoicastError(
        f"history: expected HistoryData or pandas.Series, got {type(history).__name__}"
    )


def _paths_array(values: np.ndarray, months: list[str], attrs: dict) -> xr.DataArray:
    n = values.shape[0]
    total = values.sum(axis=1)
    rank = (np.argsort(np.argsort(total, kind="stable"), kind="stable") + 0.5) / n
    return xr.DataArray(
        values,
        dims=("path", "month"),
        coords={"path": np.arange(n), "month": months, "rank": ("path", rank)},
        name="demand",
        attrs=attrs,
    )


def _model_text(ms: ModelSeries, name: str, seasonal: bool) -> str:
    season = {"daily": "weekly", "weekly": "yearly", "monthly": "yearly"}[ms.freq]
    text = f"{name} on log {ms.freq} volume"
    return text + (f", {season} seasonality" if seasonal else "")


def forecast_demand(
    history,
    *,
    horizon_months: int,
    start: str | pd.Period | None = None,
    n_paths: int = 1000,
    seed: int | np.random.Generator = 0,
    parameter_uncertainty: bool = True,
    growth=None,
    launches: Sequence = (),
    progress: Callable[[int, int], None] | None = None,
    n_refits: int = DEFAULT_REFITS,
) -> Forecast:
    """Monthly demand paths from a traffic history.

    The history is brought to the model frequency (hourly → daily sums), an
    ETS model on log volume is chosen by AICc (see :mod:`roicast.forecast.ets`),
    paths are simulated at the model frequency from the end of the history to
    the end of the study and added up into calendar months ``D[p, t]``.

    Parameters
    ----------
    history : HistoryData or pandas.Series
        From :func:`read_history`, or a series with a ``DatetimeIndex``.
    horizon_months : int
        Number of study months ``H``.
    start : str or pandas.Period, optional
        First study month (``"2026-01"``).  Default: the month after the
        history's last timestamp (for weekly data: after the last week's
        last day).  Must begin after the history ends.
    n_paths : int
        Number of paths.
    seed : int or numpy.random.Generator
        Same seed, same paths.
    parameter_uncertainty : bool
        Draw every path's parameters, ``σ`` and end-of-history state from
        their posterior (see :func:`roicast.forecast.ets.posterior_draws`).
        Without it the bands only carry the innovation noise of one fitted model.
    growth : distribution, optional
        Extra annual growth ``x`` on top of the fitted model, one draw per path:
        ``D'[p, t] = D[p, t] (1 + x_p)^((t − 1)/12)``, ``t = 1..H``.
    launches : sequence of (int, distribution)
        Step changes: from study month ``k`` (1-based) on, demand is multiplied
        by a factor drawn per path.
    progress : callable, optional
        ``progress(done, total)`` after each stage of the posterior sampler.
    n_refits : int
        Number of distinct smoothing-parameter sets resampled from the
        posterior (default 200); ``σ`` and the state are drawn per path.

    Returns
    -------
    Forecast

    Raises
    ------
    RoicastError
        On bad arguments, a history too short to fit, or a start inside the history.
    """
    _check_counts(horizon_months, n_paths)
    hist = as_history(history)
    if parameter_uncertainty and (
        isinstance(n_refits, bool) or not isinstance(n_refits, int | np.integer) or n_refits < 1
    ):
        raise RoicastError(f"n_refits: {n_refits!r} must be an integer ≥ 1")
    where = str(hist.path) if hist.path is not None else "history"
    ms = model_series(hist, where)
    default_start = max(hist.series.index[-1], ms.last_day).to_period("M") + 1
    start_p = parse_start(start, default_start)
    buckets = step_buckets(ms, start_p, horizon_months)
    n_hist = len(ms.fit_series)
    horizon_steps = len(buckets)
    ratio = horizon_steps / n_hist
    rng_boot, rng_sim, rng_over = _streams(seed, 3)

    fit = fit_ets(
        np.log(ms.fit_series.to_numpy()),
        period=ms.period,
        horizon_steps=horizon_steps,
        freq_label=ms.freq,
    )
    if parameter_uncertainty:
        paramsets, diag = posterior_draws(
            fit, int(n_refits), int(n_paths), rng_boot, progress=progress
        )
    else:
        paramsets = [fit.state]
    values = simulate(
        paramsets,
        int(n_paths),
        buckets,
        horizon_months,
        rng_sim,
        trend=fit.candidate.trend,
        n_history=n_hist,
    )
    values, overlay_notes = apply_overlays(values, growth=growth, launches=launches, rng=rng_over)
    if not np.all(np.isfinite(values)) or not np.all(values > 0):
        raise RoicastError(
            "forecast: simulated demand overflowed or is not positive; the history's fitted "
            "model is unstable (try a longer history or parameter_uncertainty=False)"
        )

    warnings_ = list(hist.warnings) + list(ms.notes)
    step = _STEP_NAME[ms.freq]
    if ratio > EXTRAPOLATION_WARN_RATIO:
        warnings_.append(
            f"extrapolating far: the study ends {horizon_steps} {step}s after a history of "
            f"{n_hist} {step}s (ratio {ratio:.1f}×); the bands come from the fitted model "
            "and its parameter uncertainty, not from data that far out"
        )
    warnings_ += fit.notes
    model = _model_text(ms, fit.name, fit.candidate.seasonal)
    if parameter_uncertainty:
        model += (
            f", parameter uncertainty: {n_refits} posterior draws of the smoothing "
            f"parameters (ESS {diag['ess']:.0f} of {diag['n_draws']})"
        )
    if overlay_notes:
        model += "; " + "; ".join(overlay_notes)
    params = dict(fit.params)
    params["sigma"] = fit.state.sigma
    months = month_labels(start_p, horizon_months)
    paths = _paths_array(
        values,
        months,
        {"unit": hist.unit_column, "model": model, "history_freq": hist.freq},
    )
    return Forecast(
        paths=paths,
        model=model,
        params=params,
        aicc=dict(fit.aicc),
        warnings=warnings_,
        history_monthly=history_monthly(ms),
        history=hist.series,
        extrapolation_ratio=float(ratio),
        n_refits=int(n_refits) if parameter_uncertainty else 0,
    )


def forecast_from_growth(
    start_volume,
    annual_growth,
    *,
    horizon_months: int,
    start: str | pd.Period,
    n_paths: int = 1000,
    seed: int | np.random.Generator = 0,
    growth=None,
    launches: Sequence = (),
) -> Forecast:
    """Demand paths without history, from a start volume and a growth rate.

    Path ``p`` draws ``V0_p`` from ``start_volume`` and ``g_p`` from
    ``annual_growth`` (independent stratified draws, so even a few hundred paths
    cover both distributions evenly) and has

    ``D[p, t] = V0_p (1 + g_p)^((t − 1)/12)``,  ``t = 1..H``,

    then the optional overlays (see :func:`forecast_demand`).

    Parameters
    ----------
    start_volume : distribution or float
        Units in the first study month (``> 0``).
    annual_growth : distribution or float
        Annual growth rate (``> −1``; ``0.5`` is +50 %/yr).
    horizon_months : int
        Number of study months.
    start : str or pandas.Period
        First study month, ``"2026-01"``.
    n_paths : int
        Number of paths.
    seed : int or numpy.random.Generator
        Same seed, same paths.
    growth, launches
        Overlays, as in :func:`forecast_demand`.

    Returns
    -------
    Forecast
    """
    _check_counts(horizon_months, n_paths)
    if start is None:
        raise RoicastError("start: a first study month is needed without history")
    start_p = parse_start(start, None)
    rng_v, rng_g, rng_over = _streams(seed, 3)
    v0 = draw(start_volume, int(n_paths), rng_v, name="start_volume")
    if np.any(v0 <= 0):
        raise RoicastError(f"start_volume: draws down to {v0.min():g}; a volume must be > 0")
    g = draw(annual_growth, int(n_paths), rng_g, name="annual_growth")
    if np.any(g <= -1):
        raise RoicastError(
            f"annual_growth: draws down to {g.min():g}; a growth rate must be > -1 (-100 %)"
        )
    t = np.arange(horizon_months)
    values = v0[:, None] * np.exp(np.log1p(g)[:, None] * t[None, :] / 12.0)
    values, notes = apply_overlays(values, growth=growth, launches=launches, rng=rng_over)
    model = "growth: D[t] = V0·(1+g)^((t−1)/12), V0 and g drawn per path"
    if notes:
        model += "; " + "; ".join(notes)
    paths = _paths_array(
        values,
        month_labels(start_p, horizon_months),
        {"unit": "volume", "model": model, "history_freq": "none"},
    )
    return Forecast(
        paths=paths,
        model=model,
        params={
            "start_volume_median": float(np.median(v0)),
            "annual_growth_median": float(np.median(g)),
        },
        aicc={},
        warnings=[],
    )
