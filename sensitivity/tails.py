"""Is the output driven by its tail?  Diagnostics for heavy-tailed outputs (issue 11).

A mean dominated by a few extreme draws makes variance-based measures (Sobol
indices, contribution to variance in currency units) and the mean itself
unstable.  :func:`tail_diagnostics` reports three plain measures and one
documented verdict, ``tail_driven``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from roicast.sensitivity._common import as_output, check_probability

__all__ = [
    "TAIL_KURTOSIS_THRESHOLD",
    "TAIL_TOP_SHARE_THRESHOLD",
    "TailDiagnostics",
    "tail_diagnostics",
]

#: ``tail_driven`` when the top ``top`` fraction of draws (1 %) carries more than this
#: share of the total: ten times their weight.
TAIL_TOP_SHARE_THRESHOLD = 0.10
#: ... or when the excess kurtosis exceeds this (the threshold of
#: ``sobol_analyze(transform="auto")``: the variance is then more than twice as
#: noisy as for a normal output).
TAIL_KURTOSIS_THRESHOLD = 6.0


@dataclass(frozen=True)
class TailDiagnostics:
    """Result of :func:`tail_diagnostics`.

    Attributes
    ----------
    n : int
        Draws.
    mean : float
        Sample mean.
    top : float
        Fraction of draws in the top group (0.01).
    top_share : float
        Share of the sum (hence of the mean) from the ``ceil(top·n)`` largest
        draws; NaN when the sum is not positive (the share is then meaningless).
    p50, p99 : float
        Median and 99th percentile (linear interpolation).
    p99_p50_ratio : float
        ``p99 / p50``; NaN when ``p50 <= 0``.
    excess_kurtosis : float
        :math:`m_4/m_2^2 - 3` (0 for a normal output; NaN for a constant one).
    tail_driven : bool
        ``top_share > TAIL_TOP_SHARE_THRESHOLD`` (0.10) or
        ``excess_kurtosis > TAIL_KURTOSIS_THRESHOLD`` (6).
    reasons : tuple of str
        Which of the two conditions hold.
    """

    n: int
    mean: float
    top: float
    top_share: float
    p50: float
    p99: float
    p99_p50_ratio: float
    excess_kurtosis: float
    tail_driven: bool
    reasons: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict (NaN becomes ``None``)."""

        def num(v: float) -> float | None:
            return float(v) if math.isfinite(v) else None

        return {
            "n": self.n,
            "mean": num(self.mean),
            "top": self.top,
            "top_share": num(self.top_share),
            "p50": num(self.p50),
            "p99": num(self.p99),
            "p99_p50_ratio": num(self.p99_p50_ratio),
            "excess_kurtosis": num(self.excess_kurtosis),
            "tail_driven": self.tail_driven,
            "reasons": list(self.reasons),
        }


def tail_diagnostics(y: Any, *, top: float = 0.01) -> TailDiagnostics:
    r"""How much of the output's mean comes from its extreme draws.

    With :math:`y_{(1)} \ge y_{(2)} \ge \dots` the draws in decreasing order and
    :math:`m = \lceil \text{top}\cdot n \rceil`:

    .. math::

        \text{top\_share} = \frac{\sum_{j \le m} y_{(j)}}{\sum_j y_j},\qquad
        \text{ratio} = \frac{\hat y_{0.99}}{\hat y_{0.5}},\qquad
        \kappa = \frac{\tfrac1n\sum (y_j - \bar y)^4}{\bigl(\tfrac1n\sum (y_j - \bar y)^2\bigr)^2} - 3 .

    For a lognormal output :math:`\log Y \sim N(\mu, s^2)` and top = 1 %:
    :math:`\text{top\_share} \to 1 - \Phi(z_{0.99} - s)`,
    :math:`\text{ratio} = e^{s z_{0.99}}`,
    :math:`\kappa = e^{4s^2} + 2e^{3s^2} + 3e^{2s^2} - 6`.

    Rule: ``tail_driven`` when the top 1 % of draws carry more than 10 % of the
    total (:data:`TAIL_TOP_SHARE_THRESHOLD`), or the excess kurtosis exceeds 6
    (:data:`TAIL_KURTOSIS_THRESHOLD`).  A normal output with mean ≥ its sd has a
    top share under 4 % and kurtosis 0; a lognormal with :math:`s = 1` has
    kurtosis 111.  When it is True, prefer rank-based measures
    (:func:`rankings`, ``sobol_indices(..., transform="auto")``) and report
    quantiles next to the mean.

    Parameters
    ----------
    y : array-like
        Output per draw (1-D, finite, at least 2 draws).
    top : float, keyword-only
        Fraction of draws in the top group, in (0, 1).

    Returns
    -------
    TailDiagnostics
    """
    values = as_output(y, field="y")
    top = check_probability(top, "top")
    n = values.shape[0]
    m = min(n, math.ceil(top * n - 1e-9))
    total = float(values.sum())
    if total > 0.0:
        top_sum = float(np.partition(values, n - m)[n - m :].sum())
        top_share = top_sum / total
    else:
        top_share = math.nan
    p50, p99 = (float(v) for v in np.quantile(values, [0.5, 0.99]))
    ratio = p99 / p50 if p50 > 0.0 else math.nan
    d = values - values.mean()
    m2 = float(np.mean(d * d))
    kurt = float(np.mean((d * d) ** 2) / (m2 * m2) - 3.0) if m2 > 0.0 else math.nan
    reasons = []
    if top_share > TAIL_TOP_SHARE_THRESHOLD:
        reasons.append(
            f"top {top:.0%} of draws carry {top_share:.0%} of the total "
            f"(> {TAIL_TOP_SHARE_THRESHOLD:.0%})"
        )
    if kurt > TAIL_KURTOSIS_THRESHOLD:
        reasons.append(f"excess kurtosis {kurt:.3g} > {TAIL_KURTOSIS_THRESHOLD:g}")
    return TailDiagnostics(
        n=n,
        mean=float(values.mean()),
        top=top,
        top_share=top_share,
        p50=p50,
        p99=p99,
        p99_p50_ratio=ratio,
        excess_kurtosis=kurt,
        tail_driven=bool(reasons),
        reasons=tuple(reasons),
    )


def cvar(x: Any, alpha: float = 0.1) -> float:
    r"""Conditional value at risk (expected shortfall) of the lower tail: the mean of the worst draws.

    .. math:: \mathrm{CVaR}_\alpha = \frac{1}{k}\sum_{j=1}^{k} x_{(j)},
              \qquad k = \lceil \alpha n \rceil,

    with :math:`x_{(1)} \le x_{(2)} \le \dots` the values in increasing order;
    NaN for no values.
    """
    x = np.asarray(x, dtype=float)
    if x.size == 0:
        return math.nan
    k = max(1, math.ceil(alpha * x.size - 1e-9))
    return float(np.partition(x, k - 1)[:k].mean())
