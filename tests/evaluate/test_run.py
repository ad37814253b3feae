"""evaluate_dataset with a stand-in scanner: indexing, split selection, main-track scores, failures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mimica.datasets import MediaItem
from mimica.errors import DatasetError
from mimica.evaluate.run import evaluate_dataset, main_track, record_from_scan, score_dataset


def test_main_track_is_the_longest_then_the_largest(scans) -> None:  # type: ignore[no-untyped-def]
    track = scans.track
    a, b, c = track(1, [0.1, 0.2]), track(2, [0.9, 0.9, 0.9]), track(3, [0.5, 0.5, 0.5], size=200)
    assert main_track([a, b]).id == 2
    assert main_track([a, b, c]).id == 3
    assert main_track([]) is None


def test_record_from_scan(scans) -> None:  # type: ignore[no-untyped-def]
    track, result = scans.track, scans.result
    item = MediaItem("/v.mp4", 1, "ffpp", "FaceSwap", "c23", ("yt1",))
    rec = record_from_scan(result("/v.mp4", track(1, [0.2]), track(2, [0.8, 0.6])), item)
    assert (rec.frame_probs, rec.method, rec.compression) == ([0.8, 0.6], "FaceSwap", "c23")
    assert rec.probability == pytest.approx(0.7)
    assert record_from_scan(result("/v.mp4"), item).error == "no face found"
    assert record_from_scan(result("/v.mp4", verdict="error", error="bad file"), item).error == "bad file"


def test_evaluate_dataset_all(tree: Path, fake_scanner: type) -> None:
    scanner = fake_scanner()
    calls = []
    r = evaluate_dataset(tree, split="all", scanner=scanner, n_boot=50, progress=lambda *a: calls.append(a))
    assert len(scanner.seen) == 6 and calls[-1] == ("scan", 6, 6)
    assert (r.n_videos, r.n_frames, r.n_skipped) == (5, 15, 1)
    assert "cannot decode" in r.skipped[0].reason
    assert r.video.auc == 1.0 and r.threshold == 0.65  # the threshold comes from the scans
    assert (r.layout, r.split, r.frames, r.dataset) == ("tree", "all", 32, str(tree))
    assert set(r.by_method) == {"FaceSwap"}
    json.loads(r.model_dump_json())


def test_split_selection_and_threshold_override(tree: Path, fake_scanner: type) -> None:
    records, _ = score_dataset(tree, split="val", scanner=fake_scanner())
    records_train, _ = score_dataset(tree, split="train", scanner=fake_scanner())
    assert len(records) + len(records_train) == 6
    r = evaluate_dataset(tree, split="all", scanner=fake_scanner(), threshold=0.1, n_boot=0)
    assert r.threshold == 0.1 and r.video.recall == 1.0 and r.video.precision < 1.0
    with pytest.raises(DatasetError, match="no official test list"):
        evaluate_dataset(tree, split="test", scanner=fake_scanner())
