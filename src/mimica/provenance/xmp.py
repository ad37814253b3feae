"""IPTC Digital Source Type in XMP: written into JPEG (APP1), PNG (iTXt) and MP4 (the XMP `uuid` box plus a
container tag), and read back.

The XMP packet is the standard one (`<?xpacket ...?>` around an `x:xmpmeta` RDF description) so that exiftool,
Adobe tools and browsers' C2PA/IPTC readers find `Iptc4xmpExt:DigitalSourceType`.
MP4: ffmpeg cannot write XMP, so the packet goes into a top-level `uuid` box (Adobe's XMP UUID) appended after
the media data; appending needs no offset rewriting. The container also gets a `digital_source_type` tag
(QuickTime `mdta` key, shown by ffprobe) and a human-readable `comment`.

What other tools see (checked with exiftool 13 and PyAV/FFmpeg 7): JPEG and PNG show
`XMP-iptcExt:DigitalSourceType`, `XMP-xmp:CreatorTool` and `XMP-dc:Description`; MP4 shows the same XMP tags
(from the uuid box) plus `Keys:DigitalSourceType` and `Keys:Comment`, and ffprobe/PyAV list
`digital_source_type` and `comment` in the container metadata. A C2PA manifest shows in exiftool as JUMBF boxes
(`JUMDLabel c2pa`, `c2pa.actions.v2`); validating it needs a C2PA reader (c2patool, c2pa-python, mimica scan).
"""

from __future__ import annotations

import re
import struct
from pathlib import Path
from xml.sax.saxutils import escape

#: a real capture with a trained-model face composited into it (our swaps)
COMPOSITE_TRAINED = "http://cv.iptc.org/newscodes/digitalsourcetype/compositeWithTrainedAlgorithmicMedia"
#: Adobe's UUID for an XMP box in ISO base media files
XMP_UUID = bytes.fromhex("BE7ACFCB97A942E89C71999491E3AFAC")
#: container tag names mimica writes into MP4/MOV
MP4_TAG = "digital_source_type"

_DST = re.compile(rb"DigitalSourceType(?:=\"([^\"]+)\"|>\s*([^<\s]+)\s*<)")


def xmp_packet(digital_source_type: str = COMPOSITE_TRAINED, tool: str = "mimica", note: str = "") -> bytes:
    """A complete XMP packet with the digital source type, the creator tool and an optional description."""
    desc = (
        f'\n      <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{escape(note)}</rdf:li></rdf:Alt>'
        "</dc:description>"
        if note
        else ""
    )
    body = f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
  <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
    <rdf:Description rdf:about=""
        xmlns:Iptc4xmpExt="http://iptc.org/std/Iptc4xmpExt/2008-02-29/"
        xmlns:xmp="http://ns.adobe.com/xap/1.0/"
        xmlns:dc="http://purl.org/dc/elements/1.1/"
        Iptc4xmpExt:DigitalSourceType="{escape(digital_source_type)}"
        xmp:CreatorTool="{escape(tool)}">{desc}
    </rdf:Description>
  </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>"""
    return body.encode("utf-8")


def source_type_in(packet: bytes | str | None) -> str | None:
    """The DigitalSourceType URL found in an XMP packet (attribute or element form), else None."""
    if not packet:
        return None
    data = packet.encode() if isinstance(packet, str) else packet
    m = _DST.search(data)
    if not m:
        return None
    return (m.group(1) or m.group(2)).decode("utf-8", "replace")


# -- MP4 -------------------------------------------------------------------------------------------------------


def _top_boxes(path: Path):
    """(type, offset, size, header_size) of each top-level ISO BMFF box."""
    size_total = path.stat().st_size
    with path.open("rb") as f:
        pos = 0
        while pos + 8 <= size_total:
            f.seek(pos)
            head = f.read(16)
            size, kind = struct.unpack(">I4s", head[:8])
            hdr = 8
            if size == 1:
                size = struct.unpack(">Q", head[8:16])[0]
                hdr = 16
            elif size == 0:
                size = size_total - pos
            if size < hdr:
                return
            yield kind, pos, size, hdr
            pos += size


def append_mp4_xmp(path: str | Path, packet: bytes) -> None:
    """Appends a top-level XMP `uuid` box to an MP4/MOV file (in place: call it on a temporary output)."""
    box = struct.pack(">I4s", 8 + 16 + len(packet), b"uuid") + XMP_UUID + packet
    with Path(path).open("ab") as f:
        f.write(box)


def read_mp4_xmp(path: str | Path) -> bytes | None:
    p = Path(path)
    try:
        for kind, pos, size, hdr in _top_boxes(p):
            if kind == b"uuid" and size <= 4_000_000:
                with p.open("rb") as f:
                    f.seek(pos + hdr)
                    if f.read(16) == XMP_UUID:
                        return f.read(size - hdr - 16)
    except (OSError, struct.error):
        return None
    return None


# -- any file --------------------------------------------------------------------------------------------------


def read_xmp(path: str | Path) -> bytes | None:
    """The XMP packet of a JPEG, PNG, WebP, TIFF (via Pillow) or MP4/MOV (the uuid box), else None."""
    p = Path(path)
    with p.open("rb") as f:
        head = f.read(12)
    if head[4:8] == b"ftyp":
        return read_mp4_xmp(p)
    try:
        from PIL import Image

        with Image.open(p) as im:
            xmp = im.info.get("xmp") or im.info.get("XML:com.adobe.xmp")
    except Exception:  # noqa: BLE001 - not an image Pillow knows: no XMP
        return None
    if isinstance(xmp, str):
        xmp = xmp.encode("utf-8")
    return xmp or None


def read_container_tags(path: str | Path) -> dict[str, str]:
    """Container-level metadata of a video (lower-case keys), empty when unreadable."""
    try:
        import av

        with av.open(str(path), metadata_errors="ignore") as c:
            return {k.lower(): v for k, v in c.metadata.items()}
    except Exception:  # noqa: BLE001 - unreadable: no tags
        return {}


def digital_source_type(path: str | Path) -> str | None:
    """The IPTC digital source type a file declares (XMP first, then mimica's container tag), else None."""
    p = Path(path)
    found = source_type_in(read_xmp(p))
    if found:
        return found
    with p.open("rb") as f:
        head = f.read(12)
    if head[4:8] == b"ftyp" or p.suffix.lower() in {".mp4", ".mov", ".m4v", ".mkv", ".webm"}:
        tags = read_container_tags(p)
        return tags.get(MP4_TAG) or None
    return None
