import numpy as np
import pytest
from scipy import stats

from roicast.errors import RoicastError
from roicast.forecast import forecast_demand, forecast_from_growth
from roicast.forecast.overlays import apply_overlays, stratified_uniforms


def test_stratified_uniforms_one_per_stratum():
    u = np.sort(stratified_uniforms(50, np.random.default_rng(0)))
    assert np.all(np.floor(u * 50) == np.arange(50))


def test_growth_and_launch_overlay_exact():
    base = np.full((4, 24), 10.0)
    out, notes = apply_overlays(
        base, growth=0.2, launches=[(13, 2.0)], rng=np.random.default_rng(0)
    )
    t = np.arange(24)
    expected = 10 * 1.2 ** (t / 12) * np.where(t >= 12, 2.0, 1.0)
    np.testing.assert_allclose(out, np.broadcast_to(expected, out.shape))
    assert len(notes) == 2
    np.testing.assert_array_equal(base, 10.0)  # input untouched


def test_overlays_do_not_change_the_base_paths_randomness(servegen_path):
    from roicast.forecast import read_history

    h = read_history(servegen_path, volume_column="m-small")
    kw = {"horizon_months": 12, "n_paths": 100, "parameter_uncertainty": False, "seed": 5}
    plain = forecast_demand(h, **kw).paths.to_numpy()
    grown = forecast_demand(
        h, growth=stats.norm(0.3, 0.1), launches=[(6, stats.lognorm(0.2))], **kw
    )
    ratio = grown.paths.to_numpy() / plain
    # one growth draw x and one launch factor f per path: ratio[t] = (1+x)^(t/12) · f[t ≥ 5]
    x = ratio[:, 1] ** 12 - 1
    np.testing.assert_allclose(ratio[:, :5], (1 + x[:, None]) ** (np.arange(5) / 12), rtol=1e-9)
    assert np.std(x) == pytest.approx(0.1, rel=0.2)
    assert "launch at month 6" in grown.model


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"growth": -1.5}, "growth: draws down to -1.5"),
        ({"launches": [(0, 1.2)]}, r"launches\[0\]: month 0 is outside"),
        ({"launches": [(2, -1.0)]}, r"launches\[0\]: factor draws"),
        ({"launches": [5]}, r"launches\[0\]: 5 is not a \(month"),
        ({"growth": "fast"}, "growth: 'fast' is neither"),
    ],
)
def test_bad_overlays(kwargs, pattern):
    with pytest.raises(RoicastError, match=pattern):
        forecast_from_growth(10.0, 0.0, horizon_months=6, start="2026-01", n_paths=10, **kwargs)
