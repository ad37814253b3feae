"""The face classifier on onnxruntime: crops in, calibrated probabilities of manipulation out."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from mimica.errors import ModelError
from mimica.models.card import ModelCard, sha256_file


class Classifier:
    """Scores aligned face crops. Preprocessing comes from the card.

    threads: onnxruntime intra-op threads; more is faster on big batches, 2 matches the target laptops.
    """

    def __init__(self, card: ModelCard, onnx_path: str | Path, threads: int = 2, verify: bool = True) -> None:
        import onnxruntime as ort

        p = Path(onnx_path)
        if not p.is_file():
            raise ModelError(f"{p}: model file missing; reinstall mimica")
        if verify and sha256_file(p) != card.sha256:
            raise ModelError(f"{p}: checksum does not match its model card; the file is corrupt, reinstall mimica")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.log_severity_level = 3
        try:
            self._session = ort.InferenceSession(str(p), opts, providers=["CPUExecutionProvider"])
        except Exception as err:  # onnxruntime raises its own untyped errors
            raise ModelError(f"{p}: onnxruntime could not load the model ({err})") from err
        self.card = card
        self.path = p
        self._input = self._session.get_inputs()[0].name
        spec = card.input
        self._mean = np.array(spec.mean, np.float32).reshape(1, 3, 1, 1) * 255
        self._std = np.array(spec.std, np.float32).reshape(1, 3, 1, 1) * 255

    @property
    def recipe(self):  # type: ignore[no-untyped-def]
        return self.card.align.recipe()

    def preprocess(self, crops: NDArray[np.uint8]) -> NDArray[np.float32]:
        """uint8 RGB (n, s, s, 3) -> normalised float (n, 3, s, s), as the card says."""
        size = self.card.input.size
        if crops.ndim != 4 or crops.shape[1:] != (size, size, 3):
            raise ValueError(f"expected crops (n, {size}, {size}, 3), got {crops.shape}")
        x = crops[..., ::-1] if self.card.input.color_order == "BGR" else crops
        x = np.ascontiguousarray(x.transpose(0, 3, 1, 2), dtype=np.float32)
        return (x - self._mean) / self._std

    def logits(self, crops: NDArray[np.uint8], batch: int = 32) -> NDArray[np.float32]:
        """One logit per crop; with the card's `tta = "flip"` the mean over the crop and its mirror image (the
        training flips faces, so both views are faces the model knows; twice the cost)."""
        if len(crops) == 0:
            return np.zeros(0, np.float32)
        z = self._run(crops, batch)
        if self.card.tta == "flip":
            z = ((z + self._run(crops[:, :, ::-1], batch)) / 2).astype(np.float32)
        return z

    def _run(self, crops: NDArray[np.uint8], batch: int) -> NDArray[np.float32]:
        out = [
            self._session.run(None, {self._input: self.preprocess(crops[i : i + batch])})[0].reshape(-1)
            for i in range(0, len(crops), batch)
        ]
        return np.concatenate(out).astype(np.float32)

    def calibrate(self, logits: NDArray[np.float32]) -> NDArray[np.float32]:
        c = self.card.calibration
        z = logits if c.method == "none" else c.a * logits + c.b
        return (1.0 / (1.0 + np.exp(-z))).astype(np.float32)

    def predict(self, crops: NDArray[np.uint8]) -> NDArray[np.float32]:
        """Calibrated probability of manipulation per crop."""
        return self.calibrate(self.logits(crops))
