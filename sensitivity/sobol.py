"""Variance-based (Sobol) sensitivity indices by Saltelli sampling.

Sample → evaluate → analyze in one call: scrambled Sobol points give two
independent ``(n, k)`` matrices **A** and **B**; for each input *i*, the matrix
**AB**\\ :sub:`i` is **A** with column *i* taken from **B**.  The model is
evaluated once, vectorized, on the stacked ``n·(k + 2)`` rows, and the indices
are estimated from those outputs:

.. math::

    V = \\operatorname{Var}[f(A), f(B)],\\qquad
    S_i = \\frac{\\tfrac1n \\sum_j f(B)_j\\,\\bigl(f(AB_i)_j - f(A)_j\\bigr)}{V}
    \\quad\\text{(Saltelli et al. 2010)},

.. math::

    S_{Ti} = \\frac{\\tfrac1{2n} \\sum_j \\bigl(f(A)_j - f(AB_i)_j\\bigr)^2}{V}
    \\quad\\text{(Jansen 1999)}.

Confidence intervals are percentile bootstrap intervals over the ``n`` rows.

References
----------
Saltelli, A., Annoni, P., Azzini, I., Campolongo, F., Ratto, M., Tarantola, S.
(2010). Variance based sensitivity analysis of model output. Design and
estimator for the total sensitivity index. *Comput. Phys. Commun.* 181, 259–270.
Jansen, M. J. W. (1999). Analysis of variance designs for model output.
*Comput. Phys. Commun.* 117, 35–43.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import qmc

from roicast.errors import RoicastError
from roicast.sensitivity._common import (
    as_generator,
    as_inputs,
    call_model,
    check_probability,
    ppf,
)

__all__ = ["SobolResult", "sobol_indices"]

# Bootstrap resamples are processed in chunks of at most this many (resample x row)
# elements, so memory stays bounded for large n.
_CHUNK_ELEMENTS = 2_000_000
_TINY = 2.0**-53


def _none_if_nan(value: float) -> float | None:
    return None if not np.isfinite(value) else float(value)


@dataclass(frozen=True)
class SobolResult:
    """First-order and total Sobol indices with bootstrap confidence intervals.

    Attributes
    ----------
    names : tuple of str
        Input names, in the order of the arrays below.
    S1, ST : numpy.ndarray, shape (k,)
        First-order and total indices (raw estimates: they may fall slightly
        outside [0, 1] when an index is near 0 or 1).
    S1_conf, ST_conf : numpy.ndarray, shape (k, 2)
        Lower and upper bounds of the percentile bootstrap interval
        (NaN when ``n_bootstrap == 0``).
    n : int
        Base sample size (rows of A and of B).
    n_evals : int
        Model evaluations, ``n·(k + 2)`` (``n·(2k + 2)`` with second order).
    confidence : float
        Coverage of the intervals.
    S2, S2_conf : numpy.ndarray or None
        Second-order indices ``(k, k)`` (upper triangle, NaN elsewhere) and
        intervals ``(k, k, 2)``, when requested.
    """

    names: tuple[str, ...]
    S1: np.ndarray
    S1_conf: np.ndarray
    ST: np.ndarray
    ST_conf: np.ndarray
    n: int
    n_evals: int
    confidence: float
    S2: np.ndarray | None = field(default=None)
    S2_conf: np.ndarray | None = field(default=None)

    def to_dataframe(self) -> pd.DataFrame:
        """One row per input: ``S1, S1_low, S1_high, ST, ST_low, ST_high``."""
        return pd.DataFrame(
            {
                "S1": self.S1,
                "S1_low": self.S1_conf[:, 0],
                "S1_high": self.S1_conf[:, 1],
                "ST": self.ST,
                "ST_low": self.ST_conf[:, 0],
                "ST_high": self.ST_conf[:, 1],
            },
            index=pd.Index(list(self.names), name="input"),
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN becomes ``None``)."""
        out: dict[str, Any] = {
            "method": "sobol-saltelli-jansen",
            "n": self.n,
            "n_evals": self.n_evals,
            "confidence": self.confidence,
            "indices": [
                {
                    "input": name,
                    "S1": _none_if_nan(self.S1[i]),
                    "S1_low": _none_if_nan(self.S1_conf[i, 0]),
                    "S1_high": _none_if_nan(self.S1_conf[i, 1]),
                    "ST": _none_if_nan(self.ST[i]),
                    "ST_low": _none_if_nan(self.ST_conf[i, 0]),
                    "ST_high": _none_if_nan(self.ST_conf[i, 1]),
                }
                for i, name in enumerate(self.names)
            ],
        }
        if self.S2 is not None and self.S2_conf is not None:
            k = len(self.names)
            out["second_order"] = [
                {
                    "inputs": [self.names[i], self.names[j]],
                    "S2": _none_if_nan(self.S2[i, j]),
                    "S2_low": _none_if_nan(self.S2_conf[i, j, 0]),
                    "S2_high": _none_if_nan(self.S2_conf[i, j, 1]),
                }
                for i in range(k)
                for j in range(i + 1, k)
            ]
        return out


def _check_n(n: Any) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer):
        raise RoicastError(f"`n` must be an int power of two (e.g. 4096), got {n!r}")
    n = int(n)
    if n < 2 or n & (n - 1):
        lower = 2 ** max(1, math.floor(math.log2(max(n, 2))))
        raise RoicastError(
            f"`n` must be a power of two >= 2 for Saltelli sampling from a Sobol sequence, "
            f"got {n} (use {lower} or {2 * lower})"
        )
    return n


def _stacked_design(
    dists: Mapping[str, Any], n: int, rng: np.random.Generator, second_order: bool
) -> dict[str, np.ndarray]:
    """Rows [A; B; AB_1..AB_k; (BA_1..BA_k)] as a dict name -> 1-D array."""
    names = list(dists)
    k = len(names)
    engine = qmc.Sobol(d=2 * k, scramble=True, rng=rng)
    base = engine.random_base2(int(math.log2(n)))
    np.clip(base, _TINY, 1.0 - _TINY, out=base)
    n_blocks = 2 + k + (k if second_order else 0)
    design: dict[str, np.ndarray] = {}
    for j, name in enumerate(names):
        a_col = ppf(dists[name], base[:, j], name)
        b_col = ppf(dists[name], base[:, k + j], name)
        col = np.empty(n * n_blocks)
        col[:n] = a_col
        col[n : 2 * n] = b_col
        for i in range(k):  # AB_i: A with column i from B
            col[(2 + i) * n : (3 + i) * n] = b_col if i == j else a_col
        if second_order:
            for i in range(k):  # BA_i: B with column i from A
                col[(2 + k + i) * n : (3 + k + i) * n] = a_col if i == j else b_col
        design[name] = col
    return design


def _estimate(
    fa: np.ndarray, fb: np.ndarray, fab: np.ndarray, fba: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Point estimates along the last axis (rows); leading axes broadcast (bootstrap)."""
    both = np.concatenate([fa, fb], axis=-1)
    mean = both.mean(axis=-1, keepdims=True)
    var = both.var(axis=-1)
    diff = fab - fa[..., None, :]  # (..., k, n)
    # Saltelli 2010, centred: mean((fB - mean) * (fAB_i - fA)) / V.
    s1 = np.mean((fb - mean)[..., None, :] * diff, axis=-1) / var[..., None]
    st = 0.5 * np.mean(diff**2, axis=-1) / var[..., None]
    s2 = None
    if fba is not None:
        k = fab.shape[-2]
        fa_c = fa - mean
        fb_c = fb - mean
        s2 = np.full((*var.shape, k, k), np.nan)
        ab = np.mean(fa_c * fb_c, axis=-1)
        for i in range(k):
            for j in range(i + 1, k):
                vij = np.mean((fba[..., i, :] - mean) * (fab[..., j, :] - mean), axis=-1) - ab
                s2[..., i, j] = vij / var - s1[..., i] - s1[..., j]
    return s1, st, s2


def sobol_indices(
    func: Callable[[dict[str, np.ndarray]], np.ndarray],
    inputs: Mapping[str, Any],
    n: int,
    *,
    seed: int | np.random.Generator = 0,
    n_bootstrap: int = 200,
    confidence: float = 0.95,
    calc_second_order: bool = False,
) -> SobolResult:
    r"""First-order and total Sobol indices of ``func`` over independent ``inputs``.

    Parameters
    ----------
    func : callable
        ``func(x) -> y`` where ``x`` maps each input name to a 1-D array of
        values and ``y`` is the 1-D array of outputs, one per row.  It is called
        **once**, on all ``n·(k + 2)`` rows stacked.
    inputs : mapping of str -> distribution
        Independent inputs; anything with a vectorized ``ppf(q)`` (frozen
        ``scipy.stats`` distributions qualify).  Quantiles must be finite on (0, 1).
    n : int
        Base sample size, a power of two (Sobol points are balanced only then).
    seed : int or numpy.random.Generator, keyword-only
        Scrambling of the Sobol sequence and bootstrap resampling.
    n_bootstrap : int, keyword-only
        Bootstrap resamples for the intervals (0 skips them: NaN bounds).
    confidence : float, keyword-only
        Coverage of the percentile bootstrap intervals.
    calc_second_order : bool, keyword-only
        Also estimate second-order indices (``n·k`` more evaluations):
        :math:`S_{ij} = \frac{\tfrac1n\sum f(BA_i) f(AB_j) - \bar{f(A) f(B)}}{V} - S_i - S_j`
        (Saltelli 2002), with **BA**\ :sub:`i` = **B** with column *i* from **A**.

    Returns
    -------
    SobolResult

    Notes
    -----
    With :math:`f_A, f_B, f_{AB_i}` the outputs on the rows of **A**, **B**,
    **AB**\ :sub:`i` (centred by the mean of :math:`f_A, f_B`) and
    :math:`V` the variance of :math:`(f_A, f_B)` pooled:

    .. math::

        S_i = \frac{1}{V}\,\frac1n \sum_j f_{B,j}\,(f_{AB_i,j} - f_{A,j}),
        \qquad
        S_{Ti} = \frac{1}{V}\,\frac1{2n} \sum_j (f_{A,j} - f_{AB_i,j})^2 .

    Raises
    ------
    RoicastError
        ``n`` not a power of two, an input without ``ppf``, a ``func`` output of
        the wrong shape or non-finite, or an output with zero variance.

    Examples
    --------
    >>> from roicast.sensitivity import sobol_indices
    >>> from roicast.sensitivity.reference import ishigami, ishigami_inputs
    >>> res = sobol_indices(ishigami, ishigami_inputs(), 1024, seed=1)
    >>> res.to_dataframe().round(1)["ST"].tolist()
    [0.6, 0.4, 0.2]
    """
    dists = as_inputs(inputs)
    n = _check_n(n)
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, int | np.integer):
        raise RoicastError(f"`n_bootstrap` must be a non-negative int, got {n_bootstrap!r}")
    if n_bootstrap < 0:
        raise RoicastError(f"`n_bootstrap` must be a non-negative int, got {n_bootstrap}")
    confidence = check_probability(confidence, "confidence")
    rng = as_generator(seed)
    names = tuple(dists)
    k = len(names)

    design = _stacked_design(dists, n, rng, bool(calc_second_order))
    n_rows = next(iter(design.values())).shape[0]
    y = call_model(func, design, n_rows)
    fa = y[:n]
    fb = y[n : 2 * n]
    fab = y[2 * n : (2 + k) * n].reshape(k, n)
    fba = y[(2 + k) * n :].reshape(k, n) if calc_second_order else None
    if np.var(np.concatenate([fa, fb])) == 0.0:
        raise RoicastError(
            "`func` output has zero variance over the sample; Sobol indices are undefined"
        )
    s1, st, s2 = _estimate(fa, fb, fab, fba)

    s1_conf = np.full((k, 2), np.nan)
    st_conf = np.full((k, 2), np.nan)
    s2_conf = np.full((k, k, 2), np.nan) if calc_second_order else None
    if n_bootstrap > 0:
        per_sample = n * (k + 2 + (k if calc_second_order else 0))
        chunk = max(1, _CHUNK_ELEMENTS // per_sample)
        s1_b = np.empty((n_bootstrap, k))
        st_b = np.empty((n_bootstrap, k))
        s2_b = np.empty((n_bootstrap, k, k)) if calc_second_order else None
        for start in range(0, n_bootstrap, chunk):
            stop = min(n_bootstrap, start + chunk)
            idx = rng.integers(0, n, size=(stop - start, n))
            b1, bt, b2 = _estimate(
                fa[idx],
                fb[idx],
                fab[:, idx].transpose(1, 0, 2),
                None if fba is None else fba[:, idx].transpose(1, 0, 2),
            )
            s1_b[start:stop] = b1
            st_b[start:stop] = bt
            if s2_b is not None and b2 is not None:
                s2_b[start:stop] = b2
        probs = [(1.0 - confidence) / 2.0, (1.0 + confidence) / 2.0]
        s1_conf = np.quantile(s1_b, probs, axis=0).T
        st_conf = np.quantile(st_b, probs, axis=0).T
        if s2_b is not None:
            s2_conf = np.moveaxis(np.quantile(s2_b, probs, axis=0), 0, -1)

    return SobolResult(
        names=names,
        S1=s1,
        S1_conf=s1_conf,
        ST=st,
        ST_conf=st_conf,
        n=n,
        n_evals=n_rows,
        confidence=confidence,
        S2=s2,
        S2_conf=s2_conf,
    )
