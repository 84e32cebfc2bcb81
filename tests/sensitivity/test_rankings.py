"""Tests of roicast.sensitivity.rankings against scipy / naive pandas references."""

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from scipy import stats

from roicast.errors import RoicastError
from roicast.sensitivity import binned_effect, contribution_to_variance, rankings, spearman_ranking
from roicast.sensitivity._common import average_ranks


@pytest.fixture
def sample():
    rng = np.random.default_rng(42)
    n = 4000
    X = pd.DataFrame(
        {
            "linear": rng.uniform(-1, 1, n),
            "weak": rng.uniform(-1, 1, n),
            "bowl": rng.uniform(-1, 1, n),  # non-monotonic: enters as bowl**2
            "discrete": rng.integers(0, 3, n).astype(float),
            "fixed": np.full(n, 7.0),
            "noise_in": rng.normal(size=n),
        }
    )
    y = (
        3.0 * X["linear"]
        + 0.5 * X["weak"]
        + 3.0 * X["bowl"] ** 2
        - 0.4 * X["discrete"]
        + rng.normal(0, 0.3, n)
    )
    return X, y.to_numpy()


def test_average_ranks_match_scipy_with_ties():
    rng = np.random.default_rng(0)
    v = np.column_stack([rng.normal(size=500), rng.integers(0, 4, 500), np.repeat([1.0, 2.0], 250)])
    np.testing.assert_array_equal(average_ranks(v), stats.rankdata(v, axis=0).T)


def test_spearman_matches_scipy(sample):
    X, y = sample
    s = spearman_ranking(X, y)
    for name in s.index:
        assert s[name] == pytest.approx(stats.spearmanr(X[name], y).statistic, abs=1e-12)
    assert s.index[0] == "linear"  # sorted by |rho|
    assert "fixed" not in s.index and s.attrs["excluded"] == ["fixed"]


def test_contribution_to_variance_signed_shares(sample):
    X, y = sample
    c = contribution_to_variance(X, y)
    rho = spearman_ranking(X, y)
    assert np.abs(c).sum() == pytest.approx(1.0)
    np.testing.assert_array_equal(np.sign(c[rho.index]), np.sign(rho))
    assert c["discrete"] < 0 < c["linear"]
    np.testing.assert_allclose(c[rho.index], np.sign(rho) * rho**2 / (rho**2).sum())


def test_binned_effect_matches_naive_pandas(sample):
    X, y = sample
    ds = binned_effect(X, y, bins=10)
    for name in ("linear", "bowl", "noise_in"):
        # naive reference: decile bins by pandas.qcut on ranks, mean y per bin
        naive = pd.Series(y).groupby(pd.qcut(X[name].rank(method="first"), 10, labels=False)).mean()
        np.testing.assert_allclose(ds["bin_mean"].sel(input=name).values, naive.values, rtol=1e-12)
        assert ds["low"].sel(input=name) == pytest.approx(naive.min())
        assert ds["high"].sel(input=name) == pytest.approx(naive.max())
    assert (ds["bin_count"].sel(input="linear") == 400).all()
    # bowl: highest means at both ends, lowest in the middle
    bowl = ds["bin_mean"].sel(input="bowl").values
    assert 3 <= int(ds["low_bin"].sel(input="bowl")) <= 6
    assert bowl[0] > bowl[4] < bowl[-1]
    assert "fixed" not in ds["input"].values


def test_binned_effect_ties_share_a_bin(sample):
    X, y = sample
    ds = binned_effect(X, y)
    counts = ds["bin_count"].sel(input="discrete").values
    assert np.count_nonzero(counts) == 3
    means = ds["bin_mean"].sel(input="discrete").values
    groups = pd.Series(y).groupby(X["discrete"].to_numpy()).mean().to_numpy()
    np.testing.assert_allclose(means[~np.isnan(means)], groups)


def test_rankings_side_by_side_and_nonmonotonic_flag(sample):
    X, y = sample
    df = rankings(X, y)
    assert list(df.columns) == [
        "spearman",
        "contribution",
        "low",
        "high",
        "swing",
        "swing_share",
        "rho_share",
        "nonmonotonic",
    ]
    assert df.index[0] == "linear"  # largest swing first
    assert df["swing"].is_monotonic_decreasing
    # bowl has |rho| ~ 0 but a large binned swing: flagged; monotonic inputs are not.
    assert df.loc["bowl", "nonmonotonic"]
    assert not df.loc[["linear", "weak", "discrete", "noise_in"], "nonmonotonic"].any()
    assert df.attrs["excluded"] == ["fixed"]
    np.testing.assert_allclose(df["spearman"], spearman_ranking(X, y)[df.index])


def test_no_false_flags_on_noise_with_few_draws():
    # Pure-noise inputs with 300 draws: bin means are noisy (SE = sd·sqrt(10/300));
    # the noise guard must keep them unflagged.
    flagged = 0
    for seed in range(10):
        rng = np.random.default_rng(seed)
        X = pd.DataFrame(rng.uniform(size=(300, 4)), columns=list("abcd"))
        y = 2.0 * X["a"] + rng.normal(size=300)
        flagged += int(rankings(X, y)["nonmonotonic"].sum())
    assert flagged == 0


def test_xarray_input_gives_same_result(sample):
    X, y = sample
    da = xr.DataArray(X.to_numpy().T, dims=("input", "draw"), coords={"input": list(X.columns)})
    pd.testing.assert_frame_equal(rankings(da, xr.DataArray(y, dims="draw")), rankings(X, y))


def test_bad_inputs():
    X = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [1.0, 1.0, 1.0]})
    with pytest.raises(RoicastError, match="has 2 draws but the inputs have 3"):
        rankings(X, [1.0, 2.0])
    with pytest.raises(RoicastError, match="non-finite"):
        rankings(X, [1.0, np.inf, 2.0])
    with pytest.raises(RoicastError, match="`bins`"):
        rankings(X, [1.0, 2.0, 3.0], bins=4)
    with pytest.raises(RoicastError, match="no input with non-zero variance"):
        rankings(X[["b"]], [1.0, 2.0, 3.0])
    with pytest.raises(RoicastError, match="dims"):
        rankings(xr.DataArray(np.ones((3, 2)), dims=("x", "y")), [1.0, 2.0, 3.0])
    with pytest.raises(RoicastError, match="DataFrame"):
        rankings(np.ones((3, 2)), [1.0, 2.0, 3.0])
