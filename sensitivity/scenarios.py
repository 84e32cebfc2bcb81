"""Worst / expected / best scenarios: what drives each tail, and deterministic three-point cases.

Two different things, kept apart and labelled:

* :func:`tail_scenarios` reads the Monte Carlo run: the output's P10 / P50 / P90
  and, for each, the inputs whose values in that part of the distribution
  differ most from their overall distribution.
* :func:`three_point_cases` evaluates the model at three *deterministic* points:
  every input at its adverse value, at its median, at its favourable value.  The
  all-adverse case is far less likely than P10 (all inputs are rarely bad
  together); it is a stress test, not a percentile.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from roicast.errors import RoicastError
from roicast.sensitivity._common import (
    as_inputs,
    as_output,
    as_samples,
    call_model,
    check_probability,
    ppf,
)

__all__ = ["Scenario", "ThreePointCases", "tail_scenarios", "three_point_cases"]

SCENARIO_NAMES = ("worst", "expected", "best")


@dataclass(frozen=True)
class Scenario:
    """One scenario of :func:`tail_scenarios`.

    Attributes
    ----------
    name : str
        ``"worst"``, ``"expected"`` or ``"best"``.
    quantile : float
        The output quantile (e.g. 0.1).
    value : float
        The output at that quantile (e.g. P10 NPV).
    selection : str
        Which draws describe the scenario, e.g. ``"y <= P10"`` or
        ``"0.45 <= F(y) <= 0.55"``.
    n_draws : int
        Number of draws selected.
    shifts : pandas.DataFrame
        Every input (sorted by ``|z|``): ``z`` (standardized shift of the mean),
        ``direction`` (``"high"`` / ``"low"``), ``scenario_mean``, ``overall_mean``.
    drivers : pandas.DataFrame
        The first ``top`` rows of ``shifts``.
    """

    name: str
    quantile: float
    value: float
    selection: str
    n_draws: int
    shifts: pd.DataFrame
    drivers: pd.DataFrame

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict with the top drivers."""
        return {
            "name": self.name,
            "quantile": self.quantile,
            "value": self.value,
            "selection": self.selection,
            "n_draws": self.n_draws,
            "drivers": [
                {
                    "input": str(name),
                    "z": float(row["z"]),
                    "direction": str(row["direction"]),
                    "scenario_mean": float(row["scenario_mean"]),
                    "overall_mean": float(row["overall_mean"]),
                }
                for name, row in self.drivers.iterrows()
            ],
        }


def _check_quantiles(quantiles: Sequence[float]) -> tuple[float, float, float]:
    try:
        qs = tuple(float(q) for q in quantiles)
    except (TypeError, ValueError):
        raise RoicastError(
            f"`quantiles` must be three numbers in (0, 1), got {quantiles!r}"
        ) from None
    if len(qs) != 3:
        raise RoicastError(
            f"`quantiles` must be three numbers (worst, expected, best), got {len(qs)}"
        )
    for q in qs:
        check_probability(q, "quantiles")
    if not qs[0] < qs[1] < qs[2]:
        raise RoicastError(f"`quantiles` must be increasing (worst < expected < best), got {qs}")
    return qs  # type: ignore[return-value]


def tail_scenarios(
    X: pd.DataFrame | xr.DataArray,
    y: Any,
    *,
    quantiles: Sequence[float] = (0.1, 0.5, 0.9),
    window: float = 0.05,
    top: int = 3,
    tails: str = "beyond",
) -> dict[str, Scenario]:
    r"""Worst / expected / best output quantiles and the inputs that drive each.

    For each scenario a set of draws :math:`T` is selected by the empirical CDF
    :math:`F` of the output:

    * worst (``quantiles[0]``, P10 by default): :math:`y \le \hat y_{0.1}`, the
      whole lower tail;
    * best (``quantiles[2]``): :math:`y \ge \hat y_{0.9}`, the whole upper tail;
    * expected (``quantiles[1]``): :math:`|F(y) - 0.5| \le` ``window``.

    With ``tails="window"`` the worst and best cases also use the window around
    their quantile (the draws *at* P10 rather than *below* it).

    For each input the shift of its mean in :math:`T`, in units of its standard
    deviation over all draws, is

    .. math:: z_i = \frac{\bar x_{i,T} - \bar x_i}{s_{x_i}},

    and the ``top`` inputs by :math:`|z_i|` are the scenario's drivers, with
    direction ``"high"`` (:math:`z > 0`) or ``"low"``.  Zero-variance inputs
    get :math:`z = 0`.

    Parameters
    ----------
    X : pandas.DataFrame or xarray.DataArray
        Inputs per draw (columns, or dims ``(draw, input)``).
    y : array-like
        Output per draw (NPV, ROI, ...).
    quantiles : three floats, keyword-only
        Worst, expected and best quantiles, increasing.
    window : float, keyword-only
        Half-width of the window in quantile space (0.05: P45..P55 for P50).
    top : int, keyword-only
        Drivers reported per scenario.
    tails : {"beyond", "window"}, keyword-only
        Selection for the worst and best cases.

    Returns
    -------
    dict of str -> Scenario
        Keys ``"worst"``, ``"expected"``, ``"best"`` in that order.
    """
    names, values = as_samples(X)
    out = as_output(y, values.shape[0])
    qs = _check_quantiles(quantiles)
    window = check_probability(window, "window")
    if isinstance(top, bool) or not isinstance(top, int | np.integer) or top < 1:
        raise RoicastError(f"`top` must be a positive int, got {top!r}")
    if tails not in ("beyond", "window"):
        raise RoicastError(f"`tails` must be 'beyond' or 'window', got {tails!r}")

    n = out.shape[0]
    order = np.argsort(out, kind="stable")
    cdf = np.empty(n)
    cdf[order] = (np.arange(n) + 0.5) / n  # plotting position of each draw
    overall_mean = values.mean(axis=0)
    sd = values.std(axis=0)
    index = pd.Index(names, name="input")
    result: dict[str, Scenario] = {}
    for name, q in zip(SCENARIO_NAMES, qs, strict=True):
        value = float(np.quantile(out, q))
        if tails == "beyond" and name == "worst":
            mask = out <= value
            selection = f"y <= P{q * 100:g}"
        elif tails == "beyond" and name == "best":
            mask = out >= value
            selection = f"y >= P{q * 100:g}"
        else:
            lo, hi = max(q - window, 0.0), min(q + window, 1.0)
            mask = (cdf >= lo) & (cdf <= hi)
            selection = f"{lo:g} <= F(y) <= {hi:g}"
        n_sel = int(mask.sum())
        if n_sel == 0:
            raise RoicastError(
                f"`window` ({window:g}) selects no draw around quantile {q:g} "
                f"with {n} draws; widen it"
            )
        tail_mean = values[mask].mean(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            z = np.where(sd > 0, (tail_mean - overall_mean) / sd, 0.0)
        shifts = pd.DataFrame(
            {
                "z": z,
                "direction": np.where(z >= 0, "high", "low"),
                "scenario_mean": tail_mean,
                "overall_mean": overall_mean,
            },
            index=index,
        )
        shifts = shifts.iloc[np.argsort(-np.abs(z), kind="stable")]
        result[name] = Scenario(
            name=name,
            quantile=q,
            value=value,
            selection=selection,
            n_draws=n_sel,
            shifts=shifts,
            drivers=shifts.iloc[: int(top)],
        )
    return result


@dataclass(frozen=True)
class ThreePointCases:
    """Deterministic adverse / base / favourable cases of :func:`three_point_cases`.

    Attributes
    ----------
    values : pandas.DataFrame
        Index ``case`` (``adverse``, ``base``, ``favourable``), one column per
        input: the input value used in each case.
    output : pandas.Series
        The model output per case.
    direction : pandas.Series
        Per input: +1 when a higher value is favourable, -1 when a lower value
        is, 0 when the input has no effect (kept at its median in all cases).
    low, high : float
        The quantiles used as the adverse / favourable values.
    n_evals : int
        Rows evaluated by ``func``.
    label : str
        Always ``"deterministic"``: these are not percentiles of the output.
    """

    values: pd.DataFrame
    output: pd.Series
    direction: pd.Series
    low: float
    high: float
    n_evals: int
    label: str = "deterministic"

    @property
    def names(self) -> tuple[str, ...]:
        """Input names, in the order of the columns of ``values``."""
        return tuple(str(c) for c in self.values.columns)

    def to_dataframe(self) -> pd.DataFrame:
        """One row per input: its ``adverse``, ``base``, ``favourable`` values and ``direction``.

        ``attrs["output"]`` holds the model output per case.
        """
        df = self.values.T.copy()
        df.columns = list(df.columns)
        df.index.name = "input"
        df["direction"] = self.direction.reindex(df.index).to_numpy()
        df.attrs["output"] = {str(k): float(v) for k, v in self.output.items()}
        return df

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "label": self.label,
            "low": self.low,
            "high": self.high,
            "cases": {
                case: {
                    "output": float(self.output[case]),
                    "inputs": {str(k): float(v) for k, v in self.values.loc[case].items()},
                }
                for case in self.values.index
            },
            "direction": {str(k): int(v) for k, v in self.direction.items()},
        }


def three_point_cases(
    func: Callable[[dict[str, np.ndarray]], np.ndarray],
    inputs: Mapping[str, Any],
    *,
    favourable_direction: Mapping[str, int] | None = None,
    low: float = 0.1,
    high: float = 0.9,
) -> ThreePointCases:
    r"""Deterministic cases with every input at its adverse, base or favourable value.

    Each input takes :math:`F_i^{-1}(\text{low})`, its median
    :math:`F_i^{-1}(0.5)` or :math:`F_i^{-1}(\text{high})`.  Which end is
    favourable comes from ``favourable_direction`` or, for inputs not listed
    there, from a one-at-a-time sign with the others at their medians:

    .. math::

        d_i = \operatorname{sign}\bigl(f(x_i = F_i^{-1}(\text{high})) - f(x_i = F_i^{-1}(\text{low}))\bigr),

    (``+1``: higher output is better, so the high end is favourable).  An input
    with :math:`d_i = 0` stays at its median in all three cases.

    Parameters
    ----------
    func : callable
        ``func(x) -> y``: ``x`` maps every input name to a 1-D array of settings
        (one per row), ``y`` the 1-D output per row (e.g. mean NPV over common
        random numbers, or a deterministic model).  Called twice: once for the
        base and the one-at-a-time signs, once for the three cases.
    inputs : mapping of str -> distribution
        Anything with ``ppf(q)``.
    favourable_direction : mapping of str -> {+1, -1}, keyword-only
        Known directions (e.g. ``{"price_ratio": -1}``); others are derived.
    low, high : float, keyword-only
        Quantiles of the adverse / favourable ends (``low < 0.5 < high``).

    Returns
    -------
    ThreePointCases
        Labelled ``"deterministic"``.
    """
    dists = as_inputs(inputs)
    low = check_probability(low, "low")
    high = check_probability(high, "high")
    if not low < 0.5 < high:
        raise RoicastError(
            f"`low` and `high` must satisfy low < 0.5 < high, got {low:g} and {high:g}"
        )
    given: dict[str, int] = {}
    for name, d in (favourable_direction or {}).items():
        if name not in dists:
            raise RoicastError(
                f"`favourable_direction` names unknown input {name!r}; inputs are {list(dists)}"
            )
        if d not in (1, -1):
            raise RoicastError(f"`favourable_direction[{name!r}]` must be +1 or -1, got {d!r}")
        given[name] = int(d)

    names = list(dists)
    q = np.array([low, 0.5, high])
    ends = {name: ppf(dists[name], q, name) for name in names}  # (low, base, high)
    derive = [name for name in names if name not in given]
    # Rows: base, then (low, high) for each input whose direction is derived.
    n_rows = 1 + 2 * len(derive)
    x = {name: np.full(n_rows, ends[name][1]) for name in names}
    for j, name in enumerate(derive):
        x[name][1 + 2 * j] = ends[name][0]
        x[name][2 + 2 * j] = ends[name][2]
    y = call_model(func, x, n_rows)
    direction = dict(given)
    for j, name in enumerate(derive):
        direction[name] = int(np.sign(y[2 + 2 * j] - y[1 + 2 * j]))

    cases = ("adverse", "base", "favourable")
    case_x = {}
    for name in names:
        lo_v, base_v, hi_v = ends[name]
        d = direction[name]
        if d > 0:
            case_x[name] = np.array([lo_v, base_v, hi_v])
        elif d < 0:
            case_x[name] = np.array([hi_v, base_v, lo_v])
        else:
            case_x[name] = np.array([base_v, base_v, base_v])
    y_cases = call_model(func, {k: v.copy() for k, v in case_x.items()}, 3)
    index = pd.Index(cases, name="case")
    return ThreePointCases(
        values=pd.DataFrame(case_x, index=index),
        output=pd.Series(y_cases, index=index, name="output"),
        direction=pd.Series(
            [direction[n] for n in names], index=pd.Index(names, name="input"), name="direction"
        ),
        low=low,
        high=high,
        n_evals=n_rows + 3,
    )
