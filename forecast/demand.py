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
from roicast.forecast._xarray import defer_dask
from roicast.forecast.averaging import (
    PRIOR_DOMINATES_RATIO,
    STEPS_PER_YEAR,
    FamilyFit,
    draw_path_params,
    fit_family,
    growth_prior,
    mode_params,
    simulate_family,
)
from roicast.forecast.ets import DEFAULT_REFITS
from roicast.forecast.overlays import apply_ceiling, apply_overlays, draw

__all__ = ["Forecast", "forecast_demand", "forecast_from_growth"]

defer_dask()  # xarray loads dask.array (~0.2 s) only once a Dask array can exist

#: Warn when the study reaches further past the data than this many history lengths.
EXTRAPOLATION_WARN_RATIO = 2.0

#: Warn when demand's P99/P50 at the last study month exceeds this ratio.
TAIL_WARN_RATIO = 5.0

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
    info : dict
        Labelled diagnostics (JSON-able), keys as present:

        * ``model_weights``: candidate name → posterior model probability
          (sums to 1; :mod:`roicast.forecast.averaging`);
        * ``trend``: the long-run growth ``g`` — ``prior`` (``"stated"`` or
          ``"default"``), ``prior_p10/p50/p90`` and ``posterior_p10/p50/p90``
          (annual rates), ``sd_ratio`` (posterior / prior P10–P90 width of
          ``ln(1 + g)``) and ``dominated_by`` (``"prior"`` if
          ``sd_ratio ≥ 0.5``, else ``"data"``);
        * ``tail``: ``month`` (label of the last study month, or month 36
          when the study is longer), ``p50``, ``p99`` and ``p99_p50`` of
          demand in that month;
        * ``ceiling``: ``p10/p50/p90`` of the ceiling draws and
          ``share_capped`` (paths whose first month was already at the ceiling).
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
    info: dict = field(default_factory=dict)

    def _cached(self, key: tuple, make):
        """``make()`` computed once per ``key`` while ``paths`` is the same object.

        One forecast is shared by every project of a batch that serves the same
        traffic; its monthly bands are computed once, not once per summary.
        """
        cache = self.__dict__.get("_cache")
        if cache is None or cache[0] is not self.paths:
            cache = (self.paths, {})
            self.__dict__["_cache"] = cache
        if key not in cache[1]:
            cache[1][key] = make()
        return cache[1][key]

    def quantiles(self, q=(0.1, 0.5, 0.9)) -> xr.DataArray:
        """Monthly quantiles of demand across paths, dims ``("quantile", "month")``.

        Computed once per ``q`` (a copy is returned each time).
        """
        qs = tuple(float(v) for v in np.atleast_1d(q))
        return self._cached(("q", qs), lambda: self.paths.quantile(list(qs), dim="path")).copy()

    def to_dict(self) -> dict:
        """JSON-able summary: model, parameters, AICc table, warnings, monthly bands."""
        months, means, qs = self._cached(
            ("bands",),
            lambda: (
                self.paths["month"].to_numpy(),
                self.paths.mean("path").to_numpy(),
                self.paths.quantile([0.1, 0.5, 0.9], dim="path").to_numpy(),
            ),
        )

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
            "info": self.info,
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
                    months,
                    means,
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


def _tail_info(values: np.ndarray, months: list[str]) -> dict:
    """P50, P99 and P99/P50 of demand at month 36 (or the last month if the study is shorter)."""
    j = min(36, values.shape[1]) - 1
    p50, p99 = np.quantile(values[:, j], [0.5, 0.99])
    return {"month": months[j], "p50": float(p50), "p99": float(p99), "p99_p50": float(p99 / p50)}


def _tail_warning(tail: dict) -> list[str]:
    if tail["p99_p50"] <= TAIL_WARN_RATIO:
        return []
    return [
        f"tails decide: in {tail['month']} the P99 path is {tail['p99_p50']:.1f}× the median "
        f"(above {TAIL_WARN_RATIO:g}×); results driven by a few extreme paths are not "
        "robust: state a growth view (annual_growth) or a ceiling"
    ]


def _trend_info(fit: FamilyFit, drift: np.ndarray) -> dict:
    """Prior vs posterior of the long-run annual growth (see :mod:`roicast.forecast.averaging`)."""
    prior = fit.prior
    qs = (0.1, 0.5, 0.9)
    pq = np.quantile(prior.mu, qs)
    post = np.quantile(drift, qs)
    width_prior = pq[2] - pq[0]
    ratio = float((post[2] - post[0]) / width_prior) if width_prior > 0 else 0.0
    out = {"prior": "stated" if prior.stated else "default"}
    for name, q in (("prior", pq), ("posterior", post)):
        g = prior.annual(q)
        out.update({f"{name}_p{int(100 * x)}": float(v) for x, v in zip(qs, g, strict=True)})
    out["sd_ratio"] = ratio
    out["dominated_by"] = "prior" if ratio >= PRIOR_DOMINATES_RATIO else "data"
    return out


def simulate_history(
    y: np.ndarray,
    *,
    period: int,
    freq: str,
    buckets,
    n_buckets: int,
    n_paths: int,
    rng_fit: np.random.Generator,
    rng_sim: np.random.Generator,
    annual_growth=None,
    parameter_uncertainty: bool = True,
    model_averaging: bool = True,
    n_refits: int = DEFAULT_REFITS,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[np.ndarray, FamilyFit, object, np.ndarray]:
    """Fit the averaged ETS-with-drift family to log volumes ``y`` and simulate bucketed paths.

    The shared core of :func:`forecast_demand` and :func:`roicast.forecast.backtest`.

    Returns
    -------
    (values, fit, path_params, owner)
        ``(n_paths, n_buckets)`` volumes, the :class:`FamilyFit`, the per-path
        parameters and each path's candidate index.
    """
    prior = growth_prior(annual_growth, STEPS_PER_YEAR[freq])
    fit = fit_family(
        y,
        period=period,
        horizon_steps=len(buckets),
        prior=prior,
        rng=rng_fit,
        model_averaging=model_averaging,
        progress=progress,
    )
    if parameter_uncertainty:
        pp, owner, _ = draw_path_params(fit, int(n_refits), int(n_paths), rng_fit)
    else:
        pp, owner, _ = mode_params(fit, int(n_paths))
    values = simulate_family(pp, buckets, n_buckets, rng_sim, n_history=len(y))
    return values, fit, pp, owner


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
    annual_growth=None,
    ceiling=None,
    model_averaging: bool = True,
) -> Forecast:
    """Monthly demand paths from a traffic history.

    The history is brought to the model frequency (hourly → daily sums); the
    ETS-with-drift family on log volume is fitted and averaged by posterior
    model probability, with the long-run drift under the growth prior (see
    :mod:`roicast.forecast.averaging`); paths are simulated at the model
    frequency from the end of the history to the end of the study and added
    up into calendar months ``D[p, t]``.

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
        Draw every path's candidate, parameters, drift, ``σ`` and
        end-of-history state from the model-averaged posterior.  ``False``:
        every path uses the posterior mode under the same priors (the most
        probable candidate), so the bands carry only the innovation noise.
    growth : distribution, optional
        Extra annual growth ``x`` on top of the forecast, one draw per path:
        ``D'[p, t] = D[p, t] (1 + x_p)^((t − 1)/12)``, ``t = 1..H``.  Unlike
        ``annual_growth`` it is not informed by the history: it is a
        deliberate shift (a planned launch programme, a market change).
    launches : sequence of (int, distribution)
        Step changes: from study month ``k`` (1-based) on, demand is multiplied
        by a factor drawn per path.
    progress : callable, optional
        ``progress(done, total)`` after each candidate model is sampled.
    n_refits : int
        Number of distinct smoothing-parameter sets resampled from the
        posterior (default 200); drift, ``σ`` and the state are drawn per path.
    annual_growth : distribution or float, optional
        The analyst's belief about the long-run annual growth rate ``g``
        (anything with ``ppf``), used as the prior of the drift
        ``μ = ln(1 + g)/steps_per_year``.  The history updates it as far as
        its length warrants: a few weeks leave it nearly unchanged, years of
        data override it.  ``None``: the weakly-informative default
        ``ln(1 + g) ~ N(0, 0.5²)``.  ``info["trend"]`` says which dominated.
    ceiling : distribution or float, optional
        Units a month that demand cannot exceed (market size, fleet):
        saturating (logistic) growth towards a per-path ceiling ``C``
        (:func:`roicast.forecast.overlays.apply_ceiling`), applied last.
    model_averaging : bool
        ``True`` (default): candidates contribute paths in proportion to
        their posterior probabilities.  ``False``: only the most probable one.

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

    values, fit, pp, _ = simulate_history(
        np.log(ms.fit_series.to_numpy()),
        period=ms.period,
        freq=ms.freq,
        buckets=buckets,
        n_buckets=horizon_months,
        n_paths=int(n_paths),
        rng_fit=rng_boot,
        rng_sim=rng_sim,
        annual_growth=annual_growth,
        parameter_uncertainty=parameter_uncertainty,
        model_averaging=model_averaging,
        n_refits=n_refits,
        progress=progress,
    )
    values, overlay_notes = apply_overlays(values, growth=growth, launches=launches, rng=rng_over)
    info: dict = {}
    if ceiling is not None:
        values, ceiling_info = apply_ceiling(values, ceiling, rng=rng_over)
        info["ceiling"] = ceiling_info
        overlay_notes.append(f"ceiling (median {ceiling_info['p50']:.4g} units/month)")
    if not np.all(np.isfinite(values)) or not np.all(values > 0):
        raise RoicastError(
            "forecast: simulated demand overflowed or is not positive; the history's fitted "
            "model is unstable (try a longer history or parameter_uncertainty=False)"
        )

    warnings_ = list(hist.warnings) + list(ms.notes)
    step = _STEP_NAME[ms.freq]
    months = month_labels(start_p, horizon_months)
    info["model_weights"] = dict(fit.weights)
    if parameter_uncertainty:
        drift_post = pp.drift
    else:  # the posterior of the drift all the same, for the report
        drift_post = draw_path_params(fit, int(n_refits), 4000, rng_boot)[0].drift
    info["trend"] = _trend_info(fit, drift_post)
    info["tail"] = _tail_info(values, months)
    if ratio > EXTRAPOLATION_WARN_RATIO:
        warnings_.append(
            f"extrapolating far: the study ends {horizon_steps} {step}s after a history of "
            f"{n_hist} {step}s (ratio {ratio:.1f}×); the long-run trend comes from the growth "
            f"prior ({info['trend']['prior']}) more than from the data"
        )
    tr = info["trend"]
    if tr["prior"] == "default" and tr["dominated_by"] == "prior":
        warnings_.append(
            "no growth view stated and the history is too short to pin the long-run trend "
            f"(posterior/prior width {tr['sd_ratio']:.2f}): the default prior "
            "(median 0 %/yr, P10–P90 −47 %…+90 %/yr) sets the long run; state annual_growth"
        )
    if tr["prior"] == "stated" and tr["dominated_by"] == "data":
        p50 = tr["posterior_p50"]
        if not tr["prior_p10"] <= p50 <= tr["prior_p90"]:
            warnings_.append(
                f"the history's growth ({p50:+.0%}/yr) lies outside the stated growth prior's "
                f"P10–P90 ({tr['prior_p10']:+.0%}…{tr['prior_p90']:+.0%}/yr); the data dominated"
            )
    warnings_ += _tail_warning(info["tail"])
    best = fit.best
    model = (
        _model_text(ms, "Bayesian average of ETS+drift", best.seasonal)
        + f" (most probable {best.name}, weight {fit.weights[best.name]:.2f})"
    )
    if parameter_uncertainty:
        model += f", parameter uncertainty: {n_refits} posterior parameter sets"
    else:
        model += ", posterior mode (no parameter uncertainty)"
    if overlay_notes:
        model += "; " + "; ".join(overlay_notes)
    params = {
        key: float(np.median(getattr(pp, key)))
        for key in ("alpha", "beta", "gamma", "phi", "sigma")
    }
    params["annual_growth"] = float(np.median(fit.prior.annual(pp.drift)))
    paths = _paths_array(
        values,
        months,
        {"unit": hist.unit_column, "model": model, "history_freq": hist.freq},
    )
    return Forecast(
        paths=paths,
        model=model,
        params=params,
        aicc={k: -2.0 * v for k, v in fit.log_evidence.items()},
        warnings=warnings_,
        history_monthly=history_monthly(ms),
        history=hist.series,
        extrapolation_ratio=float(ratio),
        n_refits=int(n_refits) if parameter_uncertainty else 0,
        info=info,
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
    ceiling=None,
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
    growth, launches, ceiling
        Overlays and ceiling, as in :func:`forecast_demand`.

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
    info: dict = {}
    if ceiling is not None:
        values, info["ceiling"] = apply_ceiling(values, ceiling, rng=rng_over)
        notes.append(f"ceiling (median {info['ceiling']['p50']:.4g} units/month)")
    months = month_labels(start_p, horizon_months)
    info["tail"] = _tail_info(values, months)
    model = "growth: D[t] = V0·(1+g)^((t−1)/12), V0 and g drawn per path"
    if notes:
        model += "; " + "; ".join(notes)
    paths = _paths_array(values, months, {"unit": "volume", "model": model, "history_freq": "none"})
    return Forecast(
        paths=paths,
        model=model,
        params={
            "start_volume_median": float(np.median(v0)),
            "annual_growth_median": float(np.median(g)),
        },
        aicc={},
        warnings=_tail_warning(info["tail"]),
        info=info,
    )
