from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from mimica.errors import SigningError
from mimica.provenance import inspect
from mimica.provenance.keys import find_signer, init_keys, trust_anchors
from mimica.provenance.manifest import manifest_definition, read_manifest, sign_file
from mimica.provenance.xmp import (
    COMPOSITE_TRAINED,
    append_mp4_xmp,
    digital_source_type,
    read_mp4_xmp,
    source_type_in,
    xmp_packet,
)


@pytest.fixture(autouse=True)
def _isolated_keys(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("MIMICA_KEYS_DIR", str(tmp_path_factory.mktemp("nokeys")))
    for var in ("MIMICA_SIGNING_CERT", "MIMICA_SIGNING_KEY", "MIMICA_TRUST_ANCHORS"):
        monkeypatch.delenv(var, raising=False)


def _img() -> Image.Image:
    return Image.fromarray((np.random.default_rng(0).random((48, 64, 3)) * 255).astype(np.uint8))


def test_xmp_packet_is_a_real_packet():
    pkt = xmp_packet(note="a <note> & more")
    assert pkt.startswith(b"<?xpacket begin=") and pkt.rstrip().endswith(b'<?xpacket end="w"?>')
    import xml.etree.ElementTree as ET

    body = pkt.split(b"?>", 1)[1].rsplit(b"<?xpacket", 1)[0]
    root = ET.fromstring(body)
    assert root.tag == "{adobe:ns:meta/}xmpmeta"
    assert source_type_in(pkt) == COMPOSITE_TRAINED
    assert source_type_in(b"<Iptc4xmpExt:DigitalSourceType>http://x/y</Iptc4xmpExt:DigitalSourceType>") == "http://x/y"


def test_xmp_in_jpeg_png_mp4(tmp_path):
    _img().save(tmp_path / "a.jpg", xmp=xmp_packet())
    info = PngImagePlugin.PngInfo()
    info.add_itxt("XML:com.adobe.xmp", xmp_packet().decode())
    _img().save(tmp_path / "a.png", pnginfo=info)
    assert digital_source_type(tmp_path / "a.jpg") == COMPOSITE_TRAINED
    assert digital_source_type(tmp_path / "a.png") == COMPOSITE_TRAINED
    _img().save(tmp_path / "plain.jpg")
    assert digital_source_type(tmp_path / "plain.jpg") is None
    import av

    with av.open(str(tmp_path / "a.mp4"), "w") as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = 64, 48, "yuv420p"
        for _ in range(3):
            for p in s.encode(av.VideoFrame.from_image(_img())):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    assert read_mp4_xmp(tmp_path / "a.mp4") is None
    append_mp4_xmp(tmp_path / "a.mp4", xmp_packet())
    assert digital_source_type(tmp_path / "a.mp4") == COMPOSITE_TRAINED
    with av.open(str(tmp_path / "a.mp4")) as c:
        assert sum(1 for _ in c.decode(video=0)) == 3, "the appended box must not break the file"


def test_keys_init_and_discovery(tmp_path, monkeypatch):
    pytest.importorskip("c2pa", reason="needs the [swap] extra")
    pytest.importorskip("cryptography")
    d = tmp_path / "keys"
    files = init_keys(d)
    assert files.key.stat().st_mode & 0o077 == 0
    assert find_signer(d) is not None
    assert "BEGIN CERTIFICATE" in (trust_anchors(d) or "")
    with pytest.raises(SigningError, match="exist already"):
        init_keys(d)
    init_keys(d, force=True)
    assert find_signer(tmp_path / "empty") is None
    monkeypatch.setenv("MIMICA_SIGNING_CERT", str(tmp_path / "nope.pem"))
    monkeypatch.setenv("MIMICA_SIGNING_KEY", str(tmp_path / "nope.key"))
    with pytest.raises(SigningError, match="not a file"):
        find_signer()


def test_c2pa_round_trip_and_tampering(tmp_path):
    pytest.importorskip("c2pa", reason="needs the [swap] extra")
    pytest.importorskip("cryptography")
    d = tmp_path / "keys"
    files = init_keys(d)
    _img().save(tmp_path / "a.jpg", quality=90)
    definition = manifest_definition("a.jpg", "image/jpeg", "test", "mimica-public-v1", "0.1.0")
    sign_file(tmp_path / "a.jpg", tmp_path / "b.jpg", files, definition)
    m = read_manifest(tmp_path / "b.jpg", d)
    assert m["present"] and m["valid"] and m["trusted"]
    assert m["digital_source_type"] == COMPOSITE_TRAINED
    assert read_manifest(tmp_path / "b.jpg", tmp_path / "other")["trusted"] is False
    assert read_manifest(tmp_path / "a.jpg", d)["present"] is False
    data = bytearray((tmp_path / "b.jpg").read_bytes())
    data[-200] ^= 0xFF  # change one byte of the picture data
    (tmp_path / "c.jpg").write_bytes(bytes(data))
    tampered = read_manifest(tmp_path / "c.jpg", d)
    assert tampered["present"] and tampered["valid"] is False


def test_inspect_on_unmarked_and_odd_files(tmp_path):
    _img().save(tmp_path / "a.png")
    r = inspect(tmp_path / "a.png")
    assert set(r) == {"watermark", "c2pa", "digital_source_type"}
    assert r["watermark"]["detected"] is False and 0 <= r["watermark"]["p_value"] <= 1
    assert r["c2pa"] == r["c2pa"] | {"present": False, "valid": None, "trusted": None, "assertions": []}
    assert r["digital_source_type"] is None
