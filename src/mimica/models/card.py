"""The model card: a JSON record beside each ONNX file that drives preprocessing and the verdict.

Inference reads input size, colour order, normalisation, the alignment recipe, calibration and thresholds from
here, never from constants in the caller, so training and inference cannot drift apart.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator, model_validator

from mimica.align import AlignRecipe
from mimica.atomic import write_atomic
from mimica.models.reliability import Reliability, reliability_of


class InputSpec(BaseModel):
    size: int = 128
    color_order: Literal["RGB", "BGR"] = "RGB"
    mean: tuple[float, float, float] = (0.5, 0.5, 0.5)
    std: tuple[float, float, float] = (0.5, 0.5, 0.5)
    layout: Literal["NCHW"] = "NCHW"


class AlignSpec(BaseModel):
    template: str = "arcface"
    margin: float = 1.3
    size: int = 128

    def recipe(self) -> AlignRecipe:
        return AlignRecipe(size=self.size, margin=self.margin, template=self.template)


class Calibration(BaseModel):
    """probability = sigmoid(a * logit + b) (Platt scaling), fitted on the validation split's frame scores."""

    method: Literal["platt", "none"] = "platt"
    a: float = 1.0
    b: float = 0.0
    fitted_on: str = ""


class Thresholds(BaseModel):
    """On calibrated probabilities: `fake` at or above `fake`, `real` below `real`, `uncertain` between."""

    real: float = Field(0.35, ge=0, le=1)
    fake: float = Field(0.65, ge=0, le=1)
    rule: str = ""

    @field_validator("fake")
    @classmethod
    def _ordered(cls, v: float, info) -> float:  # type: ignore[no-untyped-def]
        if "real" in info.data and v < info.data["real"]:
            raise ValueError(f"fake threshold {v} is below the real threshold {info.data['real']}")
        return v


class VideoHead(BaseModel):
    """A logistic regression over one track: [mean frame logit, cues over time] -> probability.

    Missing cues (NaN: no background to measure) take `fill`, the training mean. Tracks with fewer than
    `min_faces` faces are judged by the frame model alone (the card's calibration)."""

    features: list[str]
    fill: list[float]
    mean: list[float]
    scale: list[float]
    coef: list[float]
    intercept: float
    min_faces: int = 8

    @model_validator(mode="after")
    def _lengths(self) -> VideoHead:
        n = len(self.features)
        for name in ("fill", "mean", "scale", "coef"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"video_head.{name} has {len(getattr(self, name))} values for {n} features")
        return self


class DetectorSpec(BaseModel):
    """What kind of evidence a model is, in the registry of detectors a scan runs (mimica.models.detectors)."""

    kind: str = Field("frame", description="the scoring type: 'frame' (mean of face scores) or 'frame+temporal' "
                                           "(face scores and cues over time through `video_head`)")
    label: str = Field("blend detector", description="what people call it in the report")
    looks_at: str = Field("the blending boundary and colour mismatch that pasting a face leaves",
                          description="one line: the evidence it reads")
    says: dict[str, str] = Field(default_factory=lambda: {
        "fake": "signs of a pasted face", "uncertain": "unclear", "real": "no sign of a pasted face"},
        description="its finding in words by verdict; 'none' for a track it cannot judge")
    default: bool = Field(True, description="run by every scan unless the caller names its detectors")
    faces_per_track: int = Field(0, ge=0, description="faces of a track it scores, evenly spread (0: all): "
                                                      "as many as its training saw per clip")
    video_head: VideoHead | None = None


class ModelCard(BaseModel):
    name: str
    version: str
    onnx_file: str
    sha256: str
    architecture: str = ""
    parameters: int = 0
    input: InputSpec = InputSpec()
    align: AlignSpec = AlignSpec()
    output: str = "one logit per face: evidence of manipulation"
    tta: Literal["none", "flip"] = "none"  # "flip": a face's logit is the mean of the crop's and its mirror's
    calibration: Calibration = Calibration()
    thresholds: Thresholds = Thresholds()
    aggregation: str = ""
    training: dict = Field(default_factory=dict)
    metrics: dict = Field(default_factory=dict)
    intended_use: str = ""
    limitations: list[str] = Field(default_factory=list)
    #: kinds of fakes no evaluation of this model covered: a "leans real" or "uncertain" says nothing about them,
    #: and the header of such a verdict names them (mimica.scan.aggregate.unmeasured_kinds)
    not_measured_on: list[str] = Field(default_factory=list)
    licence: str = "Apache-2.0"
    detector: DetectorSpec = DetectorSpec()

    @classmethod
    def load(cls, path: str | Path) -> ModelCard:
        return cls.model_validate_json(Path(path).read_text())

    def reliability(self) -> Reliability:
        """How far to trust this model's verdicts: its weakest measured video AUC (mimica.models.reliability)."""
        return reliability_of(self.metrics).model_copy(update={"not_measured_on": list(self.not_measured_on)})

    def save(self, path: str | Path) -> None:
        write_atomic(path, self.model_dump_json(indent=2) + "\n")


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
