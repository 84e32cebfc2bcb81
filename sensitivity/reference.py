"""Reference test functions with analytic Sobol indices.

Two standard problems of the global sensitivity literature, vectorized over
dicts of named input arrays (the calling convention of
:func:`roicast.sensitivity.sobol_indices`), with their analytic first-order and
total indices.  They pin the Sobol estimators in the tests and let users check
an installation.

References
----------
Ishigami, T. and Homma, T. (1990). An importance quantification technique in
uncertainty analysis for computer models.
Saltelli, A. and Sobol', I. M. (1995). About the use of rank transformation in
sensitivity analysis of model output (the G-function).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from roicast.errors import RoicastError

__all__ = [
    "g_function",
    "g_function_indices",
    "g_function_inputs",
    "ishigami",
    "ishigami_indices",
    "ishigami_inputs",
]


def ishigami_inputs() -> dict[str, stats.rv_continuous]:
    """The Ishigami inputs ``x1, x2, x3``, independent and uniform on [-π, π]."""
    return {name: stats.uniform(loc=-np.pi, scale=2 * np.pi) for name in ("x1", "x2", "x3")}


def ishigami(x: Mapping[str, np.ndarray], a: float = 7.0, b: float = 0.1) -> np.ndarray:
    r"""The Ishigami function.

    .. math::

        f(x) = \sin x_1 + a \sin^2 x_2 + b\, x_3^4 \sin x_1,
        \qquad x_i \sim U(-\pi, \pi).

    Parameters
    ----------
    x : mapping
        ``"x1"``, ``"x2"``, ``"x3"`` -> arrays of equal shape.
    a, b : float
        Parameters; the classic values are ``a = 7``, ``b = 0.1``.

    Returns
    -------
    numpy.ndarray
        ``f`` evaluated element-wise.
    """
    x1 = np.asarray(x["x1"], dtype=float)
    x2 = np.asarray(x["x2"], dtype=float)
    x3 = np.asarray(x["x3"], dtype=float)
    s1 = np.sin(x1)
    return s1 + a * np.sin(x2) ** 2 + b * x3**4 * s1


def ishigami_indices(a: float = 7.0, b: float = 0.1) -> pd.DataFrame:
    r"""Analytic first-order and total Sobol indices of :func:`ishigami`.

    With :math:`V_1 = \tfrac12 (1 + b\pi^4/5)^2`, :math:`V_2 = a^2/8`,
    :math:`V_3 = 0`, :math:`V_{13} = 8 b^2 \pi^8 / 225` and total variance
    :math:`V = a^2/8 + b\pi^4/5 + b^2\pi^8/18 + 1/2`:

    .. math::

        S_1 = V_1/V,\ S_2 = V_2/V,\ S_3 = 0,\qquad
        S_{T1} = (V_1 + V_{13})/V,\ S_{T2} = V_2/V,\ S_{T3} = V_{13}/V.

    Returns
    -------
    pandas.DataFrame
        Index ``input`` (``x1, x2, x3``), columns ``S1`` and ``ST``.
    """
    pi4 = np.pi**4
    pi8 = np.pi**8
    v1 = 0.5 * (1.0 + b * pi4 / 5.0) ** 2
    v2 = a**2 / 8.0
    v13 = 8.0 * b**2 * pi8 / 225.0
    v = a**2 / 8.0 + b * pi4 / 5.0 + b**2 * pi8 / 18.0 + 0.5
    s1 = np.array([v1, v2, 0.0]) / v
    st = np.array([v1 + v13, v2, v13]) / v
    return pd.DataFrame({"S1": s1, "ST": st}, index=pd.Index(["x1", "x2", "x3"], name="input"))


def _g_params(a: Sequence[float]) -> np.ndarray:
    a_arr = np.asarray(a, dtype=float)
    if a_arr.ndim != 1 or a_arr.size == 0:
        raise RoicastError(f"`a` must be a non-empty 1-D sequence, got {a!r}")
    if np.any(a_arr < 0) or not np.all(np.isfinite(a_arr)):
        raise RoicastError(f"`a` must hold finite non-negative numbers, got {a_arr.tolist()}")
    return a_arr


def g_function_inputs(k: int) -> dict[str, stats.rv_continuous]:
    """The G-function inputs ``x1 .. xk``, independent and uniform on [0, 1]."""
    if isinstance(k, bool) or not isinstance(k, int | np.integer) or k < 1:
        raise RoicastError(f"`k` must be a positive int, got {k!r}")
    return {f"x{i + 1}": stats.uniform(loc=0.0, scale=1.0) for i in range(int(k))}


def g_function(x: Mapping[str, np.ndarray], a: Sequence[float]) -> np.ndarray:
    r"""The Sobol G-function.

    .. math::

        g(x) = \prod_{i=1}^{k} \frac{|4 x_i - 2| + a_i}{1 + a_i},
        \qquad x_i \sim U(0, 1).

    Small :math:`a_i` make input *i* important; :math:`a_i = 99` makes it
    almost irrelevant.

    Parameters
    ----------
    x : mapping
        ``"x1"`` .. ``"xk"`` -> arrays of equal shape (``k = len(a)``).
    a : sequence of float
        Non-negative parameters, one per input.
    """
    a_arr = _g_params(a)
    out = np.ones_like(np.asarray(x["x1"], dtype=float))
    for i, ai in enumerate(a_arr):
        xi = np.asarray(x[f"x{i + 1}"], dtype=float)
        out = out * ((np.abs(4.0 * xi - 2.0) + ai) / (1.0 + ai))
    return out


def g_function_indices(a: Sequence[float]) -> pd.DataFrame:
    r"""Analytic first-order and total Sobol indices of :func:`g_function`.

    With partial variances :math:`V_i = 1 / (3 (1 + a_i)^2)` and total variance
    :math:`V = \prod_i (1 + V_i) - 1`:

    .. math::

        S_i = V_i / V, \qquad
        S_{Ti} = V_i \prod_{j \ne i} (1 + V_j) \,/\, V.

    Returns
    -------
    pandas.DataFrame
        Index ``input`` (``x1 .. xk``), columns ``S1`` and ``ST``.
    """
    a_arr = _g_params(a)
    vi = 1.0 / (3.0 * (1.0 + a_arr) ** 2)
    prod = np.prod(1.0 + vi)
    v = prod - 1.0
    s1 = vi / v
    st = vi * (prod / (1.0 + vi)) / v
    names = [f"x{i + 1}" for i in range(a_arr.size)]
    return pd.DataFrame({"S1": s1, "ST": st}, index=pd.Index(names, name="input"))
