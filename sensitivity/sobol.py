"""Variance-based (Sobol) sensitivity indices by Saltelli sampling.

SALib's shape, sample → evaluate → analyze:

1. :func:`sobol_design` draws scrambled Sobol points that give two independent
   ``(n, k)`` matrices **A** and **B**; for each input *i*, the matrix
   **AB**\\ :sub:`i` is **A** with column *i* taken from **B**.  The stacked
   ``n·(k + 2)`` rows (``n·(2k + 2)`` with second order) are returned as a
   :class:`SobolDesign`.
2. The caller evaluates the model on ``design.X`` however it likes (one
   vectorized call, batches, a cluster, outputs saved earlier).
3. :func:`sobol_analyze` estimates the indices from those outputs:

.. math::

    V = \\operatorname{Var}[f(A), f(B)],\\qquad
    S_i = \\frac{\\tfrac1n \\sum_j f(B)_j\\,\\bigl(f(AB_i)_j - f(A)_j\\bigr)}{V}
    \\quad\\text{(Saltelli et al. 2010)},

.. math::

    S_{Ti} = \\frac{\\tfrac1{2n} \\sum_j \\bigl(f(A)_j - f(AB_i)_j\\bigr)^2}{V}
    \\quad\\text{(Jansen 1999)}.

Confidence intervals are percentile bootstrap intervals over the ``n`` rows.
:func:`sobol_indices` does the three steps in one call.

Heavy tails (issue 11).  The estimators divide by the sample variance, whose
relative standard error is :math:`\\sqrt{(\\kappa + 2)/n}` for an output with
excess kurtosis :math:`\\kappa` (:math:`\\sqrt{2/n}` for a normal output).  With
``transform="auto"`` the indices are computed on the normal scores of the
output when :math:`\\kappa >` :data:`SOBOL_KURTOSIS_THRESHOLD` (6: the variance,
hence every index, is then more than twice as noisy as for a normal output);
``clip=True`` reports point values clipped to [0, 1] (raw values kept), and every
result flags the indices whose bootstrap interval leaves [0, 1].

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
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr
from scipy.special import ndtri

from roicast.errors import RoicastError
from roicast.sensitivity._common import (
    as_generator,
    as_inputs,
    call_model,
    check_probability,
    ppf,
)

__all__ = [
    "SOBOL_KURTOSIS_THRESHOLD",
    "TRANSFORMS",
    "SobolDesign",
    "SobolResult",
    "sobol_analyze",
    "sobol_design",
    "sobol_indices",
]

# Bootstrap resamples are processed in chunks of at most this many (resample x row)
# elements, so memory stays bounded for large n.
_CHUNK_ELEMENTS = 2_000_000
_TINY = 2.0**-53

#: ``transform="auto"`` switches to normal scores when the excess kurtosis of the
#: output (rows of A and B) exceeds this: the relative standard error of the
#: variance, sqrt((κ + 2)/n), is then more than twice its normal-output value.
SOBOL_KURTOSIS_THRESHOLD = 6.0
#: Accepted values of ``transform``.
TRANSFORMS = ("none", "auto", "rank", "logmod")


def _none_if_nan(value: float) -> float | None:
    return None if not np.isfinite(value) else float(value)


def _outside_unit(conf: np.ndarray) -> np.ndarray:
    """True where a (low, high) interval leaves [0, 1] (NaN intervals: False)."""
    with np.errstate(invalid="ignore"):
        return (conf[..., 0] < 0.0) | (conf[..., 1] > 1.0)


@dataclass(frozen=True)
class SobolDesign:
    """Saltelli design of :func:`sobol_design`: the rows to evaluate, and what analysis needs.

    Attributes
    ----------
    names : tuple of str
        Input names (the order of the columns).
    n : int
        Base sample size (rows of **A** and of **B**).
    calc_second_order : bool
        Whether the **BA**\\ :sub:`i` blocks are included.
    columns : numpy.ndarray, shape (k, n_rows)
        Input values, one contiguous row per input (use :attr:`X` or
        :attr:`matrix` rather than this).
    rng_state : dict
        State of the random generator right after the scrambling; the default
        bootstrap of :func:`sobol_analyze` continues from it, which makes
        ``sobol_analyze(design, f(design.X))`` equal to :func:`sobol_indices`.
    """

    names: tuple[str, ...]
    n: int
    calc_second_order: bool
    columns: np.ndarray = field(repr=False)
    rng_state: Mapping[str, Any] = field(repr=False)

    @property
    def n_rows(self) -> int:
        """Rows to evaluate: ``n·(k + 2)`` (``n·(2k + 2)`` with second order)."""
        return int(self.columns.shape[1])

    @property
    def blocks(self) -> tuple[str, ...]:
        """Block labels in row order: ``A``, ``B``, ``AB:<name>``…, (``BA:<name>``…)."""
        labels = ["A", "B", *(f"AB:{nm}" for nm in self.names)]
        if self.calc_second_order:
            labels += [f"BA:{nm}" for nm in self.names]
        return tuple(labels)

    @property
    def X(self) -> dict[str, np.ndarray]:
        """The rows as the stage's model convention: input name -> 1-D array (read-only views)."""
        out = {}
        for j, name in enumerate(self.names):
            col = self.columns[j].view()
            col.flags.writeable = False
            out[name] = col
        return out

    @property
    def matrix(self) -> xr.DataArray:
        """The rows as a labelled ``(row, input)`` array; coordinate ``block`` names each row's block."""
        block = np.repeat(np.array(self.blocks, dtype=object), self.n)
        return xr.DataArray(
            self.columns.T,
            dims=("row", "input"),
            coords={"input": list(self.names), "block": ("row", block)},
            name="x",
        )


@dataclass(frozen=True)
class SobolResult:
    """First-order and total Sobol indices with bootstrap confidence intervals.

    Attributes
    ----------
    names : tuple of str
        Input names, in the order of the arrays below.
    S1, ST : numpy.ndarray, shape (k,)
        First-order and total indices as reported: the raw estimates, or with
        ``clip=True`` the raw estimates clipped to [0, 1].
    S1_conf, ST_conf : numpy.ndarray, shape (k, 2)
        Lower and upper bounds of the percentile bootstrap interval of the raw
        estimates (NaN when ``n_bootstrap == 0``; never clipped).
    n : int
        Base sample size (rows of A and of B).
    n_evals : int
        Model evaluations, ``n·(k + 2)`` (``n·(2k + 2)`` with second order).
    confidence : float
        Coverage of the intervals.
    S2, S2_conf : numpy.ndarray or None
        Second-order indices ``(k, k)`` (upper triangle, NaN elsewhere) and
        intervals ``(k, k, 2)``, when requested.
    transform : str
        Transform of the output the indices describe: ``"none"``, ``"rank"``
        (normal scores) or ``"logmod"`` (``"auto"`` resolved).
    excess_kurtosis : float
        Excess kurtosis of the raw output over the rows of A and B.
    clipped : bool
        Whether ``S1`` / ``ST`` are clipped to [0, 1].
    S1_raw, ST_raw : numpy.ndarray or None
        The unclipped estimates (equal to ``S1`` / ``ST`` when not clipped).
    S1_outside, ST_outside : numpy.ndarray of bool or None
        True where the bootstrap interval leaves [0, 1]: the estimate is not
        trustworthy at this ``n`` (False when there are no intervals).
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
    transform: str = "none"
    excess_kurtosis: float = float("nan")
    clipped: bool = False
    S1_raw: np.ndarray | None = field(default=None)
    ST_raw: np.ndarray | None = field(default=None)
    S1_outside: np.ndarray | None = field(default=None)
    ST_outside: np.ndarray | None = field(default=None)

    def _raw(self) -> tuple[np.ndarray, np.ndarray]:
        return (
            self.S1 if self.S1_raw is None else self.S1_raw,
            self.ST if self.ST_raw is None else self.ST_raw,
        )

    def _outside(self) -> tuple[np.ndarray, np.ndarray]:
        return (
            _outside_unit(self.S1_conf) if self.S1_outside is None else self.S1_outside,
            _outside_unit(self.ST_conf) if self.ST_outside is None else self.ST_outside,
        )

    def to_dataframe(self) -> pd.DataFrame:
        """One row per input: ``S1, S1_low, S1_high, ST, ST_low, ST_high``.

        Then ``S1_raw, ST_raw`` (unclipped) and ``S1_outside, ST_outside``
        (interval leaves [0, 1]).
        """
        s1_raw, st_raw = self._raw()
        s1_out, st_out = self._outside()
        df = pd.DataFrame(
            {
                "S1": self.S1,
                "S1_low": self.S1_conf[:, 0],
                "S1_high": self.S1_conf[:, 1],
                "ST": self.ST,
                "ST_low": self.ST_conf[:, 0],
                "ST_high": self.ST_conf[:, 1],
                "S1_raw": s1_raw,
                "ST_raw": st_raw,
                "S1_outside": s1_out,
                "ST_outside": st_out,
            },
            index=pd.Index(list(self.names), name="input"),
        )
        df.attrs["transform"] = self.transform
        df.attrs["clipped"] = self.clipped
        return df

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN becomes ``None``)."""
        s1_raw, st_raw = self._raw()
        s1_out, st_out = self._outside()
        out: dict[str, Any] = {
            "method": "sobol-saltelli-jansen",
            "n": self.n,
            "n_evals": self.n_evals,
            "confidence": self.confidence,
            "transform": self.transform,
            "excess_kurtosis": _none_if_nan(self.excess_kurtosis),
            "clipped": self.clipped,
            "indices": [
                {
                    "input": name,
                    "S1": _none_if_nan(self.S1[i]),
                    "S1_low": _none_if_nan(self.S1_conf[i, 0]),
                    "S1_high": _none_if_nan(self.S1_conf[i, 1]),
                    "ST": _none_if_nan(self.ST[i]),
                    "ST_low": _none_if_nan(self.ST_conf[i, 0]),
                    "ST_high": _none_if_nan(self.ST_conf[i, 1]),
                    "S1_raw": _none_if_nan(s1_raw[i]),
                    "ST_raw": _none_if_nan(st_raw[i]),
                    "S1_outside": bool(s1_out[i]),
                    "ST_outside": bool(st_out[i]),
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


def _check_bootstrap(n_bootstrap: Any) -> int:
    if isinstance(n_bootstrap, bool) or not isinstance(n_bootstrap, int | np.integer):
        raise RoicastError(f"`n_bootstrap` must be a non-negative int, got {n_bootstrap!r}")
    if n_bootstrap < 0:
        raise RoicastError(f"`n_bootstrap` must be a non-negative int, got {n_bootstrap}")
    return int(n_bootstrap)


def _check_transform(transform: Any) -> str:
    if transform not in TRANSFORMS:
        raise RoicastError(
            f"`transform` must be one of {', '.join(map(repr, TRANSFORMS))}, got {transform!r}"
        )
    return str(transform)


def _stacked_columns(
    dists: Mapping[str, Any], n: int, rng: np.random.Generator, second_order: bool
) -> np.ndarray:
    """Rows [A; B; AB_1..AB_k; (BA_1..BA_k)] as a (k, n_rows) array, one row per input."""
    names = list(dists)
    k = len(names)
    from scipy.stats import qmc  # scipy.stats costs ~0.5 s to import: only when Sobol runs

    engine = qmc.Sobol(d=2 * k, scramble=True, rng=rng)
    base = engine.random_base2(int(math.log2(n)))
    np.clip(base, _TINY, 1.0 - _TINY, out=base)
    n_blocks = 2 + k + (k if second_order else 0)
    columns = np.empty((k, n * n_blocks))
    for j, name in enumerate(names):
        a_col = ppf(dists[name], base[:, j], name)
        b_col = ppf(dists[name], base[:, k + j], name)
        col = columns[j]
        col[:n] = a_col
        col[n : 2 * n] = b_col
        for i in range(k):  # AB_i: A with column i from B
            col[(2 + i) * n : (3 + i) * n] = b_col if i == j else a_col
        if second_order:
            for i in range(k):  # BA_i: B with column i from A
                col[(2 + k + i) * n : (3 + k + i) * n] = a_col if i == j else b_col
    return columns


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


def _excess_kurtosis(values: np.ndarray) -> float:
    """Plain-moment excess kurtosis m4 / m2² − 3 (scipy.stats.kurtosis, fisher, bias=True)."""
    d = values - values.mean()
    m2 = float(np.mean(d * d))
    if m2 == 0.0:
        return float("nan")
    return float(np.mean((d * d) ** 2) / (m2 * m2) - 3.0)


def _transformed(
    y: np.ndarray, transform: str, scale: float | None, n: int
) -> tuple[np.ndarray, str, float]:
    """The output the indices are computed on, the transform used, and the raw excess kurtosis."""
    kurt = _excess_kurtosis(y[: 2 * n])
    if transform == "auto":
        transform = "rank" if kurt > SOBOL_KURTOSIS_THRESHOLD else "none"
    if transform == "rank":
        # Normal scores of all evaluated outputs jointly: one monotone map g applied
        # to every row, so the indices are the Sobol indices of g(f(X)).
        from scipy.stats import rankdata

        r = rankdata(y)
        return ndtri((r - 0.5) / y.shape[0]), transform, kurt
    if transform == "logmod":
        if scale is None:
            scale = float(np.median(np.abs(y[: 2 * n])))
            if scale == 0.0:
                scale = float(np.mean(np.abs(y[: 2 * n])))
        return np.sign(y) * np.log1p(np.abs(y) / scale), transform, kurt
    return y, transform, kurt


def sobol_design(
    inputs: Mapping[str, Any],
    n: int,
    *,
    seed: int | np.random.Generator = 0,
    calc_second_order: bool = False,
) -> SobolDesign:
    r"""The Saltelli design: rows of input values on which to evaluate the model.

    Parameters
    ----------
    inputs : mapping of str -> distribution
        Independent inputs; anything with a vectorized ``ppf(q)`` (frozen
        ``scipy.stats`` distributions qualify).  Quantiles must be finite on (0, 1).
    n : int
        Base sample size, a power of two (Sobol points are balanced only then).
    seed : int or numpy.random.Generator, keyword-only
        Scrambling of the Sobol sequence (a Generator is advanced).
    calc_second_order : bool, keyword-only
        Add the **BA**\ :sub:`i` blocks second-order indices need (``n·k`` more rows).

    Returns
    -------
    SobolDesign
        ``design.X`` (name -> 1-D array of ``design.n_rows`` values) is what the
        model is evaluated on; ``design.matrix`` is the same as a labelled
        ``(row, input)`` array.  Row blocks, each ``n`` long, in order: **A**,
        **B**, **AB**\ :sub:`1..k`, (**BA**\ :sub:`1..k`).

    Raises
    ------
    RoicastError
        ``n`` not a power of two, an input without ``ppf`` or with non-finite
        quantiles, a bad seed.

    Examples
    --------
    >>> from roicast.sensitivity import sobol_analyze, sobol_design
    >>> from roicast.sensitivity.reference import ishigami, ishigami_inputs
    >>> design = sobol_design(ishigami_inputs(), 1024, seed=1)
    >>> res = sobol_analyze(design, ishigami(design.X))
    >>> res.to_dataframe().round(1)["ST"].tolist()
    [0.6, 0.4, 0.2]
    """
    dists = as_inputs(inputs)
    n = _check_n(n)
    rng = as_generator(seed)
    columns = _stacked_columns(dists, n, rng, bool(calc_second_order))
    return SobolDesign(
        names=tuple(dists),
        n=n,
        calc_second_order=bool(calc_second_order),
        columns=columns,
        rng_state=rng.bit_generator.state,
    )


def _resume(state: Mapping[str, Any]) -> np.random.Generator:
    bit_generator = getattr(np.random, str(state["bit_generator"]))()
    bit_generator.state = dict(state)
    return np.random.Generator(bit_generator)


def _as_design_output(design: Any, y: Any) -> np.ndarray:
    if not isinstance(design, SobolDesign):
        raise RoicastError(
            f"`design` must be a SobolDesign from sobol_design(), got {type(design).__name__}"
        )
    values = np.asarray(y.values if isinstance(y, pd.Series | xr.DataArray) else y, dtype=float)
    if values.ndim > 1 and values.size == design.n_rows:
        values = values.ravel()
    if values.shape != (design.n_rows,):
        raise RoicastError(
            f"`y` must hold one output per design row ({design.n_rows}), got shape {values.shape}"
        )
    n_bad = int(np.count_nonzero(~np.isfinite(values)))
    if n_bad:
        raise RoicastError(
            f"`y` has {n_bad} non-finite values out of {design.n_rows}; outputs must be finite"
        )
    return values


def sobol_analyze(
    design: SobolDesign,
    y: Any,
    *,
    seed: int | np.random.Generator | None = None,
    n_bootstrap: int = 200,
    confidence: float = 0.95,
    transform: Literal["none", "auto", "rank", "logmod"] = "none",
    transform_scale: float | None = None,
    clip: bool = False,
) -> SobolResult:
    r"""Sobol indices from model outputs on a :func:`sobol_design`.

    Parameters
    ----------
    design : SobolDesign
        The design the outputs were computed on.
    y : array-like, shape (design.n_rows,)
        Output per design row, in row order (``y[r] = f(design.X)[r]``).
    seed : int, numpy.random.Generator or None, keyword-only
        Bootstrap resampling.  ``None`` (default) continues the design's
        generator, so the result equals :func:`sobol_indices` with the seed of
        the design.
    n_bootstrap : int, keyword-only
        Bootstrap resamples for the intervals (0 skips them: NaN bounds).
    confidence : float, keyword-only
        Coverage of the percentile bootstrap intervals.
    transform : {"none", "auto", "rank", "logmod"}, keyword-only
        Output the indices describe.  ``"none"``: :math:`y` itself.
        ``"rank"``: the normal scores :math:`\Phi^{-1}((r - \tfrac12)/N)` of the
        ranks :math:`r` of all :math:`N` outputs (ties averaged).
        ``"logmod"``: :math:`\operatorname{sign}(y)\log(1 + |y|/c)` with
        :math:`c` = ``transform_scale`` (default: the median of :math:`|y|`
        over the rows of A and B).  ``"auto"``: ``"rank"`` when the excess
        kurtosis of the raw output (rows of A and B) exceeds
        :data:`SOBOL_KURTOSIS_THRESHOLD`, else ``"none"``.  A transform is one
        monotone map of every output, so the indices are exact Sobol indices of
        the transformed output (its share of *rank* variance, not of variance in
        currency); the bootstrap keeps the transform fixed.
    transform_scale : float, keyword-only
        :math:`c` of ``"logmod"`` (> 0).
    clip : bool, keyword-only
        Report ``S1`` and ``ST`` clipped to [0, 1] (raw kept in ``S1_raw`` /
        ``ST_raw``; intervals stay raw).

    Returns
    -------
    SobolResult
        With ``transform`` (resolved), ``excess_kurtosis``, and the flags
        ``S1_outside`` / ``ST_outside`` (interval leaves [0, 1]).

    Notes
    -----
    With :math:`f_A, f_B, f_{AB_i}` the outputs on the rows of **A**, **B**,
    **AB**\ :sub:`i` (centred by the mean of :math:`f_A, f_B`) and
    :math:`V` the variance of :math:`(f_A, f_B)` pooled:

    .. math::

        S_i = \frac{1}{V}\,\frac1n \sum_j f_{B,j}\,(f_{AB_i,j} - f_{A,j}),
        \qquad
        S_{Ti} = \frac{1}{V}\,\frac1{2n} \sum_j (f_{A,j} - f_{AB_i,j})^2 .

    Second order (with the **BA** blocks, Saltelli 2002):
    :math:`S_{ij} = \frac{\tfrac1n\sum f(BA_i) f(AB_j) - \overline{f(A) f(B)}}{V} - S_i - S_j`.

    Raises
    ------
    RoicastError
        ``y`` of the wrong shape or non-finite, zero variance, a bad option.
    """
    values = _as_design_output(design, y)
    n_bootstrap = _check_bootstrap(n_bootstrap)
    confidence = check_probability(confidence, "confidence")
    transform = _check_transform(transform)
    if transform_scale is not None:
        try:
            transform_scale = float(transform_scale)
        except (TypeError, ValueError):
            raise RoicastError(
                f"`transform_scale` must be a positive number, got {transform_scale!r}"
            ) from None
        if not (transform_scale > 0 and np.isfinite(transform_scale)):
            raise RoicastError(
                f"`transform_scale` must be a positive number, got {transform_scale!r}"
            )
    rng = _resume(design.rng_state) if seed is None else as_generator(seed)
    n, k = design.n, len(design.names)
    second = design.calc_second_order
    if np.var(values[: 2 * n]) == 0.0:
        raise RoicastError(
            "the model output has zero variance over the rows of A and B; "
            "Sobol indices are undefined"
        )
    values, used, kurt = _transformed(values, transform, transform_scale, n)
    fa = values[:n]
    fb = values[n : 2 * n]
    fab = values[2 * n : (2 + k) * n].reshape(k, n)
    fba = values[(2 + k) * n :].reshape(k, n) if second else None
    s1, st, s2 = _estimate(fa, fb, fab, fba)

    s1_conf = np.full((k, 2), np.nan)
    st_conf = np.full((k, 2), np.nan)
    s2_conf = np.full((k, k, 2), np.nan) if second else None
    if n_bootstrap > 0:
        per_sample = n * (k + 2 + (k if second else 0))
        chunk = max(1, _CHUNK_ELEMENTS // per_sample)
        s1_b = np.empty((n_bootstrap, k))
        st_b = np.empty((n_bootstrap, k))
        s2_b = np.empty((n_bootstrap, k, k)) if second else None
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

    clip = bool(clip)
    return SobolResult(
        names=design.names,
        S1=np.clip(s1, 0.0, 1.0) if clip else s1,
        S1_conf=s1_conf,
        ST=np.clip(st, 0.0, 1.0) if clip else st,
        ST_conf=st_conf,
        n=n,
        n_evals=design.n_rows,
        confidence=confidence,
        S2=s2,
        S2_conf=s2_conf,
        transform=used,
        excess_kurtosis=kurt,
        clipped=clip,
        S1_raw=s1,
        ST_raw=st,
        S1_outside=_outside_unit(s1_conf),
        ST_outside=_outside_unit(st_conf),
    )


def sobol_indices(
    func: Callable[[dict[str, np.ndarray]], np.ndarray],
    inputs: Mapping[str, Any],
    n: int,
    *,
    seed: int | np.random.Generator = 0,
    n_bootstrap: int = 200,
    confidence: float = 0.95,
    calc_second_order: bool = False,
    transform: Literal["none", "auto", "rank", "logmod"] = "none",
    transform_scale: float | None = None,
    clip: bool = False,
) -> SobolResult:
    r"""First-order and total Sobol indices of ``func`` over independent ``inputs``, in one call.

    Exactly :func:`sobol_design` → ``func(design.X)`` → :func:`sobol_analyze`
    with one generator: the same numbers as the three steps with the same seed.

    Parameters
    ----------
    func : callable
        ``func(x) -> y`` where ``x`` maps each input name to a 1-D array of
        values and ``y`` is the 1-D array of outputs, one per row.  It is called
        **once**, on all ``n·(k + 2)`` rows stacked.
    inputs : mapping of str -> distribution
        As in :func:`sobol_design`.
    n : int
        Base sample size, a power of two.
    seed : int or numpy.random.Generator, keyword-only
        Scrambling of the Sobol sequence, then bootstrap resampling.
    n_bootstrap, confidence, transform, transform_scale, clip : keyword-only
        As in :func:`sobol_analyze`.
    calc_second_order : bool, keyword-only
        Also estimate second-order indices (``n·k`` more evaluations).

    Returns
    -------
    SobolResult

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
    as_inputs(inputs)
    _check_n(n)
    _check_bootstrap(n_bootstrap)
    check_probability(confidence, "confidence")
    _check_transform(transform)
    rng = as_generator(seed)
    design = sobol_design(inputs, n, seed=rng, calc_second_order=calc_second_order)
    y = call_model(func, design.X, design.n_rows)
    return sobol_analyze(
        design,
        y,
        seed=rng,
        n_bootstrap=n_bootstrap,
        confidence=confidence,
        transform=transform,
        transform_scale=transform_scale,
        clip=clip,
    )
