"""ETS on log volume: candidate family, AICc selection, bootstrap refits, simulation.

All models are additive-error ETS models on ``y = log(volume)`` (so volumes stay
positive and growth is multiplicative).  In the form of Hyndman et al. (2008),
with level ``l``, trend ``b``, seasonal ``s`` of period ``m``, damping ``φ``::

    y[t] = l[t-1] + φ b[t-1] + s[t-m] + e[t],      e[t] ~ N(0, σ²)
    l[t] = l[t-1] + φ b[t-1] + α e[t]
    b[t] = φ b[t-1] + β e[t]
    s[t] = s[t-m] + γ e[t]

Candidates: level only ``ETS(A,N,N)``, linear trend ``ETS(A,A,N)``, damped trend
``ETS(A,Ad,N)``, and the same three with additive seasonality when the series
covers at least two full cycles (weekly for daily data, yearly for monthly and
weekly data).  statsmodels' :class:`~statsmodels.tsa.exponential_smoothing.ets.ETSModel`
estimates each one (parameters and initial states by maximum likelihood) and
the smallest AICc wins.

**Keeping long extrapolations sane.**  A trend estimated from a short history
must not be extrapolated for years.  Two rules, applied to the candidate family:

1. the undamped linear trend is a candidate only when the distance from the
   end of the history to the end of the study is at most twice the history's
   length (``LINEAR_TREND_MAX_RATIO``): a straight line is never extrapolated
   far beyond the data it was drawn from (a 3-year history may carry its trend
   through a 3-year study; 14 days may not);
2. the damping ``φ`` is bounded above by ``min(0.98, n / (n + 1))`` for a
   history of ``n`` steps, so the total future contribution of the current
   trend, ``b φ / (1 − φ)``, is at most ``n b``: the trend adds, in all, no
   more growth than it would over one more history length.

A 14-day history with a fitted slope of 2 %/day thus adds at most
``e^{14·0.02} ≈ 1.3×`` of trend growth, instead of ``e^{1095·0.02} ≈ e^{22}``.

The same reasoning holds for the random-walk part of the level.  ``ETS(A,N,N)``
with ``α = 0.8`` and a daily ``σ = 0.18`` (a 14-day LLM-serving history) has a
log-level standard deviation of ``0.8·0.18·√1100 ≈ 4.8`` after three years: a
P10–P90 range of five orders of magnitude, from day-to-day noise.  So in
:func:`simulate`, shocks to the *states* (``α e, β e, γ e``) enter at full
weight for as many steps as the history is long, ``n``, and with weight
``ψ^{h−n}``, ``ψ² = n/(n+1)``, after that: beyond the reach of the data the
states wander, in all, as much more as over one more history length (the
observation noise ``e`` itself is unchanged).  When the horizon is no longer
than the history (a 3-year history for a 3-year study) this changes nothing.
Growth beyond what the data shows belongs in the growth overlay, where the
analyst states it; the forecast warns with the ratio horizon / history.

**Parameter uncertainty.**  ETS simulation alone redraws the errors but keeps
the fitted parameters, which gives bands far too narrow at long horizons.
:func:`bootstrap_refits` regenerates the history ``B`` times from the fitted
model with moving-block-resampled residuals, refits the chosen model on each
copy, re-runs each refit's parameters over the *real* history to get its end
state, and estimates its own ``σ``.  Paths are pooled across refits (path
``i`` uses refit ``i mod B``), so the bands carry the uncertainty of ``α, β,
γ, φ``, the initial states and ``σ``.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from roicast.errors import RoicastError

__all__ = [
    "Candidate",
    "EtsFit",
    "ParamSet",
    "bootstrap_refits",
    "candidates_for",
    "fit_ets",
    "simulate",
]

#: Default number of bootstrap refits for parameter uncertainty.
DEFAULT_REFITS = 30

#: A bootstrap refit is kept only if its residual scale on the real history is
#: at most this multiple of the fitted model's (see :func:`bootstrap_refits`).
REFIT_MAX_SCALE_RATIO = 1.25

#: The undamped trend is a candidate up to this horizon / history ratio.
LINEAR_TREND_MAX_RATIO = 2.0

_SEASON_NAME = {7: "weekly", 12: "yearly", 52: "yearly"}


@dataclass(frozen=True)
class Candidate:
    """One member of the ETS family."""

    trend: bool
    damped: bool
    seasonal: bool

    @property
    def name(self) -> str:
        t = "Ad" if self.damped else ("A" if self.trend else "N")
        return f"ETS(A,{t},{'A' if self.seasonal else 'N'})"


def candidates_for(n: int, period: int, *, allow_linear_trend: bool) -> list[Candidate]:
    """The candidate family for ``n`` points with seasonal ``period``.

    Seasonal candidates need at least two full cycles (``n ≥ 2·period``);
    the undamped trend only ``allow_linear_trend`` (see module notes).
    """
    seasons = [False, True] if period > 1 and n >= 2 * period else [False]
    out = []
    for seasonal in seasons:
        out.append(Candidate(False, False, seasonal))
        if allow_linear_trend:
            out.append(Candidate(True, False, seasonal))
        out.append(Candidate(True, True, seasonal))
    return out


@dataclass
class ParamSet:
    """Parameters and end-of-history state of one (re)fit, as plain floats."""

    alpha: float
    beta: float
    gamma: float
    phi: float
    sigma: float
    level: float
    trend: float
    season: np.ndarray  # next m seasonal states, season[k] used at step k+1 (k < m)


@dataclass
class EtsFit:
    """A fitted, selected ETS model on log volume."""

    candidate: Candidate
    period: int  # seasonal period of the model (1 without seasonality)
    y: np.ndarray  # log volumes fitted
    params: dict[str, float]  # statsmodels parameter names -> values
    param_vector: np.ndarray
    aicc: dict[str, float]
    resid: np.ndarray
    state: ParamSet
    phi_max: float
    notes: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.candidate.name


def _sm_model(y: np.ndarray, cand: Candidate, period: int, phi_max: float):
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    kwargs = {}
    if cand.damped:
        kwargs["bounds"] = {"damping_trend": (0.8, phi_max)}
    return ETSModel(
        y,
        error="add",
        trend="add" if cand.trend else None,
        damped_trend=cand.damped,
        seasonal="add" if cand.seasonal else None,
        seasonal_periods=period if cand.seasonal else None,
        initialization_method="estimated",
        **kwargs,
    )


def _fit_quiet(model, start_params=None):
    """Fit a statsmodels model with its warnings kept inside (never leaked)."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        return model.fit(disp=False, start_params=start_params)


def _unpack(params: dict[str, float], cand: Candidate, period: int):
    alpha = params["smoothing_level"]
    beta = params.get("smoothing_trend", 0.0) if cand.trend else 0.0
    gamma = params.get("smoothing_seasonal", 0.0) if cand.seasonal else 0.0
    phi = params.get("damping_trend", 1.0) if cand.damped else 1.0
    l0 = params["initial_level"]
    b0 = params.get("initial_trend", 0.0) if cand.trend else 0.0
    if cand.seasonal:
        # statsmodels: initial_seasonal.0 is s[-1] (latest), .m-1 is s[-m]
        s0 = np.array([params[f"initial_seasonal.{i}"] for i in range(period)])[::-1]
    else:
        s0 = np.zeros(1)
    return alpha, beta, gamma, phi, l0, b0, s0


def _filter(y: np.ndarray, alpha, beta, gamma, phi, l0, b0, s0):
    """Run the ETS recursions over ``y``; return residuals and the end state.

    Plain recursion, no checking.  The returned seasonal buffer is rotated so
    that element ``k`` is the state used ``k + 1`` steps after the end.
    """
    m = len(s0)
    buf = np.array(s0, dtype=float)
    level, trend = float(l0), float(b0)
    resid = np.empty(len(y))
    for t in range(len(y)):
        k = t % m
        e = y[t] - (level + phi * trend + buf[k])
        resid[t] = e
        level = level + phi * trend + alpha * e
        trend = phi * trend + beta * e
        buf[k] += gamma * e
    return resid, level, trend, np.roll(buf, -(len(y) % m))


def _sigma(resid: np.ndarray, k: int) -> float:
    """Residual scale with the degrees-of-freedom correction ``n − k``."""
    n = len(resid)
    return float(np.sqrt(np.sum(resid**2) / max(n - k, 1)))


def _paramset(y, params, cand, period, k, sigma=None) -> tuple[ParamSet, np.ndarray]:
    alpha, beta, gamma, phi, l0, b0, s0 = _unpack(params, cand, period)
    resid, level, trend, season = _filter(y, alpha, beta, gamma, phi, l0, b0, s0)
    sig = _sigma(resid, k) if sigma is None else sigma
    return ParamSet(alpha, beta, gamma, phi, sig, level, trend, season), resid


def fit_ets(
    y: np.ndarray,
    *,
    period: int,
    horizon_steps: int,
    freq_label: str = "daily",
) -> EtsFit:
    """Fit the candidate family to log volumes ``y`` and keep the smallest AICc.

    Parameters
    ----------
    y : numpy.ndarray
        Log volumes at the model frequency, no missing values.
    period : int
        Seasonal period for the seasonal candidates (7 daily, 12 monthly,
        52 weekly; 1 for none).
    horizon_steps : int
        Steps from the end of ``y`` to the end of the study; decides whether
        the undamped trend is a candidate (see module notes).
    freq_label : str
        Used in the model description only.

    Returns
    -------
    EtsFit

    Raises
    ------
    RoicastError
        If no candidate can be fitted.
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    phi_max = min(0.98, n / (n + 1.0))
    allow_linear = horizon_steps <= LINEAR_TREND_MAX_RATIO * n
    cands = candidates_for(n, period, allow_linear_trend=allow_linear)
    aicc: dict[str, float] = {}
    best = None
    for cand in cands:
        try:
            res = _fit_quiet(_sm_model(y, cand, period, phi_max))
            value = float(res.aicc)
        except (ValueError, np.linalg.LinAlgError, FloatingPointError, ZeroDivisionError):
            value = math.inf
            res = None
        if not np.isfinite(value):
            value = math.inf
        aicc[cand.name] = value
        if res is not None and np.isfinite(value) and (best is None or value < best[0]):
            best = (value, cand, res)
    if best is None:
        raise RoicastError(
            f"history: no ETS model could be fitted to {n} {freq_label} points "
            "(too short or constant series)"
        )
    _, cand, res = best
    params = dict(zip(res.model.param_names, map(float, res.params), strict=True))
    k = int(res.df_model) - 1
    state, resid = _paramset(y, params, cand, period, k)
    notes = []
    if not allow_linear:
        notes.append(
            f"undamped trend not a candidate: horizon > {LINEAR_TREND_MAX_RATIO:g}× the history; "
            f"damping φ ≤ {phi_max:.3f}"
        )
    return EtsFit(
        candidate=cand,
        period=period if cand.seasonal else 1,
        y=y,
        params=params,
        param_vector=np.asarray(res.params, dtype=float),
        aicc=aicc,
        resid=resid,
        state=state,
        phi_max=phi_max,
        notes=notes,
    )


def _block_indices(n: int, block: int, n_boot: int, rng: np.random.Generator) -> np.ndarray:
    """Moving-block bootstrap indices, shape ``(n_boot, n)``."""
    block = max(1, min(block, n))
    n_blocks = -(-n // block)
    starts = rng.integers(0, n - block + 1, size=(n_boot, n_blocks))
    idx = (starts[:, :, None] + np.arange(block)[None, None, :]).reshape(n_boot, -1)
    return idx[:, :n]


def bootstrap_refits(
    fit: EtsFit,
    n_refits: int,
    rng: np.random.Generator,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> list[ParamSet]:
    """Parameter sets from ``n_refits`` residual-block-bootstrap refits.

    Each synthetic history is ``y*[t] = ŷ*[t] + e*[t]``, generated by the fitted
    recursions from the fitted initial states, with ``e*`` the centred
    residuals resampled in moving blocks of length ``max(m, ⌈n^{1/3}⌉)``
    (``m`` the seasonal period).  The chosen model is refitted on each copy
    (starting from the original estimates), and the refit's parameters are run
    over the real history to give the state the forecast starts from.  The
    scale ``σ`` is the refit's own residual scale (degrees-of-freedom corrected).

    A refit is discarded when it fails, or when its parameters do not track
    the real history: residual scale on the real data above
    ``REFIT_MAX_SCALE_RATIO`` (1.25) × the fitted model's.  ETS parameter
    combinations outside the forecastable region (e.g. large ``β`` with large
    ``γ``) pass statsmodels' box bounds but make the filter drift, ending with
    absurd level or trend states; without this screen a few such refits
    dominate the long-horizon bands.  If every refit is discarded the original
    fit is used alone.
    """
    y = fit.y
    n = len(y)
    cand = fit.candidate
    alpha, beta, gamma, phi, l0, b0, s0 = _unpack(fit.params, cand, max(fit.period, 1))
    resid = fit.resid - fit.resid.mean()
    block = max(fit.period, math.ceil(n ** (1 / 3)))
    idx = _block_indices(n, block, n_refits, rng)
    errs = resid[idx]  # (B, n)
    # generate synthetic histories, vectorized over refits
    m = len(s0)
    buf = np.tile(s0, (n_refits, 1))
    level = np.full(n_refits, l0)
    trend = np.full(n_refits, b0)
    ystar = np.empty((n_refits, n))
    for t in range(n):
        k = t % m
        e = errs[:, t]
        ystar[:, t] = level + phi * trend + buf[:, k] + e
        level = level + phi * trend + alpha * e
        trend = phi * trend + beta * e
        buf[:, k] += gamma * e
    out: list[ParamSet] = []
    n_par = len(fit.param_vector)
    for b in range(n_refits):
        try:
            res = _fit_quiet(_sm_model(ystar[b], cand, fit.period, fit.phi_max), fit.param_vector)
            pvec = np.asarray(res.params, dtype=float)
            ok = pvec.shape == (n_par,) and np.all(np.isfinite(pvec))
        except (ValueError, np.linalg.LinAlgError, FloatingPointError, ZeroDivisionError):
            ok = False
        if ok:
            params = dict(zip(res.model.param_names, map(float, pvec), strict=True))
            k = int(res.df_model) - 1
            sigma_b = _sigma(np.asarray(res.resid, dtype=float), k)
            ps, real_resid = _paramset(y, params, cand, fit.period, k, sigma=sigma_b)
            # a refit whose parameters do not track the real history is discarded
            real_scale = _sigma(real_resid, k)
            ok = (
                np.isfinite(ps.level)
                and np.isfinite(sigma_b)
                and real_scale <= REFIT_MAX_SCALE_RATIO * fit.state.sigma
            )
            if ok:
                out.append(ps)
        if progress is not None:
            progress(b + 1, n_refits)
    return out if out else [fit.state]


def simulate(
    paramsets: Sequence[ParamSet],
    n_paths: int,
    step_buckets: Sequence[tuple[np.ndarray, np.ndarray]],
    n_buckets: int,
    rng: np.random.Generator,
    *,
    trend: bool,
    n_history: int | None = None,
) -> np.ndarray:
    """Simulate log-ETS paths and add ``exp(y)`` into buckets (e.g. calendar months).

    Parameters
    ----------
    paramsets : sequence of ParamSet
        Path ``i`` uses ``paramsets[i % len(paramsets)]``.
    n_paths : int
        Number of paths.
    step_buckets : sequence of (int array, float array)
        For each future step ``h = 1..H`` the buckets it falls in and the share
        of the step's volume that goes to each (empty for steps outside the study).
    n_buckets : int
        Number of output buckets.
    rng : numpy.random.Generator
        Source of the standard normal errors, drawn one step at a time.
    trend : bool
        Whether the model has a trend state.
    n_history : int, optional
        Length ``n`` of the history; state shocks at steps ``h > n`` are
        weighted by ``ψ^{h−n}``, ``ψ² = n/(n+1)`` (module notes).  ``None``:
        full weight throughout (plain ETS simulation).

    Returns
    -------
    numpy.ndarray
        ``(n_paths, n_buckets)`` sums of volume.
    """
    B = len(paramsets)
    which = np.arange(n_paths) % B

    def col(name):
        return np.array([getattr(p, name) for p in paramsets], dtype=float)[which]

    alpha, beta, gamma, phi, sigma = (col(k) for k in ("alpha", "beta", "gamma", "phi", "sigma"))
    level = col("level")
    b = col("trend") if trend else np.zeros(n_paths)
    season = np.stack([p.season for p in paramsets])[which].copy()  # (P, m)
    m = season.shape[1]
    seasonal = m > 1 or np.any(season != 0)
    out = np.zeros((n_paths, n_buckets))
    psi = math.sqrt(n_history / (n_history + 1.0)) if n_history else 1.0
    for h, (buckets, shares) in enumerate(step_buckets):
        e = sigma * rng.standard_normal(n_paths)
        w = psi ** (h + 1 - n_history) if n_history and h + 1 > n_history else 1.0
        es = e * w
        if trend:
            pb = phi * b
            mean = level + pb
            level = mean + alpha * es
            b = pb + beta * es
        else:
            mean = level
            level = level + alpha * es
        if seasonal:
            k = h % m
            s_old = season[:, k]
            y = mean + s_old + e
            season[:, k] = s_old + gamma * es
        else:
            y = mean + e
        if len(buckets):
            v = np.exp(y)
            for j, w in zip(buckets, shares, strict=True):
                out[:, j] += w * v
    return out
