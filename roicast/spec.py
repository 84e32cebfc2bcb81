"""The study spec: a TOML file validated with pydantic.

A spec has the sections of the model in DESIGN.md.  Every scalar of the model
accepts a number (known) or a distribution table (see
:mod:`roicast.distributions`).  :func:`load_spec` reads and validates a file
and raises :class:`~roicast.errors.RoicastError` with one line per problem,
naming the field, the value and the rule.  Relative paths (the history CSV)
resolve against the spec's folder.

Several ``[[option]]`` blocks may be given; each has a ``name`` and overrides
any field of ``[optimized]``, ``[implementation]``, ``[churn]`` and
``[indirect]`` (the rest is inherited).  Without them the study has one option,
named ``optimized``.
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import json
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationError,
    field_validator,
    model_validator,
)

from roicast.distributions import Distribution, Fixed, parse_distribution
from roicast.errors import RoicastError

__all__ = ["Spec", "load_spec", "spec_from_dict"]


def _check_range(
    lo: float | None, hi: float | None, *, lo_open: bool = False, hi_open: bool = False
):
    """Validator: the distribution's support (quantiles 1e-9 .. 1-1e-9) lies in the range."""
    lo_s = "-∞" if lo is None else f"{lo:g}"
    hi_s = "∞" if hi is None else f"{hi:g}"
    rule = f"{'(' if lo_open or lo is None else '['}{lo_s}, {hi_s}{')' if hi_open or hi is None else ']'}"

    def check(d: Distribution) -> Distribution:
        a, b = d.bounds()
        bad = []
        if lo is not None and (a < lo or (lo_open and a <= lo)):
            bad.append(f"{a:g}")
        if hi is not None and (b > hi or (hi_open and b >= hi)):
            bad.append(f"{b:g}")
        if bad:
            what = (
                f"value {d.describe()}"
                if d.is_fixed
                else f"{d.describe()} reaches {' and '.join(bad)}"
            )
            raise ValueError(f"{what}; must lie in {rule}")
        return d

    return check


def _dist(lo=None, hi=None, *, lo_open=False, hi_open=False):
    return Annotated[
        Distribution,
        BeforeValidator(parse_distribution),
        AfterValidator(_check_range(lo, hi, lo_open=lo_open, hi_open=hi_open)),
        PlainSerializer(lambda d: d.to_dict() if not d.is_fixed else d.median, return_type=Any),
    ]


def _not_an_input(name: str, extra: tuple[str, ...] = ()) -> str:
    """``'x' is not an input of the model; did you mean 'y'?`` (the list is in the README)."""
    from roicast.simulate import INPUT_NAMES

    close = difflib.get_close_matches(str(name), [*INPUT_NAMES, *extra], n=1, cutoff=0.5)
    hint = f"did you mean {close[0]!r}?" if close else "see the README's list of input names"
    return f"{name!r} is not an input of the model; {hint}"


Positive = _dist(0, None, lo_open=True)
NonNegative = _dist(0, None)
Fraction = _dist(0, 1, lo_open=True)
AnyReal = _dist()
PriceChange = _dist(-1, None, lo_open=True)
# plausibility bounds: beyond them no real project lies, and the statistics overflow
Money = _dist(0, 1e12)  # at most a trillion
SignedMoney = _dist(-1e12, 1e12)
Months = _dist(0, 600)
Count = _dist(0, 1e7)
Volume = _dist(0, 1e18, lo_open=True)  # units a month
Gain = _dist(0, 1e6, lo_open=True)
Throughput = _dist(0, 1e9, lo_open=True)

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _plain(max_len: int):
    """Validator of user-written text: printable, one line, at most ``max_len`` characters."""

    def check(v: str) -> str:
        bad = _CONTROL.search(v)
        if bad:
            raise ValueError(
                f"contains the control character {bad.group()!r} at position {bad.start()}; "
                "use plain, printable text on one line"
            )
        if len(v) > max_len:
            raise ValueError(f"is {len(v)} characters long; at most {max_len} are allowed")
        return v

    return check


Name = Annotated[str, AfterValidator(_plain(200))]
Text = Annotated[str, AfterValidator(_plain(2000))]


class _Section(BaseModel):
    # strict: a string is never taken for a number (`horizon_months = "36"` is refused)
    model_config = ConfigDict(
        extra="forbid",
        arbitrary_types_allowed=True,
        validate_default=True,
        strict=True,
        allow_inf_nan=False,
    )


class Project(_Section):
    name: Name = "roicast study"
    start: str | None = Field(
        None, description="first month of the study, YYYY-MM; default: after the history"
    )
    horizon_months: int = Field(36, ge=1, le=600)
    discount_rate: float = Field(0.10, gt=-1, le=1)
    currency: Annotated[str, AfterValidator(_plain(40))] = "USD"

    @field_validator("start")
    @classmethod
    def _month(cls, v):
        if v is not None and not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", v):
            raise ValueError(f"{v!r} is not a month in the form YYYY-MM")
        return v

    description: Text = Field(
        "", description="one line: what the investment does (the report's headline ask)"
    )


class Launch(_Section):
    month: int = Field(ge=1, description="study month (1-based) from which the step applies")
    factor: Positive = Field(description="volume multiplier from that month on")


class Demand(_Section):
    history: Annotated[Path | None, Field(strict=False)] = None
    timestamp_column: str | None = None
    volume_column: str | None = None
    unit: Name = "requests"
    start_volume: Volume | None = Field(
        None, description="units in the first month (no-history mode)"
    )
    annual_growth: PriceChange | None = Field(
        None,
        description="annual growth rate: the growth itself without a history; with a history, "
        "the prior on its long-run trend (the history updates it as far as its length warrants)",
    )
    ceiling: Volume | None = Field(
        None, description="units a month that demand cannot exceed (saturating growth)"
    )
    model_averaging: bool = Field(
        True, description="average the forecast's candidate models by their evidence"
    )
    outliers: Literal["refuse", "keep", "clip", "impute"] = Field(
        "refuse",
        description="history points over 50× their local level: refused (naming the line), "
        "kept, clipped to that bound, or imputed as missing",
    )
    growth: PriceChange | None = Field(
        None, description="extra annual growth on top of the forecast"
    )
    launches: list[Launch] = []
    paths: int = Field(1000, ge=10, le=200_000)
    parameter_uncertainty: bool = True
    backtest: bool = Field(
        False, description="score the forecast's intervals on held-out history for the report"
    )

    @model_validator(mode="after")
    def _source(self):
        if self.history is None and self.start_volume is None:
            raise ValueError(
                "give either `history` (a CSV of past traffic) or `start_volume` and `annual_growth`"
            )
        if self.history is not None and self.start_volume is not None:
            raise ValueError("give either `history` or `start_volume`, not both")
        if self.start_volume is not None and self.annual_growth is None:
            raise ValueError("`start_volume` needs `annual_growth` too (0 for flat demand)")
        return self


class Baseline(_Section):
    throughput: Throughput = Field(description="units/s one instance serves at the SLO")
    utilization: Fraction = Field(description="average utilization of paid instance-hours")
    price: _dist(0, 10_000, lo_open=True) = Field(
        description="$ per instance-hour today (at most 10 000)"
    )
    floor_instances: Count = Field(Fixed(0.0), description="always-on instances")


class Optimized(_Section):
    throughput_gain: Gain = Field(description="multiplier on baseline throughput")
    utilization: Fraction | None = Field(None, description="default: the baseline's")
    price_ratio: _dist(0, 1000, lo_open=True) = Field(
        Fixed(1.0), description="optimized / baseline instance price"
    )
    floor_instances: Count | None = Field(None, description="default: the baseline's")
    throughput_gain_at_peak: Gain | None = Field(
        None,
        description="the gain at the profile's busiest slot (linear in relative load); "
        "default: throughput_gain in every slot",
    )
    api_price_per_million: _dist(0, None, lo_open=True) | None = Field(
        None, description="serve through an API at this price per million units instead of a fleet"
    )


class Pricing(_Section):
    """GPU price path: ``annual_change`` is the median (geometric) yearly change, ``annual_volatility`` σ.

    Commitments: ``committed_instances`` of the baseline type are paid every
    hour for ``commitment_months`` from the study start, at
    ``committed_price_ratio`` × the on-demand price at the start.
    """

    annual_change: _dist(-1, 10, lo_open=True) = Fixed(0.0)
    annual_volatility: _dist(0, 3) = Fixed(0.0)
    committed_instances: _dist(0, 1_000_000) = Fixed(0.0)
    committed_price_ratio: _dist(0, 10, lo_open=True) = Fixed(0.6)
    commitment_months: _dist(0, 600) = Fixed(0.0)
    stranded_recovery: _dist(0, 1) = Fixed(0.0)


class Onprem(_Section):
    """Owned servers (README, "On-prem fleets"): the baseline fleet is owned unless ``baseline_platform`` says cloud."""

    owned_instances: _dist(0, 1_000_000) = Field(description="instances owned at the study start")
    purchase_price: _dist(0, 1e9) = Field(description="per instance (server with its GPUs)")
    useful_life_years: _dist(0, 50, lo_open=True) = Fixed(4.0)
    salvage_fraction: _dist(0, 1) = Fixed(0.0)
    lot_size: _dist(0, 1_000_000, lo_open=True) = Fixed(1.0)
    lead_time_months: _dist(0, 120) = Fixed(0.0)
    burst_price: _dist(0, 10_000) = Field(description="$/instance-hour for cloud burst")
    power_kw_busy: _dist(0, 1000) = Field(description="kW per instance at full load")
    power_kw_idle: _dist(0, 1000) = Field(description="kW per instance idle")
    pue: _dist(1, 5) = Fixed(1.0)
    energy_price: _dist(0, 100) = Field(description="$ per kWh")
    energy_annual_change: _dist(-1, 10, lo_open=True) = Fixed(0.0)
    baseline_platform: Literal["onprem", "cloud"] = Field(
        "onprem",
        description="the baseline's platform ('cloud': compare staying on cloud with buying)",
    )


class Fleet(_Section):
    """How the fleet is provisioned (README, "The fleet model")."""

    provisioning: Literal["average", "peak", "autoscale"] = "average"
    profile: (
        Literal["history", "flat"] | list[Annotated[float, Field(ge=0, allow_inf_nan=False)]]
    ) = "history"
    scale_lag_hours: _dist(0, 167) = Fixed(0.0)

    @field_validator("profile")
    @classmethod
    def _slots(cls, v):
        if isinstance(v, list):
            if len(v) not in (24, 168):
                raise ValueError(
                    f"a list of {len(v)} numbers; give 24 (hour of day) or 168 (hour of week) relative loads"
                )
            if sum(v) <= 0:
                raise ValueError("the relative loads are all zero; a profile needs some load")
        return v


class Implementation(_Section):
    months: Months = Field(description="months until go-live")
    ramp_months: Months = Fixed(0.0)
    engineer_months: _dist(0, 1e6) = Fixed(0.0)
    engineer_cost: Money = Field(Fixed(0.0), description="loaded cost per engineer-month")
    validation_cost: Money = Fixed(0.0)
    licence_per_year: Money = Fixed(0.0)
    maintenance_fraction: _dist(0, 100) = Field(
        Fixed(0.0), description="yearly maintenance as a share of engineering cost"
    )


class Churn(_Section):
    updates_per_year: _dist(0, 366) = Fixed(0.0)
    cost_per_update: Money = Fixed(0.0)
    downtime_months: Months = Fixed(0.0)


class Indirect(_Section):
    benefit_per_month: SignedMoney = Fixed(0.0)


class Decision(_Section):
    r"""The go/no-go rule and the criterion that ranks options (``[decision]``).

    Conditions of "go" (every one must pass): :math:`P(\mathrm{NPV} > 0) \ge`
    ``min_prob_positive_npv``; when set, P50 payback :math:`\le`
    ``max_payback_p50_months`` and P10 NPV :math:`\ge` ``min_npv_p10``; and,
    when ``rank_by`` is ``"p50"`` or ``"cvar10"``, the criterion's value
    :math:`> 0`.

    ``rank_by`` is the central value of an option's NPV draws :math:`x_1..x_n`
    that ranks options (the recommended option, the options table's order,
    the value of a combination over its best part):

    * ``"mean"`` (default): :math:`\bar x`, the expected NPV; the choice of a
      risk-neutral decision maker, and what every study before ``rank_by``
      used, so existing recommendations and verdicts are unchanged.  When the
      mean is tail-driven (``diagnostics.tail``), a warning recommends
      ``rank_by = "p50"``.
    * ``"p50"``: the median NPV (numpy's linear quantile, as ``npv.p50``);
      insensitive to a few extreme draws.
    * ``"cvar10"``: the expected shortfall at 10 %, the mean of the
      :math:`k = \lceil 0.1 n \rceil` lowest NPV draws,
      :math:`\frac{1}{k}\sum_{j \le k} x_{(j)}`: the average of the worst
      decile, for a risk-averse decision maker.

    With the default ``"mean"`` the rule has no criterion condition (the
    existing verdicts stand; ``P(NPV > 0) ≥ p*`` does not imply a positive
    mean).
    """

    min_prob_positive_npv: float = Field(0.8, ge=0, le=1)
    max_payback_p50_months: float | None = Field(None, gt=0)
    min_npv_p10: float | None = None
    rank_by: Literal["mean", "p50", "cvar10"] = Field(
        "mean",
        description="what ranks options and, unless `mean`, must be > 0 for a go: "
        "mean NPV, its median (p50) or the mean of its worst 10 % of draws (cvar10)",
    )


class Simulation(_Section):
    draws: int = Field(10_000, ge=100, le=50_000_000)
    seed: int = Field(0, ge=0, lt=2**63)
    sampling: Literal["lhs", "sobol", "mc"] = "lhs"
    tornado_draws: int = Field(2_000, ge=100)
    tornado_low: float = Field(0.1, gt=0, lt=0.5)
    tornado_high: float = Field(0.9, gt=0.5, lt=1)
    sobol: bool = True
    sobol_n: int = Field(1024, ge=16, le=2**20)

    @field_validator("sobol_n")
    @classmethod
    def _power_of_two(cls, v: int) -> int:
        if v & (v - 1):
            lo = 1 << (v.bit_length() - 1)
            raise ValueError(
                f"{v} is not a power of two (Saltelli sampling needs one); use {lo} or {lo * 2}"
            )
        return v


class Correlation(_Section):
    """A Spearman rank correlation between two model inputs (imposed by Iman–Conover)."""

    between: Annotated[tuple[str, str], Field(strict=False)]
    rho: float = Field(ge=-1, le=1)

    @field_validator("between")
    @classmethod
    def _inputs(cls, v: tuple[str, str]) -> tuple[str, str]:
        from roicast.simulate import INPUT_NAMES

        for name in v:
            if name not in INPUT_NAMES:
                raise ValueError(_not_an_input(name))
        if v[0] == v[1]:
            raise ValueError(f"an input cannot be correlated with itself ({v[0]!r})")
        return v


class Option(_Section):
    """One optimization option: the shared sections with these fields overridden.

    An option that ``combines`` others takes every field it does not set
    itself (``overrides`` lists those it sets) from its parts: per draw by
    :data:`roicast.inputs.DERIVATION` (gains multiply on the same fleet,
    costs add, model-update events are the union, indirect benefits add,
    go-live and ramp are the slowest part's), and for the fleet fields of
    :data:`COMBINE_AGREE` the parts' common value (refused when they differ).
    """

    name: Name
    description: Text = ""
    combines: list[str] = Field(
        default_factory=list,
        description="names of the options this one does together; the fields it does not set are "
        "derived from them per draw (gains multiply, costs add, churn is the union; "
        "roicast.inputs.DERIVATION)",
    )
    platform: Literal["cloud", "onprem"] | None = Field(
        None, description="the optimized fleet's platform (default: the baseline's)"
    )
    inherits: list[str] = Field(
        default_factory=list,
        description="optimized fields taken from the baseline (same value per draw)",
    )
    overrides: list[str] = Field(
        default_factory=list,
        description="dotted fields this [[option]] block sets itself (a combining option derives "
        "the others from its parts; filled by the loader, not written in a spec)",
    )
    optimized: Optimized
    implementation: Implementation
    churn: Churn
    indirect: Indirect
    sources: dict[str, Text] = Field(
        default_factory=dict,
        description="input name -> source of this option's value (overrides [sources] for it)",
    )

    @field_validator("sources")
    @classmethod
    def _source_inputs(cls, v: dict[str, str]) -> dict[str, str]:
        from roicast.simulate import INPUT_NAMES

        for key in v:
            if key not in INPUT_NAMES:
                raise ValueError(_not_an_input(key))
        return v


def _stress_value_check(name: str, value: Any) -> Distribution:
    """A stress value (number or distribution table) checked against the input's own range."""
    from pydantic import TypeAdapter

    from roicast.simulate import INPUT_NAMES

    if name not in INPUT_NAMES:
        raise ValueError(_not_an_input(name))
    if name == "demand":
        adapter = TypeAdapter(_dist(0, 1))  # the demand path's quantile by total volume
    else:
        sec, fld = name.split(".")
        model = _STRESS_SECTIONS[sec]
        info = model.model_fields[fld]
        ann = info.annotation
        args = [a for a in getattr(ann, "__args__", ()) if a is not type(None)]
        adapter = TypeAdapter(
            Annotated[
                (args[0] if len(args) == 1 and ann is not Distribution else ann), *info.metadata
            ]
        )
    try:
        return adapter.validate_python(value)
    except ValidationError as e:
        msg = e.errors(include_url=False)[0]["msg"].removeprefix("Value error, ")
        raise ValueError(f"{name}: {msg}") from None


class Stress(_Section):
    """A named what-if case: some inputs set to a value or a distribution, the rest as in the spec.

    ``set`` maps input names (:data:`roicast.simulate.INPUT_NAMES`) to a number
    or a distribution table; every option is re-simulated with those inputs
    replaced (a distribution is drawn with the input's own uniforms when it is
    uncertain in the study, so its correlations are kept).
    """

    name: Annotated[Name, Field(min_length=1)]
    description: Text = ""
    set: dict[str, Any] = Field(min_length=1)

    @field_validator("set")
    @classmethod
    def _inputs(cls, v: dict[str, Any]) -> dict[str, Distribution]:
        return {k: _stress_value_check(k, x) for k, x in v.items()}


class Pilot(_Section):
    """A pilot that would measure one input with normal noise before deciding.

    The pilot observes ``D = X + e``, ``e ~ N(0, noise_sd²)`` in the input's
    units; the report values it by the expected value of sample information
    under the decision rule (:func:`roicast.sensitivity.evsi_pilot`).
    """

    input: str
    noise_sd: float = Field(gt=0, allow_inf_nan=False)
    cost: float = Field(0.0, ge=0, allow_inf_nan=False)
    name: Name = ""
    description: Text = ""

    @field_validator("input")
    @classmethod
    def _input(cls, v: str) -> str:
        from roicast.simulate import INPUT_NAMES

        if v not in INPUT_NAMES or v == "demand":
            names = ", ".join(n for n in INPUT_NAMES if n != "demand")
            raise ValueError(f"{v!r} is not an input a pilot can measure; inputs: {names}")
        return v


#: Sections an ``[[option]]`` may override.
OPTION_SECTIONS = ("optimized", "implementation", "churn", "indirect")


class Spec(_Section):
    """A validated study spec."""

    project: Project = Project()
    demand: Demand
    baseline: Baseline
    pricing: Pricing = Pricing()
    fleet: Fleet = Fleet()
    onprem: Onprem | None = None
    decision: Decision = Decision()
    simulation: Simulation = Simulation()
    correlations: list[Correlation] = []
    sources: dict[str, Text] = Field(
        default_factory=dict,
        description="input name -> where its distribution comes from (shown in the report)",
    )
    options: list[Option] = Field(min_length=1)
    spec_hash: str = ""
    base_dir: Annotated[Path, Field(strict=False)] = Path(".")

    @model_validator(mode="after")
    def _rules(self):
        """Every rule that spans sections, in one place (``validate``, ``run`` and batch rows)."""
        for rule in (
            _unique_option_names,
            _launches_within_horizon,
            _go_live_within_horizon,
            _sources_are_inputs,
            _combines_are_options,
            _platforms_hold,
            _inherit_baseline_defaults,
            _correlations_hold,
            _history_exists,
        ):
            rule(self)
        return self

    @property
    def option_names(self) -> list[str]:
        return [o.name for o in self.options]

    def history_path(self) -> Path | None:
        h = self.demand.history
        if h is None:
            return None
        return h if h.is_absolute() else (self.base_dir / h)

    stress: list[Stress] = Field(
        default_factory=list, description="named what-if cases ([[stress]]) shown beside the base"
    )
    pilot: list[Pilot] = Field(
        default_factory=list, description="pilots that would measure one input ([[pilot]])"
    )

    @model_validator(mode="after")
    def _review_rules(self):
        """Names of stress cases and pilots are unique."""
        for what, items in (("stress", self.stress), ("pilot", self.pilot)):
            names = [x.name for x in items if x.name]
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                raise ValueError(
                    f"{what}.name: {what} names must be unique; {', '.join(map(repr, dup))} repeats"
                )
        return self


def _unique_option_names(spec: Spec) -> None:
    names = [o.name for o in spec.options]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ValueError(
            f"option.name: option names must be unique; {', '.join(repr(d) for d in dup)} repeats"
        )


def _launches_within_horizon(spec: Spec) -> None:
    horizon = spec.project.horizon_months
    for i, launch in enumerate(spec.demand.launches):
        if launch.month > horizon:
            raise ValueError(
                f"demand.launches[{i}].month: {launch.month} is after the study's last month "
                f"(project.horizon_months = {horizon})"
            )


def _go_live_within_horizon(spec: Spec) -> None:
    horizon = spec.project.horizon_months
    for o in spec.options:
        go_live = o.implementation.months
        if go_live.bounds()[1] < horizon:
            continue
        where = (
            "implementation.months"
            if len(spec.options) == 1
            else f"option[{o.name}].implementation.months"
        )
        what = (
            f"value {go_live.median:g}"
            if go_live.is_fixed
            else f"{go_live.describe()} reaches {go_live.bounds()[1]:g}"
        )
        raise ValueError(
            f"{where}: {what}; must be below project.horizon_months ({horizon}): "
            "the optimization must go live within the study"
        )


#: Assumptions of the demand forecast a source may be given for, besides the model's inputs.
DEMAND_SOURCES = (
    "demand.history",
    "demand.annual_growth",
    "demand.ceiling",
    "demand.start_volume",
    "demand.growth",
)


def _sources_are_inputs(spec: Spec) -> None:
    from roicast.simulate import INPUT_NAMES

    for key in spec.sources:
        if key not in INPUT_NAMES and key not in DEMAND_SOURCES:
            raise ValueError(f"sources: {_not_an_input(key, DEMAND_SOURCES)}")


def _platforms_hold(spec: Spec) -> None:
    for o in spec.options:
        if o.platform == "onprem" and spec.onprem is None:
            raise ValueError(
                f"option[{o.name}].platform: value 'onprem' needs an [onprem] section "
                "(owned_instances, purchase_price, power, energy price…)"
            )
        if (o.platform or "") == "onprem" and o.optimized.api_price_per_million is not None:
            raise ValueError(
                f"option[{o.name}].platform: an API option (api_price_per_million) cannot be on-prem"
            )


def _combines_are_options(spec: Spec) -> None:
    names = spec.option_names
    for o in spec.options:
        bad = [c for c in o.combines if c not in names or c == o.name]
        if bad:
            raise ValueError(
                f"option[{o.name}].combines: {bad[0]!r} is not another option of this spec "
                f"(options: {', '.join(names)})"
            )
    graph = {o.name: list(o.combines) for o in spec.options}
    for o in spec.options:
        cycle = _cycle_from(o.name, graph)
        if cycle:
            raise ValueError(
                f"option[{o.name}].combines: the options combine each other in a cycle "
                f"({' → '.join(cycle)}); a combination must be made of other, simpler options"
            )
    _combined_fleet_fields(spec)


#: Fields a combining option takes from its parts only when they all agree (no composition
#: rule: two parts that serve on different fleets cannot be done "together" by formula).
COMBINE_AGREE = (
    "optimized.utilization",
    "optimized.floor_instances",
    "optimized.api_price_per_million",
    "platform",
)


def combination_order(options: list[Option]) -> list[Option]:
    """Options ordered so that every option comes after the options it ``combines`` (no cycles)."""
    by_name = {o.name: o for o in options}
    done: dict[str, Option] = {}

    def visit(o: Option) -> None:
        if o.name in done:
            return
        for part in o.combines:
            if part in by_name and part != o.name:
                visit(by_name[part])
        done[o.name] = o

    for o in options:
        visit(o)
    return list(done.values())


def _get(o: Option, dotted: str) -> Any:
    if dotted == "platform":
        return o.platform
    sec, fld = dotted.split(".")
    return getattr(getattr(o, sec), fld)


def _set(o: Option, dotted: str, value: Any) -> None:
    if dotted == "platform":
        o.platform = value
        return
    sec, fld = dotted.split(".")
    setattr(getattr(o, sec), fld, value)


def _combined_fleet_fields(spec: Spec) -> None:
    """A combining option's fleet fields it does not set: its parts' common value, or refused.

    Runs before the baseline ties are resolved, so ``None`` (tied to the
    baseline) is a value the parts can agree on.  ``throughput_gain_at_peak``
    left out stays tied to the option's gain when every part leaves it out;
    otherwise it is derived from the parts (:mod:`roicast.inputs`), so it is
    marked as set here (with the gain as a placeholder the study replaces).
    """
    by_name = {o.name: o for o in spec.options}
    for o in combination_order(spec.options):
        if not o.combines:
            continue
        parts = [by_name[p] for p in o.combines]
        for dotted in COMBINE_AGREE:
            if dotted in o.overrides:
                continue
            values = [_get(p, dotted) for p in parts]
            differ = next((i for i, v in enumerate(values) if v != values[0]), None)
            if differ is not None:

                def shown(v: Any) -> str:
                    return "left out" if v is None else (v if isinstance(v, str) else v.describe())

                raise ValueError(
                    f"option[{o.name}].{dotted}: its parts {parts[0].name} ({shown(values[0])}) "
                    f"and {parts[differ].name} ({shown(values[differ])}) differ and there is no "
                    f"rule to combine them; set `{dotted.split('.')[-1]}` on option[{o.name}]"
                )
            _set(o, dotted, copy.copy(values[0]))
        peak = "optimized.throughput_gain_at_peak"
        if peak not in o.overrides:
            tied = all(_get(p, peak) is None for p in parts)
            _set(o, peak, None if tied else o.optimized.throughput_gain)


def _cycle_from(start: str, graph: dict[str, list[str]]) -> list[str] | None:
    """A path ``start → … → start`` in ``graph``, or ``None``."""
    stack = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for nxt in graph.get(node, []):
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


#: Inputs that, left out, take another input's value in every draw (target → source).
TIED_DEFAULTS = {
    "optimized.utilization": "baseline.utilization",
    "optimized.floor_instances": "baseline.floor_instances",
    "optimized.throughput_gain_at_peak": "optimized.throughput_gain",
}


def _inherit_baseline_defaults(spec: Spec) -> None:
    """Tied inputs left out take their source's value per draw (:data:`TIED_DEFAULTS`)."""
    sections = {"baseline": spec.baseline}
    for o in spec.options:
        sections["optimized"] = o.optimized
        for target, source in TIED_DEFAULTS.items():
            fld = target.split(".")[1]
            if getattr(o.optimized, fld) is None:
                sec, src = source.split(".")
                setattr(o.optimized, fld, getattr(sections[sec], src))
                o.inherits.append(target)


def _correlations_hold(spec: Spec) -> None:
    seen: dict[frozenset[str], float] = {}
    for i, c in enumerate(spec.correlations):
        pair = frozenset(c.between)
        if pair in seen and seen[pair] != c.rho:
            raise ValueError(
                f"correlations[{i}]: {c.between[0]!r} and {c.between[1]!r} are already correlated "
                f"with rho = {seen[pair]:g}; got rho = {c.rho:g} again (give each pair once)"
            )
        seen[pair] = c.rho
    from roicast.inputs import check_correlations

    try:
        check_correlations(spec)
    except RoicastError as e:
        raise ValueError(str(e)) from None


def _history_exists(spec: Spec) -> None:
    hp = spec.history_path()
    if hp is not None and not hp.is_file():
        what = "is a folder, not a file" if hp.is_dir() else "not found"
        raise ValueError(
            f"demand.history: file {str(hp)!r} {what} (relative paths resolve against the spec's folder)"
        )


def _override(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """A section with an option's fields replacing the shared ones (a field's table is replaced whole)."""
    out = copy.deepcopy(dict(base))
    for k, v in over.items():
        out[k] = v
    return out


def _fmt_loc(loc: tuple[Any, ...], options: list[str]) -> str:
    parts: list[str] = []
    i = 0
    while i < len(loc):
        p = loc[i]
        if p == "options" and i + 1 < len(loc) and isinstance(loc[i + 1], int):
            idx = loc[i + 1]
            name = options[idx] if idx < len(options) else str(idx)
            parts.append(f"option[{name}]")
            i += 2
            continue
        if isinstance(p, int):
            parts[-1] = f"{parts[-1]}[{p}]" if parts else f"[{p}]"
        elif isinstance(p, str) and ("function-" in p or "is-instance" in p):
            pass
        else:
            parts.append(str(p))
        i += 1
    return ".".join(parts)


def _short(v: Any) -> str:
    s = json.dumps(v, default=str) if not isinstance(v, str) else repr(v)
    return s if len(s) <= 80 else s[:77] + "..."


def _all_field_names() -> set[str]:
    names: set[str] = set()
    for model in (
        Spec,
        Project,
        Demand,
        Launch,
        Baseline,
        Optimized,
        Pricing,
        Implementation,
        Churn,
        Indirect,
        Decision,
        Simulation,
        Correlation,
        Option,
    ):
        names |= set(model.model_fields)
    return names - {"spec_hash", "base_dir", "inherits", "overrides", "options"} | {"option"}


def _unknown_key_line(loc: str, value: Any, suggestion: str | None) -> str:
    key = loc.rsplit(".", 1)[-1]
    hint = (
        f"did you mean `{suggestion}`?"
        if suggestion
        else "check the spelling against the README's spec reference"
    )
    return f"{loc}: unknown key `{key}` (value {_short(value)}); {hint}"


def _format_errors(err: ValidationError, option_names: list[str], implicit_option: bool) -> str:
    errors = err.errors(include_url=False)
    fields = _all_field_names()
    locs = []
    for e in errors:
        loc = _fmt_loc(tuple(e["loc"]), option_names)
        locs.append(loc.replace(f"option[{option_names[0]}].", "") if implicit_option else loc)
    # a misspelt key makes its correct spelling "missing": report the typo once, with the fix
    typos: dict[str, str] = {}
    for e, loc in zip(errors, locs, strict=True):
        if e["type"] == "extra_forbidden":
            parent, _, key = loc.rpartition(".")
            close = difflib.get_close_matches(key, sorted(fields), n=1, cutoff=0.6)
            if close:
                typos[f"{parent}.{close[0]}" if parent else close[0]] = close[0]
    lines = []
    for e, loc in zip(errors, locs, strict=True):
        kind = e["type"]
        if kind == "extra_forbidden":
            parent, _, key = loc.rpartition(".")
            close = difflib.get_close_matches(key, sorted(fields), n=1, cutoff=0.6)
            lines.append(_unknown_key_line(loc, e["input"], close[0] if close else None))
        elif kind == "missing":
            if loc not in typos:
                lines.append(f"{loc}: missing; this field is required")
        elif kind == "value_error":  # our own rules: the message names the field and value
            msg = e["msg"].removeprefix("Value error, ")
            lines.append(f"{loc}: {msg}" if loc else msg)
        else:  # pydantic's type and range rules
            msg = e["msg"]
            lines.append(f"{loc}: {msg[0].lower() + msg[1:]} (got {_short(e.get('input'))})")
    return "\n".join(dict.fromkeys(lines))


def _option_from_block(
    i: int, block: Mapping[str, Any], raw: Mapping[str, Any], source: str
) -> dict[str, Any]:
    """One ``[[option]]``: its meta fields and the shared sections with its overrides."""
    b = dict(block)
    if not isinstance(b.get("name"), str) or not b["name"].strip():
        got = "missing" if "name" not in b else "value " + _short(b["name"])
        raise RoicastError(
            f"{source}: option[{i + 1}].name: {got}; every [[option]] needs a non-empty name"
        )
    name = b.pop("name")
    opt: dict[str, Any] = {"name": name}
    for meta in ("description", "combines", "platform", "sources"):
        if meta in b:
            opt[meta] = b.pop(meta)
    own_fields: list[str] = ["platform"] if "platform" in opt else []
    for sec in OPTION_SECTIONS:
        shared = raw.get(sec, {})
        own = b.pop(sec, {})
        if not isinstance(shared, Mapping) or not isinstance(own, Mapping):
            opt[sec] = own if not isinstance(own, Mapping) else shared
            continue
        own_fields += [f"{sec}.{k}" for k in own]
        opt[sec] = _override(shared, own)
    for k in list(b):
        # shorthand: `[[option]] throughput_gain = …` for a field of one option section
        owners = [s for s in OPTION_SECTIONS if k in _SECTION_FIELDS[s]]
        if len(owners) == 1:
            opt[owners[0]][k] = b.pop(k)
            own_fields.append(f"{owners[0]}.{k}")
    if b:
        key = sorted(b)[0]
        close = difflib.get_close_matches(key, sorted(_all_field_names()), n=1, cutoff=0.6)
        line = _unknown_key_line(f"option[{name}].{key}", b[key], close[0] if close else None)
        raise RoicastError(
            f"{source}: {line} (an option overrides fields of {', '.join(OPTION_SECTIONS)})"
        )
    opt["overrides"] = own_fields  # popped before hashing: the spec hash is the spec's
    return opt


def option_field_input(field: str) -> str:
    """The model input an option's field sets: ``throughput_gain`` (shorthand) is ``optimized.throughput_gain``."""
    if "." in field:
        return field
    owners = [s for s in OPTION_SECTIONS if field in _SECTION_FIELDS[s]]
    return f"{owners[0]}.{field}" if len(owners) == 1 else field


def spec_from_dict(
    raw: Mapping[str, Any], *, base_dir: Path | str = ".", source: str = "spec"
) -> Spec:
    """Validate a spec given as a dict (the parsed TOML)."""
    raw = dict(raw)
    blocks = raw.pop("option", None)
    implicit = blocks is None
    if blocks is None:
        blocks = [{"name": "optimized"}]
    if (
        not isinstance(blocks, list)
        or not all(isinstance(b, Mapping) for b in blocks)
        or not blocks
    ):
        raise RoicastError(f"{source}: option: use [[option]] tables, each with a `name`")
    options = [_option_from_block(i, b, raw, source) for i, b in enumerate(blocks)]
    own_fields = [o.pop("overrides") for o in options]
    names = [o["name"] for o in options]
    for sec in OPTION_SECTIONS:
        raw.pop(sec, None)
    raw["options"] = options
    canonical = json.dumps(raw, sort_keys=True, default=str).encode()
    raw["spec_hash"] = hashlib.sha256(canonical).hexdigest()[:16]
    for o, fields in zip(options, own_fields, strict=True):
        o["overrides"] = fields
    raw["base_dir"] = Path(base_dir)
    try:
        spec = Spec.model_validate(raw)
    except ValidationError as err:
        raise RoicastError(
            f"{source}: " + _format_errors(err, names, implicit).replace("\n", f"\n{source}: ")
        ) from None
    return spec


#: Model sections by the prefix of their inputs' names (for ``[[stress]]`` values).
_STRESS_SECTIONS: dict[str, type[_Section]] = {
    "baseline": Baseline,
    "optimized": Optimized,
    "pricing": Pricing,
    "fleet": Fleet,
    "implementation": Implementation,
    "churn": Churn,
    "indirect": Indirect,
}

_SECTION_FIELDS = {
    "optimized": set(Optimized.model_fields),
    "implementation": set(Implementation.model_fields),
    "churn": set(Churn.model_fields),
    "indirect": set(Indirect.model_fields),
}


def load_spec(path: Path | str) -> Spec:
    """Read and validate a TOML spec file.

    Raises
    ------
    RoicastError
        The file is missing or not TOML, or a field breaks a rule; the message
        names the file, the field, the value and the rule.  A history file
        that does not exist is reported here too.
    """
    path = Path(path)
    if path.is_dir():
        raise RoicastError(f"{path}: is a folder; give a spec file (TOML)")
    if not path.is_file():
        raise RoicastError(f"{path}: spec file not found")
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise RoicastError(f"{path}: not valid TOML: {e}") from None
    except UnicodeDecodeError:
        raise RoicastError(f"{path}: not a UTF-8 text file") from None
    except OSError as e:
        raise RoicastError(f"{path}: cannot be read ({e.strerror or e})") from None
    return spec_from_dict(raw, base_dir=path.resolve().parent, source=str(path))
