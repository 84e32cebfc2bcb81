"""The priors catalogue: every entry cited and dated; user files extend or override it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from roicast.errors import RoicastError
from roicast.priors import KINDS, list_priors, load_catalogue

ISSUE_TECHNIQUES = {
    "continuous_batching",
    "paged_attention",
    "int4",
    "int8",
    "fp8",
    "speculative",
    "prefix_caching",
}

GOOD_ENTRY = """
[technique.{name}]
low = 1.1
typical = 1.3
high = 1.7
unit = "throughput multiplier"
sources = ["our benchmark, 2026-11, internal wiki"]
as_of = "2026-11"
"""


def _write(tmp_path: Path, text: str, name: str = "mine.toml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_the_builtin_catalogue_loads_and_covers_the_issue():
    cat = load_catalogue()
    assert {p.ident for p in cat.of_kind("technique")} >= ISSUE_TECHNIQUES
    assert {"h100", "a100", "l4"} <= set(cat.gpus())
    for key in (
        "cadence.model_updates",
        "engineering.loaded_cost",
        "pricing.committed_price_ratio",
    ):
        assert key in cat
    assert set(p.kind for p in cat) <= set(KINDS)


def test_every_entry_has_sources_a_date_and_a_consistent_range():
    for p in load_catalogue():
        assert p.sources and all(len(s) > 10 for s in p.sources), p.key
        assert re.fullmatch(r"\d{4}-\d{2}(-\d{2})?", p.as_of), p.key
        assert p.low <= p.typical <= p.high and p.low < p.high, p.key
        assert p.unit, p.key
        # an entry with an untraced figure must say which in its notes
        assert p.verified or p.notes, p.key


def test_gains_below_one_are_allowed():
    cat = load_catalogue()
    assert cat.get("technique.int4_large_batch").low < 1


def test_techniques_are_found_by_id_or_alias_case_insensitively():
    cat = load_catalogue()
    assert cat.technique("batching").key == "technique.continuous_batching"
    assert cat.technique("FP8").key == "technique.fp8"
    assert cat.technique("prefix-caching").key == "technique.prefix_caching"
    with pytest.raises(RoicastError, match=r"--technique: 'fp9' .*did you mean 'fp8'"):
        cat.technique("fp9")


def test_gpu_price_lookups_name_what_exists():
    cat = load_catalogue()
    assert cat.gpu_price("H100", "neocloud").key == "gpu.h100.neocloud"
    with pytest.raises(RoicastError, match=r"--gpu: 'b300' has no price.*h100"):
        cat.gpu_price("b300", "neocloud")
    with pytest.raises(
        RoicastError, match=r"--pricing: 'neocloud' is not a price tier of l4.*hyperscaler"
    ):
        cat.gpu_price("l4", "neocloud")


def test_a_user_file_adds_entries(tmp_path):
    path = _write(tmp_path, GOOD_ENTRY.format(name="kv_fp8"))
    cat = load_catalogue(path)
    p = cat.get("technique.kv_fp8")
    assert (p.low, p.typical, p.high) == (1.1, 1.3, 1.7)
    assert p.origin == str(path)
    assert "technique.fp8" in cat  # built-ins kept
    assert len(cat) == len(load_catalogue()) + 1


def test_a_user_file_replaces_an_entry_whole(tmp_path):
    cat = load_catalogue(_write(tmp_path, GOOD_ENTRY.format(name="fp8")))
    p = cat.get("technique.fp8")
    assert (p.low, p.typical, p.high) == (1.1, 1.3, 1.7)
    assert p.sources == ("our benchmark, 2026-11, internal wiki",)
    assert p.aliases == () and p.verified  # nothing inherited from the built-in entry
    assert len(cat) == len(load_catalogue())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            GOOD_ENTRY.format(name="x").replace("low = 1.1", "low = 2.0"),
            r"technique\.x: low 2, typical 1\.3",
        ),
        (
            GOOD_ENTRY.format(name="x").replace("low = 1.1", "low = 0"),
            r"technique\.x\.low: value 0; must be > 0",
        ),
        (
            GOOD_ENTRY.format(name="x").replace("low = 1.1", 'low = "1.1"'),
            r"technique\.x\.low: .*finite number",
        ),
        (
            GOOD_ENTRY.format(name="x").replace("sources = [", "sources = [] #"),
            r"technique\.x\.sources: empty",
        ),
        (
            GOOD_ENTRY.format(name="x").replace('as_of = "2026-11"', 'as_of = "last year"'),
            r"as_of: .*YYYY-MM",
        ),
        (
            GOOD_ENTRY.format(name="x").replace('unit = "throughput multiplier"\n', ""),
            r"technique\.x\.unit: missing",
        ),
        (
            GOOD_ENTRY.format(name="x") + "tyipcal_note = 1\n",
            r"technique\.x\.tyipcal_note: unknown key",
        ),
        (
            GOOD_ENTRY.format(name="x").replace("[technique.", "[techniqe."),
            r"techniqe: unknown kind.*`technique`",
        ),
        (
            GOOD_ENTRY.format(name="x").replace("[technique.x]", "[gpu.h200]"),
            r"gpu\.h200\.low: expected a table",
        ),
        (
            GOOD_ENTRY.format(name="x") + 'aliases = ["fp8"]\n',
            r"alias 'fp8' is already used by technique\.fp8",
        ),
        ("[technique.x\nlow = 1", r"mine\.toml: not valid TOML"),
    ],
)
def test_bad_user_files_are_refused_with_one_line_per_problem(tmp_path, text, message):
    path = _write(tmp_path, text)
    with pytest.raises(RoicastError, match=message) as err:
        load_catalogue(path)
    for line in str(err.value).splitlines():
        assert line.startswith(str(path)) or line.startswith("catalogue") or "mine.toml" in line


def test_a_missing_user_file_is_one_line(tmp_path):
    with pytest.raises(RoicastError, match=r"nope\.toml: catalogue file not found$"):
        load_catalogue(tmp_path / "nope.toml")


def test_several_problems_give_several_lines(tmp_path):
    text = GOOD_ENTRY.format(name="a").replace("low = 1.1", "low = -1") + GOOD_ENTRY.format(
        name="b"
    ).replace('as_of = "2026-11"', 'as_of = "soon"')
    with pytest.raises(RoicastError) as err:
        load_catalogue(_write(tmp_path, text))
    assert len(str(err.value).splitlines()) == 2


def test_list_priors_filters_by_kind():
    techs = list_priors(kind="technique")
    assert techs and all(p.kind == "technique" for p in techs)
    assert [p.key for p in techs] == sorted(p.key for p in techs)
    assert len(list_priors()) == len(load_catalogue())
    with pytest.raises(RoicastError, match="kind: 'gpus' is not a kind"):
        list_priors(kind="gpus")
