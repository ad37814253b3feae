"""`kill -9` of a running batch (a real `mimica batch` process), twice, at different moments, then a rerun: exactly
one record per input file, no duplicates, no torn line; the killed batch's workers do not outlive it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests import mediagen

pytestmark = pytest.mark.slow  # real worker processes, seconds each (CI runs slow tests)

FILES = 16


def lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            kids.append(int(stat.parent.name))
    return kids


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def start_and_kill(cmd: list[str], results: Path, after_lines: int) -> int:
    """Starts the batch, kill -9s it once results.jsonl has `after_lines` lines; returns the lines then."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while lines(results) < after_lines and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    workers = children(proc.pid)
    assert proc.poll() is None, "the batch finished before it could be killed: give it more files"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    deadline = time.monotonic() + 30
    while any(alive(w) for w in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert workers and not any(alive(w) for w in workers), "workers outlived the killed batch"
    return lines(results)


def test_kill_9_then_rerun_gives_one_result_per_file(tmp_path: Path, model_card: Path) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for i in range(FILES):
        mediagen.write_video(src / f"clip{i:02d}.mp4", size=(320, 240), frames=30)
    out = tmp_path / "out"
    results = out / "results.jsonl"
    cmd = [sys.executable, "-m", "mimica", "batch", str(src), "--out", str(out), "--workers", "2", "--frames", "8"]
    first = start_and_kill(cmd, results, after_lines=3)
    second = start_and_kill(cmd, results, after_lines=first + 3)
    assert 3 <= first < second < FILES
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    recs = [json.loads(line) for line in results.read_text().splitlines()]
    paths = [r["path"] for r in recs]
    assert sorted(paths) == sorted(str(p) for p in src.iterdir()) and len(set(paths)) == FILES
    summary = json.loads((out / "summary.json").read_text())
    assert summary["run"]["resumed"] == second and summary["run"]["scanned"] == FILES - second
    assert summary["counts"] == {"no-face": FILES}
