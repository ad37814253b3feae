"""Files that cannot be read as files, through the real CLI under a hard timeout: a FIFO (an open blocks until a
writer comes), a symlink to /dev/zero (a read never ends), a socket, and a sparse file of 3 GiB (hashed by
samples, within the size budget). Each gets one `error` record (permanent: a rerun does not retry it), nothing
hangs, and the driver never opens them (the FIFO would block it: the test would time out)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from tests import mediagen

from mimica.corpus.work import HASH_BLOCK, HASH_FULL_MAX, HASH_SAMPLES, fingerprint

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="POSIX special files")]


def test_special_files_are_refused_without_reading_them(tmp_path: Path, model_card: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    os.mkfifo(src / "fifo.mp4")
    (src / "zero.mp4").symlink_to("/dev/zero")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(src / "sock.mp4"))
    with open(src / "sparse.mp4", "wb") as f:  # 3 GiB of holes: no disk used, but a whole hash would read 3 GiB
        f.truncate(3 << 30)
    mediagen.write_image(src / "ok.png", size=(96, 64))
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "mimica", "batch", str(src), "--out", str(out), "--workers", "1", "--frames", "2",
           "--timeout-per-file", "60"]
    try:
        for attempt in range(2):  # the rerun must not block on them either
            run = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
            assert run.returncode == 0, run.stderr[-2000:]
            assert "Traceback" not in run.stderr
            assert ("scanned 5" if attempt == 0 else "scanned 0") in run.stdout, run.stdout
    finally:
        sock.close()
    recs = {Path(r["path"]).name: r for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())}
    assert len(recs) == 5
    assert "is a named pipe (FIFO), not a media file" in recs["fifo.mp4"]["error"]
    assert "is a character device" in recs["zero.mp4"]["error"]
    assert "is a socket" in recs["sock.mp4"]["error"]
    for name in ("fifo.mp4", "zero.mp4", "sock.mp4"):
        assert recs[name]["error_kind"] == "permanent" and recs[name]["sha256"] is None
    sparse = recs["sparse.mp4"]
    assert sparse["verdict"] == "error" and sparse["sha256"] is None and len(sparse["sha256_sampled"]) == 64
    assert "took longer" not in sparse["error"]
    assert recs["ok.png"]["verdict"] == "no-face" and len(recs["ok.png"]["sha256"]) == 64


def test_a_large_file_is_hashed_by_samples(tmp_path: Path) -> None:
    big = tmp_path / "big.bin"
    with open(big, "wb") as f:
        f.truncate(HASH_FULL_MAX + 1)
    kind, first = fingerprint(big, HASH_FULL_MAX + 1)
    assert kind == "sha256_sampled" and fingerprint(big, HASH_FULL_MAX + 1) == (kind, first)
    with open(big, "r+b") as f:  # a change where a sample falls changes the fingerprint
        f.seek((HASH_FULL_MAX + 1 - HASH_BLOCK) // (HASH_SAMPLES - 1))
        f.write(b"x")
    assert fingerprint(big, HASH_FULL_MAX + 1)[1] != first
    small = tmp_path / "small.bin"
    small.write_bytes(b"abc")
    assert fingerprint(small, 3) == ("sha256", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
