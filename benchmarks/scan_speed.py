"""Scan speed against the decode floor, per video of ../shared/data, measured side by side in one run.

    python benchmarks/scan_speed.py [--limit N] [--frames 32] [--clip 10] [--model NAME_OR_CARD ...] [--alone]

For each video: the time `ffmpeg -threads 2 -i X -f null -` needs to decode it (the floor), the time of
`Scanner.scan` (warm: model and detector loaded once), their ratio and the stage breakdown. With --clip S, each
video is first cut (stream copy, into a temp folder, never kept) to its first S seconds, so that "a 10 s 1080p
video" can be measured on the longer research clips. Each model runs with every other shipped detector (the default
scan); --alone adds, side by side, each model scanning alone, so the cost of the other detectors shows in one run.
Targets (issue 2): 10 s 1080p <= 2.5x floor and <= 3 s; 30 s 480p <= 1.5 s; with the generated-face detector
(issue 18): 10 s 1080p <= 3x floor.
"""

from __future__ import annotations

import argparse
import csv
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg

from mimica.models.registry import DEFAULT_MODEL
from mimica.scan import Scanner

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()


def decode_floor(path: Path) -> float:
    t = time.perf_counter()
    subprocess.run([FFMPEG, "-v", "error", "-threads", "2", "-i", str(path), "-f", "null", "-"], check=True)
    return time.perf_counter() - t


def clip(path: Path, seconds: float, folder: Path) -> Path:
    out = folder / f"{path.stem}.{seconds:g}s{path.suffix}"
    subprocess.run(
        [FFMPEG, "-v", "error", "-y", "-i", str(path), "-t", str(seconds), "-c", "copy", str(out)], check=True
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=0, help="at most this many videos (0: all)")
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--clip", type=float, default=0, help="cut each video to its first S seconds")
    ap.add_argument("--select", default="", help="only paths containing this text")
    ap.add_argument("--model", action="append", default=[],
                    help="model name or card path; give it twice to compare two models on the same files")
    ap.add_argument("--alone", action="store_true", help="also scan with each model alone (no other detector)")
    args = ap.parse_args()
    rows = list(csv.DictReader((SHARED / "manifest.csv").open()))
    rows = [r for r in rows if args.select in r["path"]]
    rows = sorted(rows, key=lambda r: (int(r["height"]), r["path"]), reverse=True)
    if args.limit:
        rows = rows[: args.limit]
    scanners = {}
    for m in args.model or [DEFAULT_MODEL]:
        full = Scanner(model=m, frames=args.frames, provenance=True)
        scanners[f"{Path(m).stem}+{len(full.detectors) - 1}"] = full
        if args.alone:
            scanners[f"{Path(m).stem} alone"] = Scanner(detectors=[m], frames=args.frames, provenance=True)
    for scanner in scanners.values():
        scanner.scan(SHARED / rows[0]["path"])  # warm-up: first inference allocates
    head = f"{'video':50s} {'detectors':>20s} {'res':>9s} {'dur':>5s} {'floor':>6s} {'scan':>6s} {'ratio':>6s}"
    print(head, " stages (s)")
    ratios: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for r in rows:
            path = SHARED / r["path"]
            if args.clip:
                path = clip(path, args.clip, Path(tmp))
            floor = decode_floor(path)
            for name, scanner in scanners.items():  # side by side: the same file, the same minute
                t = time.perf_counter()
                res = scanner.scan(path)
                took = time.perf_counter() - t
                dur = res.media.duration_s or 0
                key = f"{res.media.height}p {name}"
                ratios.setdefault(key, []).append(took / floor)
                stages = " ".join(f"{k}={v:.2f}" for k, v in res.timings_s.items() if k != "total")
                print(
                    f"{r['path'][-50:]:50s} {name[-20:]:>20s} {res.media.width}x{res.media.height:<4d} "
                    f"{dur:5.1f} {floor:6.2f} {took:6.2f} {took / floor:6.2f}  {stages}",
                    flush=True,
                )
    for key, vals in sorted(ratios.items()):
        print(f"{key}: {len(vals)} videos, scan/floor median {statistics.median(vals):.2f}, max {max(vals):.2f}")


if __name__ == "__main__":
    main()
