"""The Scanner end to end on synthesised media with a real face (the astronaut): what it finds, how results and
evidence fit together, the options, and the public one-call API. Needs the shipped model (skips without)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tests import facemedia, mediagen

import mimica
from mimica.errors import MimicaError
from mimica.scan import Scanner, ScanResult
from mimica.scan.aggregate import verdict_of
from mimica.scan.fuse import fuse

CLASSIFIED = {"fake", "real", "uncertain"}
#: the astronaut's face from eyebrows to chin, marked by hand (see tests/faces/test_detector.py)
FACE_CORE = (195, 95, 255, 160)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("scan-media")
    two = np.concatenate([facemedia.astronaut(), facemedia.astronaut()[:, ::-1]], axis=1)
    Image.fromarray(two).save(d / "two.png")
    return {
        "face.png": facemedia.write_face_image(d / "face.png"),
        "face.mp4": facemedia.write_face_video(d / "face.mp4", frames=12),
        "blank.png": mediagen.write_image(d / "blank.png", size=(320, 240), color=(128, 128, 128)),
        "two.png": d / "two.png",
    }


def with_options(scanner: Scanner, **kw: object) -> Scanner:
    """Another Scanner over the session's loaded model and detector."""
    return Scanner(model=scanner.classifier, detector=scanner.detector, **kw)  # type: ignore[arg-type]


def test_image_with_a_face(scanner: Scanner, media: dict[str, Path]) -> None:
    r = scanner.scan(media["face.png"])
    assert r.verdict in CLASSIFIED and r.error is None
    assert r.probability is not None and 0 <= r.probability <= 1
    assert len(r.tracks) == 1
    (t,) = r.tracks
    assert t.id == 0 and len(t.detections) == 1 and t.probability == pytest.approx(r.probability)
    x1, y1, x2, y2 = t.detections[0].box
    assert x1 <= FACE_CORE[0] and y1 <= FACE_CORE[1] and x2 >= FACE_CORE[2] and y2 >= FACE_CORE[3]
    assert (r.frames.sampled, r.frames.failed) == (1, 0)
    assert r.media.kind == "image" and (r.media.width, r.media.height) == (512, 512)
    card = scanner.classifier.card
    assert (r.model.name, r.model.version) == (card.name, card.version)
    decided = next(d for d in scanner.detectors if d.name == r.decided_by)  # the fused verdict's detector
    th = decided.card.thresholds
    assert r.thresholds == {"real": th.real, "fake": th.fake}
    assert r.verdict == fuse(r.detectors)[1] and r.probability == fuse(r.detectors)[0]
    assert decided.name != card.name or r.verdict == verdict_of(r.probability, th.real, th.fake)
    assert r.reason == f"decided by the one face in the picture, by the {decided.card.detector.label}"
    assert r.timings_s["total"] > 0


def test_evidence_crops_are_what_was_scored(scanner: Scanner, media: dict[str, Path]) -> None:
    r, ev = scanner.scan_evidence(media["face.mp4"])
    size = scanner.classifier.card.input.size
    assert set(ev.crops) == {t.id for t in r.tracks}
    for t in r.tracks:
        crops = np.stack(ev.crops[t.id])
        assert crops.shape == (len(t.detections), size, size, 3) and crops.dtype == np.uint8
        np.testing.assert_allclose(ev.classifier.predict(crops), [d.probability for d in t.detections],
                                   atol=1e-5)
    assert ev.media is not None and ev.media.kind == "video"
    assert len(ev.thumbnails) == r.frames.sampled


def test_video_one_person_one_track(scanner: Scanner, media: dict[str, Path]) -> None:
    r = scanner.scan(media["face.mp4"])
    assert r.verdict in CLASSIFIED
    assert (r.frames.sampled, r.frames.decoded, r.frames.failed) == (8, 12, 0)  # scanner fixture: 8 frames
    assert len(r.tracks) == 1, [len(t.detections) for t in r.tracks]
    (t,) = r.tracks
    assert len(t.detections) == 8
    times = [d.time_s for d in t.detections]
    assert times == sorted(times) and len(set(times)) == 8
    xs = [d.box[0] for d in t.detections]
    assert xs == sorted(xs)  # the face drifts right in the synthetic video
    # the blend detector's track score is the mean of its face scores; the track's is the fused one
    assert t.detectors[0].probability == pytest.approx(np.mean([d.probability for d in t.detections]))
    assert t.probability == pytest.approx(fuse(t.detectors)[0])
    assert r.probability == pytest.approx(t.probability)
    assert r.media.kind == "video" and r.media.codec == "h264"


def test_no_face(scanner: Scanner, media: dict[str, Path]) -> None:
    r = scanner.scan(media["blank.png"])
    assert r.verdict == "no-face"
    assert r.probability is None and r.tracks == [] and r.error is None
    assert r.frames.sampled == 1
    assert "no face" in r.reason


def test_every_face_of_a_photo_counts(scanner: Scanner, media: dict[str, Path]) -> None:
    r = scanner.scan(media["two.png"])
    assert len(r.tracks) == 2
    assert r.probability == pytest.approx(max(t.probability for t in r.tracks))
    assert {round(t.detections[0].box[0] / 512) for t in r.tracks} == {0, 1}  # one face in each half


@pytest.mark.parametrize(("threshold", "verdict"), [(0.0, "fake"), (1.0, "real")])
def test_single_threshold_replaces_the_band(scanner: Scanner, media: dict[str, Path], threshold: float,
                                            verdict: str) -> None:
    r = with_options(scanner, threshold=threshold).scan(media["face.png"])
    assert r.thresholds == {"real": threshold, "fake": threshold}
    assert r.verdict == verdict and r.tracks[0].verdict == verdict


@pytest.mark.parametrize("frames", [1, 3])
def test_frames_option(scanner: Scanner, media: dict[str, Path], frames: int) -> None:
    r = with_options(scanner, frames=frames).scan(media["face.mp4"])
    assert r.frames.sampled == frames
    assert sum(len(t.detections) for t in r.tracks) == frames


@pytest.mark.parametrize(
    ("kw", "message"),
    [({"frames": 0}, "--frames must be at least 1, got 0"),
     ({"threshold": 1.5}, "--threshold must be between 0 and 1, got 1.5"),
     ({"threshold": -0.1}, "--threshold must be between 0 and 1, got -0.1")],
    ids=["frames-0", "threshold-high", "threshold-negative"],
)
def test_bad_options(scanner: Scanner, kw: dict, message: str) -> None:
    with pytest.raises(MimicaError, match=message.replace(".", r"\.")):
        with_options(scanner, **kw)


def test_progress_reports_frames_then_done(scanner: Scanner, media: dict[str, Path]) -> None:
    calls: list[tuple[str, int, int]] = []
    scanner.scan(media["face.mp4"], progress=lambda *a: calls.append(a))
    assert calls[-1] == ("done", 1, 1)
    assert [c for c in calls if c[0] == "frames"] == [("frames", k, 8) for k in range(1, 9)]


def test_scan_all_goes_on_after_a_bad_file(scanner: Scanner, media: dict[str, Path], tmp_path: Path) -> None:
    for name in ("face.png", "blank.png"):
        (tmp_path / name).write_bytes(media[name].read_bytes())
    mediagen.write_text(tmp_path / "broken.mp4")
    results = {Path(r.path).name: r for r in scanner.scan_all(tmp_path)}
    assert set(results) == {"face.png", "blank.png", "broken.mp4"}
    assert results["broken.mp4"].verdict == "error"
    assert "broken.mp4" in (results["broken.mp4"].error or "")
    assert results["face.png"].verdict in CLASSIFIED
    assert results["blank.png"].verdict == "no-face"


def test_scan_raises_on_a_file_it_cannot_read(scanner: Scanner, tmp_path: Path) -> None:
    bad = mediagen.write_random(tmp_path / "noise.jpg")
    with pytest.raises(MimicaError, match="noise.jpg"):
        scanner.scan(bad)


def test_result_round_trips_through_json(scanner: Scanner, media: dict[str, Path]) -> None:
    r = scanner.scan(media["face.mp4"])
    again = ScanResult.model_validate_json(r.model_dump_json())
    assert again == r


def test_public_api(model_card: Path, media: dict[str, Path]) -> None:
    r = mimica.scan(media["face.png"], frames=2)
    assert isinstance(r, ScanResult) and r.verdict in CLASSIFIED
    with pytest.raises(MimicaError, match="is a folder; use mimica.scan_all"):
        mimica.scan(media["face.png"].parent, frames=2)
    names = sorted(Path(x.path).name for x in mimica.scan_all(media["face.png"].parent, frames=2))
    assert names == sorted(media)
