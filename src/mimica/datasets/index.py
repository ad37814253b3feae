"""The common index of media items, the adapters for each dataset layout and identity-disjoint splits."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from mimica.errors import DatasetError
from mimica.media import IMAGE_SUFFIXES, VIDEO_SUFFIXES


@dataclass(frozen=True)
class MediaItem:
    """One file of a dataset. `identities` are the people shown (both of a swap); `group` is filled by
    `identity_groups` so that items sharing a person land on the same side of a split."""

    path: str
    label: int  # 1 = fake, 0 = real
    dataset: str
    method: str = ""  # manipulation method, "" for real
    compression: str = ""
    identities: tuple[str, ...] = ()
    group: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


# -- adapters --------------------------------------------------------------------------------------------------

_FF_FAKE = re.compile(r"^(\d{3})_(\d{3})$")
_FF_ACTOR = re.compile(r"^(\d{2})__")


def load_ffpp(root: Path) -> list[MediaItem]:
    """FaceForensics++: original_sequences/{youtube,actors}/<c>/videos, manipulated_sequences/<method>/<c>/videos."""
    items = []
    for video in sorted(root.glob("original_sequences/*/*/videos/*")):
        if video.suffix.lower() not in VIDEO_SUFFIXES:
            continue
        source, comp = video.parts[-4], video.parts[-3]
        m = _FF_ACTOR.match(video.stem)
        ident = f"actor{m.group(1)}" if source == "actors" and m else (f"yt{video.stem}" if source == "youtube" else video.stem)
        items.append(MediaItem(str(video), 0, "ffpp", "", comp, (ident,)))
    for video in sorted(root.glob("manipulated_sequences/*/*/videos/*")):
        if video.suffix.lower() not in VIDEO_SUFFIXES:
            continue
        method, comp = video.parts[-4], video.parts[-3]
        m = _FF_FAKE.match(video.stem)
        if m:
            idents: tuple[str, ...] = (f"yt{m.group(1)}", f"yt{m.group(2)}")
        else:
            a = _FF_ACTOR.match(video.stem)
            idents = (f"actor{a.group(1)}",) if a else (video.stem,)
        items.append(MediaItem(str(video), 1, "ffpp", method, comp, idents))
    return items


def load_dfdc(root: Path) -> list[MediaItem]:
    """DFDC: folders each holding metadata.json {file: {label: FAKE|REAL, original: file}}."""
    items = []
    for meta in sorted(root.rglob("metadata.json")):
        try:
            table = json.loads(meta.read_text())
        except (OSError, json.JSONDecodeError) as err:
            raise DatasetError(f"{meta}: unreadable metadata.json ({err})") from err
        for name, info in sorted(table.items()):
            fake = str(info.get("label", "")).upper() == "FAKE"
            orig = info.get("original") or name
            items.append(MediaItem(str(meta.parent / name), int(fake), "dfdc", "dfdc" if fake else "", "",
                                   (Path(orig).stem,)))
    return items


def load_celebdf(root: Path) -> list[MediaItem]:
    """Celeb-DF v2: Celeb-real/idX_NNNN, YouTube-real/NNNNN, Celeb-synthesis/idX_idY_NNNN; when
    List_of_testing_videos.txt is present, only its videos (the official test set)."""
    listed: set[str] | None = None
    lst = root / "List_of_testing_videos.txt"
    if lst.exists():
        listed = {line.split()[-1] for line in lst.read_text().splitlines() if line.strip()}
    items = []
    for sub, label in (("Celeb-real", 0), ("YouTube-real", 0), ("Celeb-synthesis", 1)):
        for video in sorted((root / sub).glob("*.mp4")):
            rel = f"{sub}/{video.name}"
            if listed is not None and rel not in listed:
                continue
            ids = tuple(p for p in video.stem.split("_") if p.startswith("id")) or (f"yt{video.stem}",)
            items.append(MediaItem(str(video), label, "celebdf", "celebdf" if label else "", "", ids))
    return items


def load_tree(root: Path) -> list[MediaItem]:
    """A plain tree: real/... and fake/...; each file is its own identity unless its folder says otherwise
    (real/<person>/file.mp4 groups by <person>)."""
    items = []
    for sub, label in (("real", 0), ("fake", 1)):
        for f in sorted((root / sub).rglob("*")):
            if f.suffix.lower() not in VIDEO_SUFFIXES | IMAGE_SUFFIXES:
                continue
            rel = f.relative_to(root / sub)
            ident = rel.parts[0] if len(rel.parts) > 1 else f.stem
            items.append(MediaItem(str(f), label, "tree", "fake" if label else "", "", (ident,)))
    return items


def load_faces(root: Path) -> list[MediaItem]:
    """A folder of real face images (e.g. FairFace). Each photo is a different person as far as we know."""
    return [
        MediaItem(str(f), 0, "faces", "", "", (f"img:{f.relative_to(root)}",))
        for f in sorted(root.rglob("*"))
        if f.suffix.lower() in IMAGE_SUFFIXES
    ]


def _detect_layout(root: Path) -> str:
    if (root / "original_sequences").is_dir() or (root / "manipulated_sequences").is_dir():
        return "ffpp"
    if (root / "Celeb-synthesis").is_dir():
        return "celebdf"
    if (root / "real").is_dir() or (root / "fake").is_dir():
        return "tree"
    if next(root.rglob("metadata.json"), None) is not None:
        return "dfdc"
    if next((f for f in root.rglob("*") if f.suffix.lower() in IMAGE_SUFFIXES), None) is not None:
        return "faces"
    raise DatasetError(
        f"{root}: unknown dataset layout; expected FaceForensics++ (original_sequences/), Celeb-DF "
        "(Celeb-synthesis/), DFDC (metadata.json), a real/ and fake/ tree, or a folder of face images"
    )


LAYOUTS: dict[str, Callable[[Path], list[MediaItem]]] = {
    "ffpp": load_ffpp, "dfdc": load_dfdc, "celebdf": load_celebdf, "tree": load_tree, "faces": load_faces,
}


def load_dataset(root: str | Path, layout: str = "auto") -> list[MediaItem]:
    """Index a dataset folder; `layout` is one of LAYOUTS or "auto". Items get identity groups."""
    r = Path(root)
    if not r.is_dir():
        raise DatasetError(f"{r}: dataset folder not found")
    name = _detect_layout(r) if layout == "auto" else layout
    if name not in LAYOUTS:
        raise DatasetError(f"unknown layout {name!r}; choose one of {sorted(LAYOUTS)} or auto")
    items = LAYOUTS[name](r)
    if not items:
        raise DatasetError(f"{r}: no media found in the {name} layout")
    return identity_groups(items)


# -- identity-disjoint splits ----------------------------------------------------------------------------------


def identity_groups(items: list[MediaItem]) -> list[MediaItem]:
    """Connected components of the 'shares a person' graph: a fake TTT_SSS ties TTT and SSS together, so every
    video of either person (real or fake, any compression) ends up in one group."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for it in items:
        ids = it.identities or (it.path,)
        for other in ids[1:]:
            parent[find(other)] = find(ids[0])
        find(ids[0])
    out = []
    for it in items:
        root = find((it.identities or (it.path,))[0])
        out.append(MediaItem(it.path, it.label, it.dataset, it.method, it.compression, it.identities, root))
    return out


def split_of(group: str, val_fraction: float, seed: int = 0) -> str:
    """'val' or 'train' for a group, by a stable hash (the same on every machine and run)."""
    h = int(hashlib.sha256(f"{seed}:{group}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "val" if h < val_fraction else "train"


def identity_split(
    items: list[MediaItem], val_fraction: float = 0.4, seed: int = 0
) -> tuple[list[MediaItem], list[MediaItem]]:
    """(train, val) with no identity on both sides."""
    items = identity_groups(items) if any(not it.group for it in items) else items
    train = [it for it in items if split_of(it.group, val_fraction, seed) == "train"]
    val = [it for it in items if split_of(it.group, val_fraction, seed) == "val"]
    return train, val
