"""Identity-disjoint splits: no person appears on both sides, so validation measures unseen people.

The split is a pure function of the group name (a stable hash), so it is the same on every machine and run and
does not move when items are added. Stability contract: the shipped model's validation split is
`identity_split(load_dataset(<FF++ root>), val_fraction=0.4, seed=0)`; on ../shared/data/ffpp that is 78 train
and 51 validation videos, pinned by tests/datasets/test_shared_data.py. Changing how groups are named changes
that split.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace

from mimica.datasets.item import MediaItem
from mimica.errors import DatasetError

SPLITS = ("train", "val", "test", "all")


def identity_groups(items: list[MediaItem]) -> list[MediaItem]:
    """Connected components of the 'shares a person' graph: a fake TTT_SSS ties TTT and SSS together, so every
    video of either person (real or fake, any compression) ends up in one group.

    A group is named after the root the union-find settles on, which depends on the order of `items`: group a
    whole dataset once (as `load_dataset` does) and filter afterwards, rather than regrouping a subset.
    """
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
    return [replace(it, group=find((it.identities or (it.path,))[0])) for it in items]


def split_of(group: str, val_fraction: float, seed: int = 0) -> str:
    """'val' or 'train' for a group, by a stable hash (the same on every machine and run)."""
    h = int(hashlib.sha256(f"{seed}:{group}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "val" if h < val_fraction else "train"


def identity_split(
    items: list[MediaItem], val_fraction: float = 0.4, seed: int = 0
) -> tuple[list[MediaItem], list[MediaItem]]:
    """(train, val) with no identity on both sides. `val_fraction` is the expected share of groups (not of
    items) in validation; `seed` draws another split of the same groups."""
    items = identity_groups(items) if any(not it.group for it in items) else items
    train = [it for it in items if split_of(it.group, val_fraction, seed) == "train"]
    val = [it for it in items if split_of(it.group, val_fraction, seed) == "val"]
    return train, val


def select_split(
    items: list[MediaItem], split: str, val_fraction: float = 0.4, seed: int = 0
) -> list[MediaItem]:
    """The items of one split: "train"/"val" (identity split), "test" (the dataset's official test list) or
    "all"."""
    if split == "all":
        return list(items)
    if split in ("train", "val"):
        train, val = identity_split(items, val_fraction, seed)
        return train if split == "train" else val
    if split == "test":
        test = [it for it in items if it.official_split == "test"]
        if not test:
            raise DatasetError(
                "this dataset has no official test list (Celeb-DF's List_of_testing_videos.txt, FF++'s "
                "test.json); choose split val or all"
            )
        return test
    raise DatasetError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
