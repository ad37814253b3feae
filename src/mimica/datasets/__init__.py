"""Dataset adapters: each layout becomes the same index of `MediaItem`s, split by identity."""

from __future__ import annotations

from mimica.datasets.index import MediaItem, identity_split, load_dataset, split_of

__all__ = ["MediaItem", "identity_split", "load_dataset", "split_of"]
