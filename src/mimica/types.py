"""Values that flow between the stages: media -> frames -> faces -> crops -> scores.

`Faces` is one validated, columnar record per frame (the supervision `Detections` idea): numpy arrays with one
row per face. An empty frame is an empty `Faces`, never None.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

#: landmark count of the dense mesh (mediapipe FaceMesh topology)
N_MESH = 468


@dataclass(frozen=True)
class Frame:
    """One decoded frame: RGB uint8 (h, w, 3), its index in decode order and its presentation time."""

    image: NDArray[np.uint8]
    index: int
    time_s: float

    def __post_init__(self) -> None:
        img = self.image
        if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
            raise ValueError(f"expected an RGB uint8 image (h, w, 3), got {img.dtype} {img.shape}")


def _check(name: str, arr: NDArray, shape_tail: tuple[int, ...], n: int | None) -> None:
    """n=None: any row count (the array that defines n), shown as "n" in the message."""
    if arr.ndim != 1 + len(shape_tail) or n not in (None, arr.shape[0]) or tuple(arr.shape[1:]) != shape_tail:
        expected = str((n, *shape_tail)) if n is not None else str(("n", *shape_tail)).replace("'", "")
        raise ValueError(f"{name}: expected {expected}, got {arr.shape}")


@dataclass(frozen=True)
class Faces:
    """The faces found in one frame, one row each.

    xyxy: boxes in pixels (n, 4); points5: eyes (subject's right, left), nose tip, mouth corners (right, left)
    in pixels (n, 5, 2); mesh: dense landmarks (n, 468, 2) in pixels; score: detector confidence (n,);
    track_id: -1 until a tracker assigns one.
    """

    xyxy: NDArray[np.float32] = field(default_factory=lambda: np.zeros((0, 4), np.float32))
    points5: NDArray[np.float32] = field(default_factory=lambda: np.zeros((0, 5, 2), np.float32))
    mesh: NDArray[np.float32] = field(default_factory=lambda: np.zeros((0, N_MESH, 2), np.float32))
    score: NDArray[np.float32] = field(default_factory=lambda: np.zeros((0,), np.float32))
    track_id: NDArray[np.int64] = field(default_factory=lambda: np.zeros((0,), np.int64))

    def __post_init__(self) -> None:
        _check("xyxy", self.xyxy, (4,), None)
        n = len(self.xyxy)
        _check("points5", self.points5, (5, 2), n)
        _check("mesh", self.mesh, (N_MESH, 2), n)
        _check("score", self.score, (), n)
        _check("track_id", self.track_id, (), n)

    def __len__(self) -> int:
        return len(self.xyxy)

    @classmethod
    def empty(cls) -> Faces:
        return cls()

    def with_tracks(self, track_id: NDArray[np.int64]) -> Faces:
        return Faces(self.xyxy, self.points5, self.mesh, self.score, np.asarray(track_id, np.int64))

    def __getitem__(self, idx: int | slice | NDArray) -> Faces:
        if isinstance(idx, int):
            idx = slice(idx, idx + 1)
        return Faces(self.xyxy[idx], self.points5[idx], self.mesh[idx], self.score[idx], self.track_id[idx])

    @property
    def area(self) -> NDArray[np.float32]:
        return (self.xyxy[:, 2] - self.xyxy[:, 0]) * (self.xyxy[:, 3] - self.xyxy[:, 1])
