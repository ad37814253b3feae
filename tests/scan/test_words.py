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
    assert lines[3].startswith("  detectors: ")
    assert "leans fake" in lines[lines.index(next(x for x in lines if x.startswith("track"))) + 1]  # the table's row
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


# --- every surface words a verdict with mimica.scan.aggregate.verdict_text -----------------------------------

KINDS = ("fully generated faces (test)", "audio-driven lip-sync (test)")


@pytest.fixture(scope="module")
def blind_card(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A weak card that names the kinds of fakes it was never measured on."""
    return tiny_model(tmp_path_factory.mktemp("blind"), name="blind", metrics=video_metrics(0.7),
                      not_measured_on=KINDS)


@pytest.fixture(scope="module")
def glimpse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A video whose one face shows in 2 of its 12 frames: a verdict on few faces."""
    return facemedia.write_glimpse_video(tmp_path_factory.mktemp("g") / "glimpse.mp4", frames=12,
                                         face_frames_at=(0, 1))


def _banner(html: str) -> str:
    return html.split('id="verdict">', 1)[1].split("</section>", 1)[0]


@pytest.mark.parametrize(("threshold", "words"), [(1.0, "leans real"), (0.0, "leans fake")])
def test_every_surface_shows_the_wording_functions_words(blind_card: Path, face: Path, tmp_path: Path,
                                                         threshold: float, words: str) -> None:
    """The CLI line, the JSON, the report's header and track rows and the index all show verdict_text's words,
    and none shows a bare verdict of the weak model."""
    from mimica.report import ReportFolder
    from mimica.scan.aggregate import verdict_text

    args = ["scan", str(face), "--model", str(blind_card), "--threshold", str(threshold), "--no-provenance"]
    res = CliRunner().invoke(app, [*args, "--report", str(tmp_path / "reports")])
    assert res.exit_code == 0, res.output
    assert res.stdout.startswith(f"{words.upper()}  score ")
    obj = json.loads(CliRunner().invoke(app, [*args, "--json"]).stdout)
    verdict = obj["verdict"]
    r = ScanResult.model_validate(obj)
    assert obj["verdict_text"] == verdict_text(verdict, r.reliability) == words
    report = (tmp_path / "reports" / "face.png.html").read_text()
    assert f">{words.upper()} " in _banner(report) and f'class="pill {verdict}">{words}</span>' in report
    index = (tmp_path / "reports" / "index.html").read_text()
    assert f'<span class="pill {verdict}">{words}</span>' in index
    folder = ReportFolder(tmp_path / "again")
    folder.add(r)
    assert f">{words}</span>" in (tmp_path / "again" / "index.html").read_text()


def test_not_measured_kinds_are_named_where_the_verdict_clears(blind_card: Path, face: Path, tmp_path: Path) -> None:
    """A leans-real or uncertain verdict names what the card says the model never saw; a leans-fake does not."""
    for threshold, named in ((1.0, True), (0.0, False)):
        r = Scanner(model=blind_card, threshold=threshold, provenance=False).scan(face)
        assert r.reliability.not_measured_on == list(KINDS)
        banner = _banner(render_report(r))
        sentence = f"never measured on {KINDS[0]} or {KINDS[1]}"
        assert (sentence in banner) is named, banner
        res = CliRunner().invoke(app, ["scan", str(face), "--model", str(blind_card), "--threshold",
                                       str(threshold), "--no-provenance"])
        assert (sentence in res.stdout) is named, res.stdout
    # uncertain too: the tiny model's score of the astronaut lies between 0 and 1
    r = Scanner(model=blind_card, threshold=None, provenance=False).scan(face)
    if r.verdict == "uncertain":
        assert "never measured on" in _banner(render_report(r))


def test_a_verdict_on_few_faces_says_so(blind_card: Path, glimpse: Path, tmp_path: Path) -> None:
    """A video whose deciding track has fewer faces than MIN_FACES: the words, the JSON, the line and the report
    say so; a video with enough faces does not."""
    from mimica.scan.aggregate import MIN_FACES

    r = Scanner(model=blind_card, frames=12, threshold=0.0, provenance=False).scan(glimpse)
    assert r.tracks and max(len(t.detections) for t in r.tracks) < MIN_FACES
    assert r.few_faces and r.verdict_text == "leans fake (few faces)"
    assert f"a verdict rests on {MIN_FACES} or more" in r.reason
    assert json.loads(r.model_dump_json())["few_faces"] is True
    banner = _banner(render_report(r))
    assert "LEANS FAKE (FEW FACES)" in banner and "It rests on few faces" in banner
    res = CliRunner().invoke(app, ["scan", str(glimpse), "--model", str(blind_card), "--frames", "12",
                                   "--threshold", "0", "--no-provenance"])
    assert res.stdout.startswith("LEANS FAKE (FEW FACES)  score "), res.stdout
    full = facemedia.write_face_video(tmp_path / "full.mp4", frames=12)
    r = Scanner(model=blind_card, frames=12, threshold=0.0, provenance=False).scan(full)
    assert len(r.tracks[0].detections) >= MIN_FACES
    assert not r.few_faces and r.verdict_text == "leans fake" and "few" not in r.reason


def test_watermark_decides_on_the_track_row(cards: dict[str, Path], marked: Path) -> None:
    """FAKE on the file line and the classifier's own words on the track row: the row says the watermark decides."""
    res = CliRunner().invoke(app, ["scan", str(marked), "--model", str(cards["weak"]), "--threshold", "1"])
    assert res.stdout.startswith("FAKE  score ")
    row = next(line for line in res.stdout.splitlines() if "leans real" in line)
    assert row.rstrip().endswith("no: the watermark decides"), row
    html = render_report(Scanner(model=cards["weak"], threshold=1.0).scan(marked))
    track = html.split('id="track-0"', 1)[1].split("</section>", 1)[0]
    assert "the watermark decides" in track and "decided by mimica's watermark" in track


def test_one_name_for_the_score(cards: dict[str, Path], face: Path) -> None:
    """The number is the score everywhere: no "p =", "p(fake)" or "max p" beside it."""
    res = CliRunner().invoke(app, ["scan", str(face), "--model", str(cards["weak"]), "--no-provenance"])
    header = next(line for line in res.stdout.splitlines() if line.startswith("track"))
    assert header.split() == ["track", "verdict", "score", "faces", "seen", "(s)", "top", "face", "counted"]
    html = render_report(Scanner(model=cards["weak"]).scan(face))
    visible = html.split("<body>", 1)[1].split('<section id="json">', 1)[0]
    for word in ("p = ", "p(fake)", "p(manipulated)", "max p", "p &ge;", "p-value"):
        assert word not in visible, word
