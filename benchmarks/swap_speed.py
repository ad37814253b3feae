"""Speed of `mimica swap` on real 720p video (frames per second, wall clock, end to end: both passes, marking,
encoding, audio remux), with the time split between the landmark pass and the swap pass.

    PYTHONPATH=src python benchmarks/swap_speed.py [--videos 3] [--source FACE.jpg]
    PYTHONPATH=src python benchmarks/swap_speed.py --apply 8    # FaceSwapper.apply alone, CPU per call
    PYTHONPATH=src python benchmarks/swap_speed.py --dynamic 0  # without the target's changing look

Uses FF++ videos from ../shared/data (the 720p ones unless --any-size) and, as the source face, scikit-image's
astronaut. The machine's load is printed too: figures from a machine shared with a training job are lower.
`--apply N`: only the swap of one frame (FaceSwapper.apply, the video path: a track's colour estimates carried
over), N passes over 2 frames of each of the --videos videos; run it alternately with two versions' `src` on
PYTHONPATH to compare them on a busy machine (their ratio, not their absolute figures).
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


def apply_only(videos: list[Path], passes: int) -> int:
    """CPU time (all threads) per FaceSwapper.apply on frames at 30% and 60% of each video."""
    import av
    import numpy as np
    from skimage.data import astronaut

    from mimica.faces import create_detector
    from mimica.swap import FaceSwapper, SourceFace

    det = create_detector("mediapipe")
    frames = []
    for v in videos:
        with av.open(str(v)) as c:
            n = c.streams.video[0].frames or 300
            want = {int(n * 0.3), int(n * 0.6)}
            for i, f in enumerate(c.decode(video=0)):
                if i in want:
                    img = f.to_ndarray(format="rgb24")
                    faces = det.detect(img)
                    if len(faces):
                        frames.append((img, faces.mesh[int(np.argmax(faces.area))]))
                if i >= max(want):
                    break
    swapper = FaceSwapper(SourceFace.from_image(astronaut(), det))
    for img, mesh in frames:  # warm up (and the track's first-frame estimates)
        swapper.apply(img, mesh, track=0)
    t0 = time.process_time()
    for _ in range(passes):
        for img, mesh in frames:
            swapper.apply(img, mesh, track=0)
    per = (time.process_time() - t0) / (passes * len(frames))
    print(
        f"FaceSwapper.apply: {1000 * per:.1f} ms CPU per 720p frame ({len(frames)} frames x {passes} passes); "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    return 0


def _span(marks: dict[str, list[float]], stage: str) -> float:
    a, b = marks.get(stage, [0.0, 0.0])
    return b - a


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=3)
    ap.add_argument("--source", type=Path)
    ap.add_argument("--height", type=int, default=720, help="pick videos of this height (0: any)")
    ap.add_argument("--apply", type=int, default=0, help="time FaceSwapper.apply alone, this many passes")
    ap.add_argument("--dynamic", type=float, help="SwapOptions.dynamic (default: SwapOptions' own)")
    args = ap.parse_args()
    if not (SHARED / "manifest.csv").is_file():
        print(f"{SHARED} is not present", file=sys.stderr)
        return 1
    from PIL import Image

    from mimica.swap import SwapOptions, UnsignedNotice, swap

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
    if args.apply:
        return apply_only([SHARED / r["path"] for r in rows], args.apply)
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

            options = SwapOptions() if args.dynamic is None else SwapOptions(dynamic=args.dynamic)
            swap(src, video, Path(d) / "out.mp4", options, progress=progress)
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
                f"{1000 * _span(cpu_marks, 'landmarks') / n:.1f}, motion pass "
                f"{1000 * _span(cpu_marks, 'motion') / n:.1f}, swap pass {1000 * _span(cpu_marks, 'swap') / n:.1f})",
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
