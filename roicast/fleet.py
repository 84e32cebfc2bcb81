"""The fleet settings of a study: load profiles from a history and one FleetConfig per option.

A load profile is the relative load by slot of a week (168 hour-of-week
slots) or a day (24 slots), mean 1.  From an hourly history each full week
(Monday to Sunday) gives one profile, so the week-to-week variation of the
history is sampled per draw.  From a daily history the profile has
day-of-week shape only (flat within each day): intra-day peaks are not seen,
and a warning says so.  Weekly or monthly histories, and studies without a
history, have a flat profile.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from roicast.simulate import FleetConfig
from roicast.spec import Option, Spec

__all__ = [
    "Profiles",
    "TypicalWeek",
    "fleet_config",
    "profiles_for",
    "profiles_from_history",
    "typical_week",
]

_HOURS_A_WEEK = 168


@dataclass(frozen=True)
class Profiles:
    """Load profiles ``(n_profiles, P)`` (rows of mean 1) and what was done to get them."""

    rows: np.ndarray
    source: str
    warnings: list[str] = field(default_factory=list)

    @property
    def peak_to_mean(self) -> float:
        """Peak-to-mean of the average profile (1 for flat)."""
        mean = self.rows.mean(axis=0)
        return float(mean.max() / mean.mean())


_FLAT = np.ones((1, 1))


def _normalised(rows: np.ndarray) -> np.ndarray:
    return rows / rows.mean(axis=1, keepdims=True)


def profiles_from_history(series: pd.Series, freq: str) -> Profiles:
    """Hour-of-week profiles of a history (see the module's docstring)."""
    if freq == "hourly":
        idx = series.index
        slot = idx.dayofweek * 24 + idx.hour
        week = (idx - pd.to_timedelta(slot, unit="h")).normalize()
        df = pd.DataFrame({"week": week, "slot": slot, "v": series.to_numpy(float)})
        table = df.pivot_table(index="week", columns="slot", values="v", aggfunc="sum")
        full = table.dropna()
        full = full[(full.sum(axis=1) > 0) & (full.shape[1] == _HOURS_A_WEEK)]
        if len(full):
            return Profiles(
                _normalised(full.to_numpy(float)), f"{len(full)} full weeks of hourly history"
            )
        by_slot = df.groupby("slot")["v"].mean()
        if len(by_slot) == _HOURS_A_WEEK and by_slot.sum() > 0:
            return Profiles(
                _normalised(by_slot.to_numpy(float)[None, :]),
                "hourly history (no full week: one mean week)",
            )
        hod = df.assign(h=idx.hour).groupby("h")["v"].mean()
        return Profiles(
            _normalised(hod.reindex(range(24), fill_value=hod.mean()).to_numpy(float)[None, :]),
            "hourly history (less than a week: hour of day)",
            ["fleet.profile: the history covers less than a week; the profile is hour of day only"],
        )
    if freq == "daily":
        dow = series.groupby(series.index.dayofweek).mean().reindex(range(7))
        dow = dow.fillna(dow.mean()).to_numpy(float)
        return Profiles(
            _normalised(np.repeat(dow, 24)[None, :]),
            "daily history (day of week only)",
            [
                "fleet.profile: the history is daily, so the profile has day-of-week shape only; "
                "intra-day peaks are not seen (give an hourly history or a list of 24/168 loads)"
            ],
        )
    return Profiles(_FLAT, f"flat ({freq} history has no intra-week shape)")


def profiles_for(spec: Spec, history: pd.Series | None = None, freq: str | None = None) -> Profiles:
    """The load profiles of a study: ``[fleet] profile`` as given, or from its history."""
    profile = spec.fleet.profile
    if isinstance(profile, list):
        return Profiles(
            _normalised(np.asarray(profile, float)[None, :]), f"{len(profile)} given loads"
        )
    if profile == "flat" or history is None or freq is None:
        return Profiles(_FLAT, "flat")
    return profiles_from_history(history, freq)


def fleet_config(spec: Spec, option: Option, profiles: Profiles) -> FleetConfig:
    """The simulator's fleet settings for one option."""
    base = "cloud" if spec.onprem is None else spec.onprem.baseline_platform
    return FleetConfig(
        provisioning=spec.fleet.provisioning,
        profiles=profiles.rows,
        api=option.optimized.api_price_per_million is not None,
        baseline_platform=base,
        optimized_platform=option.platform or base,
    )


@dataclass(frozen=True)
class TypicalWeek:
    """Load and instances by slot of one month's typical week, every input at its median.

    For the report's figure: ``load`` (units per hour), ``baseline`` and
    ``optimized`` instances per slot under the study's provisioning policy,
    ``committed`` instances, the ``month`` shown and the profile's ``peak_to_mean``.
    """

    month: int
    load: np.ndarray
    baseline: np.ndarray
    optimized: np.ndarray
    committed: float
    policy: str
    peak_to_mean: float


def _window_max(r: np.ndarray, lag: int) -> np.ndarray:
    """``max(r[(j - k) mod P] for k = 0..lag)``: instances in slot j cover slots j-lag .. j."""
    out = r.copy()
    for k in range(1, min(lag, r.size - 1) + 1):
        out = np.maximum(out, np.roll(r, k))
    return out


def _instances(x: float, req: np.ndarray, floor: float, policy: str, lag: int) -> np.ndarray:
    if policy == "average":
        return np.maximum(x * req, floor)
    if policy == "peak":
        return np.full(req.size, max(np.ceil(x * req.max() * (1 - 1e-12)), floor))
    return np.maximum(np.ceil(x * _window_max(req, lag) * (1 - 1e-12)), floor)


def typical_week(
    spec: Spec, profiles: Profiles, point: dict[str, float], monthly_demand: float, month: int
) -> TypicalWeek:
    """The typical week of ``month`` with every input at ``point`` (e.g. the medians).

    The same equations as the simulator's fleet model (README, "The fleet
    model"), for one draw and the mean profile: a picture, not a result.
    """
    s = profiles.rows.mean(axis=0)
    s = s / s.mean()
    h = 730.0
    slots = s.size
    g, g_peak = point["optimized.throughput_gain"], point["optimized.throughput_gain_at_peak"]
    spread = s.max() - s.min()
    g_slot = g + (g_peak - g) * (s - s.min()) / spread if spread > 0 else np.full(slots, g)
    kappa0 = point["baseline.throughput"] * 3600 * point["baseline.utilization"]
    kappa1 = point["baseline.throughput"] * g * 3600 * point["optimized.utilization"]
    lag = int(np.ceil(point.get("fleet.scale_lag_hours", 0.0)))
    policy = spec.fleet.provisioning
    base = _instances(
        monthly_demand / (h * kappa0), s, point["baseline.floor_instances"], policy, lag
    )
    opt = _instances(
        monthly_demand / (h * kappa1),
        s * g / g_slot,
        point["optimized.floor_instances"],
        policy,
        lag,
    )
    committed = (
        point["pricing.committed_instances"] if month <= point["pricing.commitment_months"] else 0.0
    )
    return TypicalWeek(
        month=month,
        load=monthly_demand * s / h,
        baseline=base,
        optimized=opt,
        committed=float(committed),
        policy=policy,
        peak_to_mean=profiles.peak_to_mean,
    )
