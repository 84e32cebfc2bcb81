"""One-at-a-time tornado.

Each input in turn is set to its low and high quantile (P10 and P90 by
default) while every other input stays at its base value (the median); the
model is evaluated at each setting with the same random numbers (the caller's
``func`` uses common random numbers), and the bars are sorted by swing
``|output(high) - output(low)|``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from roicast.errors import RoicastError

__all__ = ["tornado"]


def tornado(
    func: Callable[[Mapping[str, float]], Mapping[str, float]],
    inputs: Mapping[str, Any],
    *,
    vary: Sequence[str] | None = None,
    low: float = 0.1,
    high: float = 0.9,
    base: Mapping[str, float] | None = None,
) -> dict[str, pd.DataFrame]:
    """One-at-a-time sensitivity of every output of ``func``.

    Parameters
    ----------
    func : callable
        ``func(point) -> {output_name: value}`` where ``point`` maps every
        input name to one value.  It must use the same random numbers at every
        call (common random numbers) for the bars to differ by the input alone.
    inputs : mapping of name to distribution
        Anything with a ``ppf`` method (frozen ``scipy.stats`` distributions
        qualify).
    vary : sequence of str, optional
        The inputs to swing (default: all of ``inputs``).
    low, high : float
        Quantiles of the low and high settings (0 < low < 0.5 < high < 1).
    base : mapping, optional
        Base value of each input (default: its median, ``ppf(0.5)``).

    Returns
    -------
    dict of pandas.DataFrame
        One table per output, indexed by input and sorted by swing (largest
        first), with columns ``low_value``, ``high_value`` (the input's values),
        ``low``, ``high`` (the output at them), ``swing`` and ``base`` (the
        output at the base point).
    """
    if not 0 < low < 0.5 < high < 1:
        raise RoicastError(
            f"tornado low/high: need 0 < low < 0.5 < high < 1, got low={low}, high={high}"
        )
    names = list(inputs)
    vary = names if vary is None else list(vary)
    unknown = [v for v in vary if v not in inputs]
    if unknown:
        raise RoicastError(
            f"tornado vary: unknown input(s) {', '.join(unknown)}; known: {', '.join(names)}"
        )
    point = (
        dict(base)
        if base is not None
        else {n: float(np.asarray(inputs[n].ppf(0.5))) for n in names}
    )
    base_out = dict(func(point))
    rows: dict[str, list[dict[str, float]]] = {k: [] for k in base_out}
    for name in vary:
        lo_v = float(np.asarray(inputs[name].ppf(low)))
        hi_v = float(np.asarray(inputs[name].ppf(high)))
        out_lo = func({**point, name: lo_v})
        out_hi = func({**point, name: hi_v})
        for k in base_out:
            rows[k].append(
                {
                    "input": name,
                    "low_value": lo_v,
                    "high_value": hi_v,
                    "low": float(out_lo[k]),
                    "high": float(out_hi[k]),
                    "swing": abs(float(out_hi[k]) - float(out_lo[k])),
                    "base": float(base_out[k]),
                }
            )
    out = {}
    for k, r in rows.items():
        cols = ["input", "low_value", "high_value", "low", "high", "swing", "base"]
        df = pd.DataFrame(r, columns=cols).set_index("input")
        out[k] = df.sort_values("swing", ascending=False, kind="stable")
    return out
