"""roicast.simulate: the numba Monte Carlo of an optimization's cash flows.

Takes arrays (sampled inputs ``(draw, input)`` and demand paths
``(path, month)``) and returns labelled results; knows nothing of specs,
forecasts or files.
"""

from roicast.simulate._layout import HOURS_PER_MONTH
from roicast.simulate.model import (
    INPUT_NAMES,
    METRIC_NAMES,
    NEUTRAL_INPUTS,
    SERIES_NAMES,
    FleetConfig,
    neutral_inputs,
    simulate,
    simulate_arrays,
)
from roicast.simulate.reference import simulate_reference

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
