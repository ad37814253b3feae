"""A config's training data packed into one file small enough to travel with the code.

A GPU machine lent for a few minutes has neither ../shared/data nor the time to prepare crops, and only a few
tens of MB travel with the tree. `pack` writes the `TrainData` of a config (the same crops, landmarks and splits
`build_data` gives) into one .npz: every crop cut from a video (the training videos' real faces, the validation
videos), a capped number of held-out photos for the pseudo-fake AUC, and as many training photos as the budget
leaves, drawn at random; crops stored as JPEG. `load_pack` gives that `TrainData` back without any dataset.
The pack is research data cut from ../shared: it stays out of git (cache/ is ignored).
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from mimica.atomic import atomic_path
from mimica.errors import MimicaError
from mimica.train.data import CropSet, TrainData

#: stored; real_video_train is the part of real_train cut from videos (as build_data makes it), so it is derived
SETS = ("real_train", "fake_train", "val_videos", "val_faces")
FORMAT = "mimica-train-pack-1"


def _jpeg(crops: NDArray[np.uint8], quality: int) -> list[bytes]:
    out = []
    for c in crops:
        buf = io.BytesIO()
        Image.fromarray(c).save(buf, format="JPEG", quality=quality, subsampling=0)
        out.append(buf.getvalue())
    return out


def _is_photo(cs: CropSet) -> NDArray[np.bool_]:
    return cs.field("dataset") == "faces" if len(cs.item) else np.zeros(0, bool)


def pack(data: TrainData, out: str | Path, max_mb: float = 48.0, quality: int = 90, max_val_photos: int = 300,
         seed: int = 0) -> dict[str, int]:
    """Writes the pack; returns how many crops of each set it holds. The budget counts the JPEG crops, their
    landmarks and item records (the file adds about 10 kB of headers). Raises MimicaError when everything but the
    training photos does not fit (raise max_mb, lower quality, or sample fewer frames)."""
    rng = np.random.default_rng(seed)
    val_faces = data.val_faces.select(rng.permutation(len(data.val_faces.item)) < max_val_photos)
    photo = _is_photo(data.real_train)
    fixed = {"fake_train": data.fake_train, "val_videos": data.val_videos, "val_faces": val_faces,
             "video_reals": data.real_train.select(~photo)}  # the training videos' faces; photos come after
    encoded = {k: _jpeg(cs.crops, quality) for k, cs in fixed.items()}
    per_crop = 468 * 2 * 2 + 21  # landmarks (float16), offset, item, time, main
    items = data.real_train.items
    fixed_items = {int(i) for cs in fixed.values() for i in cs.item}
    used = sum(len(b) + per_crop for blobs in encoded.values() for b in blobs)
    used += sum(len(json.dumps(items[i])) + 2 for i in fixed_items)
    budget = max_mb * 1e6
    if used > budget:
        raise MimicaError(f"the video crops alone take {used / 1e6:.1f} MB, over the pack budget of {max_mb:g} MB; "
                          "raise --max-mb or lower --quality")
    photos = data.real_train.select(photo)
    drawn: dict[int, bytes] = {}
    for i in rng.permutation(len(photos.item)):  # photos at random until the budget is spent
        b = _jpeg(photos.crops[i : i + 1], quality)[0]
        cost = len(b) + per_crop + len(json.dumps(items[int(photos.item[i])])) + 2
        if used + cost > budget:
            break
        used += cost
        drawn[int(i)] = b
    mask = np.zeros(len(photos.item), bool)
    mask[list(drawn)] = True
    sets = {"real_train": photos.select(mask).concat(fixed["video_reals"]), "fake_train": data.fake_train,
            "val_videos": data.val_videos, "val_faces": val_faces}
    encoded["real_train"] = [drawn[int(j)] for j in np.flatnonzero(mask)] + encoded.pop("video_reals")

    # only the items some crop refers to travel, renumbered
    used_items = sorted({int(i) for cs in sets.values() for i in cs.item})
    remap = {old: new for new, old in enumerate(used_items)}
    arrays: dict[str, np.ndarray] = {}
    for name in SETS:
        cs, blobs = sets[name], encoded[name]
        arrays[f"{name}_jpeg"] = np.frombuffer(b"".join(blobs), np.uint8)
        arrays[f"{name}_offsets"] = np.cumsum([0, *map(len, blobs)]).astype(np.int64)
        arrays[f"{name}_mesh"] = cs.mesh.astype(np.float16)
        arrays[f"{name}_item"] = np.array([remap[int(i)] for i in cs.item], np.int64)
        arrays[f"{name}_time"] = cs.time.astype(np.float32)
        arrays[f"{name}_main"] = cs.main.astype(bool)
        arrays[f"{name}_side"] = np.array(cs.crops.shape[1] if len(cs.item) else 0, np.int64)
    meta = {"format": FORMAT, "items": [items[i] for i in used_items], "quality": quality}
    arrays["meta"] = np.frombuffer(json.dumps(meta).encode(), np.uint8)  # UTF-8 (a numpy str is 4 bytes a char)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp, open(tmp, "wb") as f:
        np.savez(f, **arrays)  # type: ignore[arg-type]  # JPEG does not compress further
    return {name: len(sets[name].item) for name in SETS}


def load_pack(path: str | Path) -> TrainData:
    p = Path(path)
    try:
        z = np.load(p, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise MimicaError(f"{p}: not a training pack ({err})") from err
    with z:
        meta = json.loads(z["meta"].tobytes()) if "meta" in z.files and z["meta"].dtype == np.uint8 else {}
        if meta.get("format") != FORMAT:
            raise MimicaError(f"{p}: not a training pack written by `mimica pack`")
        items = meta["items"]
        sets = {}
        for name in SETS:
            blob, off = z[f"{name}_jpeg"], z[f"{name}_offsets"]
            side = int(z[f"{name}_side"])
            crops = np.stack([np.asarray(Image.open(io.BytesIO(blob[off[i] : off[i + 1]].tobytes())).convert("RGB"))
                              for i in range(len(off) - 1)]) if len(off) > 1 else np.zeros((0, side, side, 3),
                                                                                           np.uint8)
            sets[name] = CropSet(crops, z[f"{name}_mesh"], z[f"{name}_item"], z[f"{name}_time"], z[f"{name}_main"],
                                 items)
    sets["real_video_train"] = sets["real_train"].select(~_is_photo(sets["real_train"]))
    return TrainData(**sets)
