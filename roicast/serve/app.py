"""The what-if web app (FastAPI): one page, a JSON state, POST endpoints for edits and saves.

Endpoints
---------
``GET /``
    The page (a Jinja2 template, autoescaped).
``GET /static/plotly.min.js``
    plotly's bundled JavaScript, served from the installed ``plotly`` package
    (the page needs no internet).
``GET /api/state``
    The current page state (:meth:`Session.state`): headline, S-curve,
    tornado, cash-flow fan per option, controls, version, and whether a
    refinement is running.
``POST /api/edit`` ``{"field", "value", "option"}``
    Apply one edit; 200 with the new state, or 422 with ``{"error", "field",
    "option"}``.
``POST /api/reset``
    Back to the spec as loaded.
``POST /api/save-spec``, ``POST /api/save-report`` ``{"path", "overwrite"}``
    Write the edited spec / the report inside the spec's folder; 409 with
    ``{"confirm": message}`` when the target exists and ``overwrite`` is false.

POST endpoints accept only ``application/json`` bodies (a cross-site form
cannot send one without a CORS preflight, which this app never grants), and
with a loopback host only ``Host: 127.0.0.1 / localhost / [::1]`` is served
(no DNS rebinding).  No error reaches the client as a crash: bad input is a
4xx with the one-line message, anything unexpected a 500 with its message.
"""

from __future__ import annotations

import logging
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.middleware.trustedhost import TrustedHostMiddleware

from roicast.errors import RoicastError
from roicast.serve.session import NeedsConfirmation, Session

__all__ = ["LOOPBACK_HOSTS", "create_app", "plotly_js_path"]

log = logging.getLogger("roicast.serve")

#: Host names served when bound to a loopback address.
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]", "::1"]
_STATIC = {"app.js": "text/javascript", "app.css": "text/css"}


def plotly_js_path() -> Path:
    """The ``plotly.min.js`` bundled in the installed ``plotly`` wheel."""
    path = Path(str(files("plotly") / "package_data" / "plotly.min.js"))
    if not path.is_file():  # pragma: no cover - a broken plotly install
        raise RoicastError(f"plotly: {path} not found; reinstall plotly (pip install plotly)")
    return path


def _templates() -> Environment:
    return Environment(
        loader=PackageLoader("roicast.serve", "templates"),
        autoescape=select_autoescape(["html", "htm", "xml"], default=True),
    )


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


async def _json_body(request: Request) -> dict[str, Any] | JSONResponse:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/json":
        return _error(415, "send a JSON body (Content-Type: application/json)")
    try:
        body = await request.json()
    except ValueError:
        return _error(400, "the body is not valid JSON")
    if not isinstance(body, dict):
        return _error(400, "the body must be a JSON object")
    return body


async def _save(session: Session, request: Request, what: str) -> Any:
    """``POST /api/save-spec`` and ``/api/save-report``: 409 asks to confirm an overwrite."""
    body = await _json_body(request)
    if isinstance(body, JSONResponse):
        return body
    path, overwrite = body.get("path"), bool(body.get("overwrite", False))
    try:
        if what == "spec":
            out = await run_in_threadpool(session.save_spec, path, overwrite=overwrite)
            return {"path": str(out), "message": f"saved {out.name}"}
        out, doc = await run_in_threadpool(session.save_report, path, overwrite=overwrite)
        verdict = doc["decision"]["verdict"]
        return {
            "path": str(out),
            "message": f"report written to {out.name}/report.html ({doc['draws']} draws: {verdict})",
        }
    except NeedsConfirmation as e:
        return _error(409, str(e), confirm=True)
    except RoicastError as e:
        return _error(422, str(e))


def _page_routes(app: FastAPI, session: Session) -> None:
    env = _templates()
    static = files("roicast.serve") / "static"

    @app.get("/", response_class=HTMLResponse)
    def page() -> HTMLResponse:
        html = env.get_template("index.html").render(
            project=session.spec.project.name, spec_name=session.spec_path.name
        )
        return HTMLResponse(html)

    @app.get("/static/plotly.min.js")
    def plotly_js() -> FileResponse:
        return FileResponse(plotly_js_path(), media_type="text/javascript")

    @app.get("/static/{name}")
    def static_file(name: str) -> Any:
        if name not in _STATIC:
            return _error(404, f"no static file {name!r}")
        return FileResponse(Path(str(static / name)), media_type=_STATIC[name])


def _api_routes(app: FastAPI, session: Session) -> None:
    @app.get("/api/state")
    def state() -> Any:
        try:
            return session.state()
        except RoicastError as e:
            return _error(422, str(e))

    @app.post("/api/edit")
    async def edit(request: Request) -> Any:
        body = await _json_body(request)
        if isinstance(body, JSONResponse):
            return body
        field, option = body.get("field"), body.get("option")
        if not isinstance(field, str) or not (option is None or isinstance(option, str)):
            return _error(400, "an edit needs `field` (section.field) and optionally `option`")
        res, st = await run_in_threadpool(session.edit, field, body.get("value"), option)
        if not res.ok:
            return _error(422, res.error or "refused", field=field, option=option, state=st)
        return st

    @app.post("/api/reset")
    async def reset(request: Request) -> Any:
        body = await _json_body(request)
        if isinstance(body, JSONResponse):
            return body
        await run_in_threadpool(session.reset)
        return await run_in_threadpool(session.state)

    @app.post("/api/save-spec")
    async def save_spec(request: Request) -> Any:
        return await _save(session, request, "spec")

    @app.post("/api/save-report")
    async def save_report(request: Request) -> Any:
        return await _save(session, request, "report")


def create_app(session: Session, *, allowed_hosts: list[str] | None = None) -> FastAPI:
    """The FastAPI app serving ``session``.

    Parameters
    ----------
    session : Session
        The spec under edit.
    allowed_hosts : list of str, optional
        ``Host`` headers accepted (default: :data:`LOOPBACK_HOSTS`); ``["*"]``
        when the server is exposed with ``--host``.
    """
    app = FastAPI(title="roicast serve", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts or LOOPBACK_HOSTS)
    app.state.session = session

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("roicast serve: %s %s failed", request.method, request.url.path)
        return _error(500, f"internal error: {type(exc).__name__}: {exc}")

    _page_routes(app, session)
    _api_routes(app, session)
    return app
