"""The scan result: the versioned schema of `mimica scan --json` (one object per file, JSON Lines).

Schema history: 1 -- first release. Keys other tools rely on are never removed or renamed within a major
version; new keys may be added. Added within 1: `verdict_text` (file and tracks), `reliability`, `tracks[].counted`,
`few_faces`, `reliability.not_measured_on`.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field, model_validator

from mimica.models.reliability import Reliability

SCHEMA_VERSION = "1"

Verdict = Literal["fake", "real", "uncertain", "no-face", "error"]


class Detection(BaseModel):
    time_s: float
    frame_index: int
    box: tuple[float, float, float, float] = Field(description="x1, y1, x2, y2 in pixels of the upright frame")
    probability: float = Field(ge=0, le=1, description="calibrated probability of manipulation of this face, by "
                                                       "the first detector (the blend detector)")
    detector_score: float = 0.0
    scores: dict[str, float] = Field(default_factory=dict, description="each detector's calibrated probability "
                                                                       "for this face, by detector name")


class DetectorVerdict(BaseModel):
    """One detector's finding on a track or a file, beside the fused verdict."""

    name: str
    label: str = Field("", description="what people call it, e.g. 'generated-face detector'")
    probability: float | None = Field(None, ge=0, le=1, description="null when it cannot judge")
    verdict: Verdict | None = None
    words: str = Field("", description="its finding in plain words, from its card, e.g. 'likely generated'")
    fake_threshold: float | None = Field(None, description="its `fake` threshold (its card's, or --threshold)")
    real_threshold: float | None = Field(None, description="its `real` threshold (its card's, or --threshold)")
    reliability: Reliability = Field(default_factory=Reliability)


class Track(BaseModel):
    id: int
    verdict: Verdict
    verdict_text: str = Field("", description="the verdict in words (docs/scan.md): 'leans fake' from a weak model")
    probability: float = Field(ge=0, le=1)
    counted: bool = Field(True, description="false for a face seen too briefly for the file rule to count it")
    detections: list[Detection]
    detectors: list[DetectorVerdict] = Field(default_factory=list)
    decided_by: str = Field("", description="the detector whose finding set the fused verdict")


class FrameCounts(BaseModel):
    sampled: int = 0
    decoded: int = 0
    failed: int = 0


class ModelRef(BaseModel):
    name: str = ""
    version: str = ""


class MediaFacts(BaseModel):
    kind: str = ""
    container: str = ""
    codec: str = ""
    width: int = 0
    height: int = 0
    duration_s: float | None = None
    fps: float | None = None


class ScanResult(BaseModel):
    schema_version: str = SCHEMA_VERSION
    path: str
    verdict: Verdict
    verdict_text: str = Field("", description="what people read: 'leans fake'/'leans real' when the model is weak, "
                              "'fake' when provenance proves synthesis (docs/scan.md)")
    probability: float | None = Field(None, ge=0, le=1, description="null only for no-face and error")
    few_faces: bool = Field(False, description="the verdict rests on a video track of fewer faces than docs/scan.md "
                            "asks for (mimica.scan.aggregate.MIN_FACES); verdict_text says '(few faces)'")
    reason: str = ""
    thresholds: dict[str, float] = Field(default_factory=dict)
    frames: FrameCounts = FrameCounts()
    tracks: list[Track] = Field(default_factory=list)
    detectors: list[DetectorVerdict] = Field(default_factory=list, description="each detector over the file's "
                                             "main tracks; the fused verdict is the rule of docs/scan.md")
    decided_by: str = Field("", description="the detector (or 'watermark') that set the verdict")
    provenance: dict[str, Any] = Field(default_factory=dict)
    model: ModelRef = ModelRef()
    reliability: Reliability = Field(default_factory=Reliability,
                                     description="the model's measured video AUC, from its card")
    media: MediaFacts = MediaFacts()
    timings_s: dict[str, float] = Field(default_factory=dict)
    error: str | None = None

    @model_validator(mode="after")
    def _words(self) -> ScanResult:
        """Fills the verdict words left empty from the verdicts, the reliability and the number of faces (the rule
        of docs/scan.md)."""
        from mimica.scan.aggregate import few, rests_on_few_faces, verdict_text

        video = self.media.kind == "video"
        if self.verdict in ("fake", "real", "uncertain") and rests_on_few_faces(self.tracks, video):
            self.few_faces = True
        if not self.verdict_text:
            self.verdict_text = verdict_text(self.verdict, self.reliability, few_faces=self.few_faces)
        for t in self.tracks:
            if not t.verdict_text:
                t.verdict_text = verdict_text(t.verdict, self.reliability, few_faces=few(t, video))
        return self

    def detectors_text(self) -> str:
        """Each detector's finding in words, the deciding one marked, e.g. "blend detector 0.43 unclear;
        generated-face detector 0.91 likely generated (decided)"."""
        parts = []
        for d in self.detectors:
            p = d.words if d.probability is None else f"{d.probability:.2f} {d.words}"
            parts.append(f"{d.label or d.name} {p}" + (" (decided)" if d.name == self.decided_by else ""))
        return "; ".join(parts)

    def summary(self) -> str:
        """The one-line human form, with the model's measured reliability beside the verdict."""
        if self.verdict == "error":
            return f"{self.path}: error: {self.error}"
        p = "" if self.probability is None else f" score {self.probability:.2f}"
        faces = f", {len(self.tracks)} face track{'s' if len(self.tracks) != 1 else ''}"
        reason = f" ({self.reason})" if self.reason else ""
        found = f"; {self.detectors_text()}" if len(self.detectors) > 1 else ""
        return f"{self.path}: {self.verdict_text}{p}{faces}{reason}{found}; model {self.reliability.text()}"
