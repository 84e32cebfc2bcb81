"""One-at-a-time tornado.

Each input in turn is set to its low and high quantile (P10 and P90 by
default) while every other input stays at its base value (the median).  All
settings are evaluated in **one** vectorized call of the model (row 0 the base
point, then a low and a high row per input); the caller's ``func`` uses the same
random numbers for every row (common random numbers), so the bars differ by the
input alone.  Bars are sorted by swing ``|output(high) - output(low)|``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from roicast.errors import RoicastError
from roicast.sensitivity._common import as_inputs

__all__ = ["TornadoResult", "tornado"]

_COLUMNS = ["low_value", "high_value", "low", "high", "swing", "base"]


@dataclass(frozen=True)
class TornadoResult(Mapping[str, pd.DataFrame]):
    """Result of :func:`tornado`: one table per output, and the settings used.

    It is a read-only mapping ``output name -> pandas.DataFrame`` (so
    ``result["npv"]``, ``list(result)``, ``result.items()`` work as on the dict
    earlier versions returned).

    Attributes
    ----------
    tables : mapping of str -> pandas.DataFrame
        Per output, indexed by ``input`` and sorted by swing (largest first):
        ``low_value``, ``high_value`` (the input's settings), ``low``, ``high``
        (the output at them), ``swing`` and ``base`` (output at the base point).
    names : tuple of str
        The inputs swung, in the order given.
    base_point : dict of str -> float
        The base value of every input.
    low, high : float
        Quantiles of the low and high settings.
    n_evals : int
        Rows evaluated (``1 + 2·len(names)``, in one call).
    """

    tables: Mapping[str, pd.DataFrame]
    names: tuple[str, ...]
    base_point: dict[str, float]
    low: float
    high: float
    n_evals: int
    _keys: tuple[str, ...] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_keys", tuple(self.tables))

    def __getitem__(self, output: str) -> pd.DataFrame:
        return self.tables[output]

    def __iter__(self) -> Iterator[str]:
        return iter(self._keys)

    def __len__(self) -> int:
        return len(self._keys)

    def to_dataframe(self, output: str | None = None) -> pd.DataFrame:
        """The table of ``output`` (default: the first output), indexed by ``input``."""
        return self.tables[self._keys[0] if output is None else output]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: settings and, per output, the bars in swing order (NaN → None)."""

        def num(v: Any) -> float | None:
            f = float(v)
            return f if np.isfinite(f) else None

        return {
            "low": self.low,
            "high": self.high,
            "base_point": dict(self.base_point),
            "n_evals": self.n_evals,
            "outputs": {
                out: [
                    {"input": str(name), **{c: num(row[c]) for c in _COLUMNS}}
                    for name, row in df.iterrows()
                ]
                for out, df in self.tables.items()
            },
        }


def _outputs(raw: Any, n_rows: int) -> dict[str, np.ndarray]:
    """``func``'s result as output name -> 1-D float array of ``n_rows`` (NaN allowed)."""
    items = raw.items() if isinstance(raw, Mapping) else [("output", raw)]
    out = {}
    for name, values in items:
        arr = np.asarray(values, dtype=float)
        if arr.ndim > 1 and arr.size == n_rows:
            arr = arr.ravel()
        if arr.shape != (n_rows,):
            raise RoicastError(
                f"`func` must return, per output, a 1-D array with one value per row "
                f"({n_rows}); output {name!r} has shape {arr.shape}"
            )
        out[str(name)] = arr
    if not out:
        raise RoicastError("`func` returned no output; return {output name: 1-D array}")
    return out


def tornado(
    func: Callable[[dict[str, np.ndarray]], Mapping[str, np.ndarray] | np.ndarray],
    inputs: Mapping[str, Any],
    *,
    vary: Sequence[str] | None = None,
    low: float = 0.1,
    high: float = 0.9,
    base: Mapping[str, float] | None = None,
) -> TornadoResult:
    r"""One-at-a-time sensitivity of every output of ``func``, in one vectorized call.

    With :math:`x^0` the base point and :math:`x^{i,q}` the base point with input
    *i* set to :math:`F_i^{-1}(q)`:

    .. math::

        \text{low}_i = f(x^{i,\text{low}}),\quad
        \text{high}_i = f(x^{i,\text{high}}),\quad
        \text{swing}_i = |\text{high}_i - \text{low}_i| .

    Parameters
    ----------
    func : callable
        ``func(x) -> {output_name: y}`` (or a bare 1-D ``y``, named
        ``"output"``), where ``x`` maps every input name to a 1-D array of
        settings, one per row, and each ``y`` holds one value per row (NaN
        allowed: an undefined output gives a NaN bar).  Called **once** on
        ``1 + 2·len(vary)`` rows: row 0 is the base point, rows ``1 + 2j`` and
        ``2 + 2j`` the low and high settings of the *j*-th varied input.  It
        must use the same random numbers for every row (common random numbers).
    inputs : mapping of name to distribution
        Anything with a ``ppf`` method (frozen ``scipy.stats`` distributions
        qualify).
    vary : sequence of str, optional
        The inputs to swing (default: all of ``inputs``).
    low, high : float
        Quantiles of the low and high settings (0 < low < 0.5 < high < 1).
    base : mapping, optional
        Base value of inputs (default: each input's median, ``ppf(0.5)``); a
        partial mapping overrides only the inputs it names.

    Returns
    -------
    TornadoResult
        A mapping output -> table (index ``input``, sorted by ``swing``
        descending, columns ``low_value, high_value, low, high, swing, base``).
    """
    if not 0 < low < 0.5 < high < 1:
        raise RoicastError(
            f"tornado low/high: need 0 < low < 0.5 < high < 1, got low={low}, high={high}"
        )
    dists = as_inputs(inputs)
    names = list(dists)
    vary = names if vary is None else list(vary)
    unknown = [v for v in vary if v not in dists]
    if unknown:
        raise RoicastError(
            f"tornado vary: unknown input(s) {', '.join(unknown)}; known: {', '.join(names)}"
        )
    point = {n: float(np.asarray(dists[n].ppf(0.5))) for n in names}
    for name, value in (base or {}).items():
        if name not in dists:
            raise RoicastError(f"`base` names unknown input {name!r}; inputs are {names}")
        point[name] = float(value)

    n_rows = 1 + 2 * len(vary)
    x = {n: np.full(n_rows, point[n]) for n in names}
    settings = []
    for j, name in enumerate(vary):
        lo_v = float(np.asarray(dists[name].ppf(low)))
        hi_v = float(np.asarray(dists[name].ppf(high)))
        x[name][1 + 2 * j] = lo_v
        x[name][2 + 2 * j] = hi_v
        settings.append((lo_v, hi_v))
    if not callable(func):
        raise RoicastError(f"`func` must be callable, got {type(func).__name__}")
    y = _outputs(func(x), n_rows)

    tables = {}
    for out, values in y.items():
        lo_out = values[1::2]
        hi_out = values[2::2]
        df = pd.DataFrame(
            {
                "low_value": [s[0] for s in settings],
                "high_value": [s[1] for s in settings],
                "low": lo_out,
                "high": hi_out,
                "swing": np.abs(hi_out - lo_out),
                "base": np.full(len(vary), values[0]),
            },
            index=pd.Index(vary, name="input"),
            columns=_COLUMNS,
        )
        tables[out] = df.sort_values("swing", ascending=False, kind="stable")
    return TornadoResult(
        tables=tables,
        names=tuple(vary),
        base_point=point,
        low=float(low),
        high=float(high),
        n_evals=n_rows,
    )
