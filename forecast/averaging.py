r"""ETS with a long-run drift: growth prior, Bayesian model averaging, path parameters.

The model
---------
Every candidate is an additive-error ETS model on ``y = log(volume)`` with a
static long-run drift ``μ`` (log growth per model step)::

    y[t] = l[t-1] + μ + φ b[t-1] + s[t-m] + e[t],        e[t] ~ N(0, σ²)
    l[t] = l[t-1] + μ + φ b[t-1] + α e[t]
    b[t] = φ b[t-1] + β e[t]
    s[t] = s[t-m] + γ e[t]

The long-run growth is ``μ``; ``b`` is a short-run deviation from it.  The
family (``FAMILY``): level with drift ``N`` (ARIMA(0,1,1) with drift), damped
short-run trend ``Ad`` (``0.8 ≤ φ ≤ φ_max``, ``b₀`` free), and an undamped
trend random walk ``A`` (``φ = 1``, ``b₀ = 0``: the slope starts at ``μ`` and
wanders with ``β``; only while the study ends within ``LINEAR_TREND_MAX_RATIO``
history lengths), each with and without additive seasonality.  The seasonal
candidates come in two kinds, both from one cycle plus
``SEASONAL_EXTRA_POINTS`` points: ``full`` (``A``: ``m − 1`` free initial
seasonal states) and the smoother ``fourier`` kind (``Af``: the initial
pattern spanned by two harmonics; up to ``FOURIER_MAX_CYCLES`` cycles).  Both
have a proper (regularising) prior on the initial pattern, so the evidence
can compare them with each other and with the non-seasonal candidates.

**Zero-drift candidates.**  Under the default growth prior, and when the
history is at least four times as long as the study ahead (``n ≥ 4H``;
:func:`zero_drift_allowed`), copies of the ``N`` and ``Ad`` candidates with
``μ = 0`` join the family (names without ``+drift``), so the family contains
the AICc-selected one of :mod:`roicast.forecast.ets`.  With equal prior odds
per candidate the default prior on ``ln(1 + g)`` is then, in effect, a
spike-and-slab: a point mass at 0 and the normal below.  Why: on long
histories of a level that wanders without a long-run trend (elnino,
elec_equip) the drift's estimate is noise of sd ``≈ ασ/√n`` a step,
extrapolated ``H`` steps, and averaging only drift candidates made the
24-month CRPS 4.5 % worse than the pre-averaging forecaster; the evidence
weighs "no drift" against "drift" exactly (the Occam factor of the slab
against the data's precision on ``μ``).  With a shorter history the long run
is the prior's, and a spike at zero growth was refuted by the short-history
backtest (80 % coverage at months 25–36 fell from 0.80 to 0.58), and at 2–5
study lengths it still cost coverage, so there the family is unchanged.  A stated prior is always used as stated.

Priors
------
* ``μ``: the **growth prior**.  The analyst's annual growth ``g`` (anything
  with ``ppf``) gives ``μ = ln(1 + g) / steps_per_year``.  Without one, the
  weakly-informative default ``ln(1 + g) ~ N(0, 0.5²)`` (median 0 %/yr,
  80 % between −47 % and +90 %/yr; ``DEFAULT_GROWTH_LOG_SD``).  The prior is
  represented by ``N_ATOMS`` equal-mass atoms ``μ_i`` (its quantiles at
  ``(i + ½)/N_ATOMS``), so any shape is used as stated.
* level ``l₀``: flat; ``σ``: ``p(σ) ∝ 1/σ`` (both common to every candidate).
* ``b₀ ~ N(0, (κ_b σ)²)``, ``κ_b = TREND0_PRIOR_SD``; seasonal states
  ``s ~ N(0, (κ_s σ)²)`` conditioned on ``Σ s = 0`` (``κ_s = SEASON_PRIOR_SD``):
  precision ``(I + 11ᵀ)/κ_s²`` on the ``m − 1`` free states; Fourier
  coefficients ``N(0, (κ_s σ)²)`` (see :func:`season_basis`).  Priors in units
  of ``σ`` keep ``σ`` integrable in closed form.
* smoothing parameters on the unit cube (:func:`_theta`): ``α`` and ``φ``
  uniform, ``γ/(1 − α)`` log-uniform on ``[10⁻⁴, 1)``, ``β/α`` half-normal with
  the horizon-aware scale ``√(3n/H³)`` of :mod:`roicast.forecast.ets`.

Likelihood, exactly integrated
------------------------------
For fixed ``θ = (α, β, γ, φ)`` the residuals are affine in ``x = (l₀, μ, b₀, s)``:
``e = r₀ + R x`` (:func:`roicast.forecast._kernels.filter_columns`).  With
``A = RᵀR + Λ`` (``Λ`` the prior precision above, in units of ``σ⁻²``),
``x̂ = −A⁻¹Rᵀr₀``, ``RSS = r₀ᵀr₀ + r₀ᵀR x̂`` and ``V = (A⁻¹)_{μμ}``,
integrating ``σ`` and every state but ``μ`` gives

``log p(y | θ, μ) = ½ log|Λ| − ½ log|A| − ½ log V − ((n − 1)/2) log(RSS + (μ − μ̂)²/V)``

(up to a constant shared by all candidates): a Student-t in ``μ`` with
``n − 2`` degrees of freedom.  Then ``p(y | θ) = mean_i p(y | θ, μ_i)`` over the
prior atoms, exactly for this prior.  ``θ`` is sampled by adaptive importance
sampling (:func:`_sample_candidate`); the mean importance weight estimates the
evidence ``p(y | M)`` of each candidate.

Model averaging
---------------
Candidate weights are posterior model probabilities with equal prior odds,
``w_M ∝ p(y | M)`` (the improper pieces, flat ``l₀`` and ``1/σ``, are shared).
Parameter sets are resampled from the pooled draws of all candidates, so a
candidate contributes paths in proportion to its weight.  Given ``θ``: ``μ`` is
drawn from the atoms with probabilities ``∝ p(y | θ, μ_i)`` (jittered within
its atom's cell), ``σ² = (RSS + (μ − μ̂)²/V)/χ²_{n−1}``, and the other states
from their Gaussian conditional ``N(x̂(μ), σ²A_{−μ}⁻¹)``.

Without parameter uncertainty (:func:`mode_params`) every path uses the
posterior mode under the same priors: the most probable candidate, its
highest-posterior ``θ`` among the sampler's draws, then ``μ``, ``σ`` and the
states at their conditional modes.  A raw maximum-likelihood trend is never used.

Which of prior and data sets the long-run trend
-----------------------------------------------
``trend_sd_ratio`` = (P90 − P10 of the posterior ``ln(1+g)``) / (P90 − P10 of the
prior ``ln(1+g)``): near 1 the prior dominated (short history), near 0 the
data did.  ``dominated_by = "prior"`` when the ratio is ≥ ``PRIOR_DOMINATES_RATIO``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from roicast.errors import RoicastError
from roicast.forecast._kernels import filter_columns
from roicast.forecast.ets import _CUBE_EPS, PathParams, _trend_scale

__all__ = [
    "DEFAULT_GROWTH_LOG_SD",
    "ZERO_DRIFT_MIN_HISTORY_RATIO",
    "FamilyFit",
    "GrowthPrior",
    "Member",
    "draw_path_params",
    "fit_family",
    "growth_prior",
    "mode_params",
    "zero_drift_allowed",
    "zero_prior",
]

#: Default prior on ``ln(1 + g)`` (annual): normal, mean 0, this standard deviation.
DEFAULT_GROWTH_LOG_SD = 0.5

#: Atoms representing the growth prior.
N_ATOMS = 1024

#: Prior sd of the initial short-run trend ``b₀``, in units of ``σ`` per step.
TREND0_PRIOR_SD = 2.0

#: Prior sd of each seasonal state, in units of ``σ``.
SEASON_PRIOR_SD = 3.0

#: Seasonal candidates need ``period + SEASONAL_EXTRA_POINTS`` points; the
#: Fourier-regularised ones are dropped from ``FOURIER_MAX_CYCLES`` cycles on.
SEASONAL_EXTRA_POINTS = 4
FOURIER_MAX_CYCLES = 4

#: Harmonics of the Fourier-regularised seasonal candidate.
FOURIER_HARMONICS = 2

#: The undamped trend random walk is a candidate up to this horizon / history ratio.
LINEAR_TREND_MAX_RATIO = 2.0

#: Zero-drift candidates (``μ = 0``) join the family, under the default growth
#: prior, when the history is at least this many study lengths long
#: (:func:`zero_drift_allowed`): 120 months for 24 ahead (ratio 5) gain, 28
#: weeks for 12 (ratio 2.3) and 28–70 days for 14 lose 80 % coverage.
ZERO_DRIFT_MIN_HISTORY_RATIO = 4.0

#: ``trend_sd_ratio`` at or above which the prior is said to dominate the trend.
PRIOR_DOMINATES_RATIO = 0.5

#: Draws per stage and stages of the adaptive importance sampler.
STAGE_DRAWS = 192
STAGES = 4

#: State shocks at full weight for this share of the history length, then fading
#: over another ``STATE_FADE_SHARE`` of it (:func:`state_shock_weights`).
STATE_FULL_SHARE = 0.25
STATE_FADE_SHARE = 0.25

STEPS_PER_YEAR = {"daily": 365.25, "weekly": 365.25 / 7, "monthly": 12.0}

_U_MIN = math.log(_CUBE_EPS) - math.log1p(-_CUBE_EPS)


@dataclass(frozen=True)
class Member:
    """One candidate: ``trend`` in ``{"N", "A", "Ad"}``; ``season`` ``""`` (none),
    ``"full"`` (``m − 1`` free seasonal states) or ``"fourier"`` (the initial
    seasonal pattern spanned by ``FOURIER_HARMONICS`` harmonics: the regularised
    candidate for one to a few cycles of history); ``drift`` ``False``: the
    long-run drift is fixed at ``μ = 0`` (the zero-drift candidates of
    :func:`family_for`)."""

    trend: str
    season: str = ""
    drift: bool = True

    @property
    def seasonal(self) -> bool:
        return bool(self.season)

    @property
    def name(self) -> str:
        s = {"": "N", "full": "A", "fourier": "Af"}[self.season]
        return f"ETS(A,{self.trend},{s})" + ("+drift" if self.drift else "")

    @property
    def dims(self) -> list[str]:
        """Free smoothing parameters, as unit-cube coordinates."""
        out = ["alpha"]
        if self.trend != "N":
            out.append("beta")
        if self.seasonal:
            out.append("gamma")
        if self.trend == "Ad":
            out.append("phi")
        return out


def season_basis(member: Member, period: int) -> np.ndarray:
    """Zero-sum basis ``(m, J)`` of the initial seasonal pattern (``(1, 0)`` without season).

    ``full``: ``e_j − e_m``, ``j < m`` (``s_m = −Σ s_j``); ``fourier``:
    ``cos(2π i k/m)``, ``sin(2π i k/m)``, ``i = 1..K`` (``K = FOURIER_HARMONICS``,
    fewer if ``m`` is small), each scaled by ``1/√K`` so that a coefficient
    prior ``N(0, κ²σ²)`` gives every seasonal state about the same prior
    variance ``κ²σ²`` as the full candidate.
    """
    if not member.seasonal:
        return np.zeros((1, 0))
    m = period
    if member.season == "full":
        b = np.zeros((m, m - 1))
        b[: m - 1] = np.eye(m - 1)
        b[m - 1] = -1.0
        return b
    k = np.arange(m)
    cols = []
    n_h = min(FOURIER_HARMONICS, (m - 1) // 2)
    for i in range(1, n_h + 1):
        cols += [np.cos(2 * np.pi * i * k / m), np.sin(2 * np.pi * i * k / m)]
    return np.stack(cols, axis=1) / math.sqrt(n_h)


@dataclass
class GrowthPrior:
    """The growth prior as equal-mass atoms of the per-step drift ``μ``.

    Attributes
    ----------
    mu : numpy.ndarray
        Sorted atoms ``ln(1 + g_i)/steps_per_year``, ``g_i`` = quantile ``(i + ½)/N``.
    width : numpy.ndarray
        Width of each atom's cell (midpoints to the neighbours).
    stated : bool
        ``True`` for the analyst's prior, ``False`` for the default.
    steps_per_year : float
    """

    mu: np.ndarray
    width: np.ndarray
    stated: bool
    steps_per_year: float

    def annual(self, mu: np.ndarray) -> np.ndarray:
        """``g = exp(μ·steps_per_year) − 1``."""
        return np.expm1(np.asarray(mu) * self.steps_per_year)


def growth_prior(annual_growth, steps_per_year: float, *, n_atoms: int = N_ATOMS) -> GrowthPrior:
    """Atoms of the drift prior from an annual-growth distribution (``None``: default).

    Parameters
    ----------
    annual_growth : distribution with ``ppf``, float, or None
        Annual growth rate ``g`` (``> −1``).  A number is a point mass.
    steps_per_year : float
        Model steps per year (365.25 daily, 12 monthly, ...).

    Returns
    -------
    GrowthPrior

    Raises
    ------
    RoicastError
        If the distribution has no ``ppf`` or puts mass at ``g ≤ −1``.
    """
    q = (np.arange(n_atoms) + 0.5) / n_atoms
    if annual_growth is None:
        from scipy.special import ndtri  # scipy.stats would cost ~1 s of start-up

        # = scipy.stats.norm(0, sd).ppf(q), bit for bit (its ppf is ndtri(q)·scale + loc)
        log1p_g = ndtri(q) * DEFAULT_GROWTH_LOG_SD + 0.0
        stated = False
    else:
        if isinstance(annual_growth, int | float | np.integer | np.floating):
            g = np.full(n_atoms, float(annual_growth))
        elif hasattr(annual_growth, "ppf"):
            g = np.asarray(annual_growth.ppf(q), dtype=float)
        else:
            raise RoicastError(
                f"annual_growth: {annual_growth!r} is neither a number nor a distribution "
                "with a ppf method"
            )
        if g.shape != (n_atoms,) or not np.all(np.isfinite(g)):
            raise RoicastError("annual_growth: ppf gave non-finite values; check the distribution")
        if np.any(g <= -1):
            raise RoicastError(
                f"annual_growth: quantiles down to {g.min():g}; a growth rate must be > -1 (-100 %)"
            )
        log1p_g = np.log1p(g)
        stated = True
    mu = np.sort(log1p_g) / steps_per_year
    mid = 0.5 * (mu[1:] + mu[:-1])
    lo = np.concatenate([[mu[0] - (mid[0] - mu[0]) if n_atoms > 1 else mu[0]], mid])
    hi = np.concatenate([mid, [mu[-1] + (mu[-1] - mid[-1]) if n_atoms > 1 else mu[-1]]])
    return GrowthPrior(mu=mu, width=hi - lo, stated=stated, steps_per_year=float(steps_per_year))


def family_for(
    n: int, period: int, horizon_steps: int, *, zero_drift: bool = False
) -> list[Member]:
    """Candidates for ``n`` points, seasonal ``period`` and a study ``horizon_steps`` away.

    ``zero_drift``: add copies of the ``N`` and ``Ad`` candidates with the
    drift fixed at ``μ = 0`` (:func:`zero_drift_allowed` says when): with them
    the family contains the AICc-selected family of :mod:`roicast.forecast.ets`
    (``ETS(A,N,·)``, ``ETS(A,Ad,·)``; its linear trend ``ETS(A,A,·)`` with a free
    initial slope is ``A`` with drift).  ``A`` without drift (a slope starting
    at 0) is not added.
    """
    seasons = [""]
    if period > 1 and period + SEASONAL_EXTRA_POINTS <= n < FOURIER_MAX_CYCLES * period:
        seasons.append("fourier")
    if period > 1 and n >= period + SEASONAL_EXTRA_POINTS:
        seasons.append("full")
    trends = ["N", "Ad"]
    if horizon_steps <= LINEAR_TREND_MAX_RATIO * n:
        trends.insert(1, "A")
    out = [Member(t, s) for s in seasons for t in trends]
    if zero_drift:
        out += [Member(t, s, drift=False) for s in seasons for t in ("N", "Ad")]
    return out


def zero_drift_allowed(n: int, horizon_steps: int, prior: GrowthPrior) -> bool:
    """Whether the zero-drift candidates join the family.

    Only under the default growth prior (a stated prior is used as stated)
    and only when the history is several times as long as the study ahead
    (``n ≥ ZERO_DRIFT_MIN_HISTORY_RATIO · horizon_steps``, 4×).  There the data can tell a
    level that wanders without a long-run trend (a random walk's estimated
    drift is noise, of sd ``≈ ασ/√n`` a step, extrapolated ``H`` steps) from a
    drifting one, and the evidence weighs the two; the default prior then is
    ``½ δ(μ) + ½ N(0, 0.5²)`` in ``ln(1 + g)``.  With a shorter history the
    long run comes from the prior, and a point mass at zero growth would
    claim a certainty that the short-history backtest refutes (80 % coverage
    0.65 / 0.58 at months 13–24 / 25–36 with it, against 0.77 / 0.80); at 2–5
    study lengths (28 weeks → 12, Taylor's 28–70 days → 14) it still costs
    coverage (weeks 9–12: 0.64; days 8–14: 0.69 against 0.73).
    """
    return (not prior.stated) and n >= ZERO_DRIFT_MIN_HISTORY_RATIO * horizon_steps


def zero_prior(prior: GrowthPrior) -> GrowthPrior:
    """The point mass ``μ = 0`` in the form of ``prior`` (one atom, zero width)."""
    return GrowthPrior(
        mu=np.zeros(1), width=np.zeros(1), stated=prior.stated, steps_per_year=prior.steps_per_year
    )


def _theta(c: np.ndarray, member: Member, phi_max: float) -> dict[str, np.ndarray]:
    """``α = c₁``, ``β = α c₂``, ``γ = (1 − α) c₃``, ``φ = 0.8 + (φ_max − 0.8) c₄``."""
    c = np.clip(c, _CUBE_EPS, 1 - _CUBE_EPS)
    g = c.shape[0]
    cols = dict(zip(member.dims, c.T, strict=True))
    alpha = cols["alpha"]
    return {
        "alpha": alpha,
        "beta": alpha * cols["beta"] if member.trend != "N" else np.zeros(g),
        "gamma": (1 - alpha) * cols["gamma"] if member.seasonal else np.zeros(g),
        "phi": 0.8 + (phi_max - 0.8) * cols["phi"] if member.trend == "Ad" else np.ones(g),
    }


def _log_prior_u(u: np.ndarray, kinds: list[str], trend_scale: float) -> np.ndarray:
    """Normalised log prior density of ``u = logit(c)`` (the cube coordinates).

    ``uniform``: ``c(1 − c)``; ``loguniform`` on ``[ε, 1)``: ``(1 − c)/ln(1/ε)``;
    ``halfnormal`` (scale ``s``, truncated to ``[0, 1)``):
    ``c(1 − c)·2φ(c/s)/(s·erf(1/(s√2)))``.
    """
    c = 1 / (1 + np.exp(-u))
    log_c = -np.logaddexp(0.0, -u)
    log_1mc = -np.logaddexp(0.0, u)
    out = np.zeros(u.shape[0])
    for j, kind in enumerate(kinds):
        if kind == "uniform":
            part = log_c[:, j] + log_1mc[:, j]
        elif kind == "loguniform":
            part = log_1mc[:, j] - math.log(-math.log(_CUBE_EPS))
        else:
            s = trend_scale
            part = (
                log_c[:, j]
                + log_1mc[:, j]
                + math.log(2.0 / (s * math.sqrt(2 * math.pi)))
                - 0.5 * (c[:, j] / s) ** 2
                - math.log(math.erf(1.0 / (s * math.sqrt(2.0))))
            )
        out += part
    inside = np.all((u >= _U_MIN - 1e-9) & (u <= -_U_MIN + 1e-9), axis=1)
    return np.where(inside, out, -np.inf)


def _reference_log_density(u: np.ndarray, kinds: list[str]) -> np.ndarray:
    """First-stage proposal: uniform, log-uniform for ``beta`` and ``gamma``."""
    ref = ["uniform" if k == "uniform" else "loguniform" for k in kinds]
    return _log_prior_u(u, ref, 1.0)


def _reference_draws(n: int, kinds: list[str], rng: np.random.Generator) -> np.ndarray:
    r = rng.random((n, len(kinds)))
    logu = np.array([k != "uniform" for k in kinds])
    c = np.where(logu, np.exp(math.log(_CUBE_EPS) * (1 - r)), r)
    c = np.clip(c, _CUBE_EPS, 1 - 1e-12)
    return np.log(c) - np.log1p(-c)


def _log_norm(u: np.ndarray, mean: np.ndarray, chol: np.ndarray) -> np.ndarray:
    z = np.linalg.solve(chol, (u - mean).T).T
    d = u.shape[1]
    return (
        -0.5 * np.sum(z**2, axis=1)
        - np.sum(np.log(np.diag(chol)))
        - 0.5 * d * math.log(2 * math.pi)
    )


@dataclass
class _Lik:
    """Integrated likelihood of ``G`` parameter sets of one candidate (see module notes)."""

    theta: dict[str, np.ndarray]
    log_lik: np.ndarray  # (G,) log p(y | θ) with the growth prior
    atom_ll: np.ndarray  # (G, N) log p(y | θ, μ_i)
    xhat: np.ndarray  # (G, k) x̂ (k = cols − 1; index 1 is μ)
    a_mat: np.ndarray  # (G, k, k) A
    rss: np.ndarray  # (G,)
    v_mu: np.ndarray  # (G,)
    end0: np.ndarray  # (G, s)
    end_x: np.ndarray  # (G, s, k)


def _layout(member: Member, period: int) -> tuple[int, int, int, int]:
    """``(m, b0_col, season_col, cols)`` of the kernel's column layout."""
    m = period if member.seasonal else 1
    b0_col = 3 if member.trend == "Ad" else -1
    season_col = (3 + (member.trend == "Ad")) if member.seasonal else -1
    n_coef = season_basis(member, period).shape[1]
    cols = 3 + (member.trend == "Ad") + n_coef
    return m, b0_col, season_col, cols


def _prior_precision(member: Member, period: int) -> tuple[np.ndarray, float]:
    """``Λ`` on ``x = (l₀, μ, [b₀], [seasonal coefficients])`` (σ units), ``½ log|Λ_proper|``.

    ``full``: the ``m`` states iid ``N(0, κ_s²σ²)`` conditioned on ``Σ s = 0``
    (precision ``(I + 11ᵀ)/κ_s²`` on the ``m − 1`` free ones); ``fourier``: the
    coefficients iid ``N(0, κ_s²σ²)``.
    """
    m, b0_col, season_col, cols = _layout(member, period)
    k = cols - 1
    lam = np.zeros((k, k))
    half_logdet = 0.0
    if b0_col >= 0:
        lam[b0_col - 1, b0_col - 1] = 1.0 / TREND0_PRIOR_SD**2
        half_logdet += -math.log(TREND0_PRIOR_SD)
    if season_col >= 0:
        j = season_col - 1
        nc = k - j
        if member.season == "full":
            block = (np.eye(nc) + np.ones((nc, nc))) / SEASON_PRIOR_SD**2
            half_logdet += 0.5 * (math.log(m) - 2 * nc * math.log(SEASON_PRIOR_SD))
        else:
            block = np.eye(nc) / SEASON_PRIOR_SD**2
            half_logdet += -nc * math.log(SEASON_PRIOR_SD)
        lam[j:, j:] = block
    return lam, half_logdet


def _likelihood(
    y: np.ndarray, member: Member, period: int, theta: dict, prior: GrowthPrior
) -> _Lik:
    n = len(y)
    m, b0_col, season_col, cols = _layout(member, period)
    g = len(theta["alpha"])
    gram = np.empty((g, cols, cols))
    end = np.empty((g, 2 + m, cols))
    filter_columns(
        y,
        np.ascontiguousarray(theta["alpha"], dtype=float),
        np.ascontiguousarray(theta["beta"], dtype=float),
        np.ascontiguousarray(theta["gamma"], dtype=float),
        np.ascontiguousarray(theta["phi"], dtype=float),
        m,
        b0_col,
        season_col,
        np.ascontiguousarray(season_basis(member, period)),
        gram,
        end,
    )
    lam, half_logdet_lam = _prior_precision(member, period)
    k = cols - 1
    rtr = gram[:, 1:, 1:]
    a_mat = rtr + lam
    a_mat = a_mat + 1e-10 * np.trace(a_mat, axis1=1, axis2=2)[:, None, None] * np.eye(k)
    rt0 = gram[:, 1:, 0]
    with np.errstate(all="ignore"):
        try:
            chol = np.linalg.cholesky(a_mat)
            ok = np.ones(g, bool)
        except np.linalg.LinAlgError:
            w, v = np.linalg.eigh(a_mat)
            ok = w.min(axis=1) > 0
            a_mat = v @ (np.maximum(w, 1e-12)[..., None] * v.transpose(0, 2, 1))
            chol = np.linalg.cholesky(a_mat)
        xhat = -np.linalg.solve(a_mat, rt0[..., None])[..., 0]
        rss = np.maximum(gram[:, 0, 0] + np.sum(rt0 * xhat, axis=1), 1e-300)
        logdet = 2 * np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2)), axis=1)
        e_mu = np.zeros(k)
        e_mu[1] = 1.0
        v_mu = np.maximum(
            np.linalg.solve(a_mat, np.broadcast_to(e_mu, (g, k))[..., None])[:, 1, 0], 1e-300
        )
        mu_hat = xhat[:, 1]
        dev2 = (prior.mu[None, :] - mu_hat[:, None]) ** 2 / v_mu[:, None]
        atom_ll = -0.5 * (n - 1) * np.log(rss[:, None] + dev2)
        base = half_logdet_lam - 0.5 * logdet - 0.5 * np.log(v_mu)
        mx = atom_ll.max(axis=1)
        log_mean = mx + np.log(np.mean(np.exp(atom_ll - mx[:, None]), axis=1))
        log_lik = base + log_mean
    log_lik = np.where(np.isfinite(log_lik) & ok, log_lik, -np.inf)
    return _Lik(theta, log_lik, atom_ll, xhat, a_mat, rss, v_mu, end[:, :, 0], end[:, :, 1:])


@dataclass
class _CandidateDraws:
    member: Member
    u: np.ndarray  # (N, d)
    log_post: np.ndarray  # (N,) log prior + log lik (unnormalised posterior of θ)
    log_w: np.ndarray  # (N,) log importance weights
    lik: _Lik
    log_evidence: float
    ess: float


def _concat_lik(parts: list[_Lik]) -> _Lik:
    return _Lik(
        theta={k: np.concatenate([p.theta[k] for p in parts]) for k in parts[0].theta},
        **{
            f: np.concatenate([getattr(p, f) for p in parts])
            for f in ("log_lik", "atom_ll", "xhat", "a_mat", "rss", "v_mu", "end0", "end_x")
        },
    )


def _sample_candidate(
    y, member: Member, period: int, phi_max: float, trend_scale: float, prior: GrowthPrior, rng
) -> _CandidateDraws:
    """Adaptive importance sampling of ``θ`` for one candidate, with its evidence.

    Stage 1 draws from a broad reference (uniform; log-uniform for ``β/α`` and
    ``γ/(1 − α)``), stage 2 from a unit Gaussian (in ``u = logit c``) around
    the best stage-1 draw, later stages from Gaussians fitted to the weighted
    draws; all draws get deterministic-mixture weights (Cornuet et al., 2012),
    whose mean estimates ``p(y | M)``.
    """
    dims = member.dims
    kinds = [
        "halfnormal" if k == "beta" else ("loguniform" if k == "gamma" else "uniform") for k in dims
    ]
    d = len(dims)
    us: list[np.ndarray] = []
    liks: list[_Lik] = []
    log_t: list[np.ndarray] = []
    proposals: list[tuple[np.ndarray, np.ndarray] | None] = [None]
    lw = np.zeros(0)
    for stage in range(STAGES):
        prop = proposals[stage]
        if prop is None:
            u = _reference_draws(STAGE_DRAWS, kinds, rng)
        else:
            u = prop[0] + rng.standard_normal((STAGE_DRAWS, d)) @ prop[1].T
        u = np.clip(u, _U_MIN - 1.0, -_U_MIN + 1.0)
        c = 1 / (1 + np.exp(-u))
        lik = _likelihood(y, member, period, _theta(c, member, phi_max), prior)
        us.append(u)
        liks.append(lik)
        log_t.append(lik.log_lik + _log_prior_u(u, kinds, trend_scale))
        u_all = np.concatenate(us)
        parts = [
            _reference_log_density(u_all, kinds) if p is None else _log_norm(u_all, *p)
            for p in proposals
        ]
        log_q = np.logaddexp.reduce(np.stack(parts), axis=0) - math.log(len(proposals))
        lt = np.concatenate(log_t)
        with np.errstate(invalid="ignore"):
            lw = np.where(np.isfinite(lt) & np.isfinite(log_q), lt - log_q, -np.inf)
        if stage + 1 < STAGES:
            if not np.any(np.isfinite(lw)):
                raise RoicastError(f"forecast: no admissible parameters for {member.name}")
            w = np.exp(lw - lw.max())
            w /= w.sum()
            if stage == 0:
                mean = u_all[int(np.argmax(lt))]
                cov = np.eye(d)
            else:
                mean = w @ u_all
                dev = u_all - mean
                cov = 1.5 * ((w[:, None] * dev).T @ dev) + 0.05 * np.eye(d)
            proposals.append((mean, np.linalg.cholesky(cov)))
    mx = lw.max()
    w = np.exp(lw - mx)
    log_evidence = float(mx + math.log(w.mean()))
    w /= w.sum()
    return _CandidateDraws(
        member=member,
        u=np.concatenate(us),
        log_post=np.concatenate(log_t),
        log_w=lw,
        lik=_concat_lik(liks),
        log_evidence=log_evidence,
        ess=float(1.0 / np.sum(w**2)),
    )


@dataclass
class FamilyFit:
    """The averaged model: candidates, their weights and draws.

    Attributes
    ----------
    members : list of Member
    weights : dict
        Candidate name → posterior model probability (sums to 1).
    log_evidence : dict
        Candidate name → ``log p(y | M)`` (up to a shared constant).
    ess : dict
        Candidate name → effective sample size of its importance weights.
    prior : GrowthPrior
    y : numpy.ndarray
    period : int
    phi_max : float
    """

    members: list[Member]
    weights: dict[str, float]
    log_evidence: dict[str, float]
    ess: dict[str, float]
    prior: GrowthPrior
    y: np.ndarray
    period: int
    phi_max: float
    draws: list[_CandidateDraws] = field(repr=False, default_factory=list)

    @property
    def best(self) -> Member:
        """The candidate with the largest weight."""
        return max(self.members, key=lambda mb: self.weights[mb.name])


def fit_family(
    y: np.ndarray,
    *,
    period: int,
    horizon_steps: int,
    prior: GrowthPrior,
    rng: np.random.Generator,
    model_averaging: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> FamilyFit:
    """Sample every candidate's posterior and weigh the candidates by evidence.

    Parameters
    ----------
    y : numpy.ndarray
        Log volumes at the model frequency.
    period : int
        Seasonal period (7 daily, 12 monthly, 52 weekly).
    horizon_steps : int
        Steps from the end of ``y`` to the end of the study (prior scale of
        ``β/α``, and whether the undamped trend is a candidate).
    prior : GrowthPrior
        Prior on the drift (:func:`growth_prior`).
    rng : numpy.random.Generator
    model_averaging : bool
        ``False``: all weight on the candidate with the largest evidence
        (the weights table still shows the averaging weights).
    progress : callable, optional
        ``progress(done, total)`` after each candidate.

    Returns
    -------
    FamilyFit
    """
    y = np.ascontiguousarray(y, dtype=float)
    n = len(y)
    phi_max = min(0.98, n / (n + 1.0))
    trend_scale = _trend_scale(n, horizon_steps)
    members = family_for(
        n, period, horizon_steps, zero_drift=zero_drift_allowed(n, horizon_steps, prior)
    )
    draws = []
    for i, mb in enumerate(members):
        mb_prior = prior if mb.drift else zero_prior(prior)
        draws.append(_sample_candidate(y, mb, period, phi_max, trend_scale, mb_prior, rng))
        if progress is not None:
            progress(i + 1, len(members))
    le = np.array([dr.log_evidence for dr in draws])
    w = np.exp(le - le.max())
    w /= w.sum()
    weights = {mb.name: float(x) for mb, x in zip(members, w, strict=True)}
    fit = FamilyFit(
        members=members,
        weights=weights,
        log_evidence={mb.name: float(x) for mb, x in zip(members, le, strict=True)},
        ess={dr.member.name: dr.ess for dr in draws},
        prior=prior,
        y=y,
        period=period,
        phi_max=phi_max,
        draws=draws,
    )
    if not model_averaging:
        best = fit.best.name
        fit.draws = [dr for dr in draws if dr.member.name == best]
        fit.members = [fit.best]
    return fit


def _pad_state(end: np.ndarray, period: int) -> np.ndarray:
    """End states ``(P, 2 + m)`` → ``(P, 2 + period)`` (zeros for a non-seasonal member)."""
    if end.shape[1] == 2 + period:
        return end
    out = np.zeros((end.shape[0], 2 + period))
    out[:, :2] = end[:, :2]
    return out


def draw_path_params(
    fit: FamilyFit, n_sets: int, n_paths: int, rng: np.random.Generator
) -> tuple[PathParams, np.ndarray, list[str]]:
    """Per-path parameters and end states from the model-averaged posterior.

    ``n_sets`` smoothing-parameter sets are resampled (systematically) from
    the pooled importance-weighted draws of all candidates; path ``i`` takes set
    ``i mod n_sets``, its own ``μ`` (from the set's atom posterior), ``σ`` and
    states (module notes).

    Returns
    -------
    (PathParams, numpy.ndarray, list of str)
        Parameters (with ``drift``), the candidate index of every path (into
        ``fit.members``) and the candidate names.
    """
    log_w = np.concatenate([dr.log_w - math.log(len(dr.log_w)) for dr in fit.draws])
    owner = np.concatenate([np.full(len(dr.log_w), i) for i, dr in enumerate(fit.draws)])
    local = np.concatenate([np.arange(len(dr.log_w)) for dr in fit.draws])
    w = np.exp(log_w - log_w.max())
    w /= w.sum()
    pos = (rng.random() + np.arange(n_sets)) / n_sets
    pick = np.minimum(np.searchsorted(np.cumsum(w), pos), len(w) - 1)
    sets = np.arange(n_paths) % n_sets
    path_owner = owner[pick][sets]
    path_local = local[pick][sets]
    m = fit.period
    out = {
        k: np.zeros(n_paths)
        for k in ("alpha", "beta", "gamma", "phi", "sigma", "drift", "level", "trend")
    }
    season = np.zeros((n_paths, m))
    for i, dr in enumerate(fit.draws):
        idx = np.flatnonzero(path_owner == i)
        if not len(idx):
            continue
        prior = fit.prior if dr.member.drift else zero_prior(fit.prior)
        lk = dr.lik
        j = path_local[idx]
        for key in ("alpha", "beta", "gamma", "phi"):
            out[key][idx] = lk.theta[key][j]
        # μ from the atoms, ∝ p(y | θ, μ_i), jittered within the atom's cell
        ll = lk.atom_ll[j]
        pr = np.exp(ll - ll.max(axis=1, keepdims=True))
        cdf = np.cumsum(pr, axis=1)
        r = rng.random(len(idx)) * cdf[:, -1]
        atom = np.minimum((cdf < r[:, None]).sum(axis=1), len(prior.mu) - 1)
        mu = prior.mu[atom] + (rng.random(len(idx)) - 0.5) * prior.width[atom]
        mu_hat = lk.xhat[j, 1]
        v = lk.v_mu[j]
        n = len(fit.y)
        s2 = (lk.rss[j] + (mu - mu_hat) ** 2 / v) / rng.chisquare(n - 1, len(idx))
        sigma = np.sqrt(s2)
        x = _conditional_states(lk.a_mat[j], lk.xhat[j], v, mu, sigma, rng)
        end = lk.end0[j] + np.einsum("psk,pk->ps", lk.end_x[j], x)
        end = _pad_state(end, m)
        out["sigma"][idx] = sigma
        out["drift"][idx] = mu
        out["level"][idx] = end[:, 0]
        out["trend"][idx] = end[:, 1]
        season[idx] = end[:, 2:]
    pp = PathParams(
        **{k: out[k] for k in ("alpha", "beta", "gamma", "phi", "sigma", "level", "trend")},
        season=season,
        drift=out["drift"],
    )
    return pp, path_owner, [mb.name for mb in fit.members]


def _conditional_states(a_mat, xhat, v_mu, mu, sigma, rng) -> np.ndarray:
    """States ``x ~ N(x̂, σ²A⁻¹)`` conditioned on ``x_μ = μ`` (``x`` index 1 is ``μ``).

    ``x = x̂ + c (μ − μ̂) + σ (z − c z_μ)`` with ``c = A⁻¹e_μ / V``, ``z ~ N(0, A⁻¹)``.
    """
    p, k = xhat.shape
    e_mu = np.zeros((p, k, 1))
    e_mu[:, 1, 0] = 1.0
    col = np.linalg.solve(a_mat, e_mu)[..., 0] / v_mu[:, None]
    chol = np.linalg.cholesky(a_mat)
    z = np.linalg.solve(chol.transpose(0, 2, 1), rng.standard_normal((p, k))[..., None])[..., 0]
    z = z - col * z[:, 1:2]
    x = xhat + col * (mu - xhat[:, 1])[:, None] + sigma[:, None] * z
    x[:, 1] = mu
    return x


def mode_params(fit: FamilyFit, n_paths: int) -> tuple[PathParams, np.ndarray, list[str]]:
    """Every path at the posterior mode under the same priors (no parameter uncertainty).

    The most probable candidate; its highest-posterior ``θ`` among the
    sampler's draws; ``μ`` at the mode of prior × ``p(y | θ, μ)`` (prior density
    of atom ``i`` is ``1/(N·width_i)``); ``σ² = (RSS + (μ − μ̂)²/V)/n`` (the mode
    of ``σ``); the states at their conditional mean (= mode) given ``μ``.
    """
    best = fit.best
    dr = next(d for d in fit.draws if d.member == best)
    j = int(np.argmax(dr.log_post))
    lk = dr.lik
    prior = fit.prior if best.drift else zero_prior(fit.prior)
    score = lk.atom_ll[j] - np.log(np.maximum(prior.width, 1e-300))
    mu = float(prior.mu[int(np.argmax(score))])
    n = len(fit.y)
    v = lk.v_mu[j]
    sigma = math.sqrt((lk.rss[j] + (mu - lk.xhat[j, 1]) ** 2 / v) / n)
    x = _conditional_states(
        lk.a_mat[j : j + 1],
        lk.xhat[j : j + 1],
        lk.v_mu[j : j + 1],
        np.array([mu]),
        np.zeros(1),
        np.random.default_rng(0),
    )
    end = _pad_state(
        lk.end0[j : j + 1] + np.einsum("psk,pk->ps", lk.end_x[j : j + 1], x), fit.period
    )

    def full(v_):
        return np.full(n_paths, float(v_))

    pp = PathParams(
        alpha=full(lk.theta["alpha"][j]),
        beta=full(lk.theta["beta"][j]),
        gamma=full(lk.theta["gamma"][j]),
        phi=full(lk.theta["phi"][j]),
        sigma=full(sigma),
        level=full(end[0, 0]),
        trend=full(end[0, 1]),
        season=np.repeat(end[:, 2:], n_paths, axis=0),
        drift=full(mu),
    )
    owner = np.full(n_paths, fit.members.index(best))
    return pp, owner, [mb.name for mb in fit.members]


def state_shock_weights(n_history: int, horizon: int) -> np.ndarray:
    """Weights ``w_h`` of the state shocks at steps ``h = 1..H``.

    ``w_h = 1`` for ``h ≤ h₀ = STATE_FULL_SHARE·n`` and ``ψ^{h − h₀}`` after, with
    ``ψ² = L/(L + 1)``, ``L = STATE_FADE_SHARE·n``: beyond the reach of the
    data the states (level, short-run trend, seasonals) wander, in all, about
    as much as over ``(STATE_FULL_SHARE + STATE_FADE_SHARE)·n`` steps
    (``Σ w_h² → h₀ + L``).  The long-run growth and its uncertainty are
    carried by the drift ``μ``, which is never faded and whose posterior is the
    growth prior where the history is short.  A study shorter than ``h₀``
    steps is simulated as plain ETS.
    """
    h0 = STATE_FULL_SHARE * n_history
    fade = max(STATE_FADE_SHARE * n_history, 1e-9)
    psi = math.sqrt(fade / (fade + 1.0))
    hs = np.arange(1, horizon + 1)
    return np.where(hs > h0, psi ** np.maximum(hs - h0, 0.0), 1.0)


def simulate_family(
    pp: PathParams,
    step_buckets,
    n_buckets: int,
    rng: np.random.Generator,
    *,
    n_history: int,
    chunk: int = 2048,
) -> np.ndarray:
    """Simulate ETS-with-drift paths and add ``exp(y)`` into buckets (calendar months).

    The recursions of the module notes, with the state shocks ``α e, β e, γ e``
    weighted by :func:`state_shock_weights` (the observation noise ``e`` and the
    drift ``μ`` are not faded).
    Innovations are drawn in blocks of ``chunk`` paths (the same for any
    machine, so the same seed gives the same paths).

    Returns
    -------
    numpy.ndarray
        ``(n_paths, n_buckets)`` sums of volume.
    """
    n_paths = len(pp)
    horizon = len(step_buckets)
    width = max((len(b) for b, _ in step_buckets), default=1) or 1
    bucket_of = np.full((horizon, width), -1, dtype=np.int64)
    share = np.zeros((horizon, width))
    for h, (b, s) in enumerate(step_buckets):
        bucket_of[h, : len(b)] = b
        share[h, : len(s)] = s
    weights = state_shock_weights(n_history, horizon)
    drift = pp.drift if pp.drift is not None else np.zeros(n_paths)
    season = np.ascontiguousarray(pp.season, dtype=float).copy()
    out = np.zeros((n_paths, n_buckets))
    from roicast.forecast._kernels import simulate_paths

    for a in range(0, n_paths, chunk):
        b = min(a + chunk, n_paths)
        z = rng.standard_normal((horizon, b - a))
        sl = slice(a, b)
        simulate_paths(
            *(
                np.ascontiguousarray(v[sl], dtype=float)
                for v in (pp.alpha, pp.beta, pp.gamma, pp.phi, pp.sigma, drift, pp.level, pp.trend)
            ),
            season[sl],
            z,
            weights,
            bucket_of,
            share,
            out[sl],
        )
    return out
