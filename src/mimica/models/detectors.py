"""The detectors a scan runs: each is a model card (with its ONNX file) of a registered kind.

A kind is the way a detector turns the faces of one track into a probability; the card says which kind it is,
what it looks at and how to word its findings. A new detector of an existing kind is a new card in
`mimica/models/weights/` (or a card path handed to the Scanner): the scan pipeline does not change. Every
detector gets the same collected faces (`mimica.scan.collect.Collected`): crops in its own recipe, the landmarks
and boxes over time, and grey copies of the frames.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np
from numpy.typing import NDArray

from mimica.align import AlignRecipe
from mimica.errors import ModelError
from mimica.models.card import ModelCard, VideoHead
from mimica.models.classifier import Classifier
from mimica.models.registry import DEFAULT_MODEL, WEIGHTS, available_models, load_card, load_model
from mimica.models.reliability import Reliability

if TYPE_CHECKING:
    from mimica.scan.collect import Collected, TrackData


@dataclass
class TrackScore:
    """One detector's view of one face track: calibrated probability per scored face (`faces`: their positions
    in the track), and for the whole track (None when the detector cannot judge it)."""

    face_probs: NDArray[np.float32]
    probability: float | None
    faces: NDArray[np.int64] | None = None  # None: every face of the track, in order

    def by_face(self) -> dict[int, float]:
        idx = range(len(self.face_probs)) if self.faces is None else self.faces
        return {int(k): float(p) for k, p in zip(idx, self.face_probs, strict=True)}


def evenly(n: int, k: int) -> NDArray[np.int64]:
    """Positions of k faces evenly spread over a track of n (all of them when k is 0 or n <= k); training picks
    the faces of a clip the same way."""
    if k <= 0 or n <= k:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, k).round().astype(np.int64))


class Detector:
    """A classifier of aligned face crops plus the rule that turns one track's crops into a probability."""

    kind: ClassVar[str] = ""
    #: how it turns a track's faces into one score, in the reason's words ("the mean of 32 faces")
    rule: ClassVar[str] = "the mean of"

    def __init__(self, classifier: Classifier) -> None:
        self.classifier = classifier
        self.card: ModelCard = classifier.card
        self.name = self.card.name
        self.reliability: Reliability = self.card.reliability()

    @property
    def recipe(self) -> AlignRecipe:
        return self.classifier.recipe

    def logits(self, crops: NDArray[np.uint8]) -> NDArray[np.float32]:
        return self.classifier.logits(crops)

    def pick(self, n: int) -> NDArray[np.int64]:
        """The faces of an n-face track this detector scores (its card's `faces_per_track`, evenly spread)."""
        return evenly(n, self.card.detector.faces_per_track)

    def judge(self, track: TrackData, logits: NDArray[np.float32], faces: NDArray[np.int64],
              collected: Collected) -> TrackScore:
        """`logits` of the track's faces at positions `faces` (this detector's `pick`)."""
        raise NotImplementedError


KINDS: dict[str, type[Detector]] = {}


def register_kind(name: str) -> Callable[[type[Detector]], type[Detector]]:
    def deco(cls: type[Detector]) -> type[Detector]:
        cls.kind = name
        KINDS[name] = cls
        return cls

    return deco


@register_kind("frame")
class FrameDetector(Detector):
    """A track is as suspect as the mean of its faces' calibrated probabilities (DeepfakeBench's video rule)."""

    def judge(self, track: TrackData, logits: NDArray[np.float32], faces: NDArray[np.int64],
              collected: Collected) -> TrackScore:
        probs = self.classifier.calibrate(logits)
        return TrackScore(probs, float(np.mean(probs)) if len(probs) else None, faces)


def apply_video_head(head: VideoHead, x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Probabilities of rows x (n, features) under the card's video head; NaN cues take the training mean."""
    x = np.atleast_2d(np.asarray(x, np.float64))
    fill, mean, scale = (np.asarray(v, np.float64) for v in (head.fill, head.mean, head.scale))
    z = ((np.where(np.isnan(x), fill, x) - mean) / scale) @ np.asarray(head.coef) + head.intercept
    return np.asarray(1 / (1 + np.exp(-z)), np.float64)


@register_kind("frame+temporal")
class TemporalDetector(FrameDetector):
    """Face scores and cues over time (mimica.models.temporal) through the card's video head. A track too short
    for cues over time (a photo, a face glimpsed in a few frames) is not judged: the detector was measured on
    videos only, and its face scores alone flagged a genuine studio portrait (scikit-image's astronaut) at 0.95."""

    rule: ClassVar[str] = "the texture and motion over time of"

    def __init__(self, classifier: Classifier) -> None:
        super().__init__(classifier)
        if self.card.detector.video_head is None:
            raise ModelError(f"{self.name}: a 'frame+temporal' detector needs a video_head in its card")
        self.head: VideoHead = self.card.detector.video_head

    def judge(self, track: TrackData, logits: NDArray[np.float32], faces: NDArray[np.int64],
              collected: Collected) -> TrackScore:
        from mimica.models.temporal import track_features

        score = super().judge(track, logits, faces, collected)
        if len(track) < self.head.min_faces:
            return TrackScore(score.face_probs, None, faces)
        cues = track_features(track.times, track.boxes, track.mesh, track.crops_of(self.recipe),
                              [collected.grey[s] for s in track.slots],
                              [collected.grey_scale[s] for s in track.slots])
        x = np.concatenate([[float(np.mean(logits))], cues])
        return TrackScore(score.face_probs, float(apply_video_head(self.head, x)[0]), faces)


def load_detector(name_or_path: str | Path | Classifier | Detector = DEFAULT_MODEL, threads: int = 2) -> Detector:
    """A shipped detector by name, or a card path; its card's `detector.kind` picks the scoring rule."""
    if isinstance(name_or_path, Detector):
        return name_or_path
    classifier = name_or_path if isinstance(name_or_path, Classifier) else load_model(name_or_path, threads=threads)
    kind = classifier.card.detector.kind
    if kind not in KINDS:
        raise ModelError(f"{classifier.card.name}: unknown detector kind {kind!r}; known: {sorted(KINDS)}")
    return KINDS[kind](classifier)


def default_detectors() -> list[str]:
    """The shipped detectors every scan runs: the default blend model first, then every other card marked
    `default` (a new card is picked up without touching the scan)."""
    names = [DEFAULT_MODEL] if (WEIGHTS / f"{DEFAULT_MODEL}.json").is_file() else []
    for name in available_models():
        if name not in names and load_card(WEIGHTS / f"{name}.json").detector.default:
            names.append(name)
    return names


def companions(first: str) -> list[str]:
    """The other default detectors a scan runs beside its first one (named `first` in its card): the scan and
    the batch's record identity read the same list."""
    return [n for n in default_detectors() if n not in (DEFAULT_MODEL, first)]
