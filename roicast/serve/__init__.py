"""``roicast serve``: a live what-if page for a spec (FastAPI + uvicorn + bundled plotly.js).

:class:`~roicast.serve.session.Session` holds the spec under edit and its
results (no web server needed: unit-testable); :func:`~roicast.serve.app.create_app`
serves it; :func:`~roicast.serve.cli.serve` is the command.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["EditResult", "NeedsConfirmation", "Session", "serve", "start_server"]

_WHERE = {
    "serve": "roicast.serve.cli",
    "start_server": "roicast.serve.cli",
    "EditResult": "roicast.serve.session",
    "NeedsConfirmation": "roicast.serve.session",
    "Session": "roicast.serve.session",
}


def __getattr__(name: str) -> Any:  # PEP 562: `roicast --help` does not load the study
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'roicast.serve' has no attribute {name!r}")
