"""roicast.sensitivity: which uncertainty drives the result, and what it is worth to know.

Generic tools in SALib's sample → evaluate → analyze shape.  They take sampled
inputs and outputs, or a vectorized model plus distributions with a ``ppf``
method (frozen ``scipy.stats`` distributions qualify), so they serve any model:
they never import the simulator, the forecaster or the front (spec, study,
pydantic).

Conventions
-----------
**Models.**  Every tool that evaluates a model takes one *vectorized callable*
``func(x) -> y``: ``x`` is a mapping ``input name -> 1-D float array``, all of
the same length (one element per row, i.e. per setting to evaluate), and ``y``
is a 1-D array with one output per row (:func:`tornado` also accepts
``{output name: 1-D array}`` for several outputs).  Each tool calls it once on
all its rows (:func:`break_even` adds one single-row call per Brent iteration).
Models that average over noise must use the same random numbers for every row
(common random numbers).

**Samples.**  Tools that read a Monte Carlo run take ``X`` as a
:class:`pandas.DataFrame` (one column per input) or an :class:`xarray.DataArray`
with dims ``(draw, input)``, and the output per draw as a 1-D array.

**Results.**  Labelled by input name, never bare arrays.  A result with several
parts (estimates, intervals, flags, settings) is a frozen dataclass with
``to_dict()`` (JSON-ready); when it has one row per input it also has
``names`` (the inputs, in the order of its arrays) and ``to_dataframe()`` (index
``input``): :class:`SobolResult`, :class:`TornadoResult` (also a read-only
mapping output -> table), :class:`BreakEvenResult`, :class:`ThreePointCases`,
:class:`VoiResult`; and :class:`PilotResult`, :class:`TailDiagnostics`
(scalars), :class:`SobolDesign` (rows to evaluate: ``.X`` in the model
convention, ``.matrix`` as a labelled ``(row, input)`` array), :class:`StableRun`.
A one-measure ranking from draws is the per-input table itself, a pandas object
indexed by ``input`` with metadata in ``.attrs`` (:func:`rankings`,
:func:`spearman_ranking`, :func:`contribution_to_variance`, :func:`evppi`);
:func:`mc_standard_errors` is a table indexed by ``stat``; the only
two-dimensional result, :func:`binned_effect`, is an :class:`xarray.Dataset`
over ``(input, bin)``.

Tools
-----
* :func:`sobol_design`, :func:`sobol_analyze`, :func:`sobol_indices`: first-order
  and total Sobol indices (Saltelli sampling, Jansen estimators, bootstrap
  intervals; optional rank / log-modulus transform for heavy tails); reference
  problems in :mod:`roicast.sensitivity.reference`.
* :func:`rankings`, :func:`spearman_ranking`, :func:`contribution_to_variance`,
  :func:`binned_effect`: rankings from one Monte Carlo run (rank-based, so
  unchanged by any monotone transform of the output).
* :func:`tail_diagnostics`: is the output's mean driven by a few extreme draws?
* :func:`tornado`: one-at-a-time swings.
* :func:`tail_scenarios`, :func:`three_point_cases`: worst / expected / best.
* :func:`break_even`: the value of each input at which mean output reaches a target.
* :func:`evpi`, :func:`evppi`, :func:`voi_for_rule`, :func:`evsi_pilot`: value of
  information of the go/no-go decision (under the configured rule), and of a pilot.
* :func:`mc_standard_errors`, :func:`until_stable`: Monte Carlo precision.
"""

import importlib
from typing import Any

_WHERE = {
    "BreakEven": "breakeven",
    "BreakEvenResult": "breakeven",
    "PilotResult": "voi",
    "Scenario": "scenarios",
    "SobolDesign": "sobol",
    "SobolResult": "sobol",
    "StableRun": "convergence",
    "TailDiagnostics": "tails",
    "ThreePointCases": "scenarios",
    "TornadoResult": "tornado",
    "VoiResult": "voi",
    "binned_effect": "rankings",
    "break_even": "breakeven",
    "contribution_to_variance": "rankings",
    "evpi": "voi",
    "evppi": "voi",
    "evsi_pilot": "voi",
    "mc_standard_errors": "convergence",
    "rankings": "rankings",
    "sobol_analyze": "sobol",
    "sobol_design": "sobol",
    "sobol_indices": "sobol",
    "spearman_ranking": "rankings",
    "tail_diagnostics": "tails",
    "cvar": "tails",
    "tail_scenarios": "scenarios",
    "three_point_cases": "scenarios",
    "tornado": "tornado",
    "until_stable": "convergence",
    "voi_for_rule": "voi",
}


def __getattr__(name: str) -> Any:
    """Names load on first use (PEP 562): ``import roicast.sensitivity._common`` stays light."""
    if name in _WHERE:
        module = importlib.import_module(f"roicast.sensitivity.{_WHERE[name]}")
        # Bind every public name of that module now: importing the submodule
        # ``rankings`` sets the package attribute ``rankings`` to the module,
        # which would otherwise hide the function of that name.
        for other, where in _WHERE.items():
            if where == _WHERE[name]:
                globals()[other] = getattr(module, other)
        return globals()[name]
    raise AttributeError(f"module 'roicast.sensitivity' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "BreakEven",
    "BreakEvenResult",
    "PilotResult",
    "Scenario",
    "SobolDesign",
    "SobolResult",
    "StableRun",
    "TailDiagnostics",
    "ThreePointCases",
    "TornadoResult",
    "VoiResult",
    "binned_effect",
    "break_even",
    "contribution_to_variance",
    "cvar",
    "evpi",
    "evppi",
    "evsi_pilot",
    "mc_standard_errors",
    "rankings",
    "sobol_analyze",
    "sobol_design",
    "sobol_indices",
    "spearman_ranking",
    "tail_diagnostics",
    "tail_scenarios",
    "three_point_cases",
    "tornado",
    "until_stable",
    "voi_for_rule",
]
