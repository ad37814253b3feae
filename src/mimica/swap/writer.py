"""The only way swap output reaches the disk: every picture passes through the marking here.

Layers (../shared/notes/marking.md): (a) a visible "AI" label, (b) the IPTC digital source type in XMP and the
container tags, (c) a signed C2PA manifest, added after the final encode when a signer is configured, (d) the
invisible keyed watermark in the pixels. There is no option that turns (a) or (d) off; `Marking.training_data`
(used only by `mimica forge`, whose manifest says so) leaves them out because a detector trained on marked fakes
would learn the mark instead of the manipulation.

Files are written to a temporary name in the output folder and moved into place with os.replace, so a crash
never leaves a half-written or unmarked file under the requested name.
"""

from __future__ import annotations

import contextlib
import os
import uuid
import warnings
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image, PngImagePlugin

from mimica.errors import OutputError
from mimica.provenance import watermark
from mimica.provenance.keys import SignerFiles, find_signer
from mimica.provenance.xmp import COMPOSITE_TRAINED, MP4_TAG, append_mp4_xmp, xmp_packet

IMAGE_OUT = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG"}
VIDEO_OUT = {".mp4": "mp4", ".mov": "mov", ".m4v": "mp4"}
LABEL_POSITIONS = ("top-left", "top-right", "bottom-left", "bottom-right")
VERSION = "0.1.0"


class UnsignedNotice(UserWarning):
    """No C2PA signer is configured: the output carries every mark but the signed manifest."""


@dataclass(frozen=True)
class Marking:
    """How outputs are marked. label_position: where the "AI" label goes (one of LABEL_POSITIONS);
    private_key: a second watermark key only its holder can test for; key_dir: where the C2PA signer is looked
    up (default: $MIMICA_KEYS_DIR or ~/.config/mimica/keys); note: the description stored in the metadata."""

    label_position: str = "bottom-right"
    private_key: str | None = None
    key_dir: Path | None = None
    note: str = "Face replaced by mimica (training-free landmark swap); AI-generated content."
    training_data: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        if self.label_position not in LABEL_POSITIONS:
            raise OutputError(f"label position {self.label_position!r}: choose one of {', '.join(LABEL_POSITIONS)}")

    @property
    def keys(self) -> tuple[str, ...]:
        return (watermark.PUBLIC_KEY,) + ((self.private_key,) if self.private_key else ())

    def signer(self) -> SignerFiles | None:
        return find_signer(self.key_dir)


# -- pixels ----------------------------------------------------------------------------------------------------


def _label_patch(height: int, width: int) -> tuple[NDArray[np.uint8], NDArray[np.float32]]:
    """RGB patch and alpha of the "AI" badge for a frame of this size (about 7% of the short side)."""
    side = max(18, int(round(min(height, width) * 0.07)))
    pw, ph = int(side * 1.5), side
    rgb = np.zeros((ph, pw, 3), np.uint8)
    alpha = np.zeros((ph, pw), np.float32)
    r = max(2, side // 6)
    box = np.zeros((ph, pw), np.uint8)
    cv2.rectangle(box, (r, 0), (pw - 1 - r, ph - 1), 255, -1)
    cv2.rectangle(box, (0, r), (pw - 1, ph - 1 - r), 255, -1)
    for cx, cy in ((r, r), (pw - 1 - r, r), (r, ph - 1 - r), (pw - 1 - r, ph - 1 - r)):
        cv2.circle(box, (cx, cy), r, 255, -1)
    alpha[:] = box / 255.0 * 0.85
    rgb[:] = (20, 20, 20)
    scale = side / 34.0
    thick = max(1, int(round(side / 12)))
    (tw, th), _ = cv2.getTextSize("AI", cv2.FONT_HERSHEY_DUPLEX, scale, thick)
    org = ((pw - tw) // 2, (ph + th) // 2)
    text = np.zeros((ph, pw), np.uint8)
    cv2.putText(text, "AI", org, cv2.FONT_HERSHEY_DUPLEX, scale, 255, thick, cv2.LINE_AA)
    t = text.astype(np.float32) / 255.0
    rgb = (rgb * (1 - t[..., None]) + 255 * t[..., None]).astype(np.uint8)
    alpha = np.maximum(alpha, t)
    return rgb, alpha


def add_label(image: NDArray[np.uint8], position: str = "bottom-right") -> NDArray[np.uint8]:
    """A new image with the visible "AI" label in the given corner."""
    h, w = image.shape[:2]
    rgb, alpha = _label_patch(h, w)
    ph, pw = alpha.shape
    if ph >= h or pw >= w:
        return image.copy()
    margin = max(4, int(min(h, w) * 0.02))
    y = margin if position.startswith("top") else h - ph - margin
    x = margin if position.endswith("left") else w - pw - margin
    out = image.copy()
    region = out[y : y + ph, x : x + pw].astype(np.float32)
    a = alpha[..., None]
    out[y : y + ph, x : x + pw] = np.clip(rgb * a + region * (1 - a) + 0.5, 0, 255).astype(np.uint8)
    return out


def mark_pixels(image: NDArray[np.uint8], marking: Marking) -> NDArray[np.uint8]:
    """Label, then watermark (the label carries the mark too). Training data gets neither."""
    if marking.training_data:
        return image
    return watermark.embed(add_label(image, marking.label_position), marking.keys)


# -- files -----------------------------------------------------------------------------------------------------


def check_output(out: Path, inputs: list[Path], kinds: dict[str, str]) -> None:
    """Refuses an output that is an input, has an unsupported suffix or sits in a missing folder."""
    for p in inputs:
        with contextlib.suppress(OSError):
            if out.resolve() == p.resolve():
                raise OutputError(f"{out}: output path is the same as an input; choose another name")
    if out.suffix.lower() not in kinds:
        raise OutputError(
            f"{out}: cannot write {out.suffix or 'a file without suffix'} here; use one of {', '.join(sorted(kinds))}"
        )
    if not out.parent.is_dir():
        raise OutputError(f"{out}: folder {out.parent} does not exist; create it first")


def _temp_beside(out: Path, tag: str = "") -> Path:
    return out.with_name(f".{out.stem}.{uuid.uuid4().hex[:8]}{tag}.part{out.suffix}")


def _finish(tmp: Path, out: Path, marking: Marking, title: str) -> Path:
    """C2PA signing of the finished file (when a signer is configured), then the atomic move into place."""
    signer = marking.signer()
    final = tmp
    if signer is not None:
        from mimica.provenance.manifest import MIME, manifest_definition, sign_file

        signed = _temp_beside(out, ".signed")
        try:
            definition = manifest_definition(
                title,
                MIME[out.suffix.lower()],
                marking.note,
                None if marking.training_data else "mimica-public-v1",
                VERSION,
                marking.training_data,
            )
            sign_file(tmp, signed, signer, definition)
        except BaseException:
            signed.unlink(missing_ok=True)
            tmp.unlink(missing_ok=True)
            raise
        tmp.unlink(missing_ok=True)
        final = signed
    else:
        warnings.warn(
            "no C2PA signing key configured: output has the label, watermark and XMP but no signed manifest; "
            "run `mimica keys init` to create local keys",
            UnsignedNotice,
            stacklevel=3,
        )
    os.replace(final, out)
    return out


def write_image(image: NDArray[np.uint8], out: str | Path, marking: Marking, quality: int = 95) -> Path:
    """Marks and writes a still (JPEG or PNG, chosen by suffix) with XMP, then signs it."""
    out = Path(out)
    fmt = IMAGE_OUT.get(out.suffix.lower())
    if fmt is None:
        raise OutputError(f"{out}: images are written as {', '.join(IMAGE_OUT)}")
    pixels = mark_pixels(image, marking)
    packet = xmp_packet(COMPOSITE_TRAINED, f"mimica {VERSION}", _note(marking))
    tmp = _temp_beside(out)
    try:
        im = Image.fromarray(pixels)
        if fmt == "JPEG":
            im.save(tmp, "JPEG", quality=quality, subsampling=0, xmp=packet)
        else:
            info = PngImagePlugin.PngInfo()
            info.add_itxt("XML:com.adobe.xmp", packet.decode("utf-8"))
            im.save(tmp, "PNG", pnginfo=info)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return _finish(tmp, out, marking, out.name)


def _note(marking: Marking) -> str:
    if marking.training_data:
        return marking.note + " Detector training data: no visible label, no pixel watermark."
    return marking.note


class VideoWriter:
    """H.264 MP4/MOV output that marks every frame, keeps the source timestamps and remuxes audio unchanged.

    Use as a context manager; `write(rgb, pts)` per frame in presentation order, `mux(packet)` for audio
    packets of the `audio_template` stream. On a clean exit the file is finished, tagged, signed and moved into
    place; on an exception nothing is left behind.
    """

    def __init__(
        self,
        out: str | Path,
        width: int,
        height: int,
        rate: Fraction,
        time_base: Fraction,
        marking: Marking,
        audio_template: av.audio.stream.AudioStream | None = None,
        crf: int = 18,
        preset: str = "veryfast",
    ) -> None:
        self.out = Path(out)
        fmt = VIDEO_OUT.get(self.out.suffix.lower())
        if fmt is None:
            raise OutputError(f"{self.out}: videos are written as {', '.join(VIDEO_OUT)}")
        self.marking = marking
        self.tmp = _temp_beside(self.out)
        self._c = av.open(str(self.tmp), "w", format=fmt, options={"movflags": "+use_metadata_tags"})
        self._c.metadata[MP4_TAG] = COMPOSITE_TRAINED
        self._c.metadata["comment"] = _note(marking)
        self._c.metadata["encoder_tool"] = f"mimica {VERSION}"
        self._v = self._c.add_stream("libx264", rate=rate)
        self._v.width, self._v.height = width - width % 2, height - height % 2
        self._v.pix_fmt = "yuv420p"
        self._v.time_base = time_base
        self._v.codec_context.time_base = time_base
        self._v.options = {"crf": str(crf), "preset": preset}
        self._v.thread_type = "AUTO"
        self._a = None
        if audio_template is not None:
            try:
                self._a = self._c.add_stream_from_template(audio_template)
            except (av.error.FFmpegError, ValueError) as err:
                self._abort()
                raise OutputError(
                    f"{self.out}: the audio codec {audio_template.codec_context.name} cannot be copied into "
                    f"{self.out.suffix}; convert the audio to AAC first"
                ) from err
        self.frames = 0

    def write(self, image: NDArray[np.uint8], pts: int | None) -> None:
        pixels = mark_pixels(image, self.marking)
        if pixels.shape[0] != self._v.height or pixels.shape[1] != self._v.width:
            pixels = np.ascontiguousarray(pixels[: self._v.height, : self._v.width])
        frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
        frame.pts = pts if pts is not None else self.frames
        frame.time_base = self._v.codec_context.time_base
        for packet in self._v.encode(frame):
            self._c.mux(packet)
        self.frames += 1

    def mux(self, packet: av.Packet) -> None:
        if self._a is None or packet.dts is None:
            return
        packet.stream = self._a
        self._c.mux(packet)

    def _abort(self) -> None:
        with contextlib.suppress(Exception):
            self._c.close()
        self.tmp.unlink(missing_ok=True)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self._abort()
            return
        try:
            for packet in self._v.encode():
                self._c.mux(packet)
            self._c.close()
            append_mp4_xmp(self.tmp, xmp_packet(COMPOSITE_TRAINED, f"mimica {VERSION}", _note(self.marking)))
        except BaseException:
            self._abort()
            raise
        _finish(self.tmp, self.out, self.marking, self.out.name)
