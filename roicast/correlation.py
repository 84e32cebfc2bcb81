"""Rank correlations between sampled inputs by the Iman–Conover method.

Iman–Conover induces a target rank correlation between the columns of a sample
by *reordering* each column: the values themselves (and so every marginal
distribution, and the Latin-hypercube stratification of each column) are kept
exactly.

References
----------
Iman, R. L. and Conover, W. J. (1982). A distribution-free approach to inducing
rank correlation among input variables. *Commun. Stat. Simul. Comput.* 11, 311–334.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from roicast._qmc import as_generator
from roicast.errors import RoicastError

__all__ = ["check_correlation", "iman_conover"]

_SYMMETRY_TOL = 1e-8
_PSD_TOL = 1e-10


def check_correlation(corr: Any, k: int | None = None, *, name: str = "corr") -> np.ndarray:
    """Validate a target correlation matrix and return it as a float array.

    Rules: square (``k × k`` when ``k`` is given), finite, symmetric, unit
    diagonal, entries in [-1, 1], positive semi-definite (smallest eigenvalue
    ≥ -1e-10).  Each broken rule raises :class:`~roicast.errors.RoicastError`
    naming ``name``.
    """
    try:
        c = np.array(corr, dtype=float)
    except (TypeError, ValueError):
        raise RoicastError(f"`{name}` must be a numeric square matrix") from None
    if c.ndim != 2 or c.shape[0] != c.shape[1]:
        raise RoicastError(f"`{name}` must be a square matrix, got shape {c.shape}")
    if k is not None and c.shape[0] != k:
        raise RoicastError(f"`{name}` must be {k}x{k} (one row per input), got {c.shape}")
    if not np.all(np.isfinite(c)):
        raise RoicastError(f"`{name}` contains non-finite entries")
    asym = float(np.max(np.abs(c - c.T)))
    if asym > _SYMMETRY_TOL:
        raise RoicastError(f"`{name}` must be symmetric (largest |c_ij - c_ji| is {asym:.3g})")
    diag = np.diag(c)
    if np.any(np.abs(diag - 1.0) > _SYMMETRY_TOL):
        bad = int(np.flatnonzero(np.abs(diag - 1.0) > _SYMMETRY_TOL)[0])
        raise RoicastError(
            f"`{name}` must have a unit diagonal, got {name}[{bad}, {bad}] = {diag[bad]:g}"
        )
    if np.any(np.abs(c) > 1.0 + _SYMMETRY_TOL):
        i, j = np.argwhere(np.abs(c) > 1.0 + _SYMMETRY_TOL)[0]
        raise RoicastError(
            f"`{name}` entries must lie in [-1, 1], got {name}[{i}, {j}] = {c[i, j]:g}"
        )
    c = 0.5 * (c + c.T)
    np.fill_diagonal(c, 1.0)
    smallest = float(np.linalg.eigvalsh(c)[0])
    if smallest < -_PSD_TOL:
        raise RoicastError(
            f"`{name}` is not positive semi-definite (smallest eigenvalue {smallest:.4g}); "
            f"these correlations cannot hold together, weaken some of them"
        )
    return c


def _factor(c: np.ndarray) -> np.ndarray:
    """A matrix P with P Pᵀ = c: Cholesky when c is definite, else from eigenvectors."""
    try:
        return np.linalg.cholesky(c)
    except np.linalg.LinAlgError:
        w, v = np.linalg.eigh(c)
        return v * np.sqrt(np.clip(w, 0.0, None))


def _pearson_for_spearman(c: np.ndarray) -> np.ndarray:
    r"""Pearson correlation of normal scores giving Spearman ``c``: :math:`2\sin(\pi c/6)`.

    The map is exact for bivariate normals.  The result can (rarely) lose
    positive semi-definiteness; its negative eigenvalues are then clipped to 0
    and the diagonal rescaled to 1.
    """
    p = 2.0 * np.sin(np.pi * c / 6.0)
    np.fill_diagonal(p, 1.0)
    w, v = np.linalg.eigh(p)
    if w[0] < 0.0:
        p = (v * np.clip(w, 0.0, None)) @ v.T
        d = np.sqrt(np.diag(p))
        p = p / np.outer(d, d)
        np.fill_diagonal(p, 1.0)
    return p


def iman_conover(
    u: np.ndarray,
    corr: np.ndarray,
    *,
    seed: int | np.random.Generator = 0,
    name: str = "corr",
) -> np.ndarray:
    r"""Reorder each column of ``u`` to induce the target Spearman rank correlation.

    Parameters
    ----------
    u : numpy.ndarray, shape (n, k)
        A sample: uniforms (before the ``ppf``) or values (after it); ``n > k``.
    corr : numpy.ndarray, shape (k, k)
        Target Spearman rank correlation matrix: symmetric, unit diagonal,
        entries in [-1, 1], positive semi-definite.
    seed : int or numpy.random.Generator, keyword-only
        Random pairing of the scores (the result is deterministic for a seed).
    name : str, keyword-only
        How error messages name the matrix (e.g. ``"correlations"`` for the spec
        field).

    Returns
    -------
    numpy.ndarray, shape (n, k)
        Each column a permutation of the same column of ``u``.

    Notes
    -----
    1. van der Waerden scores :math:`a_i = \Phi^{-1}(i/(n+1))`, :math:`i = 1..n`,
       randomly permuted in each column, form a score matrix :math:`M`.
    2. The target rank correlation :math:`C` is turned into the Pearson
       correlation that normal scores need, :math:`R = 2\sin(\pi C/6)` (exact
       for normal scores; it removes the up to 0.018 bias of using :math:`C`
       directly).
    3. With :math:`E = Q Q^\top` the Cholesky factorisation of the *sample*
       correlation of :math:`M` and :math:`R = P P^\top`,
       :math:`M^* = M\,Q^{-\top} P^\top` has sample correlation exactly
       :math:`R` (dividing by :math:`Q` removes the chance correlation of the
       random pairing).
    4. Column *j* of the result is column *j* of ``u`` sorted and placed in the
       rank order of :math:`M^*_{\cdot j}`.

    Only permutations are applied, so marginals (and LHS strata) are unchanged.

    Raises
    ------
    RoicastError
        ``u`` not 2-D or not finite or with ``n ≤ k``; ``corr`` breaking a rule
        (see :func:`check_correlation`), e.g. "is not positive semi-definite".
    """
    x = np.asarray(u, dtype=float)
    if x.ndim != 2:
        raise RoicastError(f"`u` must be a 2-D (draw, input) array, got shape {x.shape}")
    n, k = x.shape
    c = check_correlation(corr, k, name=name)
    if not np.all(np.isfinite(x)):
        raise RoicastError("`u` contains non-finite values")
    rng = as_generator(seed)
    if k == 1:
        return x.copy()
    if n <= k:
        raise RoicastError(
            f"`u` needs more draws than inputs to induce correlations, got {n} draws for {k} inputs"
        )
    from scipy.special import ndtri  # here: validating correlations does not load scipy

    scores = ndtri(np.arange(1, n + 1) / (n + 1.0))
    scores = (scores - scores.mean()) / scores.std()
    m = np.empty((n, k))
    for j in range(k):
        m[:, j] = scores[rng.permutation(n)]
    e = np.corrcoef(m, rowvar=False)
    q = np.linalg.cholesky(e)
    p = _factor(_pearson_for_spearman(c))
    # M* = M Q^{-T} P^T, computed with a triangular solve: (Q^{-1} M^T)^T P^T.
    m_star = np.linalg.solve(q, m.T).T @ p.T
    out = np.empty_like(x)
    for j in range(k):
        ranks = np.argsort(np.argsort(m_star[:, j], kind="stable"), kind="stable")
        out[:, j] = np.sort(x[:, j], kind="stable")[ranks]
    return out
