"""Synthetic test media, made on the fly with PyAV and Pillow so that no media file is ever committed.

Every picture carries the same asymmetric marks, so a test can tell whether a frame came out upright and
unmirrored: a red square in the top-left corner and a green bar along the top-right edge (see `MARKS`). Keep
the sizes small; tests call these functions with pytest's `tmp_path`.

    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     write_video(Path(d) / "a.mp4", frames=5).stat().st_size > 0
    True
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from typing import Any, cast

import av
import numpy as np
from av.audio.stream import AudioStream
from av.video.stream import VideoStream
from PIL import Image

RED = (255, 0, 0)
GREEN = (0, 255, 0)
#: (name, colour, (y0, y1, x0, x1) as fractions of the height and width) of the orientation marks
MARKS = (
    ("top-left square", RED, (0.0, 0.25, 0.0, 0.25)),
    ("top-right bar", GREEN, (0.0, 0.125, 0.625, 1.0)),
)

#: audio codec per container for `audio=True` (webm takes only Opus/Vorbis; AVI is happiest with PCM)
_AUDIO_CODEC = {".webm": "libopus", ".avi": "pcm_s16le"}
#: encoder settings that keep test encodes fast and quiet
_FAST = {
    "libx264": {"preset": "ultrafast"},
    "libx265": {"preset": "ultrafast", "x265-params": "log-level=error"},
    "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8", "lag-in-frames": "0"},
    "libvpx": {"deadline": "realtime", "cpu-used": "8"},
}
#: frame durations, in frame periods, that a VFR video cycles through (as phones do when the light changes)
_VFR_PATTERN = (1.0, 1.0, 2.5, 0.5, 1.5, 3.0, 0.5)


def pattern(size: tuple[int, int], i: int = 0, color: Sequence[int] | None = None) -> np.ndarray:
    """RGB uint8 (h, w, 3) frame number i: a moving gradient with the `MARKS`, or one solid colour."""
    w, h = size
    if color is not None:
        return np.full((h, w, 3), color, np.uint8)
    y, x = np.mgrid[0:h, 0:w]
    img = np.stack([(x * 2 + i * 8) % 200, (y * 2) % 200, np.full_like(x, 96 + (i * 5) % 64)], axis=-1)
    img = img.astype(np.uint8)
    for _, rgb, (y0, y1, x0, x1) in MARKS:
        img[int(y0 * h) : int(y1 * h), int(x0 * w) : int(x1 * w)] = rgb
    return img


def frame_times(frames: int, fps: float = 25, vfr: bool = False) -> np.ndarray:
    """Presentation times in seconds of the frames `write_video` writes, rounded to its 1 ms time base."""
    if not vfr:
        return np.round(np.arange(frames) / fps, 3)
    steps = np.resize(np.array(_VFR_PATTERN), max(frames - 1, 0)) / fps
    return np.round(np.concatenate([[0.0], np.cumsum(steps)]), 3)


def write_video(
    path: str | Path,
    codec: str = "libx264",
    size: tuple[int, int] = (320, 240),
    frames: int = 30,
    fps: int = 25,
    pix_fmt: str = "yuv420p",
    rotation: int = 0,
    hflip: bool = False,
    vfr: bool = False,
    audio: bool = False,
    color: Sequence[int] | None = None,
    rotate_tag: int | None = None,
    faststart: bool = True,
    format: str | None = None,
    options: dict[str, str] | None = None,
) -> Path:
    """Encodes `frames` frames of `pattern` (or solid `color`) with PyAV; the container follows the suffix.

    rotation: counter-clockwise display rotation in degrees written as a display matrix (what phones do);
    hflip mirrors after it. rotate_tag: the legacy `rotate` stream tag (clockwise degrees) instead.
    vfr: frame durations follow an irregular pattern; `frame_times` gives the times written. faststart puts
    an MP4/MOV index before the data, so that a truncated copy still opens. format and options go to the
    muxer (e.g. format="h264" for a raw stream without timestamps, options={"live": "1"} for a WebM without
    duration, as browsers record).
    """
    path = Path(path)
    ms = Fraction(1, 1000)
    options = dict(options or {})
    if faststart and path.suffix.lower() in {".mp4", ".mov", ".m4v"}:
        options["movflags"] = "faststart"
    with av.open(str(path), "w", format=format, options=options) as c:
        vs = cast(VideoStream, c.add_stream(codec, rate=fps, options=_FAST.get(codec, {})))
        vs.width, vs.height = size
        vs.pix_fmt = pix_fmt
        if codec == "mpeg4":
            vs.codec_context.bit_rate = 2_000_000  # its default (200 kb/s) smears the colours tests compare
        if vfr:
            vs.codec_context.time_base = ms
            vs.time_base = ms
        if rotation or hflip:
            vs.set_display_rotation(rotation, hflip=hflip)
        if rotate_tag is not None:
            vs.metadata["rotate"] = str(rotate_tag)
        aus = None
        if audio:
            aus = cast(AudioStream, c.add_stream(_AUDIO_CODEC.get(path.suffix.lower(), "aac"), rate=48000))
            aus.layout = "mono"
        times = frame_times(frames, fps, vfr)
        for i, t in enumerate(times):
            frame = av.VideoFrame.from_ndarray(pattern(size, i, color), format="rgb24")
            if vfr:
                frame.pts, frame.time_base = round(t * 1000), ms
            else:
                frame.pts = i
            c.mux(vs.encode(frame))
        c.mux(vs.encode())
        if aus is not None:
            _write_tone(c, aus, frames / fps)
    return path


def write_frames(
    path: str | Path, frames: Sequence[np.ndarray], fps: int = 25, codec: str = "libx264", pix_fmt: str = "yuv420p",
    audio: bool = False, audio_rate: int = 48000, options: dict[str, str] | None = None,
) -> Path:
    """Encodes the given RGB frames (all the same size) at a constant rate, frame i at i/fps, with a sine-tone
    audio track when asked; `options` go to the encoder (preset, crf...)."""
    path = Path(path)
    with av.open(str(path), "w") as c:
        vs = cast(VideoStream, c.add_stream(codec, rate=fps, options=options or _FAST.get(codec, {})))
        vs.height, vs.width = frames[0].shape[:2]
        vs.pix_fmt = pix_fmt
        aus = None
        if audio:
            aus = cast(AudioStream, c.add_stream(_AUDIO_CODEC.get(path.suffix.lower(), "aac"), rate=audio_rate))
            aus.layout = "mono"
        for i, img in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, fps)
            c.mux(vs.encode(frame))
        c.mux(vs.encode())
        if aus is not None:
            _write_tone(c, aus, len(frames) / fps)
    return path


def _write_tone(c: av.container.OutputContainer, stream: AudioStream, seconds: float) -> None:
    rate = stream.rate or 48000
    fmt = stream.codec_context.format.name
    chunk = stream.codec_context.frame_size or 1024
    t = np.arange(int(seconds * rate)) / rate
    tone = 0.2 * np.sin(2 * np.pi * 440 * t)
    samples: np.ndarray[Any, Any] = (
        (tone * 32767).astype(np.int16) if fmt.startswith("s16") else tone.astype(np.float32)
    )
    for k, start in enumerate(range(0, len(samples), chunk)):
        part = samples[start : start + chunk][None, :]
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(part), format=fmt, layout="mono")  # type: ignore[arg-type]
        frame.sample_rate, frame.pts = rate, k * chunk
        c.mux(stream.encode(frame))
    c.mux(stream.encode())


def write_audio(path: str | Path, seconds: float = 1.0) -> Path:
    """An audio-only file (a sine tone), e.g. an .mp4 or .m4a that holds no video stream."""
    path = Path(path)
    with av.open(str(path), "w") as c:
        stream = cast(AudioStream, c.add_stream(_AUDIO_CODEC.get(path.suffix.lower(), "aac"), rate=48000))
        stream.layout = "mono"
        _write_tone(c, stream, seconds)
    return path


def write_image(
    path: str | Path,
    size: tuple[int, int] = (64, 48),
    color: Sequence[int] | None = None,
    exif_orientation: int | None = None,
    mode: str = "RGB",
) -> Path:
    """Saves `pattern` (or solid `color`) with Pillow in the format the suffix names.

    exif_orientation: the EXIF Orientation tag (1-8) to store; the pixels are stored as they are, so a reader
    that honours the tag must turn them. The stored pixels are `pattern(size)` before any turn.
    """
    path = Path(path)
    im = Image.fromarray(pattern(size, 0, color)).convert(mode)
    kwargs: dict[str, Any] = {}
    if path.suffix.lower() in {".jpg", ".jpeg", ".webp"}:
        kwargs["quality"] = 95
    if path.suffix.lower() == ".webp":
        kwargs["lossless"] = True
    if exif_orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = exif_orientation
        kwargs["exif"] = exif.tobytes()
    im.save(path, **kwargs)
    return path


def write_png_header(path: str | Path, size: tuple[int, int]) -> Path:
    """A PNG whose header claims `size` but which holds the pixels of a tiny image: a reader that decodes
    before checking the size fails on the data, one that checks first refuses it by size."""
    path = Path(path)
    write_image(path, (8, 8))
    data = bytearray(path.read_bytes())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4 : ihdr + 12] = struct.pack(">II", *size)
    data[ihdr + 17 : ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(data[ihdr : ihdr + 17])))
    path.write_bytes(bytes(data))
    return path


def truncate(path: str | Path, fraction: float = 0.5) -> Path:
    """Cuts the file in place to `fraction` of its bytes, as an interrupted download or copy leaves it."""
    path = Path(path)
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


def corrupt(path: str | Path, start: float = 0.4, stop: float = 0.6, seed: int = 0) -> Path:
    """Overwrites the bytes between the fractions start and stop of the file with noise (a damaged sector)."""
    path = Path(path)
    data = bytearray(path.read_bytes())
    a, b = int(len(data) * start), int(len(data) * stop)
    data[a:b] = np.random.default_rng(seed).integers(0, 256, b - a, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return path


def write_random(path: str | Path, n: int = 4096, seed: int = 0) -> Path:
    """n random bytes, whatever the suffix says."""
    path = Path(path)
    path.write_bytes(np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes())
    return path


def write_text(path: str | Path, text: str = "this is not a video\n") -> Path:
    path = Path(path)
    path.write_text(text)
    return path
