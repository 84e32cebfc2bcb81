"""roicast._fastppf: numba inverse CDFs against scipy and roicast.distributions."""

from __future__ import annotations

import math

import numba as nb
import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal
from scipy import special, stats

from roicast import _fastppf as F
from roicast.distributions import Discrete, Lognormal, Metalog, Pert, Triangular, Uniform

# Probabilities: dense in the middle, log-spaced down to 1e-12 in both tails.
_TAIL = np.logspace(-12, math.log10(0.49), 400)
Q = np.unique(np.concatenate([_TAIL, np.linspace(0.0, 1.0, 1001)[1:-1], 1.0 - _TAIL]))
Q_ENDS = np.concatenate([[0.0], Q, [1.0]])


def _assert_monotone(x):
    # Non-decreasing up to the rounding of the last operation (x * sd + mean
    # etc.): a step back of at most 2 ulps of the value is allowed.
    fin = np.isfinite(x)
    slack = 2.0 * np.spacing(np.abs(np.where(fin, x, 0.0)))[1:]
    with np.errstate(invalid="ignore"):  # inf - inf
        ok = (np.diff(x) >= -slack) | (x[1:] == x[:-1])
    assert np.all(ok)


# --------------------------------------------------------------------------- normal family


def test_normal_matches_scipy_to_the_deep_tails():
    q = np.concatenate([np.logspace(-300, -1, 300), Q, 1.0 - np.logspace(-16, -1, 50)])
    assert_allclose(F.ppf("normal", (0.0, 1.0), q), special.ndtri(q), rtol=1e-14, atol=1e-15)
    x = F.ppf("normal", (3.0, 2.5), Q_ENDS)
    assert_allclose(x[1:-1], stats.norm(3.0, 2.5).ppf(Q), rtol=1e-14, atol=1e-14)
    assert (x[0], x[-1]) == (-math.inf, math.inf)


def test_lognormal_matches_distribution():
    d = Lognormal(120.0, 0.8)
    x = F.ppf("lognormal", (d.median_, d.sigma), Q_ENDS)
    assert_allclose(x[1:-1], d.ppf(Q), rtol=1e-13)
    assert (x[0], x[-1]) == (0.0, math.inf)
    _assert_monotone(x)


TRUNC = [
    (-1.0, 2.0),
    (0.0, math.inf),
    (-math.inf, 0.0),
    (3.0, math.inf),
    (-math.inf, -3.0),
    (5.0, 6.0),
    (-8.0, -7.9),
    (-1e-3, 1e-3),
    (20.0, 25.0),
    (-40.0, -38.0),  # Φ(a) underflows: log-space path
    (38.0, 40.0),  # mirrored
    (-50.0, math.inf),
    (-39.0, -4.0),
    (-math.inf, math.inf),
]


@pytest.mark.parametrize(("a", "b"), TRUNC)
def test_truncnormal_matches_scipy_in_both_tails(a, b):
    mean, sd = 10.0, 2.0
    low, high = mean + sd * a, mean + sd * b
    x = F.ppf("truncnormal", (mean, sd, low, high), Q_ENDS)
    ref = stats.truncnorm(a, b, loc=mean, scale=sd).ppf(Q)
    assert_allclose(x[1:-1], ref, rtol=1e-12, atol=1e-10)
    assert (x[0], x[-1]) == (low, high)  # exact endpoints
    _assert_monotone(x)
    assert np.all((x >= low) & (x <= high))


# --------------------------------------------------------------------------- beta / PERT


PERT_RANGE = [
    (1.0, 1.0),
    (1.0, 5.0),
    (5.0, 1.0),
    (2.0, 4.0),
    (1.8, 3.4),
    (13.0, 48.0),
    (60.0, 60.0),
    (1.0, 60.0),
]
GENERAL = [
    (0.5, 0.5),
    (0.5, 100.0),
    (100.0, 0.5),
    (0.7, 30.0),
    (100.0, 100.0),
    (3.3, 0.9),
    (25.0, 2.5),
]


@pytest.mark.parametrize(("a", "b"), PERT_RANGE + GENERAL)
def test_beta_matches_scipy(a, b):
    x = F.ppf("beta", (a, b, 0.0, 1.0), Q_ENDS)
    ref = stats.beta(a, b).ppf(Q)
    # 1e-10 absolute everywhere, and 1e-9 relative where values are tiny
    assert_allclose(x[1:-1], ref, atol=1e-10)
    tiny = ref < 1e-3
    assert_allclose(x[1:-1][tiny], ref[tiny], rtol=1e-9)
    assert (x[0], x[-1]) == (0.0, 1.0)
    _assert_monotone(x)


def test_beta_far_tail_keeps_relative_precision():
    # scipy (boost) gives up below ~1e-200 for small alpha; there the leading
    # term of I_x = x^a / (a B(a, b)) (1 + O(x)) is exact to double precision.
    q = np.logspace(-300, -40, 40)
    for a, b in [(0.5, 3.0), (2.0, 4.0)]:
        lbeta = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
        ref = np.exp((np.log(q) + math.log(a) + lbeta) / a)
        assert_allclose(F.ppf("beta", (a, b, 0.0, 1.0), q), ref, rtol=1e-9)
    # (boost also warns "root finding exceeded" for Beta(0.5, 3) at 1e-16..1e-12)
    for a, b in [(1.8, 3.4), (5.0, 1.0), (60.0, 60.0)]:
        q = np.logspace(-100, -12, 40)
        assert_allclose(F.ppf("beta", (a, b, 0.0, 1.0), q), stats.beta(a, b).ppf(q), rtol=1e-9)


def test_beta_on_an_interval_and_exact_path_agree():
    a, b, lo, hi = 2.5, 7.0, -3.0, 11.0
    x = F.ppf("beta", (a, b, lo, hi), Q_ENDS)
    assert_allclose(x[1:-1], stats.beta(a, b, loc=lo, scale=hi - lo).ppf(Q), atol=1e-10 * (hi - lo))
    assert (x[0], x[-1]) == (lo, hi)
    exact = np.empty_like(Q_ENDS)
    F.beta_ppf_exact(Q_ENDS, a, b, lo, hi, exact)  # the fallback, serially
    assert_allclose(x, exact, rtol=0, atol=1e-12 * (hi - lo))


def test_beta_table_is_cached_and_read_only():
    t1 = F.beta_table(2.0, 4.0)
    assert t1 is F.beta_table(2.0, 4.0)
    assert not t1[0].flags.writeable


@pytest.mark.parametrize(
    "p", [(1.5, 2.2, 3.0, 4.0), (0.0, 0.0, 1.0, 4.0), (0.0, 1.0, 1.0, 4.0), (10.0, 12.0, 50.0, 2.5)]
)
def test_pert_matches_distribution(p):
    d = Pert(*p)
    x = F.ppf("pert", p, Q_ENDS)
    assert_allclose(x[1:-1], d.ppf(Q), rtol=1e-12, atol=1e-10 * (d.max - d.min))
    assert (x[0], x[-1]) == (d.min, d.max)


# --------------------------------------------------------------------------- closed forms


@pytest.mark.parametrize("p", [(0.0, 0.3, 1.0), (2.0, 2.0, 5.0), (2.0, 5.0, 5.0), (-4.0, 1.0, 9.5)])
def test_triangular_matches_distribution(p):
    x = F.ppf("triangular", p, Q_ENDS)
    assert_allclose(x[1:-1], Triangular(*p).ppf(Q), rtol=1e-15, atol=1e-15)
    assert (x[0], x[-1]) == (p[0], p[2])
    _assert_monotone(x)


def test_uniform_matches_distribution():
    x = F.ppf("uniform", (0.1, 0.7), Q_ENDS)
    assert_array_equal(x[1:-1], Uniform(0.1, 0.7).ppf(Q))
    assert (x[0], x[-1]) == (0.1, 0.7)


def test_fixed_and_discrete():
    assert_array_equal(F.ppf("fixed", (3.5,), Q), np.full(Q.shape, 3.5))
    d = Discrete((3.0, 1.0, 2.0), (0.2, 0.5, 0.3))
    q = np.concatenate([Q_ENDS, np.asarray(d._cum)])  # exactly on the steps too
    assert_array_equal(F.ppf("discrete", (d.values, d._cum), q), d.ppf(q))


METALOGS = [
    (1.0, 2.0, 4.0, None, None),
    (1.0, 2.0, 4.0, 0.0, None),
    (-4.0, -2.0, -1.0, None, 0.0),
    (0.25, 0.35, 0.5, 0.0, 1.0),
    (10.0, 11.0, 15.0, None, None),
]


@pytest.mark.parametrize("p", METALOGS)
def test_metalog_matches_distribution(p):
    d = Metalog(*p)
    assert F.metalog_coefficients(*p) == d.coefficients()
    x = F.ppf("metalog", p, Q_ENDS)
    assert_allclose(x[1:-1], d.ppf(Q), rtol=1e-13, atol=1e-13)
    lower = -math.inf if p[3] is None else p[3]
    upper = math.inf if p[4] is None else p[4]
    assert (x[0], x[-1]) == (lower, upper)
    _assert_monotone(x)


# --------------------------------------------------------------------------- sampling (KS)


@pytest.mark.parametrize(
    ("kind", "params", "cdf"),
    [
        (
            "pert",
            (1.5, 2.2, 3.0, 4.0),
            stats.beta(1 + 4 * 0.7 / 1.5, 1 + 4 * 0.8 / 1.5, 1.5, 1.5).cdf,
        ),
        ("beta", (0.6, 40.0, 0.0, 1.0), stats.beta(0.6, 40.0).cdf),
        ("truncnormal", (0.0, 1.0, 2.0, math.inf), stats.truncnorm(2.0, math.inf).cdf),
    ],
)
def test_sampling_by_inversion_passes_ks(kind, params, cdf):
    # Fixed seed: the test is deterministic; under H0 a p-value below 1e-3 has
    # probability 1e-3, so a correct sampler passes and a wrong law (KS distance
    # >~ 1.95/sqrt(n) = 0.0087 at n = 50 000) fails.
    u = np.random.default_rng(20240513).random(50_000)
    x = F.ppf(kind, params, u)
    assert stats.kstest(x, cdf).pvalue > 1e-3


# --------------------------------------------------------------------------- inside numba


def _all_kernels(q, tab, tn, ml, outs):
    F.normal_ppf(q, 1.0, 2.0, outs[0])
    F.lognormal_ppf(q, 1.0, 0.5, outs[1])
    F.truncnormal_ppf(q, 0.0, 1.0, -1.0, 3.0, outs[2])
    F.beta_ppf_table(
        q, tab[0], tab[1], tab[2], tab[3], tab[4], tab[5], tab[6], tab[7], tab[8], 0.0, 1.0, outs[3]
    )
    F.uniform_ppf(q, -1.0, 1.0, outs[4])
    F.triangular_ppf(q, 0.0, 0.2, 1.0, outs[5])
    F.metalog_ppf(q, 0.5, 0.2, 0.1, 0.0, math.inf, outs[6])
    F.discrete_ppf(q, np.array([1.0, 2.0]), np.array([0.4, 1.0]), outs[7])
    F.beta_ppf_exact(q, 2.0, 4.0, 0.0, 1.0, outs[8])
    F.truncnormal_ppf_table(q, 0.0, 1.0, -1.0, 3.0, tn[0], tn[1], tn[2], tn[3], outs[9])
    F.metalog_ppf_table(q, 0.5, 0.2, 0.1, 0.0, math.inf, ml[0], ml[1], ml[2], outs[10])


# numba-stats habit: every kernel inside a jitted caller, with and without
# parallel=True (module-level and cached: the parallel compile takes ~30 s once).
_WRAPPERS = {
    False: nb.njit(parallel=False, cache=True)(_all_kernels),
    True: nb.njit(parallel=True, cache=True)(_all_kernels),
}


@pytest.mark.slow
@pytest.mark.parametrize("parallel", [False, True])
def test_kernels_run_inside_numba(parallel):
    q = Q_ENDS
    outs = np.empty((11, q.size))
    tn = F.truncnormal_table(-1.0, 3.0)
    ml = F.metalog_table(0.5, 0.2, 0.1, 0.0, math.inf)
    _WRAPPERS[parallel](q, F.beta_table(2.0, 4.0), tn, ml, outs)
    lg = np.log(Q / (1 - Q))
    metalog = np.concatenate([[0.0], np.exp(0.5 + 0.2 * lg + 0.1 * (Q - 0.5) * lg), [math.inf]])
    same = [  # (kernel output, what ppf_into gives)
        (0, F.ppf("normal", (1.0, 2.0), q)),
        (1, F.ppf("lognormal", (1.0, 0.5), q)),
        (3, F.ppf("beta", (2.0, 4.0, 0.0, 1.0), q)),
        (4, F.ppf("uniform", (-1.0, 1.0), q)),
        (5, F.ppf("triangular", (0.0, 0.2, 1.0), q)),
        (7, F.ppf("discrete", ((1.0, 2.0), (0.4, 1.0)), q)),
        (9, F.ppf("truncnormal", (0.0, 1.0, -1.0, 3.0), q)),
    ]
    for k, want in same:
        assert_array_equal(outs[k], want)
    # per-element reference paths against the tabulated ones / closed form
    assert_allclose(outs[2], outs[9], rtol=0, atol=1e-12)
    assert_allclose(outs[8], outs[3], rtol=0, atol=1e-12)
    assert_allclose(outs[6], metalog, rtol=1e-13)
    assert_allclose(outs[10], metalog, rtol=1e-12)


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("kind", "params", "q", "match"),
    [
        ("gamma", (1.0,), np.zeros(3), "unknown"),
        ("pert", (1.0, 2.0, 3.0), np.zeros(3), "pert"),
        ("normal", (0.0, 1.0), np.array([0.5, 1.5]), r"\[0, 1\]"),
        ("normal", (0.0, 1.0), np.array([0.5, np.nan]), r"\[0, 1\]"),
        ("normal", (0.0, 1.0), np.zeros(3, dtype=np.float32), "float64"),
        ("pert", (1.0, 1.0, 1.0, 4.0), np.zeros(3), "invalid"),
        ("pert", (1.0, 3.0, 2.0, 4.0), np.zeros(3), "invalid"),
        ("beta", (0.0, 1.0, 0.0, 1.0), np.zeros(3), "invalid"),
        ("truncnormal", (0.0, 1.0, 2.0, 1.0), np.zeros(3), "invalid"),
        ("uniform", (0.0, math.nan), np.zeros(3), "finite"),
    ],
)
def test_ppf_into_rejects_bad_input(kind, params, q, match):
    with pytest.raises(ValueError, match=match):
        F.ppf_into(kind, params, q, np.empty(q.shape))


def test_ppf_into_writes_in_place_and_checks_shapes():
    q = np.array([0.1, 0.5, 0.9])
    out = np.empty(3)
    assert F.ppf_into("uniform", (0.0, 2.0), q, out) is out
    assert_allclose(out, [0.2, 1.0, 1.8])
    with pytest.raises(ValueError, match="shape"):
        F.ppf_into("uniform", (0.0, 2.0), q, np.empty(4))
