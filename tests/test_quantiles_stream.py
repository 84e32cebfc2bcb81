"""roicast._quantiles.MonthlyQuantiles: exact regime, stated error bound, merging, memory."""

from __future__ import annotations

import copy
import pickle

import numpy as np
import pytest
from numpy.testing import assert_array_equal

from roicast._quantiles import MonthlyQuantiles
from roicast.errors import RoicastError

QUANTILES = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
S, M = 3, 4


def _chunks(kind: str, n_chunks: int, size: int, seed: int = 7) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_chunks):
        if kind == "lognormal":  # heavy tail: sigma = 2
            x = rng.lognormal(0.0, 2.0, (S, size, M))
        elif kind == "point_masses":
            # cumulative-cash-like: 30 % exact zeros (a floor), 10 % at -5, rest continuous
            u = rng.random((S, size, M))
            x = rng.normal(3.0, 4.0, (S, size, M))
            x = np.where(u < 0.3, 0.0, np.where(u < 0.4, -5.0, x))
        elif kind == "offset":  # tiny spread far from zero: rounding-sensitive binning
            x = 1e6 + rng.normal(0.0, 1e-6, (S, size, M))
        else:
            x = rng.normal(0.0, 1.0, (S, size, M)) * np.arange(1, M + 1)
        out.append(x)
    return out


def _reference(chunks):
    return np.quantile(np.concatenate(chunks, axis=1), QUANTILES, axis=1)


def _feed(acc, chunks):
    for c in chunks:
        acc.update(c)
    return acc


def test_exact_regime_is_np_quantile_bit_for_bit():
    chunks = [*_chunks("lognormal", 3, 1000), np.ones((S, 1, M)), _chunks("normal", 1, 777)[0]]
    acc = _feed(MonthlyQuantiles(S, M, QUANTILES), chunks)
    assert acc.exact
    assert_array_equal(acc.result(), _reference(chunks))
    assert_array_equal(acc.error_bound(), 0.0)
    # order does not matter in the exact regime
    rev = _feed(MonthlyQuantiles(S, M, QUANTILES), chunks[::-1])
    assert_array_equal(rev.result(), acc.result())


@pytest.mark.parametrize("kind", ["lognormal", "point_masses", "normal", "offset"])
def test_approximate_regime_within_stated_bound(kind):
    chunks = _chunks(kind, 8, 5000)
    budget = 8 * S * M * 6000  # the second chunk goes past the budget
    acc = _feed(MonthlyQuantiles(S, M, QUANTILES, budget_bytes=budget), chunks)
    assert not acc.exact
    got, bound, ref = acc.result(), acc.error_bound(), _reference(chunks)
    # the bound is guaranteed; allow only the rounding of the final interpolation
    slack = 4 * np.spacing(np.abs(ref))
    assert np.all(np.abs(got - ref) <= bound + slack)
    # and it is useful: i.i.d. draws stay inside the fine windows, whose bins are
    # (P(p+0.02) - P(p-0.02)) / 512 wide; at 40 000 draws the Monte Carlo standard
    # error of a quantile is sqrt(p(1-p)/n) / f ~ (0.0011 to 0.0025) / f, while a
    # fine bin is about 0.04 / (512 f) = 0.00008 / f: the bound must be below it.
    widths = acc._h["whi"] - acc._h["wlo"]
    assert np.all(bound <= widths / acc.fine_bins * (1 + 1e-12))


def test_point_masses_come_out_exact():
    chunks = _chunks("point_masses", 6, 5000)
    acc = _feed(MonthlyQuantiles(S, M, QUANTILES, budget_bytes=0), chunks)
    ref = _reference(chunks)
    on_mass = (ref == 0.0) | (ref == -5.0)
    assert on_mass.sum() > 0
    assert_array_equal(acc.result()[on_mass], ref[on_mass])
    assert_array_equal(acc.error_bound()[on_mass], 0.0)


def test_falls_back_to_the_coarse_bound_when_a_quantile_leaves_its_window():
    # not i.i.d.: the first chunk sits near 0, later ones far away, so the final
    # quantiles lie outside the windows placed on the first chunk.
    rng = np.random.default_rng(3)
    chunks = [rng.normal(0, 1, (S, 2000, M))] + [
        rng.normal(100, 10, (S, 4000, M)) for _ in range(3)
    ]
    acc = _feed(MonthlyQuantiles(S, M, QUANTILES, budget_bytes=0, coarse_bins=256), chunks)
    got, bound, ref = acc.result(), acc.error_bound(), _reference(chunks)
    assert np.all(np.abs(got - ref) <= bound + 4 * np.spacing(np.abs(ref)))
    data = np.concatenate(chunks, axis=1)
    coarse_max = 2 * (data.max(axis=1) - data.min(axis=1)) / (256 - 1)  # stated bound
    assert np.all(bound <= coarse_max[None] * (1 + 1e-12))


def test_merge_equals_single_accumulator():
    chunks = _chunks("lognormal", 7, 3000, seed=11)
    budget = 8 * S * M * 4000
    template = MonthlyQuantiles(S, M, QUANTILES, budget_bytes=budget).update(chunks[0])
    template.to_approximate()

    single = _feed(copy.deepcopy(template), chunks[1:])
    w1 = _feed(template.spawn(), chunks[1:4])
    w2 = _feed(template.spawn(), chunks[4:])
    merged = copy.deepcopy(template).merge(w1).merge(w2)
    assert merged.n == single.n == 7 * 3000
    assert_array_equal(merged.result(), single.result())
    assert_array_equal(merged.error_bound(), single.error_bound())
    assert np.all(
        np.abs(merged.result() - _reference(chunks))
        <= merged.error_bound() + 4 * np.spacing(np.abs(_reference(chunks)))
    )


def test_merge_in_exact_regime_and_mixed():
    chunks = _chunks("normal", 4, 500)
    a = _feed(MonthlyQuantiles(S, M, QUANTILES), chunks[:2])
    b = _feed(MonthlyQuantiles(S, M, QUANTILES), chunks[2:])
    assert_array_equal(a.merge(b).result(), _reference(chunks))
    # exact + approximate: the result keeps the approximate one's grids and the bound holds
    ex = _feed(MonthlyQuantiles(S, M, QUANTILES), chunks[:1])
    ap = _feed(MonthlyQuantiles(S, M, QUANTILES, budget_bytes=0), chunks[1:])
    m = ex.merge(ap)
    assert not m.exact and m.n == 2000
    ref = _reference(chunks)
    assert np.all(np.abs(m.result() - ref) <= m.error_bound() + 4 * np.spacing(np.abs(ref)))


def test_merge_with_different_windows_keeps_the_coarse_bound():
    c1, c2 = _chunks("normal", 1, 3000, seed=1)[0], _chunks("normal", 1, 3000, seed=2)[0]
    a = MonthlyQuantiles(S, M, QUANTILES, budget_bytes=0).update(c1)
    b = MonthlyQuantiles(S, M, QUANTILES, budget_bytes=0).update(c2)
    a.merge(b)
    assert not a._h["wvalid"].any()  # windows differ: dropped
    ref = _reference([c1, c2])
    assert np.all(np.abs(a.result() - ref) <= a.error_bound() + 4 * np.spacing(np.abs(ref)))


def test_memory_is_bounded_past_the_budget():
    acc = MonthlyQuantiles(S, M, QUANTILES, budget_bytes=8 * S * M * 1000)
    chunks = _chunks("lognormal", 12, 1000)
    acc.update(chunks[0])
    assert acc.exact and acc.nbytes == 8 * S * M * 1000
    acc.update(chunks[1])
    size = acc.nbytes
    shapes = {k: v.shape for k, v in acc._h.items()}
    _feed(acc, chunks[2:])
    assert acc.nbytes == size
    assert {k: v.shape for k, v in acc._h.items()} == shapes
    c, f, q = acc.coarse_bins, acc.fine_bins, len(QUANTILES)
    assert size == 8 * S * M * (3 * c + q * (3 * f + 4) + 4) - 7 * S * M * q  # wvalid is 1 byte


def test_same_chunks_same_order_same_result():
    chunks = _chunks("point_masses", 4, 2000, seed=5)
    r1 = _feed(MonthlyQuantiles(S, M, QUANTILES, budget_bytes=0), chunks).result()
    r2 = _feed(MonthlyQuantiles(S, M, QUANTILES, budget_bytes=0), chunks).result()
    assert_array_equal(r1, r2)


@pytest.mark.parametrize(
    ("chunk", "match"),
    [
        (np.zeros((S, 5, M + 1)), "shape"),
        (np.zeros((S, 5)), "shape"),
        (np.full((S, 5, M), np.nan), "finite"),
    ],
)
def test_update_rejects_bad_chunks(chunk, match):
    with pytest.raises(ValueError, match=match):
        MonthlyQuantiles(S, M, QUANTILES).update(chunk)


def test_constructor_and_merge_validation():
    with pytest.raises(ValueError, match="quantiles"):
        MonthlyQuantiles(S, M, (0.5, 1.5))
    with pytest.raises(ValueError, match="same"):
        MonthlyQuantiles(S, M, QUANTILES).merge(MonthlyQuantiles(S, M, (0.5,)))
    with pytest.raises(ValueError, match="no draws"):
        MonthlyQuantiles(S, M, QUANTILES).result()


# --------------------------------------------------------------------------- binning paths
# The binning has several paths (a constant cell binned at once; identical windows
# binned once and copied; a coarse bin met by one window or by several; a chunk
# that widens the range).  Each test below checks the whole histogram state
# against a brute-force count, so every path must give the same counts, extremes
# and counts below as the definition; the quantiles then follow (the bound test).


def _brute_force_state(acc, data):
    """Window counts, extremes and counts below recomputed from all values, by definition."""
    h = acc._h
    n_f = acc.fine_bins
    for j in range(acc.quantiles.size):
        for s in range(acc.n_series):
            for m in range(acc.n_months):
                if not h["wvalid"][j, s, m]:
                    continue
                a, b = h["wlo"][j, s, m], h["whi"][j, s, m]
                v = data[s, :, m]
                assert h["wbelow"][j, s, m] == int((v < a).sum()), (j, s, m)
                inside = v[(v >= a) & (v <= b)]
                inv = n_f / (b - a) if b > a else 0.0
                idx = np.minimum(((inside - a) * inv).astype(np.int64), n_f - 1)
                assert_array_equal(h["wcnt"][j, s, m], np.bincount(idx, minlength=n_f))
                got_min, got_max = h["wmin"][j, s, m], h["wmax"][j, s, m]
                for f in np.unique(idx):
                    sel = inside[idx == f]
                    assert got_min[f] == sel.min() and got_max[f] == sel.max(), (j, s, m, f)
    assert_array_equal(h["ccnt"].sum(axis=2), np.full((acc.n_series, acc.n_months), data.shape[1]))


@pytest.mark.parametrize(
    "kind", ["constant", "point_masses", "heavy_tail_few_bins", "widening", "close_quantiles"]
)
def test_every_binning_path_counts_by_definition(kind):
    rng = np.random.default_rng(17)
    qs = QUANTILES
    coarse = 64
    if kind == "constant":  # whole cells constant (a fleet not owned), then not
        chunks = [np.zeros((S, 400, M)), np.zeros((S, 300, M)), rng.normal(size=(S, 300, M))]
    elif kind == "point_masses":  # several quantiles on one mass: identical windows
        chunks = _chunks("point_masses", 3, 700)
    elif kind == "heavy_tail_few_bins":  # windows share coarse bins: the slow route
        chunks = _chunks("lognormal", 3, 700)
        coarse = 8
    elif kind == "widening":  # every chunk widens the range: the coarse grid doubles
        chunks = [rng.normal(0, 1 + 4 * i, (S, 500, M)) for i in range(4)]
    else:  # windows that overlap: 0.1 ± 0.02 and 0.12 ± 0.02
        chunks = _chunks("normal", 3, 700)
        qs = (0.1, 0.12, 0.5)
    acc = _feed(
        MonthlyQuantiles(S, M, qs, budget_bytes=0, coarse_bins=coarse, fine_bins=16), chunks
    )
    data = np.concatenate(chunks, axis=1)
    _brute_force_state(acc, data)
    ref = np.quantile(data, qs, axis=1)
    assert np.all(np.abs(acc.result() - ref) <= acc.error_bound() + 4 * np.spacing(np.abs(ref)))


def test_constant_cells_come_out_exact():
    # four series of zeros beside continuous ones, as in a cloud study's on-prem columns
    rng = np.random.default_rng(2)
    chunks = []
    for _ in range(4):
        c = rng.normal(5.0, 2.0, (S, 1000, M))
        c[1] = 0.0
        chunks.append(c)
    acc = _feed(MonthlyQuantiles(S, M, QUANTILES, budget_bytes=0), chunks)
    assert_array_equal(acc.result()[:, 1], 0.0)
    assert_array_equal(acc.error_bound()[:, 1], 0.0)


def test_non_finite_values_are_rejected_past_the_budget_and_leave_the_state_unchanged():
    chunks = _chunks("normal", 3, 500)
    acc = _feed(MonthlyQuantiles(S, M, QUANTILES, budget_bytes=0), chunks[:2])
    before = copy.deepcopy(acc._h)
    for bad in (np.nan, np.inf, -np.inf):
        c = chunks[2].copy()
        c[S - 1, 499, M - 1] = bad  # the very last value
        with pytest.raises(RoicastError, match="finite"):
            acc.update(c)
        for k, v in before.items():
            assert_array_equal(acc._h[k], v, err_msg=k)
    assert acc.n == 1000


def test_any_memory_layout_and_thread_count_give_the_same_result():
    import numba

    chunks = _chunks("lognormal", 4, 900, seed=9)
    ref = _feed(MonthlyQuantiles(S, M, QUANTILES, budget_bytes=0), chunks)
    # the same values as non-contiguous views (months-major storage, transposed back)
    views = [np.ascontiguousarray(c.transpose(0, 2, 1)).transpose(0, 2, 1) for c in chunks]
    assert not views[0].flags.c_contiguous
    threads = numba.get_num_threads()
    try:
        numba.set_num_threads(1)
        one = _feed(MonthlyQuantiles(S, M, QUANTILES, budget_bytes=0), views)
    finally:
        numba.set_num_threads(threads)
    assert_array_equal(one.result(), ref.result())
    assert_array_equal(one.error_bound(), ref.error_bound())


def test_pickle_keeps_the_state_and_drops_the_scratch():
    chunks = _chunks("normal", 3, 800)
    acc = _feed(MonthlyQuantiles(S, M, QUANTILES, budget_bytes=0), chunks)
    back = pickle.loads(pickle.dumps(acc))
    assert back._buf is None
    assert_array_equal(back.result(), acc.result())
    back.update(chunks[0])  # and it still bins
    assert back.n == acc.n + 800
