"""Run a study: forecast → sample → simulate → sensitivity → summary.

:func:`run_study` wires the stages together for one spec and returns a
:class:`StudyResult` holding labelled data; :mod:`roicast.report` writes it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from roicast._quantiles import MonthlyQuantiles
from roicast.distributions import Distribution
from roicast.errors import RoicastError
from roicast.evaluate import NOISE, ModelEvaluator
from roicast.fleet import Profiles, fleet_config, profiles_for
from roicast.forecast import (
    BacktestResult,
    Forecast,
    backtest,
    forecast_demand,
    forecast_from_growth,
    read_history,
)
from roicast.inputs import Combination, combinations
from roicast.sampling import (
    DEMAND_RANK,
    Derivation,
    Sample,
    input_values,
    option_evaluator,
    sample_inputs,
    sample_uniforms,
)
from roicast.sensitivity import (
    BreakEvenResult,
    Scenario,
    SobolResult,
    ThreePointCases,
    break_even,
    evpi,
    evppi,
    mc_standard_errors,
    rankings,
    sobol_indices,
    tail_scenarios,
    three_point_cases,
    tornado,
    until_stable,
)
from roicast.simulate import INPUT_NAMES, METRIC_NAMES, SERIES_NAMES, FleetConfig, simulate_arrays
from roicast.spec import Spec

__all__ = [
    "QUANTILES",
    "ChunkedSample",
    "OptionAnalysis",
    "OptionInputs",
    "OptionResult",
    "StudyResult",
    "demand_matrix",
    "draws_until_stable",
    "forecast_for",
    "run_study",
    "run_study_until_stable",
    "summarize_distribution",
]

_NPV_COLUMN = METRIC_NAMES.index("npv")
_BOUGHT0 = SERIES_NAMES.index("purchased_instances_baseline")
_BOUGHT1 = SERIES_NAMES.index("purchased_instances_optimized")

#: Quantiles kept of every monthly series.
QUANTILES = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
#: Outputs the tornado reports.
TORNADO_OUTPUTS = ("npv", "roi", "payback_months")

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class OptionAnalysis:
    """Everything a study computed for one option, labelled.

    The sensitivity fields are ``None`` when the study ran without the full
    analysis (``run_study(..., sensitivity=False)``) or when nothing varies.

    Attributes
    ----------
    name : str
        The option's name.
    metrics : xarray.Dataset
        Per-draw metrics (:data:`roicast.simulate.METRIC_NAMES`) over ``draw``.
    monthly : xarray.Dataset
        Quantiles of each monthly series over ``(quantile, month)`` and
        ``prob_paid_back`` over ``month``.
    tornado : dict[str, pandas.DataFrame]
        One-at-a-time tornado per output (``npv``, ``roi``, ``payback_months``).
    convergence : pandas.DataFrame
        Monte Carlo standard errors of mean NPV and its P10 / P50 / P90.
    evpi, evppi : float, pandas.Series
        Value of (perfect, per-input partial) information of the go/no-go decision.
    rankings, scenarios_npv, scenarios_roi, three_point, break_even, sobol
        The sensitivity stage's results (:mod:`roicast.sensitivity`).
    rows_evaluated : int
        Extra model rows the sensitivity analysis evaluated.
    """

    name: str
    metrics: xr.Dataset
    monthly: xr.Dataset
    tornado: Mapping[str, pd.DataFrame]
    convergence: pd.DataFrame
    evpi: float | None = None
    evppi: pd.Series | None = None
    rankings: pd.DataFrame | None = None
    scenarios_npv: dict[str, Scenario] | None = None
    scenarios_roi: dict[str, Scenario] | None = None
    three_point: ThreePointCases | None = None
    break_even: BreakEvenResult | None = None
    sobol: SobolResult | None = None
    rows_evaluated: int = 0

    def metric(self, name: str) -> np.ndarray:
        """The per-draw values of one metric."""
        return self.metrics[name].values


#: Former name of :class:`OptionAnalysis`.
OptionResult = OptionAnalysis


@dataclass(frozen=True)
class StudyResult:
    """Everything a study computed, labelled: what :mod:`roicast.report` consumes."""

    spec: Spec
    forecast: Forecast
    sample: Sample
    options: dict[str, OptionAnalysis]
    draws: int
    seed: int
    timings: dict[str, float]
    demand_sorted: np.ndarray = field(repr=False, default_factory=lambda: np.empty((0, 0)))
    until_stable: dict[str, Any] | None = None
    backtest: BacktestResult | None = None
    profiles: Profiles | None = None
    #: Seed of the price shocks when it is not the study seed (a batch's market seed).
    price_seed: int | None = None

    @property
    def horizon(self) -> int:
        return self.spec.project.horizon_months

    @property
    def price_path_seed(self) -> int:
        """The seed the study's price paths came from: re-runs of its draws use it too."""
        return self.seed if self.price_seed is None else self.price_seed


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
    """numpy's default (linear) quantiles, extended to +inf values (NaN counts as +inf).

    Between a finite value and +inf the quantile is +inf (not reached), so the
    result agrees with ``np.quantile`` wherever both are finite.
    """
    s = np.sort(np.where(np.isnan(x), np.inf, x))
    out = []
    for q in qs:
        h = (s.size - 1) * q
        lo, hi = math.floor(h), math.ceil(h)
        if hi == lo or not np.isfinite(s[hi]):
            out.append(s[lo] if hi == lo else np.inf)
        else:
            out.append(s[lo] + (s[hi] - s[lo]) * (h - lo))
    return np.array(out)


def forecast_for(spec: Spec, *, seed: int, progress: Progress | None = None) -> Forecast:
    """The demand forecast of a spec's ``[demand]`` section (seeded from ``seed``)."""
    d = spec.demand
    rng = np.random.default_rng([seed, 2])
    launches = [(launch.month, launch.factor) for launch in d.launches]
    cb = (lambda done, total: progress("forecast", done, total)) if progress else None
    if d.history is not None:
        hist = read_history(
            spec.history_path(),
            timestamp_column=d.timestamp_column,
            volume_column=d.volume_column,
            outliers=d.outliers,
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
            annual_growth=d.annual_growth,
            ceiling=d.ceiling,
            model_averaging=d.model_averaging,
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
        ceiling=d.ceiling,
    )


def run_study(
    spec: Spec,
    *,
    draws: int | None = None,
    seed: int | None = None,
    progress: Progress | None = None,
    price_seed: int | None = None,
    forecast: Forecast | None = None,
    sensitivity: bool = True,
    monthly: bool = True,
    client: Any = None,
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
    sensitivity : bool
        Compute the full sensitivity analysis (rankings, Sobol, scenarios,
        break-even, value of information); the tornado and the Monte Carlo
        standard errors are always computed.
    monthly : bool
        Keep the monthly quantiles of spend, instance-hours and cumulative cash
        flow (needed by the report's fan charts and ``results.nc``); a batch
        without reports skips them.
    client : distributed.Client, optional
        Split each option's draws over this Dask cluster's workers
        (:func:`simulate_option`); the results are identical to a local run.
        Sampling and the sensitivity analysis stay in this process.

    Returns
    -------
    StudyResult

    Notes
    -----
    Memory is bounded by chunks, not by the whole sample: the study keeps the
    ``draws × uncertain`` uniforms (:class:`ChunkedSample`) and computes each
    option's input values one chunk of draws at a time; the monthly series
    are never kept whole (:func:`simulate_option`).  What grows with draws:
    the uniforms (8 bytes per uncertain input) and the per-draw metrics
    (8 bytes per metric and option).
    """
    n, seed = preflight(spec, draws=draws, seed=seed, monthly=monthly)
    clock = _Clock()
    with clock("forecast"):
        fc = forecast if forecast is not None else forecast_for(spec, seed=seed, progress=progress)
        demand = demand_matrix(fc)
        bt = _backtest(spec, seed)
        profiles = study_profiles(spec)
    with clock("sampling"):
        sample = ChunkedSample.draw(spec, n, n_paths=demand.shape[0], seed=seed)
    clock.totals.update(simulate=0.0, sensitivity=0.0)
    months = fc.paths["month"].values
    results: dict[str, OptionAnalysis] = {}
    total = len(spec.options)
    for k, opt in enumerate(spec.options):
        _tick(progress, "simulate", k, total)
        with clock("simulate"):
            fleet = fleet_config(spec, opt, profiles)
            mds, mq = simulate_option(
                sample.option_inputs(opt.name),
                demand,
                spec,
                seed=seed,
                price_seed=price_seed,
                monthly=monthly,
                months=months,
                fleet=fleet,
                client=client,
            )
            _check_finite(mds, sample, opt.name)
        _tick(progress, "sensitivity", k, total)
        with clock("sensitivity"):
            results[opt.name] = analyse_option(
                opt.name,
                mds,
                mq,
                sample,
                demand,
                spec,
                seed=seed,
                price_seed=seed if price_seed is None else price_seed,
                n_noise=min(spec.simulation.tornado_draws, n),
                sensitivity=sensitivity,
                fleet=fleet,
            )
    _tick(progress, "simulate", total, total)
    _tick(progress, "sensitivity", total, total)
    return StudyResult(
        spec=spec,
        forecast=fc,
        sample=sample,
        options=results,
        draws=n,
        seed=seed,
        timings=clock.totals,
        demand_sorted=demand,
        backtest=bt,
        profiles=profiles,
        price_seed=price_seed,
    )


def run_study_until_stable(
    spec: Spec,
    tol: float,
    *,
    seed: int | None = None,
    max_draws: int = 1_000_000,
    progress: Progress | None = None,
    **kwargs: Any,
) -> StudyResult:
    """Find how many draws make mean NPV and its P10/P50/P90 stable to ``tol``, then run with them.

    See :func:`draws_until_stable`; the record lands in ``StudyResult.until_stable``.
    """
    s = int(seed if seed is not None else spec.simulation.seed)
    fc = forecast_for(spec, seed=s, progress=progress)
    n, record = draws_until_stable(spec, tol, seed=s, forecast=fc, max_draws=max_draws)
    result = run_study(spec, draws=n, seed=s, progress=progress, forecast=fc, **kwargs)
    return replace(result, until_stable=record)


class _Clock:
    """Adds the wall time of named stages (``with clock("stage"): ...``)."""

    def __init__(self) -> None:
        self.totals: dict[str, float] = {}

    @contextmanager
    def __call__(self, stage: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.totals[stage] = self.totals.get(stage, 0.0) + time.perf_counter() - t0


def _tick(progress: Progress | None, stage: str, done: int, total: int) -> None:
    if progress:
        progress(stage, done, total)


#: The most draws a study may ask for (the bound of ``[simulation] draws``).
MAX_DRAWS = 50_000_000


def _draws_and_seed(spec: Spec, draws: int | None, seed: int | None) -> tuple[int, int]:
    n = int(draws if draws is not None else spec.simulation.draws)
    seed = int(seed if seed is not None else spec.simulation.seed)
    if n < 100:
        raise RoicastError(f"draws: {n} is too few; use at least 100")
    if n > MAX_DRAWS:
        raise RoicastError(f"draws: {n} is more than the limit of {MAX_DRAWS:,} draws a study")
    if not 0 <= seed < 2**63:
        raise RoicastError(f"seed: {seed} must be in 0 .. 2**63 - 1")
    return n, seed


def preflight(
    spec: Spec, *, draws: int | None = None, seed: int | None = None, monthly: bool = True
) -> tuple[int, int]:
    """The draws and seed a study will use, refused before any work when out of bounds or memory."""
    n, seed = _draws_and_seed(spec, draws, seed)
    check_memory(spec, n, monthly=monthly)
    return n, seed


def memory_estimate(spec: Spec, draws: int, *, monthly: bool = True) -> int:
    r"""Bytes a study of ``draws`` draws needs at its peak (an upper estimate).

    .. math:: n\,\bigl(8K(O + 2) + 8MO + 32 + H\bigr) + 8PH\cdot 4 + C + 400\ \text{MiB}

    per draw: the uniforms (at most :math:`K` = ``len(INPUT_NAMES)`` columns),
    every option's input values when the report asks for them whole
    (``results.nc``), one option's inputs for the sensitivity analysis, the
    :math:`M` metrics of the :math:`O` options, a few summary columns and the
    paid-back curve's :math:`H` booleans; fixed: the :math:`P` demand paths,
    the chunks (inputs and metrics of :data:`CHUNK_DRAWS` draws; with
    ``monthly``, two chunks of series, :data:`QUANTILE_BUDGET` of exact
    values and the accumulator's histograms) and the program.  The monthly
    series are never kept whole, so they add nothing per draw.
    """
    k, n_opt, m = len(INPUT_NAMES), len(spec.options), len(METRIC_NAMES)
    horizon = spec.project.horizon_months
    per_draw = 8 * k * (n_opt + 2) + 8 * m * n_opt + 32 + horizon
    chunks = 8 * CHUNK_DRAWS * (k + m) * 2
    if monthly:
        n_s = len(SERIES_NAMES)
        exact = min(QUANTILE_BUDGET, 8 * n_s * horizon * draws)
        hist = 8 * n_s * horizon * (3 * 2048 + len(QUANTILES) * (3 * 512 + 4) + 4)
        chunks += 2 * MONTHLY_CHUNK_BYTES + exact + hist
    fixed = 8 * spec.demand.paths * horizon * 4 + chunks + 400 * 2**20
    return per_draw * draws + fixed


def check_memory(spec: Spec, draws: int, *, monthly: bool = True) -> None:
    """Refuse a study that would not fit in the memory this machine has available."""
    import psutil

    need = memory_estimate(spec, draws, monthly=monthly)
    have = psutil.virtual_memory().available
    if need <= 0.8 * have:
        return
    per_draw = (need - memory_estimate(spec, 0, monthly=monthly)) / draws
    fit = max(0, int((0.8 * have - memory_estimate(spec, 0, monthly=monthly)) / per_draw))
    raise RoicastError(
        f"draws: {draws:,} would need about {need / 2**30:.1f} GiB of memory and this machine has "
        f"{have / 2**30:.1f} GiB available; at most about {fit:,} draws fit"
    )


def demand_matrix(fc: Forecast) -> np.ndarray:
    """The forecast's demand paths as a ``(path, month)`` array sorted by total volume."""
    order = np.argsort(fc.paths["rank"].values, kind="stable")
    return np.ascontiguousarray(fc.paths.transpose("path", "month").values[order], dtype=float)


def study_profiles(spec: Spec) -> Profiles:
    """The study's load profiles; flat where they cannot change a number.

    With ``provisioning = "average"`` and no option giving
    ``throughput_gain_at_peak``, every profile gives the same results, so the
    history is not read for it.
    """
    matters = spec.fleet.provisioning != "average" or any(
        "optimized.throughput_gain_at_peak" not in o.inherits for o in spec.options
    )
    if not matters or spec.demand.history is None or isinstance(spec.fleet.profile, list):
        return profiles_for(spec)
    hist = read_history(
        spec.history_path(),
        timestamp_column=spec.demand.timestamp_column,
        volume_column=spec.demand.volume_column,
        outliers=spec.demand.outliers,
    )
    return profiles_for(spec, hist.series, hist.freq)


def _backtest(spec: Spec, seed: int) -> BacktestResult | None:
    if not (spec.demand.backtest and spec.demand.history is not None):
        return None
    hist = read_history(
        spec.history_path(),
        timestamp_column=spec.demand.timestamp_column,
        volume_column=spec.demand.volume_column,
        outliers=spec.demand.outliers,
    )
    return backtest(
        hist,
        seed=np.random.default_rng([seed, 4]),
        parameter_uncertainty=spec.demand.parameter_uncertainty,
        annual_growth=spec.demand.annual_growth,
    )


#: Draws simulated at a time: memory grows with this, not with the study's draws.
CHUNK_DRAWS = 100_000
#: Most bytes of monthly series one chunk may produce (the chunk shrinks to fit):
#: the series and their transposed copy for the accumulator are the chunk's memory.
MONTHLY_CHUNK_BYTES = 32 * 2**20
#: Monthly values kept for exact quantiles (:class:`roicast._quantiles.MonthlyQuantiles`).
QUANTILE_BUDGET = 256 * 2**20
#: Draws per Dask task (a multiple of the chunk): fewer, larger tasks move less state.
DASK_TASK_DRAWS = 100_000


@dataclass(frozen=True)
class OptionInputs:
    """One option's inputs for a range of draws, as uniforms: values computed per chunk.

    ``rows(a, b)`` is :func:`roicast.sampling.input_values` of ``u[a:b]``, equal
    bit for bit to the same rows of the whole sample's values.  Small and
    picklable (a Dask task carries its slice).

    Attributes
    ----------
    u : ndarray (draws, len(uncertain))
        The uniforms of the uncertain inputs.
    dists : dict[str, Distribution]
        Every input's distribution for this option.
    tied : dict[str, str]
        Inputs that take another input's value.
    uncertain : list[str]
        Names of the columns of ``u``.
    derivation : Derivation, optional
        For an option that ``combines`` others: what derives its inputs from
        its parts' (:class:`roicast.sampling.Derivation`).
    """

    u: np.ndarray
    dists: Mapping[str, Distribution]
    tied: Mapping[str, str]
    uncertain: list[str]
    derivation: Derivation | None = None

    def __len__(self) -> int:
        return int(self.u.shape[0])

    def rows(self, a: int, b: int, inputs: list[str] | None = None) -> np.ndarray:
        """Input values of draws ``a .. b-1``, ``(b - a, len(inputs))`` (default every input)."""
        return input_values(
            self.dists,
            self.tied,
            self.uncertain,
            self.u[a:b],
            inputs=inputs,
            derivation=self.derivation,
        )

    def slice(self, a: int, b: int) -> OptionInputs:
        """The same option's draws ``a .. b-1``."""
        return replace(self, u=self.u[a:b])


class ChunkedSample(Sample):
    """A :class:`~roicast.sampling.Sample` that keeps the uniforms, not the values.

    A study's sample is ``draws × uncertain`` uniforms (8 bytes each) instead
    of ``options × draws × len(INPUT_NAMES)`` values (41 per draw and option);
    the values are computed per chunk (:meth:`option_inputs`,
    :meth:`option_values`).  :attr:`values` keeps the :class:`Sample` API: it
    builds the whole ``(option, draw, input)`` array on first use (the
    report's ``results.nc``) and keeps it, identical to
    :func:`roicast.sampling.sample_inputs`'s.
    """

    def __init__(
        self,
        u: np.ndarray,
        distributions: dict[str, dict[str, Distribution]],
        uncertain: list[str],
        ties: dict[str, dict[str, str]],
        combinations: dict[str, Combination] | None = None,
        spec: Spec | None = None,
    ) -> None:
        # no dataclass __init__: ``values`` is a property here
        self.uniforms = xr.DataArray(
            u, dims=("draw", "input"), coords={"draw": np.arange(u.shape[0]), "input": uncertain}
        )
        self.distributions = distributions
        self.uncertain = uncertain
        self.ties = ties
        self.combinations = combinations or {}
        self.spec = spec
        self._values: xr.DataArray | None = None

    @classmethod
    def draw(
        cls, spec: Spec, n_draws: int, *, n_paths: int, seed: int, stream: tuple[int, ...] = ()
    ) -> ChunkedSample:
        """The sample :func:`roicast.sampling.sample_inputs` would draw, kept as uniforms."""
        u, dists, tied, uncertain = sample_uniforms(
            spec, n_draws, n_paths=n_paths, seed=seed, stream=stream
        )
        return cls(u, dists, uncertain, tied, combinations(spec), spec)

    def __repr__(self) -> str:
        n, k = self.uniforms.shape
        return f"ChunkedSample(draws={n}, uncertain={k}, options={list(self.distributions)})"

    @property
    def n_draws(self) -> int:
        return int(self.uniforms.shape[0])

    def option_inputs(self, option: str) -> OptionInputs:
        """One option's inputs (uniforms and distributions), for :func:`simulate_option`."""
        derivation = None
        if option in self.combinations and self.spec is not None:
            derivation = Derivation(self.spec, option, self.distributions, self.ties)
        return OptionInputs(
            self.uniforms.values,
            self.distributions[option],
            self.ties[option],
            self.uncertain,
            derivation,
        )

    def option_values(
        self,
        option: str,
        start: int = 0,
        stop: int | None = None,
        inputs: list[str] | None = None,
        *,
        chunk: int = CHUNK_DRAWS,
    ) -> np.ndarray:
        """Values of ``inputs`` (default all) for draws ``start .. stop-1``, ``(draws, inputs)``.

        Computed ``chunk`` draws at a time into one preallocated array.
        """
        stop = self.n_draws if stop is None else stop
        oi = self.option_inputs(option)
        names = list(INPUT_NAMES) if inputs is None else list(inputs)
        out = np.empty((stop - start, len(names)))
        for a in range(start, stop, chunk):
            b = min(stop, a + chunk)
            part = out[a - start : b - start]
            input_values(
                oi.dists,
                oi.tied,
                oi.uncertain,
                oi.u[a:b],
                inputs=names,
                out=part,
                derivation=oi.derivation,
            )
        return out

    @property
    def values(self) -> xr.DataArray:  # type: ignore[override]
        """Every input's value per option and draw, ``(option, draw, input)``: built on first use."""
        if self._values is None:
            opts = list(self.distributions)
            arr = np.empty((len(opts), self.n_draws, len(INPUT_NAMES)))
            for o, name in enumerate(opts):
                arr[o] = self.option_values(name)
            self._values = xr.DataArray(
                arr,
                dims=("option", "draw", "input"),
                coords={
                    "option": opts,
                    "draw": np.arange(self.n_draws),
                    "input": list(INPUT_NAMES),
                },
            )
        return self._values


def _option_rows(
    sample: Sample, option: str, a: int, b: int, inputs: list[str] | None = None
) -> np.ndarray:
    """Values of ``inputs`` for draws ``a .. b-1`` of one option, from either kind of sample."""
    if isinstance(sample, ChunkedSample):
        return sample.option_values(option, a, b, inputs)
    sel = sample.values.sel(option=option).isel(draw=slice(a, b))
    return sel.values if inputs is None else sel.sel(input=inputs).values


def _inputs_frame(sample: Sample, option: str, inputs: list[str]) -> pd.DataFrame:
    """The ``(draw, input)`` frame of one option's inputs the sensitivity analysis reads."""
    if not isinstance(sample, ChunkedSample):
        return sample.values.sel(option=option, input=inputs).to_pandas()
    return pd.DataFrame(
        sample.option_values(option, inputs=inputs),
        index=pd.Index(sample.uniforms["draw"].values, name="draw"),
        columns=pd.Index(inputs, name="input"),
    )


def chunk_draws(chunk: int, n_series: int, n_months: int, monthly: bool) -> int:
    r"""Draws per chunk: ``chunk``, shrunk so a chunk's monthly series fit :data:`MONTHLY_CHUNK_BYTES`.

    .. math:: c = \min\bigl(\text{chunk},\ \max(1000,\ \lfloor B / (8\,S\,H) \rfloor)\bigr)

    with ``S`` series of ``H`` months (10 593 draws at 11 × 36 with the default 32 MiB).
    """
    if not monthly:
        return chunk
    return min(chunk, max(1000, MONTHLY_CHUNK_BYTES // (8 * n_series * n_months)))


def _rows(x: np.ndarray | OptionInputs, a: int, b: int) -> np.ndarray:
    if isinstance(x, OptionInputs):
        return x.rows(a, b)
    return np.ascontiguousarray(x[a:b])


def _slice(x: np.ndarray | OptionInputs, a: int, b: int) -> np.ndarray | OptionInputs:
    return x.slice(a, b) if isinstance(x, OptionInputs) else x[a:b]


def simulate_draws(
    x: np.ndarray | OptionInputs,
    start: int,
    demand: np.ndarray,
    *,
    seed: int,
    price_seed: int | None,
    discount_rate: float,
    monthly: bool,
    fleet: FleetConfig | None,
    chunk: int,
    acc: MonthlyQuantiles | None,
    orders: bool = False,
) -> tuple[np.ndarray, MonthlyQuantiles | None, np.ndarray | None]:
    """Simulate draws ``start .. start+len(x)-1`` in chunks; one Dask task of a split study.

    Row ``i`` of ``x`` is draw ``start + i`` (its noise index), whatever the
    chunking or the process it runs in.  The monthly series of each chunk are
    fed to ``acc`` in draw order and dropped.

    Returns
    -------
    metrics : ndarray (len(x), len(METRIC_NAMES))
    acc : MonthlyQuantiles or None
        ``acc`` itself, fed.
    bought : ndarray (2, 2, months) or None
        With ``orders`` (on-prem studies): per fleet (baseline, optimized) and
        month, the instances ordered summed over these draws (``[0]``) and the
        number of these draws that order (``[1]``).
    """
    n = len(x)
    metrics = np.empty((n, len(METRIC_NAMES)))
    bought = None
    block = max(chunk, CHUNK_DRAWS // chunk * chunk)  # input values computed per block
    xb, b0 = np.empty((0, len(INPUT_NAMES))), 0
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        if b > b0:
            xb, a0, b0 = _rows(x, a, min(n, a + block)), a, min(n, a + block)
        m, series = simulate_arrays(
            xb[a - a0 : b - a0],
            demand,
            seed=seed,
            discount_rate=discount_rate,
            monthly=monthly and acc is not None,
            draw_offset=start + a,
            price_seed=price_seed,
            fleet=fleet,
        )
        metrics[a:b] = m
        del m
        if acc is not None:
            acc.update(series)
            if orders:
                per = series[[_BOUGHT0, _BOUGHT1]]  # (fleet, draw, month)
                if bought is None:
                    bought = np.zeros((2, 2, per.shape[2]))
                bought[0] += per.sum(axis=1)
                bought[1] += (per > 0).sum(axis=1)
        del series
    return metrics, acc, bought


def simulate_option(
    x: np.ndarray | OptionInputs,
    demand: np.ndarray,
    spec: Spec,
    *,
    seed: int,
    price_seed: int | None,
    monthly: bool,
    months: np.ndarray,
    fleet: FleetConfig | None = None,
    chunk: int = CHUNK_DRAWS,
    client: Any = None,
) -> tuple[xr.Dataset, xr.Dataset]:
    r"""Simulate one option's draws in chunks: per-draw metrics and monthly quantiles, labelled.

    Parameters
    ----------
    x : ndarray (draw, input) or OptionInputs
        The option's input values, or its uniforms (values computed per chunk:
        the study's way, memory per chunk instead of per draw).
    demand : ndarray (path, month)
        Demand paths sorted by total volume (:func:`demand_matrix`).
    spec : Spec
        The study's spec (discount rate).
    seed, price_seed : int
        Seeds of the noise (see :func:`roicast.simulate.simulate_arrays`).
    monthly : bool
        Compute the monthly quantiles.
    months : ndarray
        Labels of the months.
    fleet : FleetConfig, optional
        The option's fleet.
    chunk : int
        Most draws per chunk (shrunk by :func:`chunk_draws` when ``monthly``).
    client : distributed.Client, optional
        Split the draws over this Dask cluster: tasks of
        :data:`DASK_TASK_DRAWS` draws (:func:`simulate_draws`), at most
        ``2 ×`` the cluster's threads in flight, merged in draw order.

    Returns
    -------
    metrics, monthly : xarray.Dataset

    Notes
    -----
    Draw ``i`` is simulated with noise index ``i`` whatever the chunking, the
    task split or the worker, so the per-draw metrics do not depend on
    ``chunk`` or ``client``.  The monthly series are never kept whole: they
    feed a :class:`roicast._quantiles.MonthlyQuantiles` accumulator, exact
    (``np.quantile``) when all draws' values fit :data:`QUANTILE_BUDGET`
    (:math:`8 S H n \le` 256 MiB, i.e. :math:`n \le 84\,733` at 11 series × 36
    months); otherwise the first chunk places its grids and windows and every
    value is binned, each quantile within its stated bound
    (``monthly[name].attrs["error_bound"]``).  A split run gives every task an
    empty copy of that accumulator (:meth:`~roicast._quantiles.MonthlyQuantiles.spawn`)
    and merges them in draw order: the counts add up, so the quantiles equal
    a local run's.  With an ``[onprem]`` section the monthly dataset also
    holds, per fleet (``baseline``, ``optimized``) and month,
    ``mean_purchased_instances_*`` (instances ordered, averaged over all draws)
    and ``prob_order_*`` (share of draws that order a lot that month): exact
    running sums over the chunks and tasks.
    """
    n = len(x)
    n_s, n_m = len(SERIES_NAMES), len(months)
    size = chunk_draws(chunk, n_s, n_m, monthly)
    metrics = np.empty((n, len(METRIC_NAMES)))
    acc = MonthlyQuantiles(n_s, n_m, QUANTILES, budget_bytes=QUANTILE_BUDGET) if monthly else None
    run = {
        "seed": seed,
        "price_seed": price_seed,
        "discount_rate": spec.project.discount_rate,
        "monthly": monthly,
        "fleet": fleet,
        "chunk": size,
        "orders": monthly and spec.onprem is not None,
    }
    first = min(n, size)  # the first chunk places the approximate grids and windows
    # on-prem studies: monthly mean instances ordered and P(an order) per fleet (sums merge)
    orders = np.zeros((2, 2, n_m)) if run["orders"] else None
    metrics[:first], acc, o = simulate_draws(_slice(x, 0, first), 0, demand, acc=acc, **run)
    _add(orders, o)
    if acc is not None and 8 * n_s * n_m * n > QUANTILE_BUDGET:
        acc.to_approximate()
    if client is None:
        per = max(size, CHUNK_DRAWS // size * size)  # a block of input values at a time
        for a in range(first, n, per):
            b = min(n, a + per)
            metrics[a:b], _, o = simulate_draws(_slice(x, a, b), a, demand, acc=acc, **run)
            _add(orders, o)
    else:
        _simulate_on_dask(client, x, first, demand, metrics, acc, orders, run)
    return _labelled(metrics, acc, months, orders)


def _add(total: np.ndarray | None, part: np.ndarray | None) -> None:
    if total is not None and part is not None:
        total += part


def _simulate_on_dask(
    client: Any,
    x: np.ndarray | OptionInputs,
    first: int,
    demand: np.ndarray,
    metrics: np.ndarray,
    acc: MonthlyQuantiles | None,
    orders: np.ndarray | None,
    run: dict[str, Any],
) -> None:
    """Draws ``first ..`` on Dask: tasks in flight bounded, results merged in draw order."""
    from collections import deque

    n = metrics.shape[0]
    per_task = max(run["chunk"], DASK_TASK_DRAWS // run["chunk"] * run["chunk"])
    starts = iter(range(first, n, per_task))
    limit = max(2, 2 * sum(client.nthreads().values()))
    demand_f = client.scatter(demand, broadcast=True)
    pending: deque[tuple[int, int, Any]] = deque()

    def submit() -> None:
        a = next(starts, None)
        if a is None:
            return
        b = min(n, a + per_task)
        part = None if acc is None else acc.spawn()
        fut = client.submit(
            simulate_draws, _slice(x, a, b), a, demand_f, acc=part, pure=False, **run
        )
        pending.append((a, b, fut))

    for _ in range(limit):
        submit()
    while pending:
        a, b, fut = pending.popleft()
        m, part, o = fut.result()
        fut.release()
        metrics[a:b] = m
        _add(orders, o)
        if acc is not None:
            acc.merge(part)
        del m, part
        submit()


def _labelled(
    metrics: np.ndarray,
    acc: MonthlyQuantiles | None,
    months: np.ndarray,
    orders: np.ndarray | None = None,
) -> tuple[xr.Dataset, xr.Dataset]:
    """Per-draw metrics and monthly quantiles as labelled datasets."""
    n = metrics.shape[0]
    mds = xr.Dataset(
        {name: ("draw", metrics[:, j]) for j, name in enumerate(METRIC_NAMES)},
        coords={"draw": np.arange(n)},
    )
    mq = xr.Dataset(coords={"quantile": list(QUANTILES), "month": months})
    if acc is not None:
        qs = acc.result()  # (quantile, series, month)
        for j, name in enumerate(SERIES_NAMES):
            mq[name] = (("quantile", "month"), qs[:, j, :])
        mq.attrs["quantiles_exact"] = int(acc.exact)
        bound = np.zeros(len(SERIES_NAMES)) if acc.exact else acc.max_error()
        for j, name in enumerate(SERIES_NAMES):
            mq[name].attrs["error_bound"] = float(bound[j])
    mq["prob_paid_back"] = ("month", _paid_back_curve(mds["payback_months"].values, len(months)))
    if orders is not None:
        for k, fleet_name in enumerate(("baseline", "optimized")):
            mq[f"mean_purchased_instances_{fleet_name}"] = ("month", orders[0, k] / n)
            mq[f"prob_order_{fleet_name}"] = ("month", orders[1, k] / n)
    return mds, mq


def _batch_metrics(
    spec: Spec,
    demand: np.ndarray,
    profiles: Profiles,
    start: int,
    size: int,
    *,
    seed: int,
    price_seed: int | None,
    cols: list[str],
    only: int | None = None,
) -> np.ndarray:
    """Draws ``start .. start+size`` (their own Latin hypercube): ``(option, draw, col)``.

    ``only``: simulate that option alone (the others' rows are left unset).
    """
    smp = sample_inputs(spec, size, n_paths=demand.shape[0], seed=seed, stream=(start,))
    idx = [METRIC_NAMES.index(c) for c in cols]
    block = np.empty((len(spec.options), size, len(idx)))
    for k, opt in enumerate(spec.options):
        if only is not None and k != only:
            continue
        m, _ = simulate_arrays(
            np.ascontiguousarray(smp.values.isel(option=k).values),
            demand,
            seed=seed,
            discount_rate=spec.project.discount_rate,
            monthly=False,
            draw_offset=start,
            price_seed=price_seed,
            fleet=fleet_config(spec, opt, profiles),
        )
        block[k] = m[:, idx]
    return block


def draws_until_stable(
    spec: Spec,
    tol: float,
    *,
    seed: int,
    forecast: Forecast,
    batch: int = 10_000,
    max_draws: int = 1_000_000,
    price_seed: int | None = None,
) -> tuple[int, dict[str, Any]]:
    """How many draws make mean NPV and its P10/P50/P90 stable to ``tol``.

    Adds batches of ``batch`` draws (each batch its own Latin hypercube, draw
    indices continuing) until the relative half-width of the 95 % interval of
    mean NPV and of each of its P10/P50/P90 is at most ``tol`` for every option
    (:func:`roicast.sensitivity.until_stable`), or ``max_draws`` is reached.
    Returns the number of draws (a multiple of ``batch``) and a record per option.
    """
    if not 0 < tol < 1:
        raise RoicastError(f"--until-stable: {tol} must be in (0, 1), e.g. 0.01 for ±1 %")
    if max_draws < batch:
        raise RoicastError(f"--max-draws: {max_draws} must be at least the batch size {batch}")
    demand = demand_matrix(forecast)
    profiles = study_profiles(spec)
    needed = 0
    records: dict[str, Any] = {}
    for k, opt in enumerate(spec.options):

        def run_batch(start: int, n: int, k: int = k) -> np.ndarray:
            block = _batch_metrics(
                spec,
                demand,
                profiles,
                start,
                n,
                seed=seed,
                price_seed=price_seed,
                cols=["npv"],
                only=k,
            )
            return block[k, :, 0]

        run = until_stable(run_batch, tol=tol, batch=batch, max_draws=max_draws)
        needed = max(needed, run.n_draws)
        records[opt.name] = {
            "draws": run.n_draws,
            "converged": bool(run.converged),
            "max_rel_half_width": float(run.record["max_rel_half_width"].iloc[-1]),
        }
    return needed, {"tol": tol, "batch": batch, "max_draws": max_draws, "options": records}


def analyse_option(
    name: str,
    metrics: xr.Dataset,
    monthly: xr.Dataset,
    sample: Sample,
    demand: np.ndarray,
    spec: Spec,
    *,
    seed: int,
    price_seed: int,
    n_noise: int,
    sensitivity: bool = True,
    fleet: FleetConfig | None = None,
) -> OptionAnalysis:
    """Sensitivity analysis of one option's simulated draws.

    Tornado (NPV, ROI, payback) and Monte Carlo standard errors always; with
    ``sensitivity``: rankings from the Monte Carlo run (Spearman, contribution
    to variance, binned change in mean with the non-monotonic flag), Sobol
    indices of NPV (the price-path and model-update noise counted as one more
    input), tail scenarios with their drivers, deterministic three-point cases,
    break-even values, EVPI and per-input EVPPI.
    """
    sim = spec.simulation
    dists = sample.distributions[name]
    free = sample.free_inputs(name)
    free_d = {k: dists[k] for k in free}
    ev = option_evaluator(  # a combining option's rows derive from its parts like the draws
        sample,
        name,
        demand,
        n_noise=n_noise,
        seed=seed,
        price_seed=price_seed,
        discount=spec.project.discount_rate,
        horizon=spec.project.horizon_months,
        fleet=fleet,
    )
    npv = metrics["npv"].values
    base = {
        "name": name,
        "metrics": metrics,
        "monthly": monthly,
        "convergence": mc_standard_errors(npv),
        "tornado": (
            tornado(ev.mean, free_d, low=sim.tornado_low, high=sim.tornado_high)
            if free
            else _empty_tornado()
        ),
    }
    if not (sensitivity and free):
        return OptionAnalysis(**base)
    if np.ptp(npv) == 0:  # NPV does not vary: nothing to attribute, nothing to learn
        evppi0 = pd.Series(0.0, index=pd.Index(free, name="input"), name="evppi")
        return OptionAnalysis(**base, evpi=0.0, evppi=evppi0)
    return OptionAnalysis(
        **base, **_full_sensitivity(ev, free_d, sample, name, metrics, spec, seed)
    )


def _full_sensitivity(
    ev: ModelEvaluator,
    free_d: dict[str, Distribution],
    sample: Sample,
    name: str,
    metrics: xr.Dataset,
    spec: Spec,
    seed: int,
) -> dict[str, Any]:
    sim = spec.simulation
    x = _inputs_frame(sample, name, list(free_d))
    npv, roi = metrics["npv"].values, metrics["roi"].values
    out: dict[str, Any] = {
        "rankings": rankings(x, npv),
        "scenarios_npv": tail_scenarios(x, npv),
        "scenarios_roi": tail_scenarios(x, roi) if np.isfinite(roi).all() else None,
        "three_point": three_point_cases(
            ev.mean_npv, free_d, low=sim.tornado_low, high=sim.tornado_high
        ),
        "break_even": break_even(ev.mean_npv, free_d),
        "evpi": evpi(npv),
        "evppi": evppi(x, npv),
    }
    if sim.sobol and np.ptp(npv) > 1e-9 * max(1.0, float(np.abs(npv).max())):
        rng = np.random.default_rng([seed, 3])
        # heavy-tailed NPV: indices of the normal scores, always in [0, 1] (README, sensitivity)
        out["sobol"] = sobol_indices(
            ev.per_row,
            {**free_d, NOISE: DEMAND_RANK},
            sim.sobol_n,
            seed=rng,
            transform="auto",
            clip=True,
        )
    out["rows_evaluated"] = ev.rows_evaluated
    return out


def _empty_tornado() -> dict[str, pd.DataFrame]:
    cols = ["low_value", "high_value", "low", "high", "swing", "base"]
    return {
        k: pd.DataFrame(columns=cols, index=pd.Index([], name="input")) for k in TORNADO_OUTPUTS
    }


def _check_finite(metrics: xr.Dataset, sample: Sample, option: str) -> None:
    """Refuse a study whose cash flows overflow, naming the inputs of the first bad draw."""
    key = np.stack([metrics["npv"].values, metrics["investment"].values], axis=1)
    # beyond 1e150 the statistics (variances) overflow; no real project gets near it
    with np.errstate(invalid="ignore"):
        bad = np.flatnonzero(~(np.abs(key) < 1e150).all(axis=1))
    if bad.size == 0:
        return
    i = int(bad[0])
    names = list(sample.uncertain)
    row = _option_rows(sample, option, i, i + 1, names)[0]
    shown = ", ".join(f"{name}={float(v):.4g}" for name, v in zip(names, row, strict=True))
    raise RoicastError(
        f"option[{option}]: the cash flows overflow in {bad.size} of {key.shape[0]} draws "
        f"(first: draw {i}, {shown or 'every input fixed'}); check the spec's magnitudes "
        "(prices, volumes, pricing.annual_volatility)"
    )


def _paid_back_curve(pb: np.ndarray, horizon: int) -> np.ndarray:
    """P(payback ≤ t) for t = 1..H."""
    t = np.arange(1, horizon + 1)
    return (pb[:, None] <= t[None, :]).mean(axis=0)


def _settled(share: float, target: float, n: int, z: float) -> bool:
    """Whether a Monte Carlo proportion is on one side of ``target`` at ``z`` standard errors.

    The s.e. is binomial, :math:`\\sqrt{\\max(\\hat p(1-\\hat p), 1/n)/n}` (floored so that
    a proportion of exactly 0 or 1 after few draws is not taken as certain).
    """
    se = math.sqrt(max(share * (1.0 - share), 1.0 / n) / n)
    return abs(share - target) >= z * se


def verdict_settled(
    npv: np.ndarray, payback: np.ndarray, decision: Any, *, confidence: float = 0.95
) -> dict[str, Any]:
    """Is the decision rule's verdict settled by these draws at ``confidence``?

    Every condition of the rule is a proportion against a threshold:
    :math:`P(\\text{NPV} > 0) \\ge p^*`; ``P50 payback <= m`` ⇔
    :math:`P(\\text{payback} \\le m) \\ge 0.5`; ``P10 NPV >= c`` ⇔
    :math:`P(\\text{NPV} < c) \\le 0.1`.  A condition is settled when its
    proportion is at least :math:`z = \\Phi^{-1}(\\text{confidence})` binomial
    standard errors from its threshold (one-sided).  The verdict is settled
    when a condition is settled failing (no-go whatever the others) or every
    condition is settled passing (go).  With ``rank_by = "p50"`` the condition
    P50 NPV > 0 is the proportion :math:`P(\text{NPV} > 0)` against 0.5; with
    ``"cvar10"``, CVaR10 NPV > 0 is settled when it is at least :math:`z` of
    its standard errors from 0 (:func:`roicast.report.review.cvar_se`).
    """
    from scipy.stats import norm

    n = npv.size
    z = float(norm.ppf(confidence))
    conds = [(float((npv > 0).mean()), decision.min_prob_positive_npv, True)]
    if decision.max_payback_p50_months is not None:
        conds.append((float((payback <= decision.max_payback_p50_months).mean()), 0.5, True))
    if decision.min_npv_p10 is not None:
        conds.append((float((npv < decision.min_npv_p10).mean()), 0.1, False))
    rank_by = getattr(decision, "rank_by", "mean")
    if rank_by == "p50":
        conds.append((float((npv > 0).mean()), 0.5, True))
    state = []
    for share, target, at_least in conds:
        passed = share >= target if at_least else share <= target
        state.append((passed, _settled(share, target, n, z)))
    if rank_by == "cvar10":
        from roicast.report.review import cvar, cvar_se

        value, se = cvar(npv), cvar_se(npv)
        state.append((value > 0, bool(abs(value) >= z * se) if np.isfinite(se) else False))
    fails_settled = any(s and not p for p, s in state)
    all_pass_settled = all(s and p for p, s in state)
    return {
        "settled": bool(fails_settled or all_pass_settled),
        "verdict": "go" if all(p for p, _ in state) else "no-go",
        "prob_npv_positive": conds[0][0],
        "z": z,
    }


def draws_until_decided(
    spec: Spec,
    tol: float,
    *,
    seed: int,
    forecast: Forecast,
    confidence: float = 0.95,
    batch: int = 10_000,
    max_draws: int = 1_000_000,
    price_seed: int | None = None,
) -> tuple[int, dict[str, Any]]:
    """How many draws settle the verdict and pin the headline numbers to ``tol`` × investment.

    Adds batches of ``batch`` draws (each its own Latin hypercube, draw indices
    continuing) until, for every option,

    * the decision rule's verdict is settled at ``confidence``
      (:func:`verdict_settled`), and
    * the 95 % half-width (1.96 s.e., :func:`roicast.sensitivity.mc_standard_errors`)
      of mean NPV and of its P10 / P50 / P90 is at most ``tol`` × the mean
      investment (an absolute tolerance: a relative one cannot be met near
      NPV = 0); when the investment is 0, ``tol`` × the P10–P90 width of NPV,

    or ``max_draws`` is reached.  Returns the draws (a multiple of ``batch``
    unless capped) and a record per option (``converged``: both criteria met).
    """
    if not 0 < tol < 1:
        raise RoicastError(f"--until-stable: {tol} must be in (0, 1), e.g. 0.01 for ±1 %")
    if not 0.5 < confidence < 1:
        raise RoicastError(f"confidence: {confidence} must be in (0.5, 1), e.g. 0.95")
    if max_draws < batch:
        raise RoicastError(f"--max-draws: {max_draws} must be at least the batch size {batch}")
    demand = demand_matrix(forecast)
    profiles = study_profiles(spec)
    cols = ["npv", "payback_months", "investment"]
    chunks: list[np.ndarray] = []
    records: dict[str, Any] = {}
    start = 0
    while start < max_draws:
        size = min(batch, max_draws - start)
        block = _batch_metrics(
            spec, demand, profiles, start, size, seed=seed, price_seed=price_seed, cols=cols
        )
        chunks.append(block)
        start += size
        allm = np.concatenate(chunks, axis=1)
        done = True
        for k, opt in enumerate(spec.options):
            npv, pb, inv = allm[k, :, 0], allm[k, :, 1], allm[k, :, 2]
            verdict = verdict_settled(npv, pb, spec.decision, confidence=confidence)
            err = mc_standard_errors(npv)
            scale = float(inv.mean())
            if not scale > 0:
                scale = float(np.subtract(*np.quantile(npv, [0.9, 0.1])))
            limit = tol * scale
            worst = float(err["half_width"].max())
            precise = bool(worst <= limit) if np.isfinite(worst) else False
            records[opt.name] = {
                "draws": start,
                "converged": bool(verdict["settled"] and precise),
                "verdict": verdict["verdict"],
                "verdict_settled": verdict["settled"],
                "prob_npv_positive": verdict["prob_npv_positive"],
                "max_half_width": worst,
                "tolerance": limit,
                "max_rel_half_width": float(err["rel_half_width"].max()),
            }
            done = done and records[opt.name]["converged"]
        if done:
            break
    return start, {
        "tol": tol,
        "confidence": confidence,
        "batch": batch,
        "max_draws": max_draws,
        "criterion": "verdict settled at the stated confidence (each rule condition's proportion "
        "at least z binomial s.e. from its threshold) and the 95 % half-width of mean NPV and its "
        "P10/P50/P90 at most tol × mean investment",
        "options": records,
    }


def run_study_until_decided(
    spec: Spec,
    tol: float,
    *,
    seed: int | None = None,
    max_draws: int = 1_000_000,
    confidence: float = 0.95,
    progress: Progress | None = None,
    **kwargs: Any,
) -> StudyResult:
    """Find the draws :func:`draws_until_decided` needs, then run the study with them.

    The record lands in ``StudyResult.until_stable``.
    """
    s = int(seed if seed is not None else spec.simulation.seed)
    fc = forecast_for(spec, seed=s, progress=progress)
    n, record = draws_until_decided(
        spec, tol, seed=s, forecast=fc, max_draws=max_draws, confidence=confidence
    )
    result = run_study(spec, draws=n, seed=s, progress=progress, forecast=fc, **kwargs)
    return replace(result, until_stable=record)
