"""Faults: read-only and full disks, SIGKILL mid-run, two runs into one folder, crash leftovers.

The killed runs, the concurrent runs and the read-only parent folder run the
real entry point in a subprocess (``python -m roicast``, ``_harness.run_cli``);
the other commands (the disk-full runs, the read-only previous output, the
reruns after a kill, the finished previous run) call the console script's
``main`` in this process (``_harness.run_inproc``): what they test is what a
command writes and says, not a process, and a new interpreter would only add
its imports.  Mount-based
tests need root and ``mount -t tmpfs`` (they skip, saying why, when it is not
permitted) and unmount in teardown.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.hostile._harness import (
    OUT,
    check_refusal,
    dumps_toml,
    env,
    fake_previous_output,
    leftovers,
    run_cli,
    run_inproc,
    snapshot,
    tiny_spec,
)

RUN = ("run", "spec.toml", "--draws", "200", "-q")


def _mount(target: Path, *options: str) -> None:
    target.mkdir(parents=True, exist_ok=True)
    p = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", ",".join(options), "tmpfs", str(target)],
        capture_output=True,
    )
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {p.stderr.decode().strip()}")


@pytest.fixture
def tmpfs(tmp_path):
    """A factory of small tmpfs mounts under ``tmp_path``, unmounted at teardown."""
    mounted: list[Path] = []

    def make(name: str = "mnt", size: str = "2m") -> Path:
        target = tmp_path / name
        _mount(target, f"size={size}")
        mounted.append(target)
        return target

    yield make
    for m in reversed(mounted):
        subprocess.run(["umount", "-l", str(m)], capture_output=True)


def _remount_ro(target: Path) -> None:
    p = subprocess.run(["mount", "-o", "remount,ro", str(target)], capture_output=True)
    if p.returncode != 0:
        pytest.skip(f"cannot remount read-only: {p.stderr.decode().strip()}")


def _spec(folder: Path, **changes) -> Path:
    doc = tiny_spec()
    for k, v in changes.items():
        doc.setdefault(k.split(".")[0], {})[k.split(".")[1]] = v
    p = folder / "spec.toml"
    p.write_text(dumps_toml(doc), encoding="utf-8")
    return p


def _complete_output(out: Path) -> dict:
    """``out`` is one whole roicast output: its marker lists exactly the files present."""
    marker = json.loads((out / ".roicast-output.json").read_text())
    present = sorted(
        str(p.relative_to(out))
        for p in out.rglob("*")
        if p.is_file() and p.name != ".roicast-output.json"
    )
    assert sorted(marker["files"]) == present, f"mixed or partial folder: {present} vs {marker}"
    return json.loads((out / "summary.json").read_text())


# ----------------------------------------------------------------------------- read-only destination


def test_read_only_parent_refused_before_simulating(tmp_path, tmpfs):
    """--out on a read-only file system: one line naming --out, nothing simulated."""
    mnt = tmpfs("ro")
    _remount_ro(mnt)
    _spec(tmp_path)
    res = run_cli((*RUN, "--out", str(mnt / "res"), "--no-report"), tmp_path)
    line = check_refusal(res, names=("--out", str(mnt / "res")), out=mnt / "res")
    assert "writ" in line or "read-only" in line, line


def test_read_only_previous_output_intact(tmp_path, tmpfs):
    """A previous output on a now read-only file system: refused, intact, one line."""
    mnt = tmpfs("ro2")
    fake_previous_output(mnt / "res")
    before = snapshot(mnt / "res")
    _remount_ro(mnt)
    _spec(tmp_path)
    res = run_inproc((*RUN, "--out", str(mnt / "res"), "--no-report"), tmp_path)
    check_refusal(res, names=("--out",), out=mnt / "res", before=before)


# ----------------------------------------------------------------------------- disk full


def _fill(mnt: Path, leave: int) -> None:
    """Fill ``mnt`` up to ``leave`` free bytes with a user's file."""
    st = os.statvfs(mnt)
    free = st.f_bavail * st.f_frsize
    (mnt / "filler.bin").write_bytes(b"\0" * max(0, free - leave))


@pytest.mark.slow
@pytest.mark.parametrize("report", [False, True], ids=["no-report", "with-report"])
def test_disk_full_one_line_previous_intact(tmp_path, tmpfs, report):
    """ENOSPC while writing: exit 1, one line, previous output intact, temp folder removed."""
    mnt = tmpfs("full", size="2m")
    fake_previous_output(mnt / "res")
    before = snapshot(mnt / "res")
    _fill(mnt, 40_000)
    filler = snapshot(mnt / "filler.bin")
    _spec(tmp_path)
    args = (*RUN, "--out", str(mnt / "res")) + (() if report else ("--no-report",))
    res = run_inproc(args, tmp_path)
    assert res.rc is not None and res.rc >= 0, f"killed by signal {-res.rc}\n{res.show()}"
    check_refusal(res, names=("res",), out=mnt / "res", before=before)
    assert snapshot(mnt / "filler.bin") == filler
    assert not leftovers(mnt), leftovers(mnt)


# ----------------------------------------------------------------------------- crash leftovers


@pytest.mark.slow
def test_next_run_cleans_leftovers_and_replaces_whole(tmp_path):
    """Stale .out.tmp-PID-* and .out.old-PID of dead processes: the next run cleans them."""
    _spec(tmp_path)
    dead = 99_999_999  # above pid_max (2**22): never a live process
    (tmp_path / f".{OUT}.tmp-{dead}-abc123").mkdir()
    (tmp_path / f".{OUT}.tmp-{dead}-abc123" / "summary.json").write_text("{}")
    fake_previous_output(tmp_path / f".{OUT}.old-{dead}")
    res = run_inproc((*RUN, "--out", OUT, "--no-report"), tmp_path)
    assert res.rc == 0, res.show()
    assert not leftovers(tmp_path), leftovers(tmp_path)
    doc = _complete_output(tmp_path / OUT)
    assert doc["draws"] == 200


# ----------------------------------------------------------------------------- SIGKILL mid-run


@pytest.fixture(scope="module")
def previous_run(tmp_path_factory) -> Path:
    """One real, finished run (no report): the previous output the killed runs must not lose."""
    d = tmp_path_factory.mktemp("previous")
    _spec(d)
    res = run_inproc((*RUN, "--out", OUT, "--no-report", "--seed", "1"), d)
    assert res.rc == 0, res.show()
    return d / OUT


@pytest.mark.slow
@pytest.mark.parametrize("delay", [2.0, 6.0, 12.0])
def test_sigkill_then_rerun(tmp_path, previous_run, delay):
    """SIGKILL at a fixed delay: the previous output is intact (or whole new), the rerun cleans up."""
    import shutil

    _spec(tmp_path)
    out = tmp_path / OUT
    shutil.copytree(previous_run, out)
    before = snapshot(out)
    p = subprocess.Popen(
        [sys.executable, "-m", "roicast", *RUN, "--out", OUT, "--seed", "2"],
        cwd=tmp_path,
        env=env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    time.sleep(delay)
    p.send_signal(signal.SIGKILL)
    p.wait()
    now = snapshot(out)
    hidden = sorted(tmp_path.glob(f".{OUT}.old-*"))
    if now is None:  # killed between the two renames: the previous output is hidden, whole
        assert len(hidden) == 1 and snapshot(hidden[0]) == before
    elif now != before:  # the run finished before the kill: a whole new output
        assert _complete_output(out)["seed"] == 2
    res = run_inproc((*RUN, "--out", OUT, "--no-report", "--seed", "3"), tmp_path)
    assert res.rc == 0, res.show()
    assert not leftovers(tmp_path), f"leftovers after the rerun: {leftovers(tmp_path)}"
    assert _complete_output(out)["seed"] == 3


# ----------------------------------------------------------------------------- concurrent runs


@pytest.mark.slow
def test_two_concurrent_runs_one_wins_whole(tmp_path):
    """Two runs into the same --out at once: the folder is one run's output, whole."""
    _spec(tmp_path)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "roicast", *RUN, "--out", OUT, "--no-report", "--seed", s],
            cwd=tmp_path,
            env=env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for s in ("11", "12")
    ]
    outs = [p.communicate(timeout=900) for p in procs]
    for p, (_, err) in zip(procs, outs, strict=True):
        text = err.decode()
        assert "Traceback" not in text, text
        if p.returncode != 0:
            assert p.returncode == 1, text
            lines = [ln for ln in text.splitlines() if ln.strip()]
            assert len(lines) == 1 and lines[0].startswith("error:"), text
    assert any(p.returncode == 0 for p in procs), [o[1].decode() for o in outs]
    doc = _complete_output(tmp_path / OUT)
    assert doc["seed"] in (11, 12)
    import xarray as xr

    with xr.open_dataset(tmp_path / OUT / "results.nc") as ds:  # the same run as summary.json
        assert float(ds["npv"].sel(option=doc["option"]).mean()) == pytest.approx(
            doc["npv"]["mean"], rel=1e-9
        )
    assert not leftovers(tmp_path), leftovers(tmp_path)
