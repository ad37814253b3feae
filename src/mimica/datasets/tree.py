"""A plain tree: real/... and fake/..., any depth, images or videos.

fake/<method>/... names the method (fake/FaceSwap/x.mp4); files directly in fake/ get the method "fake".
A plain tree says nothing about people, so each file stem is one identity, and a fake whose name is made of
real stems joined by "_" (fake/001_002.mp4 beside real/001.mp4 and real/002.mp4, the FF++ naming) joins them.
"""

from __future__ import annotations

from pathlib import Path

from mimica.datasets.item import FAKE, REAL, MediaItem, is_media


def detect(root: Path) -> bool:
    return (root / "real").is_dir() or (root / "fake").is_dir()


def load(root: Path) -> list[MediaItem]:
    reals = sorted(f for f in (root / "real").rglob("*") if is_media(f))
    fakes = sorted(f for f in (root / "fake").rglob("*") if is_media(f))
    real_stems = {f.stem for f in reals}
    items = [MediaItem(str(f), REAL, "tree", "", "", (f.stem,)) for f in reals]
    for f in fakes:
        rel = f.relative_to(root / "fake")
        method = rel.parts[0] if len(rel.parts) > 1 else "fake"
        sources = tuple(p for p in f.stem.split("_") if p in real_stems)
        items.append(MediaItem(str(f), FAKE, "tree", method, "", sources or (f.stem,)))
    return items
