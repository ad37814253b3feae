"""Media in: still images through Pillow, videos through PyAV (FFmpeg).

Videos are decoded in one sequential pass and only the sampled frames are converted to RGB: seeking frame by
frame is about 10x slower on long-GOP files (../shared/notes/face-pipeline-deps.md). Memory stays flat whatever
the length, since at most one decoded frame is held besides those handed out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from mimica.errors import MediaError, NoMediaError, UnsupportedMediaError
from mimica.types import Frame

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"})
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".3gp"})
#: pictures above this many pixels are refused (a 16000x16000 image would need 768 MB as RGB)
MAX_IMAGE_PIXELS = 80_000_000
#: Pillow's formats that are still images we scan
_STILL_FORMATS = frozenset({"JPEG", "PNG", "WEBP", "BMP", "TIFF", "MPO"})

Image.MAX_IMAGE_PIXELS = None  # we check the size ourselves, with a clearer message


@dataclass(frozen=True)
class MediaInfo:
    """What a person checking the result wants to know about the file."""

    path: str
    kind: str  # "image" | "video"
    container: str
    codec: str
    width: int
    height: int
    duration_s: float | None = None
    fps: float | None = None
    frame_count: int | None = None
    rotation: int = 0
    extra: dict[str, str] = field(default_factory=dict)


def find_media(path: str | Path) -> list[Path]:
    """The media files to scan: the path itself, or every media file under a folder (sorted)."""
    p = Path(path)
    if not p.exists():
        raise MediaError(f"{p}: no such file or folder")
    if p.is_file():
        return [p]
    files = sorted(
        f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES | VIDEO_SUFFIXES
    )
    if not files:
        raise NoMediaError(f"{p}: folder holds no image or video files ({', '.join(sorted(IMAGE_SUFFIXES))}, ...)")
    return files


def _is_image(path: Path) -> bool:
    """By content, not by name: Pillow recognises still formats from their first bytes."""
    try:
        with Image.open(path) as im:
            return im.format in _STILL_FORMATS or im.format == "GIF"
    except (UnidentifiedImageError, OSError, ValueError):
        return False


def _check_file(path: Path) -> None:
    if not path.exists():
        raise MediaError(f"{path}: no such file")
    if path.is_dir():
        raise MediaError(f"{path}: is a folder, not a media file")
    if path.stat().st_size == 0:
        raise MediaError(f"{path}: file is empty (0 bytes)")


def probe(path: str | Path) -> MediaInfo:
    """Reads the header only; raises MediaError with the reason when the file is not scannable media."""
    p = Path(path)
    _check_file(p)
    if _is_image(p):
        with Image.open(p) as im:
            _check_still(p, im)
            w, h = ImageOps.exif_transpose(im).size if im.getexif().get(0x0112, 1) != 1 else im.size
            return MediaInfo(str(p), "image", im.format or "", im.format or "", w, h)
    with _open_container(p) as c:
        vs = c.streams.video[0]
        rate = float(vs.average_rate) if vs.average_rate else None
        dur = _duration(c, vs)
        rot = _rotation(vs)
        w, h = vs.codec_context.width, vs.codec_context.height
        if rot in (90, 270):
            w, h = h, w
        return MediaInfo(
            str(p), "video", c.format.name, vs.codec_context.name, w, h, dur, rate, vs.frames or None, rot,
            {"pixel_format": str(vs.codec_context.pix_fmt)},
        )


def _check_still(p: Path, im: Image.Image) -> None:
    if im.format == "GIF":
        raise UnsupportedMediaError(f"{p}: GIF is not supported; convert it to MP4 (video) or PNG (still)")
    if im.width * im.height > MAX_IMAGE_PIXELS:
        raise UnsupportedMediaError(
            f"{p}: image is {im.width}x{im.height}, above the {MAX_IMAGE_PIXELS // 1_000_000} MP limit; downscale it"
        )


def read_image(path: str | Path) -> np.ndarray:
    """RGB uint8 pixels with the EXIF orientation applied."""
    p = Path(path)
    _check_file(p)
    try:
        with Image.open(p) as im:
            _check_still(p, im)
            im = ImageOps.exif_transpose(im)
            return np.asarray(im.convert("RGB"))
    except UnidentifiedImageError as err:
        raise MediaError(f"{p}: not a readable image") from err
    except (OSError, ValueError, SyntaxError) as err:
        raise MediaError(f"{p}: image is truncated or corrupt ({err})") from err


def _open_container(p: Path) -> av.container.InputContainer:
    try:
        c = av.open(str(p), metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as err:
        raise MediaError(f"{p}: not a readable image or video ({_short(err)})") from err
    if not c.streams.video:
        kinds = sorted({s.type for s in c.streams})
        c.close()
        what = "audio only" if kinds == ["audio"] else f"no video stream (streams: {', '.join(kinds) or 'none'})"
        raise UnsupportedMediaError(f"{p}: {what}; nothing to scan")
    vs = c.streams.video[0]
    if vs.codec_context.width == 0 or vs.codec_context.height == 0:
        c.close()
        raise MediaError(f"{p}: video stream has no frame size; the file is corrupt")
    return c


def _short(err: Exception) -> str:
    return str(err).splitlines()[0][:160] if str(err) else type(err).__name__


def _duration(c: av.container.InputContainer, vs: av.video.stream.VideoStream) -> float | None:
    if vs.duration and vs.time_base:
        return float(vs.duration * vs.time_base)
    if c.duration:
        return c.duration / 1_000_000
    return None


def _rotation(vs: av.video.stream.VideoStream) -> int:
    """Clockwise degrees to turn decoded frames upright, from the display matrix (phones store portrait
    video as rotated landscape)."""
    try:
        from av.sidedata.displaymatrix import get_display_rotation  # type: ignore[import-not-found]
    except ImportError:
        get_display_rotation = None
    rot = 0.0
    for sd in getattr(vs, "side_data", {}) or {}:
        del sd
    if get_display_rotation is not None:  # pragma: no cover - depends on the PyAV build
        try:
            rot = get_display_rotation(vs) or 0.0
        except Exception:
            rot = 0.0
    tag = vs.metadata.get("rotate")
    if tag:
        return int(tag) % 360
    return int(round(-rot)) % 360


@dataclass
class DecodeStats:
    """Filled while `sample_frames` runs: how many frames were decoded and how many failed."""

    decoded: int = 0
    failed: int = 0
    sampled: int = 0


def sample_times(duration_s: float, n: int) -> np.ndarray:
    """n times evenly spaced over the whole duration, each in the middle of its slice (DeepfakeBench's
    "32 evenly spaced frames")."""
    return (np.arange(n) + 0.5) * duration_s / n


def sample_frames(path: str | Path, n: int = 32, stats: DecodeStats | None = None) -> Iterator[Frame]:
    """Yields about n frames evenly spaced over the video (one for an image), upright, with real timestamps.

    One pass: every frame is decoded (H.264 needs it), only the chosen ones are converted to RGB. A frame that
    fails to decode is counted in `stats.failed` and skipped; the pass goes on.
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    stats = stats if stats is not None else DecodeStats()
    p = Path(path)
    _check_file(p)
    if _is_image(p):
        img = read_image(p)
        stats.decoded = stats.sampled = 1
        yield Frame(img, 0, 0.0)
        return
    with _open_container(p) as c:
        vs = c.streams.video[0]
        vs.thread_type = "AUTO"
        rot = _rotation(vs)
        dur = _duration(c, vs)
        start = float(vs.start_time * vs.time_base) if vs.start_time is not None and vs.time_base else 0.0
        targets = sample_times(dur, n) if dur and dur > 0 else None
        k = 0
        index = -1
        pending = None  # a frame kept in case the stream ends before the next target (short files)
        for frame in _decode(c, vs, stats, p):
            index += 1
            t = float(frame.time - start) if frame.time is not None else index / float(vs.average_rate or 25)
            if targets is None:
                # no duration in the header: take frames at a fixed stride of the first n... every 10th frame
                if index % 10 == 0 and k < n:
                    k += 1
                    yield _to_frame(frame, index, t, rot, stats)
                continue
            if k >= n:
                continue  # keep decoding so stats count every frame and failures
            if t >= targets[k]:
                yield _to_frame(frame, index, t, rot, stats)
                k += 1
                while k < n and t >= targets[k]:  # frame rate below the sampling rate: skip duplicates
                    k += 1
                pending = None
            else:
                pending = (frame, index, t)
        if k == 0 and pending is not None:
            yield _to_frame(*pending, rot, stats)
        if stats.decoded == 0:
            raise MediaError(f"{p}: no frame could be decoded ({stats.failed} failed); the video is corrupt")


def _decode(c: av.container.InputContainer, vs: av.video.stream.VideoStream, stats: DecodeStats, p: Path):
    try:
        for packet in c.demux(vs):
            try:
                frames = packet.decode()
            except av.error.FFmpegError:
                stats.failed += 1
                continue
            for frame in frames:
                stats.decoded += 1
                yield frame
    except av.error.FFmpegError as err:
        # a truncated file ends the demuxer with an error: keep what was decoded
        if stats.decoded == 0:
            raise MediaError(f"{p}: video could not be decoded ({_short(err)})") from err
        stats.failed += 1


def _to_frame(frame: av.VideoFrame, index: int, t: float, rot: int, stats: DecodeStats) -> Frame:
    img = frame.to_ndarray(format="rgb24")
    if rot:
        img = np.ascontiguousarray(np.rot90(img, k=-(rot // 90)))
    stats.sampled += 1
    return Frame(img, index, t)
