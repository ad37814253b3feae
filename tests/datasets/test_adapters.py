"""Every adapter on a tiny fake layout: empty files with the real datasets' names are enough to index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mimica.datasets import FAKE, LAYOUTS, REAL, detect_layout, load_dataset, select_split
from mimica.errors import DatasetError


def touch(root: Path, *rels: str) -> None:
    for rel in rels:
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.touch()


def rel(items, root: Path) -> dict:
    return {str(Path(it.path).relative_to(root)): it for it in items}


# -- FaceForensics++ -----------------------------------------------------------------------------------------


@pytest.fixture()
def ffpp(tmp_path: Path) -> Path:
    touch(
        tmp_path,
        "original_sequences/youtube/c23/videos/000.mp4",
        "original_sequences/youtube/c23/videos/003.mp4",
        "original_sequences/youtube/c40/videos/000.mp4",
        "original_sequences/actors/c23/videos/01__kitchen_pan.mp4",
        "manipulated_sequences/Deepfakes/c23/videos/000_003.mp4",
        "manipulated_sequences/FaceShifter/c40/videos/003_000.mp4",
        "manipulated_sequences/DeepFakeDetection/c23/videos/01_02__meeting_serious__YVGY8LOK.mp4",
        "manipulated_sequences/Deepfakes/masks/videos/000_003.mp4",  # a mask, not a fake
        "manipulated_sequences/Deepfakes/c23/videos/000_003.json",  # not media
    )
    return tmp_path


def test_ffpp_labels_methods_compressions_identities(ffpp: Path) -> None:
    items = rel(load_dataset(ffpp), ffpp)
    assert detect_layout(ffpp) == "ffpp"
    assert len(items) == 7
    real = items["original_sequences/youtube/c40/videos/000.mp4"]
    assert (real.label, real.method, real.compression, real.identities) == (REAL, "", "c40", ("yt000",))
    fake = items["manipulated_sequences/Deepfakes/c23/videos/000_003.mp4"]
    assert (fake.label, fake.method, fake.compression) == (FAKE, "Deepfakes", "c23")
    assert fake.identities == ("yt000", "yt003")
    assert items["original_sequences/actors/c23/videos/01__kitchen_pan.mp4"].identities == ("actor01",)
    dfd = items["manipulated_sequences/DeepFakeDetection/c23/videos/01_02__meeting_serious__YVGY8LOK.mp4"]
    assert (dfd.method, dfd.identities) == ("DeepFakeDetection", ("actor01", "actor02"))
    assert not any("masks" in k for k in items)


def test_ffpp_pair_shares_one_group(ffpp: Path) -> None:
    items = rel(load_dataset(ffpp), ffpp)
    youtube = {it.group for k, it in items.items() if "__" not in k}
    actors = {it.group for k, it in items.items() if "__" in k}
    assert len(youtube) == 1  # 000, 003, 000_003 and 003_000 are one group, whatever the compression
    assert len(actors) == 1 and actors != youtube


def test_ffpp_images_of_a_forged_dataset(tmp_path: Path) -> None:
    """mimica forge writes self-blended and swapped pictures under .../images/; they join their people's groups
    and do not change the videos' grouping."""
    videos = ("original_sequences/youtube/raw/videos/000.mp4", "original_sequences/youtube/raw/videos/001.mp4",
              "manipulated_sequences/MimicaSwap/raw/videos/000_001.mp4")
    touch(tmp_path, *videos)
    before = {it.path: it.group for it in load_dataset(tmp_path)}
    touch(tmp_path, "manipulated_sequences/MimicaSBI/raw/images/000.png",
          "manipulated_sequences/MimicaSwap/raw/images/001_000.jpg", "original_sequences/youtube/raw/images/readme.txt")
    items = rel(load_dataset(tmp_path), tmp_path)
    assert len(items) == 5
    sbi = items["manipulated_sequences/MimicaSBI/raw/images/000.png"]
    assert (sbi.label, sbi.method, sbi.identities) == (FAKE, "MimicaSBI", ("yt000",))
    assert items["manipulated_sequences/MimicaSwap/raw/images/001_000.jpg"].identities == ("yt001", "yt000")
    assert {it.path: it.group for it in items.values() if it.path in before} == before
    assert len({it.group for it in items.values()}) == 1


def test_ffpp_official_split_files(ffpp: Path) -> None:
    (ffpp / "test.json").write_text(json.dumps([["000", "003"]]))
    (ffpp / "train.json").write_text(json.dumps([["071", "054"]]))
    items = load_dataset(ffpp)
    test = select_split(items, "test")
    assert {Path(it.path).stem for it in test} == {"000", "003", "000_003", "003_000"}
    (ffpp / "val.json").write_text("{not json")
    with pytest.raises(DatasetError, match="val.json"):
        load_dataset(ffpp)


# -- DFDC ----------------------------------------------------------------------------------------------------


def test_dfdc_metadata_json_train_and_test_formats(tmp_path: Path) -> None:
    part = tmp_path / "dfdc_train_part_0"
    touch(part, "aaa.mp4", "bbb.mp4", "ccc.mp4")
    (part / "metadata.json").write_text(json.dumps({
        "aaa.mp4": {"label": "REAL", "split": "train", "original": None},
        "bbb.mp4": {"label": "FAKE", "split": "train", "original": "aaa.mp4"},
        "ccc.mp4": {"label": "FAKE", "split": "train", "original": "zzz.mp4"},
        "missing.mp4": {"label": "FAKE", "split": "train", "original": "aaa.mp4"},  # part not downloaded
    }))
    test = tmp_path / "test"
    touch(test, "ttt.mp4", "uuu.mp4")
    (test / "metadata.json").write_text(json.dumps({"ttt.mp4": {"is_fake": 1}, "uuu.mp4": {"is_fake": 0}}))
    assert detect_layout(tmp_path) == "dfdc"
    items = {Path(it.path).name: it for it in load_dataset(tmp_path)}
    assert set(items) == {"aaa.mp4", "bbb.mp4", "ccc.mp4", "ttt.mp4", "uuu.mp4"}
    assert [items[n].label for n in ("aaa.mp4", "bbb.mp4", "ttt.mp4", "uuu.mp4")] == [REAL, FAKE, FAKE, REAL]
    assert items["bbb.mp4"].group == items["aaa.mp4"].group  # a fake stays with its original
    assert items["ccc.mp4"].identities == ("zzz",)
    assert items["bbb.mp4"].method == "dfdc" and items["aaa.mp4"].official_split == "train"


def test_dfdc_labels_csv_with_videos_folder(tmp_path: Path) -> None:
    touch(tmp_path, "videos/aaa.mp4", "videos/bbb.mp4")
    (tmp_path / "labels.csv").write_text("filename,label\naaa.mp4,0\nbbb.mp4,1\n")
    items = {Path(it.path).name: it.label for it in load_dataset(tmp_path)}
    assert items == {"aaa.mp4": REAL, "bbb.mp4": FAKE}


@pytest.mark.parametrize(("table", "content", "match"), [
    ("metadata.json", "{oops", "unreadable"),
    ("metadata.json", json.dumps({"a.mp4": {"label": "MAYBE"}}), "is_fake"),
    ("metadata.json", json.dumps(["a.mp4"]), "expected an object"),
    ("labels.csv", "filename,label\na.mp4,FAKE\n", "0 \\(real\\) or 1"),
])
def test_dfdc_bad_tables(tmp_path: Path, table: str, content: str, match: str) -> None:
    touch(tmp_path, "a.mp4")
    (tmp_path / table).write_text(content)
    with pytest.raises(DatasetError, match=match):
        load_dataset(tmp_path, layout="dfdc")


# -- Celeb-DF ------------------------------------------------------------------------------------------------


@pytest.fixture()
def celebdf(tmp_path: Path) -> Path:
    touch(
        tmp_path,
        "Celeb-real/id0_0000.mp4",
        "Celeb-real/id1_0003.mp4",
        "YouTube-real/00170.mp4",
        "YouTube-real/00000.mp4",
        "Celeb-synthesis/id0_id16_0000.mp4",
        "Celeb-synthesis/id1_id0_0007.mp4",
    )
    (tmp_path / "List_of_testing_videos.txt").write_text(
        "1 YouTube-real/00170.mp4\n1 Celeb-real/id0_0000.mp4\n0 Celeb-synthesis/id1_id0_0007.mp4\n"
        "0 Celeb-synthesis/id9_id8_0001.mp4\n\n"  # listed but absent: ignored
    )
    return tmp_path


def test_celebdf_labels_identities_and_official_test_list(celebdf: Path) -> None:
    assert detect_layout(celebdf) == "celebdf"
    items = rel(load_dataset(celebdf), celebdf)
    assert len(items) == 6
    assert items["YouTube-real/00170.mp4"].label == REAL  # "1" in the list means real
    assert items["Celeb-synthesis/id1_id0_0007.mp4"].label == FAKE
    assert items["Celeb-synthesis/id0_id16_0000.mp4"].identities == ("id0", "id16")
    assert items["Celeb-real/id1_0003.mp4"].identities == ("id1",)
    assert items["YouTube-real/00000.mp4"].identities == ("yt00000",)
    test = {str(Path(it.path).relative_to(celebdf)) for it in select_split(list(items.values()), "test")}
    assert test == {"YouTube-real/00170.mp4", "Celeb-real/id0_0000.mp4", "Celeb-synthesis/id1_id0_0007.mp4"}
    # id0, id1 and id16 are tied by the swaps
    assert len({items[k].group for k in items if k.startswith("Celeb")}) == 1


def test_celebdf_without_list_and_in_videos_subfolders(tmp_path: Path) -> None:
    touch(tmp_path, "Celeb-real/videos/id0_0000.mp4", "Celeb-synthesis/videos/id0_id1_0000.mp4")
    items = load_dataset(tmp_path)
    assert sorted(it.label for it in items) == [REAL, FAKE]
    assert all(it.official_split == "" for it in items)
    with pytest.raises(DatasetError, match="no official test list"):
        select_split(items, "test")


@pytest.mark.parametrize(("line", "match"), [
    ("0 YouTube-real/00170.mp4", "listed as fake but lies in YouTube-real"),  # the inverted convention
    ("1 Celeb-synthesis/id1_id0_0007.mp4", "listed as real"),
    ("YouTube-real/00170.mp4", ":1: expected"),
    ("2 YouTube-real/00170.mp4", "expected"),
])
def test_celebdf_refuses_an_inverted_or_malformed_list(celebdf: Path, line: str, match: str) -> None:
    (celebdf / "List_of_testing_videos.txt").write_text(line + "\n")
    with pytest.raises(DatasetError, match=match):
        load_dataset(celebdf)


# -- plain tree and folders of faces -------------------------------------------------------------------------


def test_tree_methods_and_identities(tmp_path: Path) -> None:
    touch(tmp_path, "real/001.mp4", "real/002.mp4", "real/sub/alice.jpg", "fake/001_002.mp4",
          "fake/FaceSwap/bob.mp4", "fake/notes.txt")
    assert detect_layout(tmp_path) == "tree"
    items = rel(load_dataset(tmp_path), tmp_path)
    assert len(items) == 5
    pair, bob = items["fake/001_002.mp4"], items["fake/FaceSwap/bob.mp4"]
    assert (pair.method, pair.identities) == ("fake", ("001", "002"))
    assert (bob.method, bob.identities) == ("FaceSwap", ("bob",))
    assert items["real/001.mp4"].group == items["real/002.mp4"].group == items["fake/001_002.mp4"].group
    assert items["real/sub/alice.jpg"].label == REAL


def test_faces_folder(tmp_path: Path) -> None:
    touch(tmp_path, "train/1.jpg", "train/2.png", "val/1.jpg", "labels.csv")
    (tmp_path / "labels.csv").write_text("file,split,age\ntrain/1.jpg,train,3\n")  # FairFace's, not DFDC's
    assert detect_layout(tmp_path) == "faces"
    items = load_dataset(tmp_path)
    assert len(items) == 3 and all(it.label == REAL and it.dataset == "faces" for it in items)
    assert len({it.group for it in items}) == 3  # every photo its own person


# -- detection and errors ------------------------------------------------------------------------------------


def test_detection_refuses_a_parent_of_several_datasets(tmp_path: Path) -> None:
    touch(tmp_path, "ff/original_sequences/youtube/c23/videos/000.mp4", "faces/1.jpg")
    with pytest.raises(DatasetError, match="several datasets.*faces/ \\(faces\\).*ff/ \\(ffpp\\)"):
        load_dataset(tmp_path)


def test_unknown_layout_and_empty_dataset(tmp_path: Path) -> None:
    touch(tmp_path, "notes.txt")
    with pytest.raises(DatasetError, match="unknown dataset layout"):
        load_dataset(tmp_path)
    with pytest.raises(DatasetError, match="unknown layout 'youtube'"):
        load_dataset(tmp_path, layout="youtube")
    (tmp_path / "real").mkdir()
    with pytest.raises(DatasetError, match="no media found in the tree layout"):
        load_dataset(tmp_path)
    with pytest.raises(DatasetError, match="not found"):
        load_dataset(tmp_path / "absent")


def test_every_layout_is_covered_here() -> None:
    assert set(LAYOUTS) == {"ffpp", "dfdc", "celebdf", "tree", "faces"}
