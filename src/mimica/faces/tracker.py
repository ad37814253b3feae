"""Links faces across sampled frames into tracks, one per person."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.optimize import linear_sum_assignment

from mimica.types import Faces


def iou_matrix(a: NDArray[np.float32], b: NDArray[np.float32]) -> NDArray[np.float32]:
    """Pairwise intersection over union of boxes a (n, 4) and b (m, 4)."""
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-6)


class IoUTracker:
    """Greedy-optimal (Hungarian) matching of boxes to live tracks.

    Sampled frames can be a second apart, so a match is accepted on overlap (IoU >= min_iou) or, failing that,
    when the centres are closer than `max_center_dist` box sizes. A track survives `max_missed` samples
    without a detection (a blink of the detector) before it is closed.
    """

    def __init__(self, min_iou: float = 0.2, max_center_dist: float = 0.75, max_missed: int = 2) -> None:
        self.min_iou = min_iou
        self.max_center_dist = max_center_dist
        self.max_missed = max_missed
        self.reset()

    def reset(self) -> None:
        self._boxes: dict[int, NDArray[np.float32]] = {}
        self._missed: dict[int, int] = {}
        self._next_id = 0

    def update(self, faces: Faces) -> Faces:
        """Returns the same faces with `track_id` set."""
        ids = np.full(len(faces), -1, np.int64)
        live = list(self._boxes)
        if len(faces) and live:
            prev = np.stack([self._boxes[t] for t in live])
            iou = iou_matrix(faces.xyxy, prev)
            c_new = (faces.xyxy[:, :2] + faces.xyxy[:, 2:]) / 2
            c_old = (prev[:, :2] + prev[:, 2:]) / 2
            size = np.sqrt(np.maximum((prev[:, 2] - prev[:, 0]) * (prev[:, 3] - prev[:, 1]), 1.0))
            dist = np.linalg.norm(c_new[:, None] - c_old[None], axis=2) / size[None]
            ok = (iou >= self.min_iou) | (dist <= self.max_center_dist)
            cost = np.where(ok, (1 - iou) + dist, 1e6)
            rows, cols = linear_sum_assignment(cost)
            for r, c in zip(rows, cols, strict=True):
                if ok[r, c]:
                    ids[r] = live[c]
        for i in range(len(faces)):
            if ids[i] < 0:
                ids[i] = self._next_id
                self._next_id += 1
            self._boxes[int(ids[i])] = faces.xyxy[i]
            self._missed[int(ids[i])] = 0
        matched = set(ids.tolist())
        for t in live:
            if t not in matched:
                self._missed[t] += 1
                if self._missed[t] > self.max_missed:
                    del self._boxes[t], self._missed[t]
        return faces.with_tracks(ids)
