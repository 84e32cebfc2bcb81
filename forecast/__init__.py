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

import sys
import types
from typing import Any

from roicast._lazy import lazy_getattr

_WHERE = {
    "HistoryData": "_history",
    "read_history": "_history",
    "BacktestResult": "backtest",
    "backtest": "backtest",
    "Forecast": "demand",
    "forecast_demand": "demand",
    "forecast_from_growth": "demand",
    "write_forecast": "io",
    "plot_fan": "plot",
}


# names load on first use (PEP 562): reading a history does not load numba or xarray.
__getattr__ = lazy_getattr(__name__, _WHERE, globals())


class _Package(types.ModuleType):
    """This package, guarding the function ``backtest`` against the submodule of that name.

    Importing ``roicast.forecast.backtest`` makes the import system set the
    package attribute ``backtest`` to the submodule, which would hide the
    function for every later ``from roicast.forecast import backtest``.  The
    submodule stays reachable through ``sys.modules`` and
    ``from roicast.forecast.backtest import …``.
    """

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _WHERE and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __dir__() -> list[str]:
    return sorted(__all__)


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
