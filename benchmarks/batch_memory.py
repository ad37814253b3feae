"""Memory of a long batch: resident memory of the driver and of each worker, every --every files, over --files
files (default 10,000), to check that it stays flat.

    python benchmarks/batch_memory.py [--files 10000] [--every 1000] [--workers 2]

The inputs are hard links to one small synthesised picture (no face: the scan's full path, decode, face
detection and provenance, without the classifier), made in a temp folder and deleted after. Workers are
replaced every 500 files by design (mimica.corpus.local), so the worker column shows what one worker reaches
between replacements; the driver column is what the batch itself keeps per file.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from PIL import Image

import mimica
from mimica.corpus import BatchProgress


def rss_mb(pid: int) -> float:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        return 0.0


def children(pid: int) -> list[int]:
    kids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                kids.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return kids


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=10_000)
    ap.add_argument("--every", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="mimica-batch-mem-") as tmp:
        src = Path(tmp) / "in"
        src.mkdir()
        first = src / "00000.png"
        rng = np.random.default_rng(0)
        Image.fromarray(rng.integers(0, 255, (64, 96, 3), dtype=np.uint8)).save(first)
        for i in range(1, args.files):
            os.link(first, src / f"{i:05d}.png")
        t0 = time.monotonic()
        print(f"{args.files} files, {args.workers} workers")
        print("files  driver MB  workers MB (each)  files/s")

        def progress(ev: BatchProgress) -> None:
            if ev.done % args.every == 0 or ev.done == 1:
                workers = [rss_mb(k) for k in children(os.getpid())]
                rate = ev.done / (time.monotonic() - t0)
                print(f"{ev.done:5d}  {rss_mb(os.getpid()):9.1f}  {' '.join(f'{w:.0f}' for w in workers):>17s}  "
                      f"{rate:7.1f}", flush=True)

        s = mimica.batch([src], Path(tmp) / "out", workers=args.workers, frames=1, progress=progress)
        print(f"done: {s.files} files in {s.wall_s:.0f} s, {s.counts}, workers replaced {s.workers_replaced}")


if __name__ == "__main__":
    main()
