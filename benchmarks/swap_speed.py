"""Speed of `mimica swap` on real 720p video (frames per second, wall clock, end to end: both passes, marking,
encoding, audio remux), with the time split between the landmark pass and the swap pass.

    PYTHONPATH=src python benchmarks/swap_speed.py [--videos 3] [--source FACE.jpg]

Uses FF++ videos from ../shared/data (the 720p ones unless --any-size) and, as the source face, scikit-image's
astronaut. The machine's load is printed too: figures from a machine shared with a training job are lower.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import sys
import tempfile
import time
import warnings
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def _span(marks: dict[str, list[float]], stage: str) -> float:
    a, b = marks.get(stage, [0.0, 0.0])
    return b - a


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=3)
    ap.add_argument("--source", type=Path)
    ap.add_argument("--height", type=int, default=720, help="pick videos of this height (0: any)")
    args = ap.parse_args()
    if not (SHARED / "manifest.csv").is_file():
        print(f"{SHARED} is not present", file=sys.stderr)
        return 1
    from PIL import Image

    from mimica.swap import UnsignedNotice, swap

    warnings.simplefilter("ignore", UnsignedNotice)
    rows = [
        r
        for r in csv.DictReader((SHARED / "manifest.csv").open())
        if r["label"] == "real"
        and "youtube" in r["path"]
        and "c23" in r["path"]
        and (args.height == 0 or int(r["height"]) == args.height)
    ]
    rows = rows[: args.videos]
    total_frames = total_time = total_cpu = 0.0
    with tempfile.TemporaryDirectory() as d:
        src = args.source
        if src is None:
            from skimage.data import astronaut

            src = Path(d) / "astronaut.png"
            Image.fromarray(astronaut()).save(src)
        for r in rows:
            video = SHARED / r["path"]
            marks: dict[str, list[float]] = {}
            t0 = time.perf_counter()
            ru0 = resource.getrusage(resource.RUSAGE_SELF)

            cpu_marks: dict[str, list[float]] = {}

            def progress(stage: str, done: int, total: int, marks=marks, t0=t0, cpu_marks=cpu_marks) -> None:
                now = time.perf_counter() - t0
                marks.setdefault(stage, [now, now])[1] = now
                ru = resource.getrusage(resource.RUSAGE_SELF)
                c = ru.ru_utime + ru.ru_stime  # the whole process: the decoding and encoding threads too
                cpu_marks.setdefault(stage, [c, c])[1] = c

            swap(src, video, Path(d) / "out.mp4", progress=progress)
            took = time.perf_counter() - t0
            ru1 = resource.getrusage(resource.RUSAGE_SELF)
            cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
            import av

            with av.open(str(video)) as c:
                n = sum(1 for _ in c.demux(video=0)) - 1
            lm = marks.get("landmarks", [0, 0])
            sw = marks.get("swap", [0, 0])
            print(
                f"{video.name} {r['width']}x{r['height']} {n} frames: {took:.1f} s = {n / took:.1f} fps "
                f"(landmark pass {n / max(lm[1] - lm[0], 1e-9):.0f} fps, swap pass "
                f"{n / max(sw[1] - sw[0], 1e-9):.0f} fps); CPU {1000 * cpu / n:.1f} ms/frame (landmark pass "
                f"{1000 * _span(cpu_marks, 'landmarks') / n:.1f}, swap pass {1000 * _span(cpu_marks, 'swap') / n:.1f})",
                flush=True,
            )
            total_frames += n
            total_time += took
            total_cpu += cpu
    load = os.getloadavg()
    cores = os.cpu_count() or 1
    print(
        f"overall: {total_frames:.0f} frames in {total_time:.1f} s = {total_frames / total_time:.1f} fps; "
        f"CPU {1000 * total_cpu / total_frames:.1f} ms/frame, i.e. {total_frames / (total_cpu / cores):.0f} fps "
        f"if mimica had all {cores} cores; load average {load[0]:.1f} (other jobs share the machine above {cores})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
