"""The same bytes and settings give the same record: batch workers decode on one thread
(mimica.media.open.deterministic_decoding), because FFmpeg's frame threads conceal a damaged stream's errors in
whatever order the threads finish. Checked on a damaged FF++ video (bit flips in its payload: with 8 frame
threads its decoded frames differed in 3 of 3 decodes when this was written) and, without ../shared, on a
damaged synthesised face video through the whole batch."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from tests.facemedia import write_face_video

import mimica
from mimica.media.open import deterministic_decoding, sample_frames

pytestmark = pytest.mark.slow  # real decodes and worker processes


def flip_bits(src: Path, dst: Path, seed: int, n: int = 200) -> Path:
    """n bit flips in the last three quarters of the file (the payload), as a bad disk or transfer makes."""
    buf = bytearray(src.read_bytes())
    rng = np.random.default_rng(seed)
    for i in rng.integers(len(buf) // 4, len(buf), n):
        buf[int(i)] ^= 1 << int(rng.integers(0, 8))
    dst.write_bytes(bytes(buf))
    return dst


def frames_digest(path: Path) -> str:
    h = hashlib.sha256()
    for f in sample_frames(path, 32):
        h.update(f.image.tobytes())
    return h.hexdigest()


@pytest.fixture
def one_thread() -> Iterator[None]:
    deterministic_decoding(True)
    try:
        yield
    finally:
        deterministic_decoding(False)


def test_a_damaged_video_decodes_the_same_every_time(shared_data: Path, tmp_path: Path, one_thread: None) -> None:
    video = shared_data / "ffpp" / "original_sequences" / "actors" / "c40" / "videos" / "01__kitchen_pan.mp4"
    if not video.is_file():
        pytest.skip(f"{video} is not in ../shared/data")
    damaged = flip_bits(video, tmp_path / "damaged.mp4", seed=5)
    assert len({frames_digest(damaged) for _ in range(4)}) == 1


def stable(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "timings_s"}


def test_batch_records_of_a_damaged_file_agree(tmp_path: Path, model_card: Path) -> None:
    clean = write_face_video(tmp_path / "clean.mp4", frames=24)
    src = tmp_path / "in"
    src.mkdir()
    for seed in range(3):
        flip_bits(clean, src / f"damaged{seed}.mp4", seed=seed, n=60)
    runs = []
    for k in range(2):
        mimica.batch([src], tmp_path / f"out{k}", workers=1, frames=8)
        lines = (tmp_path / f"out{k}" / "results.jsonl").read_text().splitlines()
        runs.append(sorted((stable(json.loads(line)) for line in lines), key=lambda r: r["path"]))
    assert runs[0] == runs[1]
    assert any(r["verdict"] not in ("error", "no-face") for r in runs[0])  # faces scored, not only errors
