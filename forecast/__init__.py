"""Forecast stage: traffic history in, monthly demand paths out.

``read_history`` cleans a traffic CSV; ``forecast_demand`` fits a family of
ETS models with a long-run drift on log volume (the drift under a growth
prior, the candidates averaged by posterior probability, with posterior
parameter uncertainty; see :mod:`roicast.forecast.averaging`) and returns
``(path, month)`` demand paths with a per-path uniform rank; ``forecast_from_growth``
does the same from start-volume and growth distributions when there is no
history; ``backtest`` scores the intervals on held-out history; ``plot_fan`` and
``write_forecast`` present the result.  This stage imports no other stage and
nothing of the front except :class:`roicast.errors.RoicastError`.
"""

from roicast.forecast._history import HistoryData, read_history
from roicast.forecast.backtest import BacktestResult, backtest
from roicast.forecast.demand import Forecast, forecast_demand, forecast_from_growth
from roicast.forecast.io import write_forecast
from roicast.forecast.plot import plot_fan

__all__ = [
    "BacktestResult",
    "Forecast",
    "HistoryData",
    "backtest",
    "forecast_demand",
    "forecast_from_growth",
    "plot_fan",
    "read_history",
    "write_forecast",
]
