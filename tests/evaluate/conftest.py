"""A stand-in for the scan pipeline, so evaluation is tested without a model."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from mimica.errors import MediaError
from mimica.scan.result import Detection, ScanResult, Track

THRESHOLDS = {"real": 0.35, "fake": 0.65}


def track(tid: int, probs: list[float], size: float = 100.0) -> Track:
    box = (0.0, 0.0, size, size)
    dets = [Detection(time_s=i, frame_index=i, box=box, probability=p) for i, p in enumerate(probs)]
    return Track(id=tid, verdict="uncertain", probability=sum(probs) / len(probs), detections=dets)


def result(path: str, *tracks: Track, verdict: str = "uncertain", error: str | None = None) -> ScanResult:
    return ScanResult(path=path, verdict=verdict, probability=None if error else 0.5, tracks=list(tracks),
                      thresholds=THRESHOLDS, error=error)

class FakeScanner:
    """Fakes score high, reals low; one file fails the way a broken video does."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def scan(self, path: str) -> ScanResult:
        self.seen.append(path)
        if "broken" in path:
            raise MediaError(f"{path}: cannot decode")
        p = 0.8 if "/fake/" in path else 0.2
        return result(path, track(1, [p, p + 0.1, p - 0.1]))


@pytest.fixture()
def fake_scanner() -> type:
    return FakeScanner


@pytest.fixture()
def scans() -> SimpleNamespace:
    """Builders of scan results: scans.track(id, probs), scans.result(path, *tracks)."""
    return SimpleNamespace(track=track, result=result)


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    """A real/fake tree of empty files (the stand-in scanner never opens them); one fails like a broken video."""
    for rel in ["real/a.mp4", "real/b.mp4", "real/c.mp4", "fake/FaceSwap/a_b.mp4", "fake/FaceSwap/c.mp4",
                "fake/broken.mp4"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).touch()
    return tmp_path
