"""End to end in headless Chromium: sign in with a token, upload, wait for the verdict, check the report shows
it, and keep screenshots in out/e2e/ (gitignored); and the reports `mimica scan --report DIR` writes for a real and
a deepfake video of ../shared/data, read in the browser as a person reads them.

Needs Debian's chromium (`apt-get install -y chromium`) and the Python `playwright` package pointed at it (no
`playwright install`: the browser is the system's). Skips cleanly when either is missing.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from pathlib import Path

import numpy as np
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


def _shortest(shared: Path, label: str) -> Path:
    with (shared / "manifest.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["label"] == label and r["compression"] == "c23"]
    return shared / min(rows, key=lambda r: float(r["duration_s"] or 1e9))["path"]


def _heatmap_pixels(page) -> np.ndarray:  # type: ignore[no-untyped-def]
    """The first heatmap as the browser drew it (a screenshot of the element), RGB."""
    import io

    from PIL import Image

    png = page.locator("img.heatmap").first.screenshot()
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)


def test_e2e_reports_of_a_real_and_a_deepfake_video(browser, shared_data, scan_model, tmp_path):
    """`mimica scan REAL FAKE --report DIR` on two FF++ videos from ../shared/data, opened in Chromium as a reader
    would (file://, no server): screenshots of both reports and the index are kept in out/e2e/, and the checks
    are on the text the page shows and on the pixels of the heatmap it draws."""
    from typer.testing import CliRunner

    from mimica.cli import app

    real, fake = _shortest(shared_data, "real"), _shortest(shared_data, "fake")
    out = tmp_path / "reports"
    res = CliRunner().invoke(app, ["scan", str(real), str(fake), "--report", str(out), "--frames", "16",
                                   "--model", str(scan_model), "--json"])
    assert res.exit_code == 0, res.output
    results = {json.loads(line)["path"]: json.loads(line) for line in res.stdout.splitlines() if line.strip()}
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ctx = browser.new_context(viewport={"width": 1100, "height": 900})
    page = ctx.new_page()
    try:
        for name, video in (("real", real), ("deepfake", fake)):
            r = results[str(video)]
            page.goto((out / f"{video.name}.html").as_uri())
            page.screenshot(path=str(ARTIFACTS / f"report-{name}-video.png"), full_page=True)
            banner = page.inner_text("#verdict")
            # what mimica concluded, in the words of the rule (docs/scan.md), and how far to trust it
            assert banner.startswith(r["verdict_text"].upper()), banner
            proven = r["provenance"].get("watermark", {}).get("detected")
            if r["reliability"]["level"] not in ("reliable", "moderate") and not proven:
                assert not banner.startswith(("FAKE", "REAL")), banner  # a weak model never says it bare
            assert "How far to trust the model" in banner and r["reliability"]["level"] in banner
            if r["reliability"]["auc"] is not None:
                assert f"video AUC {r['reliability']['auc']:.2f}" in banner
            assert "Why:" in banner and r["reason"] in banner
            # where in the face: a heatmap the browser shows, not blank or flat, with its sentence and scale
            assert page.locator("img.heatmap").count() >= 1
            assert page.evaluate("document.querySelector('img.heatmap').naturalWidth") > 0
            px = _heatmap_pixels(page)
            assert px.std() > 10, "the heatmap is flat"
            colour = (px.max(axis=2) - px.min(axis=2)) > 40  # the face is drawn in grey: colour is evidence
            assert 0.003 < colour.mean() < 0.9, colour.mean()
            # a face that leans real gets no "evidence" words (its spots are only what the score rests on)
            sentence = page.locator(".heat .sentence").first.inner_text()
            if r["verdict"] == "real":
                assert sentence.startswith(("Hiding", "No part of the face")) and "evidence" not in sentence
            else:
                assert sentence.startswith(("The strongest evidence", "No part of the face")), sentence
            assert page.locator(".scale").is_visible()
            # the model section reads as a table, the raw card stays folded
            model = page.inner_text("#model")
            assert "Measured video AUC" in model and '"sha256"' not in model
        page.goto((out / "index.html").as_uri())
        page.screenshot(path=str(ARTIFACTS / "report-index.png"), full_page=True)
        rows = page.locator("tr.file-row")
        assert rows.count() == 2
        listed = [rows.nth(i).inner_text() for i in range(2)]
        assert all(any(v.name in row for row in listed) for v in (real, fake))
    finally:
        ctx.close()


def _pixels(png: bytes) -> np.ndarray:
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int16)


def test_e2e_reports_of_a_dark_video_a_one_face_track_and_a_leans_real_verdict(browser, scan_model, tmp_path):
    """Runs everywhere (media synthesised by tests/facemedia.py): `mimica scan --report DIR` on a video filmed in
    the dark and on one whose face shows in a single frame, plus a report whose verdict leans real
    (`--threshold 1`), opened in Chromium as a reader would; screenshots of the three reports and the index are
    kept in out/e2e/."""
    from tests import facemedia
    from typer.testing import CliRunner

    from mimica.cli import app

    media = tmp_path / "media"
    media.mkdir()
    dark = facemedia.write_dark_face_video(media / "dark.mp4", frames=12, brightness=0.2)
    glimpse = facemedia.write_glimpse_video(media / "glimpse.mp4", frames=12)
    photo = astronaut_png(media / "astronaut.png")
    out = tmp_path / "reports"
    res = CliRunner().invoke(app, ["scan", str(dark), str(glimpse), str(photo), "--report", str(out), "--frames",
                                   "12", "--model", str(scan_model), "--json"])
    assert res.exit_code == 0, res.output
    results = {Path(json.loads(line)["path"]).name: json.loads(line) for line in res.stdout.splitlines() if line}
    leans_real = tmp_path / "leans-real.html"
    res = CliRunner().invoke(app, ["scan", str(photo), "--report", str(leans_real), "--threshold", "1",
                                   "--model", str(scan_model), "--json"])
    assert res.exit_code == 0, res.output
    real = json.loads(res.stdout)
    assert real["verdict"] == "real"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    ctx = browser.new_context(viewport={"width": 1100, "height": 900})
    page = ctx.new_page()
    try:
        # a dark video: the heatmap's grey face is visible, not nearly black
        page.goto((out / "dark.mp4.html").as_uri())
        page.screenshot(path=str(ARTIFACTS / "report-dark-video.png"), full_page=True)
        assert page.inner_text("#verdict .verdict").startswith(results["dark.mp4"]["verdict_text"].upper())
        assert page.locator("img.heatmap").count() >= 1
        px = _pixels(page.locator("img.heatmap").first.screenshot())
        grey = (px.max(axis=2) - px.min(axis=2)) < 20  # the face drawn in grey, away from the colour
        # unstretched, a face at 20% brightness is drawn at most 0.8 x 20% of white (51), its surroundings darker
        lo, hi = np.percentile(px[grey].mean(axis=1), [5, 95])
        assert grey.mean() > 0.1 and hi - lo > 60, f"the dark face is drawn nearly black ({lo}..{hi})"
        assert page.locator(".faces .legend, p.legend").count() == 1

        # a face seen in one frame: the same timeline as any track, both threshold lines drawn across it
        g = results["glimpse.mp4"]
        page.goto((out / "glimpse.mp4.html").as_uri())
        page.screenshot(path=str(ARTIFACTS / "report-one-face-track.png"), full_page=True)
        one = [t for t in g["tracks"] if len(t["detections"]) == 1]
        assert one, g["tracks"]
        plot = page.locator(f"#track-{one[0]['id']} img.plot")
        assert "against video time" in plot.get_attribute("alt")
        px = _pixels(plot.screenshot())
        red = (np.abs(px - np.array([198, 40, 40])).sum(axis=2) < 60).sum(axis=1)
        green = (np.abs(px - np.array([46, 125, 50])).sum(axis=2) < 60).sum(axis=1)
        assert red.max() > 0.3 * px.shape[1] and green.max() > 0.3 * px.shape[1], "a threshold line is hidden"
        if g["few_faces"]:
            assert "(FEW FACES)" in page.inner_text("#verdict .verdict")
            assert "rests on few faces" in page.inner_text("#verdict")

        # a verdict that leans real: its header names what the model never saw, its faces are not "suspicious"
        page.goto(leans_real.as_uri())
        page.screenshot(path=str(ARTIFACTS / "report-leans-real.png"), full_page=True)
        banner = page.inner_text("#verdict")
        assert banner.startswith(real["verdict_text"].upper())
        if real["reliability"]["level"] not in ("reliable", "moderate"):
            assert banner.startswith("LEANS REAL")
        for kind in real["reliability"]["not_measured_on"]:
            assert kind in page.inner_text("#not-measured")
        tracks = " ".join(page.locator("section.track").all_inner_texts())
        assert "suspicious" not in tracks and "evidence" not in tracks.lower(), tracks

        # the index: every file, in the wording function's words, the score named as such
        page.goto((out / "index.html").as_uri())
        page.screenshot(path=str(ARTIFACTS / "report-index-synthesised.png"), full_page=True)
        rows = page.locator("tr.file-row")
        assert rows.count() == 3
        pills = [rows.nth(i).locator(".pill").inner_text() for i in range(3)]
        assert sorted(pills) == sorted(r["verdict_text"] for r in results.values())
        assert "Score" in page.inner_text("#files tr >> nth=0")
        weak = results["dark.mp4"]["reliability"]["level"] not in ("reliable", "moderate")
        if weak:
            assert not {"fake", "real"} & set(pills), pills
    finally:
        ctx.close()
