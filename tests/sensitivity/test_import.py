"""`import roicast.sensitivity` must not load the front, pydantic or the other stages."""

import subprocess
import sys

FORBIDDEN = ("roicast.spec", "roicast.study", "pydantic", "roicast.simulate", "roicast.forecast")

CODE = (
    "import sys, roicast.sensitivity\n"
    f"bad = [m for m in {FORBIDDEN!r} if m in sys.modules]\n"
    "print(','.join(bad))\n"
    "sys.exit(1 if bad else 0)\n"
)


def _loaded() -> str:
    proc = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.stdout.strip()


def test_import_sensitivity_loads_no_front():
    assert _loaded() == ""
