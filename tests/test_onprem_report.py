"""The on-prem pieces of the report: purchase timeline, deferral summary, TCO beside NPV.

Every statistic is checked against the per-draw metrics it summarises (exact
relations on the same draws: no Monte Carlo tolerance is needed, the summary
and the check read the same numbers).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from roicast.cli import demo_spec_path
from roicast.report.summary import summary
from roicast.spec import load_spec
from roicast.study import run_study

DRAWS = 300


def _spec(tmp_path: Path, name: str, text: str):
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return load_spec(path)


def _demo_text() -> str:
    return Path(demo_spec_path("onprem")).read_text(encoding="utf-8")


def _owned_baseline_text() -> str:
    """The demo with an owned baseline of 40 servers: both fleets order, quantization defers."""
    text = _demo_text().replace('baseline_platform = "cloud"', 'baseline_platform = "onprem"')
    return text.replace("owned_instances = 0", "owned_instances = 40")


def _cloud_text() -> str:
    """The demo without [onprem] and without platforms: a cloud-only study."""
    text = re.sub(r"\[onprem\].*?\n\n", "", _demo_text(), flags=re.S)
    return text.replace('platform = "onprem"\n', "")


@pytest.fixture(scope="module")
def owned(tmp_path_factory):
    spec = _spec(tmp_path_factory.mktemp("owned"), "owned", _owned_baseline_text())
    result = run_study(spec, draws=DRAWS, seed=3, sensitivity=False)
    return result, summary(result)


@pytest.fixture(scope="module")
def demo():
    result = run_study(load_spec(demo_spec_path("onprem")), draws=DRAWS, seed=3, sensitivity=False)
    return result, summary(result)


@pytest.fixture(scope="module")
def cloud(tmp_path_factory):
    spec = _spec(tmp_path_factory.mktemp("cloud"), "cloud", _cloud_text())
    assert spec.onprem is None
    result = run_study(spec, draws=DRAWS, seed=3, sensitivity=False)
    return result, summary(result)


def _beyond(q: float | None, horizon: int) -> float:
    return np.inf if q is None else q


def test_deferral_quantiles_are_those_of_the_per_draw_deferral(owned):
    result, doc = owned
    horizon = result.horizon
    name = "buy and quantize"
    m = result.options[name].metrics
    f0 = m["first_purchase_month_baseline"].values
    f1 = m["first_purchase_month_optimized"].values
    d = m["purchase_deferral_months"].values[np.isfinite(f0)]
    sec = doc["onprem"]["options"][name]["deferral"]
    assert sec["draws"] == d.size > 0
    # an avoided purchase (inf) counts as later than the horizon: replace it by a large
    # finite number, take numpy's quantile, and read anything past the horizon as null
    big = np.where(np.isfinite(d), d, 10.0 * horizon)
    for key, q in (("p10", 0.1), ("p50", 0.5), ("p90", 0.9)):
        want = float(np.quantile(big, q))
        got = sec[key]
        if want > horizon:
            assert got is None
        else:
            assert got == pytest.approx(want, abs=1e-12)
    finite = d[np.isfinite(d)]
    assert sec["mean"] == pytest.approx(finite.mean())
    assert sec["prob_avoided"] == pytest.approx(np.mean(~np.isfinite(d)))
    assert sec["prob_deferred"] == pytest.approx(np.mean(d > 0))
    assert sec["prob_earlier"] == pytest.approx(np.mean(d < 0))
    assert sec["prob_deferred"] + sec["prob_same_month"] + sec["prob_earlier"] == pytest.approx(1)
    assert sec["prob_baseline_orders"] == pytest.approx(np.isfinite(f0).mean())
    assert sum(sec["outcomes"].values()) == pytest.approx(1.0)
    assert sec["outcomes"]["only_option_orders"] == pytest.approx(
        np.mean(~np.isfinite(f0) & np.isfinite(f1))
    )
    # quantization needs fewer servers: it never orders before the baseline does
    assert sec["prob_earlier"] == 0.0
    assert sec["p50"] > 0
    first = doc["onprem"]["options"][name]["first_purchase_month"]
    assert first["baseline"]["prob_none"] == pytest.approx(np.mean(~np.isfinite(f0)))
    assert first["optimized"]["mean"] == pytest.approx(f1[np.isfinite(f1)].mean())


def test_lots_energy_and_burst_follow_the_metrics(owned):
    result, doc = owned
    for name, sec in doc["onprem"]["options"].items():
        m = result.options[name].metrics
        lots = m["purchases_baseline"].values - m["purchases_optimized"].values
        assert sec["lots_avoided"]["mean"] == pytest.approx(lots.mean())
        energy = m["energy_cost_baseline"].values - m["energy_cost_optimized"].values
        assert sec["energy_saved"]["mean"] == pytest.approx(energy.mean())
        burst = m["burst_hours_baseline"].values - m["burst_hours_optimized"].values
        assert sec["burst_hours_avoided"]["mean"] == pytest.approx(burst.mean())
        assert "defers the first purchase" in sec["sentence"]


def test_monthly_orders_add_up_to_the_lots_bought(owned):
    """Σ_t mean instances ordered in month t = mean over draws of lots × lot size."""
    result, _ = owned
    lot = result.sample.values.sel(input="onprem.lot_size").values  # (option, draw)
    for k, res in enumerate(result.options.values()):
        mo, m = res.monthly, res.metrics
        for fleet in ("baseline", "optimized"):
            bought = m[f"purchases_{fleet}"].values * lot[k]
            assert mo[f"mean_purchased_instances_{fleet}"].sum() == pytest.approx(bought.mean())
            p = mo[f"prob_order_{fleet}"].values
            assert ((p >= 0) & (p <= 1)).all()
            # the first order is an order: P(order in month t) >= P(first order in month t)
            first = m[f"first_purchase_month_{fleet}"].values
            p_first = np.array([(first == t).mean() for t in range(1, result.horizon + 1)])
            assert (p >= p_first - 1e-12).all()


def test_tco_column_is_the_mean_of_the_tco_metrics(owned):
    result, doc = owned
    comp = doc["options_comparison"]
    for row in comp["table"]:
        m = result.options[row["option"]].metrics
        assert row["mean_tco"] == pytest.approx(m["tco_optimized"].values.mean())
    base = [r.metrics["tco_baseline"].values for r in result.options.values()]
    assert all(np.array_equal(base[0], b) for b in base)  # common random numbers
    assert comp["tco_do_nothing"] == pytest.approx(base[0].mean())


def test_a_rented_baseline_defers_nothing_and_options_compare(demo):
    result, doc = demo
    op = doc["onprem"]
    assert op["baseline_platform"] == "cloud"
    for sec in op["options"].values():
        assert sec["deferral"]["draws"] == 0
        assert sec["deferral"]["p50"] is None and sec["deferral"]["prob_avoided"] is None
        assert sec["deferral"]["outcomes"]["only_option_orders"] == pytest.approx(1.0)
        assert "no purchase to defer" in sec["sentence"]
    (pair,) = op["between_options"]
    assert (pair["reference"], pair["option"]) == ("buy servers", "buy and quantize")
    f_ref = result.options["buy servers"].metrics["first_purchase_month_optimized"].values
    f = result.options["buy and quantize"].metrics["first_purchase_month_optimized"].values
    ok = np.isfinite(f_ref)
    d = f[ok] - f_ref[ok]
    if np.isfinite(d).all():
        assert pair["deferral"]["p50"] == pytest.approx(np.quantile(d, 0.5))
    assert pair["lots_avoided"]["mean"] > 0  # quantization buys fewer lots


def test_a_cloud_study_has_no_onprem_key(cloud):
    """Cloud-only: no ``onprem`` key anywhere (absent, not null), no monthly order series."""
    result, doc = cloud
    assert "onprem" not in doc
    assert "onprem" not in doc["details"]
    assert all("onprem" not in o for o in doc["options"])
    for res in result.options.values():
        assert not any(v.startswith(("mean_purchased", "prob_order")) for v in res.monthly)
    # the TCO column is there for every study with options, cloud included
    assert all("mean_tco" in row for row in doc["options_comparison"]["table"])


@pytest.mark.slow
def test_purchase_timeline_in_the_report_only_with_owned_fleets(owned, cloud, tmp_path):
    from roicast.report import write_report

    for (result, _), name, present in ((owned, "owned", True), (cloud, "cloud", False)):
        out = tmp_path / name
        write_report(result, out)
        html = (out / "report.html").read_text(encoding="utf-8")
        md = (out / "report.md").read_text(encoding="utf-8")
        assert (out / "figures" / "purchases.png").exists() is present
        assert ('id="onprem"' in html) is present
        assert ("![purchase timeline](figures/purchases.png)" in md) is present
        assert ("instances ordered" in md) is present  # the basis, said under the figure
        assert "mean TCO" in html and "mean TCO" in md
