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
    "Derivation",
    "Sample",
    "base_point",
    "check_correlations",
    "input_values",
    "option_distributions",
    "option_evaluator",
    "sample_inputs",
    "sample_uniforms",
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
    u, dists, tied, uncertain = sample_uniforms(
        spec, n_draws, n_paths=n_paths, seed=seed, method=method, stream=stream
    )
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


@dataclass(frozen=True)
class Derivation:
    """What an option that ``combines`` others needs to build its inputs (picklable).

    Attributes
    ----------
    spec : Spec
        The study's spec.
    option : str
        The combining option.
    dists, ties : mapping
        Every option's distributions and ties (its parts' included).
    """

    spec: Spec
    option: str
    dists: Mapping[str, Mapping[str, Distribution]]
    ties: Mapping[str, Mapping[str, str]]


def sample_uniforms(
    spec: Spec,
    n_draws: int,
    *,
    n_paths: int,
    seed: int,
    method: str | None = None,
    stream: tuple[int, ...] = (),
) -> tuple[np.ndarray, dict[str, dict[str, Distribution]], dict[str, dict[str, str]], list[str]]:
    """The first half of :func:`sample_inputs`: the uniforms, without the inputs' values.

    Same random stream as :func:`sample_inputs` for the same arguments (same
    Latin hypercube, same Iman–Conover reordering, same clipping), so
    ``input_values(dists[o], ties[o], uncertain, u)`` equals
    ``sample_inputs(...).values.sel(option=o)`` bit for bit.  A study keeps
    these ``n_draws × len(uncertain)`` uniforms and computes each option's
    ``n_draws × len(INPUT_NAMES)`` values one chunk of draws at a time.

    Returns
    -------
    u : ndarray (n_draws, len(uncertain))
        Uniforms in ``[Q_LOW, Q_HIGH]``.
    distributions : dict[str, dict[str, Distribution]]
        Per option, every input's distribution.
    ties : dict[str, dict[str, str]]
        Per option, inputs that take another input's value.
    uncertain : list[str]
        The inputs with a column of ``u``.
    """
    dists = study_distributions(spec, n_paths=n_paths)  # a combining option's derived included
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
    return u, dists, tied, uncertain


def input_values(
    dists: Mapping[str, Distribution],
    tied: Mapping[str, str],
    uncertain: list[str],
    u: np.ndarray,
    *,
    inputs: list[str] | None = None,
    out: np.ndarray | None = None,
    derivation: Derivation | None = None,
) -> np.ndarray:
    """One option's input values for the draws of ``u``: ``x[i, j] = F_j^{-1}(u[i, c(j)])``.

    :math:`c(j)` is the column of input ``j``'s source (itself, or the input it
    is tied to); an input without a column takes its distribution's median.
    Element-wise, so the values of a slice of draws equal the same rows of the
    whole (bit for bit): what lets a study compute them one chunk at a time.

    Parameters
    ----------
    dists, tied : mapping
        The option's distributions and ties (:func:`sample_uniforms`).
    uncertain : list of str
        Names of the columns of ``u``.
    u : ndarray (draws, len(uncertain))
        Uniforms (rows of :func:`sample_uniforms`'s).
    inputs : list of str, optional
        The inputs to compute, in this order (default :data:`INPUT_NAMES`).
    out : ndarray (draws, len(inputs)), optional
        Where to write them.
    derivation : Derivation, optional
        For an option that ``combines`` others: its inputs are built with its
        parts' rows of the same draws (:func:`roicast.inputs.option_values`).

    Returns
    -------
    ndarray (draws, len(inputs))
    """
    names = list(INPUT_NAMES) if inputs is None else list(inputs)
    if out is None:
        out = np.empty((u.shape[0], len(names)))
    if derivation is not None:
        q = {name: u[:, i] for i, name in enumerate(uncertain)}
        d = derivation
        x = option_values(d.spec, d.dists, d.ties, q, u.shape[0], only=d.option)[d.option]
        out[:] = x[:, [INPUT_NAMES.index(n) for n in names]]
        return out
    for j, name in enumerate(names):
        source = tied.get(name, name)
        if source in uncertain:
            out[:, j] = dists[name].ppf(u[:, uncertain.index(source)])
        else:
            out[:, j] = dists[name].median
    return out
