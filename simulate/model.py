"""The Python layer around the numba kernels: checks, labels, xarray.

The model (DESIGN.md, "The model"), monthly steps ``t = 1..H``, ``h = 730``:

.. math::

    P_t = p_0 \\exp\\Big(t \\tfrac{\\ln(1+r)}{12} + \\tfrac{\\sigma}{\\sqrt{12}} \\sum_{s \\le t} \\varepsilon_s\\Big)

    G^0_t = \\max(D_t / \\kappa_0, m_0 h), \\quad \\kappa_0 = \\tau_0 \\cdot 3600 \\cdot u_0

    G^1_t = \\max(D_t / \\kappa_1, m_1 h), \\quad \\kappa_1 = \\tau_0 g \\cdot 3600 \\cdot u_1

    C^0_t = G^0_t P_t, \\quad C^1_t = G^1_t \\rho P_t

    a_t = \\mathrm{clip}\\big((t - T)/\\max(R, 1), 0, 1\\big)\\,(1 - \\text{downtime}_t)

    CF_t = a_t (C^0_t - C^1_t) + a_t b - I_t

with the investment ``I_t`` = build ``E c_e + V`` spread evenly over
``(0, max(T, 1)]`` + licences ``L / 12`` every month + maintenance
``φ E c_e / 12`` after go-live + ``c_u`` per model update.  Model updates
arrive after go-live as a Poisson process with ``λ`` a year; each takes the
optimization down for ``δ`` months (downtime is the union of those intervals,
as a fraction of each month).  Ramps shorter than a month (``R < 1``) complete
in the first live month; a fractional ``T`` makes month ``⌈T⌉`` partly live.

Per draw: ROI ``(gain - K) / K``, NPV ``Σ CF_t (1+d)^{-t/12}``, payback (first
fractional month where the cumulative cash flow reaches 0; ``inf`` when not
within the horizon), discounted payback, annualised IRR (NaN where the cash
flows do not change sign within a monthly rate of -50 % .. +200 %), TCO
baseline ``Σ C^0``, TCO optimized ``Σ (a C^1 + (1-a) C^0) + K``, cost per
million units before (``Σ C^0 / Σ D``) and after (``Σ C^1 / Σ D``, fully
live), instance-hours saved ``Σ a (G^0 - G^1)``.

The fleet model (issue 12; :class:`FleetConfig` and the fleet inputs)
-----------------------------------------------------------------------

A load profile ``s_j``, ``j = 0..P-1`` (``P`` = 1 flat, 24 hour of day, 168
hour of week), normalised to mean 1; a month holds ``h/P`` repetitions of it.
Given several profiles (e.g. one per week of history), draw ``i`` uses profile
``⌊u P_n⌋``, ``u`` the first uniform of its own counter-based stream
(``STREAM_PROFILE``, keyed by the seed and the draw id: the price and churn
streams do not move, and every option sees the same profile in the same draw).
The load in slot ``j`` of month ``t`` is ``λ_tj = D_t s_j / h`` units an hour.

Optimized gain by slot, when ``throughput_gain_at_peak`` ``g_pk`` differs from
``g`` (equal means "not given") and the profile is not flat:

.. math::

    g_j = g + (g_{pk} - g)\\frac{s_j - s_{min}}{s_{max} - s_{min}}, \\quad
    r_j = s_j \\frac{g}{g_j}

``r_j`` is slot ``j``'s requirement in instances per unit of
``x_t = D_t / (h κ)`` (baseline: ``r_j = s_j``), so ``λ_tj / κ_j = x_t r_j``.

Instances ``n_tj`` by ``provisioning``:

- ``average`` (default): the fractional fleet of the base model,
  ``G_t = max(D_t \\bar r / κ, m h)`` with ``\\bar r = mean_j r_j`` (1 without
  gain at peak: exactly the base model).  ``D \\bar r / κ = Σ_j (h/P) λ_j / κ_j``
  is the load-weighted (harmonic) effective capacity.  Per slot the fleet is
  ``n_tj = x_t r_j`` and the floor applies to the month, as before (a per-slot
  floor would change the base model's numbers under a profile).
- ``autoscale``: ``n_tj = max(⌈max_{k ∈ [j-ℓ, j]} x_t r_k⌉, m)``, slots wrapping
  around the profile, ``ℓ = ⌈scale_lag_hours⌉`` (at most ``P - 1``).
- ``peak``: ``n_tj = max(⌈x_t max_k r_k⌉, m)`` in every slot.

Instance-hours ``G_t = (h/P) Σ_j n_tj``.  (A load within a relative 1e-12 of
a whole number of instances counts as that number.)

Commitment of ``c`` baseline-type instances for ``M_c`` months from the study
start at ``p_c = ρ_c p_0`` an hour (fixed).  While it lasts, per fleet:

.. math::

    C_t = c h p_c + O_t P_t - \\varrho S_t p_c, \\quad
    O_t = \\tfrac{h}{P}\\sum_j (n_{tj} - c)^+, \\quad
    S_t = \\tfrac{h}{P}\\sum_j (c - n_{tj})^+

(``ϱ`` = ``stranded_recovery``).  Average fleet: committed instances serve the
load first, ``U_t = (h/P) Σ_j min(x_t r_j, c)``; idle committed hours count
toward the month's floor, ``F_t = min(c h - U_t, (m h - h x_t \\bar r)^+)``;
``O_t = G_t - U_t - F_t`` and ``S_t = c h - U_t - F_t``.  Month ``⌈M_c⌉`` is
prorated: ``C_t = f C^{commit}_t + (1 - f) G_t P_t``, ``f = clip(M_c - (t-1), 0, 1)``.
After the commitment everything is on demand.  The optimized fleet uses the
committed instances when ``ρ = 1``; with another instance type (``ρ ≠ 1``) or
an API they are all stranded: ``C^1_t = G^1_t ρ P_t + f c h p_c (1 - ϱ)``.

API option (``FleetConfig(api=True)``): ``C^1_t = D_t π / 10^6`` with ``π`` =
``api_price_per_million``; no fleet, floor or instance-hours.

Fleet outputs per draw: peak instances ``max_t max_j n_tj`` (average fleet:
``max_t max(x_t max_j r_j, m)``); achieved utilization ``Σ D / Σ_t (h/P)
Σ_j n_tj τ g_j 3600`` (load over full-speed capacity provisioned; average fleet
``Σ D / Σ_t G_t τ g 3600 / \\bar r``); stranded committed instance-hours
``Σ_t f_t S_t``.  The optimized fleet's outputs (and its cost per million)
describe it as if live over the whole horizon; the monthly series blend it
with the baseline by ``a_t`` like the spend.

The on-prem model (issue 16; ``FleetConfig(baseline_platform=, optimized_platform=)``)
------------------------------------------------------------------------------------

A fleet on platform ``"onprem"`` owns whole servers instead of renting
instance-hours.  Its requirement in slot ``j`` of month ``t`` is the fleet
model's ``n_tj`` (``autoscale``, ``peak``; ``average``: ``max(x_t r_j, m)``,
the fractional load floored per slot).  The optimized option *as operated*
runs share ``a_t`` of the load on its platform and ``1 - a_t`` on the
baseline's; its owned fleet (if either side is owned) needs

.. math::

    n^{op}_{tj} = [\\text{base owned}](1 - a_t) n^0_{tj} + [\\text{opt owned}]\\, a_t n^1_{tj}

and its rented part costs ``a_t C^1_t + (1 - a_t) C^0_t`` with ``C`` the
cloud spend of a rented configuration (an owned configuration's ``C`` is its
stranded commitment, below).  Each owned fleet (baseline; option as operated;
option as if live all along, for its cost per million) evolves month by month
from ``O_0 = N_own`` (``owned_instances``, new at the study start), with
``ℓ = ⌈lead_time_months⌉`` whole months, lot size ``q``:

1. lots due arrive: ``O_t = O_{t-1} + A_t``;
2. ordering rule (myopic): with ``N_t = max_j n_tj`` and ``Q_t`` instances on
   order, if ``N_t > O_t + Q_t`` order ``k_t = ⌈(N_t - O_t - Q_t)/q⌉`` lots,
   paid now (``k_t q c_hw``), in service from month ``t + ℓ`` (``ℓ = 0``: this
   month); lots due after the horizon stay on order;
3. hours: busy ``B_t = (h/P) Σ_j min(n_tj, O_t)``, idle
   ``I_t = (h/P) Σ_j (O_t - n_tj)^+``, burst ``X_t = (h/P) Σ_j (n_tj - O_t)^+``.

.. math::

    \\text{cash}_t = k_t q c_{hw} + (B_t w_b + I_t w_i)\\,\\text{PUE}\\,e_t
                  + X_t\\, b \\tfrac{P_t}{p_0} - [t = H]\\,\\text{Salv}

    e_t = e_0 (1 + g_e)^{(t-1)/12}

(``w_b``, ``w_i`` kW per server busy and idle; ``b`` the burst price, which
follows the cloud price path ``P_t / p_0``).  Hardware depreciates straight
line from ``c_hw`` to ``f_s c_hw`` over ``L = 12 ·`` ``useful_life_years``
months of service, ``δ = c_hw (1 - f_s) / L`` a month; a lot in service from
month ``a`` has book value ``c_hw - δ min(H - a + 1, L)`` at the horizon
(``f_s c_hw`` once past its life: it keeps serving, no replacement).
``Salv`` = book value of the lots bought within the horizon + ``c_hw`` per
instance still on order; the initial fleet's resale value is the same in
every option, so it is no cash flow.  Undiscounted, purchases minus salvage
equal the depreciation of the lots bought.

Savings ``= Σ_t (C^0_t + cash^0_t) - (a_t C^1_t + (1 - a_t) C^0_t + cash^{op}_t)``;
``CF_t``, NPV, payback, IRR and ROI use this cash.  TCO replaces purchases and
salvage by depreciation: ``TCO = Σ_t (C_t + \\text{energy}_t + \\text{burst}_t)
+ Dep`` with ``Dep = δ [N_own min(H, L) + Σ_a A_a min(H - a + 1, L)]`` (the
initial fleet included), and the cost per million is ``TCO / Σ D`` (the
option's as if live all along).  A cloud commitment behind an owned fleet is
all stranded: ``C_t = f_t c h p_c (1 - ϱ)``.  A rented fleet is the cloud
model unchanged (the on-prem inputs are not read).

On-prem outputs per draw: lots bought, first purchase month (``inf`` if none),
``purchase_deferral_months`` = optimized minus baseline first purchase
(``inf`` when only the baseline buys, NaN when the baseline buys nothing),
CapEx (``Σ k q c_hw``), salvage, energy cost, burst instance-hours; monthly:
owned instances in service and instances ordered, baseline and option as
operated (zeros for a rented fleet).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import xarray as xr

from roicast.errors import RoicastError
from roicast.simulate import _kernels as K
from roicast.simulate import _layout as L
from roicast.simulate._layout import INPUT_NAMES, METRIC_NAMES, NEUTRAL_INPUTS, SERIES_NAMES

__all__ = [
    "INPUT_NAMES",
    "METRIC_NAMES",
    "NEUTRAL_INPUTS",
    "SERIES_NAMES",
    "FleetConfig",
    "neutral_inputs",
    "simulate",
    "simulate_arrays",
]

_U64 = 2**64

# Ranges the kernel needs (lower bound, strict?); an input not listed may take any finite value.
_LOWER: dict[str, tuple[float, bool]] = {
    "demand": (0.0, False),
    "baseline.throughput": (0.0, True),
    "baseline.utilization": (0.0, True),
    "baseline.price": (0.0, True),
    "baseline.floor_instances": (0.0, False),
    "optimized.throughput_gain": (0.0, True),
    "optimized.utilization": (0.0, True),
    "optimized.price_ratio": (0.0, False),
    "optimized.floor_instances": (0.0, False),
    "pricing.annual_change": (-1.0, True),
    "pricing.annual_volatility": (0.0, False),
    "implementation.months": (0.0, False),
    "implementation.ramp_months": (0.0, False),
    "churn.updates_per_year": (0.0, False),
    "churn.downtime_months": (0.0, False),
    "fleet.scale_lag_hours": (0.0, False),
    "pricing.committed_instances": (0.0, False),
    "pricing.committed_price_ratio": (0.0, False),
    "pricing.commitment_months": (0.0, False),
    "pricing.stranded_recovery": (0.0, False),
    "optimized.throughput_gain_at_peak": (0.0, True),
    "optimized.api_price_per_million": (0.0, False),
    "onprem.owned_instances": (0.0, False),
    "onprem.purchase_price": (0.0, False),
    "onprem.useful_life_years": (0.0, True),
    "onprem.salvage_fraction": (0.0, False),
    "onprem.lot_size": (0.0, True),
    "onprem.lead_time_months": (0.0, False),
    "onprem.burst_price": (0.0, False),
    "onprem.power_kw_busy": (0.0, False),
    "onprem.power_kw_idle": (0.0, False),
    "onprem.pue": (1.0, False),
    "onprem.energy_price": (0.0, False),
    "onprem.energy_annual_change": (-1.0, True),
}
_UPPER: dict[str, float] = {
    "demand": 1.0,
    "pricing.stranded_recovery": 1.0,
    "onprem.salvage_fraction": 1.0,
}


_FLAT = np.ones((1, 1))
_FLAT.setflags(write=False)


@dataclass(frozen=True)
class FleetConfig:
    """How the fleet is provisioned: the per-study settings of the fleet model.

    The numbers of the fleet model that may be uncertain (``scale_lag_hours``,
    commitments, ``throughput_gain_at_peak``, ``api_price_per_million``) are
    per-draw input columns (:data:`INPUT_NAMES`); this holds the rest.

    Parameters
    ----------
    provisioning : {"average", "peak", "autoscale"}
        ``"average"`` (default): a fractional fleet that follows the load, as
        before the fleet model; ``"peak"``: every hour of a month runs the
        instances the month's busiest slot needs; ``"autoscale"``: whole
        instances per slot, sized for the highest load of the last
        ``scale_lag_hours`` slots.
    profiles : array_like (n_profiles, P) or (P,), optional
        Relative load by slot, ``P`` = 1 (flat), 24 (hour of day) or 168 (hour
        of week), e.g. one row per week of history.  Finite, >= 0, each row
        with a positive sum; rows are normalised here to mean 1.  Each draw
        uses one row, chosen by its own counter-based random number (stream
        ``STREAM_PROFILE``, keyed by the seed and draw id, so options see the
        same profile in the same draw).  Default: flat.
    api : bool
        The optimized option is served through an API at
        ``optimized.api_price_per_million`` per million units instead of a fleet.
    baseline_platform, optimized_platform : {"cloud", "onprem"}
        Where each fleet runs (issue 16): ``"cloud"`` (default) rents instances
        by the hour, as before; ``"onprem"`` owns them (the ``onprem.*``
        inputs: purchases in lots after a lead time, burst, energy, salvage).
        The optimized option as operated serves ``a_t`` of the load on its own
        platform and ``1 - a_t`` on the baseline's.  An API option
        (``api=True``) has no fleet, so it cannot be ``"onprem"``.

    Attributes
    ----------
    policy : int
        The kernels' code of ``provisioning``.
    """

    provisioning: str = "average"
    profiles: np.ndarray = field(default_factory=lambda: _FLAT)
    api: bool = False
    baseline_platform: str = "cloud"
    optimized_platform: str = "cloud"

    def __post_init__(self) -> None:
        for name in ("baseline_platform", "optimized_platform"):
            value = getattr(self, name)
            if value not in L.PLATFORMS:
                raise RoicastError(
                    f"fleet.{name}: {value!r} is not one of {', '.join(L.PLATFORMS)}"
                )
        if self.api and self.optimized_platform == "onprem":
            raise RoicastError(
                "fleet.optimized_platform: 'onprem' with api=True; an API option has no fleet to own"
            )
        if self.provisioning not in L.PROVISIONING:
            raise RoicastError(
                f"fleet.provisioning: {self.provisioning!r} is not one of {', '.join(L.PROVISIONING)}"
            )
        try:
            prof = np.array(self.profiles, dtype=np.float64)
        except (TypeError, ValueError):
            raise RoicastError(
                "fleet.profiles: expected numbers, one row of 1, 24 or 168 per profile"
            ) from None
        if prof.ndim == 1:
            prof = prof[None, :]
        if prof.ndim != 2 or prof.shape[0] < 1 or prof.shape[1] not in L.PROFILE_SLOTS:
            raise RoicastError(
                f"fleet.profiles: expected shape (profiles, P) with P in {L.PROFILE_SLOTS}, got {prof.shape}"
            )
        if not np.isfinite(prof).all() or (prof < 0).any():
            raise RoicastError("fleet.profiles: relative loads must be finite and >= 0")
        tot = prof.sum(axis=1)
        if (tot <= 0).any():
            i = int(np.argmax(tot <= 0))
            raise RoicastError(f"fleet.profiles: row {i} is all zero; a profile needs some load")
        if prof.shape[1] > 1:
            prof = prof / prof.mean(axis=1, keepdims=True)
        else:
            prof = np.ones_like(prof)
        prof = np.ascontiguousarray(prof)
        prof.setflags(write=False)
        object.__setattr__(self, "profiles", prof)
        object.__setattr__(self, "api", bool(self.api))

    @property
    def policy(self) -> int:
        return L.PROVISIONING.index(self.provisioning)

    @property
    def onprem(self) -> tuple[bool, bool]:
        """Whether the baseline and the optimized fleet are owned."""
        return self.baseline_platform == "onprem", self.optimized_platform == "onprem"


def neutral_inputs(inputs: np.ndarray) -> np.ndarray:
    """Widen a matrix of the first ``k`` inputs with every later input at its neutral value.

    Parameters
    ----------
    inputs : ndarray (draws, k)
        Columns ``INPUT_NAMES[:k]``; ``k`` at least the inputs that have no
        neutral value (:data:`NEUTRAL_INPUTS`).

    Returns
    -------
    ndarray (draws, len(INPUT_NAMES))
        The same draws with each later input at its :data:`NEUTRAL_INPUTS`
        value (or the value of the input it is tied to).
    """
    x = np.asarray(inputs, dtype=np.float64)
    k = x.shape[1] if x.ndim == 2 else -1
    first = L.N_INPUTS - len(NEUTRAL_INPUTS)
    if x.ndim != 2 or not first <= k <= L.N_INPUTS:
        raise RoicastError(
            f"inputs: expected shape (draws, k) with {first} <= k <= {L.N_INPUTS}, got {x.shape}"
        )
    out = np.empty((x.shape[0], L.N_INPUTS))
    out[:, :k] = x
    for j in range(k, L.N_INPUTS):
        v = NEUTRAL_INPUTS[INPUT_NAMES[j]]
        out[:, j] = out[:, INPUT_NAMES.index(v)] if isinstance(v, str) else v
    return out


_DEFAULT_FLEET = FleetConfig()


def _check_inputs(x: np.ndarray) -> None:
    """Refuse inputs the kernel cannot use: wrong shape, not finite, out of range."""
    if x.ndim != 2 or x.shape[1] != L.N_INPUTS:
        raise RoicastError(
            f"inputs: expected shape (draws, {L.N_INPUTS}) with columns INPUT_NAMES, got {x.shape}"
        )
    if not np.isfinite(x).all():
        bad = np.argwhere(~np.isfinite(x))[0]
        raise RoicastError(
            f"inputs: {INPUT_NAMES[bad[1]]} is {x[bad[0], bad[1]]} at draw {bad[0]}; inputs must be finite"
        )
    if x.shape[0] == 0:
        return
    for name, (lo, strict) in _LOWER.items():
        col = x[:, INPUT_NAMES.index(name)]
        bad = col <= lo if strict else col < lo
        if name in _UPPER:
            bad |= col > _UPPER[name]
        if bad.any():
            i = int(np.argmax(bad))
            rule = f"{'>' if strict else '>='} {lo:g}"
            if name in _UPPER:
                rule = f"in [{lo:g}, {_UPPER[name]:g}]"
            raise RoicastError(
                f"inputs: {name} is {float(col[i])!r} at draw {i}; it must be {rule}"
            )


def _check_demand(d: np.ndarray, *, sorted_rows: bool) -> None:
    if d.ndim != 2 or d.shape[0] < 1 or d.shape[1] < 1:
        raise RoicastError(
            f"demand: expected a (path, month) array with at least one path and month, got shape {d.shape}"
        )
    if not np.isfinite(d).all() or (d < 0).any():
        raise RoicastError("demand: volumes must be finite and >= 0")
    if sorted_rows:
        tot = d.sum(axis=1)
        if (np.diff(tot) < 0).any():
            i = int(np.argmax(np.diff(tot) < 0))
            raise RoicastError(
                f"demand: rows must be sorted by total volume (ascending); path {i + 1} totals "
                f"{tot[i + 1]:.6g} < path {i}'s {tot[i]:.6g} (sort them, or call simulate())"
            )


def _check_seed(name: str, value: object) -> int:
    try:
        v = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise RoicastError(f"{name}: {value!r} is not an integer") from None
    if not 0 <= v < _U64:
        raise RoicastError(f"{name}: {value} is outside 0 .. 2**64 - 1")
    return v


def _as_matrix(inputs: xr.DataArray | np.ndarray) -> np.ndarray:
    if isinstance(inputs, xr.DataArray):
        names = [str(v) for v in inputs["input"].values]
        missing = [n for n in INPUT_NAMES if n not in names]
        if missing:
            raise RoicastError(
                f"inputs: missing input(s) {', '.join(missing)}; the model needs {', '.join(INPUT_NAMES)}"
            )
        inputs = inputs.transpose("draw", "input").sel(input=list(INPUT_NAMES)).values
    return np.ascontiguousarray(inputs, dtype=np.float64)


def _sorted_demand(demand: xr.DataArray | np.ndarray) -> np.ndarray:
    d = demand.transpose("path", "month").values if isinstance(demand, xr.DataArray) else demand
    d = np.asarray(d, dtype=np.float64)
    _check_demand(d, sorted_rows=False)
    order = np.argsort(d.sum(axis=1), kind="stable")
    return np.ascontiguousarray(d[order])


def _kernel_array(a: np.ndarray) -> np.ndarray:
    """``a`` as the kernel's one array type: C-contiguous and writeable (copied if not).

    numba compiles one specialization per array type, and a read-only array
    (a shared constant, an array a Dask worker deserialized) is another type;
    under ``fastmath`` two specializations may associate a sum differently and
    differ in the last bit.  One type, one machine code: the same draws give the
    same numbers wherever they run.
    """
    if a.flags.c_contiguous and a.flags.writeable:
        return a
    return np.array(a, order="C", copy=True)


def _simulate_unchecked(
    inputs: np.ndarray,
    demand: np.ndarray,
    *,
    seed: int,
    discount_rate: float,
    monthly: bool = True,
    draw_offset: int = 0,
    price_seed: int | None = None,
    draw_ids: np.ndarray | None = None,
    irr: bool = True,
    fleet: FleetConfig | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The kernel on plain arrays, without any checking (internal fast path).

    Same arguments and results as :func:`simulate_arrays`, which validates
    them; ``inputs`` and ``demand`` must be C-contiguous float64.  For callers
    inside roicast that validated once and call many times (sensitivity
    evaluations).
    """
    n = inputs.shape[0]
    horizon = demand.shape[1]
    metrics = np.empty((n, L.N_METRICS))
    # zeros: the kernel leaves the rows that stay zero (a rented fleet's owned and
    # purchased instances) untouched, so their pages are never written
    series = np.zeros((L.N_SERIES, n, horizon) if monthly else (L.N_SERIES, 0, 0))
    ps = seed if price_seed is None else price_seed
    fl = _DEFAULT_FLEET if fleet is None else fleet
    if draw_ids is None:
        ids = np.arange(draw_offset, draw_offset + n, dtype=np.int64)
    else:
        ids = np.ascontiguousarray(draw_ids, dtype=np.int64)
    K.simulate_kernel(
        _kernel_array(inputs),
        _kernel_array(demand),
        np.uint64(seed),
        np.uint64(ps),
        float(discount_rate),
        ids,
        bool(irr),
        fl.policy,
        _kernel_array(fl.profiles),
        fl.api,
        fl.onprem if any(fl.onprem) else None,
        metrics,
        series,
    )
    return metrics, series


def simulate_arrays(
    inputs: np.ndarray,
    demand: np.ndarray,
    *,
    seed: int,
    discount_rate: float,
    monthly: bool = True,
    draw_offset: int = 0,
    price_seed: int | None = None,
    draw_ids: np.ndarray | None = None,
    irr: bool = True,
    fleet: FleetConfig | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Simulate every draw on plain arrays; returns ``(metrics, series)``.

    The validated array entry: shapes, finiteness and the ranges the model
    needs are checked (cost O(draws × inputs), small next to the simulation).

    Parameters
    ----------
    inputs : ndarray (draws, len(INPUT_NAMES))
        One value of every model input per draw, columns in :data:`INPUT_NAMES` order.
    demand : ndarray (paths, months)
        Demand paths, units per month, rows sorted by total volume (ascending),
        as :func:`simulate` sorts them.
    seed : int
        Study seed (0 .. 2**64 - 1): keys the model-update times (and the
        price shocks unless ``price_seed`` is given).
    discount_rate : float
        Annual discount rate ``d`` (> -1).
    monthly : bool
        Also fill the monthly series.
    draw_offset : int
        Noise index of the first row when ``draw_ids`` is not given (>= 0).
    price_seed : int, optional
        Seed of the price shocks alone (default ``seed``).
    draw_ids : ndarray of int (draws,), optional
        Noise index of each row (default ``draw_offset + arange(draws)``): rows
        with the same id share price path and model-update times (common
        random numbers).
    irr : bool
        Compute the IRR (the costliest metric); NaN when false.
    fleet : FleetConfig, optional
        Provisioning policy, load profiles, API; default ``FleetConfig()``:
        the average fleet, as before the fleet model.

    Returns
    -------
    metrics : ndarray (draws, len(METRIC_NAMES))
    series : ndarray (len(SERIES_NAMES), draws, months), or (len(SERIES_NAMES), 0, 0)
        when ``monthly`` is false.
    """
    seed = _check_seed("seed", seed)
    price_seed = None if price_seed is None else _check_seed("price_seed", price_seed)
    if not discount_rate > -1:
        raise RoicastError(f"discount_rate: {discount_rate} must be > -1")
    x = np.ascontiguousarray(inputs, dtype=np.float64)
    _check_inputs(x)
    d = np.ascontiguousarray(demand, dtype=np.float64)
    _check_demand(d, sorted_rows=True)
    if fleet is not None and not isinstance(fleet, FleetConfig):
        raise RoicastError(f"fleet: expected a FleetConfig, got {type(fleet).__name__}")
    if draw_ids is None:
        if int(draw_offset) < 0:
            raise RoicastError(f"draw_offset: {draw_offset} must be >= 0")
    else:
        ids = np.asarray(draw_ids)
        if ids.shape != (x.shape[0],) or not np.issubdtype(ids.dtype, np.integer):
            raise RoicastError(
                f"draw_ids: expected {x.shape[0]} integers (one per row), got {ids.dtype} {ids.shape}"
            )
        if ids.size and ids.min() < 0:
            raise RoicastError(f"draw_ids: {ids.min()} is negative; ids must be >= 0")
    return _simulate_unchecked(
        x,
        d,
        seed=seed,
        discount_rate=float(discount_rate),
        monthly=monthly,
        draw_offset=int(draw_offset),
        price_seed=price_seed,
        draw_ids=draw_ids,
        irr=irr,
        fleet=fleet,
    )


def simulate(
    inputs: xr.DataArray | np.ndarray,
    demand: xr.DataArray | np.ndarray,
    *,
    seed: int,
    discount_rate: float,
    monthly: bool = True,
    draw_offset: int = 0,
    price_seed: int | None = None,
    fleet: FleetConfig | None = None,
) -> xr.Dataset:
    """Simulate the cash flows of every draw.

    Parameters
    ----------
    inputs : xarray.DataArray (draw, input) or ndarray (draws, len(INPUT_NAMES))
        One value of every model input per draw (:data:`INPUT_NAMES`);
        ``demand`` is a uniform in (0, 1) that picks a demand path by its rank
        of total volume (0.5: the median path).
    demand : xarray.DataArray (path, month) or ndarray
        Demand paths, units per month.  Sorted here by total volume.
    seed : int
        Study seed (0 .. 2**64 - 1); the price shocks and model-update times of
        draw ``i`` depend only on ``(seed, i + draw_offset)``.
    discount_rate : float
        Annual discount rate ``d`` for NPV and discounted payback.
    monthly : bool
        Also return the monthly series (draw, month).
    draw_offset : int
        Absolute index of the first draw, for running a study in batches.
    price_seed : int, optional
        Seed of the price shocks alone (default ``seed``): studies given the
        same ``price_seed`` see the same price path in the same draw.
    fleet : FleetConfig, optional
        Provisioning policy, load profiles and API option (default: the
        average fleet, as before the fleet model).

    Returns
    -------
    xarray.Dataset
        Variables :data:`METRIC_NAMES` over ``draw`` and, when ``monthly``,
        :data:`SERIES_NAMES` over ``(draw, month)``.
    """
    x = _as_matrix(inputs)
    d = _sorted_demand(demand)
    metrics, series = simulate_arrays(
        x,
        d,
        seed=seed,
        discount_rate=discount_rate,
        monthly=monthly,
        draw_offset=draw_offset,
        price_seed=price_seed,
        fleet=fleet,
    )
    draws = np.arange(draw_offset, draw_offset + x.shape[0])
    data = {name: ("draw", metrics[:, j]) for j, name in enumerate(METRIC_NAMES)}
    coords: dict[str, object] = {"draw": draws}
    if monthly:
        data.update({name: (("draw", "month"), series[j]) for j, name in enumerate(SERIES_NAMES)})
        if isinstance(demand, xr.DataArray) and "month" in demand.coords:
            coords["month"] = demand["month"].values
        else:
            coords["month"] = np.arange(1, d.shape[1] + 1)
    ds = xr.Dataset(data, coords=coords)
    ds["payback_months"].attrs["note"] = "inf: not paid back within the horizon"
    fl = _DEFAULT_FLEET if fleet is None else fleet
    ds.attrs["provisioning"] = fl.provisioning
    ds.attrs["api"] = int(fl.api)
    ds.attrs["baseline_platform"] = fl.baseline_platform
    ds.attrs["optimized_platform"] = fl.optimized_platform
    ds["first_purchase_month_baseline"].attrs["note"] = "inf: no purchase within the horizon"
    ds["first_purchase_month_optimized"].attrs["note"] = "inf: no purchase within the horizon"
    ds["purchase_deferral_months"].attrs["note"] = (
        "inf: the optimized fleet buys nothing within the horizon; NaN: the baseline buys nothing"
    )
    return ds
