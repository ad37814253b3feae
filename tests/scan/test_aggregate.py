"""Frame -> track -> file, as tables: the verdict bands, which tracks count (main_tracks), and the file's
probability (the most suspect main track)."""

from __future__ import annotations

import pytest

from mimica.models.reliability import Reliability, level_of
from mimica.scan.aggregate import (
    MIN_TRACK_SHARE,
    file_probability,
    main_tracks,
    track_probability,
    verdict_of,
    verdict_text,
)
from mimica.scan.result import Detection, Track

VERDICTS = [
    # (probability, real threshold, fake threshold, verdict)
    pytest.param(0.0, 0.35, 0.65, "real", id="zero"),
    pytest.param(0.349, 0.35, 0.65, "real", id="just-below-real"),
    pytest.param(0.35, 0.35, 0.65, "uncertain", id="at-real"),
    pytest.param(0.5, 0.35, 0.65, "uncertain", id="middle"),
    pytest.param(0.6499, 0.35, 0.65, "uncertain", id="just-below-fake"),
    pytest.param(0.65, 0.35, 0.65, "fake", id="at-fake"),
    pytest.param(1.0, 0.35, 0.65, "fake", id="one"),
    # one threshold (--threshold): no uncertain band
    pytest.param(0.4999, 0.5, 0.5, "real", id="single-below"),
    pytest.param(0.5, 0.5, 0.5, "fake", id="single-at"),
    pytest.param(0.0, 0.0, 0.0, "fake", id="threshold-zero-all-fake"),
    pytest.param(0.999, 1.0, 1.0, "real", id="threshold-one"),
]


@pytest.mark.parametrize(("p", "real", "fake", "verdict"), VERDICTS)
def test_verdict_bands(p: float, real: float, fake: float, verdict: str) -> None:
    assert verdict_of(p, real, fake) == verdict


WORDS = [
    # (verdict, the model's video AUC, provenance proves synthesis, words)
    pytest.param("fake", 0.62, False, "leans fake", id="weak-fake"),
    pytest.param("real", 0.62, False, "leans real", id="weak-real"),
    pytest.param("fake", 0.7999, False, "leans fake", id="just-below-0.8"),
    pytest.param("fake", 0.8, False, "fake", id="at-0.8"),
    pytest.param("real", 0.95, False, "real", id="reliable-real"),
    pytest.param("fake", None, False, "leans fake", id="unmeasured-fake"),
    pytest.param("real", None, False, "leans real", id="unmeasured-real"),
    pytest.param("fake", 0.62, True, "fake", id="weak-but-proven"),
    pytest.param("uncertain", 0.62, False, "uncertain", id="weak-uncertain"),
    pytest.param("uncertain", 0.95, False, "uncertain", id="reliable-uncertain"),
    pytest.param("no-face", 0.95, False, "no face", id="no-face"),
    pytest.param("error", None, False, "error", id="error"),
]


@pytest.mark.parametrize(("verdict", "auc", "proven", "words"), WORDS)
def test_verdict_words(verdict: str, auc: float | None, proven: bool, words: str) -> None:
    assert verdict_text(verdict, Reliability(level=level_of(auc), auc=auc), proven) == words  # type: ignore[arg-type]


def test_track_probability_is_the_mean() -> None:
    assert track_probability([0.2, 0.4, 0.9]) == pytest.approx(0.5)
    assert track_probability([0.7]) == pytest.approx(0.7)


def track(tid: int, n: int, p: float) -> Track:
    dets = [Detection(time_s=i, frame_index=i, box=(0, 0, 10, 10), probability=p) for i in range(n)]
    return Track(id=tid, verdict=verdict_of(p, 0.35, 0.65), probability=p, detections=dets)


MAIN = [
    # (faces per track, is_video, ids of the main tracks)
    pytest.param([], True, [], id="none"),
    pytest.param([8], True, [0], id="one-track"),
    pytest.param([1], True, [0], id="one-glimpse-only"),  # the only face there is still counts
    pytest.param([1], False, [0], id="image-one-face"),
    pytest.param([1, 1, 1], False, [0, 1, 2], id="image-group"),  # every face of a photo counts
    pytest.param([8, 1], True, [0], id="glimpse-dropped"),
    pytest.param([10, 3, 2], True, [0, 1], id="quarter-share"),  # floor = ceil(0.25 * 10) = 3
    pytest.param([2, 1], True, [0], id="video-needs-two"),
    pytest.param([32, 8, 7], True, [0, 1], id="32-frames"),
    pytest.param([4, 4], True, [0, 1], id="two-people"),
]


@pytest.mark.parametrize(("lengths", "is_video", "kept"), MAIN)
def test_main_tracks(lengths: list[int], is_video: bool, kept: list[int]) -> None:
    tracks = [track(i, n, 0.5) for i, n in enumerate(lengths)]
    assert [t.id for t in main_tracks(tracks, is_video)] == kept


def test_min_track_share_is_a_quarter() -> None:
    """The documented rule (docs and the model card quote it); changing it changes verdicts."""
    assert MIN_TRACK_SHARE == 0.25


FILES = [
    # ((faces, probability) per track, is_video, file probability, deciding track id)
    pytest.param([], True, None, None, id="no-face"),
    pytest.param([(8, 0.2)], True, 0.2, 0, id="one"),
    pytest.param([(8, 0.2), (6, 0.9)], True, 0.9, 1, id="most-suspect-person"),
    pytest.param([(8, 0.2), (1, 0.99)], True, 0.2, 0, id="glimpse-cannot-decide"),
    pytest.param([(8, 0.8), (8, 0.1)], True, 0.8, 0, id="first-of-two"),
    pytest.param([(1, 0.3), (1, 0.7)], False, 0.7, 1, id="image-two-faces"),
]


@pytest.mark.parametrize(("spec", "is_video", "prob", "top"), FILES)
def test_file_probability(spec: list[tuple[int, float]], is_video: bool, prob: float | None,
                          top: int | None) -> None:
    tracks = [track(i, n, p) for i, (n, p) in enumerate(spec)]
    got, by = file_probability(tracks, is_video)
    if prob is None:
        assert got is None and by is None
    else:
        assert got == pytest.approx(prob)
        assert by is not None and by.id == top
