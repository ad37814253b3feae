"""Orientation: EXIF tags against Pillow's exif_transpose, display matrices against the ffmpeg binary's
autorotate, both independent implementations of the same standards."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps
from tests import mediagen

from mimica.media import Orientation, probe, read_image, sample_frames

SIZE = (64, 48)  # w, h: not square, so a wrong quarter turn changes the shape


def _ffmpeg_first_frame(path: Path) -> np.ndarray:
    """The first frame as the ffmpeg command-line tool shows it (autorotate on, its default)."""
    imageio_ffmpeg = pytest.importorskip("imageio_ffmpeg")
    out = subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-i", str(path), "-frames:v", "1",
         "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        capture_output=True, check=True, timeout=60,
    ).stdout  # fmt: skip
    shapes = [(h, w, 3) for w, h in (SIZE, SIZE[::-1]) if w * h * 3 == len(out)]
    assert shapes, f"unexpected ffmpeg output size {len(out)}"
    return np.frombuffer(out, np.uint8)


@pytest.mark.parametrize(
    ("matrix", "expected"),
    [
        ([65536, 0, 0, 0, 65536, 0, 0, 0, 1 << 30], Orientation(0)),
        ([0, -65536, 0, 65536, 0, 0, 0, 0, 1 << 30], Orientation(90)),
        ([-65536, 0, 0, 0, -65536, 0, 0, 0, 1 << 30], Orientation(180)),
        ([0, 65536, 0, -65536, 0, 0, 0, 0, 1 << 30], Orientation(270)),
        ([-65536, 0, 0, 0, 65536, 0, 0, 0, 1 << 30], Orientation(0, True)),
        ([0, 65536, 0, 65536, 0, 0, 0, 0, 1 << 30], Orientation(270, True)),  # transposed
        ([0, -65536, 0, -65536, 0, 0, 0, 0, 1 << 30], Orientation(90, True)),
        ([65536, 0, 0, 0, -65536, 0, 0, 0, 1 << 30], Orientation(180, True)),  # upside down
        ([0, 0, 0, 0, 0, 0, 0, 0, 0], Orientation(0)),  # degenerate: left alone
        ([56756, -32768, 0, 32768, 56756, 0, 0, 0, 1 << 30], Orientation(0)),  # 30 degrees: nearest is 0
        ([32768, -56756, 0, 56756, 32768, 0, 0, 0, 1 << 30], Orientation(90)),  # 60 degrees: nearest is 90
    ],
)
def test_display_matrix(matrix: list[int], expected: Orientation) -> None:
    assert Orientation.from_display_matrix(matrix) == expected


@pytest.mark.parametrize(
    ("tag", "expected"),
    [(None, 0), ("0", 0), ("90", 270), ("180", 180), ("270", 90), ("-90", 90), ("junk", 0)],
)
def test_rotate_tag_is_clockwise(tag: str | None, expected: int) -> None:
    assert Orientation.from_rotate_tag(tag) == Orientation(expected)


def test_bad_rotation_is_refused() -> None:
    with pytest.raises(ValueError, match="rotation must be"):
        Orientation(45)


@pytest.mark.parametrize("tag", range(1, 9))
@pytest.mark.parametrize("suffix", [".jpg", ".png", ".webp"])
def test_exif_orientation_matches_pillow(tmp_path: Path, tag: int, suffix: str) -> None:
    path = mediagen.write_image(tmp_path / f"o{tag}{suffix}", SIZE, exif_orientation=tag)
    with Image.open(path) as im:
        expected = np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    got = read_image(path)
    assert got.shape == expected.shape
    assert np.array_equal(got, expected)
    info = probe(path)
    assert (info.width, info.height) == (expected.shape[1], expected.shape[0])
    assert Orientation(info.rotation, info.mirrored) == Orientation.from_exif(tag)
    frames = list(sample_frames(path, 4))
    assert len(frames) == 1 and np.array_equal(frames[0].image, expected)


@pytest.mark.parametrize("hflip", [False, True])
@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_video_display_matrix_matches_ffmpeg(tmp_path: Path, rotation: int, hflip: bool) -> None:
    path = mediagen.write_video(
        tmp_path / "r.mp4", size=SIZE, frames=3, pix_fmt="yuv444p", rotation=rotation, hflip=hflip
    )
    frame = list(sample_frames(path, 3))[0]
    assert frame.index == 0
    ffmpeg = _ffmpeg_first_frame(path).reshape(frame.image.shape)  # raises if the shapes disagree
    assert np.abs(frame.image.astype(int) - ffmpeg).mean() < 3
    # and against what set_display_rotation documents: turn counter-clockwise, then mirror left-right
    expected = np.rot90(mediagen.pattern(SIZE, 0), rotation // 90)
    expected = expected[:, ::-1] if hflip else expected
    assert np.abs(frame.image.astype(int) - expected).mean() < 6
    info = probe(path)
    assert (info.rotation, info.mirrored) == (rotation, hflip)
    assert (info.width, info.height) == (expected.shape[1], expected.shape[0])


@pytest.mark.parametrize("suffix", [".mp4", ".mov", ".mkv"])
@pytest.mark.parametrize("rotation", [90, 270])
def test_portrait_phone_video_comes_out_upright(tmp_path: Path, suffix: str, rotation: int) -> None:
    path = mediagen.write_video(tmp_path / f"phone{suffix}", size=SIZE, frames=10, rotation=rotation)
    frames = list(sample_frames(path, 5))
    assert len(frames) == 5
    for f in frames:
        assert f.image.shape == (SIZE[0], SIZE[1], 3)  # portrait: h = stored width
    red = np.array(mediagen.RED)
    corner = {90: (-3, 2), 270: (2, -3)}[rotation]  # where the stored top-left corner ends up
    assert np.abs(frames[0].image[corner].astype(int) - red).max() < 40


def test_legacy_rotate_tag(tmp_path: Path) -> None:
    """Matroska passes a `rotate` tag through; it means clockwise degrees, as FFmpeg 4 read it."""
    path = mediagen.write_video(tmp_path / "tag.mkv", size=SIZE, frames=3, pix_fmt="yuv444p", rotate_tag=90)
    frame = list(sample_frames(path, 3))[0]
    expected = np.rot90(mediagen.pattern(SIZE, 0), -1)
    assert frame.image.shape == expected.shape
    assert np.abs(frame.image.astype(int) - expected).mean() < 6
    info = probe(path)
    assert (info.rotation, info.width, info.height) == (270, SIZE[1], SIZE[0])
