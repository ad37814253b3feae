"""The model card: a JSON record beside each ONNX file that drives preprocessing and the verdict.

Inference reads input size, colour order, normalisation, the alignment recipe, calibration and thresholds from
here, never from constants in the caller, so training and inference cannot drift apart.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, field_validator

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
    licence: str = "Apache-2.0"

    @classmethod
    def load(cls, path: str | Path) -> ModelCard:
        return cls.model_validate_json(Path(path).read_text())

    def reliability(self) -> Reliability:
        """How far to trust this model's verdicts: its weakest measured video AUC (mimica.models.reliability)."""
        return reliability_of(self.metrics)

    def save(self, path: str | Path) -> None:
        write_atomic(path, self.model_dump_json(indent=2) + "\n")


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()
