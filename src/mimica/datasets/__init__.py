"""Dataset adapters: each layout (FF++, DFDC, Celeb-DF, a real/fake tree, a folder of faces) becomes the same
index of `MediaItem`s, split by identity so that no person is on both sides."""

from __future__ import annotations

from mimica.datasets.index import LAYOUTS, detect_layout, load_dataset
from mimica.datasets.item import FAKE, REAL, MediaItem
from mimica.datasets.split import SPLITS, identity_groups, identity_split, select_split, split_of

__all__ = [
    "FAKE",
    "LAYOUTS",
    "REAL",
    "SPLITS",
    "MediaItem",
    "detect_layout",
    "identity_groups",
    "identity_split",
    "load_dataset",
    "select_split",
    "split_of",
]
