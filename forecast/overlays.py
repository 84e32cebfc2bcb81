"""Business overlays on demand paths, and stratified draws of distributions.

Distributions are anything with a vectorized ``ppf(q)`` (frozen ``scipy.stats``
distributions, roicast's own distributions); a plain number means "known".
Each path gets one draw of each overlay, taken from stratified uniforms
(Latin-hypercube style: one uniform in each of ``n`` equal strata, shuffled),
so a few hundred paths already cover the distribution evenly.

Growth overlay: an *extra* annual growth rate ``x`` on top of whatever the
paths already contain; month ``t`` (1-based within the study) is multiplied
by ``(1 + x)^((t − 1)/12)``: the first study month is unchanged and each
later month is ``(t − 1)`` months of extra compound growth further along.

Launches / migrations: ``(k, F)`` multiplies months ``k, k+1, ..., H`` by a
factor ``f`` drawn from ``F`` (``f > 0``; ``f = 1.3`` is a 30 % step up).

Ceiling: saturating (logistic) growth towards a ceiling ``C`` (units a month,
one draw per path), applied to each path relative to its first month
``B = D[1]``::

    D'[t] = C·D[t] / (C + D[t] − B)

For an exponential path ``D[t] = B e^{rt}`` this is exactly the logistic
(Verhulst) curve ``C / (1 + (C/B − 1) e^{−rt})`` through ``B`` at ``t = 1``: the
first month is unchanged, demand far below ``C`` follows the forecast, and no
month exceeds ``C`` (a path that starts at or above its ceiling is held at ``C``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from roicast.errors import RoicastError

__all__ = ["apply_ceiling", "apply_overlays", "draw", "stratified_uniforms"]


def stratified_uniforms(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniforms on (0, 1), one in each stratum ``[i/n, (i+1)/n)``, shuffled."""
    u = (rng.permutation(n) + rng.random(n)) / n
    return np.clip(u, 1e-12, 1 - 1e-12)


def draw(dist, n: int, rng: np.random.Generator, *, name: str) -> np.ndarray:
    """``n`` stratified draws of ``dist`` (a number is a fixed value)."""
    if isinstance(dist, int | float | np.integer | np.floating):
        return np.full(n, float(dist))
    if not hasattr(dist, "ppf"):
        raise RoicastError(
            f"{name}: {dist!r} is neither a number nor a distribution with a ppf method"
        )
    values = np.asarray(dist.ppf(stratified_uniforms(n, rng)), dtype=float)
    if values.shape != (n,) or not np.all(np.isfinite(values)):
        raise RoicastError(
            f"{name}: ppf gave non-finite or ill-shaped values; check the distribution"
        )
    return values


def apply_overlays(
    paths: np.ndarray,
    *,
    growth=None,
    launches: Sequence = (),
    rng: np.random.Generator,
) -> tuple[np.ndarray, list[str]]:
    """Multiply ``(path, month)`` demand by the growth and launch overlays.

    Parameters
    ----------
    paths : numpy.ndarray
        ``(n_paths, horizon)`` demand; not modified.
    growth : distribution or float, optional
        Extra annual growth rate ``x`` (``> −1``): month ``t`` is multiplied by
        ``(1 + x)^((t − 1)/12)``.
    launches : sequence of (int, distribution or float)
        ``(k, F)``: months ``k..H`` (1-based) multiplied by ``f ~ F`` (``f > 0``).
    rng : numpy.random.Generator
        Source of the stratified uniforms (one stream, independent of the paths').

    Returns
    -------
    paths : numpy.ndarray
        The new demand.
    notes : list of str
        Descriptions of the overlays applied, for the model description.
    """
    n, horizon = paths.shape
    out = paths.copy()
    notes: list[str] = []
    if growth is not None:
        x = draw(growth, n, rng, name="growth")
        if np.any(x <= -1):
            raise RoicastError(
                f"growth: draws down to {x.min():g}; an annual growth rate must be > -1 (-100 %)"
            )
        t = np.arange(horizon)
        out *= np.exp(np.log1p(x)[:, None] * t[None, :] / 12.0)
        notes.append(f"growth overlay (median extra {np.median(x):+.1%}/yr)")
    for i, launch in enumerate(launches):
        try:
            month, dist = launch
            month = int(month)
        except (TypeError, ValueError):
            raise RoicastError(
                f"launches[{i}]: {launch!r} is not a (month, factor distribution) pair"
            ) from None
        if not 1 <= month <= horizon:
            raise RoicastError(
                f"launches[{i}]: month {month} is outside the study's months 1..{horizon}"
            )
        f = draw(dist, n, rng, name=f"launches[{i}]")
        if np.any(f <= 0):
            raise RoicastError(
                f"launches[{i}]: factor draws down to {f.min():g}; a volume factor must be > 0"
            )
        out[:, month - 1 :] *= f[:, None]
        notes.append(f"launch at month {month} (median ×{np.median(f):.3g})")
    return out, notes


def apply_ceiling(
    paths: np.ndarray, ceiling, *, rng: np.random.Generator
) -> tuple[np.ndarray, dict]:
    """Saturate ``(path, month)`` demand at a ceiling drawn per path (module notes).

    Parameters
    ----------
    paths : numpy.ndarray
        ``(n_paths, horizon)`` demand (> 0); not modified.
    ceiling : distribution or float
        Units a month (``> 0``).
    rng : numpy.random.Generator
        Source of the stratified uniforms.

    Returns
    -------
    paths : numpy.ndarray
        ``D'[p, t] = C_p D[p, t] / (C_p + D[p, t] − B_p)``, ``B_p = min(D[p, 1], C_p)``.
    info : dict
        ``p10``, ``p50``, ``p90`` of the ceiling draws and ``share_capped``, the
        share of paths whose first month already reached their ceiling.
    """
    n = paths.shape[0]
    c = draw(ceiling, n, rng, name="ceiling")
    if np.any(c <= 0):
        raise RoicastError(
            f"ceiling: draws down to {c.min():g}; a ceiling must be > 0 units a month"
        )
    first = paths[:, :1]
    capped = first[:, 0] >= c
    base = np.minimum(first, c[:, None])
    out = c[:, None] * paths / (c[:, None] + paths - base)
    q = np.quantile(c, [0.1, 0.5, 0.9])
    info = {
        "p10": float(q[0]),
        "p50": float(q[1]),
        "p90": float(q[2]),
        "share_capped": float(np.mean(capped)),
    }
    return out, info
