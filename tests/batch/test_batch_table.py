"""--template + --table: one project per CSV row."""

from __future__ import annotations

import pytest

from roicast.batch import projects_from_table, run_batch
from roicast.errors import RoicastError
from tests.batch.conftest import small
from tests.conftest import write_toml


@pytest.fixture
def template(spec_dir, demo_raw):
    return write_toml(spec_dir / "base.toml", small(demo_raw, "base", 1.5))


def table(path, text):
    path.write_text(text, encoding="utf-8")
    return path


def test_rows_override_dotted_fields(template, spec_dir, tmp_path):
    csv_path = table(
        spec_dir / "projects.csv",
        "project.name,optimized.throughput_gain.mode,baseline.price,churn.updates_per_year\n"
        "fp8,1.4,3.5,\n"
        'spec decoding,1.8,,"{ dist = ""uniform"", low = 0, high = 2 }"\n'
        "\n"
        ",1.2,4.0,2\n",
    )
    planned = projects_from_table(template, csv_path)
    assert [p.name for p in planned] == ["fp8", "spec decoding", "base #3"]
    assert all(p.error is None for p in planned)
    fp8, spec_dec, third = (p.spec for p in planned)
    assert fp8.options[0].optimized.throughput_gain.to_dict()["mode"] == 1.4
    assert spec_dec.options[0].churn.updates_per_year.to_dict()["dist"] == "uniform"
    assert third.baseline.price.median == 4.0 and fp8.baseline.price.median == 3.5
    assert fp8.history_path() == spec_dir / "history.csv"  # relative to the template
    assert len({p.spec.spec_hash for p in planned}) == 3

    res = run_batch(
        template=template,
        table=csv_path,
        out=tmp_path / "out",
        workers=0,
        report=False,
        sensitivity=False,
    )
    assert res.counts["done"] == 3
    means = {r["name"]: r["npv_mean"] for r in res.records}
    assert means["spec decoding"] > means["fp8"]


def test_a_bad_value_fails_its_row_alone(template, spec_dir, tmp_path):
    csv_path = table(
        spec_dir / "projects.csv",
        "project.name,baseline.utilization,optimized.throughput_gain.mode\n"
        "ok,0.4,1.5\n"
        "too busy,1.3,1.5\n"
        "short,0.4\n",
    )
    res = run_batch(
        template=template,
        table=csv_path,
        out=tmp_path / "out",
        workers=0,
        report=False,
        sensitivity=False,
    )
    assert res.counts == {"total": 3, "done": 1, "failed": 2, "skipped": 0}
    err = {r["name"]: r["error"] for r in res.failed}
    assert err["too busy"] == (
        f"{csv_path} row 2: baseline.utilization: value 1.3; must lie in (0, 1]"
    )
    assert "row 3" in err["short"] and "2 cells for 3 columns" in err["short"]


def test_setting_a_parameter_of_a_fixed_value_names_the_column(template, spec_dir):
    csv_path = table(spec_dir / "p.csv", "baseline.price.mode\n3\n")
    (p,) = projects_from_table(template, csv_path)
    assert "row 1" in p.error and "column baseline.price.mode" in p.error
    assert "not a table" in p.error


@pytest.mark.parametrize(
    ("header", "message"),
    [
        ("optimised.throughput_gain", "line 1, column 1: not a dotted spec field"),
        ("baseline.thruput", "[baseline] has no field 'thruput'"),
        ("baseline", "[baseline] has no field ''"),
        ("baseline.price,baseline.price", "appears more than once"),
        ("option.name", "line 1, column 1: not a dotted spec field"),
    ],
)
def test_bad_columns_stop_the_batch(template, spec_dir, header, message):
    csv_path = table(spec_dir / "p.csv", f"{header}\n1\n")
    with pytest.raises(
        RoicastError, match=message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")
    ):
        projects_from_table(template, csv_path)


def test_missing_and_empty_files(template, spec_dir):
    with pytest.raises(RoicastError, match=r"^table: .*not found"):
        projects_from_table(template, spec_dir / "nope.csv")
    with pytest.raises(RoicastError, match=r"^template: .*not found"):
        projects_from_table(spec_dir / "nope.toml", spec_dir / "nope.csv")
    with pytest.raises(RoicastError, match="is empty"):
        projects_from_table(template, table(spec_dir / "e.csv", ""))
