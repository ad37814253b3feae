"""From face scores to verdicts: frame -> track -> file. The rule is documented in docs/scan.md.

- A track's probability is the mean of its faces' calibrated probabilities (the field's video-level rule,
  DeepfakeBench: average of frame scores).
- The file's probability is the highest track probability among its main tracks: a video is as suspect as its
  most suspect person. Main tracks hold at least `MIN_TRACK_SHARE` of the longest track's faces (and at least two
  in a video), so a face glimpsed once in a crowd cannot decide the verdict alone.
- Verdicts: `fake` at or above the fake threshold, `real` below the real threshold, `uncertain` between.
- Words (`verdict_text`, what people read): a model whose measured reliability is below `moderate` (video AUC
  under 0.8, or not measured) never states a bare `fake`/`real`: it says "leans fake"/"leans real". Proof of
  synthesis from provenance (mimica's watermark) is not a model judgement and says "fake" plainly.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mimica.models.reliability import Reliability
from mimica.scan.result import Track, Verdict

MIN_TRACK_SHARE = 0.25


def verdict_of(probability: float, real: float, fake: float) -> Verdict:
    if probability >= fake:
        return "fake"
    if probability < real:
        return "real"
    return "uncertain"


#: the words of verdicts that are not a judgement of the model's
PLAIN_WORDS = {"uncertain": "uncertain", "no-face": "no face", "error": "error"}


def verdict_text(verdict: Verdict, reliability: Reliability, proven: bool = False) -> str:
    """The verdict as a person should read it: "leans fake"/"leans real" when the model is weak or unmeasured.

    proven: the verdict rests on proof of synthesis (a provenance mark), not on the model, so it is stated plainly.

        >>> weak = Reliability(level="weak", auc=0.62)
        >>> verdict_text("fake", weak), verdict_text("real", weak), verdict_text("fake", weak, proven=True)
        ('leans fake', 'leans real', 'fake')
        >>> verdict_text("fake", Reliability(level="reliable", auc=0.95)), verdict_text("uncertain", weak)
        ('fake', 'uncertain')
    """
    if verdict in PLAIN_WORDS:
        return PLAIN_WORDS[verdict]
    if proven or reliability.confident:
        return verdict
    return f"leans {verdict}"


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
