"""Batch throughput: files/s of `mimica.batch` on the same clips with the local engine (1 and 2 workers) and the
Ray engine (a private local instance with 2 CPUs), in one run, and the overhead of Ray over local.

    python benchmarks/batch_throughput.py [--clips 40] [--seconds 2] [--frames 32] [--engines local1,local2,ray2]

The clips are the first --seconds of the first --clips videos of ../shared/data/ffpp (stream copy into a temp
folder, deleted after; nothing is kept), or, without ../shared, face videos synthesised from scikit-image's
astronaut. Each engine scans into a fresh results folder, so nothing is resumed; wall time includes listing,
starting the workers (and Ray) and loading the models, as a user sees it. CPU s is the CPU time of this process
and of every process descended from it during the run (workers; Ray's GCS, raylet and actor processes, which
are the raylet's children), sampled from /proc every 0.2 s: getrusage(RUSAGE_CHILDREN) alone counts only
reaped children, and the raylet's actors are never reaped by this process, so it missed nearly all of Ray's
work. A process that ends between two samples loses at most 0.2 s of its CPU. On a machine shared with other
work, wall time follows the load, CPU time much less.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import threading
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


TICK = os.sysconf("SC_CLK_TCK")


class TreeCPU:
    """CPU seconds of this process and all its descendants while the block runs, sampled from /proc."""

    def __enter__(self) -> TreeCPU:
        self.seen: dict[tuple[int, int], float] = {}  # (pid, start time) -> last CPU s seen
        self.base = self._sample(record=False)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.cpu_s = sum(self.seen.values()) - self.base

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._sample()

    def _sample(self, record: bool = True) -> float:
        stats: dict[int, tuple[int, int, float]] = {}  # pid -> (ppid, start, cpu s)
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                f = stat.read_text().rsplit(")", 1)[1].split()
                stats[int(stat.parent.name)] = (int(f[1]), int(f[19]), (int(f[11]) + int(f[12])) / TICK)
            except (OSError, ValueError, IndexError):
                continue
        me, total = os.getpid(), 0.0
        for pid, (_, start, cpu) in stats.items():
            p, hops = pid, 0
            while p not in (me, 0, 1) and p in stats and hops < 64:
                p, hops = stats[p][0], hops + 1
            if p == me:
                total += cpu
                if record:
                    self.seen[(pid, start)] = max(cpu, self.seen.get((pid, start), 0.0))
        return total


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
        ru = resource.getrusage(resource.RUSAGE_CHILDREN)
        reaped0 = ru.ru_utime + ru.ru_stime
        for key in args.engines.split(","):
            engine, workers = ENGINES[key]
            with TreeCPU() as tree:
                s = mimica.batch([src], Path(tmp) / f"out-{key}", engine=engine, workers=workers,  # type: ignore[arg-type]
                                 frames=args.frames)
            cpu = tree.cpu_s
            rusage = resource.getrusage(resource.RUSAGE_CHILDREN)
            assert s.scanned == len(files), s
            rows.append((key, s.wall_s, s.files_per_s, s.counts))
            reaped = rusage.ru_utime + rusage.ru_stime - reaped0
            reaped0 += reaped
            print(f"{key:7s} {s.wall_s:7.1f} s  {s.files_per_s:6.2f} files/s  {cpu:7.1f} CPU s  "
                  f"({reaped:.1f} s by getrusage of reaped children)  {dict(sorted(s.counts_text.items()))}",
                  flush=True)
    walls = {k: w for k, w, _, _ in rows}
    if "ray2" in walls and "local2" in walls:
        print(f"ray overhead over local (2 workers): {walls['ray2'] - walls['local2']:+.1f} s "
              f"({(walls['ray2'] / walls['local2'] - 1) * 100:+.0f}% wall time)")
    if "local1" in walls and "local2" in walls:
        print(f"speed-up of 2 workers over 1: {walls['local1'] / walls['local2']:.2f}x")


if __name__ == "__main__":
    main()
