from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
from tests.report.helpers import astronaut_png, astronaut_video

from mimica.report import ReportError, render_report, write_report
from mimica.scan.result import ScanResult


class _Links(HTMLParser):
    """Every URL the page would load or link to, and the embedded JSON."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.json: list[str] = []
        self._in_json = False

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        a = dict(attrs)
        for key in ("src", "href", "action", "poster", "data"):
            if a.get(key):
                self.urls.append(a[key])
        self._in_json = tag == "script" and a.get("type") == "application/json"
        if tag == "script" and not self._in_json:
            raise AssertionError("the report must not run scripts")

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        self._in_json = False

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        if self._in_json:
            self.json.append(data)


def _parse(html: str) -> _Links:
    p = _Links()
    p.feed(html)
    return p


@pytest.fixture(scope="module")
def video_scan(report_scanner, tmp_path_factory):
    path = astronaut_video(tmp_path_factory.mktemp("v") / "astro.mp4", seconds=2.0, fps=10)
    return report_scanner.scan_evidence(path)


@pytest.fixture(scope="module")
def image_scan(report_scanner, tmp_path_factory):
    return report_scanner.scan_evidence(astronaut_png(tmp_path_factory.mktemp("i") / "astro.png"))


def test_video_report_is_self_contained_and_complete(video_scan, tmp_path):
    result, evidence = video_scan
    assert result.tracks, "the astronaut's face should be found"
    out = write_report(tmp_path / "r.html", result, evidence)
    html = out.read_text()
    page = _parse(html)
    # nothing to fetch: every picture and style is inline
    assert page.urls and all(u.startswith("data:") for u in page.urls), [u[:40] for u in page.urls]
    assert "<link" not in html and "@import" not in html and "url(" not in html
    # the JSON result round-trips
    assert json.loads("".join(page.json)) == result.model_dump(mode="json")
    # banner, per-track sections with a timeline, heatmaps and faces, facts, provenance, model card
    assert f'data-verdict="{result.verdict}"' in html
    assert len(re.findall(r'<section class="track"', html)) == len(result.tracks)
    assert "against video time, with the real and fake thresholds" in html
    n_heat = len(re.findall(r'alt="evidence map of the face', html))
    assert 1 <= n_heat <= 3 * len(result.tracks)
    # each map comes with a colour scale and one plain sentence of what it shows
    assert 'class="scale"' in html and "strongest in this face" in html
    assert len(re.findall(r'<span class="sentence">(No part of the face|The strongest evidence)', html)) == n_heat
    assert html.count('alt="face at ') == sum(len(t.detections) for t in result.tracks)
    for fact in ("h264", f"{result.media.width} x {result.media.height}", f"{result.frames.decoded} decoded"):
        assert fact in html
    assert evidence.classifier.card.name in html and "Limitations" in html
    assert "mimica watermark" in html  # provenance was checked
    # readable on a phone
    assert 'name="viewport"' in html and "@media (max-width: 600px)" in html


def test_image_report_has_the_same_chart_without_time(image_scan):
    result, evidence = image_scan
    html = render_report(result, evidence, heat_faces=1)
    assert "against video time" not in html
    assert "score of the face against the real and fake thresholds" in html
    assert html.count('alt="evidence map of the face') == min(1, len(result.tracks))


def test_heatmap_budget_and_options(video_scan):
    result, evidence = video_scan
    html = render_report(result, evidence, heat_faces=2, max_faces=3, title="my clip.mp4")
    assert html.count('alt="evidence map of the face') <= 2
    assert html.count('alt="face at ') <= 3 * len(result.tracks)
    assert "my clip.mp4" in html
    none = render_report(result, evidence, max_heat=0)
    assert 'alt="evidence map' not in none


@pytest.mark.parametrize("result", [
    ScanResult(path="nothing.mp4", verdict="no-face", reason="no face was found in the sampled frames"),
    ScanResult(path="broken.mp4", verdict="error", error="broken.mp4: not a readable image or video"),
])
def test_report_without_evidence_or_faces(result):
    html = render_report(result)
    assert f'data-verdict="{result.verdict}"' in html
    assert "Not checked in this scan" in html
    assert json.loads("".join(_parse(html).json))["verdict"] == result.verdict


def test_hostile_text_is_escaped():
    evil = '</script><script>alert(1)</script><img src=x onerror=alert(2)>.mp4'
    r = ScanResult(path=evil, verdict="no-face", reason=evil,
                   provenance={"watermark": {"detected": True, "p_value": 1e-9}, "c2pa": {"present": False},
                               "digital_source_type": evil})
    html = render_report(r)
    assert "<script>alert" not in html and "<img src=x" not in html
    page = _parse(html)  # raises on any executable script
    assert json.loads("".join(page.json))["path"] == evil
    assert "watermark was found" in html  # the watermark alert shows


def test_provenance_findings_are_shown_in_words():
    r = ScanResult(path="a.jpg", verdict="fake", probability=0.9, thresholds={"real": 0.4, "fake": 0.6},
                   provenance={"watermark": {"detected": False, "p_value": 0.025, "confidence": 0.975},
                               "c2pa": {"present": True, "valid": True, "trusted": False,
                                        "validation_state": "Valid", "assertions": ["c2pa.actions"],
                                        "errors": []},
                               "digital_source_type": "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"})
    html = render_report(r)
    prov = html.split('id="provenance"', 1)[1].split("</section>", 1)[0]
    # a non-detection states no "confidence": the test is a sentence in small print, never a bare "p" that a
    # reader could take for the score
    assert "No mimica watermark found" in prov and "<small" in prov
    assert "a file without the mark gives a signal this strong or stronger 2% of the time" in prov
    assert "p-value" not in prov and "p =" not in html
    assert "confidence" not in prov.lower() and "0.975" not in prov
    assert "C2PA content credentials present; the signature is valid; the signer is not on the trusted list" in prov
    assert "made by a generative AI model (IPTC: trainedAlgorithmicMedia)" in prov and "c2pa.actions" in prov


@pytest.mark.parametrize(("prov", "words"), [
    ({"watermark": {"detected": True, "p_value": 1e-12, "mirrored": True}},
     "mimica watermark found: this file was made by a face-swap tool, then mirrored"),
    ({"c2pa": {"present": False}}, "No C2PA content credentials"),
    ({"c2pa": {"present": True, "valid": False}}, "the signature is NOT valid"),
    ({"c2pa": {"present": True, "valid": True, "trusted": True}}, "the signer is on the trusted list"),
    ({"digital_source_type": "http://cv.iptc.org/newscodes/digitalsourcetype/digitalCapture"},
     "captured from real life by a digital camera"),
    ({"watermark": {"detected": False}}, "Source type stated in the file</th><td id=\"source-type\">not stated"),
])
def test_provenance_words(prov, words):
    html = render_report(ScanResult(path="a.jpg", verdict="no-face", provenance=prov))
    assert words in html


def test_model_section_is_a_small_table_with_the_card_behind_a_disclosure(image_scan):
    result, evidence = image_scan
    card = evidence.classifier.card
    html = render_report(result, evidence, heat_faces=0)
    model = html.split('<section id="model">', 1)[1].split("</section>", 1)[0]
    table, raw = model.split('<details id="model-card">', 1)
    rows = re.findall(r"<tr><th>([^<]+)</th>", table)
    never = ["Never measured on"] if card.not_measured_on else []
    assert rows[:5 + len(never)] == ["What it is", "Trained on", "Measured video AUC", "How far to trust it", *never,
                                     "Thresholds"]
    assert len(rows) <= 9  # a small table, not a dump
    assert "{" not in table  # no JSON in the table
    assert f"fake at a score of {card.thresholds.fake:.2f} or more" in table
    # plain words first: the architecture's jargon waits behind a disclosure of its row
    plain = re.sub(r"<details.*?</details>", "", table, flags=re.S)
    assert "parameters" not in plain and "frozen" not in plain
    if card.architecture:
        assert card.architecture.split(";")[0] in table
    rel = card.reliability()
    assert (f"video AUC {rel.auc:.2f}" if rel.auc is not None else "not measured") in table
    assert "sha256" in raw and card.sha256 in raw  # the raw card is behind the disclosure


def test_write_is_atomic_and_errors_are_typed(image_scan, tmp_path):
    result, evidence = image_scan
    target = tmp_path / "r.html"
    target.write_text("old")
    write_report(target, result, evidence, heat_faces=0)
    assert target.read_text().startswith("<!doctype html>")
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]  # no temp file left behind
    with pytest.raises(ReportError, match="cannot write the report"):
        write_report(tmp_path / "missing" / "r.html", result, evidence, heat_faces=0)
    assert not list((tmp_path).glob(".*tmp"))


def test_cli_scan_writes_the_report(scan_model, tmp_path):
    from typer.testing import CliRunner

    from mimica.cli import app

    img = astronaut_png(tmp_path / "astro.png")
    out = tmp_path / "report.html"
    res = CliRunner().invoke(app, ["scan", str(img), "--report", str(out), "--model", str(scan_model)])
    assert res.exit_code == 0, res.output
    html = out.read_text()
    assert 'type="application/json"' in html and "astro.png" in html


def test_report_size_stays_small(video_scan):
    """Thumbnails are JPEG and plots PNG: a 20-frame clip's report stays well under a megabyte."""
    result, evidence = video_scan
    assert len(render_report(result, evidence)) < 1_000_000


def test_import_does_not_pull_heavy_modules():
    import subprocess
    import sys

    code = ("import sys, mimica, mimica.report, mimica.cli; "
            "print(sorted(m for m in ('matplotlib', 'jinja2', 'fastapi', 'uvicorn') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.stdout.strip() == "[]"


def _visible(html: str) -> str:
    """The page's text as a reader first sees it: the disclosures folded, the embedded JSON left out."""
    body = html.split("<body>", 1)[-1].split("<script", 1)[0]
    body = re.sub(r"<details.*?</details>", "", body, flags=re.S)
    return re.sub(r"<[^>]+>", " ", body)


def test_plain_words_first_details_behind_disclosures(video_scan):
    """No FFmpeg container list, decoder counts, architecture jargon or script pointer in the page as it opens;
    each is one click away. The face borders have a legend."""
    result, evidence = video_scan
    html = render_report(result, evidence, heat_faces=1)
    shown = " ".join(_visible(html).split())
    assert result.media.container.startswith("mov,mp4") and "mov,mp4" not in shown and "MP4 / QuickTime" in shown
    assert "decoded" not in shown and f"{result.frames.decoded} decoded" in html  # behind "Decoder details"
    assert "parameters" not in shown and "application/json" not in shown and "mimica-result" not in shown
    assert "This file also holds the scan's result for programs" in shown
    assert "Each face is framed by the colour of its own score" in shown and "red" in shown and "green" in shown
    assert "mimica-result" in html.split('<section id="json">', 1)[1]  # the pointer, behind "Show the JSON"


def test_a_one_face_track_gets_the_same_chart_with_visible_thresholds():
    """A face seen once in a video is a point on the same timeline as any track, with both threshold lines drawn
    whole (a bar of a score above the fake threshold hid its red line)."""
    import io

    from PIL import Image

    from mimica.report.plots import COLOURS, timeline_png
    from mimica.scan.result import Detection, Track

    one = Track(id=0, verdict="fake", probability=0.95,
                detections=[Detection(time_s=0.0, frame_index=0, box=(0, 0, 9, 9), probability=0.95)])
    r = ScanResult(path="v.mp4", verdict="fake", probability=0.95, tracks=[one], thresholds={"real": 0.4, "fake": 0.6},
                   media={"kind": "video", "duration_s": 3.0})
    html = render_report(r)
    assert "against video time, with the real and fake thresholds" in html and "at 0.0 s" in html
    png = np.asarray(Image.open(io.BytesIO(timeline_png(one, r.thresholds, 3.0))).convert("RGB")).astype(int)

    def pixels_of(hex_colour: str) -> np.ndarray:
        rgb = np.array([int(hex_colour[i : i + 2], 16) for i in (1, 3, 5)])
        return (np.abs(png - rgb).sum(axis=2) < 60)

    red, green = pixels_of(COLOURS["fake"]), pixels_of(COLOURS["real"])
    red_rows, green_rows = np.flatnonzero(red.sum(1) > 100), np.flatnonzero(green.sum(1) > 100)
    assert red_rows.size and green_rows.size  # both dashed lines run across the plot
    assert pixels_of(COLOURS["line"]).sum() > 20  # and the face's point is drawn


def test_a_face_that_leans_real_is_not_called_suspicious(report_scanner, image_scan):
    """On a file that leans real, its faces are not "the most suspicious" and their spots not "evidence"."""
    result, evidence = image_scan
    real = result.model_copy(update={"verdict": "real", "verdict_text": "leans real",
                                     "tracks": [t.model_copy(update={"verdict": "real", "verdict_text": "leans real"})
                                                for t in result.tracks]})
    html = render_report(real, evidence, heat_faces=1)
    tracks = " ".join(s.split("</section>", 1)[0] for s in html.split('<section class="track"')[1:])
    assert tracks and "What the score rests on" in tracks
    assert "suspicious" not in tracks and "evidence" not in _visible(tracks).lower()
    fake = render_report(result.model_copy(update={"verdict": "fake"}), evidence, heat_faces=1)
    if result.tracks[0].verdict != "real":
        assert "Where in the face the evidence sits" in fake


def test_documented_patch_size_is_the_one_used(image_scan):
    """docs/scan.md states the heatmaps' patch and stride in pixels of the shipped model's crop; the report says
    the same numbers (mimica.report.html.patch_pixels)."""
    from mimica.models import DEFAULT_MODEL
    from mimica.models.registry import WEIGHTS, load_card
    from mimica.report.html import patch_pixels

    size = load_card(WEIGHTS / f"{DEFAULT_MODEL}.json").input.size
    patch, stride, _ = patch_pixels(size)
    doc = " ".join((Path(__file__).resolve().parents[2] / "docs" / "scan.md").read_text().split())
    assert f"{patch}-pixel patches (stride {stride}) on the {size}-pixel crop of {DEFAULT_MODEL}" in doc
    result, evidence = image_scan
    own = evidence.classifier.recipe.size
    html = render_report(result, evidence, heat_faces=1)
    p, st, _ = patch_pixels(own)
    assert f"grey squares of {p} pixels, one every {st} pixels (the aligned face is {own} pixels wide)" in html


def test_each_detector_is_named_in_words_with_the_one_that_decided(video_scan):
    """Every detector of the scan in the banner (its card's words) and on each track, the deciding one said."""
    from mimica.report import render_report

    result, evidence = video_scan
    assert len(result.detectors) >= 2, "the scan runs every shipped detector"
    html = render_report(result, evidence)
    assert 'id="detectors"' in html
    for d in result.detectors:
        assert f'data-detector="{d.name}"' in html and d.words in html
    assert html.count("this one set the verdict") == 1
    assert "set this track&#39;s verdict" in html or "set this track's verdict" in html


def test_the_timeline_draws_one_detector_against_its_own_thresholds(video_scan):
    """With several detectors the chart is the first detector's face scores with that detector's thresholds and
    track score (never one detector's scores against another's thresholds), and says whose they are."""
    from mimica.report import plots

    result, _ = video_scan
    t = result.tracks[0]
    first = t.detectors[0]
    assert first.real_threshold is not None and first.fake_threshold is not None
    own = plots.timeline_png(t, {"real": first.real_threshold, "fake": first.fake_threshold},
                             result.media.duration_s, track_score=first.probability, who=first.label)
    other = plots.timeline_png(t, {"real": 0.05, "fake": 0.95}, result.media.duration_s,
                               track_score=first.probability, who=first.label)
    assert own != other  # the thresholds drawn are the ones given
