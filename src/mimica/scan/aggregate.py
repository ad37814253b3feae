"""From face scores to verdicts: frame -> track -> file. The rule is documented in docs/scan.md.

- A track's probability is the mean of its faces' calibrated probabilities (the field's video-level rule,
  DeepfakeBench: average of frame scores).
- The file's probability is the highest track probability among its main tracks: a video is as suspect as its
  most suspect person. Main tracks hold at least `MIN_TRACK_SHARE` of the longest track's faces (and at least two
  in a video), so a face glimpsed once in a crowd cannot decide the verdict alone.
- Verdicts: `fake` at or above the fake threshold, `real` below the real threshold, `uncertain` between.
- Words (`verdict_text`, what people read): a model whose measured reliability is below `moderate` (video AUC
  under 0.8, or not measured) never states a bare `fake`/`real`: it says "leans fake"/"leans real". Proof of
  synthesis from provenance (mimica's watermark) is not a model judgement and says "fake" plainly. A video
  whose deciding track holds fewer than `MIN_FACES` faces says so: "leans fake (few faces)".
  `verdict_text` is the one function that words a verdict: the CLI, the JSON, the reports, their index and
  the web app all show what it returns, and nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from mimica.models.reliability import Reliability
from mimica.scan.result import Track, Verdict

MIN_TRACK_SHARE = 0.25
#: a video's verdict rests on few faces when the track that decided it holds fewer faces than this; its words say
#: so ("leans fake (few faces)"). Chosen from the validation videos (docs/scan.md): with fewer faces the mean of
#: a track lands in another verdict band than the mean of all its faces too often
MIN_FACES = 8
FEW_FACES = "few faces"


def verdict_of(probability: float, real: float, fake: float) -> Verdict:
    if probability >= fake:
        return "fake"
    if probability < real:
        return "real"
    return "uncertain"


#: the words of verdicts that are not a judgement of the model's
PLAIN_WORDS = {"uncertain": "uncertain", "no-face": "no face", "error": "error"}


def verdict_text(verdict: Verdict | str, reliability: Reliability, proven: bool = False,
                 few_faces: bool = False) -> str:
    """The verdict as a person should read it: "leans fake"/"leans real" when the model is weak or unmeasured.

    proven: the verdict rests on proof of synthesis (a provenance mark), not on the model, so it is stated plainly.
    few_faces: the verdict rests on fewer than `MIN_FACES` faces of a video (`rests_on_few_faces`).

        >>> weak = Reliability(level="weak", auc=0.62)
        >>> verdict_text("fake", weak), verdict_text("real", weak), verdict_text("fake", weak, proven=True)
        ('leans fake', 'leans real', 'fake')
        >>> verdict_text("fake", Reliability(level="reliable", auc=0.95)), verdict_text("uncertain", weak)
        ('fake', 'uncertain')
        >>> verdict_text("fake", weak, few_faces=True), verdict_text("uncertain", weak, few_faces=True)
        ('leans fake (few faces)', 'uncertain (few faces)')
    """
    if verdict in PLAIN_WORDS:
        words = PLAIN_WORDS[verdict]
    elif proven or reliability.confident:
        words = str(verdict)
    else:
        words = f"leans {verdict}"
    if few_faces and not proven and verdict in ("fake", "real", "uncertain"):
        words += f" ({FEW_FACES})"
    return words


def few(track: Track | None, is_video: bool) -> bool:
    """Whether a verdict resting on this track rests on few faces: a video track under `MIN_FACES` faces (a
    picture holds each face once, so the rule is for videos only)."""
    return is_video and track is not None and len(track.detections) < MIN_FACES


def rests_on_few_faces(tracks: Sequence[Track], is_video: bool) -> bool:
    """Whether the file's verdict rests on few faces: the track that decided it (`file_probability`) has fewer
    than `MIN_FACES` faces in a video."""
    return few(file_probability(tracks, is_video)[1], is_video)


def reason_of(top: Track, tracks: Sequence[Track], is_video: bool, sampled: int, rule: str = "the mean of") -> str:
    """The one line that says which face decided the file's verdict and on how much, without repeating the score
    (every surface shows the score beside it).

        >>> from mimica.scan.result import Detection
        >>> t = Track(id=0, verdict="fake", probability=0.8, detections=[
        ...     Detection(time_s=i, frame_index=i, box=(0, 0, 1, 1), probability=0.8) for i in range(3)])
        >>> reason_of(t, [t], True, 32)
        'decided by face track 0: the mean of 3 faces, from 3 of 32 sampled frames (few: a verdict rests on 8 or more)'
    """
    n = len(top.detections)
    if not is_video:
        if len(tracks) == 1:
            return "decided by the one face in the picture"
        return f"decided by face {top.id}, the most suspect of the {len(tracks)} faces in the picture"
    frames = len({d.frame_index for d in top.detections})
    who = f"decided by face track {top.id}" + (f", the most suspect of {len(tracks)}" if len(tracks) > 1 else "")
    line = f"{who}: {rule} {n} face{'s' if n != 1 else ''}, from {frames} of {sampled} sampled frames"
    if few(top, is_video):
        line += f" (few: a verdict rests on {MIN_FACES} or more)"
    return line


def track_note(track: Track, proven: bool) -> str:
    """Why a track row does not decide the file's verdict ("" when it counts): seen too briefly, or the file's
    verdict rests on provenance (mimica's watermark), so the track shows only the model's own view."""
    if proven:
        return "the watermark decides"
    if not track.counted:
        return "seen too briefly"
    return ""


def unmeasured_kinds(verdict: Verdict | str, reliability: Reliability, proven: bool = False,
                     about: str = "this verdict says") -> str:
    """For a verdict that clears a file or cannot tell (real, uncertain), the sentence naming the kinds of fakes
    the model was never measured on (its card's `not_measured_on`): such a verdict says nothing about them.
    "" for other verdicts, proven files, or a card that names none. about: the sentence's subject and verb.

        >>> r = Reliability(level="weak", not_measured_on=["fully generated faces"])
        >>> unmeasured_kinds("real", r)
        'The model was never measured on fully generated faces: this verdict says nothing about them.'
        >>> unmeasured_kinds("fake", r)
        ''
    """
    kinds = [k for k in reliability.not_measured_on if k]
    if proven or verdict not in ("real", "uncertain") or not kinds:
        return ""
    listed = kinds[0] if len(kinds) == 1 else ", ".join(kinds[:-1]) + " or " + kinds[-1]
    return f"The model was never measured on {listed}: {about} nothing about them."


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
