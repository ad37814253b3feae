"""Test material for the report and web tests, made on the fly (nothing is committed):

- `tiny_model`: a minute ONNX face classifier with a model card, whose logit is the mean of the normalised
  pixels in a fixed band of the crop (`BAND`). It says nothing about deepfakes, but it runs through the real
  onnxruntime `Classifier`, so the scan, the report and the web app can be tested without the shipped model,
  and an occlusion map must light up exactly inside `BAND`.
- pictures and videos of scikit-image's astronaut (public domain, NASA), which has a face mediapipe finds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tests.facemedia import astronaut
from tests.mediagen import write_frames

#: rows and columns of the 128x128 crop the tiny model looks at: around the eyes and the nose
BAND = (slice(40, 72), slice(24, 104))


def tiny_model(folder: Path, a: float = 3.0, mean: tuple[float, float, float] = (0.5, 0.5, 0.5),
               color_order: str = "RGB", name: str = "tiny-test", metrics: dict | None = None,
               not_measured_on: tuple[str, ...] = ()) -> Path:
    """Writes <name>.onnx and <name>.json into `folder`; returns the card's path.

    metrics: the card's `metrics` (e.g. `video_metrics(0.7)`); none by default, so its reliability is unmeasured.
    not_measured_on: the card's kinds of fakes it was never measured on."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    from mimica.models.card import Calibration, InputSpec, ModelCard, Thresholds, sha256_file

    weights = np.zeros((1, 3, 128, 128), np.float32)
    weights[:, :, BAND[0], BAND[1]] = 1.0 / (3 * 32 * 80)
    graph = helper.make_graph(
        [helper.make_node("Mul", ["input", "w"], ["m"]),
         helper.make_node("ReduceSum", ["m", "axes"], ["logit"], keepdims=0)],
        "tiny",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["n", 3, 128, 128])],
        [helper.make_tensor_value_info("logit", TensorProto.FLOAT, ["n"])],
        [numpy_helper.from_array(weights, "w"), numpy_helper.from_array(np.array([1, 2, 3], np.int64), "axes")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    folder.mkdir(parents=True, exist_ok=True)
    onnx_path = folder / f"{name}.onnx"
    onnx.save(model, onnx_path)
    card = ModelCard(
        name=name, version="0.0.1", onnx_file=onnx_path.name, sha256=sha256_file(onnx_path),
        architecture="test fixture: mean of a band of pixels", input=InputSpec(mean=mean, color_order=color_order),
        calibration=Calibration(method="platt", a=a, b=0.0, fitted_on="nothing (test fixture)"),
        thresholds=Thresholds(real=0.4, fake=0.6, rule="test fixture"),
        training={"recipe": "none: a fixed linear map", "data": [{"name": "none", "licence": "n/a"}]},
        intended_use="tests only", limitations=["detects nothing"], metrics=metrics or {},
        not_measured_on=list(not_measured_on),
    )
    card.save(folder / f"{name}.json")
    return folder / f"{name}.json"


def video_metrics(auc: float, ci: tuple[float, float] | None = None, n: int = 40, dataset: str = "ffpp") -> dict:
    """A model card's `metrics` with one evaluated set at this video AUC (the layout `mimica evaluate` writes)."""
    lo, hi = ci or (max(0.0, auc - 0.1), min(1.0, auc + 0.05))
    return {"protocol": "test fixture", dataset: {"n_videos": n, "video": {"n": n, "auc": auc, "auc_ci95": [lo, hi]},
                                                  "by_compression": {"c23": {"auc": auc, "auc_ci95": [lo, hi],
                                                                             "n": n // 2}}}}


def pick_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The model scans in tests use: $MIMICA_TEST_MODEL (a card path) if set, else the shipped model when its
    weights are installed, else `tiny_model` (plumbing only; skipped without the `onnx` package)."""
    import os

    from mimica.models import DEFAULT_MODEL
    from mimica.models.registry import WEIGHTS

    if os.environ.get("MIMICA_TEST_MODEL"):
        return Path(os.environ["MIMICA_TEST_MODEL"])
    shipped = WEIGHTS / f"{DEFAULT_MODEL}.json"
    if shipped.is_file() and (WEIGHTS / f"{DEFAULT_MODEL}.onnx").is_file():
        return shipped
    return tiny_model(tmp_path_factory.mktemp("model"))


def astronaut_png(path: Path, size: int = 512) -> Path:
    img = Image.fromarray(astronaut())
    if size != 512:
        img = img.resize((size, size))
    img.save(path)
    return path


def astronaut_video(path: Path, seconds: float = 2.0, fps: int = 10, size: int = 384) -> Path:
    """The astronaut drifting slowly sideways (so consecutive frames differ), H.264 in MP4."""
    base = np.asarray(Image.fromarray(astronaut()).resize((size, size)))
    frames = [np.roll(base, i, axis=1) for i in range(max(1, int(seconds * fps)))]
    return write_frames(path, frames, fps, options={"preset": "ultrafast", "crf": "23"})
