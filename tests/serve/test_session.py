"""The what-if session without a browser: edits, errors, forecast reuse, saves, confinement."""

from __future__ import annotations

import math
import os
import time
import tomllib

import numpy as np
import pytest

from roicast.errors import RoicastError
from roicast.inputs import option_distributions
from roicast.serve.payload import S_CURVE_POINTS, alternatives, controls
from roicast.serve.session import NeedsConfirmation, Session
from roicast.serve.toml_writer import dumps
from roicast.spec import load_spec
from roicast.study import run_study

from .conftest import DEMO, small_demo

QUICK = 200


@pytest.fixture
def session(small_spec):
    s = Session(small_spec, quick_draws=QUICK, background=False)
    yield s
    s.close()


def _headline(state, option=None):
    return state["views"][option or state["recommended"]]["headline"]


def test_quick_run_then_refine_at_the_spec_draws(session):
    st = session.quick()
    assert st["kind"] == "quick" and st["draws"] == QUICK and not st["refined"]
    ref = session.refine()
    assert ref["kind"] == "refined" and ref["draws"] == 600 and ref["refined"]
    assert session.state()["kind"] == "refined"  # the best state of the version


def test_the_quick_run_is_the_study_at_quick_draws(session, small_spec):
    """The cached forecast changes nothing: same numbers as a fresh run_study at the same draws."""
    npv = _headline(session.quick())["npv"]
    fresh = run_study(load_spec(small_spec), draws=QUICK, sensitivity=False)
    x = fresh.options["optimized"].metrics["npv"].values
    assert npv["p50"] == pytest.approx(float(np.quantile(x, 0.5)), rel=1e-12)
    assert npv["mean"] == pytest.approx(float(x.mean()), rel=1e-12)


def test_a_lower_gain_lowers_npv_and_bumps_the_version(session):
    before = _headline(session.quick())
    res, st = session.edit("optimized.throughput_gain", 1.05)
    assert res.ok and res.version == 1 and st["version"] == 1
    after = _headline(st)
    # same seed and draws (common random numbers): a lower gain saves less in every draw
    assert after["npv"]["mean"] < before["npv"]["mean"]
    assert after["npv"]["p50"] < before["npv"]["p50"]
    assert after["verdict"] == "no-go"  # a 5 % gain cannot pay for months of engineering
    assert session.raw["optimized"]["throughput_gain"] == 1.05
    assert st["edited"] == ["optimized.throughput_gain"]


def test_a_bad_edit_gives_the_validate_line_and_changes_nothing(session, small_spec, tmp_path):
    session.quick()
    raw0 = session.raw
    res, st = session.edit("baseline.utilization", 1.3)
    assert not res.ok and res.version == 0 and session.raw == raw0 and st["version"] == 0
    # the same line load_spec (roicast validate) gives for that value in the file
    bad = tmp_path / "study" / "bad.toml"
    bad.write_text(small_spec.read_text().replace("utilization = 0.35", "utilization = 1.3"))
    with pytest.raises(RoicastError) as e:
        load_spec(bad)
    assert res.error == str(e.value).replace(str(bad), str(small_spec))
    assert res.error.endswith("baseline.utilization: value 1.3; must lie in (0, 1]")
    assert "\n" not in res.error


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("optimized.throughput_gain", None),  # removing a required field
        ("optimized.throughput_gain", "fast"),
        ("optimized.throughput_gain", True),
        ("optimized.throughput_gain", [1, 2]),
        ("optimized.throughput_gain", {"dist": "pert", "min": 2, "mode": 1, "max": 3}),
        ("optimized.throughput_gain", {"dist": "nope"}),
        ("optimized.throughput_gain", {"dist": "pert", "min": None, "mode": 1, "max": 3}),
        ("optimized.throughput_gain", {"p10": 1, "p50": 1.01, "p90": 9}),
        ("optimized.throughput_gain", math.nan),
        ("baseline.throughput", 1e-300),  # valid spec, but the study refuses it: undone
        ("baseline.price", -1),
        ("implementation.months", 30),  # beyond the horizon
        ("project.horizon_months", "36"),
        ("simulation.draws", 10),
        ("nosuch.field", 1),
        ("optimized", 1),
        ("a.b.c", 1),
        ("demand.paths", {"x": object()}),
    ],
)
def test_no_edit_crashes_the_session(session, field, value):
    st0, raw0 = session.quick(), session.raw
    res, st = session.edit(field, value)
    assert not res.ok and isinstance(res.error, str) and res.error and "\n" not in res.error
    assert session.raw == raw0 and st["views"] == st0["views"]
    assert session.edit("optimized.throughput_gain", 1.6)[0].ok  # still works


def test_forecast_is_reused_until_a_demand_field_changes(session):
    session.quick()
    session.edit("optimized.throughput_gain", 1.4)
    session.edit("baseline.price", 4.0)
    session.refine()
    assert session.forecasts_computed == 1
    before = _headline(session.quick())["npv"]["mean"]
    res, st = session.edit("demand.annual_growth", 0.0)  # flat demand: less to save
    assert res.ok and session.forecasts_computed == 2
    assert _headline(st)["npv"]["mean"] < before
    session.edit("project.horizon_months", 30)  # the forecast's length changes too
    assert session.forecasts_computed == 3


def test_an_edit_supersedes_an_older_refinement(session):
    session.quick()
    old = session.version
    session.edit("baseline.price", 4.0)
    assert session.refine(old) is None
    assert session.refine()["version"] == session.version


def test_the_background_worker_refines_the_latest_version(small_spec):
    s = Session(small_spec, quick_draws=QUICK, background=True)
    try:
        s.edit("baseline.price", 4.0)
        s.edit("baseline.price", 4.5)
        deadline = time.monotonic() + 300  # a generous bound on waiting, not a speed assertion
        while s.state()["kind"] != "refined" and time.monotonic() < deadline:
            time.sleep(0.05)
        st = s.state()
        assert st["kind"] == "refined" and st["version"] == 2 and st["draws"] == 600
        assert not st["refining"]
    finally:
        s.close()


def test_reset_goes_back_to_the_spec_as_loaded(session):
    raw0 = session.raw
    session.edit("baseline.price", 4.0)
    session.reset()
    assert session.raw == raw0 and session.version == 2 and session.state()["edited"] == []


# ------------------------------------------------------------------ payload
def test_page_state_arrays(session):
    session.quick()
    st = session.refine()
    view = st["views"]["optimized"]
    npv = session._results["refined"][1].options["optimized"].metrics["npv"].values
    s = view["s_curve"]
    assert len(s["npv"]) == S_CURVE_POINTS and np.all(np.diff(s["npv"]) >= 0)
    q = (np.arange(S_CURVE_POINTS) + 0.5) / S_CURVE_POINTS
    np.testing.assert_allclose(s["npv"], np.quantile(npv, q))
    assert _headline(st)["prob_npv_negative"] == pytest.approx(float((npv < 0).mean()))
    swings = [r["swing"] for r in view["tornado"]]
    assert swings == sorted(swings, reverse=True) and len(swings) > 0
    fan = view["fan"]
    assert len(fan["month"]) == 24 and fan["month"][0] == "2026-01"
    lo, mid, hi = (np.array(fan["quantiles"][k]) for k in ("p5", "p50", "p95"))
    assert np.all(lo <= mid) and np.all(mid <= hi)


def test_controls_hold_every_input_but_demand(small_spec):
    spec = load_spec(small_spec)
    ctrls = controls(spec)["optimized"]
    dists = option_distributions(spec, spec.options[0], n_paths=2)
    assert [c["field"] for c in ctrls] == [n for n in dists if n != "demand"]
    by = {c["field"]: c for c in ctrls}
    assert by["optimized.throughput_gain"]["table"] == {
        "dist": "pert", "min": 1.15, "mode": 1.5, "max": 1.9, "lambda": 4.0
    }  # fmt: skip
    assert by["baseline.price"]["kind"] == "fixed" and by["baseline.price"]["table"]["value"] == 3.5
    assert by["optimized.utilization"]["tied_to"] == "baseline.utilization"
    assert by["optimized.api_price_per_million"]["unset"]
    s = Session(small_spec, quick_draws=QUICK, background=False)
    for c in ctrls:  # sending a control's table back is a valid edit that changes no input
        if c["unset"] or c["tied_to"]:
            continue
        value = c["table"]["value"] if c["kind"] == "fixed" else c["table"]
        assert s.apply_edit(c["field"], value).ok, c["field"]
        new = option_distributions(s.spec, s.spec.options[0], n_paths=2)[c["field"]]
        assert new.median == pytest.approx(dists[c["field"]].median, rel=1e-12), c["field"]
    s.close()


def test_alternatives_are_valid_tables_near_the_input():
    from roicast.distributions import parse_distribution

    d = parse_distribution({"dist": "pert", "min": 1.15, "mode": 1.5, "max": 1.9})
    alts = alternatives(d)
    assert set(alts) >= {
        "fixed",
        "uniform",
        "triangular",
        "pert",
        "normal",
        "lognormal",
        "quantiles",
    }
    for kind, table in alts.items():
        a = parse_distribution(table)
        assert abs(a.median - d.median) < 0.1, kind  # starts near the input's median
    neg = alternatives(parse_distribution({"dist": "normal", "mean": -5, "sd": 1}))
    assert "lognormal" not in neg  # a lognormal cannot have a negative P10


# ------------------------------------------------------------------- saving
def test_save_spec_round_trips_through_load_spec(session, small_spec):
    session.edit(
        "optimized.throughput_gain", {"dist": "triangular", "min": 1.1, "mode": 1.2, "max": 1.4}
    )
    session.edit("baseline.price", 4.25)
    path = session.save_spec("small-whatif.toml")
    assert path == small_spec.parent / "small-whatif.toml"
    text = path.read_text()
    assert text.startswith("# What-if of small.toml")
    assert tomllib.loads(text) == session.raw
    loaded = load_spec(path)
    o = loaded.options[0]
    assert o.optimized.throughput_gain.to_dict() == {
        "dist": "triangular",
        "min": 1.1,
        "mode": 1.2,
        "max": 1.4,
    }
    assert loaded.baseline.price.median == 4.25
    assert loaded.sources == {"optimized.throughput_gain": 'lab "benchmark", 2026'}
    assert option_distributions(loaded, o, n_paths=2) == option_distributions(
        session.spec, session.spec.options[0], n_paths=2
    )
    assert not [p for p in path.parent.iterdir() if p.name.startswith(".")]  # no temp file left


def test_save_spec_refuses_to_overwrite_without_confirmation(session):
    p = session.save_spec("w.toml")
    session.edit("baseline.price", 5.0)
    with pytest.raises(NeedsConfirmation, match="exists"):
        session.save_spec("w.toml")
    assert load_spec(p).baseline.price.median == 3.5
    session.save_spec("w.toml", overwrite=True)
    assert load_spec(p).baseline.price.median == 5.0


def test_save_spec_in_a_subfolder_moves_the_history_path(tmp_path):
    spec = small_demo(tmp_path / "demo")
    s = Session(spec, quick_draws=QUICK, background=False)
    out = s.save_spec("whatif/q.toml")
    assert tomllib.loads(out.read_text())["demand"]["history"] == "../history.csv"
    assert load_spec(out).history_path().resolve() == (tmp_path / "demo" / "history.csv")
    s.close()


@pytest.mark.parametrize(
    "name", ["../x.toml", "sub/../../x.toml", "/etc/x.toml", "", "   ", ".", "x.txt", "sub"]
)
def test_save_paths_are_confined_to_the_spec_folder(session, name):
    (session.folder / "sub").mkdir(exist_ok=True)
    with pytest.raises(RoicastError, match="save spec"):
        session.save_spec(name)


def test_a_symlink_out_of_the_folder_is_refused(session, tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    os.symlink(outside, session.folder / "link")
    with pytest.raises(RoicastError, match="outside the spec's folder"):
        session.save_spec("link/x.toml")
    assert not (outside / "x.toml").exists()
    inside = session.save_spec(str(session.folder / "abs.toml"))  # absolute but inside: fine
    assert inside.is_file()


@pytest.mark.slow
def test_save_report_writes_the_usual_folder(session):
    import json

    session.edit("baseline.price", 4.0)
    folder, doc = session.save_report("rep")
    assert (folder / "report.html").is_file() and (folder / "results.nc").is_file()
    saved = json.loads((folder / "summary.json").read_text())
    assert saved["draws"] == 600 and saved["decision"] == doc["decision"]
    assert "sobol" in saved["sensitivity"]  # the full analysis, not the quick one
    with pytest.raises(NeedsConfirmation):
        session.save_report("rep")
    with pytest.raises(RoicastError, match="outside"):
        session.save_report("/tmp")


# ----------------------------------------------------------- several options
@pytest.mark.slow
def test_an_option_edit_touches_that_option_only(tmp_path):
    spec = small_demo(tmp_path / "opts", "options.toml")
    s = Session(spec, quick_draws=QUICK, background=False)
    try:
        before = {o.name: o.optimized.throughput_gain for o in s.spec.options}
        res, st = s.edit("optimized.throughput_gain", 1.2, option="batching")  # shorthand key
        assert res.ok
        after = {o.name: o.optimized.throughput_gain for o in s.spec.options}
        assert after["batching"].median == 1.2
        assert after["fp8"] == before["fp8"] and after["both"] == before["both"]
        res, _ = s.edit("churn.cost_per_update", 500, option="fp8")  # no override yet: a new one
        assert res.ok and s.raw["option"][0]["churn"] == {"cost_per_update": 500}
        assert s.spec.options[1].churn.cost_per_update.median == 1000
        res, _ = s.edit("baseline.price", 4.0, option="fp8")  # a shared section stays shared
        assert res.ok and s.raw["baseline"]["price"] == 4.0
        names = {"fp8", "batching", "both", "api"}
        assert set(st["views"]) == names and len(st["comparison"]) == len(names)
        assert not s.edit("churn.cost_per_update", 1, option="nope")[0].ok
        assert load_spec(s.save_spec("o.toml")).options[1].optimized.throughput_gain.median == 1.2
    finally:
        s.close()


# --------------------------------------------------------------- TOML writer
@pytest.mark.parametrize("name", ["quantization.toml", "options.toml"])
def test_the_toml_writer_round_trips_the_demos(name):
    raw = tomllib.loads((DEMO / name).read_text())
    assert tomllib.loads(dumps(raw)) == raw


def test_the_toml_writer_round_trips_awkward_values():
    doc = {
        "top": 1,
        "project": {"name": 'a "quoted"\\ name\nwith\ttabs, ünïcode and \x7f', "start": "2026-01"},
        "demand": {
            "paths": 10,
            "launches": [{"month": 3, "factor": 1.5}, {"month": 9, "factor": 2}],
        },
        "baseline": {
            "x": {"dist": "discrete", "values": [1, 2.5], "weights": [0.5, 0.5]},
            "b": True,
        },
        "sources": {"optimized.throughput_gain": "memo", "key with space": ""},
        "correlations": [{"between": ["a.b", "c.d"], "rho": -0.3}],
        "option": [
            {
                "name": "o1",
                "optimized": {"throughput_gain": {"dist": "pert", "min": 1, "mode": 2, "max": 3}},
            },
            {"name": "o2", "throughput_gain": 1.5, "churn": {"cost_per_update": 1e-7}},
        ],
        "empty": {},
        "floats": {"big": 1e300, "neg": -0.0, "inf": math.inf},
    }
    assert tomllib.loads(dumps(doc, header="two\nlines")) == doc


@pytest.mark.parametrize("bad", [{"a": {"b": None}}, {"a": {1: 2}}, {"a": {"b": object()}}])
def test_the_toml_writer_refuses_what_toml_cannot_hold(bad):
    with pytest.raises(RoicastError):
        dumps(bad)


def test_quick_draws_below_100_and_bad_specs_are_refused(small_spec, tmp_path):
    with pytest.raises(RoicastError, match="quick_draws"):
        Session(small_spec, quick_draws=10)
    with pytest.raises(RoicastError, match="not found"):
        Session(tmp_path / "missing.toml")
