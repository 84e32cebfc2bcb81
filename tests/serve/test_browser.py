"""End-to-end: the what-if page in headless Chromium (Debian's), driven by Playwright.

Skipped with a reason when /usr/bin/chromium or the playwright package is
missing; CI installs the browser (``.ci/install-browser``) and fails if these
tests were skipped (``.ci/check-no-browser-skips``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from roicast.serve.cli import start_server
from roicast.serve.session import Session
from roicast.spec import load_spec

from .conftest import small_demo

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]  # fmt: skip
SKIP_REASON = (
    "browser tests need Debian's chromium at /usr/bin/chromium (run .ci/install-browser) "
    "and the playwright package"
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # pragma: no cover - depends on the environment
    sync_playwright = None


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if sync_playwright is None or not CHROMIUM.is_file():
        pytest.skip(SKIP_REASON)
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as pw:
        ctx = pw.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), args=ARGS, headless=True,
            viewport={"width": 1400, "height": 1100},
        )  # fmt: skip
        yield ctx
        ctx.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    spec = small_demo(tmp_path_factory.mktemp("demo"), draws=1000)
    session = Session(spec, quick_draws=300)
    session.quick()  # warm: the forecast and the numba kernel
    running = start_server(session, port=0)
    yield running
    running.stop()


def _wait_refined(page, version: int) -> None:
    status = page.get_by_test_id("status")
    expect(status).to_have_attribute("data-version", str(version), timeout=120_000)
    expect(status).to_have_attribute("data-kind", "refined", timeout=120_000)


def test_change_the_gain_see_the_verdict_change_save_and_reload(browser, server, tmp_path):
    page = browser.new_page()
    page.goto(server.url)
    _wait_refined(page, 0)
    verdict, npv = page.get_by_test_id("verdict"), page.get_by_test_id("npv-p50")
    expect(verdict).to_have_text("GO")
    npv_before = npv.text_content()
    assert page.locator("#chart-s .main-svg").count() > 0  # plotly drew, from the local bundle
    # the tornado shows demand as a total volume, not as the rank of a forecast path
    bars = page.evaluate("() => document.getElementById('chart-tornado').data")
    at = dict(zip(bars[0]["y"], bars[0]["customdata"], strict=True))
    assert at["demand"].startswith("total demand "), at
    assert all(v.startswith("input at ") for k, v in at.items() if k != "demand"), at

    gain = page.locator('.control[data-field="optimized.throughput_gain"]')
    gain.locator("select.dist").select_option("fixed")  # an edit: the median as a fixed value
    expect(page.get_by_test_id("status")).to_have_attribute("data-version", "1", timeout=60_000)
    field = gain.locator('input[data-param="value"]')
    field.fill("1.02")
    field.press("Enter")
    _wait_refined(page, 2)
    expect(verdict).to_have_text("NO-GO")
    assert npv.text_content() != npv_before

    # a bad edit: the one-line error next to the control, nothing else changes
    gain = page.locator('.control[data-field="optimized.throughput_gain"]')
    field = gain.locator('input[data-param="value"]')
    field.fill("0")
    field.press("Enter")
    spec_file = server.session.source
    expect(gain.locator(".error")).to_have_text(
        f"{spec_file}: optimized.throughput_gain: value 0; must lie in (0, 1e+06]"
    )
    expect(verdict).to_have_text("NO-GO")
    assert server.session.version == 2

    # save as spec, then again (confirm the overwrite)
    page.locator("#spec-path").fill("whatif.toml")
    page.locator("#save-spec").click()
    expect(page.get_by_test_id("save-message")).to_have_text("saved whatif.toml")
    page.on("dialog", lambda d: d.accept())
    page.locator("#save-message").evaluate("e => e.textContent = ''")
    page.locator("#save-spec").click()
    expect(page.get_by_test_id("save-message")).to_have_text("saved whatif.toml")
    saved = server.session.folder / "whatif.toml"
    spec = load_spec(saved)
    assert spec.options[0].optimized.throughput_gain.is_fixed
    assert spec.options[0].optimized.throughput_gain.median == 1.02

    # reload the page: the server keeps the edited study
    page.reload()
    _wait_refined(page, 2)
    expect(verdict).to_have_text("NO-GO")
    value = page.locator(
        '.control[data-field="optimized.throughput_gain"] input[data-param="value"]'
    )
    expect(value).to_have_value("1.02")
    shot = tmp_path / "serve.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000

    # the saved spec, served again, gives the same verdict
    s2 = Session(saved, quick_draws=300, background=False)
    assert s2.refine()["views"]["optimized"]["headline"]["verdict"] == "no-go"
    s2.close()
    page.close()


def test_the_page_needs_no_internet(browser, server):
    """Every request the page makes goes to the local server."""
    page = browser.new_page()
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    page.goto(server.url)
    expect(page.get_by_test_id("verdict")).not_to_have_text("…", timeout=120_000)
    assert urls and all(u.startswith(server.url) for u in urls), urls
    page.close()
