"""The study's model as a function of named inputs, for the sensitivity stage.

:class:`ModelEvaluator` turns settings of the free inputs (a dict of 1-D arrays,
one entry per row) into outputs, running the simulator with the other inputs at
their base values.  Two views:

* :meth:`ModelEvaluator.mean` - each row's outputs averaged over the same
  ``n_noise`` price paths and model-update histories (common random numbers),
  so rows differ by their settings alone: tornado, three-point cases,
  break-even;
* :meth:`ModelEvaluator.per_row` - one draw per row whose noise index is an
  input too (``noise``, a uniform), so Sobol indices see the price path and
  model churn as one more source of variance.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from roicast.simulate import INPUT_NAMES, METRIC_NAMES, FleetConfig
from roicast.simulate.model import _simulate_unchecked

__all__ = ["NOISE", "ModelEvaluator"]

#: Name of the pseudo-input that indexes the price path and model-update noise.
NOISE = "noise (price path, model updates)"

_COL = {name: j for j, name in enumerate(INPUT_NAMES)}
_NPV = METRIC_NAMES.index("npv")
_ROI = METRIC_NAMES.index("roi")
_PAYBACK = METRIC_NAMES.index("payback_months")
_MAX_ROWS = 400_000


class ModelEvaluator:
    """Evaluate the simulator at settings of named inputs.

    Parameters
    ----------
    demand : ndarray (path, month)
        Demand paths sorted by total volume.
    base : mapping
        Value of every model input (:data:`INPUT_NAMES`) when not set.
    ties : mapping
        Inputs that take another input's value (``optimized.utilization`` →
        ``baseline.utilization`` when the spec left it out).
    n_noise : int
        Draws averaged per row by :meth:`mean`.
    seed, price_seed : int
        The study's seeds.
    discount : float
        Annual discount rate.
    horizon : int
        Months (payback is capped at it for the mean view).
    fleet : FleetConfig, optional
        The option's fleet settings (default: the simulator's).
    """

    def __init__(
        self,
        demand: np.ndarray,
        base: Mapping[str, float],
        ties: Mapping[str, str],
        *,
        n_noise: int,
        seed: int,
        price_seed: int,
        discount: float,
        horizon: int,
        fleet: FleetConfig | None = None,
    ):
        self.demand = demand
        self.base = np.array([base[name] for name in INPUT_NAMES], dtype=float)
        self.ties = dict(ties)
        self.n_noise = int(n_noise)
        self.seed = seed
        self.price_seed = price_seed
        self.fleet = fleet
        self.discount = discount
        self.horizon = horizon
        self.rows_evaluated = 0

    def _matrix(self, settings: Mapping[str, np.ndarray]) -> np.ndarray:
        arrays = {
            k: np.atleast_1d(np.asarray(v, dtype=float)) for k, v in settings.items() if k != NOISE
        }
        r = max([a.size for a in arrays.values()] + [np.size(settings.get(NOISE, 0))])
        x = np.tile(self.base, (r, 1))
        for name, a in arrays.items():
            x[:, _COL[name]] = a
        for name, source in self.ties.items():
            if source in arrays:
                x[:, _COL[name]] = x[:, _COL[source]]
        return x

    def _run(self, x: np.ndarray, ids: np.ndarray) -> np.ndarray:
        self.rows_evaluated += x.shape[0]
        m, _ = _simulate_unchecked(
            np.ascontiguousarray(x),
            self.demand,
            seed=self.seed,
            discount_rate=self.discount,
            monthly=False,
            price_seed=self.price_seed,
            draw_ids=ids,
            irr=False,
            fleet=self.fleet,
        )
        return m

    def mean(self, settings: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Per row: mean NPV, mean ROI and median payback (capped at the horizon)."""
        x = self._matrix(settings)
        r, k = x.shape[0], self.n_noise
        out = {"npv": np.empty(r), "roi": np.empty(r), "payback_months": np.empty(r)}
        step = max(1, _MAX_ROWS // k)
        ids = np.arange(k, dtype=np.int64)
        for start in range(0, r, step):
            block = x[start : start + step]
            m = self._run(np.repeat(block, k, axis=0), np.tile(ids, block.shape[0]))
            m = m.reshape(block.shape[0], k, -1)
            sl = slice(start, start + block.shape[0])
            out["npv"][sl] = m[:, :, _NPV].mean(axis=1)
            roi = m[:, :, _ROI]
            finite = np.isfinite(roi)
            with np.errstate(invalid="ignore"):  # rows where ROI is undefined (K = 0): NaN
                out["roi"][sl] = np.where(finite, roi, 0.0).sum(axis=1) / finite.sum(axis=1)
            out["payback_months"][sl] = np.median(
                np.minimum(m[:, :, _PAYBACK], self.horizon), axis=1
            )
        return out

    def mean_npv(self, settings: Mapping[str, np.ndarray]) -> np.ndarray:
        """Mean NPV per row (the callable break-even and three-point cases take)."""
        return self.mean(settings)["npv"]

    def per_row(self, settings: Mapping[str, np.ndarray]) -> np.ndarray:
        """NPV of one draw per row; ``settings[NOISE]`` (uniforms) picks the noise."""
        x = self._matrix(settings)
        u = np.asarray(settings.get(NOISE, np.zeros(x.shape[0])), dtype=float)
        ids = (
            np.minimum((u * 2**40).astype(np.int64), 2**40 - 1) + 2**41
        )  # disjoint from the study's draws
        return self._run(x, ids)[:, _NPV]
