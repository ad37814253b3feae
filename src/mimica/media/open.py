"""Media in: still images through Pillow, videos through PyAV (FFmpeg).

Videos are decoded in one sequential pass and only the sampled frames are converted to RGB: seeking frame
by frame is about 10x slower on long-GOP files (../shared/notes/face-pipeline-deps.md). Memory stays flat
whatever the length: besides the frames handed out, at most one decoded frame is held (2n when the file
states no duration). Every failure reaches the caller as a `MediaError` naming the file and the reason.

    >>> from mimica.media import DecodeStats, sample_frames
    >>> stats = DecodeStats()
    >>> frames = list(sample_frames("clip.mp4", 32, stats))  # doctest: +SKIP
"""

from __future__ import annotations

import re
import struct
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import av
import av.error
import numpy as np
from PIL import Image, UnidentifiedImageError

from mimica.errors import MediaError, NoMediaError, UnsupportedMediaError
from mimica.media.orientation import EXIF_ORIENTATION, Orientation, frame_orientation
from mimica.types import Frame

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"})
VIDEO_SUFFIXES = frozenset({".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".ts", ".3gp"})
#: pictures above this many pixels are refused (a 16000x16000 image would need 768 MB as RGB)
MAX_IMAGE_PIXELS = 80_000_000
#: Pillow formats we scan as still images (MPO, the phones' multi-picture JPEG, opens as JPEG); asking Pillow
#: for these only keeps it from claiming an MPEG video or random bytes (its MPEG and TGA sniffers are lax).
#: GIF is asked for so that it can be refused by name.
_STILL_FORMATS = ("JPEG", "PNG", "WEBP", "BMP", "TIFF")
_PILLOW_FORMATS = (*_STILL_FORMATS, "GIF")
#: packets to read at most while looking for the first frame in `probe` (a stream cut mid-GOP yields no
#: frame until its next keyframe)
_PROBE_PACKETS = 600
#: what PyAV raises for unreadable input: FFmpegError covers its OSError, EOFError and ValueError subclasses;
#: the builtins cover errors from Python-side parsing (metadata, timestamps)
_AV_ERRORS = (
    av.error.FFmpegError,
    OSError,
    EOFError,
    ValueError,
    IndexError,
    OverflowError,
    ZeroDivisionError,
)


@dataclass(frozen=True)
class MediaInfo:
    """What a person checking the result wants to know about the file.

    width and height are those of the upright picture (after `rotation`). rotation: counter-clockwise degrees
    the stored pixels are turned to show them upright (0, 90, 180, 270), mirrored: whether they are also
    mirrored. duration_s, fps and frame_count are None where the file does not state them.
    """

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
    mirrored: bool = False


@dataclass
class DecodeStats:
    """Filled while `sample_frames` runs: how the decoding went.

    decoded: frames decoded; failed: frames lost: packets that failed to decode, plus, when the stream stopped
    before its stated end, the frames that never came (estimated from the header); sampled: frames converted
    and handed out; truncated: the stream stopped before its stated end (a cut or damaged file: the frames
    after the damage are missing); first_error: the first error message, if any;
    last_time_s: time of the last decoded frame; packets: compressed packets read.
    """

    decoded: int = 0
    failed: int = 0
    sampled: int = 0
    truncated: bool = False
    first_error: str | None = None
    last_time_s: float | None = None
    packets: int = 0

    @property
    def ok(self) -> bool:
        """True when every frame of the file decoded."""
        return self.failed == 0 and not self.truncated

    def _fail(self, err: Exception) -> None:
        self.failed += 1
        if self.first_error is None:
            self.first_error = _short(err)


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
        raise NoMediaError(
            f"{p}: folder holds no image or video files ({', '.join(sorted(IMAGE_SUFFIXES))}, ...)"
        )
    return files


def probe(path: str | Path) -> MediaInfo:
    """What the file is, from its header (and, for a video, its first frame, which carries the rotation).

    Raises MediaError (UnsupportedMediaError for readable but unscannable files) with the reason.
    """
    p = _check_file(path)
    im = _open_image(p)
    if im is not None:
        with im:
            orient = _exif_orientation(p, im)
            w, h = (im.height, im.width) if orient.swaps_axes else im.size
            fmt = im.format or ""
            return MediaInfo(
                path=str(p), kind="image", container=fmt, codec=fmt, width=w, height=h, frame_count=1,
                rotation=orient.rotation, mirrored=orient.mirrored, extra={"mode": im.mode},
            )  # fmt: skip
    c, vs = _open_video(p)
    with c:
        try:
            first = _first_frame(c, vs, p)
            cc = vs.codec_context
            w, h = (first.width, first.height) if first is not None else (cc.width, cc.height)
            fallback = _tag_orientation(vs)
            orient = frame_orientation(first, fallback) if first is not None else fallback
            extra = {"pixel_format": str(first.format.name if first is not None else cc.pix_fmt)}
            audio = [s.codec_context.name for s in c.streams.audio if s.codec_context is not None]
            if audio:
                extra["audio_codec"] = audio[0]
            rate = vs.average_rate or vs.guessed_rate
            if orient.swaps_axes:
                w, h = h, w
            return MediaInfo(
                path=str(p), kind="video", container=c.format.name, codec=cc.name, width=w, height=h,
                duration_s=_duration(c, vs), fps=float(rate) if rate else None, frame_count=vs.frames or None,
                rotation=orient.rotation, mirrored=orient.mirrored, extra=extra,
            )  # fmt: skip
        except _AV_ERRORS as err:
            raise MediaError(f"{p}: video header is unreadable ({_short(err)}); the file is corrupt") from err


def read_image(path: str | Path) -> np.ndarray:
    """RGB uint8 pixels with the EXIF orientation applied."""
    p = _check_file(path)
    im = _open_image(p)
    if im is None:
        raise MediaError(f"{p}: not a readable image ({', '.join(_STILL_FORMATS)})")
    return _pixels(p, im)


def sample_times(duration_s: float, n: int) -> np.ndarray:
    """n times evenly spaced over the whole duration, each in the middle of its slice (DeepfakeBench's
    "32 evenly spaced frames")."""
    return (np.arange(n) + 0.5) * duration_s / n


def sample_frames(path: str | Path, n: int = 32, stats: DecodeStats | None = None) -> Iterator[Frame]:
    """About n frames evenly spaced over the video (one for an image), upright, with real timestamps.

    The frame sampled for each of `sample_times` is the one on screen at that time, so a video with fewer than
    n frames yields each frame once. Frame.time_s is the frame's presentation time (from its pts) in seconds
    after the first frame; Frame.index its position in display order. One pass: every frame is decoded
    (H.264 needs it), only the chosen ones are converted to RGB. A packet that fails to decode is counted in
    `stats.failed` and skipped, and a file cut short yields the frames before the cut (`stats.truncated`).

    The file is opened when this is called, so a missing or unreadable file raises here, not on iteration;
    a video of which no frame decodes raises MediaError at the end of the iteration. `stats` is final once
    the iterator is exhausted (breaking out early closes the file and leaves it partial).
    """
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    return _frames(path, n, stats)


def iter_frames(path: str | Path, stats: DecodeStats | None = None) -> Iterator[Frame]:
    """Every frame of the video (the one picture of an image), upright, with times, for stages that need
    them all (tracking faces through a clip). Converts each frame to RGB, so prefer `sample_frames` when a
    sample will do; errors and `stats` as there."""
    return _frames(path, None, stats)


def _frames(path: str | Path, n: int | None, stats: DecodeStats | None) -> Iterator[Frame]:
    stats = stats if stats is not None else DecodeStats()
    p = _check_file(path)
    im = _open_image(p)
    if im is not None:
        frame = Frame(_pixels(p, im), 0, 0.0)
        stats.decoded = stats.sampled = 1
        return iter([frame])
    c, vs = _open_video(p)
    return _sample_video(p, c, vs, n, stats)


# --- images ------------------------------------------------------------------------------------------------


def _check_file(path: str | Path) -> Path:
    p = Path(path)
    if not p.exists():
        raise MediaError(f"{p}: no such file")
    if p.is_dir():
        raise MediaError(f"{p}: is a folder, not a media file; use find_media() to list the files in it")
    try:
        size = p.stat().st_size
        with p.open("rb"):
            pass
    except OSError as err:
        raise MediaError(f"{p}: cannot be read ({err.strerror or err})") from err
    if size == 0:
        raise MediaError(f"{p}: file is empty (0 bytes); it was probably not copied or downloaded completely")
    return p


def _open_image(p: Path) -> Image.Image | None:
    """The opened still image (pixels not decoded yet), or None when the content is not one (then it is tried
    as a video). Refuses GIFs and oversized pictures before any pixel is decoded."""
    try:
        with warnings.catch_warnings():
            # our own limit (below Pillow's warning threshold) refuses these with a clearer message, and
            # damaged TIFF/EXIF headers are handled here, not worth a warning on the console
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            warnings.simplefilter("ignore", UserWarning)
            im = Image.open(p, formats=_PILLOW_FORMATS)
    except Image.DecompressionBombError as err:
        raise UnsupportedMediaError(
            f"{p}: image is too large to scan ({_short(err)}); "
            f"downscale it below {MAX_IMAGE_PIXELS // 10**6} MP"
        ) from err
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError, struct.error):
        return None
    try:
        if im.format == "GIF":
            raise UnsupportedMediaError(
                f"{p}: GIF is not supported; convert it to MP4 (animation) or PNG (still)"
            )
        if im.width * im.height > MAX_IMAGE_PIXELS:
            raise UnsupportedMediaError(
                f"{p}: image is {im.width}x{im.height}, "
                f"above the {MAX_IMAGE_PIXELS // 10**6} MP limit; downscale it"
            )
        if im.width == 0 or im.height == 0:
            raise MediaError(f"{p}: image has no pixels ({im.width}x{im.height}); the file is corrupt")
    except MediaError:
        im.close()
        raise
    return im


def _exif_orientation(p: Path, im: Image.Image) -> Orientation:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Pillow warns about damaged EXIF; we fall back to upright
            return Orientation.from_exif(im.getexif().get(EXIF_ORIENTATION))
    except (OSError, ValueError, SyntaxError, EOFError, struct.error, TypeError):
        return Orientation()  # unreadable EXIF: show the pixels as stored, as viewers do


def _pixels(p: Path, im: Image.Image) -> np.ndarray:
    """Decodes the opened image to upright RGB uint8 and closes it."""
    with im:
        orient = _exif_orientation(p, im)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                rgb = np.asarray(im.convert("RGB"))
        except (OSError, ValueError, SyntaxError, EOFError, struct.error) as err:
            raise MediaError(f"{p}: image is truncated or corrupt ({_short(err)})") from err
    return orient.apply(rgb)


# --- videos ------------------------------------------------------------------------------------------------


def _open_video(p: Path) -> tuple[av.container.InputContainer, av.video.stream.VideoStream]:
    """The open container and its video stream; refuses files without a decodable video stream."""
    try:
        c = av.open(str(p), metadata_errors="ignore")
    except _AV_ERRORS as err:
        raise MediaError(
            f"{p}: not a readable image or video ({_short(err)}); the file is damaged or not media"
        ) from err
    try:
        # cover art in a music file is a one-picture "video" stream: not something to scan
        streams = [s for s in c.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
        if not streams:
            if c.streams.audio:
                raise UnsupportedMediaError(f"{p}: audio only, no video stream; nothing to scan")
            kinds = ", ".join(sorted({s.type for s in c.streams})) or "none"
            raise MediaError(f"{p}: no video stream (streams: {kinds}); the file is damaged or cut short")
        vs = streams[0]
        if vs.codec_context is None:  # PyAV leaves it out when FFmpeg has no decoder for the codec id
            raise UnsupportedMediaError(
                f"{p}: no decoder for its video codec in this FFmpeg build (or the codec header is damaged)"
            )
        if vs.codec_context.width == 0 or vs.codec_context.height == 0:
            raise MediaError(f"{p}: video stream has no frame size; the file is corrupt")
        if _decode_threads == 1:
            vs.codec_context.thread_count = 1
        else:
            vs.thread_type = "AUTO"
    except MediaError:
        c.close()
        raise
    except _AV_ERRORS as err:
        c.close()
        raise MediaError(f"{p}: video header is unreadable ({_short(err)}); the file is corrupt") from err
    return c, vs


#: decoder threads: 0 lets FFmpeg choose (frame and slice threads, fastest for one file); 1 decodes on the
#: calling thread. Frame threads give the same frames run after run on an intact stream, not on a damaged one
#: (what each thread conceals depends on which finished first): batch workers, one per core anyway, decode on
#: one thread so that the same bytes always give the same record (docs/batch.md).
_decode_threads = 0


def deterministic_decoding(on: bool = True) -> None:
    """Decodes every video of this process on one thread (identical frames for a damaged file, every run)."""
    global _decode_threads
    _decode_threads = 1 if on else 0


def _short(err: BaseException) -> str:
    """One line of reason; FFmpeg's errors carry the path, which the caller's message already names."""
    if isinstance(err, av.error.FFmpegError) and err.strerror:
        return str(err.strerror)
    text = str(err).strip()
    return text.splitlines()[0][:160] if text else type(err).__name__


_MKV_DURATION = re.compile(r"^(\d+):(\d\d):(\d\d(?:\.\d+)?)$")


def _duration(c: av.container.InputContainer, vs: av.video.stream.VideoStream) -> float | None:
    """The video stream's duration in seconds: its own header field, Matroska's per-stream DURATION tag, then
    the container's (which also spans any longer audio)."""
    if vs.duration and vs.time_base:
        return float(vs.duration * vs.time_base)
    tag = next((v for k, v in vs.metadata.items() if k.upper() == "DURATION"), None)
    m = _MKV_DURATION.match(tag.strip()) if tag else None
    if m:
        seconds = int(m[1]) * 3600 + int(m[2]) * 60 + float(m[3])
        if seconds > 0:
            return seconds
    if c.duration and c.duration > 0:
        return c.duration / av.time_base
    return None


def _period(vs: av.video.stream.VideoStream) -> float:
    """Seconds per frame at the stream's average rate (25 fps when the header gives none)."""
    rate = vs.average_rate or vs.guessed_rate
    return 1 / float(rate) if rate else 1 / 25


def _rotation(vs: av.video.stream.VideoStream) -> int:
    """Deprecated, kept for callers of the first draft: clockwise degrees from the legacy `rotate` tag only,
    which is all that draft could read. Display matrices (what phones write) are on the decoded frames: use
    `iter_frames` / `sample_frames`, or `orientation.frame_orientation(frame).apply(rgb)`."""
    return -_tag_orientation(vs).rotation % 360


def _tag_orientation(vs: av.video.stream.VideoStream) -> Orientation:
    """Old muxers wrote the rotation as a `rotate` tag (Matroska still passes it through); FFmpeg 4 honoured
    it, newer FFmpeg only reads display matrices, which `frame_orientation` prefers."""
    tag = next((v for k, v in vs.metadata.items() if k.lower() == "rotate"), None)
    return Orientation.from_rotate_tag(tag)


def _first_frame(
    c: av.container.InputContainer, vs: av.video.stream.VideoStream, p: Path
) -> av.VideoFrame | None:
    """The first decodable frame, or None when none came within `_PROBE_PACKETS` packets; raises MediaError
    when the stream ends without any."""
    stats = DecodeStats()
    for frame in _decode(c, vs, stats, max_packets=_PROBE_PACKETS):
        return frame
    if stats.packets > _PROBE_PACKETS:
        return None
    raise _no_frame(p, stats)


def _no_frame(p: Path, stats: DecodeStats) -> MediaError:
    why = f" ({stats.first_error})" if stats.first_error else ""
    return MediaError(f"{p}: no frame of the video could be decoded{why}; the file is damaged or cut short")


@dataclass
class _Timed:
    """A decoded frame with its position in display order and its time in seconds from the stream start."""

    frame: av.VideoFrame
    index: int
    t: float


def _decode(
    c: av.container.InputContainer,
    vs: av.video.stream.VideoStream,
    stats: DecodeStats,
    max_packets: int | None = None,
) -> Iterator[av.VideoFrame]:
    """Every decodable frame, in display order. A packet that fails to decode is counted and skipped; a read
    error (a file cut short) ends the stream once the decoder has given up the frames it still holds."""
    try:
        for packet in c.demux(vs):
            stats.packets += 1
            if max_packets is not None and stats.packets > max_packets:
                return
            try:
                frames = packet.decode()
            except _AV_ERRORS as err:
                stats._fail(err)
                continue
            for frame in frames:
                stats.decoded += 1
                yield frame
    except _AV_ERRORS as err:
        stats._fail(err)
        stats.truncated = True
        try:
            frames = vs.codec_context.decode(None)  # drain: the frames before the damage
        except _AV_ERRORS:
            frames = []
        for frame in frames:
            stats.decoded += 1
            yield frame


def _timed(
    c: av.container.InputContainer, vs: av.video.stream.VideoStream, stats: DecodeStats
) -> Iterator[_Timed]:
    """Decoded frames with their times from pts, counted from the first frame, as players and the ffmpeg tool
    show them: the stream's own start_time can sit a frame before it (AVI guesses H.264 pts one frame late)
    or seconds away (MPEG-TS clocks). A frame without pts comes one frame period after the previous one."""
    period = _period(vs)
    start: float | None = None
    t = -period
    for index, frame in enumerate(_decode(c, vs, stats)):
        pts = frame.time
        if pts is None:
            t += period
        else:
            if start is None:
                start = pts - (t + period)  # the first timed frame continues the timeline
            t = pts - start
        stats.last_time_s = t
        yield _Timed(frame, index, t)


def _sample_video(
    p: Path,
    c: av.container.InputContainer,
    vs: av.video.stream.VideoStream,
    n: int | None,
    stats: DecodeStats,
) -> Iterator[Frame]:
    """n frames (all when n is None), decoded in one pass; closes the container when done or abandoned."""
    with c:
        try:
            dur = _duration(c, vs)
            period = _period(vs)
            fallback = _tag_orientation(vs)
        except _AV_ERRORS as err:
            raise MediaError(f"{p}: video header is unreadable ({_short(err)}); the file is corrupt") from err
        frames = _timed(c, vs, stats)
        if n is None:
            chosen: Iterator[_Timed] = frames
        elif dur and dur > 0:
            chosen = _pick_by_time(frames, dur, n)
        else:
            chosen = _pick_by_count(frames, n)
        for item in chosen:
            yield _to_frame(item, fallback, stats, p)
        for _ in frames:  # keep decoding so that stats count every frame and failure
            pass
        if stats.decoded == 0:
            raise _no_frame(p, stats)
        _check_complete(vs, dur, period, stats)


def _check_complete(
    vs: av.video.stream.VideoStream, duration: float | None, period: float, stats: DecodeStats
) -> None:
    """Flags a stream that stopped short of what its header states (by time, or by frame count where the
    container keeps one) and counts the frames that never came as failed. The slack absorbs the frame or two
    that decoders drop at an open GOP and the last frame's duration."""
    missing_n = max(0, (vs.frames or 0) - stats.decoded - stats.failed)
    if missing_n <= max(2, 0.1 * (vs.frames or 0)):
        missing_n = 0
    missing_s = duration - (stats.last_time_s + period) if duration and stats.last_time_s is not None else 0.0
    if missing_s > max(0.5, 0.1 * (duration or 0.0)):
        missing_n = max(missing_n, round(missing_s / period))
    if missing_n or stats.truncated:
        stats.truncated = True
        stats.failed += max(missing_n, 1 if stats.failed == 0 else 0)


def _pick_by_time(frames: Iterator[_Timed], duration: float, n: int) -> Iterator[_Timed]:
    """For each of `sample_times`, the frame on screen at that time (the last one at or before it), each frame
    at most once. Holds one frame: the latest candidate."""
    targets = sample_times(duration, n)
    eps = 1e-9
    k = 0
    held: _Timed | None = None
    handed_any = False
    for item in frames:
        taken = False
        while k < n and item.t > targets[k] + eps:
            if held is not None:
                yield held
                held, handed_any = None, True
            elif not handed_any:
                # targets before the first decodable frame: nothing was on screen yet, take the first one
                yield item
                taken = handed_any = True
            k += 1
        if k >= n:
            return
        if not taken:
            held = item
    if held is not None:
        yield held  # the last frame stays on screen until the end: it stands for the targets after it


def _pick_by_count(frames: Iterator[_Timed], n: int) -> Iterator[_Timed]:
    """When the file states no duration (a live-recorded WebM, a raw stream): keep every stride-th frame,
    doubling the stride whenever 2n are kept, then hand out n evenly spaced ones at the end. Holds at most 2n
    frames."""
    kept: list[_Timed] = []
    stride = 1
    for item in frames:
        if item.index % stride:
            continue
        kept.append(item)
        if len(kept) == 2 * n:
            kept = kept[::2]
            stride *= 2
    if len(kept) <= n:
        yield from kept
        return
    for i in np.unique(((np.arange(n) + 0.5) * len(kept) / n).astype(int)):
        yield kept[i]


def _to_frame(item: _Timed, fallback: Orientation, stats: DecodeStats, p: Path) -> Frame:
    try:
        img = item.frame.to_ndarray(format="rgb24")
        orient = frame_orientation(item.frame, fallback)
    except _AV_ERRORS as err:
        raise MediaError(f"{p}: frame {item.index} could not be converted to RGB ({_short(err)})") from err
    stats.sampled += 1
    return Frame(orient.apply(img), item.index, item.t)
