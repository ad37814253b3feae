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
    probability: float = Field(ge=0, le=1, description="calibrated probability of manipulation of this face")
    detector_score: float = 0.0


class Track(BaseModel):
    id: int
    verdict: Verdict
    verdict_text: str = Field("", description="the verdict in words (docs/scan.md): 'leans fake' from a weak model")
    probability: float = Field(ge=0, le=1)
    counted: bool = Field(True, description="false for a face seen too briefly for the file rule to count it")
    detections: list[Detection]


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

    def summary(self) -> str:
        """The one-line human form, with the model's measured reliability beside the verdict."""
        if self.verdict == "error":
            return f"{self.path}: error: {self.error}"
        p = "" if self.probability is None else f" score {self.probability:.2f}"
        faces = f", {len(self.tracks)} face track{'s' if len(self.tracks) != 1 else ''}"
        reason = f" ({self.reason})" if self.reason else ""
        return f"{self.path}: {self.verdict_text}{p}{faces}{reason}; model {self.reliability.text()}"
