"""End to end in headless Chromium: sign in with a token, upload, wait for the verdict, check the report shows
it, and keep screenshots in out/e2e/ (gitignored).

Needs Debian's chromium (`apt-get install -y chromium`) and the Python `playwright` package pointed at it (no
`playwright install`: the browser is the system's). Skips cleanly when either is missing.
"""

from __future__ import annotations

import csv
import os
import shutil
from pathlib import Path

import pytest
from tests.report.helpers import astronaut_png
from tests.web.webtools import ROOT, new_token

CHROMIUM = os.environ.get("MIMICA_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTIFACTS = ROOT / "out" / "e2e"
VERDICT_WAIT_MS = 240_000


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).is_file():
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


def _short_video(shared: Path) -> Path:
    """The shortest c23 fake in the manifest: a real deepfake, as quick to scan as the data allows."""
    with (shared / "manifest.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["label"] == "fake" and r["compression"] == "c23"]
    row = min(rows, key=lambda r: float(r["duration_s"] or 1e9))
    return shared / row["path"]


def _run(browser, server_factory, media: Path, shot: str) -> str:  # type: ignore[no-untyped-def]
    server = server_factory("--frames", "16")
    token = new_token(server.data_dir)
    server.start()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ctx = browser.new_context(viewport={"width": 1100, "height": 900})
    page = ctx.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(server.url + "/")
        assert "/login" in page.url  # not signed in yet
        page.fill("#token", token)
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_url(server.url + "/")
        page.set_input_files("#file", str(media))
        page.click("#upload button[type=submit]")
        page.wait_for_url("**/scans/*")
        page.wait_for_selector("#verdict", timeout=VERDICT_WAIT_MS)
        verdict = page.get_attribute("#verdict", "data-verdict")
        assert verdict in ("fake", "real", "uncertain", "no-face")
        # the report, framed in the results page, shows the same verdict
        framed = page.frame_locator("iframe.report").locator("#verdict .verdict")
        framed.wait_for()
        assert framed.get_attribute("data-verdict") == verdict
        assert verdict.replace("-", " ").upper() in framed.inner_text()
        page.screenshot(path=str(ARTIFACTS / f"{shot}-page.png"), full_page=True)
        # the report alone, on a desktop and on a phone
        report_url = page.get_attribute("iframe.report", "src")
        page.goto(server.url + report_url)
        assert page.locator("#verdict .verdict").get_attribute("data-verdict") == verdict
        page.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)
        phone = ctx.new_page()
        phone.set_viewport_size({"width": 390, "height": 844})
        phone.goto(server.url + report_url)
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the report scrolls sideways on a phone ({width} px)"
        phone.screenshot(path=str(ARTIFACTS / f"{shot}-phone.png"), full_page=True)
        # the history finds it by name and verdict
        page.goto(f"{server.url}/?q={media.stem}&verdict={verdict}")
        assert page.locator(".history li").count() == 1
        return verdict
    except Exception:
        page.screenshot(path=str(ARTIFACTS / f"{shot}-failure.png"), full_page=True)
        raise
    finally:
        ctx.close()


def test_e2e_image(browser, server_factory, tmp_path):
    """Runs everywhere: the astronaut picture (scikit-image), no research data needed."""
    _run(browser, server_factory, astronaut_png(tmp_path / "astronaut.png"), "report-image")


def test_e2e_shared_video(browser, server_factory, shared_data):
    """A real FF++ deepfake from ../shared/data (skipped when it is absent)."""
    _run(browser, server_factory, _short_video(shared_data), "report")
