"""FaceForensics++ (with its DeepFakeDetection part), in the folder layout of the official download script.

    original_sequences/youtube/<c>/videos/NNN.mp4                    real, person yt<NNN>
    original_sequences/actors/<c>/videos/NN__scene.mp4               real, actor NN (DeepFakeDetection)
    manipulated_sequences/<method>/<c>/videos/TTT_SSS.mp4            fake: target video TTT, face of SSS
    manipulated_sequences/DeepFakeDetection/<c>/videos/TT_SS__scene__HASH.mp4    fake, actors TT and SS
    manipulated_sequences/<method>/masks/videos/...                  manipulation masks: not media, skipped

<c> is raw, c23 or c40. The official split files (train.json, val.json, test.json: lists of [TTT, SSS] pairs),
when present at the root or under splits/, fill `official_split`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from mimica.datasets.item import FAKE, REAL, MediaItem, is_image, is_video
from mimica.errors import DatasetError

# the download script puts mask videos beside the compressions; they are binary masks, not manipulated media
NOT_COMPRESSIONS = frozenset({"masks"})

_YT_PAIR = re.compile(r"^(\d{3})_(\d{3})$")
_ACTOR = re.compile(r"^(\d{2})__")
_ACTOR_PAIR = re.compile(r"^(\d{2})_(\d{2})__")


def detect(root: Path) -> bool:
    return (root / "original_sequences").is_dir() or (root / "manipulated_sequences").is_dir()


def _official_splits(root: Path) -> dict[str, str]:
    """YouTube id -> split, from FF++'s train/val/test.json (the pairs of each split share no id)."""
    out: dict[str, str] = {}
    for split in ("train", "val", "test"):
        for f in (root / f"{split}.json", root / "splits" / f"{split}.json"):
            if not f.is_file():
                continue
            try:
                pairs = json.loads(f.read_text())
                out.update({str(i): split for pair in pairs for i in pair})
            except (OSError, ValueError, TypeError) as err:
                raise DatasetError(f"{f}: not an FF++ split file (JSON list of id pairs): {err}") from err
            break
    return out


def load(root: Path) -> list[MediaItem]:
    """Every video of both trees. The order (originals, then manipulations, each sorted by path) is part of
    the contract: `identity_groups` names a group after the root it settles on, and the validation split
    hashes that name."""
    splits = _official_splits(root)
    items = []
    for video in sorted(root.glob("original_sequences/*/*/videos/*")):
        if not is_video(video):
            continue
        source, comp = video.parts[-4], video.parts[-3]
        m = _ACTOR.match(video.stem)
        if source == "actors" and m:
            ident = f"actor{m.group(1)}"
        elif source == "youtube":
            ident = f"yt{video.stem}"
        else:
            ident = video.stem
        split = splits.get(video.stem, "") if source == "youtube" else ""
        items.append(MediaItem(str(video), REAL, "ffpp", "", comp, (ident,), official_split=split))
    for video in sorted(root.glob("manipulated_sequences/*/*/videos/*")):
        if not is_video(video) or video.parts[-3] in NOT_COMPRESSIONS:
            continue
        method, comp = video.parts[-4], video.parts[-3]
        split = ""
        if m := _YT_PAIR.match(video.stem):
            idents: tuple[str, ...] = (f"yt{m.group(1)}", f"yt{m.group(2)}")
            split = splits.get(m.group(1), "")
        elif m := _ACTOR_PAIR.match(video.stem):
            idents = (f"actor{m.group(1)}", f"actor{m.group(2)}")
        elif m := _ACTOR.match(video.stem):
            idents = (f"actor{m.group(1)}",)
        else:
            idents = (video.stem,)
        items.append(MediaItem(str(video), FAKE, "ffpp", method, comp, idents, official_split=split))
    items.extend(_images(root))
    return items


def _images(root: Path) -> list[MediaItem]:
    """Still images in `<tree>/<source or method>/<c>/images/` (mimica forge writes its self-blended and swapped
    pictures there): NNN.png shows person ytNNN, TTT_SSS.png both. Appended after the videos so that the
    grouping of the videos, and with it the validation split, is the same with or without them."""
    items = []
    for tree, label in (("original_sequences", REAL), ("manipulated_sequences", FAKE)):
        for img in sorted(root.glob(f"{tree}/*/*/images/*")):
            if not is_image(img):
                continue
            if m := _YT_PAIR.match(img.stem):
                idents: tuple[str, ...] = (f"yt{m.group(1)}", f"yt{m.group(2)}")
            elif re.fullmatch(r"\d{3}", img.stem):
                idents = (f"yt{img.stem}",)
            else:
                idents = (img.stem,)
            method = img.parts[-4] if label == FAKE else ""
            items.append(MediaItem(str(img), label, "ffpp", method, img.parts[-3], idents))
    return items
