"""Faces and tracks on real FaceForensics++ videos from ../shared/data (skipped when absent), with the scan's
32-frame protocol: a face on at least 95% of the sampled frames, and the main person keeps one track id.

The videos are fixed by a rule (the first manifest row of each kind) so the choice is stable: light (c23) and
heavy (c40) compression, real and fake, and a 1080p actors video in which the person walks across the room
(the hard case for a tracker that sees a frame every 0.7 s)."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from mimica.faces import IoUTracker, create_detector
from mimica.faces.detector import FaceDetector
from mimica.media import sample_frames

pytestmark = pytest.mark.shared

N = 32
MIN_FACE_SHARE = 0.95

#: manifest path fragments; the first row containing each is used
KINDS = [
    pytest.param("original_sequences/youtube/c23/", id="real-c23"),
    pytest.param("original_sequences/youtube/c40/", id="real-c40"),
    pytest.param("manipulated_sequences/Deepfakes/c23/", id="deepfakes-c23"),
    pytest.param("manipulated_sequences/NeuralTextures/c40/", id="neuraltextures-c40"),
    pytest.param("original_sequences/actors/c40/", id="actors-1080p-c40"),
]


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return create_detector("mediapipe")


def first_row(shared_data: Path, fragment: str) -> dict[str, str]:
    with (shared_data / "manifest.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            if fragment in row["path"]:
                return row
    pytest.skip(f"no video in the manifest under {fragment}")


@pytest.mark.parametrize("fragment", KINDS)
def test_faces_and_stable_tracks(shared_data: Path, detector: FaceDetector, fragment: str) -> None:
    row = first_row(shared_data, fragment)
    tracker = IoUTracker()
    sampled, with_face = 0, 0
    ids: Counter[int] = Counter()
    for frame in sample_frames(shared_data / row["path"], N):
        faces = tracker.update(detector.detect(frame.image))
        sampled += 1
        with_face += len(faces) > 0
        assert len(set(faces.track_id.tolist())) == len(faces)  # never one id twice in a frame
        ids.update(faces.track_id.tolist())
    name = row["path"]
    assert sampled == N, f"{name}: {sampled} frames sampled"
    assert with_face >= MIN_FACE_SHARE * sampled, f"{name}: faces on {with_face}/{sampled} frames"
    main_id, main_n = ids.most_common(1)[0]
    assert main_n >= MIN_FACE_SHARE * with_face, f"{name}: the main person's track broke up: {dict(ids)}"
    if fragment.startswith("original_sequences/actors"):
        assert (int(row["width"]), int(row["height"])) == (1920, 1080)
