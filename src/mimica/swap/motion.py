"""The target's changing look, without its face: what moves on a video target's skin, for the swapped face.

FaceMesh reads an eye's or the mouth's opening from the look of the whole lower face and of the lids (creases,
shading that moves with the jaw and the lids), and a face drawn from one still picture has those frozen: even
the target's own face swapped onto itself keeps only about 0.74 of the mouth's correlation on quiet clips
(docs/benchmarks.md, "Expression"). The target's identity is in the static part of its face texture, its
expression in what changes over time. So per face track a first pass warps every few frames' face into one
fixed layout and averages its log-luminance (`TrackTexture.add`); at frame t the difference of that frame's
face from the mean, band-limited to creases and shading (1-25% of the face size) and clipped, is warped onto
the swapped face's geometry and multiplies its skin's luminance (`TrackTexture.transfer`). A picture has no
track, so nothing of this applies to it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

import av
import cv2
import numpy as np
from numpy.typing import NDArray

from mimica.swap.blend import wide_blur
from mimica.swap.mesh import raster, warp

#: side of the fixed layout (pixels) the track's faces are averaged in: FF++ faces are 150-300 px
LAYOUT_SIZE = 192
#: band kept of the dynamic detail (Gaussian sigmas, fraction of the face size): below FINE is registration
#: noise (a landmark's jitter moves an edge by a pixel or two), above COARSE the light that `relight` already
#: takes from the target frame by frame (its SHADING_SIGMA). benchmarks/swap_quality.py, 4 videos: COARSE 0.12
#: gave like gains on the quiet clips but took 004's mouth r from 0.918 to 0.882; 0.25 gives 0.89-0.91
FINE = 0.012
COARSE = 0.25
#: the largest luminance change (log ratio, about +-15%) the detail may make: a crease or a shadow; an edge of the
#: target's eyes, nose or mouth that registration missed would be stronger, and is cut down to this
CLIP = 0.15
#: luminance floor of the log (levels of 255): dark noise would otherwise swing the ratio
_FLOOR = 8.0


def layout_of(meshes: list[NDArray[np.float32]], size: int = LAYOUT_SIZE) -> NDArray[np.float32]:
    """The fixed layout of a track: its median landmarks, scaled to fit `size` pixels with a 4% margin."""
    med = np.median(np.stack(meshes), axis=0)
    lo, hi = med.min(0), med.max(0)
    k = 0.92 * size / max(float((hi - lo).max()), 1e-6)
    return ((med - (lo + hi) / 2) * k + size / 2).astype(np.float32)


def _log_lum(rgb: NDArray[np.uint8]) -> NDArray[np.float32]:
    return np.log(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32) + _FLOOR)


def _masked_blur(x: NDArray[np.float32], m: NDArray[np.float32], sigma: float) -> NDArray[np.float32]:
    """Gaussian mean of x over the pixels of m only (normalised convolution): the eye and mouth holes and the
    outside of the face do not leak in."""
    num = wide_blur(x * m, sigma)
    den = wide_blur(m, sigma)
    return np.asarray(num / np.maximum(den, 1e-3), np.float32)


class TrackTexture:
    """One face track's mean log-luminance in a fixed layout (`layout_of`): `add` frames, then `transfer`."""

    def __init__(self, layout: NDArray[np.float32], size: int = LAYOUT_SIZE) -> None:
        self.layout, self.size = layout, size
        self._box = (0, 0, size, size)
        self._span = float(np.ptp(layout, axis=0).max())
        self._index = raster(layout, self._box)  # the layout is the same for every frame
        self._sum = np.zeros((size, size), np.float64)
        self._count = np.zeros((size, size), np.float64)
        self._mean: NDArray[np.float32] | None = None

    @property
    def frames(self) -> int:
        return int(self._count.max())

    def _sample(
        self, frame: NDArray[np.uint8], mesh: NDArray[np.float32]
    ) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
        face, seen = warp(frame, mesh, self.layout, self._box, index=self._index)
        return _log_lum(face), seen

    def add(self, frame: NDArray[np.uint8], mesh: NDArray[np.float32]) -> None:
        """Adds the face on `mesh` (468, 2) of a frame to the running mean (memory stays two layouts)."""
        lum, seen = self._sample(frame, mesh)
        self._sum += lum * seen
        self._count += seen
        self._mean = None

    def detail(self, frame: NDArray[np.uint8], mesh: NDArray[np.float32]) -> NDArray[np.float32]:
        """The frame's face minus the mean, in the layout: log-luminance ratio, band-limited and clipped (0 where
        the mean or the frame has no face)."""
        lum, seen = self._sample(frame, mesh)
        if self._mean is None:
            self._mean = (self._sum / np.maximum(self._count, 1)).astype(np.float32)
        known = (seen * (self._count > 0)).astype(np.float32)
        diff = (lum - self._mean) * known
        span = self._span
        band = _masked_blur(diff, known, max(0.5, FINE * span)) - _masked_blur(diff, known, COARSE * span)
        return np.clip(band, -CLIP, CLIP) * known

    def transfer(
        self,
        face: NDArray[np.uint8],
        frame: NDArray[np.uint8],
        mesh: NDArray[np.float32],
        dst: NDArray[np.float32],
        box: tuple[int, int, int, int],
        weight: NDArray[np.float32],
        strength: float,
    ) -> NDArray[np.uint8]:
        """`face` (the swapped face, crop `box` of the frame) with the target frame's detail (its face on `mesh`)
        drawn on the destination landmarks `dst`: each pixel's luminance times exp(strength * weight * detail),
        R, G and B alike, so the skin's colour stays."""
        x0, y0, x1, y1 = box
        w, h = x1 - x0, y1 - y0
        local = dst - np.array([x0, y0], np.float32)
        # the detail has no more resolution than the layout, nor finer detail than its FINE blur: drawn at the
        # scale where that blur is a pixel wide, then enlarged (a quarter of the pixels on a 720p face)
        size = max(float(np.ptp(dst, axis=0).max()), 1.0)
        k = min(1.0, self._span / size, 1.0 / (FINE * size))
        sw, sh = max(2, int(round(w * k))), max(2, int(round(h * k)))
        scale = np.array([sw / w, sh / h], np.float32)
        d, reach = warp(self.detail(frame, mesh), self.layout, (local + 0.5) * scale - 0.5, (0, 0, sw, sh))
        d *= reach
        if (sw, sh) != (w, h):
            d = cv2.resize(d, (w, h), interpolation=cv2.INTER_LINEAR)
        gain = np.exp(strength * weight * d)
        return np.clip(face * gain[..., None] + 0.5, 0, 255).astype(np.uint8)


def track_textures(
    target: Path,
    meshes: Mapping[int, Mapping[int, NDArray[np.float32]]],
    every: int = 3,
    max_frames: int | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[int, TrackTexture]:
    """The mean texture of each track (`meshes`: track id -> frame index -> landmarks, as `smooth_tracks` gives),
    from one decode pass over `target` sampling every `every`-th frame (every 3rd and every 2nd gave the same
    expression figures within their noise; docs/benchmarks.md)."""
    from mimica.swap.core import _open_video, _stream_orientation, _upright

    out = {tid: TrackTexture(layout_of(list(m.values()))) for tid, m in meshes.items() if m}
    if not out:
        return out
    with _open_video(target) as c:
        vs = c.streams.video[0]
        vs.thread_type = "AUTO"
        rot = _stream_orientation(vs)
        total = vs.frames or 0
        try:
            for idx, frame in enumerate(c.decode(vs)):
                if max_frames is not None and idx >= max_frames:
                    break
                if progress:
                    progress("motion", idx + 1, total)
                if idx % every:
                    continue
                here = [(tid, m[idx]) for tid, m in meshes.items() if idx in m and tid in out]
                if here:
                    image = _upright(frame, rot)
                    for tid, mesh in here:
                        out[tid].add(image, mesh)
        except av.error.FFmpegError:
            pass  # a broken tail: the frames before it make the mean (the swap pass reports the error)
    return out
