"""A folder of real face photos (FairFace and the like): every image real, every image its own person.

Only a folder of images without videos is taken for this layout, so a parent of several datasets is not
mistaken for one big folder of faces.
"""

from __future__ import annotations

from pathlib import Path

from mimica.datasets.item import REAL, MediaItem, is_image, is_video


def detect(root: Path) -> bool:
    found_image = False
    for f in root.rglob("*"):
        if is_video(f):
            return False
        found_image = found_image or is_image(f)
    return found_image


def load(root: Path) -> list[MediaItem]:
    return [
        MediaItem(str(f), REAL, "faces", "", "", (f"img:{f.relative_to(root)}",))
        for f in sorted(root.rglob("*"))
        if is_image(f)
    ]
