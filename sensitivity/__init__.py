"""roicast.sensitivity: which uncertainty drives the result, and what it is worth to know.

Generic tools in SALib's sample → evaluate → analyze shape.  They take sampled
inputs and outputs, or a vectorized callable of named inputs plus
distributions with a ``ppf`` method (frozen ``scipy.stats`` distributions
qualify), so they serve any model: they never import the simulator or the
forecaster.

* :func:`sobol_indices`: first-order and total Sobol indices (Saltelli sampling,
  Jansen estimators, bootstrap intervals); reference problems in
  :mod:`roicast.sensitivity.reference`.
* :func:`rankings`, :func:`spearman_ranking`, :func:`contribution_to_variance`,
  :func:`binned_effect`: rankings from one Monte Carlo run.
* :func:`tail_scenarios`, :func:`three_point_cases`: worst / expected / best.
* :func:`break_even`: the value of each input at which mean output reaches a target.
* :func:`evpi`, :func:`evppi`: value of information of the go/no-go decision.
* :func:`mc_standard_errors`, :func:`until_stable`: Monte Carlo precision.
"""

from roicast.sensitivity.breakeven import BreakEven, BreakEvenResult, break_even
from roicast.sensitivity.convergence import StableRun, mc_standard_errors, until_stable
from roicast.sensitivity.rankings import (
    binned_effect,
    contribution_to_variance,
    rankings,
    spearman_ranking,
)
from roicast.sensitivity.scenarios import (
    Scenario,
    ThreePointCases,
    tail_scenarios,
    three_point_cases,
)
from roicast.sensitivity.sobol import SobolResult, sobol_indices
from roicast.sensitivity.tornado import tornado
from roicast.sensitivity.voi import evpi, evppi

__all__ = [
    "BreakEven",
    "BreakEvenResult",
    "Scenario",
    "SobolResult",
    "StableRun",
    "ThreePointCases",
    "binned_effect",
    "break_even",
    "contribution_to_variance",
    "evpi",
    "evppi",
    "mc_standard_errors",
    "rankings",
    "sobol_indices",
    "spearman_ranking",
    "tail_scenarios",
    "three_point_cases",
    "tornado",
    "until_stable",
]
