"""Format robustness: what media does to every face, real or fake, applied to both sides of a training pair.

A detector that keys on compression, resolution or framing instead of manipulation fails on the first
re-encoded clip. So each training image independently gets a random crop window (margin, aspect and position
jitter: already-cropped face videos, letterboxed clips, other detectors' boxes), resampling (240p sources, and
one-shot swappers that paste a 128-px face into a larger frame), blur, sensor noise and JPEG or real H.264
compression (libx264 through PyAV) at many strengths. Real and fake get the same distribution of all of them,
so none can become a shortcut.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import av
import cv2
import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class FormatAugment:
    """Probabilities and ranges; `none()` turns everything off (validation, tests)."""

    p_resample: float = 0.35
    resample: tuple[float, float] = (0.3, 0.9)  # downscale factor before scaling back
    p_blur: float = 0.15
    p_noise: float = 0.15
    p_compress: float = 0.85
    p_h264: float = 0.35  # share of the compressed images that go through H.264 instead of JPEG
    jpeg_quality: tuple[int, int] = (30, 96)
    h264_crf: tuple[int, int] = (18, 40)
    scale: tuple[float, float] = (0.88, 1.12)  # crop window side relative to the nominal margin
    aspect: float = 0.08  # window width/height ratio jitter (+-)
    shift: float = 0.04  # window centre jitter, as a fraction of the side

    @classmethod
    def none(cls) -> FormatAugment:
        return cls(p_resample=0, p_blur=0, p_noise=0, p_compress=0, scale=(1.0, 1.0), aspect=0, shift=0)


#: the recipe's settings (docs/training.md)
DEFAULT_AUG = FormatAugment()


def jpeg(img: NDArray[np.uint8], quality: int) -> NDArray[np.uint8]:
    ok, buf = cv2.imencode(".jpg", img[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    decoded = cv2.imdecode(buf, cv2.IMREAD_COLOR) if ok else None
    return img if decoded is None else np.asarray(decoded[..., ::-1], np.uint8)


def h264(img: NDArray[np.uint8], crf: int) -> NDArray[np.uint8]:
    """One intra frame through libx264 and back: 4:2:0 chroma, integer-DCT blocks, deblocking, as in video."""
    h, w = img.shape[:2]
    pad = np.pad(img, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")  # yuv420p needs even sides
    buf = io.BytesIO()
    with av.open(buf, "w", format="h264") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = pad.shape[1], pad.shape[0], "yuv420p"
        stream.options = {"crf": str(int(crf)), "preset": "ultrafast", "tune": "zerolatency"}
        stream.codec_context.thread_count = 1
        for packet in [*stream.encode(av.VideoFrame.from_ndarray(pad, format="rgb24")), *stream.encode()]:
            out.mux(packet)
    buf.seek(0)
    with av.open(buf, "r", format="h264") as inp:
        for frame in inp.decode(video=0):
            return np.ascontiguousarray(frame.to_ndarray(format="rgb24")[:h, :w])
    return img


def centre_crop(images: NDArray[np.uint8], size: int) -> NDArray[np.uint8]:
    """The centre `size` x `size` of one crop (h, w, 3) or of a batch (n, h, w, 3) cached with a wider margin."""
    o = (images.shape[-3] - size) // 2
    if o <= 0:
        return images
    return np.ascontiguousarray(images[..., o : o + size, o : o + size, :])


def crop_window(img: NDArray[np.uint8], size: int, rng: np.random.Generator | None,
                aug: FormatAugment = DEFAULT_AUG) -> NDArray[np.uint8]:
    """The centre `size` x `size` of a crop cached with a wider margin, or with `rng` a jittered window of it
    (zoom, aspect, position) resampled to `size`. Landmarks are not needed after the blend, so none follow."""
    return crop_windows([img], size, rng, aug)[0]


def crop_windows(images: list[NDArray], size: int, rng: np.random.Generator | None,
                 aug: FormatAugment = DEFAULT_AUG) -> list[NDArray]:
    """`crop_window` with one window for several arrays of the same side (a crop and its blend mask), so that a
    pixel of the mask still says how much of the output's pixel at the same place was blended."""
    s = images[0].shape[0]
    if rng is None or (aug.scale == (1.0, 1.0) and not aug.aspect and not aug.shift):
        o = (s - size) // 2
        return images if o <= 0 else [np.ascontiguousarray(a[o : o + size, o : o + size]) for a in images]
    side = size * rng.uniform(*aug.scale)
    a = 1 + rng.uniform(-aug.aspect, aug.aspect)
    sw, sh = side * np.sqrt(a), side / np.sqrt(a)
    cx, cy = s / 2 + rng.uniform(-aug.shift, aug.shift, 2) * size
    m = np.array([[size / sw, 0, size / 2 - cx * size / sw], [0, size / sh, size / 2 - cy * size / sh]], np.float32)
    return [np.asarray(cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_LINEAR,
                                      borderMode=cv2.BORDER_REFLECT_101), img.dtype) for img in images]


def degrade(img: NDArray[np.uint8], rng: np.random.Generator, aug: FormatAugment = DEFAULT_AUG
            ) -> NDArray[np.uint8]:
    """Resampling, blur, noise and compression, each at random; returns a new image."""
    h, w = img.shape[:2]
    out = img
    if rng.random() < aug.p_resample:
        f = rng.uniform(*aug.resample)
        small = cv2.resize(out, (max(8, int(w * f)), max(8, int(h * f))), interpolation=cv2.INTER_AREA)
        up = cv2.INTER_LINEAR if rng.random() < 0.5 else cv2.INTER_CUBIC
        out = np.asarray(cv2.resize(small, (w, h), interpolation=up), np.uint8)
    if rng.random() < aug.p_blur:
        out = np.asarray(cv2.GaussianBlur(out, (0, 0), rng.uniform(0.3, 1.2)), np.uint8)
    if rng.random() < aug.p_noise:
        out = np.clip(out + rng.normal(0, rng.uniform(1, 6), out.shape), 0, 255).astype(np.uint8)
    if rng.random() < aug.p_compress:
        if rng.random() < aug.p_h264:
            out = h264(out, int(rng.integers(*aug.h264_crf)))
        else:
            out = jpeg(out, int(rng.integers(*aug.jpeg_quality)))
    return out if out is not img else img.copy()
