"""Steady landmarks over time: gaps filled by interpolation, jitter removed by a 1-euro filter; and the running
average that keeps a video's per-frame colour and grain estimates from flickering.

The 1-euro filter (Casiez, Roussel and Vogel, CHI 2012) is a low-pass whose cutoff rises with speed: a still
face gets heavy smoothing (no shimmer), a moving one little (no lag).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray


def running(past: float | None, value: float, weight: float) -> float:
    """`weight` of the past estimate and the rest of this frame's; the first frame's alone."""
    return value if past is None else weight * past + (1 - weight) * value


class OneEuroFilter:
    """min_cutoff (Hz): lower it for less jitter on a still face; beta: raise it for less lag when the face moves."""

    def __init__(self, min_cutoff: float = 1.0, beta: float = 0.05, d_cutoff: float = 1.0) -> None:
        self.min_cutoff, self.beta, self.d_cutoff = min_cutoff, beta, d_cutoff
        self.reset()

    def reset(self) -> None:
        self._x: NDArray[np.float64] | None = None
        self._dx: NDArray[np.float64] | None = None
        self._t: float | None = None

    @staticmethod
    def _alpha(cutoff: float, dt: float) -> float:
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau / dt)

    def update(self, x: NDArray[np.floating], t: float, scale: float = 1.0) -> NDArray[np.float32]:
        """Filtered value of x at time t (s). `scale` (e.g. the face size in pixels) makes beta size-free."""
        v = np.asarray(x, np.float64)
        if self._x is None or self._t is None or t <= self._t:
            self._x, self._dx, self._t = v.copy(), np.zeros_like(v), t
            return v.astype(np.float32)
        dt = t - self._t
        dx = (v - self._x) / dt
        assert self._dx is not None
        self._dx = self._dx + self._alpha(self.d_cutoff, dt) * (dx - self._dx)
        # one cutoff for the whole shape, from its mean speed in % of the face size per second: averaging over
        # 468 points keeps the speed estimate itself free of jitter
        speed = float(np.mean(np.abs(self._dx))) / max(scale, 1e-6) * 100
        cutoff = self.min_cutoff + self.beta * speed
        a = self._alpha(cutoff, dt)
        self._x = self._x + a * (v - self._x)
        self._t = t
        return self._x.astype(np.float32)


def fill_gaps(meshes: dict[int, NDArray[np.float32]], n_frames: int, max_gap: int) -> dict[int, NDArray[np.float32]]:
    """Linear interpolation across runs of up to max_gap missing frames between two detections; longer gaps
    stay empty (the face left, or was hidden: swapping a guess would be worse than not swapping)."""
    out = dict(meshes)
    known = sorted(meshes)
    for a, b in zip(known, known[1:], strict=False):
        gap = b - a - 1
        if 0 < gap <= max_gap:
            for i in range(a + 1, b):
                u = (i - a) / (b - a)
                out[i] = ((1 - u) * meshes[a] + u * meshes[b]).astype(np.float32)
    del n_frames
    return out
