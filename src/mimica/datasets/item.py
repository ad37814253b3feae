"""The one record every dataset adapter produces."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path

from mimica.media import IMAGE_SUFFIXES, VIDEO_SUFFIXES

MEDIA_SUFFIXES = IMAGE_SUFFIXES | VIDEO_SUFFIXES
REAL, FAKE = 0, 1


@dataclass(frozen=True)
class MediaItem:
    """One file of a dataset.

    `identities` are the people shown (both people of a face swap); `group` is filled by `identity_groups` so
    that items sharing a person land on the same side of a split. `official_split` is the dataset's own split
    for the item ("test" for Celeb-DF's List_of_testing_videos.txt, FF++'s test.json), "" when it has none.
    """

    path: str
    label: int  # 1 = fake, 0 = real
    dataset: str
    method: str = ""  # manipulation method, "" for real
    compression: str = ""
    identities: tuple[str, ...] = ()
    group: str = ""
    official_split: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def is_video(path: Path) -> bool:
    return path.suffix.lower() in VIDEO_SUFFIXES


def is_image(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def is_media(path: Path) -> bool:
    return path.suffix.lower() in MEDIA_SUFFIXES
