"""Drafted specs: valid for every technique and GPU, cited, and runnable end to end."""

from __future__ import annotations

import math
import tomllib
from pathlib import Path

import numpy as np
import pytest

from roicast.errors import RoicastError
from roicast.priors import (
    build_spec,
    gain_distribution,
    load_catalogue,
    new_spec,
    pert_distribution,
)
from roicast.priors._catalogue import Prior
from roicast.spec import spec_from_dict

DATA = Path(__file__).resolve().parents[1] / "data"
SERVEGEN = DATA / "servegen_hourly_requests.csv"
CAT = load_catalogue()
TECHNIQUES = [p.ident for p in CAT.of_kind("technique")]
GPU_TIERS = [("h100", "neocloud"), ("a100", "hyperscaler"), ("l4", "hyperscaler")]


def _prior(low, typical, high, kind="technique") -> Prior:
    return Prior(f"{kind}.x", kind, low, typical, high, "x", ("s",), "2026-01")


@pytest.mark.parametrize("technique", TECHNIQUES)
@pytest.mark.parametrize(("gpu", "tier"), GPU_TIERS)
def test_every_technique_on_several_gpus_gives_a_valid_spec(technique, gpu, tier, tmp_path):
    text = new_spec(technique, gpu, pricing=tier, catalogue=CAT)
    spec = spec_from_dict(tomllib.loads(text), base_dir=tmp_path)
    prior = CAT.technique(technique)
    gain = spec.options[0].optimized.throughput_gain
    assert gain.median == pytest.approx(prior.typical, rel=1e-3)
    assert "optimized.throughput_gain" in spec.sources
    assert prior.sources[0] in spec.sources["optimized.throughput_gain"]
    price = CAT.gpu_price(gpu, tier)
    lo, hi = spec.baseline.price.bounds()
    assert price.low * 0.999 <= lo and hi <= price.high * 1.001


def test_placeholders_are_marked_and_named_in_sources(tmp_path):
    draft = build_spec("fp8", "h100", catalogue=CAT)
    spec = spec_from_dict(tomllib.loads(draft.text), base_dir=tmp_path)
    lines = draft.text.splitlines()
    for name in draft.placeholders:
        field = name.split(".")[-1] if name != "demand" else "start_volume"
        line = next(ln for ln in lines if ln.startswith(f"{field} = "))
        assert "# REPLACE:" in line, line
        assert spec.sources[name].startswith("PLACEHOLDER")
    assert {"baseline.throughput", "baseline.utilization", "demand"} <= set(draft.placeholders)
    for key in ("baseline.price", "implementation.engineer_cost", "churn.updates_per_year"):
        assert spec.sources[key].startswith("prior ")


def test_instance_price_scales_with_gpus_per_instance(tmp_path):
    one = spec_from_dict(tomllib.loads(new_spec("fp8", "h100", catalogue=CAT)), base_dir=tmp_path)
    eight = spec_from_dict(
        tomllib.loads(new_spec("fp8", "h100", gpus_per_instance=8, catalogue=CAT)),
        base_dir=tmp_path,
    )
    assert eight.baseline.price.median == pytest.approx(8 * one.baseline.price.median, rel=1e-3)
    with pytest.raises(RoicastError, match=r"--gpus-per-instance: value 0; must lie in \[1, 64\]"):
        new_spec("fp8", "h100", gpus_per_instance=0, catalogue=CAT)


def test_options_write_one_option_per_technique_with_their_citations(tmp_path):
    text = new_spec("fp8", "h100", options=["fp8", "batching", "speculative"], catalogue=CAT)
    spec = spec_from_dict(tomllib.loads(text), base_dir=tmp_path)
    assert spec.option_names == ["fp8", "continuous_batching", "speculative"]
    for opt in spec.options:
        prior = CAT.technique(opt.name)
        assert opt.optimized.throughput_gain.median == pytest.approx(prior.typical, rel=1e-3)
        assert prior.key in opt.description
        # each option cites its own prior for its gain (per-option sources override [sources])
        assert opt.sources["optimized.throughput_gain"].startswith(f"prior {prior.key} ")
        assert prior.sources[0] in opt.sources["optimized.throughput_gain"]
    # batching needs no re-work per model update, quantization does
    by = {o.name: o for o in spec.options}
    assert by["continuous_batching"].churn.downtime_months.median == 0
    assert by["fp8"].churn.downtime_months.median > 0


def test_the_technique_leads_the_options_even_when_not_listed(tmp_path):
    text = new_spec("int8", "a100", pricing="hyperscaler", options=["prefix"], catalogue=CAT)
    spec = spec_from_dict(tomllib.loads(text), base_dir=tmp_path)
    assert spec.option_names == ["int8", "prefix_caching"]


def test_hardware_outside_the_figures_gives_a_warning():
    draft = build_spec("fp8", "a100", pricing="hyperscaler", catalogue=CAT)
    assert any("technique.fp8" in w and "a100" in w for w in draft.warnings)
    assert "# WARNING: technique.fp8" in draft.text
    assert build_spec("fp8", "h100", catalogue=CAT).warnings == []


def test_a_history_is_read_and_pointed_at_relative_to_the_spec(tmp_path):
    out_dir = tmp_path / "study"
    out_dir.mkdir()
    draft = build_spec(
        "fp8", "h100", history=SERVEGEN, history_column="m-large", base_dir=out_dir, catalogue=CAT
    )
    raw = tomllib.loads(draft.text)
    assert raw["demand"]["volume_column"] == "m-large"
    assert not Path(raw["demand"]["history"]).is_absolute()
    spec = spec_from_dict(raw, base_dir=out_dir)
    assert spec.history_path().resolve() == SERVEGEN.resolve()
    assert "start_volume" not in raw["demand"] and "demand" not in draft.placeholders


def test_a_history_with_several_columns_needs_one_named():
    with pytest.raises(RoicastError, match="several volume columns"):
        new_spec("fp8", "h100", history=SERVEGEN, catalogue=CAT)


def test_gain_quantiles_sit_half_way_in_log_between_typical_and_the_extremes():
    d = gain_distribution(_prior(1.31, 1.6, 2.2))
    assert d["p50"] == 1.6 and d["lower"] == 0
    assert d["p10"] == pytest.approx(math.sqrt(1.31 * 1.6), rel=1e-3)
    assert d["p90"] == pytest.approx(math.sqrt(2.2 * 1.6), rel=1e-3)


def test_skewed_gains_widen_the_downside_so_the_metalog_stays_monotone(tmp_path):
    from roicast.distributions import parse_distribution

    d = gain_distribution(_prior(1.0, 1.29, 6.4))  # prefix caching: 4x more upside than downside
    b = math.log(d["p90"] / 1.29)
    assert math.log(1.29 / d["p10"]) == pytest.approx(b / 4, rel=1e-2)
    dist = parse_distribution(d)
    q = dist.ppf(np.linspace(0.001, 0.999, 999))
    assert np.all(np.diff(q) > 0)
    # every catalogue technique parses (a 3-term metalog refuses non-monotone quantiles)
    for p in CAT.of_kind("technique"):
        parse_distribution(gain_distribution(p))


def test_gains_below_one_survive_the_mapping():
    d = gain_distribution(CAT.get("technique.int4_large_batch"))
    assert d["p10"] < 1 < d["p90"]


def test_pert_distribution_scales_all_three_points():
    assert pert_distribution(_prior(2.0, 3.0, 4.0, "gpu"), 8) == {
        "dist": "pert",
        "min": 16,
        "mode": 24,
        "max": 32,
    }


@pytest.mark.slow
def test_a_new_spec_runs_end_to_end(tmp_path):
    from roicast.study import run_study

    text = new_spec("fp8", "h100", options=["fp8", "batching"], catalogue=CAT)
    raw = tomllib.loads(text)
    raw["demand"]["paths"] = 50
    raw["simulation"]["tornado_draws"] = 100
    spec = spec_from_dict(raw, base_dir=tmp_path)
    result = run_study(spec, draws=300, sensitivity=False)
    assert set(result.options) == {"fp8", "continuous_batching"}
    npv = result.options["fp8"].metrics["npv"].values
    assert npv.shape == (300,) and np.isfinite(npv).all()
