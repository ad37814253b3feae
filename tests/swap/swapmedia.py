"""Helpers to write and inspect small test videos (PyAV), shared by the swap tests."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
from tests.mediagen import write_frames

FPS = 25
AUDIO_RATE = 16000


def write_video(path: Path, frames: list[np.ndarray], audio: bool = True, fps: int = FPS) -> Path:
    return write_frames(path, frames, fps, audio=audio, audio_rate=AUDIO_RATE,
                        options={"crf": "16", "preset": "veryfast"})


def audio_packets(path: Path) -> list[bytes]:
    with av.open(str(path)) as c:
        if not c.streams.audio:
            return []
        return [bytes(p) for p in c.demux(c.streams.audio[0]) if p.size]


def video_timestamps(path: Path) -> list[float]:
    with av.open(str(path)) as c:
        return [float(f.time) for f in c.decode(video=0)]


def frames_of(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]


def head(img: np.ndarray, size: int = 320, dx: int = 0, dy: int = 0) -> np.ndarray:
    """The astronaut's head and shoulders, resized to size x size, shifted by (dx, dy) source pixels."""
    crop = img[max(0, 0 + dy) : 340 + dy, max(0, 90 + dx) : 430 + dx]
    return cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA)
