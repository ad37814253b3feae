"""Test media with a real face in it, made on the fly from scikit-image's astronaut (public domain) with PyAV
and Pillow; nothing is committed. For media without faces, and for broken files, see `tests.mediagen`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from tests.mediagen import write_frames


def astronaut() -> np.ndarray:
    """RGB uint8 (512, 512, 3); skips the calling test when scikit-image is missing."""
    import pytest

    data = pytest.importorskip("skimage.data", reason="scikit-image is in the dev extra")
    return data.astronaut()


def face_frames(n: int, size: tuple[int, int] = (640, 360), drift: int = 6) -> list[np.ndarray]:
    """n frames (w, h = size) with the astronaut's face drifting `drift` pixels right per frame on grey."""
    w, h = size
    face = astronaut()[:300, 80:380]  # head and shoulders, 300x300
    frames = []
    for i in range(n):
        img = np.full((h, w, 3), 90, np.uint8)
        x = 40 + i * drift
        img[30 : 30 + 300, x : x + 300] = face[: h - 30, : w - x]
        frames.append(img)
    return frames


def write_face_video(
    path: str | Path, frames: int = 12, fps: int = 10, codec: str = "libx264", pix_fmt: str = "yuv420p",
    size: tuple[int, int] = (640, 360),
) -> Path:
    """A short video of a face; pix_fmt "gray" (monochrome) or "yuv420p10le" (10-bit) for the odd cases.
    FFmpeg decodes monochrome H.264 as yuv420p; monochrome HEVC decodes as gray."""
    return write_frames(path, face_frames(frames, size), fps, codec, pix_fmt)


def write_face_image(path: str | Path, mode: str = "RGB") -> Path:
    """The astronaut as a still in the format the suffix names (mode "L" for greyscale)."""
    path = Path(path)
    Image.fromarray(astronaut()).convert(mode).save(path)
    return path


def write_dark_face_video(path: str | Path, frames: int = 12, fps: int = 10, brightness: float = 0.2) -> Path:
    """The face video filmed in the dark: every pixel scaled by `brightness` (a dim room, an evening clip)."""
    dark = [(f.astype(np.float32) * brightness).round().astype(np.uint8) for f in face_frames(frames)]
    return write_frames(path, dark, fps)


def write_glimpse_video(path: str | Path, frames: int = 12, fps: int = 10, face_frames_at: tuple[int, ...] = (0,)
                        ) -> Path:
    """A video whose face shows only in the frames `face_frames_at` (the others are an empty grey wall): a track of
    one face, or of a few."""
    faces = face_frames(frames)
    empty = np.full_like(faces[0], 90)
    return write_frames(path, [faces[i] if i in face_frames_at else empty for i in range(frames)], fps)
