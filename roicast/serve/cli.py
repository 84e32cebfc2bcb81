"""``roicast serve SPEC``: start the what-if page on a local web server and print its URL.

The server is uvicorn serving :func:`roicast.serve.app.create_app`; it binds
127.0.0.1 unless ``--host`` says otherwise (with a warning: whoever reaches
the port can edit the study and write files beside the spec).
"""

from __future__ import annotations

import ipaddress
import socket
import sys
import threading
import time
import webbrowser
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

from roicast.errors import RoicastError

__all__ = ["RunningServer", "is_loopback", "serve", "start_server"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address or ``localhost``."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port`` (port 0: a free one)."""
    if not 0 <= port <= 65535:
        raise RoicastError(f"--port: value {port}; must lie in [0, 65535] (0 picks a free port)")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as e:
        raise RoicastError(f"--host: {host!r} cannot be resolved ({e.strerror})") from None
    family, _, _, _, addr = infos[0]
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(addr)
    except OSError as e:
        sock.close()
        raise RoicastError(
            f"--port: cannot listen on {host}:{port} ({e.strerror}); choose another port or 0"
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def _url(host: str, sock: socket.socket) -> str:
    port = sock.getsockname()[1]
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else host
    shown = "[::1]" if shown == "::" else shown
    if ":" in shown and not shown.startswith("["):
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/"


@dataclass
class RunningServer:
    """A uvicorn server running in a background thread (for tests and notebooks)."""

    url: str
    server: object
    thread: threading.Thread
    session: object

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the server to exit, wait for it, and stop the session's refinements."""
        self.server.should_exit = True
        self.thread.join(timeout)
        self.session.close()


def _make_server(session, host: str):
    import uvicorn

    from roicast.serve.app import create_app

    hosts = None if is_loopback(host) else ["*"]
    app = create_app(session, allowed_hosts=hosts)
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off")
    return uvicorn.Server(config)


def start_server(session, *, host: str = "127.0.0.1", port: int = 0) -> RunningServer:
    """Serve ``session`` from a background thread; returns once it accepts connections.

    Raises
    ------
    RoicastError
        The address cannot be bound, or the server did not start within 60 s.
    """
    sock = _bind(host, port)
    server = _make_server(session, host)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="roicast-serve", daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RoicastError(f"serve: the server on {host}:{port} did not start")
        time.sleep(0.02)
    return RunningServer(_url(host, sock), server, thread, session)


def serve(
    spec: Annotated[Path, typer.Argument(help="Study spec (TOML).")],
    host: Annotated[
        str,
        typer.Option(
            "--host",
            help="Address to listen on. Default: this machine only. Anything else lets whoever "
            "reaches the port edit the study and write files beside the spec.",
        ),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port (0 picks a free one).")] = 8765,
    open_browser: Annotated[
        bool, typer.Option("--open/--no-open", help="Open the page in a web browser.")
    ] = False,
    quick_draws: Annotated[
        int,
        typer.Option("--quick-draws", help="Draws of the quick re-run after each edit.", min=100),
    ] = 2000,
) -> None:
    """Serve a live what-if page for a spec: edit the assumptions, see the verdict change."""
    import uvicorn  # noqa: F401  (fail early with a clear message if it is missing)

    from roicast.serve.session import Session

    try:
        session = Session(spec, quick_draws=quick_draws)
        sock = _bind(host, port)
    except RoicastError as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    if not is_loopback(host):
        typer.echo(
            f"warning: serving on {host}: anyone who can reach port {sock.getsockname()[1]} can "
            "edit this study and write files in its folder",
            err=True,
        )
    typer.echo("warming up (forecast, first run)…", err=True)
    try:
        session.quick()
    except RoicastError as e:
        sock.close()
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(1) from None
    session.start_refine()
    url = _url(host, sock)
    typer.echo(f"roicast serve: {url}  (Ctrl-C to stop)")
    sys.stdout.flush()
    if open_browser:
        webbrowser.open(url)
    server = _make_server(session, host)
    try:
        server.run(sockets=[sock])
    finally:
        session.close()
