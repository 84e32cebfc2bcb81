"""Rolling-origin backtest of the demand forecaster.

At each origin ``o`` the whole procedure (model averaging, posterior
parameter draws, simulation) is run on the first ``o`` points of the model-frequency
series (daily for hourly history) and scored on the next points.  Scores, per
horizon bucket (e.g. days 1–7, 8–28, ...), averaged over origins and steps:

* ``coverage_80``, ``coverage_95``: share of held-out points inside the
  central 80 % / 95 % interval of the paths (should be near 0.80 / 0.95);
* ``pinball``: pinball loss averaged over the quantiles 0.05, 0.10, ..., 0.95;
* ``crps``: continuous ranked probability score of the path sample,
  ``E|X − y| − ½ E|X − X'|``;
* ``msis``: mean scaled interval score of the 95 % interval (Makridakis et al.,
  M4): ``(U − L) + (2/0.05)(L − y)[y < L] + (2/0.05)(y − U)[y > U]``.

Pinball, CRPS and MSIS are divided by the in-sample mean absolute error of the
seasonal-naive forecast at that origin, so they are unit-free and comparable
across series.  Each is also computed for a seasonal-naive benchmark on log
volume (last season repeated; Gaussian intervals widening with the number of
seasons ahead, ``σ√k``); ``msis_ratio`` and ``crps_ratio`` are model / benchmark
(below 1: the model beats seasonal naive).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from roicast.errors import RoicastError
from roicast.forecast._calendar import MAX_FIT_POINTS, model_series
from roicast.forecast.demand import _streams, as_history, simulate_history

__all__ = ["BacktestResult", "backtest", "crps_sample", "pinball_loss"]

_DEFAULT_BUCKETS = {
    "daily": [(1, 7), (8, 28), (29, 91), (92, 182), (183, 365)],
    "weekly": [(1, 4), (5, 13), (14, 26), (27, 52)],
    "monthly": [(1, 3), (4, 6), (7, 12), (13, 24)],
}
_TAUS = np.arange(1, 20) / 20.0


def pinball_loss(samples: np.ndarray, y: float, taus=_TAUS) -> float:
    """Pinball loss of the sample quantiles at levels ``taus``, averaged.

    ``L_τ(q, y) = (y − q)·τ`` if ``y ≥ q`` else ``(q − y)(1 − τ)``.
    """
    q = np.quantile(samples, taus)
    d = y - q
    return float(np.mean(np.where(d >= 0, taus * d, (taus - 1) * d)))


def crps_sample(samples: np.ndarray, y: float) -> float:
    """CRPS of an empirical distribution: ``E|X − y| − ½ E|X − X'|``.

    ``E|X − X'|`` from the sorted sample ``x_(1..P)``:
    ``(2/P²) Σ_i (2i − P − 1) x_(i)``.
    """
    x = np.sort(np.asarray(samples, dtype=float))
    p = len(x)
    i = np.arange(1, p + 1)
    spread = 2.0 / p**2 * np.sum((2 * i - p - 1) * x)
    return float(np.mean(np.abs(x - y)) - 0.5 * spread)


def _interval_score(lo: float, hi: float, y: float, a: float = 0.05) -> float:
    return (hi - lo) + (2 / a) * max(lo - y, 0.0) + (2 / a) * max(y - hi, 0.0)


@dataclass
class BacktestResult:
    """Backtest scores per horizon bucket.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per horizon bucket (index ``"1-7"`` ...) plus ``"all"``; columns
        ``h_from, h_to, n_points, coverage_80, coverage_95, pinball, crps, msis``,
        the same for the seasonal-naive benchmark (``snaive_*``), and
        ``crps_ratio``, ``msis_ratio`` (model / benchmark).
    freq : str
        Model frequency of the horizons (``"daily"``, ``"weekly"``, ``"monthly"``).
    origins : list of int
        Training lengths used as forecast origins.
    models : list of str
        Most probable candidate at each origin.
    parameter_uncertainty : bool
    n_paths : int
    """

    table: pd.DataFrame
    freq: str
    origins: list[int]
    models: list[str]
    parameter_uncertainty: bool
    n_paths: int
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-able form (NaN → ``None``)."""
        rows = []
        for label, row in self.table.iterrows():
            rec = {"horizon": str(label)}
            for k, v in row.items():
                v = float(v)
                rec[k] = (
                    int(v)
                    if k in ("h_from", "h_to", "n_points")
                    else (v if np.isfinite(v) else None)
                )
            rows.append(rec)
        return {
            "freq": self.freq,
            "origins": [int(o) for o in self.origins],
            "models": list(self.models),
            "parameter_uncertainty": bool(self.parameter_uncertainty),
            "n_paths": int(self.n_paths),
            "notes": list(self.notes),
            "table": rows,
        }


def _buckets(horizons, freq: str, max_h: int) -> list[tuple[int, int]]:
    if horizons is None:
        raw = _DEFAULT_BUCKETS[freq]
    else:
        raw, lo = [], 1
        for item in horizons:
            if isinstance(item, Sequence) and len(item) == 2:
                a, b = int(item[0]), int(item[1])
            else:
                a, b = lo, int(item)
            if not 1 <= a <= b:
                raise RoicastError(f"horizons: bucket {item!r} is not 1 ≤ from ≤ to")
            raw.append((a, b))
            lo = b + 1
    out = [(a, min(b, max_h)) for a, b in raw if a <= max_h]
    if not out:
        raise RoicastError(
            f"horizons: the history leaves at most {max_h} step(s) to hold out; "
            f"no horizon bucket starts that early ({raw})"
        )
    return out


def backtest(
    history,
    *,
    horizons=None,
    n_origins: int | None = None,
    n_paths: int = 500,
    seed: int | np.random.Generator = 0,
    parameter_uncertainty: bool = True,
    n_refits: int = 200,
    min_train: int | None = None,
    annual_growth=None,
) -> BacktestResult:
    """Rolling-origin evaluation of the forecaster's intervals.

    Parameters
    ----------
    history : HistoryData or pandas.Series
        The history; hourly data is scored at the daily model frequency.
    horizons : sequence, optional
        Horizon buckets in model steps, as upper ends ``[7, 28, 91]`` (buckets
        1–7, 8–28, 29–91) or ``(from, to)`` pairs.  Default by frequency:
        daily 1–7, 8–28, 29–91, 92–182, 183–365; weekly 1–4, 5–13, 14–26, 27–52;
        monthly 1–3, 4–6, 7–12, 13–24; cut to what the history allows.
    n_origins : int, optional
        Number of forecast origins, evenly spaced between ``min_train`` and the
        end (default 8, at most one per step).
    n_paths : int
        Paths per origin.
    seed : int or numpy.random.Generator
        Same seed, same scores.
    parameter_uncertainty : bool
        As in :func:`forecast_demand`; compare both to see what it buys.
    n_refits : int
        Distinct posterior parameter sets per origin (as in
        :func:`forecast_demand`).
    min_train : int, optional
        Shortest training series (default ``max(8, n // 2)``).
    annual_growth : distribution or float, optional
        Growth prior, as in :func:`forecast_demand`.

    Returns
    -------
    BacktestResult
    """
    hist = as_history(history)
    where = str(hist.path) if hist.path is not None else "history"
    ms = model_series(hist, where)
    y = ms.series.to_numpy()
    n = len(y)
    m = ms.period
    min_train = max(8, n // 2) if min_train is None else int(min_train)
    if not 4 <= min_train < n:
        raise RoicastError(f"min_train: {min_train} must be ≥ 4 and < {n} (history length)")
    buckets = _buckets(horizons, ms.freq, n - min_train)
    max_h = max(b for _, b in buckets)
    k = 8 if n_origins is None else int(n_origins)
    if k < 1:
        raise RoicastError(f"n_origins: {n_origins} must be ≥ 1")
    origins = sorted({int(v) for v in np.rint(np.linspace(min_train, n - 1, k))})
    rngs = _streams(seed, 2 * len(origins) + 1)
    logy = np.log(y)
    records = []
    models = []
    for i, o in enumerate(origins):
        rng_boot, rng_sim = rngs[2 * i], rngs[2 * i + 1]
        h_here = min(max_h, n - o)
        lo = max(0, o - MAX_FIT_POINTS[ms.freq])
        steps = [(np.array([h]), np.array([1.0])) for h in range(h_here)]
        # the same procedure as forecast_demand, at every horizon up to max_h
        sims, fit, _, _ = simulate_history(
            logy[lo:o],
            period=m,
            freq=ms.freq,
            buckets=steps + [(np.array([], int), np.array([]))] * (max_h - h_here),
            n_buckets=h_here,
            n_paths=n_paths,
            rng_fit=rng_boot,
            rng_sim=rng_sim,
            annual_growth=annual_growth,
            parameter_uncertainty=parameter_uncertainty,
            n_refits=n_refits,
        )
        models.append(fit.best.name)
        # seasonal-naive benchmark on log volume
        ms_ = m if o >= m + 2 else 1
        d = logy[ms_:o] - logy[: o - ms_]
        sd = float(np.sqrt(np.mean(d**2)))
        scale = float(np.mean(np.abs(y[ms_:o] - y[: o - ms_])))
        scale = scale if scale > 0 else float(np.mean(y[:o]))
        z = rngs[-1].standard_normal(n_paths)
        for h in range(1, h_here + 1):
            obs = y[o + h - 1]
            base = logy[o - ms_ + (h - 1) % ms_]
            naive = np.exp(base + sd * np.sqrt((h - 1) // ms_ + 1) * z)
            rec = {"h": h}
            for prefix, sample in (("", sims[:, h - 1]), ("snaive_", naive)):
                q = np.quantile(sample, [0.025, 0.1, 0.9, 0.975])
                rec[prefix + "coverage_80"] = float(q[1] <= obs <= q[2])
                rec[prefix + "coverage_95"] = float(q[0] <= obs <= q[3])
                rec[prefix + "pinball"] = pinball_loss(sample, obs) / scale
                rec[prefix + "crps"] = crps_sample(sample, obs) / scale
                rec[prefix + "msis"] = _interval_score(q[0], q[3], obs) / scale
            records.append(rec)
    df = pd.DataFrame.from_records(records)
    metrics = [c for c in df.columns if c != "h"]
    rows = {}
    for label, (a, b) in [*((f"{a}-{b}", (a, b)) for a, b in buckets), ("all", (1, max_h))]:
        part = df[(df["h"] >= a) & (df["h"] <= b)]
        row = {"h_from": a, "h_to": b, "n_points": len(part)}
        row.update({c: float(part[c].mean()) if len(part) else np.nan for c in metrics})
        rows[label] = row
    table = pd.DataFrame.from_dict(rows, orient="index")
    table["crps_ratio"] = table["crps"] / table["snaive_crps"]
    table["msis_ratio"] = table["msis"] / table["snaive_msis"]
    notes = []
    if len(df) < 50 or len(origins) < 5:
        notes.append(
            f"short backtest: {len(df)} held-out points from {len(origins)} origin(s), "
            f"horizons up to {max_h} {ms.freq} step(s); the figures are indicative only"
        )
    return BacktestResult(
        table=table,
        freq=ms.freq,
        origins=origins,
        models=models,
        parameter_uncertainty=parameter_uncertainty,
        n_paths=n_paths,
        notes=notes,
    )
