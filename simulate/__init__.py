"""roicast.simulate: the numba Monte Carlo of an optimization's cash flows.

Takes arrays (sampled inputs ``(draw, input)`` and demand paths
``(path, month)``) and returns labelled results; knows nothing of specs,
forecasts or files.
"""

import importlib
from typing import Any

_WHERE = {
    "HOURS_PER_MONTH": "_layout",
    "INPUT_NAMES": "_layout",
    "METRIC_NAMES": "_layout",
    "SERIES_NAMES": "_layout",
    "NEUTRAL_INPUTS": "_layout",
    "FleetConfig": "model",
    "neutral_inputs": "model",
    "simulate": "model",
    "simulate_arrays": "model",
    "simulate_reference": "reference",
}


def __getattr__(name: str) -> Any:
    """Names load on first use (PEP 562): the input names do not load numba or xarray."""
    if name in _WHERE:
        value = getattr(importlib.import_module(f"roicast.simulate.{_WHERE[name]}"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'roicast.simulate' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "HOURS_PER_MONTH",
    "INPUT_NAMES",
    "METRIC_NAMES",
    "NEUTRAL_INPUTS",
    "SERIES_NAMES",
    "FleetConfig",
    "neutral_inputs",
    "simulate",
    "simulate_arrays",
    "simulate_reference",
]
