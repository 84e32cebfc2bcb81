"""Shared input checks for the sensitivity stage (private).

Every public function of :mod:`roicast.sensitivity` validates its arguments
once, here, and raises :class:`~roicast.errors.RoicastError` with a one-line
message naming the argument, the value and the rule.  The numerical code after
the boundary does no checking.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from roicast.errors import RoicastError

#: From this many draws on, ranks come from one value sort per input in numba
#: (:func:`fill_average_ranks`) instead of ``np.argsort``; the ranks are the same.
FAST_RANK_N = 50_000

__all__ = [
    "FAST_RANK_N",
    "as_columns",
    "as_generator",
    "as_inputs",
    "as_output",
    "as_samples",
    "average_ranks",
    "call_model",
    "check_probability",
    "fill_average_ranks",
    "ppf",
]


def as_generator(seed: Any, field: str = "seed") -> np.random.Generator:
    """Return a Generator for ``seed`` (a non-negative int or a Generator).

    ``seed=0`` is a seed like any other (no ``if seed:``); ``None`` is refused
    because every roicast result must be reproducible.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer):
        raise RoicastError(
            f"`{field}` must be a non-negative int or a numpy.random.Generator, got {seed!r}"
        )
    if seed < 0:
        raise RoicastError(f"`{field}` must be a non-negative int, got {seed}")
    return np.random.default_rng(int(seed))


def check_probability(value: Any, field: str, *, open_interval: bool = True) -> float:
    """Return ``value`` as a float inside (0, 1) (or [0, 1] when not open)."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise RoicastError(f"`{field}` must be a number in (0, 1), got {value!r}") from None
    ok = (0.0 < v < 1.0) if open_interval else (0.0 <= v <= 1.0)
    if not ok:
        interval = "(0, 1)" if open_interval else "[0, 1]"
        raise RoicastError(f"`{field}` must lie in {interval}, got {value!r}")
    return v


def as_inputs(inputs: Any, field: str = "inputs") -> dict[str, Any]:
    """Check a mapping of input name -> distribution with a ``ppf`` method."""
    if not isinstance(inputs, Mapping):
        raise RoicastError(
            f"`{field}` must be a mapping of input name -> distribution, got {type(inputs).__name__}"
        )
    if len(inputs) == 0:
        raise RoicastError(f"`{field}` is empty; give at least one input")
    out: dict[str, Any] = {}
    for name, dist in inputs.items():
        if not isinstance(name, str):
            raise RoicastError(f"`{field}` keys must be input names (str), got {name!r}")
        if not callable(getattr(dist, "ppf", None)):
            raise RoicastError(
                f"`{field}[{name!r}]` must have a ppf(q) method (e.g. a frozen scipy.stats "
                f"distribution), got {type(dist).__name__}"
            )
        out[name] = dist
    return out


def ppf(dist: Any, q: np.ndarray, name: str) -> np.ndarray:
    """Evaluate ``dist.ppf(q)`` as a float array of q's shape, requiring finite values."""
    values = np.asarray(dist.ppf(q), dtype=float)
    values = np.broadcast_to(values, np.shape(q)).astype(float, copy=True)
    if not np.all(np.isfinite(values)):
        bad = np.asarray(q)[~np.isfinite(values)].ravel()[0]
        raise RoicastError(
            f"`inputs[{name!r}]`.ppf({bad:g}) is not finite; inputs need finite quantiles "
            f"on (0, 1) (truncate unbounded distributions)"
        )
    return values


def call_model(
    func: Callable[[dict[str, np.ndarray]], Any],
    x: dict[str, np.ndarray],
    n_rows: int,
    field: str = "func",
) -> np.ndarray:
    """Call ``func(x)`` and check it returns ``n_rows`` finite floats."""
    if not callable(func):
        raise RoicastError(f"`{field}` must be callable, got {type(func).__name__}")
    y = np.asarray(func(x), dtype=float)
    if y.ndim == 0:
        y = np.full(n_rows, float(y))
    y = np.ravel(y) if y.ndim > 1 and y.size == n_rows else y
    if y.shape != (n_rows,):
        raise RoicastError(
            f"`{field}` must return a 1-D array with one value per row ({n_rows}), "
            f"got shape {y.shape}"
        )
    n_bad = int(np.count_nonzero(~np.isfinite(y)))
    if n_bad:
        raise RoicastError(
            f"`{field}` returned {n_bad} non-finite values out of {n_rows}; outputs must be finite"
        )
    return y


def _is(obj: Any, module: str, *names: str) -> bool:
    """``isinstance(obj, module.name)`` for any of ``names``, without importing ``module``.

    pandas and xarray are imported lazily (``roicast._qmc`` and spec validation use
    this module); an object of theirs can only exist once they are loaded.
    """
    mod = sys.modules.get(module)
    return mod is not None and isinstance(obj, tuple(getattr(mod, n) for n in names))


def _sample_values(X: Any, field: str) -> tuple[list[str], np.ndarray]:
    """Names and the (draw, input) float array of ``X``, checked, in whatever memory order."""
    if _is(X, "pandas", "DataFrame"):
        names = [str(c) for c in X.columns]
        try:
            values = X.to_numpy(dtype=float)
        except (TypeError, ValueError):
            raise RoicastError(f"`{field}` must hold numeric inputs only") from None
    elif _is(X, "xarray", "DataArray"):
        if set(X.dims) != {"draw", "input"}:
            raise RoicastError(f"`{field}` must have dims ('draw', 'input'), got {X.dims}")
        X = X.transpose("draw", "input")
        names = (
            [str(v) for v in X["input"].values]
            if "input" in X.coords
            else [f"x{i}" for i in range(X.sizes["input"])]
        )
        values = np.asarray(X.values, dtype=float)
    else:
        raise RoicastError(
            f"`{field}` must be a pandas DataFrame or an xarray DataArray (draw, input), "
            f"got {type(X).__name__}"
        )
    if values.ndim != 2 or values.shape[1] == 0:
        raise RoicastError(
            f"`{field}` must have at least one input column, got shape {values.shape}"
        )
    if len(set(names)) != len(names):
        raise RoicastError(f"`{field}` has duplicate input names: {names}")
    n_bad = int(np.count_nonzero(~np.isfinite(values)))
    if n_bad:
        raise RoicastError(f"`{field}` contains {n_bad} non-finite values; inputs must be finite")
    return names, values


def as_samples(X: Any, field: str = "X") -> tuple[list[str], np.ndarray]:
    """Return input names and a C-contiguous float (draw, input) array.

    Accepts a :class:`pandas.DataFrame` (one column per input) or an
    :class:`xarray.DataArray` with dims ``(draw, input)`` (``input`` labelled).
    """
    names, values = _sample_values(X, field)
    return names, np.ascontiguousarray(values)


def as_columns(X: Any, field: str = "X") -> tuple[list[str], np.ndarray]:
    """Return input names and a C-contiguous float (input, draw) array: one row per input.

    Same checks as :func:`as_samples`.  A DataFrame's values are usually stored
    input by input already, so this is then a view, not a copy.
    """
    names, values = _sample_values(X, field)
    return names, np.ascontiguousarray(values.T)


def as_output(y: Any, n: int | None = None, field: str = "y", *, min_size: int = 2) -> np.ndarray:
    """Return ``y`` as a finite 1-D float array (of length ``n`` when given)."""
    values = np.asarray(
        y.values if _is(y, "pandas", "Series") or _is(y, "xarray", "DataArray") else y, dtype=float
    )
    if values.ndim != 1:
        raise RoicastError(f"`{field}` must be 1-D (one output per draw), got shape {values.shape}")
    if n is not None and values.shape[0] != n:
        raise RoicastError(
            f"`{field}` has {values.shape[0]} draws but the inputs have {n}; they must match"
        )
    if values.shape[0] < min_size:
        raise RoicastError(f"`{field}` needs at least {min_size} draws, got {values.shape[0]}")
    n_bad = int(np.count_nonzero(~np.isfinite(values)))
    if n_bad:
        raise RoicastError(
            f"`{field}` contains {n_bad} non-finite values; outputs must be finite "
            f"(cap an unreached payback at the horizon, e.g. np.minimum(y, horizon))"
        )
    return values


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks (1..n, ties share their mean rank) of each column, returned as rows.

    ``values`` is ``(n, k)``; the result is ``(k, n)``, one contiguous row per
    input (fast for the per-input reductions that follow).  One ``argsort``
    per input plus O(n) tie handling: ``scipy.stats.rankdata(values, axis=0).T``
    at about half the cost.  From :data:`FAST_RANK_N` draws on, the sort is
    :func:`fill_average_ranks` (numba) and the ties are handled in numba; the ranks are
    the same.
    """
    rows = np.ascontiguousarray(np.asarray(values, dtype=float).T)
    k, n = rows.shape
    if n >= FAST_RANK_N:  # same ranks from one value sort per input (numba)
        ranks = np.empty((k, n), dtype=float)
        for j in range(k):
            fill_average_ranks(rows[j], ranks[j])
        return ranks
    order = np.argsort(rows, axis=1)
    sorted_rows = np.take_along_axis(rows, order, axis=1)
    ranks = np.empty((k, n), dtype=float)
    positions = np.arange(1, n + 1, dtype=float)
    new_group = np.empty(n, dtype=bool)
    new_group[0] = True
    for j in range(k):
        row = sorted_rows[j]
        np.not_equal(row[1:], row[:-1], out=new_group[1:])
        if new_group.all():
            ranks[j, order[j]] = positions
            continue
        starts = np.flatnonzero(new_group)
        ends = np.append(starts[1:], n)
        mean_rank = (starts + ends + 1) / 2.0  # mean of positions starts+1 .. ends
        ranks[j, order[j]] = mean_rank[np.cumsum(new_group) - 1]
    return ranks


def fill_average_ranks(x: np.ndarray, ranks: np.ndarray) -> np.ndarray:
    """Write the average ranks (1..n, ties share their mean rank) of the finite 1-D ``x`` into ``ranks``.

    One value sort instead of an ``argsort``: the floats are mapped to int64
    keys in the same order, their low :math:`\\lceil\\log_2 n\\rceil` bits
    replaced by the draw index, and the keys sorted with ``np.sort`` (several
    times faster than ``np.argsort`` at 10^6 draws); the ranks are then read
    off the sorted keys by :func:`roicast.sensitivity._kernels.ranks_from_packed`,
    which asks for ``np.argsort`` only when many draws share the high bits of
    their keys without sharing a value.  The same ranks as
    ``scipy.stats.rankdata(x)``.  Loads numba.
    """
    from roicast.sensitivity._kernels import (
        packed_keys,
        ranks_from_packed,
        scatter_average_ranks,
    )

    x = np.ascontiguousarray(x, dtype=float)
    n = x.shape[0]
    bits = max(1, (n - 1).bit_length())
    packed = np.empty(n, dtype=np.int64)
    packed_keys(x.view(np.int64), bits, packed)
    packed.sort()
    if not ranks_from_packed(x, packed, bits, ranks):
        scatter_average_ranks(x, np.argsort(x, kind="stable"), ranks)
    return ranks
