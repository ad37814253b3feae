"""Helpers to write and inspect small test videos (PyAV), shared by the swap tests."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

FPS = 25
AUDIO_RATE = 16000


def write_video(path: Path, frames: list[np.ndarray], audio: bool = True, fps: int = FPS) -> Path:
    with av.open(str(path), "w") as c:
        vs = c.add_stream("libx264", rate=fps)
        vs.height, vs.width = frames[0].shape[:2]
        vs.pix_fmt = "yuv420p"
        vs.options = {"crf": "16", "preset": "veryfast"}
        a_s = None
        if audio:
            a_s = c.add_stream("aac", rate=AUDIO_RATE)
            a_s.layout = "mono"
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")
            vf.pts = i
            vf.time_base = Fraction(1, fps)
            for p in vs.encode(vf):
                c.mux(p)
        for p in vs.encode():
            c.mux(p)
        if a_s is not None:
            n = int(AUDIO_RATE * len(frames) / fps)
            t = np.arange(n) / AUDIO_RATE
            tone = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
            chunk = 1024
            for k in range(0, n, chunk):
                af = av.AudioFrame.from_ndarray(
                    np.ascontiguousarray(tone[:, k : k + chunk]), format="fltp", layout="mono"
                )
                af.sample_rate = AUDIO_RATE
                af.pts = k
                for p in a_s.encode(af):
                    c.mux(p)
            for p in a_s.encode():
                c.mux(p)
    return path


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
