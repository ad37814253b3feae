"""Sampling real FaceForensics++ videos from ../shared/data (skipped when absent), checked against its
manifest: the 32-frame protocol on a light (c23) and a heavy (c40, 1080p actors) compression."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from mimica.media import DecodeStats, probe, sample_frames

pytestmark = pytest.mark.shared

N = 32


def _pick(shared_data: Path, want: dict[str, str]) -> dict[str, str]:
    """The first manifest row (in file order, so the choice is stable) whose fields match `want`."""
    with (shared_data / "manifest.csv").open(newline="") as f:
        for row in csv.DictReader(f):
            if all(want[k] in row[k] for k in want):
                return row
    pytest.skip(f"no video in the manifest matches {want}")


@pytest.mark.parametrize(
    "want",
    [
        pytest.param({"compression": "c23"}, id="c23"),
        pytest.param({"compression": "c40", "path": "/actors/", "height": "1080"}, id="actors-c40-1080p"),
    ],
)
def test_32_frames_from_ffpp(shared_data: Path, want: dict[str, str]) -> None:
    row = _pick(shared_data, want)
    path = shared_data / row["path"]
    info = probe(path)
    assert (info.kind, info.codec, info.rotation) == ("video", "h264", 0)
    assert (info.width, info.height) == (int(row["width"]), int(row["height"]))
    assert info.fps == pytest.approx(float(row["fps"]), rel=0.01)
    assert info.duration_s == pytest.approx(float(row["duration_s"]), abs=0.1)
    assert info.frame_count is not None and info.duration_s is not None and info.fps is not None

    stats = DecodeStats()
    frames = list(sample_frames(path, N, stats))
    assert len(frames) == N
    times = np.array([f.time_s for f in frames])
    assert np.all(times >= 0) and np.all(times <= info.duration_s)
    assert np.all(np.diff(times) > 0)
    # evenly spread: each sample within one frame of the middle of its slice of the video
    slices = (np.arange(N) + 0.5) * info.duration_s / N
    assert np.abs(times - slices).max() <= 1.01 / info.fps
    assert stats.decoded == info.frame_count
    assert (stats.sampled, stats.failed, stats.truncated) == (N, 0, False)
    for f in frames:
        assert f.image.shape == (info.height, info.width, 3) and f.image.dtype == np.uint8
    assert len({f.image[::16, ::16].tobytes() for f in frames}) == N  # really different frames
