"""A study's memory is bounded by chunks: uniforms kept, values per chunk, same numbers."""

from __future__ import annotations

import pickle
import tomllib
import tracemalloc
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest

from roicast import study as study_mod
from roicast._quantiles import MonthlyQuantiles
from roicast.fleet import fleet_config
from roicast.sampling import input_values, sample_inputs, sample_uniforms
from roicast.simulate import INPUT_NAMES, METRIC_NAMES, SERIES_NAMES, simulate_arrays
from roicast.spec import load_spec, spec_from_dict
from roicast.study import (
    QUANTILES,
    ChunkedSample,
    OptionInputs,
    demand_matrix,
    forecast_for,
    memory_estimate,
    run_study,
    simulate_option,
    study_profiles,
)

DEMO = Path(str(files("roicast.demo")))
SEED = 23


def fast_spec(draws: int = 1000):
    """The demo spec without a history (no forecast fit), few demand paths."""
    raw = tomllib.loads((DEMO / "quantization.toml").read_text())
    raw["project"]["start"] = "2026-01"
    raw["demand"] = {"start_volume": 2.5e7, "annual_growth": 0.3, "paths": 200}
    raw["simulation"].update(draws=draws, seed=SEED, tornado_draws=100, sobol_n=128)
    return spec_from_dict(raw)


@pytest.fixture(scope="module")
def parts():
    spec = fast_spec()
    fc = forecast_for(spec, seed=SEED)
    demand = demand_matrix(fc)
    opt = spec.options[0]
    fleet = fleet_config(spec, opt, study_profiles(spec))
    return spec, fc, demand, opt, fleet


@pytest.mark.parametrize("demo", ["quantization.toml", "options.toml", "fleet.toml", "onprem.toml"])
def test_chunked_sample_equals_sample_inputs_bit_for_bit(demo):
    # the study no longer calls sample_inputs: this pins the two to the same numbers
    spec = load_spec(DEMO / demo)
    whole = sample_inputs(spec, 700, n_paths=50, seed=SEED)
    lazy = ChunkedSample.draw(spec, 700, n_paths=50, seed=SEED)
    np.testing.assert_array_equal(lazy.uniforms.values, whole.uniforms.values)
    assert lazy.uncertain == whole.uncertain and lazy.ties == whole.ties
    np.testing.assert_array_equal(lazy.values.values, whole.values.values)
    assert lazy.values.dims == whole.values.dims
    for name in lazy.distributions:
        # any slice of draws and inputs, any chunk size: the same rows
        free = lazy.free_inputs(name)
        got = lazy.option_values(name, 123, 611, free, chunk=97)
        want = whole.values.sel(option=name, input=free).values[123:611]
        np.testing.assert_array_equal(got, want)


def test_input_values_follow_ties_and_medians(parts):
    spec = parts[0]
    u, dists, tied, uncertain = sample_uniforms(spec, 300, n_paths=200, seed=SEED)
    name = spec.options[0].name
    x = input_values(dists[name], tied[name], uncertain, u)
    assert x.shape == (300, len(INPUT_NAMES))
    for j, inp in enumerate(INPUT_NAMES):
        src = tied[name].get(inp, inp)
        if src not in uncertain:
            assert np.all(x[:, j] == dists[name][inp].median)


def test_study_metrics_equal_the_whole_sample_simulated_at_once(parts):
    """run_study (chunked, values per chunk) against the unchunked pipeline: bit for bit."""
    spec, fc, demand, opt, fleet = parts
    res = run_study(spec, draws=2500, seed=SEED, sensitivity=False, forecast=fc)
    smp = sample_inputs(spec, 2500, n_paths=demand.shape[0], seed=SEED)
    m, series = simulate_arrays(
        np.ascontiguousarray(smp.values.values[0]),
        demand,
        seed=SEED,
        discount_rate=spec.project.discount_rate,
        fleet=fleet,
    )
    got = res.options[opt.name].metrics
    for j, name in enumerate(METRIC_NAMES):
        np.testing.assert_array_equal(got[name].values, m[:, j], err_msg=name)
    # 2500 draws fit the exact budget: np.quantile of the whole series, bit for bit
    mq = res.options[opt.name].monthly
    assert mq.attrs["quantiles_exact"] == 1
    want = np.quantile(series, QUANTILES, axis=1)
    for j, name in enumerate(SERIES_NAMES):
        np.testing.assert_array_equal(mq[name].values, want[:, j], err_msg=name)
    assert isinstance(res.sample, ChunkedSample)
    np.testing.assert_array_equal(res.sample.values.values, smp.values.values)


def _option(parts, n, **kw):
    spec, fc, demand, opt, fleet = parts
    smp = ChunkedSample.draw(spec, n, n_paths=demand.shape[0], seed=SEED)
    return simulate_option(
        smp.option_inputs(opt.name),
        demand,
        spec,
        seed=SEED,
        price_seed=None,
        monthly=True,
        months=fc.paths["month"].values,
        fleet=fleet,
        **kw,
    )


def test_chunking_does_not_change_metrics_and_approximate_quantiles_keep_their_bound(
    parts, monkeypatch
):
    n = 6000
    exact_m, exact_q = _option(parts, n)
    assert exact_q.attrs["quantiles_exact"] == 1
    # a budget too small for the draws: histograms from the first chunk on
    monkeypatch.setattr(study_mod, "QUANTILE_BUDGET", 8 * len(SERIES_NAMES) * 36 * 1000)
    m, q = _option(parts, n, chunk=1500)
    assert q.attrs["quantiles_exact"] == 0
    for name in METRIC_NAMES:
        np.testing.assert_array_equal(m[name].values, exact_m[name].values, err_msg=name)
    for name in SERIES_NAMES:
        bound = q[name].attrs["error_bound"]
        err = np.abs(q[name].values - exact_q[name].values).max()
        assert err <= bound, (name, err, bound)


class _InProcessClient:
    """The slice of ``distributed.Client`` that ``simulate_option`` uses, run here.

    Every task's arguments and result go through pickle, as to a Dask worker, and
    tasks run in reverse submission order: the result must not depend on either.
    """

    def __init__(self) -> None:
        self.submitted = 0

    def nthreads(self) -> dict[str, int]:
        return {"w0": 2, "w1": 2}

    def scatter(self, data, broadcast=False):
        return data

    def submit(self, fn, *args, pure=True, **kwargs):
        self.submitted += 1
        args, kwargs = pickle.loads(pickle.dumps((args, kwargs)))
        return _Done(pickle.loads(pickle.dumps(fn(*args, **kwargs))))


class _Done:
    def __init__(self, value) -> None:
        self.value = value

    def result(self):
        return self.value

    def release(self) -> None:
        pass


def test_split_run_equals_local_run_in_the_approximate_regime(parts, monkeypatch):
    monkeypatch.setattr(study_mod, "QUANTILE_BUDGET", 8 * len(SERIES_NAMES) * 36 * 500)
    monkeypatch.setattr(study_mod, "DASK_TASK_DRAWS", 1200)
    local_m, local_q = _option(parts, 5000, chunk=400)
    client = _InProcessClient()
    split_m, split_q = _option(parts, 5000, chunk=400, client=client)
    assert client.submitted == 4  # draws 400..4999 in tasks of 1200
    assert local_q.attrs["quantiles_exact"] == 0
    for name in METRIC_NAMES:
        np.testing.assert_array_equal(split_m[name].values, local_m[name].values, err_msg=name)
    for name in [*SERIES_NAMES, "prob_paid_back"]:
        np.testing.assert_array_equal(split_q[name].values, local_q[name].values, err_msg=name)


def test_option_inputs_pickle_small(parts):
    spec, _, demand, opt, _ = parts
    smp = ChunkedSample.draw(spec, 1000, n_paths=demand.shape[0], seed=SEED)
    oi = smp.option_inputs(opt.name).slice(100, 300)
    back = pickle.loads(pickle.dumps(oi))
    assert isinstance(back, OptionInputs) and len(back) == 200
    np.testing.assert_array_equal(back.rows(0, 200), smp.option_values(opt.name, 100, 300))


def _peak_bytes(parts, n, monkeypatch) -> int:
    monkeypatch.setattr(study_mod, "QUANTILE_BUDGET", 0)  # histograms only: nothing per draw
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        _option(parts, n, chunk=1000)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_grows_with_metrics_and_uniforms_not_with_monthly_series(parts, monkeypatch):
    """Peak traced memory of simulate_option at 8000 vs 4000 draws.

    Per extra draw the study keeps its metrics (8 bytes each) and, here, its
    uniforms; the monthly series (8 × 11 series × 36 months = 3168 bytes per
    draw) must not be kept, so the increase per draw stays far below that.
    """
    MonthlyQuantiles(1, 1, (0.5,))  # imports settle before measuring
    small = _peak_bytes(parts, 4000, monkeypatch)
    large = _peak_bytes(parts, 8000, monkeypatch)
    per_draw = (large - small) / 4000
    kept = 8 * len(METRIC_NAMES) + 8 * 20  # metrics, uniforms (≤ 20 uncertain inputs)
    assert per_draw < kept + 8 * len(SERIES_NAMES) * 36 / 4, per_draw


def test_memory_estimate_is_linear_in_draws_and_below_the_old_one(parts):
    spec = parts[0]
    a, b = memory_estimate(spec, 1_000_000), memory_estimate(spec, 2_000_000)
    c = memory_estimate(spec, 3_000_000)
    assert b - a == c - b > 0
    # per draw: no monthly series (they were 3 × 8 × 11 × 36 bytes before)
    assert (b - a) / 1_000_000 < 8 * len(SERIES_NAMES) * 36


@pytest.mark.parametrize("ties", [False, True])
def test_window_counts_equal_brute_force(ties):
    """The one-pass binning's window counts, minima, maxima and counts below, by hand.

    Second chunk with a wider range (the coarse grid doubles) and, with ``ties``,
    point masses on the window edges.
    """
    rng = np.random.default_rng(5)
    first = rng.normal(size=(2, 3000, 4))
    second = 3 * rng.normal(size=(2, 2000, 4))
    if ties:
        first = np.round(first, 1)
        second = np.round(second, 1)
    acc = MonthlyQuantiles(2, 4, (0.05, 0.5, 0.9), budget_bytes=0, fine_bins=16, coarse_bins=64)
    acc.update(first).update(second)
    h = acc._h
    data = np.concatenate([first, second], axis=1)
    for j in range(3):
        for s in range(2):
            for m in range(4):
                a, b = h["wlo"][j, s, m], h["whi"][j, s, m]
                v = data[s, :, m]
                assert h["wbelow"][j, s, m] == int((v < a).sum())
                inside = v[(v >= a) & (v <= b)]
                idx = np.minimum(((inside - a) * (16 / (b - a) if b > a else 0.0)).astype(int), 15)
                np.testing.assert_array_equal(h["wcnt"][j, s, m], np.bincount(idx, minlength=16))
                for f in range(16):
                    sel = inside[idx == f]
                    if sel.size:
                        assert h["wmin"][j, s, m, f] == sel.min()
                        assert h["wmax"][j, s, m, f] == sel.max()
    assert h["ccnt"].sum(axis=2).tolist() == [[5000] * 4] * 2
