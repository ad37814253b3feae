"""The adapters on the research data in ../shared/data (skipped when absent), checked against its manifest."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from mimica.datasets import FAKE, REAL, identity_split, load_dataset

pytestmark = pytest.mark.shared


@pytest.fixture(scope="module")
def manifest(shared_data: Path) -> dict[str, dict]:
    with (shared_data / "manifest.csv").open(newline="") as f:
        return {row["path"]: row for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def ffpp_items(shared_data: Path):
    return load_dataset(shared_data / "ffpp")


def test_ffpp_index_matches_the_manifest(shared_data: Path, manifest: dict, ffpp_items) -> None:
    items = {str(Path(it.path).relative_to(shared_data)): it for it in ffpp_items}
    assert set(items) == set(manifest)
    for path, row in manifest.items():
        it = items[path]
        assert it.label == (FAKE if row["label"] == "fake" else REAL), path
        assert (it.method, it.compression) == (row["method"], row["compression"]), path
        if row["target_id"]:
            expected = tuple(f"yt{i}" for i in (row["target_id"], row["source_id"]) if i)
            assert it.identities == expected, path


def test_ffpp_counts(ffpp_items) -> None:
    by = {}
    for it in ffpp_items:
        by[(it.compression, it.label)] = by.get((it.compression, it.label), 0) + 1
    # README: c23 25 real + 44 fake; c40 20 real + 40 fake
    assert by == {("c23", REAL): 25, ("c23", FAKE): 44, ("c40", REAL): 20, ("c40", FAKE): 40}


def test_ffpp_validation_split_of_the_shipped_model_is_unchanged(ffpp_items) -> None:
    """The shipped model's validation split; if this fails, the grouping changed: tell the lead."""
    train, val = identity_split(ffpp_items, val_fraction=0.4, seed=0)
    assert (len(train), len(val)) == (78, 51)
    assert sorted({it.group for it in val}) == [
        "actor01", "actor07", "actor18", "actor27",
        "yt004", "yt055", "yt159", "yt183", "yt272", "yt750", "yt878",
    ]
    assert not {i for it in train for i in it.identities} & {i for it in val for i in it.identities}


def test_faces_folder_matches_its_labels(shared_data: Path) -> None:
    root = shared_data / "faces" / "fairface"
    with (root / "labels.csv").open(newline="") as f:
        files = {row["file"] for row in csv.DictReader(f)}
    items = load_dataset(shared_data / "faces")
    assert {str(Path(it.path).relative_to(root)) for it in items} == files
    assert all(it.label == REAL for it in items)
