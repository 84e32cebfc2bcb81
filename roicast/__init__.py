"""roicast: is an inference-optimization investment worth it?

Forecast your traffic, simulate the cash flows of an optimization under
uncertain demand, GPU prices, efficacy and model churn, and get ROI, NPV and
payback distributions, sensitivity rankings and a go/no-go verdict.

The stages are importable on their own: :mod:`roicast.forecast`,
:mod:`roicast.simulate`, :mod:`roicast.sensitivity`.  The front:
:func:`load_spec`, :func:`run_study`, :func:`write_report`.

Names are loaded on first use (PEP 562): ``import roicast.sensitivity`` loads
neither the spec (pydantic) nor the report.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from roicast.errors import RoicastError

if TYPE_CHECKING:  # pragma: no cover
    from roicast.report.write import write_report
    from roicast.spec import Spec, load_spec, spec_from_dict
    from roicast.study import StudyResult, run_study

__all__ = [
    "RoicastError",
    "Spec",
    "StudyResult",
    "__version__",
    "load_spec",
    "run_study",
    "spec_from_dict",
    "write_report",
]

_WHERE = {
    "Spec": "roicast.spec",
    "load_spec": "roicast.spec",
    "spec_from_dict": "roicast.spec",
    "run_study": "roicast.study",
    "StudyResult": "roicast.study",
    "write_report": "roicast.report.write",
}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("roicast")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0+unknown"


def __getattr__(name: str) -> Any:
    if name == "__version__":  # importlib.metadata costs ~0.2 s: only when asked
        globals()["__version__"] = v = _version()
        return v
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'roicast' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
