"""Break-even values: how far can each input move before the mean output reaches a target.

For input *i*, with every other input at its base value (median by default),
the break-even value is :math:`x_i^*` such that

.. math:: \\bar f(x_i^*, x_{-i}^{\\text{base}}) = \\text{target}

(by default mean NPV = 0).  The search runs in quantile space,
:math:`x_i = F_i^{-1}(q)` with :math:`q \\in [0.001, 0.999]`, so it never leaves
the input's own range and works for any distribution with a ``ppf``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq

from roicast.errors import RoicastError
from roicast.sensitivity._common import as_inputs, call_model, check_probability, ppf

__all__ = ["BreakEven", "BreakEvenResult", "break_even"]


@dataclass(frozen=True)
class BreakEven:
    """Break-even of one input.

    Attributes
    ----------
    input : str
        Input name.
    value : float or None
        Break-even value, or None when the target is not reached within the
        input's range (see ``reason``).
    quantile : float or None
        Quantile of ``value`` in the input's distribution: the probability that
        the input is below its break-even value.
    below_target_when : str or None
        ``"lower"`` when the output falls below target for input values under
        ``value``, ``"higher"`` when above it.
    n_crossings : int
        Sign changes of (output − target) seen on the search grid; more than one
        means a non-monotonic effect (the crossing nearest the median is reported).
    reason : str or None
        Why there is no value ("not within the input's range: ...").
    """

    input: str
    value: float | None
    quantile: float | None
    below_target_when: str | None
    n_crossings: int
    reason: str | None


@dataclass(frozen=True)
class BreakEvenResult:
    """Result of :func:`break_even`: one :class:`BreakEven` per input."""

    items: tuple[BreakEven, ...]
    target: float
    base: dict[str, float]
    base_output: float
    n_evals: int

    @property
    def names(self) -> tuple[str, ...]:
        """Input names, in the order of ``items``."""
        return tuple(it.input for it in self.items)

    def __getitem__(self, name: str) -> BreakEven:
        for item in self.items:
            if item.input == name:
                return item
        raise KeyError(name)

    def to_dataframe(self) -> pd.DataFrame:
        """One row per input: value, quantile, below_target_when, n_crossings, base, reason."""
        df = pd.DataFrame(
            {
                "value": [np.nan if it.value is None else it.value for it in self.items],
                "quantile": [np.nan if it.quantile is None else it.quantile for it in self.items],
                "below_target_when": [it.below_target_when for it in self.items],
                "n_crossings": [it.n_crossings for it in self.items],
                "base": [self.base[it.input] for it in self.items],
                "reason": [it.reason for it in self.items],
            },
            index=pd.Index([it.input for it in self.items], name="input"),
        )
        df.attrs["target"] = self.target
        df.attrs["base_output"] = self.base_output
        return df

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict."""
        return {
            "target": self.target,
            "base_output": self.base_output,
            "n_evals": self.n_evals,
            "inputs": [
                {
                    "input": it.input,
                    "value": it.value,
                    "quantile": it.quantile,
                    "below_target_when": it.below_target_when,
                    "n_crossings": it.n_crossings,
                    "base": self.base[it.input],
                    "reason": it.reason,
                }
                for it in self.items
            ],
        }


def _check_q_range(q_range: Sequence[float]) -> tuple[float, float]:
    try:
        lo, hi = (float(v) for v in q_range)
    except (TypeError, ValueError):
        raise RoicastError(
            f"`q_range` must be two quantiles (low, high), got {q_range!r}"
        ) from None
    check_probability(lo, "q_range")
    check_probability(hi, "q_range")
    if not lo < hi:
        raise RoicastError(f"`q_range` must be increasing, got ({lo:g}, {hi:g})")
    return lo, hi


def break_even(
    func: Callable[[dict[str, np.ndarray]], np.ndarray],
    inputs: Mapping[str, Any],
    *,
    target: float = 0.0,
    base: Mapping[str, float] | None = None,
    q_range: Sequence[float] = (0.001, 0.999),
    grid: int = 9,
    xtol: float = 1e-4,
) -> BreakEvenResult:
    r"""For each input, the value at which the (mean) output reaches ``target``.

    Search, per input *i* (others at ``base``):

    1. evaluate :math:`g(q) = f(F_i^{-1}(q)) - \text{target}` on ``grid``
       equally spaced quantiles over ``q_range`` (one vectorized call of
       ``func`` for all inputs);
    2. no sign change: the target is "not within the input's range" (value
       None, with the reason);
    3. otherwise refine the sign change nearest the median with Brent's method
       on :math:`q` (``scipy.optimize.brentq``, ``xtol`` in quantile units),
       one single-row call of ``func`` per iteration, and report
       :math:`x_i^* = F_i^{-1}(q^*)`.

    Parameters
    ----------
    func : callable
        ``func(x) -> y``: ``x`` maps every input name to a 1-D array of settings
        (one per row), ``y`` is the 1-D output per row, typically the **mean**
        NPV over the study's draws with common random numbers (so rows differ
        only by the settings, not by noise).
    inputs : mapping of str -> distribution
        Anything with ``ppf(q)``.
    target : float, keyword-only
        Output level to reach (0: break-even NPV).
    base : mapping of str -> float, keyword-only
        Values of the other inputs (default: each input's median ``ppf(0.5)``);
        a partial mapping overrides only the inputs it names.
    q_range : (float, float), keyword-only
        Quantile range searched.
    grid : int, keyword-only
        Grid points used to bracket the crossing (>= 2).
    xtol : float, keyword-only
        Absolute tolerance of the root in quantile units.

    Returns
    -------
    BreakEvenResult
        Per input: value, quantile, side, or None with the reason; ``n_evals``
        counts the rows evaluated (about ``1 + k·grid + 8·k`` at most for smooth models).
    """
    dists = as_inputs(inputs)
    names = list(dists)
    try:
        target = float(target)
    except (TypeError, ValueError):
        raise RoicastError(f"`target` must be a number, got {target!r}") from None
    if not np.isfinite(target):
        raise RoicastError(f"`target` must be finite, got {target}")
    q_lo, q_hi = _check_q_range(q_range)
    if isinstance(grid, bool) or not isinstance(grid, int | np.integer) or grid < 2:
        raise RoicastError(f"`grid` must be an int >= 2, got {grid!r}")
    try:
        xtol = float(xtol)
    except (TypeError, ValueError):
        raise RoicastError(f"`xtol` must be a positive number, got {xtol!r}") from None
    if not xtol > 0:
        raise RoicastError(f"`xtol` must be a positive number, got {xtol!r}")

    base_values = {name: float(ppf(dists[name], np.array([0.5]), name)[0]) for name in names}
    for name, value in (base or {}).items():
        if name not in dists:
            raise RoicastError(f"`base` names unknown input {name!r}; inputs are {names}")
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise RoicastError(f"`base[{name!r}]` must be a number, got {value!r}") from None
        if not np.isfinite(v):
            raise RoicastError(f"`base[{name!r}]` must be finite, got {value!r}")
        base_values[name] = v

    qs = np.linspace(q_lo, q_hi, int(grid))
    grid_x = {name: ppf(dists[name], qs, name) for name in names}
    k, m = len(names), qs.size
    n_rows = 1 + k * m
    x = {name: np.full(n_rows, base_values[name]) for name in names}
    for i, name in enumerate(names):
        x[name][1 + i * m : 1 + (i + 1) * m] = grid_x[name]
    y = call_model(func, x, n_rows)
    base_output = float(y[0])
    n_evals = n_rows

    items = []
    for i, name in enumerate(names):
        g = y[1 + i * m : 1 + (i + 1) * m] - target
        xs = grid_x[name]
        if xs[0] == xs[-1]:
            items.append(BreakEven(name, None, None, None, 0, "input is fixed (no range)"))
            continue
        sign = np.sign(g)
        exact = np.flatnonzero(sign == 0.0)
        changes = np.flatnonzero(sign[:-1] * sign[1:] < 0)
        n_cross = int(changes.size + exact.size)
        if n_cross == 0:
            side = "above" if g[0] > 0 else "below"
            items.append(
                BreakEven(
                    name,
                    None,
                    None,
                    None,
                    0,
                    f"not within the input's range: output stays {side} target "
                    f"({target:g}) for {name} in [{xs[0]:.6g}, {xs[-1]:.6g}] "
                    f"(quantiles {q_lo:g}..{q_hi:g})",
                )
            )
            continue
        # Candidate crossings: exact grid roots, and brackets; take the one nearest q = 0.5.
        candidates = [(abs(qs[j] - 0.5), "exact", j) for j in exact]
        candidates += [(abs(0.5 * (qs[j] + qs[j + 1]) - 0.5), "bracket", j) for j in changes]
        _, kind, j = min(candidates)
        if kind == "exact":
            q_star = float(qs[j])
            value = float(xs[j])
            # Side from neighbours (if any is non-zero).
            left = g[j - 1] if j > 0 else -g[j + 1] if j + 1 < m else 0.0
        else:
            counter = [0]

            def h(q: float, _name: str = name, _counter: list[int] = counter) -> float:
                _counter[0] += 1
                row = {nm: np.array([base_values[nm]]) for nm in names}
                row[_name] = ppf(dists[_name], np.array([q]), _name)
                return float(call_model(func, row, 1)[0]) - target

            q_star = float(brentq(h, qs[j], qs[j + 1], xtol=xtol))
            n_evals += counter[0]
            value = float(ppf(dists[name], np.array([q_star]), name)[0])
            left = g[j]
        below = None if left == 0 else ("lower" if left < 0 else "higher")
        items.append(BreakEven(name, value, q_star, below, n_cross, None))

    return BreakEvenResult(
        items=tuple(items),
        target=target,
        base=base_values,
        base_output=base_output,
        n_evals=n_evals,
    )
