"""Uploads: streamed to disk under a name of our own, then judged by their content, never by the client's
name or declared type.

The multipart body is parsed as it arrives (python-multipart's streaming parser) and the `file` part goes
straight into data_dir/uploads/<id>.part, so memory stays flat and an oversized upload is cut off at the limit
instead of after it has filled a temp folder. Then the first bytes say what the file is (`sniff`), the media
probe confirms that it decodes, and the limits on duration and resolution apply.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from mimica.errors import MediaError, UnsupportedMediaError
from mimica.media import MediaInfo, probe, read_image

#: bytes read to recognise a file
HEAD = 4096
#: multipart framing and small fields allowed on top of the file itself
SLACK = 64 * 1024
FORMATS = "JPEG, PNG, WebP, BMP, TIFF images; MP4, MOV, MKV, WebM, AVI, MPEG-TS/PS videos"


class UploadRejected(Exception):
    """An upload refused with an HTTP status and a one-line reason for the client."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Received:
    path: Path
    filename: str
    size: int


@dataclass(frozen=True)
class Checked:
    ext: str
    info: MediaInfo


def display_name(raw: str | None) -> str:
    """The client's file name as display text only: the last path component, control characters removed,
    at most 200 characters. It never becomes part of a path on the server."""
    name = re.split(r"[\\/]", raw or "")[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip()
    return name[:200] or "upload"


async def receive(chunks: AsyncIterator[bytes], content_type: str, dest: Path, max_bytes: int,
                  field: str = "file") -> Received:
    """Parses a multipart/form-data body, writing the part named `field` to `dest` as it arrives.

    Raises UploadRejected: 413 past `max_bytes`, 422 without a file part or with an empty file, 415 when
    the body is not multipart. Removes `dest` on failure.
    """
    from python_multipart.multipart import MultipartParser, parse_options_header

    ctype, params = parse_options_header(content_type or "")
    boundary = params.get(b"boundary")
    if ctype != b"multipart/form-data" or not boundary:
        raise UploadRejected(415, f"send the file as multipart/form-data in the field '{field}'")
    state: dict = {"headers": {}, "field": None, "name": None, "is_file": False, "size": 0, "other": 0,
                   "found": False, "header": b"", "value": b""}
    out = None

    def on_part_begin() -> None:
        state.update(headers={}, field=None, name=None, is_file=False)

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["header"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        state["value"] += data[start:end]

    def on_header_end() -> None:
        state["headers"][state["header"].lower()] = state["value"]
        state["header"] = state["value"] = b""

    def on_headers_finished() -> None:
        nonlocal out
        _, disp = parse_options_header(state["headers"].get(b"content-disposition", b""))
        name = disp.get(b"name", b"").decode("utf-8", "replace")
        filename = disp.get(b"filename")
        if name == field and filename is not None and not state["found"]:
            state.update(is_file=True, found=True, name=filename.decode("utf-8", "replace"))
            out = dest.open("wb")

    def on_part_data(data: bytes, start: int, end: int) -> None:
        n = end - start
        if state["is_file"]:
            state["size"] += n
            if state["size"] > max_bytes:
                raise UploadRejected(413, f"file is larger than the {_mb(max_bytes)} limit")
            assert out is not None
            out.write(data[start:end])
        else:
            state["other"] += n
            if state["other"] > SLACK:
                raise UploadRejected(413, "form fields besides the file are too large")

    def on_part_end() -> None:
        if state["is_file"] and out is not None:
            out.close()
        state["is_file"] = False

    parser = MultipartParser(boundary, {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field,
        "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished, "on_part_data": on_part_data, "on_part_end": on_part_end,
    })
    try:
        async for chunk in chunks:
            if chunk:
                parser.write(chunk)
        parser.finalize()
    except UploadRejected:
        _discard(out, dest)
        raise
    except Exception as err:  # python-multipart's parse errors, a client that went away
        _discard(out, dest)
        raise UploadRejected(422, f"the upload is not valid multipart/form-data ({type(err).__name__})") from err
    if out is not None and not out.closed:  # body ended inside the part: the client cut the upload short
        _discard(out, dest)
        raise UploadRejected(422, "the upload was cut short")
    if not state["found"]:
        raise UploadRejected(422, f"no file in the form field '{field}'")
    if state["size"] == 0:
        dest.unlink(missing_ok=True)
        raise UploadRejected(422, "the file is empty")
    return Received(dest, display_name(state["name"]), state["size"])


def sniff(head: bytes) -> str | None:
    """The file type from its first bytes, as the extension we store it under; None when unknown.
    Raises UploadRejected(415) for types recognised but not scanned (GIF, HEIC/AVIF photos)."""
    if head.startswith(b"\xff\xd8\xff"):
        return "jpg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        raise UploadRejected(415, "GIF is not supported; convert it to MP4 (animation) or PNG (still)")
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:4] == b"RIFF" and head[8:12] == b"AVI ":
        return "avi"
    if head[:2] == b"BM" and len(head) >= 26:
        return "bmp"
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return "tif"
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in (b"heic", b"heix", b"hevc", b"mif1", b"msf1", b"avif", b"avis"):
            raise UploadRejected(415, "HEIC/AVIF pictures are not supported; convert to JPEG or PNG")
        return "mov" if brand == b"qt  " else "3gp" if brand.startswith(b"3g") else "mp4"
    if head[4:8] in (b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"):  # QuickTime without ftyp
        return "mov"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm" if b"webm" in head[:64] else "mkv"
    if len(head) > 376 and head[0] == head[188] == head[376] == 0x47:
        return "ts"
    if head.startswith(b"\x00\x00\x01\xba"):
        return "mpg"
    return None


def check(path: Path, filename: str, max_duration_s: float, max_pixels: int) -> Checked:
    """Judges a received file by its content: 415 for what is not media we scan, 422 for what does not decode,
    413 past the duration or resolution limits. Blocking: reads a video's header and first frame, and decodes a
    still image whole (cheap next to its scan, and a truncated picture is refused now, not after queueing)."""
    with path.open("rb") as f:
        head = f.read(HEAD)
    ext = sniff(head)
    if ext is None:
        raise UploadRejected(415, f"{filename}: not an image or video mimica scans ({FORMATS})")
    try:
        info = probe(path)
    except UnsupportedMediaError as err:
        raise UploadRejected(415, _named(err, path, filename)) from err
    except MediaError as err:
        raise UploadRejected(422, _named(err, path, filename)) from err
    if info.width * info.height > max_pixels:
        raise UploadRejected(413, f"{filename}: {info.width}x{info.height} is above the "
                                  f"{max_pixels / 1e6:g} MP limit; downscale it")
    if info.kind == "video" and info.duration_s is not None and info.duration_s > max_duration_s:
        raise UploadRejected(413, f"{filename}: {info.duration_s:.0f} s is longer than the "
                                  f"{max_duration_s:g} s limit; cut it shorter")
    if info.kind == "image":
        try:
            read_image(path)
        except MediaError as err:
            raise UploadRejected(422, _named(err, path, filename)) from err
    return Checked(ext, info)


def _named(err: Exception, path: Path, filename: str) -> str:
    """The media error's message with our storage path replaced by the name the client knows."""
    return str(err).replace(str(path), filename).splitlines()[0]


def _discard(out, dest: Path) -> None:  # type: ignore[no-untyped-def]
    if out is not None and not out.closed:
        out.close()
    dest.unlink(missing_ok=True)


def _mb(n: int) -> str:
    return f"{n / (1 << 20):g} MB"
