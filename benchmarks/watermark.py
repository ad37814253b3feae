"""Robustness, false alarms and invisibility of mimica's watermark on real media from ../shared/data.

    PYTHONPATH=src python benchmarks/watermark.py [--videos 22] [--actors 3] [--images 20] [--null-photos 3000]
        [--null-videos -1] [--all-videos] [--height 480] [--lines 360] [--small-side 480] [--flat-rms 0.6]
        [--json out.json]

Videos: the first `--seconds` of real FF++ videos (with `--all-videos`: every video of the manifest, the
deepfakes too, which is what `mimica swap` output looks like) are marked frame by frame and encoded the way
`mimica swap` encodes (H.264 CRF 18), then attacked with the ffmpeg command-line tool (imageio-ffmpeg's
build): re-encoded at CRF 28; downscaled 0.5x; cropped 10% (5% off the top and bottom, 10% off the left); and
every sampled frame saved as JPEG quality 50; "all" is the four in a row. Detection uses the 32 frames
`mimica scan` samples.
Pictures: `--images` FairFace photos (224 px) and as many full-size video stills, same attacks, plus the edits
of `mimica.provenance.attacks.BEYOND` that the issue did not ask about (mirror, harder crops, rotation...). The summary
gives each detection rate with its Clopper-Pearson 95% lower bound: n tries cannot vouch for more.
False alarms: the test on unmarked originals (videos, stills, `--null-photos` FairFace photos and, with
`--null-videos`, the manifest's videos, real and deepfake: none of them carries mimica's mark).
Nothing is written outside a temporary folder; no media is kept.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import cv2
import imageio_ffmpeg
import numpy as np
from PIL import Image
from scipy.stats import beta

from mimica.media import sample_frames
from mimica.provenance import watermark
from mimica.provenance.attacks import BEYOND, combined, crop10, half, jpeg

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
FFMPEG = imageio_ffmpeg.get_ffmpeg_exe()
#: the video attacks as ffmpeg filters (None: re-encode only) and the CRF of the re-encode
HALF = "scale=trunc(iw/4)*2:trunc(ih/4)*2"
CROP = "crop=trunc(iw*0.45)*2:trunc(ih*0.45)*2:trunc(iw*0.05)*2:trunc(ih*0.025)*2"
VIDEO_ATTACKS = {
    "h264_crf28": (None, 28),
    "downscale_0.5x": (HALF, 23),
    "crop_10%": (CROP, 23),
    "all": (f"{HALF},{CROP}", 28),
}


def encode(frames, path: Path, crf: int, fps) -> None:
    with av.open(str(path), "w") as c:
        s = None
        for f in frames:
            if s is None:
                s = c.add_stream("libx264", rate=fps)
                s.height, s.width = f.shape[0] - f.shape[0] % 2, f.shape[1] - f.shape[1] % 2
                s.pix_fmt = "yuv420p"
                s.options = {"crf": str(crf), "preset": "veryfast"}
            f = np.ascontiguousarray(f[: s.height, : s.width])
            for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                c.mux(p)
        if s is not None:
            for p in s.encode():
                c.mux(p)


def ffmpeg_attack(src: Path, dst: Path, vf: str | None, crf: int) -> None:
    cmd = [FFMPEG, "-v", "error", "-y", "-i", str(src), *(["-vf", vf] if vf else [])]
    subprocess.run([*cmd, "-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-an", str(dst)], check=True)


def decode(path: Path, limit: int | None = None):
    with av.open(str(path)) as c:
        c.streams.video[0].thread_type = "AUTO"
        for f in itertools.islice(c.decode(video=0), limit):
            yield f.to_ndarray(format="rgb24")


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = float(np.mean((a.astype(np.float32) - b) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255**2 / mse)


def bench_videos(videos: list[Path], seconds: float, rows: dict, tmp: Path, lines: int | None = None) -> None:
    """lines: scale each video to this height before marking (sizes ../shared/data does not have)."""
    for v in videos:
        with av.open(str(v)) as c:
            fps = c.streams.video[0].average_rate or 25
        limit = int(float(fps) * seconds)
        t0 = time.perf_counter()
        ps: list[float] = []
        worst: list[float] = []

        def marked(v=v, limit=limit, ps=ps, worst=worst):
            for i, f in enumerate(decode(v, limit)):
                if lines:
                    width = round(f.shape[1] * lines / f.shape[0] / 2) * 2
                    f = cv2.resize(f, (width, lines), interpolation=cv2.INTER_AREA)
                m = watermark.embed(f)
                if i % 25 == 0:
                    ps.append(psnr(f, m))
                    worst.append(watermark.worst_patch_psnr(f, m))
                yield m

        ours = tmp / "ours.mp4"
        encode(marked(), ours, 18, fps)
        res = {"video": str(v.relative_to(SHARED)), "size": None, "psnr": float(np.mean(ps)),
               "patch_psnr": float(np.min(worst))}  # fmt: skip
        frames = [f.image for f in sample_frames(ours, 32)]
        res["size"] = f"{frames[0].shape[1]}x{frames[0].shape[0]}"
        res["marked"] = watermark.detect(frames).to_dict()
        res["jpeg50"] = watermark.detect([jpeg(f) for f in frames]).to_dict()
        for name, (vf, crf) in VIDEO_ATTACKS.items():
            ffmpeg_attack(ours, tmp / "a.mp4", vf, crf)
            sampled = [f.image for f in sample_frames(tmp / "a.mp4", 32)]
            if name == "all":
                sampled = [jpeg(f) for f in sampled]
            res[name] = watermark.detect(sampled).to_dict()
            res[name]["size"] = f"{sampled[0].shape[1]}x{sampled[0].shape[0]}"
        orig = [f.image for f in sample_frames(v, 32)]
        res["null"] = watermark.detect(orig).to_dict()
        rows.setdefault("videos", []).append(res)
        print(
            f"{res['video'][-48:]:48s} {res['size']:>9s} psnr {res['psnr']:.1f} (worst patch {res['patch_psnr']:.1f}) "
            + " ".join(f"{k}={res[k]['z']:.1f}" for k in ["marked", "jpeg50", *VIDEO_ATTACKS, "null"])
            + f"  ({time.perf_counter() - t0:.0f}s)",
            flush=True,
        )


def bench_pictures(pictures: list[tuple[str, np.ndarray]], rows: dict) -> None:
    attacks = {
        "marked": lambda x: x,
        "jpeg50": jpeg,
        "downscale_0.5x": half,
        "crop_10%": crop10,
        "all": combined,
        **BEYOND,
    }
    for name, img in pictures:
        m = watermark.embed(img)
        res = {"picture": name, "size": f"{img.shape[1]}x{img.shape[0]}", "psnr": psnr(img, m)}
        for a, fn in attacks.items():
            res[a] = watermark.detect(fn(m)).to_dict()
        res["null"] = watermark.detect(img).to_dict()
        rows.setdefault("pictures", []).append(res)


def bench_null(name: str, items: list[Path], load, rows: dict) -> None:
    """The test on unmarked media: how often it alarms, and whether its p-values are uniform as they should be."""
    if not items:
        return
    ps, alarms = [], []
    t = time.perf_counter()
    for p in items:
        d = watermark.detect(load(p))
        ps.append(d.p_value)
        if d.detected:
            alarms.append(str(p.relative_to(SHARED)))
    rows[name] = {
        "n": len(items),
        "alarms": alarms,
        "min_p": float(min(ps)),
        "median_p": float(np.median(ps)),
        "frac_p_below_0.01": float(np.mean(np.array(ps) < 0.01)),
        "ms_per_item": 1000 * (time.perf_counter() - t) / max(1, len(items)),
    }


def lower_bound(k: int, n: int) -> float:
    """Clopper-Pearson 95% lower bound of a detection rate seen k times in n: what n tries can vouch for."""
    return float(beta.ppf(0.025, k, n - k + 1)) if k else 0.0


def summary(rows: dict) -> str:
    lines = [f"P threshold {watermark.P_THRESHOLD:g}; strength {watermark.STRENGTH} (RMS levels)", ""]
    for group in ("videos", "pictures"):
        rs = rows.get(group, [])
        if not rs:
            continue
        keys = [k for k in rs[0] if isinstance(rs[0][k], dict) and k != "null"]
        lines.append(
            f"{group} (n={len(rs)}): PSNR mean {np.mean([r['psnr'] for r in rs]):.1f} dB, "
            f"min {np.min([r['psnr'] for r in rs]):.1f} dB"
            + (f"; worst 64-px patch {min(r['patch_psnr'] for r in rs):.1f} dB" if "patch_psnr" in rs[0] else "")
        )
        lines.append("| attack | detected | 95% lower bound | min z | median z |")
        lines.append("|---|---|---|---|---|")
        for k in keys:
            det = sum(r[k]["detected"] for r in rs)
            zs = [r[k]["z"] for r in rs]
            lines.append(
                f"| {k} | {det}/{len(rs)} | {lower_bound(det, len(rs)):.1%} | {min(zs):.1f} | {np.median(zs):.1f} |"
            )
        nz = [r["null"]["z"] for r in rs]
        lines.append(
            f"| unmarked (false alarms) | {sum(r['null']['detected'] for r in rs)}/{len(rs)} | - | "
            f"max z {max(nz):.1f} | {np.median(nz):.1f} |"
        )
        by_size: dict[str, list] = {}
        for r in rs:
            by_size.setdefault(r["size"], []).append(r)
        if group == "videos":
            lines.append("")
            lines.append(
                "all-combined attack by source size: "
                + ", ".join(f"{s}: {sum(r['all']['detected'] for r in g)}/{len(g)}" for s, g in sorted(by_size.items()))
            )
        lines.append("")
    for name, what in (("null_photos", "FairFace photos"), ("null_videos", "videos (32 frames each)")):
        if name in rows:
            n = rows[name]
            lines.append(
                f"unmarked {what}: {len(n['alarms'])} alarms in {n['n']}; smallest p {n['min_p']:.3g}; "
                f"median p {n['median_p']:.2f}; share with p < 0.01: {n['frac_p_below_0.01']:.4f}; "
                f"{n['ms_per_item']:.1f} ms each"
            )
    return "\n".join(lines)


def _picture(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--videos", type=int, default=22)
    ap.add_argument("--actors", type=int, default=3, help="also this many 1080p DeepFakeDetection actor videos")
    ap.add_argument("--all-videos", action="store_true", help="mark every video of the manifest, real and deepfake")
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--height", type=int, help="only the videos of this height (e.g. 480: the weakest case)")
    ap.add_argument("--lines", type=int, help="scale the videos to this many lines before marking (e.g. 360)")
    ap.add_argument("--small-side", type=int, help="override watermark.SMALL_SIDE (where the coarse grid starts)")
    ap.add_argument("--flat-rms", type=float, help="override watermark.FLAT_RMS (the mark's RMS in flat places)")
    ap.add_argument("--images", type=int, default=20)
    ap.add_argument("--null-photos", type=int, default=3000, help="unmarked FairFace photos to test (-1: all)")
    ap.add_argument("--null-videos", type=int, default=0, help="unmarked videos of the manifest to test (-1: all)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if args.small_side is not None:
        watermark.SMALL_SIDE = args.small_side
    if args.flat_rms is not None:
        watermark.FLAT_RMS = args.flat_rms
    if not (SHARED / "manifest.csv").is_file():
        print(f"{SHARED} is not present; this benchmark needs real media", file=sys.stderr)
        return 1
    yt = sorted((SHARED / "ffpp/original_sequences/youtube/c23/videos").glob("*.mp4"))
    actors = sorted((SHARED / "ffpp/original_sequences/actors/c40/videos").glob("*.mp4"))
    with open(SHARED / "manifest.csv", newline="") as f:
        every = sorted(SHARED / r["path"] for r in csv.DictReader(f) if r["path"].endswith(".mp4"))
    if args.height:
        with open(SHARED / "manifest.csv", newline="") as f:
            tall = {SHARED / r["path"] for r in csv.DictReader(f) if int(r["height"]) == args.height}
        yt, actors = [v for v in yt if v in tall], [v for v in actors if v in tall]
    videos = every if args.all_videos else yt[: args.videos] + actors[: args.actors]
    photos = sorted((SHARED / "faces/fairface/val").glob("*.jpg")) + sorted(
        (SHARED / "faces/fairface/train").glob("*.jpg")
    )
    rows: dict = {}
    pics = [(p.name, _picture(p)) for p in photos[: args.images]]
    hosts = every if args.all_videos else (yt + actors)[::2]
    stills = [(f"{v.name}@mid", [f.image for f in sample_frames(v, 1)][0]) for v in hosts[: args.images]]
    if pics or stills:
        bench_pictures(pics + stills, rows)
        print(summary({"pictures": rows["pictures"]}), flush=True)
    rest = photos[args.images :]
    bench_null("null_photos", rest if args.null_photos < 0 else rest[: args.null_photos], _picture, rows)
    if args.null_videos:
        pick = every if args.null_videos < 0 else every[: args.null_videos]
        bench_null("null_videos", pick, lambda v: [f.image for f in sample_frames(v, 32)], rows)
    if videos:
        with tempfile.TemporaryDirectory() as d:
            bench_videos(videos, args.seconds, rows, Path(d), args.lines)
    print(summary(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
