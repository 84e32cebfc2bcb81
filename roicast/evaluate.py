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

import hashlib
import pickle
import threading
from collections import OrderedDict
from collections.abc import Mapping

import numpy as np

from roicast.simulate import INPUT_NAMES, METRIC_NAMES, FleetConfig
from roicast.simulate.model import _simulate_unchecked

__all__ = ["AFFINE_INPUTS", "NOISE", "ModelEvaluator"]

#: Name of the pseudo-input that indexes the price path and model-update noise.
NOISE = "noise (price path, model updates)"

_COL = {name: j for j, name in enumerate(INPUT_NAMES)}
_NPV = METRIC_NAMES.index("npv")
_ROI = METRIC_NAMES.index("roi")
_PAYBACK = METRIC_NAMES.index("payback_months")
_MAX_ROWS = 400_000

#: Inputs in which each draw's NPV is affine when every other input is fixed: they
#: scale cash flows (build, licence, upkeep, re-work per update, indirect benefit)
#: without entering the fleet, so mean NPV is a straight line in each of them.
AFFINE_INPUTS = frozenset(
    {
        "implementation.engineer_months",
        "implementation.engineer_cost",
        "implementation.validation_cost",
        "implementation.licence_per_year",
        "implementation.maintenance_fraction",
        "churn.cost_per_update",
        "indirect.benefit_per_month",
    }
)
#: Relative tolerance of the straight-line check before interpolating (rounding of
#: a mean of a few thousand sums of 36 discounted cash flows is ~1e-14 relative).
_AFFINE_RTOL = 1e-9
#: Row caches kept (LRU, one per demand content and settings): a project's evaluators
#: share one; a batch worker moves on to the next project's.
_CACHE_CONFIGS = 4

# (demand digest, settings) -> {row bytes: (mean npv, mean roi, median payback)}
_SHARED: OrderedDict[tuple, dict[bytes, tuple[float, float, float]]] = OrderedDict()
_SHARED_LOCK = threading.Lock()
# Held while rows are added to a row cache or one is scanned (``_line``): the caches are
# shared between evaluators, and those can run in different threads (the what-if page's
# quick and refining runs), so a scan must not see a cache change size.
_ROWS_LOCK = threading.Lock()


def _shared_cache(demand: np.ndarray, key: tuple) -> dict[bytes, tuple[float, float, float]]:
    """The row cache of evaluators on demand paths equal to ``demand``, with settings ``key``."""
    d = np.ascontiguousarray(demand, dtype=np.float64)
    full = (hashlib.sha1(d.view(np.uint8)).hexdigest(), d.shape, *key)
    with _SHARED_LOCK:
        cache = _SHARED.get(full)
        if cache is None:
            cache = _SHARED[full] = {}
            while len(_SHARED) > _CACHE_CONFIGS:
                _SHARED.popitem(last=False)
        else:
            _SHARED.move_to_end(full)
    return cache


def _fleet_key(fleet: FleetConfig | None) -> str:
    return "" if fleet is None else hashlib.sha1(pickle.dumps(fleet)).hexdigest()


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
        self.rows_interpolated = 0
        self._fits: dict[int, tuple] = {}  # column -> (cache, base row, line fit or None)
        self._cache = _shared_cache(
            demand,
            (self.n_noise, seed, price_seed, float(discount), int(horizon), _fleet_key(fleet)),
        )

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

    def _evaluate(self, x: np.ndarray) -> None:
        """Run the rows of ``x`` not yet in the cache (each distinct row once) and cache them."""
        cache = self._cache
        todo: dict[bytes, int] = {}
        for i in range(x.shape[0]):
            key = x[i].tobytes()
            if key not in cache and key not in todo:
                todo[key] = i
        if not todo:
            return
        rows = x[list(todo.values())]
        r, k = rows.shape[0], self.n_noise
        step = max(1, _MAX_ROWS // k)
        ids = np.arange(k, dtype=np.int64)
        keys = list(todo)
        for start in range(0, r, step):
            block = rows[start : start + step]
            m = self._run(np.repeat(block, k, axis=0), np.tile(ids, block.shape[0]))
            m = m.reshape(block.shape[0], k, -1)
            npv = m[:, :, _NPV].mean(axis=1)
            roi = m[:, :, _ROI]
            finite = np.isfinite(roi)
            with np.errstate(invalid="ignore"):  # rows where ROI is undefined (K = 0): NaN
                roi_mean = np.where(finite, roi, 0.0).sum(axis=1) / finite.sum(axis=1)
            payback = np.median(np.minimum(m[:, :, _PAYBACK], self.horizon), axis=1)
            with _ROWS_LOCK:
                for j in range(block.shape[0]):
                    cache[keys[start + j]] = (float(npv[j]), float(roi_mean[j]), float(payback[j]))

    def mean(self, settings: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        r"""Per row: mean NPV, mean ROI and median payback (capped at the horizon).

        Each row is averaged over the same ``n_noise`` draws (noise indices
        ``0..n_noise-1``): :math:`\overline{\text{NPV}}(x) = \frac{1}{K}\sum_{k<K}
        \text{NPV}(x, \omega_k)`; ROI is averaged over the draws where it is
        defined, payback is the median of :math:`\min(\text{payback}, H)`.
        A row evaluated before (by any evaluator with equal demand paths and
        settings) is taken from the cache, bit for bit.
        """
        x = self._matrix(settings)
        self._evaluate(x)
        vals = np.array([self._cache[x[i].tobytes()] for i in range(x.shape[0])]).reshape(-1, 3)
        return {"npv": vals[:, 0], "roi": vals[:, 1], "payback_months": vals[:, 2]}

    def mean_npv(self, settings: Mapping[str, np.ndarray]) -> np.ndarray:
        r"""Mean NPV per row (the callable break-even, three-point cases and spider take).

        As :meth:`mean`, except that rows which differ from the base point in
        one input of :data:`AFFINE_INPUTS` alone are interpolated on that
        input's line,

        .. math:: \overline{\text{NPV}}(v) = \overline{\text{NPV}}(v_1)
            + (v - v_1)\,\frac{\overline{\text{NPV}}(v_3) - \overline{\text{NPV}}(v_1)}{v_3 - v_1},

        once three evaluated points :math:`v_1 < v_2 < v_3` of the line are
        known and :math:`v_2` lies on the chord within ``1e-9`` of the NPV
        scale (otherwise every row is evaluated).  Interpolated values equal
        the kernel's to rounding (~1e-12 relative).
        """
        x = self._matrix(settings)
        out = np.full(x.shape[0], np.nan)
        for i in range(x.shape[0]):  # rows evaluated before: their exact values
            hit = self._cache.get(x[i].tobytes())
            if hit is not None:
                out[i] = hit[0]
        todo = np.isnan(out)
        if todo.any():
            base = self._matrix({})[0]
            for col, rows in self._affine_lines(x, base, todo).items():
                fit = self._line(x, base, col, rows)
                if fit is not None:
                    v0, y0, slope = fit
                    out[rows] = y0 + (x[rows, col] - v0) * slope
                    self.rows_interpolated += len(rows)
            todo = np.isnan(out)
        if todo.any():
            xe = x[todo]
            self._evaluate(xe)
            out[todo] = [self._cache[xe[i].tobytes()][0] for i in range(xe.shape[0])]
        return out

    @staticmethod
    def _affine_lines(x: np.ndarray, base: np.ndarray, todo: np.ndarray) -> dict[int, np.ndarray]:
        """Rows of ``x`` (among ``todo``) that differ from ``base`` in one affine input alone."""
        lines: dict[int, np.ndarray] = {}
        differs = x != base
        one = todo & (differs.sum(axis=1) == 1)
        for name in AFFINE_INPUTS:
            col = _COL[name]
            rows = np.flatnonzero(one & differs[:, col])
            if rows.size:
                lines[col] = rows
        return lines

    def _line(
        self, x: np.ndarray, base: np.ndarray, col: int, rows: np.ndarray
    ) -> tuple[float, float, float] | None:
        """``(v1, npv(v1), slope)`` of input column ``col``'s line through ``base``.

        From the cached points of the line plus, when fewer than three, the
        extremes of ``rows`` and the base (evaluated); None when the points do
        not lie on one straight line within :data:`_AFFINE_RTOL` of their scale.
        """
        memo = self._fits.get(col)
        if memo is not None and memo[0] is self._cache and np.array_equal(memo[1], base):
            return memo[2]
        prefix = np.delete(base, col)
        pts: dict[float, float] = {}
        with _ROWS_LOCK:  # another thread's evaluator may be adding rows to this cache
            cached = list(self._cache.items())
        for key, val in cached:
            row = np.frombuffer(key)
            if row.size == base.size and np.array_equal(np.delete(row, col), prefix):
                pts[float(row[col])] = val[0]
        if len(pts) < 3:
            want = {float(x[rows, col].min()), float(x[rows, col].max()), float(base[col])}
            new = sorted(v for v in want if v not in pts)
            if new:
                xn = np.tile(base, (len(new), 1))
                xn[:, col] = new
                self._evaluate(xn)
                for v, row in zip(new, xn, strict=True):
                    pts[v] = self._cache[row.tobytes()][0]
        if len(pts) < 3:
            return None
        vs = np.array(sorted(pts))
        ys = np.array([pts[v] for v in vs])
        slope = (ys[-1] - ys[0]) / (vs[-1] - vs[0])
        pred = ys[0] + (vs - vs[0]) * slope
        scale = max(float(np.max(np.abs(ys))), 1.0)
        fit = None
        if np.all(np.abs(pred - ys) <= _AFFINE_RTOL * scale):
            fit = (float(vs[0]), float(ys[0]), float(slope))
        self._fits[col] = (self._cache, base.copy(), fit)
        return fit

    def per_row(self, settings: Mapping[str, np.ndarray]) -> np.ndarray:
        """NPV of one draw per row; ``settings[NOISE]`` (uniforms) picks the noise."""
        x = self._matrix(settings)
        u = np.asarray(settings.get(NOISE, np.zeros(x.shape[0])), dtype=float)
        ids = (
            np.minimum((u * 2**40).astype(np.int64), 2**40 - 1) + 2**41
        )  # disjoint from the study's draws
        return self._run(x, ids)[:, _NPV]
