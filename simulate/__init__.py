"""roicast.simulate: the numba Monte Carlo of an optimization's cash flows.

Takes arrays (sampled inputs ``(draw, input)`` and demand paths
``(path, month)``) and returns labelled results; knows nothing of specs,
forecasts or files.
"""

from roicast._lazy import lazy_getattr

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


# names load on first use (PEP 562): the input names do not load numba or xarray.
__getattr__ = lazy_getattr(__name__, _WHERE, globals())


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
