"""Batch throughput: files/s of `mimica.batch` on the same clips with the local engine (1 and 2 workers) and the
Ray engine (a private local instance with 2 CPUs), in one run, and the overhead of Ray over local.

    python benchmarks/batch_throughput.py [--clips 40] [--seconds 2] [--frames 32] [--engines local1,local2,ray2]

The clips are the first --seconds of the first --clips videos of ../shared/data/ffpp (stream copy into a temp
folder, deleted after; nothing is kept), or, without ../shared, face videos synthesised from scikit-image's
astronaut. Each engine scans into a fresh results folder, so nothing is resumed; wall time includes listing,
starting the workers (and Ray) and loading the models, as a user sees it. CPU s is the CPU time of this process
and its reaped children (workers, and Ray's processes when it started them) during the run: on a machine
shared with other work, wall time follows the load, CPU time much less.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

import imageio_ffmpeg

import mimica

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
ENGINES = {"local1": ("local", 1), "local2": ("local", 2), "ray2": ("ray", 2)}


def clips(folder: Path, n: int, seconds: float) -> list[Path]:
    videos = sorted((SHARED / "ffpp").rglob("*.mp4"))[:n]
    out = []
    if len(videos) == n:
        for i, v in enumerate(videos):
            dst = folder / f"{i:03d}-{v.stem}.mp4"
            subprocess.run([FFMPEG, "-v", "error", "-y", "-i", str(v), "-t", str(seconds), "-c", "copy", str(dst)],
                           check=True)
            out.append(dst)
        return out
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.facemedia import write_face_video  # synthesised: no ../shared here

    return [write_face_video(folder / f"{i:03d}.mp4", frames=int(seconds * 10), fps=10) for i in range(n)]


def cpu_s() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--clips", type=int, default=40)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--engines", default="local1,local2,ray2")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="mimica-batch-bench-") as tmp:
        src = Path(tmp) / "clips"
        src.mkdir()
        files = clips(src, args.clips, args.seconds)
        source = "ffpp" if (SHARED / "ffpp").is_dir() and "-" in files[0].stem else "synthesised"
        print(f"{len(files)} clips of {args.seconds:g} s ({source}), {args.frames} frames each, "
              f"{os.cpu_count()} cores")
        for key in args.engines.split(","):
            engine, workers = ENGINES[key]
            cpu0 = cpu_s()
            s = mimica.batch([src], Path(tmp) / f"out-{key}", engine=engine, workers=workers,  # type: ignore[arg-type]
                             frames=args.frames)
            cpu = cpu_s() - cpu0
            assert s.scanned == len(files), s
            rows.append((key, s.wall_s, s.files_per_s, s.counts))
            print(f"{key:7s} {s.wall_s:7.1f} s  {s.files_per_s:6.2f} files/s  {cpu:7.1f} CPU s  "
                  f"{dict(sorted(s.counts.items()))}", flush=True)
    walls = {k: w for k, w, _, _ in rows}
    if "ray2" in walls and "local2" in walls:
        print(f"ray overhead over local (2 workers): {walls['ray2'] - walls['local2']:+.1f} s "
              f"({(walls['ray2'] / walls['local2'] - 1) * 100:+.0f}% wall time)")
    if "local1" in walls and "local2" in walls:
        print(f"speed-up of 2 workers over 1: {walls['local1'] / walls['local2']:.2f}x")


if __name__ == "__main__":
    main()
