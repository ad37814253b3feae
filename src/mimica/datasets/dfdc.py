"""Deepfake Detection Challenge (DFDC): folders of videos described by a metadata.json or a labels.csv.

    dfdc_train_part_N/metadata.json  {"abc.mp4": {"label": "FAKE", "split": "train", "original": "xyz.mp4"}}
                                     (REAL entries have "original": null)
    test/metadata.json               {"abc.mp4": {"is_fake": 1, ...}}
    labels.csv                       filename,label; 1 = fake (public test set; videos beside or in videos/)

A fake is grouped with its original (same people), so a split never puts a fake and its source on opposite
sides. Listed files missing on disk are skipped: the training set ships in 50 parts, often fetched in part.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from mimica.datasets.item import FAKE, REAL, MediaItem
from mimica.errors import DatasetError

_CSV_HEADER = ("filename", "label")


def _is_labels_csv(path: Path) -> bool:
    try:
        with path.open(newline="") as f:
            header = next(csv.reader(f), [])
    except OSError:
        return False
    return tuple(h.strip().lower() for h in header[:2]) == _CSV_HEADER


def _tables(root: Path) -> list[Path]:
    return sorted(
        [*root.rglob("metadata.json"), *(p for p in root.rglob("labels.csv") if _is_labels_csv(p))]
    )


def detect(root: Path) -> bool:
    return bool(_tables(root))


def _locate(folder: Path, name: str) -> Path | None:
    for candidate in (folder / name, folder / "videos" / name):
        if candidate.is_file():
            return candidate
    return None


def _fake_of(entry: dict, where: str) -> int:
    if "label" in entry:
        label = str(entry["label"]).strip().upper()
        if label in ("FAKE", "REAL"):
            return FAKE if label == "FAKE" else REAL
    if "is_fake" in entry and str(entry["is_fake"]).strip().lower() in ("0", "1", "true", "false"):
        return FAKE if str(entry["is_fake"]).strip().lower() in ("1", "true") else REAL
    raise DatasetError(f"{where}: expected \"label\": \"FAKE\"|\"REAL\" or \"is_fake\": 0|1, got {entry!r}")


def _from_metadata(meta: Path) -> list[tuple[str, int, str, str]]:
    try:
        table = json.loads(meta.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise DatasetError(f"{meta}: unreadable metadata.json ({err})") from err
    if not isinstance(table, dict):
        raise DatasetError(f"{meta}: expected an object of file name -> {{label, original}}")
    rows = []
    for name, entry in sorted(table.items()):
        if not isinstance(entry, dict):
            raise DatasetError(f"{meta}: entry {name!r} is not an object")
        label = _fake_of(entry, f"{meta}: {name}")
        rows.append((name, label, entry.get("original") or "", entry.get("split") or ""))
    return rows


def _from_csv(table: Path) -> list[tuple[str, int, str, str]]:
    rows = []
    with table.open(newline="") as f:
        for n, row in enumerate(csv.DictReader(f), start=2):
            label = str(row.get("label", "")).strip()
            if label not in ("0", "1"):
                raise DatasetError(f"{table}:{n}: label must be 0 (real) or 1 (fake), got {label!r}")
            rows.append((row["filename"].strip(), int(label), "", ""))
    return rows


def load(root: Path) -> list[MediaItem]:
    items, seen = [], set()
    for table in _tables(root):
        rows = _from_metadata(table) if table.name == "metadata.json" else _from_csv(table)
        for name, label, original, split in rows:
            path = _locate(table.parent, name)
            if path is None or str(path) in seen:
                continue
            seen.add(str(path))
            person = Path(original).stem if label == FAKE and original else path.stem
            items.append(MediaItem(str(path), label, "dfdc", "dfdc" if label else "", "", (person,),
                                   official_split=split))
    return items
