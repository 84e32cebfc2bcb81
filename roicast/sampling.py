"""Sampling the inputs of a study: one value of every input per draw.

The uncertain inputs of a study (those that are not fixed in every option, plus
``demand``, the rank of a demand path) get one column of uniforms each, drawn
by Latin hypercube (default), scrambled Sobol or plain Monte Carlo
(:func:`roicast._qmc.uniforms`), reordered by Iman–Conover when the spec asks
for rank correlations, clipped to ``[1e-9, 1 - 1e-9]`` (the range validation
checked), and mapped through each option's distributions.  All options share
the same uniforms (common random numbers), so their differences are not noise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from roicast._qmc import uniforms
from roicast.correlation import iman_conover
from roicast.distributions import Q_HIGH, Q_LOW, Distribution
from roicast.inputs import (
    DEMAND_RANK,
    Combination,
    check_correlations,
    combinations,
    correlation_matrix,
    option_distributions,
    option_values,
    rederive,
    study_distributions,
    ties,
    uncertain_inputs,
)
from roicast.simulate import INPUT_NAMES
from roicast.spec import Spec

__all__ = [
    "DEMAND_RANK",
    "Sample",
    "base_point",
    "check_correlations",
    "option_distributions",
    "option_evaluator",
    "sample_inputs",
    "uncertain_inputs",
]


@dataclass
class Sample:
    """The sampled inputs of a study.

    Attributes
    ----------
    uniforms : xarray.DataArray (draw, input)
        The uniforms of the uncertain inputs (after rank correlation).
    values : xarray.DataArray (option, draw, input)
        Every model input's value per draw and option.
    distributions : dict[str, dict[str, Distribution]]
        Per option, every input's distribution.
    uncertain : list[str]
        Inputs with their own uncertainty in at least one option.
    ties : dict[str, dict[str, str]]
        Per option, inputs that take another input's value in every draw
        (``optimized.utilization`` left out of a spec is the baseline's).
    combinations : dict[str, Combination]
        Per option that ``combines`` others: its parts, the fields derived
        from them and the fields it sets itself.
    spec : Spec, optional
        The spec sampled (needed by :meth:`rederive`).
    """

    uniforms: xr.DataArray
    values: xr.DataArray
    distributions: dict[str, dict[str, Distribution]]
    uncertain: list[str]
    ties: dict[str, dict[str, str]]
    combinations: dict[str, Combination] = field(default_factory=dict)
    spec: Spec | None = field(default=None, repr=False)

    def free_inputs(self, option: str) -> list[str]:
        """The uncertain inputs of one option that are not tied to another input."""
        d, ties = self.distributions[option], self.ties[option]
        return [n for n in self.uncertain if not d[n].is_fixed and n not in ties]

    def rederive(self, option: str, x: np.ndarray) -> None:
        """Recompute a combining option's multi-input derived columns of rows ``x`` in place.

        See :func:`roicast.inputs.rederive`; nothing to do for other options.
        """
        if option in self.combinations and self.spec is not None:
            rederive(self.spec, self.distributions, self.ties, self.uncertain, option, x)


def sample_inputs(
    spec: Spec,
    n_draws: int,
    *,
    n_paths: int,
    seed: int,
    method: str | None = None,
    stream: tuple[int, ...] = (),
) -> Sample:
    """Draw ``n_draws`` values of every input for every option of ``spec``.

    ``stream`` gives independent samples for the same seed (batches of draws).
    """
    dists = study_distributions(spec, n_paths=n_paths)
    tied = {o.name: ties(o) for o in spec.options}
    uncertain = uncertain_inputs(spec, n_paths=n_paths)
    k = len(uncertain)
    rng = np.random.default_rng([seed, 1, *stream])
    u = (
        uniforms(n_draws, k, method=method or spec.simulation.sampling, seed=rng)
        if k
        else np.empty((n_draws, 0))
    )
    corr = correlation_matrix(spec, uncertain)
    if corr is not None:
        u = iman_conover(u, corr, seed=rng, name="correlations")
    u = np.clip(u, Q_LOW, Q_HIGH)
    q = {name: u[:, i] for i, name in enumerate(uncertain)}
    per = option_values(spec, dists, tied, q, n_draws)  # combining options derived per draw
    values = np.stack([per[name] for name in dists]) if dists else np.empty((0, n_draws, 0))
    return Sample(
        uniforms=xr.DataArray(
            u, dims=("draw", "input"), coords={"draw": np.arange(n_draws), "input": uncertain}
        ),
        values=xr.DataArray(
            values,
            dims=("option", "draw", "input"),
            coords={"option": list(dists), "draw": np.arange(n_draws), "input": list(INPUT_NAMES)},
        ),
        distributions=dists,
        uncertain=uncertain,
        ties=tied,
        combinations=combinations(spec),
        spec=spec,
    )


def base_point(dists: Mapping[str, Distribution]) -> dict[str, float]:
    """Every input at its median (the tornado's and break-even's base case)."""
    return {name: d.median for name, d in dists.items()}


def option_evaluator(sample: Sample, option: str, demand: np.ndarray, **kwargs: Any):
    """A :class:`roicast.evaluate.ModelEvaluator` of one option whose rows derive like the draws.

    The same evaluator (base point = every input's median, the option's ties,
    ``kwargs`` as :class:`~roicast.evaluate.ModelEvaluator` takes them), with
    every matrix it builds passed through :meth:`Sample.rederive`: a
    combining option's inputs that depend on several uniforms (churn cost and
    downtime per update weighted by the parts' rates, the engineer cost and
    upkeep weighted by effort, the gain at peak) follow the inputs set in each
    row exactly as in the sampled draws.  For other options it is the plain
    evaluator.
    """
    from roicast.evaluate import ModelEvaluator

    dists = sample.distributions[option]
    if option not in sample.combinations:
        return ModelEvaluator(demand, base_point(dists), sample.ties[option], **kwargs)

    class _Derived(ModelEvaluator):
        def _matrix(self, settings):
            x = super()._matrix(settings)
            sample.rederive(option, x)
            return x

    return _Derived(demand, base_point(dists), sample.ties[option], **kwargs)
