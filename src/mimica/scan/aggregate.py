"""From face scores to verdicts: frame -> track -> file. The rule is documented in docs/scan.md.

- A track's probability is the mean of its faces' calibrated probabilities (the field's video-level rule,
  DeepfakeBench: average of frame scores).
- The file's probability is the highest track probability among its main tracks: a video is as suspect as its
  most suspect person. Main tracks hold at least `MIN_TRACK_SHARE` of the longest track's faces (and at least two
  in a video), so a face glimpsed once in a crowd cannot decide the verdict alone.
- Verdicts: `fake` at or above the fake threshold, `real` below the real threshold, `uncertain` between.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mimica.scan.result import Track, Verdict

MIN_TRACK_SHARE = 0.25


def verdict_of(probability: float, real: float, fake: float) -> Verdict:
    if probability >= fake:
        return "fake"
    if probability < real:
        return "real"
    return "uncertain"


def track_probability(face_probs: Sequence[float]) -> float:
    return float(np.mean(face_probs))


def main_tracks(tracks: Sequence[Track], is_video: bool) -> list[Track]:
    if not tracks:
        return []
    longest = max(len(t.detections) for t in tracks)
    floor = max(2 if is_video and longest >= 2 else 1, int(np.ceil(MIN_TRACK_SHARE * longest)))
    return [t for t in tracks if len(t.detections) >= floor]


def file_probability(tracks: Sequence[Track], is_video: bool) -> tuple[float | None, Track | None]:
    """The file's probability and the track that decided it (None when there is no face)."""
    main = main_tracks(tracks, is_video)
    if not main:
        return None, None
    top = max(main, key=lambda t: t.probability)
    return top.probability, top
