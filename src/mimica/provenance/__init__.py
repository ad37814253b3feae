"""Reading (and, for the swap, writing) the marks that say a picture was made by a machine.

`inspect(path, frames)` is what `mimica scan` calls: mimica's invisible watermark (a statistical test with a
p-value), the C2PA manifest with its validation state, and the IPTC digital source type in XMP or container tags.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mimica.provenance import watermark
from mimica.provenance.keys import default_key_dir, find_signer, init_keys
from mimica.provenance.watermark import PUBLIC_KEY
from mimica.provenance.xmp import COMPOSITE_TRAINED

__all__ = ["COMPOSITE_TRAINED", "PUBLIC_KEY", "default_key_dir", "find_signer", "init_keys", "inspect", "watermark"]

#: frames the watermark test decodes itself when the caller passes none
_SAMPLE = 32


def inspect(
    path: str | Path,
    frames: list[np.ndarray] | None = None,
    private_key: str | None = None,
    key_dir: str | Path | None = None,
) -> dict:
    """The provenance marks of one image or video.

    Returns {"watermark": {"detected", "confidence", "p_value", "z", "key"}, "c2pa": {"present", "valid",
    "trusted", "assertions", "validation_state", "digital_source_type", "errors"}, "digital_source_type": str|None}.
    `frames`: RGB uint8 frames already decoded by the caller (the scan's sampled frames), so the video is not
    decoded twice; without them up to 32 frames are sampled here. `private_key`: also test this key; the result
    reports whichever key's test is more significant. Never raises for an unmarked or odd file: errors of the
    metadata readers end up in c2pa["errors"].

    >>> import numpy as np, tempfile, pathlib
    >>> from PIL import Image
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "plain.png"
    >>> Image.fromarray(np.full((64, 64, 3), 128, np.uint8)).save(p)
    >>> r = inspect(p)
    >>> r["watermark"]["detected"], r["c2pa"]["present"], r["digital_source_type"]
    (False, False, None)
    """
    from mimica.provenance.manifest import read_manifest
    from mimica.provenance.xmp import digital_source_type

    p = Path(path)
    if frames is None:
        from mimica.media import sample_frames

        frames = [f.image for f in sample_frames(p, _SAMPLE)]
    keys = [PUBLIC_KEY] + ([private_key] if private_key else [])
    best = None
    for key in keys:
        det = watermark.detect(frames, key=key)
        if best is None or det.p_value < best[0].p_value:
            best = (det, "public" if key == PUBLIC_KEY else "private")
    assert best is not None
    wm = best[0].to_dict() | {"key": best[1]}
    c2pa = read_manifest(p, key_dir)
    try:
        dst = digital_source_type(p) or c2pa.get("digital_source_type")
    except OSError:
        dst = c2pa.get("digital_source_type")
    return {"watermark": wm, "c2pa": c2pa, "digital_source_type": dst}
