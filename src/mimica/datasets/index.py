"""The layouts mimica can index, their detection, and `load_dataset`, the one call that indexes a folder."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mimica.datasets import celebdf, dfdc, faces, ffpp, tree
from mimica.datasets.item import MediaItem
from mimica.datasets.split import identity_groups, identity_split, split_of
from mimica.errors import DatasetError

__all__ = ["LAYOUTS", "Layout", "MediaItem", "detect_layout", "identity_groups", "identity_split",
           "load_dataset", "split_of"]


@dataclass(frozen=True)
class Layout:
    name: str
    detect: Callable[[Path], bool]
    load: Callable[[Path], list[MediaItem]]
    looks_like: str  # for the error message when nothing matches


#: in detection order: unambiguous folder names first, the folder of faces (anything with images) last
LAYOUTS: dict[str, Layout] = {
    lay.name: lay
    for lay in (
        Layout("ffpp", ffpp.detect, ffpp.load, "FaceForensics++ (original_sequences/)"),
        Layout("celebdf", celebdf.detect, celebdf.load, "Celeb-DF (Celeb-synthesis/)"),
        Layout("tree", tree.detect, tree.load, "a plain tree (real/ and fake/)"),
        Layout("dfdc", dfdc.detect, dfdc.load, "DFDC (folders with metadata.json or labels.csv)"),
        Layout("faces", faces.detect, faces.load, "a folder of real face images (no videos)"),
    )
}


def detect_layout(root: Path) -> str:
    for lay in LAYOUTS.values():
        if lay.detect(root):
            return lay.name
    inside = [f"{d.name}/ ({name})" for d in sorted(root.iterdir()) if d.is_dir()
              for name in [next((lay.name for lay in LAYOUTS.values() if lay.detect(d)), None)] if name]
    if inside:
        raise DatasetError(f"{root}: holds several datasets, {', '.join(inside)}; pass one of them")
    expected = "; ".join(lay.looks_like for lay in LAYOUTS.values())
    raise DatasetError(f"{root}: unknown dataset layout; expected one of: {expected}")


def load_dataset(root: str | Path, layout: str = "auto") -> list[MediaItem]:
    """Index a dataset folder; `layout` is one of LAYOUTS or "auto". Items come with identity groups.

    >>> load_dataset("/nonexistent")
    Traceback (most recent call last):
    mimica.errors.DatasetError: /nonexistent: dataset folder not found
    """
    r = Path(root)
    if not r.is_dir():
        raise DatasetError(f"{r}: dataset folder not found")
    if layout != "auto" and layout not in LAYOUTS:
        raise DatasetError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)} or auto")
    name = detect_layout(r) if layout == "auto" else layout
    items = LAYOUTS[name].load(r)
    if not items:
        raise DatasetError(f"{r}: no media found in the {name} layout ({LAYOUTS[name].looks_like})")
    return identity_groups(items)
