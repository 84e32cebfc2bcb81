"""Uniform design matrices for the sampler: Latin hypercube, scrambled Sobol, plain MC.

The sampler draws an ``(n, k)`` matrix of uniforms here, optionally reorders
its columns with :func:`roicast.correlation.iman_conover` to induce rank
correlations, and maps each column through an input's ``ppf``.
"""

from __future__ import annotations

import warnings
from typing import Any, Literal

import numpy as np

from roicast.errors import RoicastError
from roicast.sensitivity._common import as_generator

__all__ = ["METHODS", "as_generator", "uniforms"]

METHODS = ("lhs", "sobol", "mc")

# Smallest and largest doubles kept strictly inside (0, 1), so that ppf of an
# unbounded distribution stays finite: ppf(2**-53) of a standard normal is ≈ -8.1.
_LOW = 2.0**-53
_HIGH = 1.0 - 2.0**-53


def _positive_int(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise RoicastError(f"`{field}` must be a positive int, got {value!r}")
    return int(value)


def uniforms(
    n: int,
    k: int,
    *,
    method: Literal["lhs", "sobol", "mc"] = "lhs",
    seed: int | np.random.Generator = 0,
) -> np.ndarray:
    """An ``(n, k)`` matrix of uniforms on the open interval (0, 1).

    Parameters
    ----------
    n : int
        Number of draws (rows).
    k : int
        Number of inputs (columns).
    method : {"lhs", "sobol", "mc"}, keyword-only
        ``"lhs"``: Latin hypercube (``scipy.stats.qmc.LatinHypercube``; each
        column has exactly one point in each of the ``n`` strata
        ``[(i-1)/n, i/n)``, placed at random inside it).
        ``"sobol"``: scrambled Sobol points (``scipy.stats.qmc.Sobol``,
        ``scramble=True``).  Sobol points are balanced only when ``n`` is a power
        of two; for other ``n`` the first ``n`` points are taken
        (``Sobol.random(n)``), still a low-discrepancy set but without the
        balance property; scipy's warning about it is suppressed here
        (the choice is deliberate and documented).
        ``"mc"``: independent uniforms (``Generator.random``).
    seed : int or numpy.random.Generator, keyword-only
        The result is a deterministic function of ``(n, k, method, seed)``.

    Returns
    -------
    numpy.ndarray
        Shape ``(n, k)``, values in ``[2**-53, 1 - 2**-53]`` (0 and 1 can
        occur in the raw generators and are clipped so that every ``ppf`` is finite).
    """
    n = _positive_int(n, "n")
    k = _positive_int(k, "k")
    rng = as_generator(seed)
    if method == "lhs":
        from scipy.stats import qmc  # imported here: scipy.stats costs a second to load

        u = qmc.LatinHypercube(d=k, rng=rng).random(n)
    elif method == "sobol":
        from scipy.stats import qmc

        engine = qmc.Sobol(d=k, scramble=True, rng=rng)
        with warnings.catch_warnings():
            # "The balance properties of Sobol' points require n to be a power of 2."
            warnings.filterwarnings(
                "ignore", message=".*balance properties.*", category=UserWarning
            )
            u = engine.random(n)
    elif method == "mc":
        u = rng.random((n, k))
    else:
        raise RoicastError(f"`method` must be one of {', '.join(METHODS)}, got {method!r}")
    return np.clip(u, _LOW, _HIGH)
