"""The words of a verdict follow the loaded model's measured reliability (docs/scan.md): a card whose video AUC is
under 0.8 never gives a bare `fake`/`real` in the JSON's `verdict_text`, the CLI line or the report; proof of
synthesis (mimica's watermark) says `fake` plainly. Cards are built here (tiny ONNX models, `tests.report.helpers`)
with AUCs on both sides of 0.8, so nothing depends on the shipped model's numbers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from PIL import Image
from tests import facemedia
from tests.report.helpers import tiny_model, video_metrics
from typer.testing import CliRunner

from mimica.cli import app
from mimica.report import render_report
from mimica.scan import Scanner, ScanResult

SCHEMA = Path(__file__).resolve().parents[2] / "docs" / "scan-result.schema.json"


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("cards")
    return {
        "weak": tiny_model(d, name="weak", metrics=video_metrics(0.71, (0.55, 0.84), n=40)),
        "reliable": tiny_model(d, name="reliable", metrics=video_metrics(0.93, (0.88, 0.97), n=300)),
        "unmeasured": tiny_model(d, name="unmeasured"),
    }


@pytest.fixture(scope="module")
def face(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return facemedia.write_face_image(tmp_path_factory.mktemp("face") / "face.png")


@pytest.fixture(scope="module")
def marked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mimica.provenance.watermark import embed

    path = tmp_path_factory.mktemp("marked") / "marked.png"
    Image.fromarray(embed(facemedia.astronaut())).save(path)
    return path


# --threshold 0 makes every face `fake`, 1 every face `real`, whatever the tiny model scores
@pytest.mark.parametrize(("card", "threshold", "verdict", "words"), [
    pytest.param("weak", 0.0, "fake", "leans fake", id="weak-fake"),
    pytest.param("weak", 1.0, "real", "leans real", id="weak-real"),
    pytest.param("unmeasured", 0.0, "fake", "leans fake", id="unmeasured-fake"),
    pytest.param("reliable", 0.0, "fake", "fake", id="reliable-fake"),
    pytest.param("reliable", 1.0, "real", "real", id="reliable-real"),
])
def test_scan_words_follow_the_card(cards: dict[str, Path], face: Path, card: str, threshold: float, verdict: str,
                                    words: str) -> None:
    r = Scanner(model=cards[card], threshold=threshold, provenance=False).scan(face)
    assert (r.verdict, r.verdict_text) == (verdict, words)
    assert r.tracks and all(t.verdict_text == words for t in r.tracks)
    expected = {"weak": (0.71, 40, "weak"), "reliable": (0.93, 300, "reliable"), "unmeasured": (None, 0, "unmeasured")}
    assert (r.reliability.auc, r.reliability.n_videos, r.reliability.level) == expected[card]
    # the JSON carries the words and the figure, and reads back the same
    obj = json.loads(r.model_dump_json())
    assert obj["verdict"] == verdict and obj["verdict_text"] == words and obj["reliability"]["level"] == card
    assert ScanResult.model_validate(obj) == r
    assert r.summary().split(": ", 1)[1].startswith(words) and r.reliability.text() in r.summary()
    # the report's banner says the words, never the bare verdict of a weak model
    html = render_report(r)
    banner = html.split('id="verdict">', 1)[1].split("</section>", 1)[0]
    assert f">{words.upper()}" in banner
    assert 'id="reliability"' in banner and r.reliability.text() in banner


def test_cli_line_states_words_and_reliability(cards: dict[str, Path], face: Path) -> None:
    res = CliRunner().invoke(app, ["scan", str(face), "--model", str(cards["weak"]), "--threshold", "0",
                                   "--no-provenance"])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert re.fullmatch(rf"LEANS FAKE  score [01]\.\d\d  {re.escape(str(face))}", lines[0]), lines[0]  # details follow
    assert lines[2] == "  model: weak: video AUC 0.71 (95% CI 0.55-0.84) on 40 ffpp validation videos"
    assert "leans fake" in lines[4]  # the track table's row, under its header
    res = CliRunner().invoke(app, ["scan", str(face), "--model", str(cards["reliable"]), "--threshold", "0",
                                   "--no-provenance"])
    assert res.stdout.startswith("FAKE  score") and "model: reliable: video AUC 0.93" in res.stdout


def test_watermark_proof_says_fake_plainly(cards: dict[str, Path], marked: Path) -> None:
    """Proof of synthesis is not the model's judgement: FAKE, even from a weak model that says "real"."""
    r = Scanner(model=cards["weak"], threshold=1.0).scan(marked)
    assert r.provenance["watermark"]["detected"]
    assert (r.verdict, r.verdict_text) == ("fake", "fake")
    assert all(t.verdict_text == "leans real" for t in r.tracks)  # the classifier's own view keeps its words
    html = render_report(r)
    assert ">FAKE" in html and "proof of synthesis" in html


def test_tracks_left_out_by_the_file_rule_are_marked(cards: dict[str, Path]) -> None:
    """A face seen once in a video with a long track is not counted; the JSON, the table and the report say so."""
    from mimica.scan.result import Detection, Track

    def track(tid: int, n: int) -> Track:
        dets = [Detection(time_s=i, frame_index=i, box=(0, 0, 9, 9), probability=0.9) for i in range(n)]
        return Track(id=tid, verdict="fake", probability=0.9, detections=dets, counted=n > 1)

    r = ScanResult(path="v.mp4", verdict="fake", probability=0.9, tracks=[track(0, 8), track(1, 1)])
    html = render_report(r)
    assert html.count("not counted") >= 1 and 'id="track-1"' in html
    section = html.split('id="track-1"', 1)[1].split("</section>", 1)[0]
    assert "Not counted in the file's verdict" in section
    assert "Not counted" not in html.split('id="track-0"', 1)[1].split("</section>", 1)[0]


def test_scanner_marks_uncounted_tracks(cards: dict[str, Path], tmp_path: Path) -> None:
    """Through the pipeline: the flag is the file rule's (main_tracks), set on every track."""
    from mimica.scan.aggregate import main_tracks

    video = facemedia.write_face_video(tmp_path / "f.mp4", frames=6)
    r = Scanner(model=cards["weak"], frames=6, provenance=False).scan(video)
    assert r.tracks
    main = {t.id for t in main_tracks(r.tracks, True)}
    assert all(t.counted == (t.id in main) for t in r.tracks)


def test_schema_file_is_generated_from_the_model() -> None:
    """docs/scan-result.schema.json is ScanResult's JSON Schema; regenerate it with
    python -c 'import json; from mimica.scan.result import ScanResult as R; print(json.dumps(R.model_json_schema(),
    indent=2))' > docs/scan-result.schema.json"""
    assert json.loads(SCHEMA.read_text()) == ScanResult.model_json_schema()
