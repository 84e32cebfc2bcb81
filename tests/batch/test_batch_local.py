"""run_batch on local processes: seeds, identical results, isolation, portfolio outputs."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import xarray as xr

from roicast.batch import derive_seed, market_seed, project_seed, run_batch, safe_name
from roicast.errors import RoicastError
from roicast.simulate import INPUT_NAMES
from tests.batch.conftest import GAINS, npv_roi, read_csv, small
from tests.conftest import write_toml


def test_derived_seeds_are_stable_and_distinct():
    assert derive_seed(0, "project", "alpha") == project_seed(0, "alpha")
    digest = hashlib.sha256(b"roicast-batch\x1f0\x1fproject\x1falpha").digest()
    assert project_seed(0, "alpha") == int.from_bytes(digest[:8], "big") >> 1  # not hash()
    assert project_seed(0, "alpha") != project_seed(0, "beta")
    assert project_seed(0, "alpha") != project_seed(1, "alpha")
    assert market_seed(0) != market_seed(1)
    assert all(0 <= project_seed(s, "x") < 2**63 for s in range(50))


def test_safe_names_are_unique_folder_names():
    assert safe_name("alpha") == "alpha"
    assert safe_name("gamma/δ").startswith("gamma-")
    assert safe_name("a b") != safe_name("a-b") and safe_name("A") != safe_name("a")
    assert "/" not in safe_name("../../etc") and not safe_name("../x").startswith(".")


@pytest.mark.slow
def test_one_and_two_workers_and_in_process_agree(specs, tmp_path):
    runs = {}
    for w in (0, 1, 2):
        res = run_batch(specs, out=tmp_path / f"w{w}", workers=w, report=False, sensitivity=False)
        assert not res.failed, res.failed[0]["error"]
        assert res.counts == {"total": 3, "done": 3, "failed": 0, "skipped": 0}
        runs[w] = npv_roi(tmp_path / f"w{w}")
    assert set(runs[0]) == set(GAINS)
    assert runs[0] == runs[1] == runs[2]
    p1 = xr.open_dataset(tmp_path / "w1" / "portfolio.nc", engine="h5netcdf")
    p2 = xr.open_dataset(tmp_path / "w2" / "portfolio.nc", engine="h5netcdf")
    xr.testing.assert_identical(p1.load(), p2.load())
    p1.close(), p2.close()


def test_result_does_not_depend_on_the_other_projects(specs, tmp_path):
    run_batch(specs, out=tmp_path / "all", workers=0, report=False, sensitivity=False)
    run_batch(specs[1:2], out=tmp_path / "one", workers=0, report=False, sensitivity=False)
    run_batch(specs[::-1], out=tmp_path / "rev", workers=0, report=False, sensitivity=False)
    alone = npv_roi(tmp_path / "one")
    assert alone["beta"] == npv_roi(tmp_path / "all")["beta"]
    assert npv_roi(tmp_path / "rev") == npv_roi(tmp_path / "all")


def test_batch_seed_changes_results(specs, tmp_path):
    run_batch(specs[:1], out=tmp_path / "s0", workers=0, report=False, sensitivity=False)
    run_batch(specs[:1], out=tmp_path / "s1", workers=0, seed=1, report=False, sensitivity=False)
    assert npv_roi(tmp_path / "s0") != npv_roi(tmp_path / "s1")
    doc = json.loads((tmp_path / "s1" / "projects" / "alpha" / "summary.json").read_text())
    assert doc["seed"] == project_seed(1, "alpha")


def test_broken_projects_fail_alone(specs, spec_dir, demo_raw, tmp_path):
    bad_toml = spec_dir / "bad.toml"
    bad_toml.write_text("[project\nname = 'x'\n")
    bad_field = small(demo_raw, "bad utilization", 1.5)
    bad_field["baseline"]["utilization"] = 1.3
    no_history = small(demo_raw, "no history", 1.5)
    no_history["demand"]["history"] = "missing.csv"
    dup = small(demo_raw, "alpha", 1.2)  # a second project named alpha
    extra = [
        bad_toml,
        write_toml(spec_dir / "bad_field.toml", bad_field),
        write_toml(spec_dir / "no_history.toml", no_history),
        write_toml(spec_dir / "dup.toml", dup),
    ]
    res = run_batch(
        [*specs, *extra], out=tmp_path / "out", workers=0, report=False, sensitivity=False
    )
    assert res.counts == {"total": 7, "done": 3, "failed": 4, "skipped": 0}
    assert not res.ok
    errors = {r["name"]: r["error"] for r in res.failed}
    assert "not valid TOML" in errors["bad"]
    assert "baseline.utilization: value 1.3; must lie in (0, 1]" in errors["bad utilization"]
    assert "missing.csv" in errors["no history"] and "not found" in errors["no history"]
    assert "already used by" in next(
        r["error"] for r in res.failed if r["source"].endswith("dup.toml")
    )
    rows = read_csv(tmp_path / "out" / "portfolio.csv")
    assert [r["status"] for r in rows] == ["done"] * 3 + ["failed"] * 4
    assert all(r["error"] and "\n" not in r["error"] for r in rows[3:])
    batch = json.loads((tmp_path / "out" / "batch.json").read_text())
    assert batch["status"] == "finished" and batch["counts"]["failed"] == 4
    assert len(batch["failed"]) == 4


def test_unexpected_exception_is_recorded(specs, tmp_path, monkeypatch):
    import roicast.study

    real = roicast.study.run_study

    def boom(spec, **kw):
        if spec.project.name == "beta":
            raise ZeroDivisionError("simulated numerical trouble")
        return real(spec, **kw)

    monkeypatch.setattr(roicast.study, "run_study", boom)  # the worker imports it per task
    res = run_batch(specs, out=tmp_path / "out", workers=0, report=False, sensitivity=False)
    assert res.counts["failed"] == 1 and res.counts["done"] == 2
    assert res.failed[0]["error"] == "ZeroDivisionError: simulated numerical trouble"
    assert not (tmp_path / "out" / "projects" / "beta").exists()


@pytest.mark.slow
def test_portfolio_outputs(specs, tmp_path):
    out = tmp_path / "out"
    res = run_batch(specs, out=out, workers=0, report=True, sensitivity=False)
    rows = read_csv(out / "portfolio.csv")
    means = [float(r["npv_mean"]) for r in rows]
    assert means == sorted(means, reverse=True)
    assert [int(r["rank"]) for r in rows] == [1, 2, 3]
    ds = xr.open_dataset(out / "portfolio.nc", engine="h5netcdf").load()
    assert ds["npv"].dims == ("project", "draw") and ds.sizes == {
        "project": 3,
        "draw": 300,
        "input": len(INPUT_NAMES),
    }
    assert list(ds["project"].values) == [r["name"] for r in rows]
    go = ds["verdict"].values == "go"
    for r, npv in zip(rows, ds["npv"].values, strict=True):
        folder = out / r["folder"]
        np.testing.assert_array_equal(npv, np.load(folder / "npv.npy"))
        doc = json.loads((folder / "summary.json").read_text())
        assert float(r["npv_mean"]) == pytest.approx(doc["npv"]["mean"], rel=1e-12)
        assert float(r["npv_mean"]) == pytest.approx(npv.mean(), rel=1e-9)
        evpi = np.maximum(npv, 0).mean() - max(npv.mean(), 0)
        assert float(r["evpi"]) == pytest.approx(evpi, rel=1e-9, abs=1e-6)
        assert r["verdict"] == doc["decision"]["verdict"]
        assert (folder / "report.html").is_file() and (folder / "results.nc").is_file()
    np.testing.assert_allclose(ds["portfolio_npv_all"].values, ds["npv"].values.sum(axis=0))
    np.testing.assert_allclose(
        ds["portfolio_npv_go"].values, ds["npv"].values[go].sum(axis=0), atol=1e-9
    )
    p = float((ds["portfolio_npv_go"].values < 0).mean())
    assert ds.attrs["prob_portfolio_npv_negative_go"] == pytest.approx(p)
    assert float(ds["prob_portfolio_npv_negative_all"]) == pytest.approx(
        res.portfolio["all"]["prob_negative"]
    )
    html = (out / "portfolio.html").read_text()
    assert html.count("data:image/png;base64,") == 1 and "gamma/δ" in html
    assert "<script" not in html
    batch = json.loads((out / "batch.json").read_text())
    assert batch["market_seed"] == market_seed(0) and batch["counts"]["done"] == 3


def test_no_report_writes_summary_and_draws_only(specs, tmp_path):
    run_batch(specs[:1], out=tmp_path / "out", workers=0, report=False, sensitivity=False)
    names = {p.name for p in (tmp_path / "out" / "projects" / "alpha").iterdir()}
    assert names == {
        "summary.json",
        "npv.npy",
        "roi.npy",
        "batch_record.json",
        ".roicast-output.json",
    }
    assert not (tmp_path / "out" / "portfolio.html").exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "nothing to run"),
        ({"template": "t.toml"}, "^template and table go together"),
        ({"dask_local": 2, "scheduler": "tcp://x:1"}, "exclude each other"),
        ({"workers": -1}, "^workers: -1; give 0"),
        ({"draws": 10}, "too few"),
        ({"seed": -1}, "^seed: -1 must be"),
        ({"budget_money": -5.0}, "^budget_money: -5.0; give a finite number"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, message):
    # library messages name run_batch's parameters; the CLI spells them as flags
    with pytest.raises(RoicastError, match=message):
        run_batch(out=tmp_path / "out", **kwargs)


def test_refuses_a_folder_that_is_not_a_batch(specs, tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "thesis.tex").write_text("precious")
    with pytest.raises(RoicastError, match="not a roicast batch folder"):
        run_batch(specs, out=tmp_path / "out", workers=0)
    assert (tmp_path / "out" / "thesis.tex").read_text() == "precious"
