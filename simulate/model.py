"""The Python layer around the numba kernels: checks, labels, xarray.

The model (DESIGN.md, "The model"), monthly steps ``t = 1..H``, ``h = 730``:

.. math::

    P_t = p_0 \\exp\\Big(t \\tfrac{\\ln(1+r)}{12} + \\tfrac{\\sigma}{\\sqrt{12}} \\sum_{s \\le t} \\varepsilon_s\\Big)

    G^0_t = \\max(D_t / \\kappa_0, m_0 h), \\quad \\kappa_0 = \\tau_0 \\cdot 3600 \\cdot u_0

    G^1_t = \\max(D_t / \\kappa_1, m_1 h), \\quad \\kappa_1 = \\tau_0 g \\cdot 3600 \\cdot u_1

    C^0_t = G^0_t P_t, \\quad C^1_t = G^1_t \\rho P_t

    a_t = \\mathrm{clip}\\big((t - T)/\\max(R, 1), 0, 1\\big)\\,(1 - \\text{downtime}_t)

    CF_t = a_t (C^0_t - C^1_t) + a_t b - I_t

with the investment ``I_t`` = build ``E c_e + V`` spread evenly over
``(0, max(T, 1)]`` + licences ``L / 12`` every month + maintenance
``φ E c_e / 12`` after go-live + ``c_u`` per model update.  Model updates
arrive after go-live as a Poisson process with ``λ`` a year; each takes the
optimization down for ``δ`` months (downtime is the union of those intervals,
as a fraction of each month).  Ramps shorter than a month (``R < 1``) complete
in the first live month; a fractional ``T`` makes month ``⌈T⌉`` partly live.

Per draw: ROI ``(gain - K) / K``, NPV ``Σ CF_t (1+d)^{-t/12}``, payback (first
fractional month where the cumulative cash flow reaches 0; ``inf`` when not
within the horizon), discounted payback, annualised IRR (NaN where the cash
flows do not change sign within a monthly rate of -50 % .. +200 %), TCO
baseline ``Σ C^0``, TCO optimized ``Σ (a C^1 + (1-a) C^0) + K``, cost per
million units before (``Σ C^0 / Σ D``) and after (``Σ C^1 / Σ D``, fully
live), instance-hours saved ``Σ a (G^0 - G^1)``.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from roicast.errors import RoicastError
from roicast.simulate import _kernels as K

__all__ = ["INPUT_NAMES", "METRIC_NAMES", "SERIES_NAMES", "simulate", "simulate_arrays"]

#: Inputs of the model, in the column order of the kernels, named as in the spec.
INPUT_NAMES: tuple[str, ...] = (
    "demand",
    "baseline.throughput",
    "baseline.utilization",
    "baseline.price",
    "baseline.floor_instances",
    "optimized.throughput_gain",
    "optimized.utilization",
    "optimized.price_ratio",
    "optimized.floor_instances",
    "pricing.annual_change",
    "pricing.annual_volatility",
    "implementation.months",
    "implementation.ramp_months",
    "implementation.engineer_months",
    "implementation.engineer_cost",
    "implementation.validation_cost",
    "implementation.licence_per_year",
    "implementation.maintenance_fraction",
    "churn.updates_per_year",
    "churn.cost_per_update",
    "churn.downtime_months",
    "indirect.benefit_per_month",
)
assert len(INPUT_NAMES) == K.N_INPUTS

#: Per-draw outputs, in the column order of the kernels.
METRIC_NAMES: tuple[str, ...] = (
    "roi",
    "npv",
    "payback_months",
    "discounted_payback_months",
    "irr",
    "tco_baseline",
    "tco_optimized",
    "cost_per_million_baseline",
    "cost_per_million_optimized",
    "instance_hours_saved",
    "investment",
    "gain",
    "savings",
    "model_updates",
    "demand_total",
)
assert len(METRIC_NAMES) == K.N_METRICS

#: Monthly outputs, in the row order of the kernels.
SERIES_NAMES: tuple[str, ...] = (
    "cumulative_cash_flow",
    "spend_baseline",
    "spend_optimized",
    "instance_hours_baseline",
    "instance_hours_optimized",
)
assert len(SERIES_NAMES) == K.N_SERIES


def _as_matrix(inputs: xr.DataArray | np.ndarray) -> np.ndarray:
    if isinstance(inputs, xr.DataArray):
        names = [str(v) for v in inputs["input"].values]
        missing = [n for n in INPUT_NAMES if n not in names]
        if missing:
            raise RoicastError(
                f"inputs: missing input(s) {', '.join(missing)}; the model needs {', '.join(INPUT_NAMES)}"
            )
        inputs = inputs.transpose("draw", "input").sel(input=list(INPUT_NAMES)).values
    x = np.ascontiguousarray(inputs, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != K.N_INPUTS:
        raise RoicastError(f"inputs: expected shape (draws, {K.N_INPUTS}), got {x.shape}")
    if not np.isfinite(x).all():
        bad = np.argwhere(~np.isfinite(x))[0]
        raise RoicastError(
            f"inputs: {INPUT_NAMES[bad[1]]} is {x[bad[0], bad[1]]} at draw {bad[0]}; inputs must be finite"
        )
    return x


def _sorted_demand(demand: xr.DataArray | np.ndarray) -> np.ndarray:
    d = demand.transpose("path", "month").values if isinstance(demand, xr.DataArray) else demand
    d = np.asarray(d, dtype=np.float64)
    if d.ndim != 2 or d.shape[0] < 1 or d.shape[1] < 1:
        raise RoicastError(
            f"demand: expected a (path, month) array with at least one path and month, got shape {d.shape}"
        )
    if not np.isfinite(d).all() or (d < 0).any():
        raise RoicastError("demand: volumes must be finite and >= 0")
    order = np.argsort(d.sum(axis=1), kind="stable")
    return np.ascontiguousarray(d[order])


def simulate_arrays(
    inputs: np.ndarray,
    demand: np.ndarray,
    *,
    seed: int,
    discount_rate: float,
    monthly: bool = True,
    draw_offset: int = 0,
    price_seed: int | None = None,
    draw_ids: np.ndarray | None = None,
    irr: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Run the kernel on plain arrays; returns ``(metrics, series)``.

    ``demand`` rows must already be sorted by total volume (as
    :func:`simulate` does); ``series`` has shape ``(N_SERIES, draws, months)``,
    or ``(N_SERIES, 0, 0)`` when ``monthly`` is false.  ``price_seed``
    (default ``seed``) keys the price shocks alone.  ``draw_ids`` (default
    ``draw_offset + arange(n)``) is each row's noise index: rows with the same
    id share price path and model-update times (common random numbers).
    ``irr=False`` skips the IRR (NaN), the costliest metric.
    """
    n = inputs.shape[0]
    horizon = demand.shape[1]
    metrics = np.empty((n, K.N_METRICS))
    series = np.empty((K.N_SERIES, n, horizon) if monthly else (K.N_SERIES, 0, 0))
    ps = seed if price_seed is None else price_seed
    if draw_ids is None:
        ids = np.arange(draw_offset, draw_offset + n, dtype=np.int64)
    else:
        ids = np.ascontiguousarray(draw_ids, dtype=np.int64)
    K.simulate_kernel(
        inputs,
        demand,
        np.uint64(seed),
        np.uint64(ps),
        float(discount_rate),
        ids,
        bool(irr),
        metrics,
        series,
    )
    return metrics, series


def simulate(
    inputs: xr.DataArray | np.ndarray,
    demand: xr.DataArray | np.ndarray,
    *,
    seed: int,
    discount_rate: float,
    monthly: bool = True,
    draw_offset: int = 0,
    price_seed: int | None = None,
) -> xr.Dataset:
    """Simulate the cash flows of every draw.

    Parameters
    ----------
    inputs : xarray.DataArray (draw, input) or ndarray (draws, 22)
        One value of every model input per draw (:data:`INPUT_NAMES`);
        ``demand`` is a uniform in (0, 1) that picks a demand path by its rank
        of total volume (0.5: the median path).
    demand : xarray.DataArray (path, month) or ndarray
        Demand paths, units per month.  Sorted here by total volume.
    seed : int
        Study seed (0 .. 2**64 - 1); the price shocks and model-update times of
        draw ``i`` depend only on ``(seed, i + draw_offset)``.
    discount_rate : float
        Annual discount rate ``d`` for NPV and discounted payback.
    monthly : bool
        Also return the monthly series (draw, month).
    draw_offset : int
        Absolute index of the first draw, for running a study in batches.
    price_seed : int, optional
        Seed of the price shocks alone (default ``seed``): studies given the
        same ``price_seed`` see the same price path in the same draw.

    Returns
    -------
    xarray.Dataset
        Variables :data:`METRIC_NAMES` over ``draw`` and, when ``monthly``,
        :data:`SERIES_NAMES` over ``(draw, month)``.
    """
    if not 0 <= int(seed) < 2**64:
        raise RoicastError(f"seed: {seed} is outside 0 .. 2**64 - 1")
    if not discount_rate > -1:
        raise RoicastError(f"discount_rate: {discount_rate} must be > -1")
    x = _as_matrix(inputs)
    d = _sorted_demand(demand)
    metrics, series = simulate_arrays(
        x, d, seed=int(seed), discount_rate=discount_rate, monthly=monthly, draw_offset=draw_offset
    )
    draws = np.arange(draw_offset, draw_offset + x.shape[0])
    data = {name: ("draw", metrics[:, j]) for j, name in enumerate(METRIC_NAMES)}
    coords: dict[str, object] = {"draw": draws}
    if monthly:
        data.update({name: (("draw", "month"), series[j]) for j, name in enumerate(SERIES_NAMES)})
        if isinstance(demand, xr.DataArray) and "month" in demand.coords:
            coords["month"] = demand["month"].values
        else:
            coords["month"] = np.arange(1, d.shape[1] + 1)
    ds = xr.Dataset(data, coords=coords)
    ds["payback_months"].attrs["note"] = "inf: not paid back within the horizon"
    return ds
