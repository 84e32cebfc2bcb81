"""The web app through Starlette's TestClient, and the ``serve`` command."""

from __future__ import annotations

import json
import urllib.request

import pytest
import typer
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from roicast.serve import cli as serve_cli
from roicast.serve.app import create_app, plotly_js_path
from roicast.serve.session import Session

BASE = "http://127.0.0.1"


@pytest.fixture
def session(small_spec):
    s = Session(small_spec, quick_draws=200, background=False)
    yield s
    s.close()


@pytest.fixture
def client(session):
    with TestClient(create_app(session), base_url=BASE, raise_server_exceptions=False) as c:
        yield c


def test_the_page_escapes_what_the_spec_says(small_spec):
    small_spec.write_text(
        small_spec.read_text().replace('"small what-if"', '"<script>alert(1)</script> & co"')
    )
    s = Session(small_spec, quick_draws=200, background=False)
    with TestClient(create_app(s), base_url=BASE) as c:
        html = c.get("/").text
    s.close()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in html
    assert '<script src="/static/plotly.min.js"></script>' in html  # served locally, no CDN
    assert "http" not in html.replace("http-equiv", "")


def test_static_files_come_from_the_packages(client):
    js = client.get("/static/plotly.min.js")
    assert js.status_code == 200 and js.content == plotly_js_path().read_bytes()
    app_js = client.get("/static/app.js").text
    assert ".innerHTML" not in app_js and "textContent" in app_js  # user strings as text only
    assert client.get("/static/app.css").status_code == 200
    assert client.get("/static/secret.py").status_code == 404
    assert client.get("/static/..%2Fsession.py").status_code == 404


def test_state_then_an_edit(client):
    st = client.get("/api/state").json()
    assert st["version"] == 0 and st["views"]["optimized"]["headline"]["verdict"] in ("go", "no-go")
    r = client.post("/api/edit", json={"field": "optimized.throughput_gain", "value": 1.05})
    assert r.status_code == 200
    new = r.json()
    assert new["version"] == 1 and new["views"]["optimized"]["headline"]["verdict"] == "no-go"
    old_npv = st["views"]["optimized"]["headline"]["npv"]["mean"]
    assert new["views"]["optimized"]["headline"]["npv"]["mean"] < old_npv
    assert client.get("/api/state?version=1").json()["version"] == 1


def test_a_bad_edit_is_a_422_with_the_one_line_error(client, small_spec):
    r = client.post("/api/edit", json={"field": "baseline.utilization", "value": 1.3})
    assert r.status_code == 422
    body = r.json()
    assert body["error"] == f"{small_spec}: baseline.utilization: value 1.3; must lie in (0, 1]"
    assert body["field"] == "baseline.utilization" and body["state"]["version"] == 0
    assert client.get("/api/state").status_code == 200  # still serving


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"content": "field=baseline.price&value=1", "headers": {"Content-Type": "application/x-www-form-urlencoded"}}, 415),
        ({"content": "{not json", "headers": {"Content-Type": "application/json"}}, 400),
        ({"json": [1, 2]}, 400),
        ({"json": {"value": 1}}, 400),
        ({"json": {"field": 3, "value": 1}}, 400),
        ({"json": {"field": "baseline.price", "value": 1, "option": 5}}, 400),
    ],
)  # fmt: skip
def test_malformed_requests_are_refused(client, kwargs, status):
    assert client.post("/api/edit", **kwargs).status_code == status
    assert client.get("/api/state").json()["version"] == 0


def test_a_foreign_host_header_is_refused(client):
    assert client.get("/", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/", headers={"Host": "localhost:8765"}).status_code == 200


def test_save_spec_asks_before_overwriting(client, session):
    r = client.post("/api/save-spec", json={"path": "w.toml"})
    assert r.status_code == 200 and r.json()["path"] == str(session.folder / "w.toml")
    r = client.post("/api/save-spec", json={"path": "w.toml"})
    assert r.status_code == 409 and r.json()["confirm"] is True
    assert (
        client.post("/api/save-spec", json={"path": "w.toml", "overwrite": True}).status_code == 200
    )
    r = client.post("/api/save-spec", json={"path": "../w.toml"})
    assert r.status_code == 422 and "'..'" in r.json()["error"]
    r = client.post("/api/save-report", json={"path": "/tmp/elsewhere"})
    assert r.status_code == 422 and "outside" in r.json()["error"]


def test_reset(client):
    client.post("/api/edit", json={"field": "baseline.price", "value": 4.0})
    st = client.post("/api/reset", json={}).json()
    assert st["version"] == 2 and st["edited"] == []


def test_an_unexpected_failure_is_a_500_not_a_crash(client, session, monkeypatch):
    def boom():
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(session, "state", boom)
    r = client.get("/api/state")
    assert r.status_code == 500 and "disk on fire" in r.json()["error"]
    monkeypatch.undo()
    assert client.get("/api/state").status_code == 200


# ------------------------------------------------------------------ server
def test_a_real_server_on_a_free_port(session):
    running = serve_cli.start_server(session, port=0)
    try:
        assert running.url.startswith("http://127.0.0.1:") and not running.url.endswith(":0/")
        with urllib.request.urlopen(running.url + "api/state", timeout=120) as r:
            assert r.status == 200 and json.loads(r.read())["version"] == 0
    finally:
        running.stop()
    assert not running.thread.is_alive()


def _cli() -> typer.Typer:
    app = typer.Typer()
    app.command("serve")(serve_cli.serve)
    app.command("other")(lambda: None)  # two commands: `serve` stays a subcommand
    return app


class _NoServer:
    def __init__(self, *args, **kwargs):
        pass

    def run(self, sockets):
        for s in sockets:
            s.close()


@pytest.mark.parametrize(("host", "warns"), [("127.0.0.1", False), ("0.0.0.0", True)])
def test_serve_prints_the_url_and_warns_when_exposed(small_spec, monkeypatch, host, warns):
    monkeypatch.setattr(serve_cli, "_make_server", _NoServer)
    r = CliRunner().invoke(
        _cli(), ["serve", str(small_spec), "--host", host, "--port", "0", "--quick-draws", "200"]
    )
    assert r.exit_code == 0, r.output
    assert "roicast serve: http://127.0.0.1:" in r.output
    assert ("warning: serving on 0.0.0.0" in r.output) is warns


def test_serve_refuses_a_bad_spec_or_port(small_spec, tmp_path):
    r = CliRunner().invoke(_cli(), ["serve", str(tmp_path / "nope.toml")])
    assert r.exit_code == 1 and "spec file not found" in r.output
    r = CliRunner().invoke(_cli(), ["serve", str(small_spec), "--port", "70000"])
    assert r.exit_code == 1 and "--port: value 70000" in r.output


def test_is_loopback():
    assert all(map(serve_cli.is_loopback, ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.2"]))
    assert not any(map(serve_cli.is_loopback, ["0.0.0.0", "::", "10.0.0.1", "example.org"]))
