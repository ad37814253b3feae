"""Celeb-DF (v2, and v1 which shares the layout).

    Celeb-real/id0_0000.mp4              real, celebrity id0
    YouTube-real/00000.mp4               real, one unnamed person per video
    Celeb-synthesis/id0_id16_0000.mp4    fake: video of id0 with the face of id16
    List_of_testing_videos.txt           the official test set, lines like "1 YouTube-real/00170.mp4"

Beware the test list's label column: 1 means REAL and 0 means FAKE, the reverse of mimica's convention. It is
checked against the folder, so a list rewritten in the other convention is refused instead of silently
inverting every label. Videos may also sit one level down in videos/ (the layout SBI's scripts use).
"""

from __future__ import annotations

import re
from pathlib import Path

from mimica.datasets.item import FAKE, REAL, MediaItem, is_video
from mimica.errors import DatasetError

FOLDERS = {"Celeb-real": REAL, "YouTube-real": REAL, "Celeb-synthesis": FAKE}
TEST_LIST = "List_of_testing_videos.txt"
_LIST_REAL, _LIST_FAKE = "1", "0"

_REAL_NAME = re.compile(r"^(id\d+)_\d+$")
_FAKE_NAME = re.compile(r"^(id\d+)_(id\d+)_\d+$")


def detect(root: Path) -> bool:
    return (root / "Celeb-synthesis").is_dir()


def read_test_list(path: Path) -> dict[str, int]:
    """'Folder/name.mp4' -> label in mimica's convention (1 = fake), from the official list (1 = real)."""
    out = {}
    for n, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or parts[0] not in (_LIST_REAL, _LIST_FAKE):
            raise DatasetError(f"{path}:{n}: expected '<1 real|0 fake> <folder>/<file>', got {line!r}")
        rel = parts[1].replace("\\", "/")
        label = REAL if parts[0] == _LIST_REAL else FAKE
        folder = rel.split("/", 1)[0]
        if folder in FOLDERS and FOLDERS[folder] != label:
            said = "real" if label == REAL else "fake"
            raise DatasetError(
                f"{path}:{n}: {rel} is listed as {said} but lies in {folder}/; "
                "the official list writes 1 for real and 0 for fake: restore the original file"
            )
        out[rel] = label
    return out


def _identities(folder: str, stem: str) -> tuple[str, ...]:
    if folder == "YouTube-real":
        return (f"yt{stem}",)
    m = (_FAKE_NAME if folder == "Celeb-synthesis" else _REAL_NAME).match(stem)
    return tuple(m.groups()) if m else (stem,)


def load(root: Path) -> list[MediaItem]:
    listed = read_test_list(root / TEST_LIST) if (root / TEST_LIST).is_file() else None
    items = []
    for folder, label in FOLDERS.items():
        videos = [*(root / folder).glob("*"), *(root / folder / "videos").glob("*")]
        for video in sorted(v for v in videos if is_video(v)):
            split = "" if listed is None else ("test" if f"{folder}/{video.name}" in listed else "train")
            items.append(MediaItem(str(video), label, "celebdf", "celebdf" if label else "", "",
                                   _identities(folder, video.stem), official_split=split))
    return items
