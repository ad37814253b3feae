"""C2PA manifests through c2pa-python: sign a finished file (the last step: any re-encode strips a manifest) and
read one back with its validation state.

Reading works offline: remote manifest fetch and OCSP are off. The development CA in mimica's key folder (and
$MIMICA_TRUST_ANCHORS) is added to the trust anchors, so a manifest signed by `mimica keys init` keys reads as
trusted here and as valid-but-untrusted elsewhere.
"""

from __future__ import annotations

import json
from pathlib import Path

from mimica.errors import SigningError
from mimica.provenance.keys import SignerFiles, trust_anchors
from mimica.provenance.xmp import COMPOSITE_TRAINED

MIME = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".webp": "image/webp",
}
#: the label of our watermark in a C2PA soft-binding assertion
SOFT_BINDING_ALG = "io.github.mimica.watermark.spread-spectrum.v2"


def _c2pa():
    try:
        import c2pa
    except ImportError as err:
        raise SigningError(f"c2pa-python is missing ({err}); pip install 'mimica[swap]'") from err
    return c2pa


def manifest_definition(
    title: str, mime: str, description: str, watermark_key_id: str | None, version: str, training_data: bool = False
) -> dict:
    """The manifest: a c2pa.created action with the IPTC composite source type, and the watermark as a soft
    binding (so a reader that finds the mark can look the manifest up)."""
    action = {
        "action": "c2pa.created",
        "digitalSourceType": COMPOSITE_TRAINED,
        "softwareAgent": {"name": "mimica", "version": version},
        "description": description,
    }
    assertions: list[dict] = [{"label": "c2pa.actions.v2", "data": {"actions": [action]}}]
    if watermark_key_id:
        assertions.append(
            {
                "label": "c2pa.soft-binding",
                "data": {"alg": SOFT_BINDING_ALG, "blocks": [{"scope": {}, "value": watermark_key_id}]},
            }
        )
    if training_data:
        assertions.append(
            {
                "label": "org.mimica.training-data",
                "data": {"purpose": "detector training", "visible_label": False, "pixel_watermark": False},
            }
        )
    return {
        "claim_generator_info": [{"name": "mimica", "version": version}],
        "title": title,
        "format": mime,
        "assertions": assertions,
    }


def sign_file(src: Path, dst: Path, signer_files: SignerFiles, definition: dict) -> None:
    """Embeds a signed manifest: reads src, writes dst (different paths)."""
    c2pa = _c2pa()
    mime = MIME.get(src.suffix.lower())
    if mime is None:
        raise SigningError(f"{src}: C2PA signing is not supported for {src.suffix} files")
    try:
        info = c2pa.C2paSignerInfo(c2pa.C2paSigningAlg.ES256, signer_files.chain_pem(), signer_files.key_pem(), None)
        settings = {"builder": {"thumbnail": {"enabled": False}}, "verify": {"verify_after_sign": False}}
        with (
            c2pa.Signer.from_info(info) as signer,
            c2pa.Context.from_dict(settings) as ctx,
            c2pa.Builder(json.dumps(definition), context=ctx) as builder,
            src.open("rb") as fin,
            dst.open("w+b") as fout,
        ):
            builder.sign(signer, mime, fin, fout)
    except c2pa.C2paError as err:
        raise SigningError(
            f"{src}: C2PA signing failed ({str(err).splitlines()[0][:200]}); "
            "check the certificate with `mimica keys init`"
        ) from err
    except OSError as err:
        raise SigningError(f"{signer_files.cert}: cannot read the signing files ({err})") from err


def read_manifest(path: str | Path, key_dir: str | Path | None = None) -> dict:
    """{"present", "valid", "trusted", "assertions", "validation_state", "digital_source_type", "errors"}."""
    out: dict = {
        "present": False,
        "valid": None,
        "trusted": None,
        "assertions": [],
        "validation_state": None,
        "digital_source_type": None,
        "errors": [],
    }
    try:
        c2pa = _c2pa()
    except SigningError:
        out["errors"].append("c2pa-python not installed")
        return out
    p = Path(path)
    settings: dict = {"verify": {"remote_manifest_fetch": False, "ocsp_fetch": False, "verify_trust": True}}
    anchors = trust_anchors(key_dir)
    if anchors:
        settings["trust"] = {"user_anchors": anchors}
    mime = MIME.get(p.suffix.lower())
    try:
        with c2pa.Context.from_dict(settings) as ctx, p.open("rb") as f:
            reader = (
                c2pa.Reader.try_create(mime or "", f, None, ctx) if mime else c2pa.Reader.try_create(f, context=ctx)
            )
            if reader is None:
                return out
            with reader:
                store = json.loads(reader.json())
                state = reader.get_validation_state()
    except c2pa.C2paError as err:
        msg = str(err).splitlines()[0][:200] if str(err) else type(err).__name__
        if "ManifestNotFound" in type(err).__name__ or "not found" in msg.lower() or "JumbfNotFound" in msg:
            return out
        out["present"] = True
        out["valid"] = False
        out["errors"].append(msg)
        return out
    active = store.get("manifests", {}).get(store.get("active_manifest", ""), {})
    out["present"] = bool(active)
    out["validation_state"] = state
    out["valid"] = state in ("Valid", "Trusted") if state else None
    out["trusted"] = state == "Trusted" if state else None
    out["assertions"] = [a.get("label", "") for a in active.get("assertions", [])]
    for a in active.get("assertions", []):
        if a.get("label", "").startswith("c2pa.actions"):
            for act in a.get("data", {}).get("actions", []):
                if act.get("digitalSourceType"):
                    out["digital_source_type"] = act["digitalSourceType"]
    out["errors"] = [
        s.get("code", "") for s in store.get("validation_results", {}).get("activeManifest", {}).get("failure", [])
    ]
    return out
