"""Contract tests for mimica.media, as tables: every container/codec pair we promise to read, every still
format, and every bad input, which must end in a MimicaError naming the file, never another exception."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests import mediagen

from mimica.errors import MediaError, MimicaError, NoMediaError, UnsupportedMediaError
from mimica.media import (
    IMAGE_SUFFIXES,
    MAX_IMAGE_PIXELS,
    VIDEO_SUFFIXES,
    DecodeStats,
    find_media,
    iter_frames,
    probe,
    read_image,
    sample_frames,
    sample_times,
)

SIZE = (96, 64)  # w, h
FPS = 25

# --- videos that must decode --------------------------------------------------------------------------------

#: (suffix, encoder, pixel format, with audio, decoder name that probe reports, container keeps a frame count)
VIDEOS = [
    pytest.param(".mp4", "libx264", "yuv420p", False, "h264", True, id="mp4-h264"),
    pytest.param(".mov", "libx264", "yuv420p", True, "h264", True, id="mov-h264-aac"),
    pytest.param(".mkv", "libx264", "yuv420p", False, "h264", False, id="mkv-h264"),
    pytest.param(".ts", "libx264", "yuv420p", False, "h264", False, id="ts-h264"),
    pytest.param(".mp4", "libx265", "yuv420p", False, "hevc", True, id="mp4-hevc"),
    pytest.param(".mov", "libx265", "yuv420p", False, "hevc", True, id="mov-hevc"),
    pytest.param(".mkv", "libx265", "yuv420p", True, "hevc", False, id="mkv-hevc-aac"),
    pytest.param(".webm", "libvpx-vp9", "yuv420p", True, "vp9", False, id="webm-vp9-opus"),
    pytest.param(".mkv", "libvpx-vp9", "yuv420p", False, "vp9", False, id="mkv-vp9"),
    pytest.param(".mp4", "libvpx-vp9", "yuv420p", False, "vp9", True, id="mp4-vp9"),
    pytest.param(".avi", "mpeg4", "yuv420p", True, "mpeg4", True, id="avi-mpeg4-pcm"),
    pytest.param(".avi", "libx264", "yuv420p", False, "h264", True, id="avi-h264"),
    pytest.param(".mov", "mpeg4", "yuv420p", False, "mpeg4", True, id="mov-mpeg4"),
    pytest.param(".mkv", "mpeg4", "yuv420p", False, "mpeg4", False, id="mkv-mpeg4"),
    pytest.param(".mp4", "mpeg4", "yuv420p", False, "mpeg4", True, id="mp4-mpeg4"),
    pytest.param(".mp4", "libx264", "yuv420p10le", False, "h264", True, id="mp4-h264-10bit"),
    pytest.param(".mkv", "libx265", "yuv420p10le", False, "hevc", False, id="mkv-hevc-10bit"),
    pytest.param(".mp4", "libx264", "gray", False, "h264", True, id="mp4-h264-gray"),
    pytest.param(".mkv", "libx265", "gray", False, "hevc", False, id="mkv-hevc-gray"),
    pytest.param(".mp4", "libx264", "yuv444p", False, "h264", True, id="mp4-h264-444"),
]


def _luma(rgb: np.ndarray) -> np.ndarray:
    """BT.601 luma, what a grayscale encode keeps of a colour picture."""
    return rgb.astype(float) @ np.array([0.299, 0.587, 0.114])


def _on_screen(times: np.ndarray, duration: float, n: int) -> list[int]:
    """Expected indices: for each sample time, the last frame shown at or before it."""
    return [
        max(0, int(np.searchsorted(times, t + 1e-9, side="right")) - 1) for t in sample_times(duration, n)
    ]


@pytest.mark.parametrize(("suffix", "codec", "pix_fmt", "audio", "decoder", "counted"), VIDEOS)
def test_video_contract(
    tmp_path: Path, suffix: str, codec: str, pix_fmt: str, audio: bool, decoder: str, counted: bool
) -> None:
    n_frames, n = 30, 8
    path = mediagen.write_video(
        tmp_path / f"v{suffix}", codec, SIZE, n_frames, FPS, pix_fmt=pix_fmt, audio=audio
    )  # fmt: skip
    info = probe(path)
    assert info.duration_s is not None
    assert (info.kind, info.codec, info.width, info.height) == ("video", decoder, *SIZE)
    assert (info.rotation, info.mirrored) == (0, False)
    assert info.fps == pytest.approx(FPS)
    assert info.duration_s == pytest.approx(n_frames / FPS, abs=1.5 / FPS)
    assert info.frame_count == (n_frames if counted else None)
    assert ("audio_codec" in info.extra) == audio

    stats = DecodeStats()
    frames = list(sample_frames(path, n, stats))
    times = mediagen.frame_times(n_frames, FPS)
    expected = _on_screen(times, info.duration_s, n)
    assert [f.index for f in frames] == expected
    assert [f.time_s for f in frames] == pytest.approx(times[expected], abs=1e-3)
    assert (stats.decoded, stats.failed, stats.sampled, stats.truncated) == (n_frames, 0, n, False)
    assert stats.ok
    for f in frames:
        assert f.image.dtype == np.uint8 and f.image.shape == (SIZE[1], SIZE[0], 3)
        want = mediagen.pattern(SIZE, f.index)
        if pix_fmt.startswith("gray"):
            assert np.array_equal(f.image[..., 0], f.image[..., 2])  # no colour survives
            assert np.abs(f.image[..., 0] - _luma(want)).mean() < 8
        else:
            assert np.abs(f.image.astype(int) - want).mean() < 8


@pytest.mark.parametrize(("suffix", "codec", "pix_fmt", "audio", "decoder", "counted"), VIDEOS)
def test_solid_colour_survives(
    tmp_path: Path, suffix: str, codec: str, pix_fmt: str, audio: bool, decoder: str, counted: bool
) -> None:
    colour = (200, 60, 30)
    path = mediagen.write_video(
        tmp_path / f"c{suffix}", codec, (64, 48), 4, FPS, pix_fmt=pix_fmt, color=colour
    )
    want = np.full(3, _luma(np.array(colour))) if pix_fmt.startswith("gray") else np.array(colour)
    frames = list(sample_frames(path, 4))
    assert len(frames) == 4
    for f in frames:
        assert np.abs(f.image.reshape(-1, 3).mean(axis=0) - want).max() < 4


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_variable_frame_rate_uses_real_timestamps(tmp_path: Path, suffix: str) -> None:
    n_frames, n = 40, 16
    path = mediagen.write_video(tmp_path / f"vfr{suffix}", size=SIZE, frames=n_frames, vfr=True)
    times = mediagen.frame_times(n_frames, FPS, vfr=True)
    assert len(np.unique(np.round(np.diff(times), 3))) > 2  # the fixture really is variable
    info = probe(path)
    assert info.duration_s is not None and info.fps is not None
    assert info.duration_s == pytest.approx(times[-1], abs=0.15)
    frames = list(sample_frames(path, n))
    got = np.array([f.time_s for f in frames])
    assert np.all(np.diff(got) > 0)
    expected = _on_screen(times, info.duration_s, n)
    assert [f.index for f in frames] == sorted(set(expected))
    assert got == pytest.approx(times[sorted(set(expected))], abs=1e-3)
    # a frame-count rule (index * mean period) would be off by several frames somewhere
    assert np.abs(got - np.array([f.index for f in frames]) / info.fps).max() > 0.02


@pytest.mark.parametrize("suffix", [".mp4", ".mkv"])
def test_iter_frames_gives_every_frame_upright(tmp_path: Path, suffix: str) -> None:
    n_frames = 12
    path = mediagen.write_video(tmp_path / f"all{suffix}", size=SIZE, frames=n_frames, vfr=True, rotation=90)
    stats = DecodeStats()
    frames = list(iter_frames(path, stats))
    assert [f.index for f in frames] == list(range(n_frames))
    assert [f.time_s for f in frames] == pytest.approx(
        mediagen.frame_times(n_frames, FPS, vfr=True), abs=1e-3
    )
    assert all(f.image.shape == (SIZE[0], SIZE[1], 3) for f in frames)
    assert (stats.decoded, stats.sampled, stats.ok) == (n_frames, n_frames, True)
    image = mediagen.write_image(tmp_path / "a.png", SIZE)
    assert [f.index for f in iter_frames(image)] == [0]


def test_iter_frames_stops_at_the_cut(tmp_path: Path) -> None:
    path = mediagen.truncate(mediagen.write_video(tmp_path / "cut.mkv", size=SIZE, frames=50), 0.5)
    stats = DecodeStats()
    frames = list(iter_frames(path, stats))
    assert 0 < len(frames) == stats.decoded < 50 and stats.truncated


def test_legacy_rotation_helper_reads_the_tag_clockwise(tmp_path: Path) -> None:
    """`_rotation` stays for code written against the first draft (clockwise degrees, tag only)."""
    import av

    from mimica.media.open import _rotation

    path = mediagen.write_video(tmp_path / "tag.mkv", size=SIZE, frames=2, rotate_tag=90)
    with av.open(str(path)) as c:
        assert _rotation(c.streams.video[0]) == 90


def test_fewer_frames_than_asked_yields_each_once(tmp_path: Path) -> None:
    path = mediagen.write_video(tmp_path / "short.mp4", size=SIZE, frames=5)
    stats = DecodeStats()
    frames = list(sample_frames(path, 32, stats))
    assert [f.index for f in frames] == [0, 1, 2, 3, 4]
    assert (stats.decoded, stats.sampled) == (5, 5)


def test_single_frame_video(tmp_path: Path) -> None:
    path = mediagen.write_video(tmp_path / "one.mkv", size=SIZE, frames=1)
    frames = list(sample_frames(path, 32))
    assert [(f.index, f.time_s) for f in frames] == [(0, 0.0)]


def test_video_without_duration_is_sampled_over_its_whole_length(tmp_path: Path) -> None:
    """Browsers record WebM without a duration; the count-based fallback still spans the file."""
    n_frames, n = 100, 8
    path = mediagen.write_video(tmp_path / "live.webm", "libvpx-vp9", SIZE, n_frames, options={"live": "1"})
    assert probe(path).duration_s is None
    stats = DecodeStats()
    idx = [f.index for f in sample_frames(path, n, stats)]
    assert len(idx) == n and idx == sorted(set(idx))
    assert idx[0] < n_frames / n and idx[-1] >= n_frames * (1 - 1.5 / n)
    assert max(np.diff(idx)) <= 2 * n_frames / n
    assert (stats.decoded, stats.sampled) == (n_frames, n)


def test_raw_stream_without_timestamps(tmp_path: Path) -> None:
    """A raw H.264 stream has no pts: frames are placed one frame period apart."""
    path = mediagen.write_video(tmp_path / "raw.h264", size=SIZE, frames=20, format="h264")
    frames = list(sample_frames(path, 4))
    assert len(frames) == 4
    assert [f.time_s for f in frames] == pytest.approx([f.index / FPS for f in frames], abs=1e-6)


def test_content_decides_not_the_suffix(tmp_path: Path) -> None:
    video = mediagen.write_video(tmp_path / "clip.mp4", size=SIZE, frames=10).rename(tmp_path / "clip.jpg")
    assert probe(video).kind == "video"
    assert len(list(sample_frames(video, 4))) == 4
    image = mediagen.write_image(tmp_path / "photo.png", SIZE).rename(tmp_path / "photo.mp4")
    assert probe(image).kind == "image"
    assert [f.index for f in sample_frames(image, 4)] == [0]


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="peak-memory reset is Linux only")
def test_memory_stays_flat_on_a_long_video(tmp_path: Path) -> None:
    """1500 frames of 320x240 would take 345 MB as RGB and 170 MB as YUV if any were kept."""
    path = mediagen.write_video(tmp_path / "long.mp4", size=(320, 240), frames=1500)
    stats = DecodeStats()
    frames = sample_frames(path, 8, stats)
    base = _rss_kb("VmRSS")
    try:
        Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current size
    except OSError:
        pytest.skip("cannot reset the peak memory counter here")
    kept = list(frames)
    growth_mb = (_rss_kb("VmHWM") - base) / 1024
    assert len(kept) == 8 and stats.decoded == 1500 and stats.sampled == 8
    assert growth_mb < 60, f"peak memory grew by {growth_mb:.0f} MB while decoding"


def _rss_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} missing from /proc/self/status")


# --- damaged videos: the frames before the damage survive ---------------------------------------------------

TRUNCATED = [
    pytest.param(".mp4", "libx264", 0.5, id="mp4-h264"),
    pytest.param(".mov", "libx265", 0.8, id="mov-hevc"),  # x265's first frame is most of a small file
    pytest.param(".mkv", "libx264", 0.5, id="mkv-h264"),
    pytest.param(".webm", "libvpx-vp9", 0.5, id="webm-vp9"),
    pytest.param(".avi", "mpeg4", 0.5, id="avi-mpeg4"),
    pytest.param(".mov", "mpeg4", 0.5, id="mov-mpeg4"),
]


@pytest.mark.parametrize(("suffix", "codec", "fraction"), TRUNCATED)
def test_truncated_video_yields_frames_before_the_cut(
    tmp_path: Path, suffix: str, codec: str, fraction: float
) -> None:
    n_frames = 50
    whole = mediagen.write_video(tmp_path / f"whole{suffix}", codec, SIZE, n_frames)
    intact = {f.index: f for f in sample_frames(whole, n_frames)}
    cut = mediagen.truncate(shutil.copy(whole, tmp_path / f"cut{suffix}"), fraction)
    probe(cut)  # the header survives
    stats = DecodeStats()
    frames = list(sample_frames(cut, 16, stats))
    assert 0 < len(frames) < 16
    assert 0 < stats.decoded < n_frames
    assert stats.truncated and stats.failed > 0 and not stats.ok
    assert stats.decoded + stats.failed >= n_frames - 2  # the missing frames are counted
    assert np.all(np.diff([f.time_s for f in frames]) > 0)
    for f in frames[:-1]:  # the last one may be the partly received frame at the cut
        assert f.time_s == pytest.approx(intact[f.index].time_s)
        assert np.abs(f.image.astype(int) - intact[f.index].image).mean() < 1


@pytest.mark.parametrize(
    ("suffix", "codec"), [(".mp4", "libx264"), (".mkv", "libx264"), (".avi", "mpeg4")], ids=str
)
def test_corrupt_middle_is_counted_and_skipped(tmp_path: Path, suffix: str, codec: str) -> None:
    path = mediagen.corrupt(mediagen.write_video(tmp_path / f"c{suffix}", codec, SIZE, 50), 0.45, 0.55)
    stats = DecodeStats()
    frames = list(sample_frames(path, 16, stats))
    assert len(frames) >= 4
    assert not stats.ok and stats.failed > 0


# --- still images -------------------------------------------------------------------------------------------

#: (suffix, Pillow mode to save, mean absolute error allowed: 0 for lossless storage)
IMAGES = [
    pytest.param(".jpg", "RGB", 8, id="jpeg"),
    pytest.param(".jpeg", "L", 4, id="jpeg-gray"),
    pytest.param(".jpg", "CMYK", 8, id="jpeg-cmyk"),
    pytest.param(".png", "RGB", 0, id="png"),
    pytest.param(".png", "RGBA", 0, id="png-rgba"),
    pytest.param(".png", "L", 1, id="png-gray"),  # Pillow's own luma rounding
    pytest.param(".png", "P", 20, id="png-palette"),  # quantised to 256 colours
    pytest.param(".webp", "RGB", 0, id="webp-lossless"),
    pytest.param(".bmp", "RGB", 0, id="bmp"),
    pytest.param(".tif", "RGB", 0, id="tiff"),
]


@pytest.mark.parametrize(("suffix", "mode", "tolerance"), IMAGES)
def test_image_contract(tmp_path: Path, suffix: str, mode: str, tolerance: float) -> None:
    path = mediagen.write_image(tmp_path / f"i{suffix}", SIZE, mode=mode)
    info = probe(path)
    assert (info.kind, info.width, info.height, info.frame_count, info.rotation) == ("image", *SIZE, 1, 0)
    img = read_image(path)
    assert img.dtype == np.uint8 and img.shape == (SIZE[1], SIZE[0], 3) and img.flags.c_contiguous
    want = mediagen.pattern(SIZE)
    if mode == "L":
        assert np.array_equal(img[..., 0], img[..., 2])
        assert np.abs(img[..., 0] - _luma(want)).mean() < tolerance
    elif tolerance == 0:
        assert np.array_equal(img, want)
    else:
        assert np.abs(img.astype(int) - want).mean() < tolerance
    stats = DecodeStats()
    frames = list(sample_frames(path, 32, stats))
    assert len(frames) == 1 and (frames[0].index, frames[0].time_s) == (0, 0.0)
    assert np.array_equal(frames[0].image, img)
    assert (stats.decoded, stats.sampled) == (1, 1)


def test_image_just_below_the_limit_is_read_lazily(tmp_path: Path) -> None:
    """probe reads no pixels: a header claiming a big (but allowed) size answers at once."""
    path = mediagen.write_png_header(tmp_path / "big.png", (3000, 3000))
    info = probe(path)
    assert (info.width, info.height) == (3000, 3000)
    with pytest.raises(MediaError, match="truncated or corrupt"):
        read_image(path)


# --- bad inputs ---------------------------------------------------------------------------------------------


def _audio_with_cover_art(tmp_path: Path) -> Path:
    """A music file whose only "video" is its cover picture (made with the ffmpeg binary)."""
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    audio = mediagen.write_audio(tmp_path / "song.m4a")
    cover = mediagen.write_image(tmp_path / "cover.png", (32, 32))
    out = tmp_path / "song-with-cover.mp4"
    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(audio), "-i", str(cover), "-map", "0",
         "-map", "1", "-c", "copy", "-disposition:v", "attached_pic", str(out)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return out


def _folder(tmp_path: Path) -> Path:
    (tmp_path / "dir").mkdir()
    return tmp_path / "dir"


def _empty(tmp_path: Path) -> Path:
    (tmp_path / "empty.mp4").write_bytes(b"")
    return tmp_path / "empty.mp4"


def _cut_video(suffix: str, codec: str, fraction: float, faststart: bool = True) -> Callable[[Path], Path]:
    def make(tmp_path: Path) -> Path:
        path = mediagen.write_video(tmp_path / f"v{suffix}", codec, SIZE, 20, faststart=faststart)
        return mediagen.truncate(path, fraction)

    return make


#: what FFmpeg reports for a damaged file depends on where the damage falls
DAMAGED = "not a readable|no video stream|no frame|damaged|corrupt"


def _bad(
    id: str, make: Callable[[Path], Path], error: type[MimicaError], pattern: str, probe_raises: bool = True
) -> object:
    """One row: how to make the input in tmp_path, the exception, a pattern its message must match, and
    whether probe refuses it too (probe reads headers only)."""
    return pytest.param(make, error, pattern, probe_raises, id=id)


def _random(name: str, n: int = 4096, seed: int = 0) -> Callable[[Path], Path]:
    return lambda t: mediagen.write_random(t / name, n, seed)


def _png_claiming(size: tuple[int, int]) -> Callable[[Path], Path]:
    return lambda t: mediagen.write_png_header(t / "huge.png", size)


BAD = [
    _bad("missing", lambda t: t / "missing.mp4", MediaError, "no such file"),
    _bad("folder", _folder, MediaError, "is a folder"),
    _bad("zero-length", _empty, MediaError, "empty"),
    _bad("text-as-mp4", lambda t: mediagen.write_text(t / "notes.mp4"), MediaError, "not a readable"),
    _bad("random-mp4", _random("r.mp4"), MediaError, "not a readable"),
    _bad("random-avi", _random("r.avi", 50_000, 1), MediaError, "not a readable"),
    _bad("random-jpg", _random("r.jpg", 9000, 2), MediaError, DAMAGED),
    _bad("audio-only-mp4", lambda t: mediagen.write_audio(t / "a.mp4"), UnsupportedMediaError, "audio only"),
    _bad(
        "audio-only-webm", lambda t: mediagen.write_audio(t / "a.webm"), UnsupportedMediaError, "audio only"
    ),
    _bad("audio-with-cover-art", _audio_with_cover_art, UnsupportedMediaError, "audio only"),
    _bad("png-16000x16000", _png_claiming((16000, 16000)), UnsupportedMediaError, "too large"),
    _bad(
        "png-10000x9000", _png_claiming((10000, 9000)), UnsupportedMediaError, "10000x9000, above the 80 MP"
    ),
    _bad("gif", lambda t: mediagen.write_image(t / "a.gif"), UnsupportedMediaError, "GIF is not supported"),
    _bad(
        "jpeg-cut-in-half",
        lambda t: mediagen.truncate(mediagen.write_image(t / "t.jpg", (256, 256)), 0.5),
        MediaError,
        "truncated or corrupt",
        probe_raises=False,
    ),
    _bad("mp4-cut-at-5%", _cut_video(".mp4", "libx264", 0.05), MediaError, DAMAGED),
    _bad(
        "mp4-index-at-end-cut",
        _cut_video(".mp4", "libx264", 0.5, faststart=False),
        MediaError,
        "not a readable",
    ),
    _bad("mkv-cut-at-5%", _cut_video(".mkv", "libx264", 0.05), MediaError, DAMAGED),
    _bad("webm-cut-at-5%", _cut_video(".webm", "libvpx-vp9", 0.05), MediaError, DAMAGED),
    _bad("avi-cut-at-2%", _cut_video(".avi", "mpeg4", 0.02), MediaError, DAMAGED),
]


@pytest.mark.parametrize(("make", "error", "pattern", "probe_raises"), BAD)
def test_bad_input_gives_one_line_media_error(
    tmp_path: Path, make: Callable[[Path], Path], error: type[MimicaError], pattern: str, probe_raises: bool
) -> None:
    path = make(tmp_path)
    calls: dict[str, Callable[[], object]] = {"sample_frames": lambda: list(sample_frames(path, 8))}
    if probe_raises:
        calls["probe"] = lambda: probe(path)
    for name, call in calls.items():
        with pytest.raises(MimicaError) as got:
            call()
        err = got.value
        assert type(err) is error, f"{name}: {type(err).__name__}: {err}"
        msg = str(err)
        assert re.search(pattern, msg) and str(path) in msg and "\n" not in msg, f"{name}: {msg}"


def test_open_errors_raise_at_call_time(tmp_path: Path) -> None:
    """sample_frames opens the file when called, so a bad path fails where the caller passes it."""
    with pytest.raises(MediaError, match="no such file"):
        sample_frames(tmp_path / "missing.mp4", 8)
    with pytest.raises(UnsupportedMediaError, match="audio only"):
        sample_frames(mediagen.write_audio(tmp_path / "a.mp4"), 8)


def test_read_image_refuses_a_video(tmp_path: Path) -> None:
    path = mediagen.write_video(tmp_path / "v.mp4", size=SIZE, frames=2)
    with pytest.raises(MediaError, match="not a readable image"):
        read_image(path)


@pytest.mark.parametrize("n", [0, -3])
def test_frame_count_must_be_positive(tmp_path: Path, n: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        sample_frames(mediagen.write_image(tmp_path / "a.png"), n)


class _Originals(dict):
    def __repr__(self) -> str:  # hypothesis prints its arguments on failure: keep the bytes out
        return f"<original files: {', '.join(self)}>"


@pytest.fixture(scope="module")
def originals(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    """Small valid files to damage."""
    d = tmp_path_factory.mktemp("originals")
    paths = [
        mediagen.write_video(d / "a.mp4", size=(64, 48), frames=20, audio=True),
        mediagen.write_video(d / "a.mkv", "libx265", (64, 48), 20),
        mediagen.write_video(d / "a.webm", "libvpx-vp9", (64, 48), 20),
        mediagen.write_video(d / "a.avi", "mpeg4", (64, 48), 20),
        mediagen.write_video(d / "a.mov", size=(64, 48), frames=20, faststart=False),
        mediagen.write_image(d / "a.jpg", (64, 48), exif_orientation=6),
        mediagen.write_image(d / "a.png", (64, 48)),
        mediagen.write_image(d / "a.webp", (64, 48)),
    ]
    return _Originals({p.suffix: p.read_bytes() for p in paths})


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    suffix=st.sampled_from([".mp4", ".mkv", ".webm", ".avi", ".mov", ".jpg", ".png", ".webp"]),
    cut=st.floats(0.0, 1.0),
    start=st.floats(0.0, 1.0),
    length=st.integers(0, 400),
    seed=st.integers(0, 2**16),
)
def test_damaged_files_never_leak_other_exceptions(
    tmp_path: Path, originals: dict[str, bytes], suffix: str, cut: float, start: float, length: int, seed: int
) -> None:
    data = bytearray(originals[suffix][: max(1, int(len(originals[suffix]) * cut))])
    a = int(len(data) * start)
    noise = np.random.default_rng(seed).integers(0, 256, len(data[a : a + length]), np.uint8)
    data[a : a + length] = noise.tobytes()
    path = tmp_path / f"damaged{suffix}"
    path.write_bytes(bytes(data))
    for call in (lambda: probe(path), lambda: list(sample_frames(path, 6))):
        try:
            result = call()
        except MimicaError as err:
            assert str(path) in str(err) and "\n" not in str(err)
            continue
        for f in result if isinstance(result, list) else []:
            assert f.image.dtype == np.uint8 and f.image.ndim == 3


# --- folders ------------------------------------------------------------------------------------------------


def test_find_media_lists_media_under_a_folder(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    a = mediagen.write_image(tmp_path / "sub" / "b.JPG", SIZE)
    b = mediagen.write_video(tmp_path / "a.mp4", size=SIZE, frames=2)
    mediagen.write_text(tmp_path / "notes.txt")
    assert find_media(tmp_path) == sorted([a, b])
    assert find_media(b) == [b]


@pytest.mark.parametrize(
    ("make", "error"),
    [
        pytest.param(lambda t: t / "missing", MediaError, id="missing"),
        pytest.param(_folder, NoMediaError, id="empty-folder"),
        pytest.param(lambda t: mediagen.write_text(t / "notes.txt").parent, NoMediaError, id="no-media"),
    ],
)
def test_find_media_errors(tmp_path: Path, make: Callable[[Path], Path], error: type[MimicaError]) -> None:
    path = make(tmp_path)
    with pytest.raises(error, match=str(path.name)) as got:
        find_media(path)
    assert type(got.value) is error


def test_suffix_tables_cover_the_promised_formats() -> None:
    assert {".jpg", ".jpeg", ".png", ".webp", ".bmp"} <= IMAGE_SUFFIXES
    assert {".mp4", ".mov", ".mkv", ".webm", ".avi"} <= VIDEO_SUFFIXES
    assert not IMAGE_SUFFIXES & VIDEO_SUFFIXES
    assert MAX_IMAGE_PIXELS < 16000 * 16000


def test_pillow_bomb_guard_is_left_alone() -> None:
    """Scanning must not switch off Pillow's decompression-bomb check for the rest of the process."""
    from PIL import Image

    assert Image.MAX_IMAGE_PIXELS is not None
    assert "mimica.media" in sys.modules
