"""`mimica forge`: a labelled training set made from real media, in the FaceForensics++ layout.

    original_sequences/youtube/raw/videos/NNN.mp4            the real videos, renumbered (manifest keeps the origin)
    original_sequences/youtube/raw/images/NNN.<ext>          the real pictures
    manipulated_sequences/MimicaSwap/raw/videos/TTT_SSS.mp4  target TTT with the face of SSS
    manipulated_sequences/MimicaSwap/raw/images/TTT_SSS.png
    manipulated_sequences/MimicaSBI/raw/images/NNN.png       self-blended picture of NNN (Shiohara and Yamasaki 2022)
    manifest.csv                                             one row per file, both identities of each swap

The fakes carry the metadata marks (IPTC XMP, container tag, C2PA manifest when keys exist) but no visible label
and no pixel watermark: a detector trained on marked fakes learns to find the mark, not the manipulation. The
manifest says so in its `visible_label` and `pixel_watermark` columns. `mimica.datasets.load_dataset` reads the
video part of this layout as it reads FF++.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from mimica.errors import MimicaError, NoFaceError, OutputError, SwapError
from mimica.swap.core import Progress, SourceFace, SwapOptions

REAL_DIR = Path("original_sequences/youtube/raw")
SWAP_DIR = Path("manipulated_sequences/MimicaSwap/raw")
SBI_DIR = Path("manipulated_sequences/MimicaSBI/raw")
COLUMNS = (
    "path",
    "label",
    "method",
    "kind",
    "target_id",
    "source_id",
    "target_origin",
    "source_origin",
    "visible_label",
    "pixel_watermark",
    "metadata_marks",
    "c2pa_signed",
    "note",
)


def _face_picture(path: Path, kind: str) -> NDArray[np.uint8] | None:
    """A picture of the person in `path`: the image itself, or the video frame with the largest face."""
    from mimica.media import read_image, sample_frames

    if kind == "image":
        return read_image(path)
    frames = [f.image for f in sample_frames(path, 5)]
    return frames[len(frames) // 2] if frames else None


def self_blend(image: NDArray[np.uint8], mesh: NDArray[np.float32], rng: np.random.Generator) -> NDArray[np.uint8]:
    """A pseudo-fake of one real picture: a colour-shifted, slightly rescaled copy of the face blended back over
    itself through a soft hull mask (the blending boundary is the artefact detectors should learn)."""
    from mimica.swap.blend import feather

    h, w = image.shape[:2]
    shifted = image.astype(np.float32) * rng.uniform(0.9, 1.1, 3) + rng.uniform(-12, 12, 3)
    cx, cy = mesh.mean(0)
    s = rng.uniform(0.96, 1.04)
    m = np.array([[s, 0, (1 - s) * cx + rng.uniform(-2, 2)], [0, s, (1 - s) * cy + rng.uniform(-2, 2)]], np.float32)
    src = cv2.warpAffine(np.clip(shifted, 0, 255).astype(np.uint8), m, (w, h), borderMode=cv2.BORDER_REFLECT_101)
    mask = np.zeros((h, w), np.float32)
    cv2.fillConvexPoly(mask, cv2.convexHull(np.rint(mesh).astype(np.int32)), 1.0)
    size = float(max(mesh.max(0) - mesh.min(0)))
    mask = feather(mask, int(size * rng.uniform(0.02, 0.08)), int(size * rng.uniform(0.05, 0.15)))
    mask *= float(rng.choice([0.75, 0.9, 1.0]))
    out = src.astype(np.float32) * mask[..., None] + image.astype(np.float32) * (1 - mask[..., None])
    return np.clip(out + 0.5, 0, 255).astype(np.uint8)


def forge(
    real_dir: str | Path,
    out_dir: str | Path,
    pairs: int = 20,
    blended: int = 20,
    max_frames: int = 150,
    seed: int = 0,
    key_dir: str | Path | None = None,
    progress: Progress | None = None,
) -> Path:
    """Builds the dataset; returns the path of its manifest.csv. Pairs whose source or target shows no face are
    skipped (and counted in the manifest's notes)."""
    import warnings

    from mimica.faces import create_detector
    from mimica.media import find_media, probe, read_image
    from mimica.swap import swap_image, swap_video
    from mimica.swap.writer import Marking, UnsignedNotice, write_image

    src_root, root = Path(real_dir), Path(out_dir)
    if not src_root.is_dir():
        raise SwapError(f"{src_root}: not a folder of real media")
    if root.resolve() == src_root.resolve() or src_root.resolve() in root.resolve().parents:
        raise OutputError(f"{root}: the dataset must not be written inside the real media folder {src_root}")
    if (root / "manifest.csv").exists():
        raise OutputError(f"{root}: a dataset is already there (manifest.csv); choose an empty folder")
    files = []
    for f in find_media(src_root):
        try:
            files.append((f, probe(f).kind))
        except MimicaError:
            continue
    if len(files) < 2:
        raise SwapError(f"{src_root}: needs at least two readable real images or videos, found {len(files)}")
    if len(files) > 1000:
        files = files[:1000]  # FF++ ids have three digits
    rng = np.random.default_rng(seed)
    marking = Marking(
        key_dir=Path(key_dir) if key_dir else None,
        training_data=True,
        note="Detector training data forged by mimica: face-swapped or self-blended.",
    )
    signed = marking.signer() is not None
    for d in (REAL_DIR / "videos", REAL_DIR / "images", SWAP_DIR / "videos", SWAP_DIR / "images", SBI_DIR / "images"):
        (root / d).mkdir(parents=True, exist_ok=True)
    rows: list[dict] = []
    ids = {f: f"{i:03d}" for i, (f, _) in enumerate(files)}
    for f, kind in files:
        dest = root / REAL_DIR / ("videos" if kind == "video" else "images") / f"{ids[f]}{f.suffix.lower()}"
        shutil.copyfile(f, dest)
        rows.append(_row(root, dest, 0, "", kind, ids[f], "", f, None, False))
    faces_cache: dict[Path, SourceFace | None] = {}

    def source_face(f: Path, kind: str) -> SourceFace | None:
        if f not in faces_cache:
            try:
                pic = _face_picture(f, kind)
                faces_cache[f] = SourceFace.from_image(pic, name=str(f)) if pic is not None else None
            except (NoFaceError, MimicaError):
                faces_cache[f] = None
        return faces_cache[f]

    options = SwapOptions()
    done = skipped = attempts = 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UnsignedNotice)
        warnings.simplefilter("ignore", UserWarning)
        while done < pairs and attempts < pairs * 4:
            attempts += 1
            ti, si = rng.choice(len(files), 2, replace=False)
            (t, tkind), (s, skind) = files[ti], files[si]
            face = source_face(s, skind)
            if face is None:
                skipped += 1
                continue
            name = f"{ids[t]}_{ids[s]}"
            try:
                if tkind == "video":
                    out = root / SWAP_DIR / "videos" / f"{name}.mp4"
                    if out.exists():
                        continue
                    swap_video(face, t, out, options, marking, max_frames=max_frames)
                else:
                    out = root / SWAP_DIR / "images" / f"{name}.png"
                    if out.exists():
                        continue
                    swap_image(face, t, out, options, marking)
            except NoFaceError:
                skipped += 1
                continue
            rows.append(_row(root, out, 1, "MimicaSwap", tkind, ids[t], ids[s], t, s, signed))
            done += 1
            if progress:
                progress("swaps", done, pairs)
        detector = create_detector("mediapipe")
        made = 0
        for f, kind in [files[i] for i in rng.permutation(len(files))]:
            if made >= blended:
                break
            pic = read_image(f) if kind == "image" else _face_picture(f, kind)
            if pic is None:
                continue
            found = detector.detect(pic)
            if len(found) == 0:
                continue
            fake = self_blend(pic, found.mesh[int(np.argmax(found.area))], rng)
            out = root / SBI_DIR / "images" / f"{ids[f]}.png"
            write_image(fake, out, marking)
            rows.append(_row(root, out, 1, "MimicaSBI", "image", ids[f], ids[f], f, f, signed))
            made += 1
            if progress:
                progress("self-blended", made, blended)
    manifest = root / "manifest.csv"
    with manifest.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=COLUMNS)
        w.writeheader()
        w.writerows(rows)
    if done == 0 and pairs > 0:
        raise NoFaceError(f"{src_root}: no swap could be made ({skipped} pairs without a usable face)")
    return manifest


def _row(
    root: Path,
    path: Path,
    label: int,
    method: str,
    kind: str,
    tid: str,
    sid: str,
    t_origin: Path,
    s_origin: Path | None,
    signed: bool,
) -> dict:
    fake = label == 1
    return {
        "path": str(path.relative_to(root)),
        "label": "fake" if fake else "real",
        "method": method,
        "kind": kind,
        "target_id": tid,
        "source_id": sid,
        "target_origin": str(t_origin),
        "source_origin": str(s_origin) if s_origin else "",
        "visible_label": "no" if fake else "",
        "pixel_watermark": "no" if fake else "",
        "metadata_marks": "xmp+container" if fake else "",
        "c2pa_signed": ("yes" if signed else "no") if fake else "",
        "note": "training data: metadata marks only, no visible label, no pixel watermark" if fake else "",
    }
