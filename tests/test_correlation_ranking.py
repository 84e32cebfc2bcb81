"""Correlations reorder the drivers: the ranking with and without them, side by side.

The spec is built so that the order must change: ``pricing.stranded_recovery``
has no effect at all (there is no commitment to strand), yet it is rank
correlated at 0.9 with the throughput gain, the leading driver.  With the
correlation it borrows the gain's rank correlation with NPV and climbs to the
top; without it, it is noise around zero and ranks last.
"""

from __future__ import annotations

import numpy as np
import pytest

from roicast.report import review
from roicast.report.summary import summary
from roicast.spec import spec_from_dict
from roicast.study import run_study
from tests.conftest import no_history_raw

DRAWS = 4000
IDLE = "pricing.stranded_recovery"


def _raw(correlated: bool = True) -> dict:
    raw = no_history_raw("quantization", draws=DRAWS, seed=21)
    raw["simulation"].update(sobol=False)
    raw["pricing"]["stranded_recovery"] = {"dist": "uniform", "low": 0.0, "high": 1.0}
    raw["pricing"]["committed_instances"] = 0
    raw["correlations"] = (
        [{"between": ["optimized.throughput_gain", IDLE], "rho": 0.9}] if correlated else []
    )
    return raw


@pytest.fixture(scope="module")
def study():
    return run_study(spec_from_dict(_raw()))


@pytest.fixture(scope="module")
def ranking(study):
    return review.correlation_ranking(study, "optimized", max_draws=DRAWS)


def _row(rows, name):
    return next(r for r in rows if r["input"] == name)


def test_a_correlated_idle_input_climbs_the_ranking(ranking):
    with_, without = _row(ranking["with"], IDLE), _row(ranking["without"], IDLE)
    # without the correlation it has no effect: its rho is zero within 4 Monte Carlo s.e.
    # (se = (1 - rho^2) sqrt(1.06 / (n - 3)); false alarm probability 6e-5)
    assert abs(without["spearman"]) < 4 * without["se_spearman"]
    assert without["rank"] == len(ranking["without"])
    # with it, it carries the gain's effect: clearly positive, and ranked near the top
    assert with_["spearman"] > 4 * with_["se_spearman"]
    assert with_["rank"] <= 2 < without["rank"]
    (moved,) = [m for m in ranking["moved"] if m["input"] == IDLE]
    assert (moved["rank_with"], moved["rank_without"]) == (with_["rank"], without["rank"])
    assert moved["beyond_mc_error"]
    assert ranking["top3_changed"]
    assert ranking["draws_without"] == DRAWS and ranking["draws_with"] == DRAWS


def test_without_correlations_is_the_study_resampled_without_iman_conover(ranking):
    """With the same seed and draws, the uncorrelated study gives the 'without' ranking exactly."""
    plain = run_study(spec_from_dict(_raw(correlated=False)))
    rk = plain.options["optimized"].rankings
    for r in ranking["without"]:
        assert r["spearman"] == pytest.approx(float(rk.loc[r["input"], "spearman"]), abs=1e-12)


def test_the_with_column_is_the_study_ranking(study, ranking):
    rk = study.options["optimized"].rankings
    order = list(rk["contribution"].abs().sort_values(ascending=False, kind="stable").index)
    assert [r["input"] for r in ranking["with"]] == order


def test_subsample_when_the_study_is_larger(study):
    small = review.correlation_ranking(study, "optimized", max_draws=1000)
    assert small["draws_without"] == 1000
    idle = _row(small["without"], IDLE)
    assert abs(idle["spearman"]) < 4 * idle["se_spearman"]
    assert (
        idle["se_spearman"]
        > _row(review.correlation_ranking(study, "optimized", max_draws=DRAWS)["without"], IDLE)[
            "se_spearman"
        ]
    )


@pytest.mark.slow
def test_summary_and_report_show_it_only_with_correlations(study, tmp_path):
    doc = summary(study)
    assert doc["correlation_ranking"]["option"] == doc["option"]
    assert doc["correlation_ranking"]["with"][0]["rank"] == 1
    plain = run_study(spec_from_dict(_raw(correlated=False)), sensitivity=False)
    assert "correlation_ranking" not in summary(plain)


@pytest.mark.slow
def test_report_has_the_side_by_side_table(study, tmp_path):
    from roicast.report import write_report

    write_report(study, tmp_path / "out")
    html = (tmp_path / "out" / "report.html").read_text()
    md = (tmp_path / "out" / "report.md").read_text()
    assert 'id="correlation-ranking"' in html and IDLE in html
    assert "with and without the correlations" in md
    assert np.isfinite(study.options["optimized"].metrics["npv"].values).all()
