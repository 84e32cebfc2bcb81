"""Drafting a study spec from the priors catalogue (``roicast new``).

Catalogue priors become spec distributions:

* a technique's throughput gain (``low``, ``typical``, ``high``: extremes across
  papers and setups) becomes a 3-term metalog bounded below by 0 with
  P50 = typical and P10 / P90 half-way (in log) from typical to each extreme
  (:func:`gain_distribution`);
* every other prior (GPU price, loaded engineer cost, model updates a year)
  becomes ``PERT(min = low, mode = typical, max = high)``: a range of list prices
  or rates one of which applies to the user, bounded by what was observed.

Everything the catalogue cannot know (the fleet's throughput and utilization,
the traffic, the effort) is a placeholder marked ``# REPLACE:`` that still
validates and runs, and is named in ``[sources]`` as a placeholder so the
report's assumptions table shows it.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from roicast.errors import RoicastError
from roicast.priors._catalogue import Catalogue, Prior, load_catalogue

__all__ = ["NewSpec", "build_spec", "gain_distribution", "new_spec", "pert_distribution"]

#: Share of the log-distance from typical to each extreme placed at P10 / P90.
PULL = 0.5
#: Largest ratio between the two log half-widths (keeps the 3-term metalog monotone).
MAX_SKEW = 4.0
#: Price tiers ``--pricing`` accepts by default order.
DEFAULT_TIER = "neocloud"


def _round(x: float) -> float | int:
    """``x`` to 4 significant digits; an integer when whole."""
    r = float(f"{x:.4g}")
    return int(r) if r.is_integer() and abs(r) < 1e15 else r


def gain_distribution(prior: Prior) -> dict[str, Any]:
    """Spec table of a technique's throughput gain: a log-metalog through pulled-in quantiles.

    With typical ``t``, extremes ``l`` and ``h`` and pull ``k = 0.5``, the log
    half-widths are ``a = k·ln(t/l)`` and ``b = k·ln(h/t)``; the shorter is
    widened to at least ``max(a, b)/4`` (a 3-term metalog is monotone only for
    moderate skew; widening the downside is the conservative choice), and

    .. math:: P10 = t·e^{-a},\\quad P50 = t,\\quad P90 = t·e^{b},\\quad \\text{lower} = 0.

    A symmetric log-logistic with these P10 / P90 puts the published extremes
    near P1 and P99: a team's prior should be narrower than the spread across
    papers, but not exclude it.  Gains below 1 stay possible.

    Returns
    -------
    dict
        ``{"p10", "p50", "p90", "lower"}`` (the spec's ``quantiles`` form), or
        ``{"dist": "fixed", "value": t}`` when the three numbers coincide.
    """
    t, lo, hi = prior.typical, prior.low, prior.high
    a, b = PULL * math.log(t / lo), PULL * math.log(hi / t)
    widest = max(a, b)
    if widest <= 0:
        return {"dist": "fixed", "value": _round(t)}
    a, b = max(a, widest / MAX_SKEW), max(b, widest / MAX_SKEW)
    return {
        "p10": _round(t * math.exp(-a)),
        "p50": _round(t),
        "p90": _round(t * math.exp(b)),
        "lower": 0,
    }


def pert_distribution(prior: Prior, scale: float = 1.0) -> dict[str, Any]:
    """Spec table ``PERT(min = low, mode = typical, max = high)``, each times ``scale``."""
    return {
        "dist": "pert",
        "min": _round(prior.low * scale),
        "mode": _round(prior.typical * scale),
        "max": _round(prior.high * scale),
    }


def _toml(v: Any) -> str:
    """A TOML value: string, number, boolean or inline table."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, int | float):
        return repr(v) if isinstance(v, int) or not float(v).is_integer() else repr(int(v))
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {_toml(x)}" for k, x in v.items()) + " }"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml(x) for x in v) + "]"
    raise TypeError(f"no TOML form for {v!r}")


def _figures(p: Prior) -> str:
    return f"low {p.low:g}, typical {p.typical:g}, high {p.high:g} {p.unit}"


def _cite(p: Prior, mapping: str) -> str:
    """The ``[sources]`` text of an input drawn from catalogue entry ``p``."""
    check = "" if p.verified else "; not every figure traced: see `roicast priors` notes"
    origin = "" if p.origin == "built-in" else f", from {p.origin}"
    return (
        f"prior {p.key} ({_figures(p)}; as of {p.as_of}{check}{origin}) as {mapping}. "
        f"Sources: {' | '.join(p.sources)}"
    )


@dataclass(frozen=True)
class NewSpec:
    """A drafted spec: the TOML text, warnings and the fields left as placeholders."""

    text: str
    warnings: list[str] = field(default_factory=list)
    placeholders: list[str] = field(default_factory=list)


@dataclass
class _Writer:
    lines: list[str] = field(default_factory=list)
    sources: dict[str, str] = field(default_factory=dict)
    placeholders: list[str] = field(default_factory=list)

    def section(self, name: str, comment: str = "") -> None:
        self.lines += ["", f"[{name}]" + (f"  # {comment}" if comment else "")]

    def put(self, key: str, value: Any, comment: str = "") -> None:
        self.lines.append(f"{key} = {_toml(value)}" + (f"  # {comment}" if comment else ""))

    def replace(self, name: str, key: str, value: Any, what: str) -> None:
        """A placeholder: written, commented ``# REPLACE:`` and named in ``[sources]``."""
        self.put(key, value, f"REPLACE: {what}")
        self.placeholders.append(name)
        self.sources.setdefault(name, f"PLACEHOLDER written by `roicast new`: replace with {what}")

    def comment(self, *text: str) -> None:
        self.lines += [f"# {t}" if t else "#" for t in text]


def _resolve_options(cat: Catalogue, technique: str, options: Sequence[str] | None) -> list[Prior]:
    main = cat.technique(technique)
    chosen = [main]
    for name in options or ():
        if not name.strip():
            continue
        p = cat.technique(name)
        if p.key not in {c.key for c in chosen}:
            chosen.append(p)
    return chosen


def _hardware_warnings(techs: Sequence[Prior], gpu: str) -> list[str]:
    return [
        f"{p.key}: the catalogue's figures are for {', '.join(p.hardware)}, not {gpu} "
        f"({p.conditions}); benchmark on your GPU"
        for p in techs
        if p.hardware and gpu not in p.hardware
    ]


def _history_lines(
    w: _Writer, history: Path | str, column: str | None, base_dir: Path | str | None
) -> list[str]:
    from roicast.forecast import read_history

    path = Path(history)
    hist = read_history(path, volume_column=column)
    shown = path.resolve()
    if base_dir is not None:
        rel = os.path.relpath(shown, Path(base_dir).resolve())
        shown = Path(rel)
    w.put("history", shown.as_posix(), "relative paths resolve against this file's folder")
    w.put("volume_column", hist.unit_column)
    w.put("unit", "requests", "REPLACE if the column counts something else (tokens...)")
    w.sources["demand"] = (
        f"forecast from {path.name} ({len(hist.series)} {hist.freq} points of {hist.unit_column!r})"
    )
    return list(hist.warnings)


def _head(w: _Writer, main: Prior, gpu: str, command: str) -> None:
    w.comment(
        f"roicast study drafted by `{command}` on {date.today().isoformat()}",
        "from the priors catalogue (`roicast priors` lists it, with every source).",
        "",
        "Lines marked `REPLACE:` are placeholders: the study validates and runs as",
        "written, but those numbers describe nobody's fleet until you put yours there.",
        "Lines marked `prior` come from published figures for other people's setups;",
        "replace them with your own benchmark or bill when you have one.",
        "",
        "How priors became distributions: a technique's gain (low / typical / high,",
        "extremes across papers) is a metalog with P50 = typical and P10 / P90 half-way",
        "(in log) to each extreme, so the published extremes sit near P1 / P99; prices,",
        "engineer cost and model updates are PERT(min = low, mode = typical, max = high).",
    )
    w.section("project")
    w.put("name", f"{main.label} on {gpu.upper()}", "REPLACE: your project's name")
    w.put("horizon_months", 36)
    w.put("discount_rate", 0.10, "REPLACE: your cost of capital (annual)")
    w.put("currency", "USD")


def _demand(w: _Writer, history, column, base_dir) -> list[str]:
    w.section("demand")
    if history is not None:
        return _history_lines(w, history, column, base_dir)
    w.comment("No traffic history given (`roicast new --history traffic.csv` reads one).")
    w.replace("demand", "start_volume", 20_000_000, "your requests in the first month")
    w.replace(
        "demand",
        "annual_growth",
        {"dist": "pert", "min": 0.0, "mode": 0.3, "max": 0.8},
        "your traffic's yearly growth",
    )
    w.put("unit", "requests")
    return []


def _baseline(w: _Writer, price: Prior, gpu: str, n_gpus: int) -> None:
    w.section("baseline", f"today's fleet: instances of {n_gpus} x {gpu.upper()}")
    w.replace(
        "baseline.throughput",
        "throughput",
        {"dist": "pert", "min": 1.5, "mode": 2.0, "max": 2.5},
        f"requests/s one instance ({n_gpus} x {gpu.upper()}) serves at your latency SLO (load test)",
    )
    w.replace(
        "baseline.utilization",
        "utilization",
        {"p10": 0.3, "p50": 0.4, "p90": 0.5, "lower": 0, "upper": 1},
        "average utilization of your paid instance-hours (monitoring)",
    )
    w.put(
        "price",
        pert_distribution(price, n_gpus),
        f"prior {price.key} x {n_gpus} GPU(s) per instance, $/instance-hour; REPLACE with your price",
    )
    w.sources["baseline.price"] = _cite(price, f"PERT(low, typical, high) x {n_gpus} GPU(s)")
    w.replace("baseline.floor_instances", "floor_instances", 1, "always-on instances")


def _optimized(w: _Writer, main: Prior, warnings: list[str]) -> None:
    w.section("optimized", f"after: {main.label}")
    for text in warnings:
        w.comment(f"WARNING: {text}")
    w.comment(f"prior {main.key}: {_figures(main)}; {main.conditions}")
    if main.notes:
        w.comment(f"notes: {main.notes}")
    w.put("throughput_gain", gain_distribution(main), "prior; REPLACE with your benchmark")
    w.sources["optimized.throughput_gain"] = _cite(main, "a log-metalog (P10/P90 pulled in)")
    w.put("price_ratio", 1.0, "same GPU type before and after")


def _pricing(w: _Writer, cat: Catalogue) -> None:
    w.section("pricing")
    w.replace(
        "pricing.annual_change",
        "annual_change",
        {"dist": "triangular", "min": -0.30, "mode": -0.15, "max": 0.0},
        "your view of the yearly change in GPU prices (judgement, no catalogue source)",
    )
    w.replace("pricing.annual_volatility", "annual_volatility", 0.10, "yearly price volatility")
    if "pricing.committed_price_ratio" in cat:
        c = cat.get("pricing.committed_price_ratio")
        w.comment(
            "If you hold reserved capacity, uncomment and fill in:",
            "committed_instances = 4",
            "commitment_months = 12",
            f"committed_price_ratio = {_toml(pert_distribution(c))}  # prior {c.key}",
        )


def _implementation(w: _Writer, cat: Catalogue) -> None:
    eng = cat.get("engineering.loaded_cost")
    w.section("implementation")
    w.replace(
        "implementation.months",
        "months",
        {"dist": "pert", "min": 1, "mode": 2, "max": 4},
        "months until go-live",
    )
    w.put("ramp_months", 1)
    w.replace(
        "implementation.engineer_months",
        "engineer_months",
        {"dist": "pert", "min": 1, "mode": 3, "max": 6},
        "engineer-months of work",
    )
    w.put(
        "engineer_cost", pert_distribution(eng), f"prior {eng.key}; REPLACE with your loaded rate"
    )
    w.sources["implementation.engineer_cost"] = _cite(eng, "PERT(low, typical, high)")
    w.replace(
        "implementation.validation_cost",
        "validation_cost",
        {"dist": "uniform", "low": 5000, "high": 30000},
        "evaluation runs and sign-off",
    )
    w.put("licence_per_year", 0)
    w.replace(
        "implementation.maintenance_fraction", "maintenance_fraction", 0.15, "yearly upkeep share"
    )


def _churn_values(p: Prior) -> dict[str, Any]:
    if p.rework_on_update is False:
        return {"cost_per_update": 1000, "downtime_months": 0}
    return {
        "cost_per_update": {"dist": "pert", "min": 2000, "mode": 6000, "max": 15000},
        "downtime_months": 0.25,
    }


def _churn(w: _Writer, cat: Catalogue, main: Prior) -> None:
    cad = cat.get("cadence.model_updates")
    w.section("churn")
    w.put("updates_per_year", pert_distribution(cad), f"prior {cad.key}; REPLACE with your history")
    w.sources["churn.updates_per_year"] = _cite(cad, "PERT(low, typical, high)")
    redo = "redo it after each model update" if main.rework_on_update else "little re-work"
    for key, value in _churn_values(main).items():
        w.replace(f"churn.{key}", key, value, f"{key.replace('_', ' ')} ({main.label}: {redo})")


def _options(w: _Writer, techs: Sequence[Prior]) -> None:
    w.lines.append("")
    w.comment(
        "One option per technique; all share demand, prices and random numbers.",
        "Each option cites its own prior in `sources` (shown in the report for that option).",
        'To study two together, add an option with combines = ["a", "b"] and its own gain.',
    )
    for p in techs:
        w.lines += ["", "[[option]]"]
        w.put("name", p.ident)
        w.put("description", f"{p.label} (prior {p.key}; citations in sources)")
        w.comment(f"prior {p.key}: {p.conditions}")
        w.put("throughput_gain", gain_distribution(p), "prior; REPLACE with your benchmark")
        w.put("churn", _churn_values(p), "REPLACE: cost and downtime of redoing it per update")
        w.put(
            "sources",
            {_toml("optimized.throughput_gain"): _cite(p, "a log-metalog (P10/P90 pulled in)")},
        )


def build_spec(
    technique: str,
    gpu: str,
    *,
    history: Path | str | None = None,
    history_column: str | None = None,
    options: Sequence[str] | None = None,
    gpus_per_instance: int = 1,
    pricing: str = DEFAULT_TIER,
    catalogue: Catalogue | None = None,
    base_dir: Path | str | None = None,
) -> NewSpec:
    """Draft a study spec from the catalogue; see :func:`new_spec` (this also returns warnings)."""
    if isinstance(gpus_per_instance, bool) or not isinstance(gpus_per_instance, int):
        raise RoicastError(f"--gpus-per-instance: value {gpus_per_instance!r}; must be an integer")
    if not 1 <= gpus_per_instance <= 64:
        raise RoicastError(f"--gpus-per-instance: value {gpus_per_instance}; must lie in [1, 64]")
    cat = catalogue if catalogue is not None else load_catalogue()
    gpu = gpu.strip().lower()
    price = cat.gpu_price(gpu, pricing)
    techs = _resolve_options(cat, technique, options)
    warnings = _hardware_warnings(techs, gpu)
    w = _Writer()
    command = f"roicast new --technique {technique} --gpu {gpu}" + (
        f" --options {','.join(options)}" if options else ""
    )
    _head(w, techs[0], gpu, command)
    warnings += _demand(w, history, history_column, base_dir)
    _baseline(w, price, gpu, gpus_per_instance)
    _optimized(w, techs[0], warnings)
    _pricing(w, cat)
    _implementation(w, cat)
    _churn(w, cat, techs[0])
    w.section("decision")
    w.put("min_prob_positive_npv", 0.8, "go only if P(NPV > 0) is at least this")
    w.section("simulation")
    w.put("draws", 10_000)
    w.put("seed", 0)
    w.section("sources", "where each assumption comes from (shown in the report)")
    for key, text in w.sources.items():
        w.put(_toml(key), text)
    if options:
        _options(w, techs)
    return NewSpec(
        "\n".join(w.lines).lstrip("\n") + "\n", warnings, list(dict.fromkeys(w.placeholders))
    )


def new_spec(
    technique: str,
    gpu: str,
    *,
    history: Path | str | None = None,
    history_column: str | None = None,
    options: Sequence[str] | None = None,
    gpus_per_instance: int = 1,
    pricing: str = DEFAULT_TIER,
    catalogue: Catalogue | None = None,
    base_dir: Path | str | None = None,
) -> str:
    """A study spec (TOML text with comments) started from the catalogue's priors.

    Parameters
    ----------
    technique : str
        Technique id or alias (``fp8``, ``batching``, ``int4``...): its gain is
        the shared ``[optimized] throughput_gain``.
    gpu : str
        GPU the fleet runs on (``h100``, ``a100``, ``l4``...): ``[baseline] price``.
    history : path, optional
        Traffic CSV; without it demand is ``start_volume`` / ``annual_growth``
        placeholders.  It is read once here (bad files are refused now).
    history_column : str, optional
        Volume column of ``history`` when it has several.
    options : sequence of str, optional
        Techniques to compare: one ``[[option]]`` each (``technique`` first).
    gpus_per_instance : int
        GPUs in one serving instance (replica); the price is per GPU-hour times
        this, and ``baseline.throughput`` must be per such instance.  Default 1.
    pricing : str
        Price tier: ``neocloud`` (default), ``hyperscaler`` or ``marketplace``.
    catalogue : Catalogue, optional
        Default: :func:`load_catalogue` (built-in only).
    base_dir : path, optional
        Folder the spec will be written to: the history path is written
        relative to it (absolute when not given).

    Returns
    -------
    str
        TOML that :func:`roicast.spec.spec_from_dict` accepts, with ``# REPLACE:``
        on every placeholder and the sources of every prior in ``[sources]``.

    Raises
    ------
    RoicastError
        Unknown technique, GPU or tier, a bad ``gpus_per_instance`` or history file.
    """
    return build_spec(
        technique,
        gpu,
        history=history,
        history_column=history_column,
        options=options,
        gpus_per_instance=gpus_per_instance,
        pricing=pricing,
        catalogue=catalogue,
        base_dir=base_dir,
    ).text
