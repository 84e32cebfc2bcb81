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
from dataclasses import dataclass

import numpy as np
import xarray as xr

from roicast._qmc import uniforms
from roicast.correlation import iman_conover
from roicast.distributions import Q_HIGH, Q_LOW, Distribution
from roicast.inputs import (
    DEMAND_RANK,
    check_correlations,
    correlation_matrix,
    option_distributions,
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
    """

    uniforms: xr.DataArray
    values: xr.DataArray
    distributions: dict[str, dict[str, Distribution]]
    uncertain: list[str]
    ties: dict[str, dict[str, str]]

    def free_inputs(self, option: str) -> list[str]:
        """The uncertain inputs of one option that are not tied to another input."""
        d, ties = self.distributions[option], self.ties[option]
        return [n for n in self.uncertain if not d[n].is_fixed and n not in ties]


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
    dists = {o.name: option_distributions(spec, o, n_paths=n_paths) for o in spec.options}
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
    values = np.empty((len(dists), n_draws, len(INPUT_NAMES)))
    for o, (oname, d) in enumerate(dists.items()):
        for j, name in enumerate(INPUT_NAMES):
            source = tied[oname].get(name, name)
            if source in uncertain:
                values[o, :, j] = d[name].ppf(u[:, uncertain.index(source)])
            else:
                values[o, :, j] = d[name].median
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
    )


def base_point(dists: Mapping[str, Distribution]) -> dict[str, float]:
    """Every input at its median (the tornado's and break-even's base case)."""
    return {name: d.median for name, d in dists.items()}


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
    dists = {o.name: option_distributions(spec, o, n_paths=n_paths) for o in spec.options}
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

    Returns
    -------
    ndarray (draws, len(inputs))
    """
    names = list(INPUT_NAMES) if inputs is None else list(inputs)
    if out is None:
        out = np.empty((u.shape[0], len(names)))
    for j, name in enumerate(names):
        source = tied.get(name, name)
        if source in uncertain:
            out[:, j] = dists[name].ppf(u[:, uncertain.index(source)])
        else:
            out[:, j] = dists[name].median
    return out
