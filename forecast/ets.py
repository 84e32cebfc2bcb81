"""ETS on log volume: candidate family, AICc selection, parameter posterior, simulation.

.. note:: :func:`roicast.forecast.forecast_demand` now uses the ETS-with-drift
   family of :mod:`roicast.forecast.averaging` (growth prior, model averaging).
   This module is the previous forecaster (AICc selection of one model), kept
   as the ``today`` reference of ``benchmarks/backtest_short.py`` and for its
   pieces (``_trend_scale``, :class:`PathParams`) that the new one reuses.

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
the fitted parameters, which gives bands far too narrow at long horizons.  On
short histories it is worse: the ML estimates of ``α, β`` often sit exactly at
0, and a bootstrap that regenerates data from such a fit refits to 0 again, so
resampling the residuals adds no spread.  :func:`posterior_draws` therefore
draws the parameters from their (approximate Bayesian) posterior for the
selected model:

* initial states ``x₀`` (flat prior) and ``σ`` (prior ``1/σ``) are integrated
  out exactly: for fixed smoothing parameters the residuals are linear in
  ``x₀`` (the diffuse-initialisation likelihood of de Jong, 1991), so
  ``p(α, β, γ, φ | y) ∝ prior · |R'R|^{−½} RSS^{−(n−k)/2}``, and given them
  ``σ² ~ RSS/χ²_{n−k}``, ``x₀ ~ N(x̂₀, σ²(R'R)⁻¹)``; the end-of-history state
  (level, trend, seasonals) follows linearly, so every path starts from its
  own plausible state (this is the "drift standard error" of a short
  history, growing linearly with the horizon);
* smoothing parameters, written as unit-cube coordinates of the admissible
  region (``α``, ``β/α``, ``γ/(1 − α)``, ``(φ − 0.8)/(φ_max − 0.8)``), get a
  uniform prior for ``α`` and ``φ``, a log-uniform (scale-invariant) prior
  on ``[10⁻⁴, 1)`` for ``γ/(1 − α)``, and for the trend ``c = β/α`` the
  horizon-aware half-normal prior below;
* the posterior of these (at most four) numbers is sampled by adaptive
  importance sampling with deterministic-mixture weights (the priors with a
  log-uniform ``β/α``, a broad Gaussian around the ML estimate in logit
  space, then Gaussians fitted to the weighted draws); ``n_refits`` parameter sets are resampled by weight and
  path ``i`` uses set ``i mod n_refits`` with its own ``σ`` and state.

**The trend prior, and why it depends on the horizon.**  The trend's random
walk adds ``β²σ²h³/3`` to the log-level variance at step ``h``, but the
one-step likelihood barely sees it: for the demo history (549 days,
``α ≈ 0.1``, ``σ ≈ 0.065``) the marginal likelihood is flat (within 0.6
log-units) for ``β/α`` from 10⁻⁴ to 10⁻², and only 2–3 log-units down at
2–3·10⁻² — the trend's wander over the history stays hidden in the level's
own random walk until ``β/α`` is several times ``1/n``.  Over that flat
range a log-uniform prior puts about one path in twenty at ``β/α > 10⁻²``,
where the trend alone gives a 36-month log-level standard deviation of 1.3
to 4: month-36 P1 and P99 at 0.03× and 11× the median, from 18 months of
steady growth.  The likelihood cannot fix that and importance weighting is
not the cause (the tail draws carry their correct, small weights); the
prior decides.  And it must depend on the horizon: a 28-week history with a
real trend random walk (``β/α ≈ 0.3``, the coverage tests) is as plausible
in-sample as the demo's harmful draws (both wander about 0.4 in log-level
over the history); they differ only in how far the trend is extrapolated
(12 steps against 1096).  So the prior is stated where it acts, as a
penalised-complexity-style prior (Simpson et al., 2017) on the distance from
the deterministic trend (``β = 0``): the ratio

``r = βσ√(H³/3) / (ασ√n) = (β/α)·√(H³ / (3n))``

of the trend's random-walk spread at the end of the study (``H`` steps) to
the level's random-walk spread over the history (``n`` steps) is half-normal
with scale ``TREND_PRIOR_SCALE = 1``.  A priori, unseen changes of the trend
move demand at the horizon by about as much as the level has wandered over
the history, and rarely by three times that; the data can still overrule it
where they show a trend random walk (the likelihood then drops by far more
than the prior's ``½r²``).  In ``β/α`` this is a half-normal with scale
``√(3n/H³)``: about ``1/n`` for a study twice the history (demo:
``1.1·10⁻³``), 0.22 for 12 steps after 28, ``√3/n`` for ``H = n``.  The
damping cap ``φ ≤ min(0.98, n/(n+1))`` is part of the cube's map
(:func:`_theta`), so every posterior draw respects it; forcing damping was
not an option for the demo (its study is 2.0 history lengths, where the
undamped trend is still a candidate, and damping would flatten the median).

Paths pooled this way follow the posterior predictive distribution.  Where
the data pin the parameters down (long histories) the draws concentrate at
the ML estimates and the bands barely change; where they do not (a few weeks
of data) the bands widen to what the data cannot rule out.  The fading of
state shocks beyond the history length (above) applies to every draw.
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
    "PathParams",
    "candidates_for",
    "fit_ets",
    "posterior_draws",
    "simulate",
]

#: Default number of distinct smoothing-parameter sets drawn from the posterior.
DEFAULT_REFITS = 200

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
    horizon_steps: int | None = None  # steps to the end of the study (prior scale of β)

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
        horizon_steps=int(horizon_steps),
    )


#: Smoothing-parameter draws per stage of the adaptive importance sampler.
POSTERIOR_STAGE_DRAWS = 192

#: Stages of the adaptive importance sampler: the prior, then Gaussian
#: proposals fitted to the weighted draws so far.
POSTERIOR_STAGES = 4

#: Cube coordinates drawn log-uniformly by the first (prior) stage; the target
#: prior of ``beta`` is the half-normal of :func:`_trend_scale` instead.
PRIOR_LOG_UNIFORM = frozenset({"beta", "gamma"})

_CUBE_EPS = 1e-4  # statsmodels' bounds on the smoothing parameters

#: Scale, in units of the level's random-walk spread over the history, of the
#: half-normal prior on the trend's random-walk spread at the study horizon
#: (see posterior_draws and the module notes).
TREND_PRIOR_SCALE = 1.0


@dataclass
class PathParams:
    """Per-path parameters and end-of-history states (arrays of length ``P``)."""

    alpha: np.ndarray
    beta: np.ndarray
    gamma: np.ndarray
    phi: np.ndarray
    sigma: np.ndarray
    level: np.ndarray
    trend: np.ndarray
    season: np.ndarray  # (P, m), as in ParamSet
    drift: np.ndarray | None = None  # (P,) long-run drift μ per step (None: 0)

    def __len__(self) -> int:
        return len(self.alpha)

    @classmethod
    def tile(cls, paramsets: Sequence[ParamSet], n_paths: int) -> PathParams:
        """Path ``i`` gets ``paramsets[i % len(paramsets)]``."""
        which = np.arange(n_paths) % len(paramsets)

        def col(name):
            return np.array([getattr(p, name) for p in paramsets], dtype=float)[which]

        return cls(
            *(col(k) for k in ("alpha", "beta", "gamma", "phi", "sigma", "level", "trend")),
            season=np.stack([np.asarray(p.season, dtype=float) for p in paramsets])[which],
        )


def _dims(cand: Candidate) -> list[str]:
    """Free smoothing parameters of a candidate, as unit-cube coordinates."""
    return ["alpha"] + ["beta"] * cand.trend + ["gamma"] * cand.seasonal + ["phi"] * cand.damped


def _theta(c: np.ndarray, cand: Candidate, phi_max: float) -> dict[str, np.ndarray]:
    """Smoothing parameters from unit-cube coordinates ``c`` (``G × d``).

    ``α = c₁``, ``β = α c₂``, ``γ = (1 − α) c₃``, ``φ = 0.8 + (φ_max − 0.8) c₄``:
    the cube maps onto statsmodels' admissible region (``0 < β < α``,
    ``0 < γ < 1 − α``, ``0.8 ≤ φ ≤ φ_max``).
    """
    c = np.clip(c, _CUBE_EPS, 1 - _CUBE_EPS)
    g = c.shape[0]
    cols = dict(zip(_dims(cand), c.T, strict=True))
    alpha = cols["alpha"]
    return {
        "alpha": alpha,
        "beta": alpha * cols["beta"] if cand.trend else np.zeros(g),
        "gamma": (1 - alpha) * cols["gamma"] if cand.seasonal else np.zeros(g),
        "phi": 0.8 + (phi_max - 0.8) * cols["phi"] if cand.damped else np.ones(g),
    }


@dataclass
class _Diffuse:
    """The diffuse-initial-state likelihood of ``G`` smoothing-parameter sets."""

    theta: dict[str, np.ndarray]  # each (G,)
    log_lik: np.ndarray  # (G,) log marginal likelihood (x0, σ integrated out)
    x0: np.ndarray  # (G, k) least-squares initial states
    chol: np.ndarray  # (G, k, k) Cholesky factor of R'R
    rss: np.ndarray  # (G,)
    end0: np.ndarray  # (G, s) end state for x0 = 0: level, trend, season buffer (m)
    end_x: np.ndarray  # (G, s, k) its derivative in x0
    dof: int  # n − k


def _diffuse_lik(y: np.ndarray, cand: Candidate, period: int, theta) -> _Diffuse:
    """Run the ETS filter for ``G`` parameter sets at once, linear in the initial states.

    For fixed smoothing parameters the residuals are affine in the initial
    state ``x₀ = (l₀, b₀, s₁ … s_{m−1})`` (seasonal states sum to zero;
    ``s_m = −Σ s_j``): ``e = r₀ + R x₀``.  One pass with ``1 + k`` columns
    (the data with ``x₀ = 0``, and each unit initial state with ``y = 0``)
    gives ``r₀``, ``R``, and the end state ``z₀ + Z x₀``.  With a flat prior on
    ``x₀`` and ``p(σ) ∝ 1/σ``, integrating both out leaves

    ``log p(y | α, β, γ, φ) = −½ log|R'R| − ((n − k)/2) log RSS + const``,

    ``RSS = min ‖r₀ + R x₀‖²`` at ``x̂₀``; given the smoothing parameters
    ``σ² ~ RSS / χ²_{n−k}`` and ``x₀ | σ ~ N(x̂₀, σ² (R'R)⁻¹)``.
    """
    n = len(y)
    m = period if cand.seasonal else 1
    k = 1 + cand.trend + (m - 1)
    g = len(theta["alpha"])
    cols = 1 + k
    alpha, beta, gamma, phi = (theta[key][:, None] for key in ("alpha", "beta", "gamma", "phi"))
    level = np.zeros((g, cols))
    trend = np.zeros((g, cols))
    buf = np.zeros((g, cols, m))
    level[:, 1] = 1.0
    if cand.trend:
        trend[:, 2] = 1.0
    j0 = 1 + 1 + cand.trend
    for j in range(m - 1):
        buf[:, j0 + j, j] = 1.0
        buf[:, j0 + j, m - 1] = -1.0
    gram = np.zeros((g, cols, cols))
    chunk = 64
    store = np.empty((min(chunk, n), g, cols))
    for t in range(n):
        kk = t % m
        e = -(level + phi * trend + buf[:, :, kk])
        e[:, 0] += y[t]
        store[t % chunk] = e
        level = level + phi * trend + alpha * e
        trend = phi * trend + beta * e
        if m > 1:
            buf[:, :, kk] += gamma * e
        if t % chunk == chunk - 1 or t == n - 1:
            part = store[: t % chunk + 1]
            gram += np.matmul(part.transpose(1, 2, 0), part.transpose(1, 0, 2))
    buf = np.roll(buf, -(n % m), axis=2)
    end = np.concatenate([level[:, None, :], trend[:, None, :], buf.transpose(0, 2, 1)], axis=1)
    rtr = gram[:, 1:, 1:]
    rtr = rtr + 1e-12 * np.trace(rtr, axis1=1, axis2=2)[:, None, None] * np.eye(k)
    rt0 = gram[:, 1:, 0]
    try:
        chol = np.linalg.cholesky(rtr)
    except np.linalg.LinAlgError:  # pragma: no cover - regularised above
        w, v = np.linalg.eigh(rtr)
        chol = np.linalg.cholesky(v @ (np.maximum(w, 1e-12)[..., None] * v.transpose(0, 2, 1)))
    x0 = -np.linalg.solve(rtr, rt0[..., None])[..., 0]
    rss = np.maximum(gram[:, 0, 0] + np.sum(rt0 * x0, axis=1), 1e-300)
    logdet = 2 * np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2)), axis=1)
    dof = max(n - k, 1)
    log_lik = -0.5 * logdet - 0.5 * dof * np.log(rss)
    log_lik = np.where(np.isfinite(log_lik), log_lik, -np.inf)
    return _Diffuse(theta, log_lik, x0, chol, rss, end[:, :, 0], end[:, :, 1:], dof)


def _cube_of(fit: EtsFit) -> np.ndarray:
    """Unit-cube coordinates (inverse of :func:`_theta`) of the fitted parameters."""
    st, cand = fit.state, fit.candidate
    c = [st.alpha]
    if cand.trend:
        c.append(st.beta / max(st.alpha, _CUBE_EPS))
    if cand.seasonal:
        c.append(st.gamma / max(1 - st.alpha, _CUBE_EPS))
    if cand.damped:
        c.append((st.phi - 0.8) / max(fit.phi_max - 0.8, _CUBE_EPS))
    return np.clip(np.array(c), _CUBE_EPS, 1 - _CUBE_EPS)


def _to_u(c: np.ndarray) -> np.ndarray:
    return np.log(c) - np.log1p(-c)


def _log_norm(u: np.ndarray, mean: np.ndarray, chol: np.ndarray) -> np.ndarray:
    z = np.linalg.solve(chol, (u - mean).T).T
    d = u.shape[1]
    return (
        -0.5 * np.sum(z**2, axis=1)
        - np.sum(np.log(np.diag(chol)))
        - 0.5 * d * math.log(2 * math.pi)
    )


_U_MIN = math.log(_CUBE_EPS) - math.log1p(-_CUBE_EPS)  # logit of the cube's lower edge


def _log_prior(u: np.ndarray, log_scale: np.ndarray) -> np.ndarray:
    """Log prior density in ``u = logit(c)``, normalised on ``u ≥ _U_MIN``.

    Coordinates with ``log_scale`` have a log-uniform prior on ``c ∈ [ε, 1)``
    (density ``∝ 1/c``, i.e. ``∝ 1 − c`` in ``u``); the others are uniform
    on the cube (the logistic density in ``u``).
    """
    logistic = -np.abs(u) - 2 * np.log1p(np.exp(-np.abs(u)))
    log_one_minus_c = -np.logaddexp(0.0, u)
    loguni = log_one_minus_c - math.log(-math.log(_CUBE_EPS))
    out = np.where(log_scale, loguni, logistic)
    out = np.where((u >= _U_MIN - 1e-9) & (u <= -_U_MIN + 1e-9), out, -np.inf)
    return np.sum(out, axis=1)


def _trend_scale(n: int, horizon: int | None) -> float:
    """Prior scale of ``c = β/α`` for ``n`` history steps and a study ``horizon`` steps away.

    ``c·√(H³/(3n))`` is the ratio of the trend's random-walk spread at step
    ``H`` (``βσ√(H³/3)``) to the level's over the history (``ασ√n``); its prior
    is half-normal with scale ``TREND_PRIOR_SCALE``.  Unknown horizon: ``H = n``.
    """
    h = max(int(horizon or n), 1)
    return TREND_PRIOR_SCALE * math.sqrt(3.0 * n / h**3)


def _log_trend_prior(c: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """Log density ratio, half-normal over log-uniform, of the coordinates with a finite ``scale``.

    The half-normal density ``∝ exp(−½ (c/scale)²)`` divided by the
    log-uniform's ``∝ 1/c`` (:func:`_log_prior`), up to a constant.
    """
    cut = np.isfinite(scale)
    safe = np.where(cut, scale, 1.0)
    return np.sum(np.where(cut, np.log(c) - 0.5 * (c / safe) ** 2, 0.0), axis=1)


def _prior_draws(n: int, log_scale: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    r = rng.random((n, len(log_scale)))
    c = np.where(log_scale, np.exp(math.log(_CUBE_EPS) * (1 - r)), r)
    c = np.clip(c, _CUBE_EPS, 1 - 1e-12)
    return np.log(c) - np.log1p(-c)


def posterior_draws(
    fit: EtsFit,
    n_sets: int,
    n_paths: int,
    rng: np.random.Generator,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[PathParams, dict]:
    """Per-path parameters and end states drawn from their posterior.

    Smoothing parameters ``θ`` (``α, β, γ, φ`` of the selected model) get the
    priors of the module notes on the unit cube of :func:`_theta` (the
    admissible region): uniform for ``α`` and ``φ``, log-uniform for
    ``γ/(1 − α)``, half-normal with scale ``√(3n/H³)`` (:func:`_trend_scale`,
    ``H = fit.horizon_steps``) for ``β/α``; the
    initial states a flat prior and ``σ`` the prior ``1/σ``, both integrated
    out analytically (:func:`_diffuse_lik`).  The posterior of ``θ`` is
    sampled by adaptive importance sampling in ``u = logit(cube)``: stage 1
    draws from a broad reference (the priors, but log-uniform for ``β/α``),
    stage 2 around the ML estimate, each later stage from a Gaussian fitted to the
    weighted draws so far; all draws are weighted by posterior / (equal-share
    mixture of all proposals) (deterministic-mixture weights, Cornuet et al.
    2012).  ``n_sets`` values of ``θ`` are resampled by weight; path ``i``
    takes set ``i mod n_sets`` and draws its own ``σ² ~ RSS/χ²_{n−k}``,
    initial state ``x₀ ~ N(x̂₀, σ²(R'R)⁻¹)`` and hence end state.

    Returns
    -------
    (PathParams, dict)
        The per-path parameters and diagnostics (``ess``: effective sample
        size of the importance weights; ``n_draws``).
    """
    y = fit.y
    cand = fit.candidate
    dims = _dims(cand)
    d = len(dims)
    log_scale = np.array([k in PRIOR_LOG_UNIFORM for k in dims])
    n_stage = POSTERIOR_STAGE_DRAWS
    c0 = _trend_scale(len(y), fit.horizon_steps)
    trend_scale = np.array([c0 if k == "beta" else np.inf for k in dims])
    us, log_t, fits = [], [], []
    # stage 1: the prior; stage 2: a broad Gaussian around the ML estimate;
    # later stages: Gaussians fitted to the weighted draws so far
    u_mle = np.clip(_to_u(_cube_of(fit)), _U_MIN + 1.0, 7.0)
    proposals: list[tuple[np.ndarray, np.ndarray] | None] = [None, (u_mle, np.eye(d))]
    weights = None
    for stage in range(POSTERIOR_STAGES):
        prop = proposals[stage]
        if prop is None:
            u = _prior_draws(n_stage, log_scale, rng)
        else:
            mean, chol = prop
            u = mean + rng.standard_normal((n_stage, d)) @ chol.T
        u = np.clip(u, _U_MIN - 1.0, -_U_MIN + 1.0)  # outside the cube: prior 0
        c = 1 / (1 + np.exp(-u))
        lik = _diffuse_lik(y, cand, fit.period, _theta(c, cand, fit.phi_max))
        us.append(u)
        fits.append(lik)
        log_t.append(lik.log_lik + _log_prior(u, log_scale) + _log_trend_prior(c, trend_scale))
        # deterministic-mixture weights over all draws and all proposals so far
        u_all = np.concatenate(us)
        log_q_parts = [
            _log_prior(u_all, log_scale) if p is None else _log_norm(u_all, *p) for p in proposals
        ]
        log_q = np.logaddexp.reduce(np.stack(log_q_parts), axis=0) - math.log(len(proposals))
        lw = np.concatenate(log_t) - log_q
        lw = np.where(np.isfinite(lw), lw, -np.inf)
        weights = np.exp(lw - lw.max())
        weights /= weights.sum()
        if len(proposals) <= stage + 1 < POSTERIOR_STAGES:
            mean = weights @ u_all
            dev = u_all - mean
            cov = (weights[:, None] * dev).T @ dev
            # widen (heavier than the target) and keep a floor for degenerate weights
            cov = 1.5 * cov + 0.05 * np.eye(d)
            proposals.append((mean, np.linalg.cholesky(cov)))
        if progress is not None:
            progress(stage + 1, POSTERIOR_STAGES)
    ess = float(1.0 / np.sum(weights**2))
    # systematic resampling of n_sets parameter sets
    pos = (rng.random() + np.arange(n_sets)) / n_sets
    pick = np.minimum(np.searchsorted(np.cumsum(weights), pos), len(weights) - 1)
    sizes = np.cumsum([len(f.log_lik) for f in fits])
    which_fit = np.searchsorted(sizes, pick, side="right")
    local = pick - np.concatenate([[0], sizes[:-1]])[which_fit]

    def gather(attr):
        return np.stack([getattr(fits[f], attr)[i] for f, i in zip(which_fit, local, strict=True)])

    theta = {
        key: np.array([fits[f].theta[key][i] for f, i in zip(which_fit, local, strict=True)])
        for key in ("alpha", "beta", "gamma", "phi")
    }
    x0, chol, rss, end0, end_x = (gather(a) for a in ("x0", "chol", "rss", "end0", "end_x"))
    dof = fits[0].dof
    sets = np.arange(n_paths) % n_sets
    sigma = np.sqrt(rss[sets] / rng.chisquare(dof, n_paths))
    z = rng.standard_normal((n_paths, x0.shape[1]))
    # x0 = x̂0 + σ L⁻ᵀ z  with  R'R = L Lᵀ, so that Cov(x0) = σ² (R'R)⁻¹
    dx = np.linalg.solve(chol[sets].transpose(0, 2, 1), z[..., None])[..., 0]
    x = x0[sets] + sigma[:, None] * dx
    end = end0[sets] + np.einsum("psk,pk->ps", end_x[sets], x)
    m = end.shape[1] - 2
    params = PathParams(
        alpha=theta["alpha"][sets],
        beta=theta["beta"][sets],
        gamma=theta["gamma"][sets],
        phi=theta["phi"][sets],
        sigma=sigma,
        level=end[:, 0],
        trend=end[:, 1] if cand.trend else np.zeros(n_paths),
        season=end[:, 2:] if cand.seasonal else np.zeros((n_paths, max(m, 1))),
    )
    return params, {"ess": ess, "n_draws": len(weights)}


def simulate(
    paramsets: Sequence[ParamSet] | PathParams,
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
    paramsets : sequence of ParamSet, or PathParams
        Path ``i`` uses ``paramsets[i % len(paramsets)]``; a
        :class:`PathParams` gives every path its own parameters and states
        (e.g. from :func:`posterior_draws`).
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
    pp = paramsets if isinstance(paramsets, PathParams) else PathParams.tile(paramsets, n_paths)
    if len(pp) != n_paths:
        raise ValueError(f"simulate: {len(pp)} path parameter sets for {n_paths} paths")
    alpha, beta, gamma, phi, sigma = pp.alpha, pp.beta, pp.gamma, pp.phi, pp.sigma
    level = pp.level.copy()
    b = pp.trend.copy() if trend else np.zeros(n_paths)
    season = pp.season.copy()  # (P, m)
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
