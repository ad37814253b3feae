"""A fuzz corpus for the batch: small synthesised videos and images in many codecs and containers, and copies of
them damaged the ways files in the wild are (truncated, bit flips in the header and in the payload, a block of
noise, wrong extension, junk appended, zero bytes, absurd dimensions in the header). Made by the test in a
temporary folder, never committed; deterministic for a given seed."""

from __future__ import annotations

import shutil
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
from tests import mediagen

SIZE = (96, 64)
#: (file name, codec, pixel format): containers by suffix, odd codecs and pixel formats on purpose
VIDEOS = (
    ("h264.mp4", "libx264", "yuv420p"),
    ("h264-444.mkv", "libx264", "yuv444p"),
    ("hevc.mov", "libx265", "yuv420p"),
    ("hevc10.mp4", "libx265", "yuv420p10le"),
    ("vp9.webm", "libvpx-vp9", "yuv420p"),
    ("vp8.webm", "libvpx", "yuv420p"),
    ("mpeg4.avi", "mpeg4", "yuv420p"),
    ("mjpeg.avi", "mjpeg", "yuvj420p"),
    ("ffv1.mkv", "ffv1", "yuv420p"),
    ("mpeg2.mpg", "mpeg2video", "yuv420p"),
    ("h264.ts", "libx264", "yuv420p"),
    ("prores.mov", "prores", "yuv422p10le"),
    ("utvideo.avi", "utvideo", "yuv420p"),
    ("h263.3gp", "h263", "yuv420p"),
    ("gray.mkv", "ffv1", "gray"),
)
IMAGES = (
    ("rgb.png", "RGB"), ("rgba.png", "RGBA"), ("grey.png", "L"), ("rgb.jpg", "RGB"), ("grey.jpg", "L"),
    ("rgb.webp", "RGB"), ("rgb.bmp", "RGB"), ("rgb.tif", "RGB"), ("cmyk.jpg", "CMYK"), ("pal.png", "P"),
)


def base_files(folder: Path) -> list[Path]:
    """The undamaged originals; a codec this FFmpeg build lacks is left out."""
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for name, codec, pix_fmt in VIDEOS:
        size = (128, 96) if codec == "h263" else SIZE  # H.263 takes a few fixed sizes
        try:
            made.append(mediagen.write_video(folder / name, codec=codec, pix_fmt=pix_fmt, size=size, frames=6))
        except Exception:  # noqa: BLE001 - an encoder missing from this build: one base file fewer
            (folder / name).unlink(missing_ok=True)
    for name, mode in IMAGES:
        made.append(mediagen.write_image(folder / name, size=SIZE, mode=mode))
    return made


def _flip(data: bytes, lo: int, hi: int, n: int, rng: np.random.Generator) -> bytes:
    buf = bytearray(data)
    hi = max(lo + 1, min(hi, len(buf)))
    for i in rng.integers(lo, hi, n):
        buf[int(i) % len(buf)] ^= 1 << int(rng.integers(0, 8))
    return bytes(buf)


def _huge(data: bytes) -> bytes:
    """The stated picture size set to 65535 x 65535 where the format keeps it at a known place."""
    buf = bytearray(data)
    for tag in (b"avc1", b"hvc1", b"hev1", b"mp4v"):  # MP4/MOV visual sample entry: width, height at +28
        i = buf.find(tag)
        if i > 0 and i + 32 <= len(buf):
            buf[i + 28 : i + 32] = struct.pack(">HH", 0xFFFF, 0xFFFF)
    if buf[:8] == b"\x89PNG\r\n\x1a\n":
        buf[16:24] = struct.pack(">II", 0xFFFF, 0xFFFF)  # CRC left wrong too
    j = buf.find(b"\xff\xc0")  # JPEG baseline frame header: height, width
    if j > 0:
        buf[j + 5 : j + 9] = struct.pack(">HH", 0xFFFF, 0xFFFF)
    return bytes(buf)


Mutation = Callable[[bytes, np.random.Generator], bytes]
MUTATIONS: dict[str, Mutation] = {
    "cut1": lambda d, r: d[: max(1, len(d) // 100)],
    "cut10": lambda d, r: d[: len(d) // 10],
    "cut50": lambda d, r: d[: len(d) // 2],
    "cut95": lambda d, r: d[: len(d) * 95 // 100],
    "head-a": lambda d, r: _flip(d, 0, 64, 3, r),
    "head-b": lambda d, r: _flip(d, 0, 512, 12, r),
    "body-a": lambda d, r: _flip(d, len(d) // 4, len(d), 8, r),
    "body-b": lambda d, r: _flip(d, len(d) // 4, len(d), 200, r),
    "noise": lambda d, r: d[: len(d) // 3] + r.integers(0, 256, len(d) // 3, dtype=np.uint8).tobytes()
    + d[2 * len(d) // 3 :],
    "junk": lambda d, r: d + r.integers(0, 256, 4096, dtype=np.uint8).tobytes(),
    "huge": lambda d, r: _huge(d),
}
#: a wrong extension for each kind: videos named as pictures and the other way round
WRONG_SUFFIX = {"video": ".png", "image": ".mp4"}


def fuzz_corpus(folder: Path, seed: int = 0) -> list[Path]:
    """Writes the corpus into `folder` and returns every file in it (originals included)."""
    rng = np.random.default_rng(seed)
    originals = base_files(folder / "orig")
    out = folder / "fuzz"
    out.mkdir()
    files = list(originals)
    for src in originals:
        data = src.read_bytes()
        for name, mutate in MUTATIONS.items():
            dst = out / f"{src.stem}.{src.suffix[1:]}-{name}{src.suffix}"
            dst.write_bytes(mutate(data, rng))
            files.append(dst)
        kind = "image" if src.suffix in {".png", ".jpg", ".webp", ".bmp", ".tif"} else "video"
        wrong = out / f"{src.stem}.{src.suffix[1:]}-as{WRONG_SUFFIX[kind]}"
        shutil.copyfile(src, wrong)
        files.append(wrong)
    for suffix in (".mp4", ".mov", ".mkv", ".webm", ".avi", ".png", ".jpg", ".webp", ".tif", ".bmp"):
        empty = out / f"empty{suffix}"
        empty.write_bytes(b"")
        files.append(empty)
        noise = mediagen.write_random(out / f"noise{suffix}", n=int(rng.integers(1, 20000)),
                                      seed=int(rng.integers(1 << 30)))
        files.append(noise)
    files.append(mediagen.write_png_header(out / "claims-100000px.png", (100_000, 100_000)))
    files.append(mediagen.write_audio(out / "audio-only.mp4", seconds=0.3))
    files.append(mediagen.write_text(out / "text.mov"))
    return files
