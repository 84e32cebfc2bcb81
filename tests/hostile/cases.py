"""The table of hostile cases that are refused (or must be accepted) before any simulation.

Each :class:`Case` builds its own folder (spec, history, previous output…) and
names the command line to run; :mod:`test_refusals` runs them all in one
group process (:func:`_harness.run_group`) and checks the README's promise with
:func:`_harness.check_refusal`.  Ids read as the hostile input.

A case the product fails today carries ``xfail``: the precise defect, for the
integrator (strict: it must start failing-to-fail once fixed, then the marker goes).
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.hostile._harness import (
    DELETE,
    OUT,
    SECRET,
    Prepared,
    dumps_toml,
    fake_previous_output,
    history_rows,
    history_spec,
    mutate,
    snapshot,
    tiny_spec,
    write_history,
)

SPEC = "spec.toml"
RUN = ("run", SPEC, "--out", OUT, "--draws", "200", "--no-report", "-q")
VALIDATE = ("validate", SPEC)


@dataclass
class Case:
    """One hostile input and the refusal it must get."""

    id: str
    build: Callable[[Path], Prepared]
    rc: int | tuple[int, ...] = 1
    names: tuple[str, ...] = ()
    value: str | tuple[str, ...] | None = None
    accept: bool = False  # a control: this input must be accepted (exit 0)
    xfail: str | None = None
    skip: Callable[[], str | None] | None = None
    extra: dict[str, Any] = field(default_factory=dict)


CASES: list[Case] = []


def _add(case: Case) -> None:
    assert case.id not in {c.id for c in CASES}, case.id
    CASES.append(case)


# ----------------------------------------------------------------------------- builders


def _spec_builder(
    doc: dict[str, Any] | str | bytes,
    args: tuple[str, ...] = VALIDATE,
    *,
    prior: bool = False,
    extra_files: Callable[[Path], list[Path]] | None = None,
) -> Callable[[Path], Prepared]:
    def build(d: Path) -> Prepared:
        p = d / SPEC
        if isinstance(doc, bytes):
            p.write_bytes(doc)
        elif isinstance(doc, str):
            p.write_text(doc, encoding="utf-8")
        else:
            p.write_text(dumps_toml(doc), encoding="utf-8")
        secret = extra_files(d) if extra_files else []
        if prior:
            fake_previous_output(d / OUT)
        return Prepared(d, args, before=snapshot(d / OUT), watch=d / OUT, secret_files=secret)

    return build


def spec(
    id: str,
    changes: dict[str, Any],
    *,
    names: tuple[str, ...],
    value: str | tuple[str, ...] | None = None,
    run: bool = False,
    base: Callable[[], dict[str, Any]] = tiny_spec,
    **kw: Any,
) -> None:
    """A spec case: ``tiny_spec()`` with dotted-path ``changes``; refused by validate (or run)."""
    doc = base()
    for path, v in changes.items():
        mutate(doc, path, v if v is DELETE else copy.deepcopy(v))
    args = RUN if run else VALIDATE
    _add(Case(id, _spec_builder(doc, args, prior=run), names=(SPEC, *names), value=value, **kw))


PERT = {"dist": "pert", "min": 1.15, "mode": 1.5, "max": 1.9}
GAIN = "optimized.throughput_gain"

# ----------------------------------------------------------------------------- spec: types
spec(
    "spec-string-for-int-horizon",
    {"project.horizon_months": "36"},
    names=("project.horizon_months",),
    value="36",
)
spec(
    "spec-string-for-float-discount",
    {"project.discount_rate": "0.1"},
    names=("project.discount_rate",),
    value="0.1",
)
spec(
    "spec-string-for-price",
    {"baseline.price": "3.5"},
    names=("baseline.price",),
    value="3.5",
    run=True,
)
spec(
    "spec-string-in-distribution-param",
    {GAIN: {**PERT, "min": "1.15"}},
    names=(GAIN,),
    value="1.15",
)
spec(
    "spec-boolean-for-throughput",
    {"baseline.throughput": True},
    names=("baseline.throughput",),
    value=("true", "True", "boolean"),
)
spec(
    "spec-float-for-int-draws",
    {"simulation.draws": 250.5},
    names=("simulation.draws",),
    value="250.5",
)
spec(
    "spec-string-for-bool-sobol",
    {"simulation.sobol": "yes"},
    names=("simulation.sobol",),
    value="yes",
)
spec("spec-string-for-int-paths", {"demand.paths": "20"}, names=("demand.paths",), value="20")
spec("spec-number-for-project-name", {"project.name": 42}, names=("project.name",), value="42")
spec(
    "spec-string-for-decision-threshold",
    {"decision.min_prob_positive_npv": "0.8"},
    names=("decision.min_prob_positive_npv",),
    value="0.8",
)
spec(
    "spec-array-for-scalar",
    {"baseline.price": [1, 2]},
    names=("baseline.price",),
    value=("[1, 2]", "list", "array"),
)
spec(
    "spec-datetime-for-start",
    {"project.start": "2026-13"},
    names=("project.start",),
    value="2026-13",
)

# ----------------------------------------------------------------------------- spec: ranges
spec(
    "spec-utilization-above-one",
    {"baseline.utilization": 1.3},
    names=("baseline.utilization",),
    value="1.3",
    run=True,
)
spec(
    "spec-utilization-zero",
    {"baseline.utilization": 0.0},
    names=("baseline.utilization",),
    value="0",
)
spec("spec-negative-price", {"baseline.price": -1.0}, names=("baseline.price",), value="-1")
spec("spec-price-above-cap", {"baseline.price": 20000.0}, names=("baseline.price",), value="20000")
spec(
    "spec-horizon-zero", {"project.horizon_months": 0}, names=("project.horizon_months",), value="0"
)
spec(
    "spec-huge-horizon",
    {"project.horizon_months": 10**9},
    names=("project.horizon_months",),
    value="1000000000",
)
spec(
    "spec-horizon-beyond-int64",
    {"project.horizon_months": 2**63 - 1},
    names=("project.horizon_months",),
    value="9223372036854775807",
)
spec(
    "spec-discount-rate-minus-one",
    {"project.discount_rate": -1.0},
    names=("project.discount_rate",),
    value="-1",
)
spec("spec-draws-below-minimum", {"simulation.draws": 50}, names=("simulation.draws",), value="50")
spec(
    "spec-draws-above-cap",
    {"simulation.draws": 10**9},
    names=("simulation.draws",),
    value="1000000000",
)
spec(
    "spec-sobol-n-not-power-of-two",
    {"simulation.sobol_n": 1000},
    names=("simulation.sobol_n",),
    value="1000",
)
spec(
    "spec-tornado-low-above-half",
    {"simulation.tornado_low": 0.6},
    names=("simulation.tornado_low",),
    value="0.6",
)
spec("spec-paths-too-few", {"demand.paths": 5}, names=("demand.paths",), value="5")
spec("spec-negative-seed", {"simulation.seed": -1}, names=("simulation.seed",), value="-1")
spec(
    "spec-unknown-sampling",
    {"simulation.sampling": "random"},
    names=("simulation.sampling",),
    value="random",
)
spec(
    "spec-unknown-provisioning",
    {"fleet": {"provisioning": "bogus"}},
    names=("fleet.provisioning",),
    value="bogus",
)
spec(
    "spec-profile-23-slots",
    {"fleet": {"profile": [1.0] * 23}},
    names=("fleet.profile",),
    value="23",
)
spec(
    "spec-go-live-after-horizon",
    {"implementation.months": 30.0},
    names=("implementation.months",),
    value="30",
)
spec(
    "spec-launch-after-horizon",
    {"demand.launches": [{"month": 99, "factor": 1.5}]},
    names=("demand.launches",),
    value="99",
)

# ----------------------------------------------------------------------------- spec: NaN / inf / huge
spec(
    "spec-nan-price",
    {"baseline.price": float("nan")},
    names=("baseline.price",),
    value="nan",
    run=True,
)
spec(
    "spec-inf-throughput",
    {"baseline.throughput": float("inf")},
    names=("baseline.throughput",),
    value="inf",
)
spec("spec-nan-in-pert-min", {GAIN: {**PERT, "min": float("nan")}}, names=(GAIN,), value="nan")
spec(
    "spec-inf-in-uniform-high",
    {"demand.annual_growth": {"dist": "uniform", "low": 0.1, "high": float("inf")}},
    names=("demand.annual_growth",),
    value="inf",
)
spec(
    "spec-nan-discount-rate",
    {"project.discount_rate": float("nan")},
    names=("project.discount_rate",),
    value="nan",
)
spec(
    "spec-nan-decision-threshold",
    {"decision.min_npv_p10": float("nan")},
    names=("decision.min_npv_p10",),
    value="nan",
)
spec(
    "spec-inf-decision-payback",
    {"decision.max_payback_p50_months": float("inf")},
    names=("decision.max_payback_p50_months",),
    value="inf",
)
spec(
    "spec-engineer-cost-1e308",
    {"implementation.engineer_cost": 1e308},
    names=("implementation.engineer_cost",),
    value=("1e+308", "1e308"),
    run=True,
)
spec(
    "spec-validation-cost-1e300",
    {"implementation.validation_cost": 1e300},
    names=("implementation.validation_cost",),
    value=("1e+300", "1e300"),
)
spec(
    "spec-benefit-minus-1e308",
    {"indirect.benefit_per_month": -1e308},
    names=("indirect.benefit_per_month",),
    value=("-1e+308", "-1e308"),
)
spec(
    "spec-cost-per-update-inf",
    {"churn": {"cost_per_update": float("inf")}},
    names=("churn.cost_per_update",),
    value="inf",
)
spec(
    "spec-start-volume-1e300",
    {"demand.start_volume": 1e300},
    names=("demand.start_volume",),
    value=("1e+300", "1e300"),
)
spec(
    "spec-normal-sd-1e308",
    {"indirect.benefit_per_month": {"dist": "normal", "mean": 0.0, "sd": 1e308}},
    names=("indirect.benefit_per_month",),
    value=("1e+308", "1e308"),
)
spec(
    "spec-launch-factor-inf",
    {"demand.launches": [{"month": 3, "factor": float("inf")}]},
    names=("demand.launches",),
    value="inf",
)

# ----------------------------------------------------------------------------- spec: unknown keys
spec(
    "spec-typo-thruput-one-line",
    {"baseline.thruput": 2.0, "baseline.throughput": DELETE},
    names=("thruput", "throughput"),
    value="2",
)
spec("spec-unknown-section", {"projekt": {"name": "x"}}, names=("projekt",))
spec("spec-unknown-key-in-dist-table", {GAIN: {**PERT, "lamda": 4.0}}, names=(GAIN, "lamda"))
spec(
    "spec-unknown-dist-name",
    {GAIN: {"dist": "gauss", "mean": 1.5, "sd": 0.1}},
    names=(GAIN,),
    value="gauss",
)
spec(
    "spec-option-key-typo",
    {"option": [{"name": "a", "throughput_gian": 1.5}]},
    names=("throughput_gian", "throughput_gain"),
)

# ----------------------------------------------------------------------------- spec: distributions
spec(
    "spec-uniform-low-above-high",
    {"demand.annual_growth": {"dist": "uniform", "low": 0.5, "high": 0.1}},
    names=("demand.annual_growth",),
    value="0.5",
)
spec(
    "spec-triangular-mode-outside",
    {GAIN: {"dist": "triangular", "min": 1.1, "mode": 3.0, "max": 2.0}},
    names=(GAIN,),
    value="3",
)
spec("spec-pert-negative-lambda", {GAIN: {**PERT, "lambda": -4.0}}, names=(GAIN,), value="-4")
spec(
    "spec-normal-negative-sd",
    {"indirect.benefit_per_month": {"dist": "normal", "mean": 0.0, "sd": -1.0}},
    names=("indirect.benefit_per_month",),
    value="-1",
)
spec(
    "spec-truncnormal-low-above-high",
    {GAIN: {"dist": "truncnormal", "mean": 1.5, "sd": 0.2, "low": 2.0, "high": 1.2}},
    names=(GAIN,),
    value="2",
)
spec(
    "spec-lognormal-sigma-zero",
    {GAIN: {"dist": "lognormal", "median": 1.5, "sigma": 0.0}},
    names=(GAIN, "sigma"),
    value="0",
)
spec(
    "spec-lognormal-negative-median",
    {GAIN: {"dist": "lognormal", "median": -1.5, "sigma": 0.2}},
    names=(GAIN,),
    value="-1.5",
)
spec(
    "spec-lognormal-median-and-mean",
    {GAIN: {"dist": "lognormal", "median": 1.5, "sigma": 0.2, "mean": 1.6}},
    names=(GAIN,),
)
spec(
    "spec-beta-alpha-zero",
    {"baseline.utilization": {"dist": "beta", "alpha": 0.0, "beta": 2.0}},
    names=("baseline.utilization",),
    value="0",
)
spec(
    "spec-discrete-weights-not-summing-to-one",
    {GAIN: {"dist": "discrete", "values": [1.2, 1.5], "weights": [0.2, 0.3]}},
    names=(GAIN, "weights"),
    value=("0.5", "[0.2, 0.3]"),
)
spec(
    "spec-discrete-length-mismatch",
    {GAIN: {"dist": "discrete", "values": [1.2, 1.5, 1.8], "weights": [0.5, 0.5]}},
    names=(GAIN,),
)
spec(
    "spec-discrete-negative-weight",
    {GAIN: {"dist": "discrete", "values": [1.2, 1.5], "weights": [1.5, -0.5]}},
    names=(GAIN,),
    value="-0.5",
)
spec(
    "spec-quantiles-p10-above-p50",
    {"baseline.utilization": {"p10": 0.5, "p50": 0.35, "p90": 0.6, "lower": 0, "upper": 1}},
    names=("baseline.utilization",),
    value="0.5",
)
spec(
    "spec-quantiles-outside-bounds",
    {"baseline.utilization": {"p10": 0.2, "p50": 0.35, "p90": 1.4, "lower": 0, "upper": 1}},
    names=("baseline.utilization",),
    value="1.4",
)
spec(
    "spec-uniform-missing-high",
    {"demand.annual_growth": {"dist": "uniform", "low": 0.1}},
    names=("demand.annual_growth", "high"),
)
spec(
    "spec-fixed-dist-nan",
    {"baseline.price": {"dist": "fixed", "value": float("nan")}},
    names=("baseline.price",),
    value="nan",
)

# ----------------------------------------------------------------------------- spec: contradictions (item 8)
spec(
    "spec-same-pair-correlated-twice",
    {
        "correlations": [
            {"between": ["baseline.throughput", GAIN], "rho": 0.3},
            {"between": [GAIN, "baseline.throughput"], "rho": -0.5},
        ]
    },
    names=("correlations",),
    value="-0.5",
)
spec(
    "spec-cyclic-combines",
    {"option": [{"name": "a", "combines": ["b"]}, {"name": "b", "combines": ["a"]}]},
    names=("combines",),
    value=("a", "b"),
)
spec(
    "spec-option-without-name", {"option": [{"description": "nameless"}]}, names=("option", "name")
)
spec("spec-option-blank-name", {"option": [{"name": "   "}]}, names=("option", "name"))
spec(
    "spec-duplicate-option-names",
    {"option": [{"name": "a"}, {"name": "a"}]},
    names=("option", "name"),
    value="a",
)
spec(
    "spec-combines-unknown-option",
    {"option": [{"name": "a", "combines": ["zzz"]}]},
    names=("combines",),
    value="zzz",
)
spec("spec-history-and-start-volume", {"demand.history": "h.csv"}, names=("demand",))
spec(
    "spec-neither-history-nor-start-volume",
    {"demand.start_volume": DELETE, "demand.annual_growth": DELETE},
    names=("demand",),
)

# ----------------------------------------------------------------------------- spec: correlations
spec(
    "spec-rho-above-one",
    {"correlations": [{"between": ["baseline.throughput", GAIN], "rho": 1.5}]},
    names=("correlations", "rho"),
    value="1.5",
)
spec(
    "spec-rho-nan",
    {"correlations": [{"between": ["baseline.throughput", GAIN], "rho": float("nan")}]},
    names=("correlations", "rho"),
    value="nan",
)
spec(
    "spec-correlate-unknown-input",
    {"correlations": [{"between": ["baseline.thruput", GAIN], "rho": 0.5}]},
    names=("correlations",),
    value="baseline.thruput",
)
spec(
    "spec-correlate-with-itself",
    {"correlations": [{"between": [GAIN, GAIN], "rho": 0.5}]},
    names=("correlations",),
    value=GAIN,
)
spec(
    "spec-correlation-not-psd",
    {
        "baseline.throughput": {"dist": "pert", "min": 1.6, "mode": 2.0, "max": 2.3},
        "implementation.engineer_months": {"dist": "pert", "min": 2, "mode": 4, "max": 8},
        "correlations": [
            {"between": ["baseline.throughput", GAIN], "rho": 0.9},
            {"between": [GAIN, "implementation.engineer_months"], "rho": 0.9},
            {"between": ["baseline.throughput", "implementation.engineer_months"], "rho": -0.9},
        ],
    },
    names=("correlations",),
)
spec(
    "spec-sources-unknown-input",
    {"sources": {"baseline.thruput": "a benchmark"}},
    names=("sources",),
    value="baseline.thruput",
)
spec("spec-sources-value-not-text", {"sources": {GAIN: 42}}, names=("sources",), value="42")

# ----------------------------------------------------------------------------- spec: names
spec(
    "spec-control-chars-in-name",
    {"project.name": "evil\x1b[2J\x07name"},
    names=("project.name",),
)
spec(
    "spec-newline-in-option-name",
    {"option": [{"name": "a\nerror: forged line"}]},
    names=("option",),
)
_add(
    Case(
        "spec-unicode-name-accepted",
        _spec_builder(mutate(tiny_spec(), "project.name", "Ünïcødé 名前 🚀 ℝ∑")),
        accept=True,
    )
)
_add(
    Case(
        "spec-very-long-name-refused",
        _spec_builder(mutate(tiny_spec(), "project.name", "N" * 20000)),
        names=(SPEC, "project.name"),
    )
)

# ----------------------------------------------------------------------------- spec files themselves
_add(Case("specfile-not-toml", _spec_builder("[project\nname = 'x'\n"), names=(SPEC, "TOML")))
_add(
    Case(
        "specfile-binary-with-secret",
        _spec_builder(
            b"\x00\x01\xff\xfe" + SECRET.encode() + b"\x00" * 64, extra_files=lambda d: [d / SPEC]
        ),
        names=(SPEC,),
    )
)
_add(
    Case(
        "specfile-latin1-bytes",
        _spec_builder("[project]\nname = 'caf\xe9'\n".encode("latin-1")),
        names=(SPEC, "UTF-8"),
    )
)
_add(
    Case(
        "specfile-empty",
        _spec_builder(""),
        names=(SPEC,),
    )
)


def _missing_spec(d: Path) -> Prepared:
    return Prepared(d, ("validate", "nope.toml"))


def _dir_spec(d: Path) -> Prepared:
    (d / "adir.toml").mkdir()
    return Prepared(d, ("run", "adir.toml", "--out", OUT, "-q"), watch=d / OUT)


_add(Case("specfile-missing", _missing_spec, names=("nope.toml", "not found")))
_add(Case("specfile-is-a-directory", _dir_spec, names=("adir.toml", "folder")))

# ----------------------------------------------------------------------------- history files
HIST = "h.csv"


def history(
    id: str,
    content: str | bytes | Callable[[Path], None],
    *,
    names: tuple[str, ...] = (HIST,),
    value: str | tuple[str, ...] | None = None,
    secret: bool = False,
    accept: bool = False,
    cmd: str = "validate",
    demand: dict[str, Any] | None = None,
    **kw: Any,
) -> None:
    """A history case: the spec reads ``h.csv`` (this content) through validate / run / forecast."""

    def build(d: Path) -> Prepared:
        p = d / HIST
        if callable(content):
            content(p)
        elif isinstance(content, bytes):
            p.write_bytes(content)
        else:
            p.write_text(content, encoding="utf-8")
        (d / SPEC).write_text(dumps_toml(history_spec(HIST, **(demand or {}))), encoding="utf-8")
        args = {
            "validate": VALIDATE,
            "run": RUN,
            "forecast": ("forecast", HIST, "--out", OUT, "--paths", "20", "--horizon", "12", "-q"),
        }[cmd]
        return Prepared(d, args, watch=d / OUT, secret_files=[p] if secret else [])

    _add(Case(id, build, names=names, value=value, accept=accept, **kw))


def _csv(rows: list[tuple[str, Any]], header: str = "date,requests") -> str:
    return header + "\n" + "".join(f"{a},{b}\n" for a, b in rows)


ROWS = history_rows(60)
SHADOW = "".join(
    f"{u}:$6${SECRET}$abcdefgh:19000:0:99999:7:::\n"
    for u in (
        "root",
        "daemon",
        "bin",
        "sys",
        "sync",
        "games",
        "man",
        "lp",
        "mail",
        "news",
        "uucp",
        "proxy",
        "www-data",
        "backup",
        "list",
        "irc",
    )
)
PASSWD = "".join(
    f"{u}:x:{i}:{i}:{SECRET} {u}:/home/{u}:/bin/sh\n"
    for i, u in enumerate(
        (
            "root",
            "daemon",
            "bin",
            "sys",
            "sync",
            "games",
            "man",
            "lp",
            "mail",
            "news",
            "uucp",
            "proxy",
            "www",
            "backup",
            "list",
            "irc",
        )
    )
)
KEYFILE = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\n"
    + "".join(f"{SECRET}AAAAB3NzaC1yc2EAAAADAQABAAABAQ{i:04d}\n" for i in range(20))
    + "-----END OPENSSH PRIVATE KEY-----\n"
)
ENVFILE = "".join(f"KEY_{i}={SECRET}_{i}\n" for i in range(20))

history(
    "history-etc-shadow-secret",
    SHADOW,
    secret=True,
)
history(
    "history-etc-passwd-secret",
    PASSWD,
    secret=True,
)
history(
    "history-private-key-secret",
    KEYFILE,
    secret=True,
)
history(
    "history-dotenv-secret",
    ENVFILE,
    secret=True,
)
history(
    "history-binary-with-secret",
    bytes(range(256)) + SECRET.encode() + b"\x00\n" + SECRET.encode() * 3,
    secret=True,
)
history(
    "history-shadow-via-forecast-cmd",
    SHADOW,
    secret=True,
    cmd="forecast",
)
history(
    "history-shadow-via-run-nothing-written",
    SHADOW,
    secret=True,
    cmd="run",
)
history(
    "history-shadow-with-named-columns",
    SHADOW,
    secret=True,
    demand={"timestamp_column": "date", "volume_column": "requests"},
)
history("history-empty-file", "")
history("history-header-only", "date,requests\n")
history(
    "history-wrong-columns",
    _csv(ROWS, "day,calls"),
    names=(HIST, "date"),
    demand={"timestamp_column": "date", "volume_column": "requests"},
)
history(
    "history-duplicate-timestamp",
    _csv([*ROWS[:30], ROWS[29], *ROWS[30:]]),
    names=(HIST, "line 32"),
    value=ROWS[29][0],
)
history(
    "history-negative-volume",
    _csv([*ROWS[:10], (ROWS[10][0], -5), *ROWS[11:]]),
    names=(HIST, "line 12"),
    value="-5",
)
history(
    "history-non-numeric-volume",
    _csv([*ROWS[:10], (ROWS[10][0], "lots"), *ROWS[11:]]),
    names=(HIST, "line 12"),
    value="lots",
)
history(
    "history-unparseable-timestamp",
    _csv([*ROWS[:10], ("2025-02-30x", 5), *ROWS[11:]]),
    names=(HIST, "line 12"),
    value="2025-02-30x",
)
history(
    "history-inf-volume",
    _csv([*ROWS[:10], (ROWS[10][0], "inf"), *ROWS[11:]]),
    names=(HIST, "line 12"),
    value="inf",
)
history("history-too-few-points", _csv(ROWS[:5]), names=(HIST,), value="5")
history(
    "history-1e300-spike-refused",
    _csv([*ROWS[:40], (ROWS[40][0], "1e300"), *ROWS[41:]]),
    names=(HIST, "line 42"),
    value=("1e+300", "1e300"),
)
history(
    "history-1e300-spike-run-refused",
    _csv([*ROWS[:40], (ROWS[40][0], "1e300"), *ROWS[41:]]),
    names=(HIST, "line 42"),
    value=("1e+300", "1e300"),
    cmd="run",
)
history(
    "history-ordinary-3x-spikes-accepted",
    _csv([(a, b * (3 if i in (20, 41) else 1)) for i, (a, b) in enumerate(ROWS)]),
    accept=True,
)


def _history_dir(p: Path) -> None:
    p.mkdir()


def _history_unreadable(p: Path) -> None:
    write_history(p, ROWS)
    p.chmod(0)


history("history-is-a-directory", _history_dir, names=(HIST, "folder"))
history("history-missing-file", lambda p: None, names=(HIST, "not found"))
history(
    "history-unreadable-chmod-000",
    _history_unreadable,
    names=(HIST,),
    skip=lambda: (
        "runs as root: chmod 000 does not stop root reading" if os.geteuid() == 0 else None
    ),
)

# ----------------------------------------------------------------------------- CLI flags
GOOD = tiny_spec()


def flag(
    id: str,
    args: tuple[str, ...],
    *,
    names: tuple[str, ...],
    value: str | None = None,
    rc: int | tuple[int, ...] = 2,
    history_file: bool = False,
    **kw: Any,
) -> None:
    """A command-line case with a valid spec (and history) in the folder."""

    def build(d: Path) -> Prepared:
        (d / SPEC).write_text(dumps_toml(GOOD), encoding="utf-8")
        if history_file:
            write_history(d / HIST, ROWS)
        return Prepared(d, args, watch=d / OUT)

    _add(Case(id, build, rc=rc, names=names, value=value, **kw))


R = ("run", SPEC, "--out", OUT, "-q", "--no-report")
flag("cli-run-draws-not-a-number", (*R, "--draws", "abc"), names=("--draws",), value="abc")
flag("cli-run-draws-zero", (*R, "--draws", "0"), names=("draws",), value="0", rc=(1, 2))
flag("cli-run-draws-negative", (*R, "--draws", "-5"), names=("draws",), value="-5", rc=(1, 2))
flag(
    "cli-run-draws-above-spec-cap",
    (*R, "--draws", str(10**12)),
    names=("draws",),
    value=("1000000000000", "1,000,000,000,000"),
    rc=(1, 2),
)
flag("cli-run-draws-float", (*R, "--draws", "1e3"), names=("--draws",), value="1e3")
flag("cli-run-seed-negative", (*R, "--seed", "-1"), names=("seed",), value="-1", rc=(1, 2))
flag(
    "cli-run-seed-above-2-63",
    (*R, "--seed", str(2**64)),
    names=("seed",),
    value=str(2**64),
    rc=(1, 2),
)
flag("cli-run-seed-not-a-number", (*R, "--seed", "x1"), names=("--seed",), value="x1")
flag(
    "cli-run-until-stable-zero",
    (*R, "--until-stable", "0"),
    names=("--until-stable",),
    value="0",
    rc=(1, 2),
)
flag(
    "cli-run-until-stable-nan",
    (*R, "--until-stable", "nan"),
    names=("--until-stable",),
    value="nan",
    rc=(1, 2),
)
flag(
    "cli-run-max-draws-zero",
    (*R, "--until-stable", "0.01", "--max-draws", "0"),
    names=("--max-draws",),
    value="0",
    rc=(1, 2),
)
flag("cli-run-unknown-flag", (*R, "--drawz", "5"), names=("--drawz",))
flag("cli-run-missing-spec", ("run",), names=("spec",))
flag("cli-unknown-command", ("frobnicate",), names=("frobnicate",))
flag("cli-validate-missing-spec", ("validate",), names=("spec",))
flag(
    "cli-demo-draws-zero",
    ("demo", "--out", OUT, "--draws", "0", "-q"),
    names=("draws",),
    value="0",
    rc=(1, 2),
)
flag(
    "cli-demo-unknown-example",
    ("demo", "--out", OUT, "--example", "bogus"),
    names=("--example",),
    value="bogus",
    rc=(1, 2),
)
flag(
    "cli-demo-seed-not-a-number",
    ("demo", "--out", OUT, "--seed", "abc"),
    names=("--seed",),
    value="abc",
)
F = ("forecast", HIST, "--out", OUT, "-q")
flag(
    "cli-forecast-horizon-zero",
    (*F, "--horizon", "0"),
    names=("--horizon",),
    value="0",
    history_file=True,
)
flag(
    "cli-forecast-horizon-601",
    (*F, "--horizon", "601"),
    names=("--horizon",),
    value="601",
    history_file=True,
)
flag(
    "cli-forecast-paths-one", (*F, "--paths", "1"), names=("--paths",), value="1", history_file=True
)
flag(
    "cli-forecast-paths-huge",
    (*F, "--paths", str(10**10)),
    names=("--paths",),
    value=("10000000000", "10,000,000,000"),
    rc=(1, 2),
    history_file=True,
)
flag(
    "cli-forecast-seed-negative",
    (*F, "--seed", "-1"),
    names=("--seed",),
    value="-1",
    history_file=True,
)
flag(
    "cli-forecast-bad-start",
    (*F, "--start", "2026-13"),
    names=("start",),
    value="2026-13",
    rc=(1, 2),
    history_file=True,
)
flag(
    "cli-forecast-unknown-column",
    (*F, "--column", "nope"),
    names=("nope",),
    rc=1,
    history_file=True,
)
B = ("batch", SPEC, "--out", OUT, "-q", "--workers", "0", "--no-report")
flag("cli-batch-draws-zero", (*B, "--draws", "0"), names=("--draws",), value="0", rc=(1, 2))
flag(
    "cli-batch-draws-above-cap",
    (*B, "--draws", str(10**12)),
    names=("draws",),
    value=("1000000000000", "1,000,000,000,000"),
    rc=(1, 2),
)
flag(
    "cli-batch-workers-negative",
    (*B, "--workers", "-1"),
    names=("--workers",),
    value="-1",
    rc=(1, 2),
)
flag(
    "cli-batch-dask-local-zero",
    ("batch", SPEC, "--out", OUT, "-q", "--dask-local", "0"),
    names=("--dask-local",),
    value="0",
    rc=(1, 2),
)
flag("cli-batch-seed-negative", (*B, "--seed", "-1"), names=("--seed",), value="-1", rc=(1, 2))
flag("cli-batch-no-specs", ("batch", "--out", OUT, "-q"), names=("spec",), rc=(1, 2))

# ----------------------------------------------------------------------------- --out destination


def dest(
    id: str,
    prepare: Callable[[Path], Path],
    *,
    out: str = OUT,
    names: tuple[str, ...],
    args: tuple[str, ...] | None = None,
    changes: dict[str, Any] | None = None,
    history_file: bool = False,
    **kw: Any,
) -> None:
    """A destination case: ``prepare`` builds the folder and returns the path to keep intact."""

    def build(d: Path) -> Prepared:
        doc = tiny_spec()
        for k, v in (changes or {}).items():
            mutate(doc, k, v)
        (d / SPEC).write_text(dumps_toml(doc), encoding="utf-8")
        if history_file:
            write_history(d / HIST, ROWS)
        watch = prepare(d)
        a = args or ("run", SPEC, "--out", out, "--draws", "200", "--no-report", "-q")
        return Prepared(d, a, before=snapshot(watch), watch=watch)

    _add(Case(id, build, names=names, **kw))


def _user_file(d: Path) -> Path:
    (d / "notes.txt").write_text("my notes\n")
    return d / "notes.txt"


def _under_file(d: Path) -> Path:
    return _user_file(d)


def _foreign_summary(d: Path) -> Path:
    (d / OUT).mkdir()
    (d / OUT / "summary.json").write_text("{}")
    (d / OUT / "thesis.docx").write_bytes(b"user work")
    return d / OUT


def _foreign_summary_only(d: Path) -> Path:
    (d / OUT).mkdir()
    (d / OUT / "summary.json").write_text("{}")
    return d / OUT


def _previous_plus_user_file(d: Path) -> Path:
    fake_previous_output(d / OUT)
    (d / OUT / "my-analysis.ipynb").write_text("{}")
    return d / OUT


def _whole_folder(d: Path) -> Path:
    return d


dest("out-is-current-folder", _whole_folder, out=".", names=("--out",), value="'.'")
dest("out-is-a-file", _user_file, out="notes.txt", names=("--out", "notes.txt"))
dest("out-under-a-file", _under_file, out="notes.txt/sub", names=("--out", "notes.txt"))
dest(
    "out-foreign-folder-with-summary-json",
    _foreign_summary,
    names=("--out", OUT),
    value=("thesis.docx", "summary.json"),
)
dest("out-foreign-folder-only-summary-json", _foreign_summary_only, names=("--out", OUT))
dest(
    "out-previous-output-plus-user-file",
    _previous_plus_user_file,
    names=("--out", OUT),
    value="my-analysis.ipynb",
)
dest(
    "batch-out-foreign-folder",
    _foreign_summary,
    names=("--out", OUT),
    args=("batch", SPEC, "--out", OUT, "--workers", "0", "--no-report", "-q"),
)
dest(
    "forecast-out-foreign-folder",
    _foreign_summary,
    names=("--out", OUT),
    args=("forecast", HIST, "--out", OUT, "-q", "--paths", "20"),
    history_file=True,
)
dest(
    "out-memory-refusal-says-how-many-fit",
    lambda d: d / OUT,
    args=("run", SPEC, "--out", OUT, "--draws", "50000000", "-q", "--no-report"),
    names=("draws", "fit"),
    value=("50,000,000", "50000000"),
    changes={"project.horizon_months": 600, "demand.paths": 200000},
)

# ----------------------------------------------------------------------------- previous output intact
for _id, _changes, _names in (
    ("prior-kept-on-bad-spec", {"baseline.utilization": 1.3}, ("baseline.utilization",)),
    ("prior-kept-on-string-number", {"project.horizon_months": "36"}, ("horizon_months",)),
    ("prior-kept-on-unknown-key", {"baseline.colour": "red"}, ("colour",)),
):
    _d = tiny_spec()
    for _k, _v in _changes.items():
        mutate(_d, _k, _v)
    _add(Case(_id, _spec_builder(_d, RUN, prior=True), names=(SPEC, *_names)))

# ----------------------------------------------------------------------------- output is lines, not wrapped
_LONG = "Quantize the chat model to FP8 on the H100 fleet " * 3  # 150 characters, a fair name
_add(
    Case(
        "validate-long-name-stdout-not-wrapped",
        _spec_builder(mutate(tiny_spec(), "project.name", _LONG.strip())),
        accept=True,
        extra={"one_stdout_line": True},
    )
)
history(
    "forecast-warnings-not-wrapped",
    _csv(ROWS),
    cmd="forecast",
    accept=True,
    extra={"one_line_per_warning": True},
)

# ----------------------------------------------------------------------------- crash leftovers (item 10)
_DEAD = 99_999_999  # above pid_max (2**22): never a live process


def _hidden_previous(d: Path) -> Prepared:
    """A run killed between its two renames: the previous output hidden in .out.old-PID."""
    (d / SPEC).write_text(dumps_toml(GOOD), encoding="utf-8")
    fake_previous_output(d / f".{OUT}.old-{_DEAD}")
    (d / f".{OUT}.tmp-{_DEAD}-x1y2z3").mkdir()
    before = snapshot(d / f".{OUT}.old-{_DEAD}")
    # refused inside the run (flags out of range are usage errors, refused before it)
    args = ("run", SPEC, "--out", OUT, "--until-stable", "5", "--no-report", "-q")
    return Prepared(d, args, before=before, watch=d / OUT)


def _stale_beside_output(d: Path) -> Prepared:
    """Stale temp and hidden folders of dead runs beside an intact output."""
    (d / SPEC).write_text(dumps_toml(GOOD), encoding="utf-8")
    fake_previous_output(d / OUT)
    fake_previous_output(d / f".{OUT}.old-{_DEAD}")
    (d / f".{OUT}.tmp-{_DEAD}-q9").mkdir()
    args = ("run", SPEC, "--out", OUT, "--until-stable", "5", "--no-report", "-q")
    return Prepared(d, args, before=snapshot(d / OUT), watch=d / OUT)


_add(
    Case(
        "leftover-hidden-previous-restored-by-next-run",
        _hidden_previous,
        rc=(1, 2),
        names=("until-stable",),
    )
)
_add(
    Case(
        "leftover-stale-temp-folders-removed",
        _stale_beside_output,
        rc=(1, 2),
        names=("until-stable",),
    )
)

# ----------------------------------------------------------------------------- more files that are not what they claim


def _files_case(
    id: str,
    files: dict[str, str | None],
    args: tuple[str, ...],
    *,
    secret: tuple[str, ...] = (),
    **kw: Any,
) -> None:
    """A case from literal files (``None``: a folder) and a command line."""

    def build(d: Path) -> Prepared:
        for name, text in files.items():
            if text is None:
                (d / name).mkdir()
            else:
                (d / name).write_text(text, encoding="utf-8")
        return Prepared(d, args, watch=d / OUT, secret_files=[d / s for s in secret])

    _add(Case(id, build, **kw))


_GOOD_TOML = dumps_toml(tiny_spec())
_files_case(
    "forecast-history-is-a-directory",
    {HIST: None},
    ("forecast", HIST, "--out", OUT, "-q"),
    names=(HIST,),
    value=("folder", "directory"),
)
_files_case(
    "forecast-history-missing",
    {},
    ("forecast", HIST, "--out", OUT, "-q"),
    names=(HIST, "not found"),
)
_files_case(
    "specfile-is-shadow-content", {SPEC: SHADOW}, VALIDATE, secret=(SPEC,), names=(SPEC, "TOML")
)
_files_case(
    "batch-table-is-shadow-content",
    {SPEC: _GOOD_TOML, "t.csv": SHADOW},
    (
        "batch",
        "--template",
        SPEC,
        "--table",
        "t.csv",
        "--out",
        OUT,
        "--workers",
        "0",
        "--no-report",
        "-q",
    ),
    secret=("t.csv",),
    names=("t.csv",),
)
_files_case(
    "batch-template-missing",
    {"t.csv": "project.name\nx\n"},
    ("batch", "--template", "nope.toml", "--table", "t.csv", "--out", OUT, "-q"),
    names=("nope.toml",),
)
_files_case(
    "batch-table-is-a-directory",
    {SPEC: _GOOD_TOML, "t.csv": None},
    ("batch", "--template", SPEC, "--table", "t.csv", "--out", OUT, "-q"),
    names=("t.csv", "folder"),
)
_files_case(
    "batch-spec-missing",
    {},
    ("batch", "nope.toml", "--out", OUT, "-q", "--workers", "0"),
    names=("nope.toml",),
)
