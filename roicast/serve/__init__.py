"""``roicast serve``: a live what-if page for a spec (FastAPI + uvicorn + bundled plotly.js).

:class:`~roicast.serve.session.Session` holds the spec under edit and its
results (no web server needed: unit-testable); :func:`~roicast.serve.app.create_app`
serves it; :func:`~roicast.serve.cli.serve` is the command.
"""

from __future__ import annotations

from roicast.serve.cli import serve, start_server
from roicast.serve.session import EditResult, NeedsConfirmation, Session

__all__ = ["EditResult", "NeedsConfirmation", "Session", "serve", "start_server"]
