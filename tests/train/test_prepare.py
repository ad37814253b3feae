"""`prepare` caches aligned crops through the scan's own stages, one shard per video (images grouped), written
atomically and skipped when present: a second run creates nothing, an added item adds only its shard, and an
interrupted write (a leftover temporary file) is redone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from tests import facemedia, mediagen

from mimica.datasets import MediaItem
from mimica.train.prepare import PrepareConfig, load_shards, prepare, shard_key, shards

CFG = PrepareConfig(frames=3)


def snapshot(folder: Path) -> dict[str, int]:
    return {f.name: f.stat().st_mtime_ns for f in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def items(tmp_path_factory: pytest.TempPathFactory) -> dict[str, MediaItem]:
    d = tmp_path_factory.mktemp("prepare-media")
    return {
        "video": MediaItem(path=str(facemedia.write_face_video(d / "v.mp4", frames=6)), label=0, dataset="vids"),
        "photo": MediaItem(path=str(facemedia.write_face_image(d / "p.png")), label=0, dataset="faces"),
        "broken": MediaItem(path=str(mediagen.write_text(d / "b.mp4")), label=1, dataset="vids"),
        "later": MediaItem(path=str(facemedia.write_face_video(d / "w.mp4", frames=4)), label=1, dataset="vids"),
    }


def test_shards_group_images_and_split_videos(items: dict[str, MediaItem]) -> None:
    groups = shards([items["video"], items["photo"], items["broken"]])
    assert [[it.path for it in g] for g in groups] == [[items["video"].path], [items["broken"].path],
                                                        [items["photo"].path]]
    # the key depends on the items and the recipe, so a new recipe never reuses old crops
    assert shard_key([items["video"]], CFG) != shard_key([items["video"]], PrepareConfig(frames=4))


def test_prepare_is_resumable(items: dict[str, MediaItem], tmp_path: Path) -> None:
    first = [items["video"], items["photo"], items["broken"]]
    cache = tmp_path / "cache"
    cache.mkdir()
    # a write interrupted in an earlier run leaves its temporary file behind; it must not count as done
    stale = cache / f"{shard_key([items['photo']], CFG)}.npz.tmp.npz"
    stale.write_bytes(b"half a file")
    calls: list[tuple[int, int]] = []
    files = prepare(first, cache, CFG, workers=1, progress=lambda a, b: calls.append((a, b)))
    assert len(files) == 3 and all(f.is_file() for f in files)
    assert calls[0] == (0, 3) and calls[-1] == (3, 3)

    data, metas = load_shards(files)
    assert sorted(m["path"] for m in metas) == sorted(it.path for it in first)
    by_item = np.bincount(data["item"], minlength=len(metas))
    counts = {Path(metas[i]["path"]).name: int(n) for i, n in enumerate(by_item)}
    assert counts == {"v.mp4": 3, "p.png": 1, "b.mp4": 0}
    assert data["crops"].shape == (4, 128, 128, 3) and data["crops"].dtype == np.uint8
    assert data["mesh"].shape == (4, 468, 2)
    assert ((data["mesh"] > -10) & (data["mesh"] < 138)).mean() > 0.99  # landmarks in crop pixels
    broken = cache / f"{shard_key([items['broken']], CFG)}.npz"
    with np.load(broken) as z:  # the failure is remembered in its shard, so it is not retried every run
        errors = json.loads(str(z["meta"]))["errors"]
    assert len(errors) == 1 and "b.mp4" in errors[0]

    # second run: nothing new, nothing rewritten
    before = snapshot(cache)
    again = prepare(first, cache, CFG, workers=1)
    assert sorted(again) == sorted(files)
    assert snapshot(cache) == before

    # an added video adds exactly its own shard
    more = prepare([*first, items["later"]], cache, CFG, workers=1)
    after = snapshot(cache)
    assert len(more) == 4
    assert set(after) - set(before) == {f"{shard_key([items['later']], CFG)}.npz"}
    assert {k: after[k] for k in before} == before
