"""Demand fan chart."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["plot_fan"]


def plot_fan(forecast, ax=None):
    """Fan chart of monthly demand: P10–P90 and P25–P75 bands, median, history.

    Parameters
    ----------
    forecast : Forecast
        From :func:`forecast_demand` or :func:`forecast_from_growth`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; by default a new :class:`matplotlib.figure.Figure`
        (no pyplot, no window: safe in batch jobs).

    Returns
    -------
    matplotlib.figure.Figure
        The figure holding the chart (``ax.figure`` when ``ax`` is given).

    Notes
    -----
    History months only partly covered by the data are scaled to a full month
    and drawn as hollow markers.
    """
    from matplotlib.figure import Figure

    if ax is None:
        fig = Figure(figsize=(8, 4.5), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    paths = forecast.paths
    months = pd.PeriodIndex(paths["month"].to_numpy(), freq="M").to_timestamp()
    q = np.quantile(paths.to_numpy(), [0.1, 0.25, 0.5, 0.75, 0.9], axis=0)
    ax.fill_between(months, q[0], q[4], color="C0", alpha=0.2, lw=0, label="P10–P90")
    ax.fill_between(months, q[1], q[3], color="C0", alpha=0.35, lw=0, label="P25–P75")
    ax.plot(months, q[2], color="C0", lw=1.8, label="median")
    hist = forecast.history_monthly
    if hist is not None and len(hist):
        hm = pd.PeriodIndex(hist.index, freq="M").to_timestamp()
        partial = np.isin(hist.index, hist.attrs.get("partial_months", []))
        ax.plot(hm, hist.to_numpy(), color="k", lw=1.2, label="history")
        if partial.any():
            ax.plot(
                hm[partial],
                hist.to_numpy()[partial],
                "o",
                mfc="none",
                color="k",
                label="history (partial month, scaled)",
            )
    unit = paths.attrs.get("unit", "volume")
    ax.set_ylabel(f"{unit} per month")
    ax.set_title("Demand forecast", loc="left")
    ax.set_ylim(bottom=0)
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize="small", frameon=False)
    return fig
