"""Memory and time of a batch's driver over many records: a do-nothing resume over --steps realistic records
(faces found, a track of 32 detections each: about 5 KB of JSON a line, as a real corpus gives), then the same
resume with every record superseded once (so the run compacts), and optionally a fresh run (--fresh N files)
that tracks the workers too.

    python benchmarks/batch_memory.py [--steps 1000,10000,100000] [--fresh 0] [--workers 2] [--code OTHER/src]

The record is a real `scan` of a synthesised face video (tests/facemedia.py), copied with one path per input;
the inputs are hard links to one file, so every record is a valid result (same size, mtime and scan identity)
and the resume scans nothing. Each resume runs in a fresh process (`python -c "mimica.batch(...)"`): peak RSS
is that process's VmHWM (imports included), wall time the process's. Everything lives in a temp folder
deleted after.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# VmHWM, not ru_maxrss: Linux keeps ru_maxrss across execve, so a child would report its parent's peak
RESUME = """
import re, sys, mimica
s = mimica.batch([sys.argv[1]], sys.argv[2], workers=1, frames=32)
assert s.scanned == 0 and s.resumed == s.files, s
print(re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1))
"""


def one_record(tmp: Path) -> dict:
    """The record of a real scan of a face video (32 frames, one track), as a batch stores it."""
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.facemedia import write_face_video

    from mimica.corpus.work import Job, ScanSettings, scan_identity, scan_one

    video = write_face_video(tmp / "face.mp4", frames=40)
    settings = ScanSettings(frames=32)
    settings = dataclasses.replace(settings, identity=scan_identity(settings))
    st = video.stat()
    rec = scan_one(settings.scanner(), Job(str(video), st.st_size, st.st_mtime_ns), settings.identity)
    assert rec["tracks"] and rec["verdict"] != "error", rec
    return rec


def corpus(tmp: Path, n: int, rec: dict, superseded: bool) -> tuple[Path, Path, int]:
    """n hard links to one file and a results folder holding a record for each (twice with `superseded`)."""
    src, out = tmp / f"in{n}", tmp / f"out{n}{'s' if superseded else ''}"
    src.mkdir(exist_ok=True)
    out.mkdir()
    first = src / "000000.mp4"
    if not first.exists():
        for i in range(n):  # a file takes at most 65,000 links (ext4): one copy (same mtime) per 50,000
            base = tmp / f"face-{i // 50_000}.mp4"
            if not base.exists():
                shutil.copy2(tmp / "face.mp4", base)
            os.link(base, src / f"{i:06d}.mp4")
    st = first.stat()
    size = 0
    with open(out / "results.jsonl", "w", encoding="utf-8") as f:
        for copy in range(2 if superseded else 1):
            for i in range(n):
                line = json.dumps({**rec, "path": str(src / f"{i:06d}.mp4"), "size": st.st_size,
                                   "mtime_ns": st.st_mtime_ns, "verdict": "error" if copy == 0 and superseded
                                   else rec["verdict"]}, separators=(",", ":")) + "\n"
                f.write(line)
                size += len(line)
    return src, out, size


def resume(src: Path, out: Path, code: str | None) -> tuple[float, float, float]:
    """(peak RSS MB, wall s, CPU s) of a process that resumes the batch (with the mimica of `code`, a src
    folder). CPU s (user + system of the reaped process) is the steadier figure on a shared machine."""
    env = {**os.environ, "PYTHONPATH": code} if code else None
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu0 = ru.ru_utime + ru.ru_stime
    t = time.monotonic()
    run = subprocess.run([sys.executable, "-c", RESUME, str(src), str(out)], check=True, capture_output=True,
                         text=True, env=env)
    wall = time.monotonic() - t
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return int(run.stdout.split()[-1]) / 1024, wall, ru.ru_utime + ru.ru_stime - cpu0


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", default="1000,10000,100000", help="record counts")
    ap.add_argument("--fresh", type=int, default=0, help="also a fresh run over this many faceless pictures")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--code", help="resume with the mimica of this src folder (an older checkout, to compare)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="mimica-batch-mem-") as name:
        tmp = Path(name)
        rec = one_record(tmp)
        print(f"one record: {len(json.dumps(rec, separators=(',', ':')))} bytes of JSON, "
              f"{len(rec['tracks'])} track(s), {sum(len(t['detections']) for t in rec['tracks'])} detections")
        print("records  results.jsonl MB  what                                driver peak RSS MB   wall s    CPU s")
        for superseded in (False, True):
            for n in (int(x) for x in args.steps.split(",")):
                src, out, size = corpus(tmp, n, rec, superseded)
                peak, wall, cpu = resume(src, out, args.code)
                what = "resume + compaction (2 lines/path)" if superseded else "do-nothing resume"
                with open(out / "results.jsonl", "rb") as f:
                    lines = sum(1 for _ in f)
                assert lines == n, lines
                print(f"{n:7d}  {size / 1e6:16.0f}  {what:34s}  {peak:18.0f}  {wall:7.1f}  {cpu:7.1f}", flush=True)
                os.remove(out / "results.jsonl")
        if args.fresh:
            fresh(tmp, args.fresh, args.workers)


def fresh(tmp: Path, files: int, workers: int) -> None:
    """A fresh run over `files` hard links to a faceless picture: driver and worker RSS every 1000 files."""
    import numpy as np
    from PIL import Image

    import mimica
    from mimica.corpus import BatchProgress

    src = tmp / "fresh"
    src.mkdir()
    first = src / "00000.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 96, 3), dtype=np.uint8)).save(first)
    for i in range(1, files):
        os.link(first, src / f"{i:05d}.png")

    def rss_mb(pid: int) -> float:
        try:
            return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        except (OSError, ValueError, IndexError):
            return 0.0

    def children() -> list[int]:
        kids = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == os.getpid():
                    kids.append(int(stat.parent.name))
            except (OSError, ValueError, IndexError):
                continue
        return kids

    print(f"fresh run: {files} files, {workers} workers\nfiles  driver MB  workers MB (each)")

    def progress(ev: BatchProgress) -> None:
        if ev.done % 1000 == 0 or ev.done == 1:
            print(f"{ev.done:5d}  {rss_mb(os.getpid()):9.1f}  {' '.join(f'{rss_mb(k):.0f}' for k in children()):>17s}",
                  flush=True)

    s = mimica.batch([src], tmp / "fresh-out", workers=workers, frames=1, progress=progress)
    print(f"done: {s.files} files in {s.wall_s:.0f} s, {s.counts}, workers replaced {s.workers_replaced}")


if __name__ == "__main__":
    main()
