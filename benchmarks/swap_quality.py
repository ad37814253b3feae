"""How good `mimica swap` is, on pairs of different people from ../shared/data (issue 15).

    PYTHONPATH=src python benchmarks/swap_quality.py [--ffpp 12] [--fairface 12] [--videos 4] [--frames 100]
        [--fakes 12] [--reference N] [--identity 1.0] [--dynamic S] [--expression E] [--ceiling] [--where]
        [--self-swap] [--show DIR] [--json out.json]

Needs the [bench] extra (dlib's face-recognition ResNet: `pip install dlib-bin==20.0.1.post1
face-recognition-models==0.3.0`; CC0 weights, kept out of mimica's runtime dependencies).
- Pairs: `--ffpp` FF++ c23 YouTube videos (source: the middle frame of video i, target: a frame at 1/3 of video
  i+1; every video is a different person) and `--fairface` FairFace validation photos (consecutive photos).
- Identity: dlib's 128-d descriptor (150-px chip aligned on FaceMesh's eye corners and nose base, dlib's 5-point
  template) of the output against the source's and the target's; a pair passes when the output is within 0.6
  of the source (dlib's same-person threshold) and closer to it than to the target.
- Colour across the seam: along the target's face outline, CIEDE2000 between the output's skin just inside the
  blend band and just outside it (the target's own skin), median over the outline; the target's own
  difference between the same places is printed beside it (a face is not one colour).
- Greyscale: every target turned grey and swapped again; the 99.5th percentile of the per-pixel colour spread
  (max - min of R, G, B) of the output.
- Watermark: the worst 64-px window's PSNR of the marked output against the unmarked one.
- Expression, on `--videos` video pairs (`--frames` frames each): FaceMesh's eye and mouth openings of every
  output frame against the target frame's; Pearson correlation per video; beside it, the landmark jitter of
  output and target (steadiness: mean |second difference| of FaceMesh's points, thousandths of the face size).
  `--ceiling`: the same measure of the target against a re-encode of itself and against the smoothed landmarks
  the swap draws on (how much of the loss is FaceMesh's own jitter); `--self-swap`: each target's own middle
  frame as the source; `--where`: the output with one region of the target's frame pasted back (lips, lower
  face, eyes and brows, upper face with and without them; windows on the eyes and/or the mouth, WINDOWS wide),
  read the same way, with each version's identity (dlib, 5 frames): where FaceMesh takes an opening from, and
  the most a refiner of the eyes and the mouth could give (the target's own look there) at what identity.
- Expression against FF++ (`--reference N`, 0 = off): FF++'s Deepfakes (an autoencoder trained per pair),
  FaceSwap (a graphics swap) and Face2Face (reenactment: the source's expression on the target, so its r should
  be near 0, which shows the measure can fail) c23 fakes, each against its original target video, and mimica's
  swap of the same source person (the middle frame of the source's original) onto the same target: the same
  Pearson r of the first `--frames` frames, per pair and paired (median difference, wins, Wilcoxon signed-rank).
  Identity on five frames of each (dlib, as above, against the source frame mimica was given): the share of
  frames that pass. Pairs whose source original is not in ../shared are skipped.
- Blend detector: `mimica scan --no-provenance` probability of the swapped videos against FF++ FaceSwap c23
  fakes (`--fakes` of them); medians.
Nothing is written outside a temporary folder, except the side-by-sides of `--show` (which then hold frames of
../shared/data: keep them out of the repository).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from functools import partial
from importlib.util import find_spec
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray
from PIL import Image

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
YOUTUBE = SHARED / "ffpp/original_sequences/youtube/c23/videos"
MANIPULATED = SHARED / "ffpp/manipulated_sequences"
FACESWAP = MANIPULATED / "FaceSwap/c23/videos"
#: FF++'s own swaps and reenactment, measured for expression on the same target videos as mimica's
REFERENCES = ("Deepfakes", "FaceSwap", "Face2Face")
FAIRFACE = SHARED / "faces/fairface/val"
SAME_PERSON = 0.6


class Identity:
    """dlib's face-recognition ResNet on FaceMesh-aligned chips."""

    def __init__(self) -> None:
        import dlib

        spec = find_spec("face_recognition_models")
        if spec is None or not spec.submodule_search_locations:
            raise SystemExit("needs face-recognition-models (pip install face-recognition-models==0.3.0)")
        model = Path(next(iter(spec.submodule_search_locations))) / "models/dlib_face_recognition_resnet_model_v1.dat"
        self.dlib = dlib
        self.net = dlib.face_recognition_model_v1(str(model))

    def descriptor(self, image: NDArray[np.uint8], mesh: NDArray[np.float32]) -> NDArray[np.float64]:
        d = self.dlib
        # dlib's 5-point order: image-right eye outer, inner; image-left eye outer, inner; base of the nose
        pts = [mesh[i] for i in (263, 362, 33, 133, 2)]
        lo, hi = mesh.min(0), mesh.max(0)
        rect = d.rectangle(int(lo[0]), int(lo[1]), int(hi[0]), int(hi[1]))
        det = d.full_object_detection(rect, [d.point(int(round(x)), int(round(y))) for x, y in pts])
        chip = d.get_face_chip(np.ascontiguousarray(image), det, size=150, padding=0.25)
        return np.asarray(self.net.compute_face_descriptor(chip), np.float64)


def swap_options(args):
    """The swap's options this run measures (--identity, --dynamic, --expression; the rest as shipped)."""
    from mimica.swap import SwapOptions

    return SwapOptions(identity=args.identity, dynamic=args.dynamic, expression=args.expression)


def largest_mesh(detector, image: NDArray[np.uint8]) -> NDArray[np.float32] | None:
    faces = detector.detect(image)
    return None if len(faces) == 0 else faces.mesh[int(np.argmax(faces.area))]


def frame_at(video: Path, where: float) -> NDArray[np.uint8]:
    import av

    with av.open(str(video)) as c:
        n = c.streams.video[0].frames or 300
        for i, f in enumerate(c.decode(video=0)):
            if i >= int(n * where):
                return f.to_ndarray(format="rgb24")
    raise SystemExit(f"{video}: too short")


def seam_delta_e(out: NDArray[np.uint8], target: NDArray[np.uint8], mesh: NDArray[np.float32]) -> tuple[float, float]:
    """(output, target) median CIEDE2000 between the skin just inside the blend band and just outside it."""
    from skimage.color import deltaE_ciede2000, rgb2lab

    from mimica.swap.core import SwapOptions, _lower_forehead

    o = SwapOptions()
    outline = _lower_forehead(mesh)
    size = float(np.ptp(mesh, axis=0).max())
    centre = mesh.mean(0)
    inside = o.erode + o.feather * 1.5 + 0.03
    lab_o, lab_t = rgb2lab(out), rgb2lab(target)
    h, w = out.shape[:2]
    r = max(1, int(0.015 * size))

    def patch(lab, p):
        x, y = int(round(p[0])), int(round(p[1]))
        if not (r <= x < w - r and r <= y < h - r):
            return None
        return lab[y - r : y + r + 1, x - r : x + r + 1].reshape(-1, 3).mean(0)

    do, dt = [], []
    for v in outline:
        n = (centre - v) / max(float(np.linalg.norm(centre - v)), 1e-6)
        a, b = v + n * inside * size, v + n * 0.01 * size
        pa_t, pb_t, pa_o, pb_o = patch(lab_t, a), patch(lab_t, b), patch(lab_o, a), patch(lab_o, b)
        if any(p is None for p in (pa_t, pb_t, pa_o, pb_o)):
            continue
        base = float(deltaE_ciede2000(pa_t, pb_t))
        if base > 12:  # not skin on both sides in the target (hair, background): no seam to judge there
            continue
        do.append(float(deltaE_ciede2000(pa_o, pb_o)))
        dt.append(base)
    return (float(np.median(do)), float(np.median(dt))) if do else (float("nan"), float("nan"))


def pairs_from(args) -> list[tuple[str, NDArray[np.uint8], NDArray[np.uint8]]]:
    out = []
    vids = sorted(YOUTUBE.glob("*.mp4"))
    for a, b in zip(vids[: args.ffpp], vids[1 : args.ffpp + 1], strict=False):
        out.append((f"ffpp {a.stem}->{b.stem}", frame_at(a, 0.5), frame_at(b, 0.33)))
    photos = sorted(FAIRFACE.glob("*.jpg"), key=lambda p: int(p.stem))
    for a, b in list(zip(photos[0::2], photos[1::2], strict=False))[: args.fairface]:
        out.append((f"fairface {a.stem}->{b.stem}", np.asarray(Image.open(a).convert("RGB")),
                    np.asarray(Image.open(b).convert("RGB"))))  # fmt: skip
    return out


def bench_pictures(args, ident: Identity, rows: dict, show: Path | None) -> None:
    from mimica.faces import create_detector
    from mimica.provenance import watermark
    from mimica.swap import FaceSwapper, SourceFace, SwapOptions
    from mimica.swap.blend import colour_spread

    det = create_detector("mediapipe")
    options = SwapOptions(identity=args.identity)
    for name, src, tgt in pairs_from(args):
        ms, mt = largest_mesh(det, src), largest_mesh(det, tgt)
        if ms is None or mt is None:
            print(f"{name}: no face, skipped", flush=True)
            continue
        t0 = time.perf_counter()
        swapper = FaceSwapper(SourceFace.from_image(src, det), options)
        out = swapper.apply(tgt, mt)
        took = time.perf_counter() - t0
        mo = largest_mesh(det, out)
        if mo is None:
            print(f"{name}: no face found in the output", flush=True)
            rows.setdefault("pictures", []).append({"pair": name, "found": False})
            continue
        es, et, eo = ident.descriptor(src, ms), ident.descriptor(tgt, mt), ident.descriptor(out, mo)
        d_src, d_tgt = float(np.linalg.norm(eo - es)), float(np.linalg.norm(eo - et))
        seam, seam_t = seam_delta_e(out, tgt, mt)
        grey_t = np.repeat(cv2.cvtColor(tgt, cv2.COLOR_RGB2GRAY)[..., None], 3, axis=2)
        grey_o = FaceSwapper(swapper.source, options).apply(grey_t, mt)
        spread = float(np.percentile(colour_spread(grey_o), 99.5))
        patch = watermark.worst_patch_psnr(out, watermark.embed(out))
        r = {
            "pair": name, "found": True, "to_source": d_src, "to_target": d_tgt,
            "source_target": float(np.linalg.norm(es - et)),
            "passes": bool(d_src < SAME_PERSON and d_src < d_tgt),
            "seam_de": seam, "target_de": seam_t, "grey_spread": spread, "patch_psnr": patch, "seconds": took,
        }  # fmt: skip
        rows.setdefault("pictures", []).append(r)
        print(
            f"{name:28s} to source {d_src:.3f} to target {d_tgt:.3f} (pair {r['source_target']:.3f}) "
            f"{'ok ' if r['passes'] else 'NO '} seam dE {seam:.1f} (target {seam_t:.1f}) grey {spread:.1f} "
            f"wm patch {patch:.1f} dB  {took:.2f}s",
            flush=True,
        )
        if show:
            side = [cv2.resize(x, (256, int(256 * x.shape[0] / x.shape[1]))) for x in (src, tgt, out)]
            hh = max(s.shape[0] for s in side)
            strip = np.concatenate([np.pad(s, ((0, hh - s.shape[0]), (0, 0), (0, 0))) for s in side], axis=1)
            Image.fromarray(strip).save(show / f"{name.replace(' ', '_').replace('->', '_to_')}.png")


def decoded(video: Path, limit: int):
    import av

    with av.open(str(video)) as c:
        for i, f in enumerate(c.decode(video=0)):
            if i >= limit:
                break
            yield f.to_ndarray(format="rgb24")


def meshes_of(frames) -> list[NDArray[np.float32] | None]:
    """FaceMesh in video mode over the frames, the largest face of each."""
    from mimica.swap.core import VideoLandmarker

    lm = VideoLandmarker(max_faces=1)
    out: list[NDArray[np.float32] | None] = []
    try:
        for f in frames:
            faces = lm.detect(f)
            out.append(faces.mesh[int(np.argmax(faces.area))] if len(faces) else None)
    finally:
        lm.close()
    return out


def openings_of(video: Path | list, limit: int) -> list[NDArray[np.float32] | None]:
    from mimica.swap.regions import openings

    frames = decoded(video, limit) if isinstance(video, Path) else video[:limit]
    return [None if m is None else openings(m) for m in meshes_of(frames)]


#: sizes of the feature windows `--where` pastes from the target (multiples of each feature's corner distance):
#: what a refiner of the eye and mouth regions (a learned one, say) could give at best is the target's own look
#: there, and how much of the target's identity comes with it
WINDOWS = (2.4, 3.6)
#: the windows: each eye's corners and the mouth's, the eyes' centre raised by a quarter of their width (over the
#: lid and its crease), the mouth's window three quarters as wide (a mouth is wider than an eye)
_FEATURE_CORNERS = {
    "eye": ((33, 133, 0.25, 1.0), (362, 263, 0.25, 1.0)),
    "mouth": ((61, 291, 0.0, 0.75),),
}


def feature_windows(m: NDArray[np.float32], shape, k: float, features=("eye", "mouth")) -> NDArray[np.float32]:
    """Discs on the eyes and/or the mouth, `k` corner distances across, 1 inside fading to 0 over their outer
    third."""
    h, w = shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    out = np.zeros((h, w), np.float32)
    for a, b, up, scale in (c for f in features for c in _FEATURE_CORNERS[f]):
        d = m[b] - m[a]
        width = float(np.hypot(*d))
        down = np.array([-d[1], d[0]]) / max(width, 1e-6)  # image down for an upright face (a, b left to right)
        cx, cy = (m[a] + m[b]) / 2 - up * width * down
        r = np.hypot(xx - cx, yy - cy) / max(k * scale * width / 2, 1.0)
        out = np.maximum(out, np.clip((1.0 - r) / 0.35, 0.0, 1.0))
    return out


def where_read(
    target: Path, output: Path, frames: int, identity: Callable[[list, list], dict] | None = None
) -> dict[str, dict[str, float]]:
    """Where FaceMesh reads the openings from: the output with one region of the target's own frame pasted in
    (by the target's landmarks, softened by 1% of the face size), each read against the target; `identity`
    (`video_identity` bound to the source: the `sampled` target and output frames -> figures) says how much the
    output still looks like the source then."""
    from mimica.faces.landmarks import FACE_OVAL
    from mimica.swap.regions import LEFT_BROW, LEFT_EYE, OUTER_LIPS, RIGHT_BROW, RIGHT_EYE, fill_loops, openings

    tgt, out = list(decoded(target, frames)), list(decoded(output, frames))
    meshes = meshes_of(tgt)
    a = [None if m is None else openings(m) for m in meshes]

    def region(m: NDArray[np.float32], shape, name: str) -> NDArray[np.float32]:
        size = float(np.ptp(m, axis=0).max())
        grown = lambda r, g: cv2.dilate(r, np.ones((max(1, int(g * size)),) * 2, np.uint8))  # noqa: E731
        face = fill_loops(shape, m, (FACE_OVAL,))
        eyes = fill_loops(shape, m, (RIGHT_EYE, LEFT_EYE, RIGHT_BROW, LEFT_BROW))
        nose = int(m[1, 1])  # the nose tip's row
        if "window" in name:  # "eye windows 2.4", "mouth window 2.4", "eye and mouth windows 2.4"
            return feature_windows(m, shape, float(name.split()[-1]), [f for f in _FEATURE_CORNERS if f in name])[
                ..., None
            ]
        if name == "lips":
            r = grown(fill_loops(shape, m, (OUTER_LIPS,)), 0.04)
        elif name == "eyes and brows":
            r = grown(eyes, 0.04)
        elif name == "lower face":
            r = face.copy()
            r[:nose] = 0
        elif name == "upper face":
            r = face.copy()
            r[nose:] = 0
        else:  # the upper face without its eyes and brows
            r = face.copy()
            r[nose:] = 0
            r = np.clip(r - grown(eyes, 0.06), 0, 1)
        return cv2.GaussianBlur(r, (0, 0), max(1.0, 0.01 * size))[..., None]

    res = {}
    names = ["lips", "lower face", "eyes and brows", "upper face without eyes and brows", "upper face"]
    names += [f"{f} {k}" for k in WINDOWS for f in ("eye windows", "mouth window", "eye and mouth windows")]
    for name in names:
        mixed = []
        for t, o, m in zip(tgt, out, meshes, strict=False):
            w = None if m is None else region(m, t.shape, name)
            mixed.append(o if w is None else (w * t + (1 - w) * o).astype(np.uint8))
        res[name] = correlations(a, openings_of(mixed, frames))
        if identity is not None:
            res[name] |= identity([tgt[i] for i in sampled(frames)], [mixed[i] for i in sampled(frames)])
    return res


def correlations(a: list, b: list) -> dict[str, float]:
    """Pearson r of the mouth and the mean eye opening over the frames where both series have a face, with the
    first series' SD (how much there is to follow)."""
    ok = [i for i in range(min(len(a), len(b))) if a[i] is not None and b[i] is not None]
    ta, tb = np.array([a[i] for i in ok]), np.array([b[i] for i in ok])
    corr: dict[str, float] = {"frames": len(ok)}
    for j, part in ((2, "mouth"), (slice(0, 2), "eyes")):
        x, y = ta[:, j], tb[:, j]
        if x.ndim > 1:
            x, y = x.mean(1), y.mean(1)
        corr[part] = float(np.corrcoef(x, y)[0, 1]) if x.std() > 1e-6 and y.std() > 1e-6 else float("nan")
        corr[part + "_target_sd"] = float(x.std())
    return corr


def reencode(src: Path, dst: Path, frames: int) -> None:
    """The first `frames` frames of src as mimica's writer encodes them (H.264 CRF 18, veryfast, yuv420p)."""
    import subprocess

    import imageio_ffmpeg

    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(src), "-frames:v", str(frames), "-c:v",
         "libx264", "-crf", "18", "-preset", "veryfast", "-pix_fmt", "yuv420p", "-an", str(dst)],
        check=True,
    )  # fmt: skip


def expression_ceiling(target: Path, a: list, frames: int, tmp: Path) -> dict[str, dict[str, float]]:
    """How well the measure can do at all on this clip: the target's openings against (1) those FaceMesh reads
    from a re-encode of the target (its own jitter under the encoder's noise; a perfect swap can do no better)
    and (2) the openings of the smoothed landmarks the swap draws on (what its filters keep)."""
    import av

    from mimica.swap import SwapOptions
    from mimica.swap.core import select_tracks, smooth_tracks, track_video
    from mimica.swap.regions import openings

    again = tmp / f"again_{target.stem}.mp4"
    reencode(target, again, frames)
    out = {"reencode": correlations(a, openings_of(again, frames))}
    options = SwapOptions()
    ff, times, n = track_video(target, max_frames=frames)
    tid = select_tracks(ff, options)[0]
    with av.open(str(target)) as c:
        fps = float(c.streams.video[0].average_rate or 25)
    smooth = smooth_tracks(ff, times, [tid], options, fps)[tid]
    out["smoothed"] = correlations(a, [openings(smooth[i]) if i in smooth else None for i in range(n)])
    return out


def jitter(meshes: list) -> float:
    """How much FaceMesh's landmarks shake: mean |second difference| over consecutive frames with a face, in
    thousandths of the face size (a steady swap shakes no more than its target)."""
    runs = [np.asarray(m, np.float64) for m in meshes if m is not None]
    if len(runs) < 3:
        return float("nan")
    a = np.stack(runs)
    return float(np.abs(a[2:] - 2 * a[1:-1] + a[:-2]).mean() / np.ptp(a[0], axis=0).max() * 1000)


def video_pairs(n: int) -> list[tuple[Path, Path]]:
    """The expression benchmark's (source, target) videos: the k-th last FF++ YouTube video onto the k-th."""
    vids = sorted(YOUTUBE.glob("*.mp4"))
    return [(vids[-1 - k], vids[k]) for k in range(min(n, len(vids) // 2))]


def sampled(frames: int) -> list[int]:
    """The frames identity is measured on in a video of `frames` frames."""
    return [int(frames * q) for q in (0.1, 0.3, 0.5, 0.7, 0.9)]


def source_descriptor(ident: Identity, det, source: NDArray[np.uint8]) -> NDArray[np.float64] | None:
    """dlib's descriptor of the source picture's largest face (None: no face)."""
    mesh = largest_mesh(det, source)
    return None if mesh is None else ident.descriptor(source, mesh)


def bench_videos(args, ident: Identity, rows: dict, tmp: Path) -> list[Path]:
    from mimica.faces import create_detector
    from mimica.swap import Marking, SourceFace
    from mimica.swap import swap_video as swap_video_fn
    from mimica.swap.regions import openings

    made = []
    for src_v, tgt_v in video_pairs(args.videos):
        out = tmp / f"swap_{tgt_v.stem}.mp4"
        t0 = time.perf_counter()
        if args.self_swap:  # the target's own face: what a swap loses of expression when identity is no excuse
            src_v = tgt_v
        src = frame_at(src_v, 0.5)
        face = SourceFace.from_image(src)
        swap_video_fn(face, tgt_v, out, swap_options(args), Marking(), max_frames=args.frames)
        took = time.perf_counter() - t0
        mt, mo = meshes_of(decoded(tgt_v, args.frames)), meshes_of(decoded(out, args.frames))
        a = [None if m is None else openings(m) for m in mt]
        corr = correlations(a, [None if m is None else openings(m) for m in mo])
        r = {"video": f"{src_v.stem}->{tgt_v.stem}", **corr, "seconds": took, "jitter": [jitter(mt), jitter(mo)]}
        line = ""
        if args.ceiling:
            ceil = expression_ceiling(tgt_v, a, args.frames, tmp)
            r["ceiling"] = ceil
            line = "; ceiling: " + ", ".join(
                f"{k} mouth {c['mouth']:.3f} eyes {c['eyes']:.3f}" for k, c in ceil.items()
            )
        if args.where:
            det = create_detector("mediapipe")
            es = source_descriptor(ident, det, src)
            identity = None if es is None else partial(video_identity, ident, det, es)
            if identity is not None:
                r |= identity(frames_of(tgt_v, sampled(args.frames)), frames_of(out, sampled(args.frames)))
            r["where"] = where_read(tgt_v, out, args.frames, identity)
            line += f"; identity {r.get('identity', float('nan')):.1f}; with the target's own " + ", ".join(
                f"{k}: mouth {c['mouth']:.3f} eyes {c['eyes']:.3f} identity {c.get('identity', float('nan')):.1f}"
                for k, c in r["where"].items()
            )
        rows.setdefault("videos", []).append(r)
        print(
            f"video {r['video']}: {corr['frames']} frames, mouth r {corr['mouth']:.3f} "
            f"(target SD {corr['mouth_target_sd']:.3f}), eyes r {corr['eyes']:.3f} "
            f"(target SD {corr['eyes_target_sd']:.3f}), landmark jitter {r['jitter'][1]:.2f} (target "
            f"{r['jitter'][0]:.2f})  {took:.1f}s{line}",
            flush=True,
        )
        made.append(out)
    return made


def reference_pairs(limit: int) -> list[tuple[str, str]]:
    """(target, source) ids of FF++'s fakes of REFERENCES whose target and source originals are both here."""
    pairs = set()
    for method in REFERENCES:
        for v in (MANIPULATED / method / "c23/videos").glob("*.mp4"):
            target, source = v.stem.split("_")[:2]
            if (YOUTUBE / f"{target}.mp4").is_file() and (YOUTUBE / f"{source}.mp4").is_file():
                pairs.add((target, source))
    return sorted(pairs)[:limit]


def frames_of(video: Path, indices: list[int]) -> list[NDArray[np.uint8]]:
    want = set(indices)
    return [f for i, f in enumerate(decoded(video, max(indices) + 1)) if i in want]


def video_identity(ident: Identity, det, source: NDArray[np.float64], target: list, output: list):
    """Share of the sampled `output` frames within SAME_PERSON of the source's descriptor and closer to it than
    to the `target`'s same frame, and the median distance to the source."""
    passes, dist = [], []
    for t, o in zip(target, output, strict=False):
        mt, mo = largest_mesh(det, t), largest_mesh(det, o)
        if mt is None or mo is None:
            continue
        eo = ident.descriptor(o, mo)
        d_src, d_tgt = float(np.linalg.norm(eo - source)), float(np.linalg.norm(eo - ident.descriptor(t, mt)))
        passes.append(d_src < SAME_PERSON and d_src < d_tgt)
        dist.append(d_src)
    return {"identity": float(np.mean(passes)) if passes else float("nan"),
            "to_source": float(np.median(dist)) if dist else float("nan")}  # fmt: skip


def bench_reference(args, ident: Identity, rows: dict, tmp: Path) -> None:
    """mimica's swap and FF++'s methods on the same targets and source people: expression r of each, and
    identity on five frames of each (dlib, as for the pictures)."""
    from mimica.faces import create_detector
    from mimica.swap import Marking, SourceFace
    from mimica.swap import swap_video as swap_video_fn

    det = create_detector("mediapipe")
    options = swap_options(args)
    at = sampled(args.frames)
    for target, source in reference_pairs(args.reference):
        tgt_v = YOUTUBE / f"{target}.mp4"
        a = openings_of(tgt_v, args.frames)
        tgt_frames = frames_of(tgt_v, at)
        src = frame_at(YOUTUBE / f"{source}.mp4", 0.5)
        es = source_descriptor(ident, det, src)
        if es is None:
            print(f"reference {target}_{source}: no face in the source frame, skipped", flush=True)
            continue
        out = tmp / f"ref_{target}_{source}.mp4"
        swap_video_fn(SourceFace.from_image(src, det), tgt_v, out, options, Marking(), max_frames=args.frames)
        videos = {"mimica": out} | {m: MANIPULATED / m / f"c23/videos/{target}_{source}.mp4" for m in REFERENCES}
        r: dict = {"pair": f"{target}_{source}"}
        for name, v in videos.items():
            if v.is_file():
                r[name] = correlations(a, openings_of(v, args.frames)) | video_identity(
                    ident, det, es, tgt_frames, frames_of(v, at)
                )
        out.unlink()
        rows.setdefault("reference", []).append(r)
        print(
            f"reference {r['pair']} (target SD mouth {r['mimica']['mouth_target_sd']:.3f}, eyes "
            f"{r['mimica']['eyes_target_sd']:.3f}): "
            + "; ".join(
                f"{k} mouth {c['mouth']:.3f} eyes {c['eyes']:.3f} identity {c['identity']:.1f} ({c['to_source']:.2f})"
                for k, c in r.items()
                if k != "pair"
            ),
            flush=True,
        )


def reference_summary(refs: list[dict]) -> list[str]:
    """Per method and measure: medians over the pairs both have, mimica's paired wins and a Wilcoxon p."""
    from scipy.stats import wilcoxon

    lines = []
    for method in ("mimica", *REFERENCES):
        ids = [r[method] for r in refs if method in r]
        if ids:
            lines.append(
                f"identity on video, {method}: {np.nanmean([x['identity'] for x in ids]):.0%} of the sampled frames "
                f"of {len(ids)} pairs as the source (median distance {np.nanmedian([x['to_source'] for x in ids]):.3f})"
            )
    for part in ("mouth", "eyes"):
        ours = [r["mimica"][part] for r in refs]
        lines.append(
            f"expression vs FF++, {part}: mimica median {np.nanmedian(ours):.3f} over {len(ours)} pairs, "
            f"{sum(x >= 0.9 for x in ours)} at or above 0.9"
        )
        for method in REFERENCES:
            both = [(r["mimica"][part], r[method][part]) for r in refs if method in r]
            both = [(x, y) for x, y in both if np.isfinite(x) and np.isfinite(y)]
            if not both:
                continue
            x, y = np.array(both).T
            p = float(wilcoxon(x, y).pvalue) if len(both) > 1 and np.any(x != y) else float("nan")
            lines.append(
                f"  vs {method} ({len(both)} pairs): median {np.median(y):.3f} (mimica {np.median(x):.3f}), "
                f"mimica higher in {int((x > y).sum())}, median difference {np.median(x - y):+.3f}, "
                f"Wilcoxon p {p:.3g}"
            )
    return lines


def bench_detector(args, ours: list[Path], rows: dict, tmp: Path) -> None:
    from mimica.scan import Scanner

    scanner = Scanner(provenance=False)
    fakes = sorted(FACESWAP.glob("*.mp4"))[: args.fakes]
    ffpp = [p for p in (scanner.scan(f).probability for f in fakes) if p is not None]
    # the same frame count as our swaps, so the two are scored on like material
    ffpp_cut = []
    for f in fakes:
        cut = tmp / f"cut_{f.stem}.mp4"
        _cut(f, cut, args.frames)
        p = scanner.scan(cut).probability
        if p is not None:
            ffpp_cut.append(p)
    mine = [p for p in (scanner.scan(v).probability for v in ours) if p is not None]
    rows["detector"] = {"faceswap_c23": ffpp, "faceswap_c23_cut": ffpp_cut, "mimica": mine}
    print(
        f"blend detector (--no-provenance): mimica swaps median {np.median(mine):.3f} (n={len(mine)}); "
        f"FF++ FaceSwap c23 median {np.median(ffpp):.3f} (n={len(ffpp)}), first {args.frames} frames "
        f"{np.median(ffpp_cut):.3f}",
        flush=True,
    )


def _cut(src: Path, dst: Path, frames: int) -> None:
    import subprocess

    import imageio_ffmpeg

    subprocess.run(
        [imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(src), "-frames:v", str(frames), "-c", "copy",
         "-an", str(dst)],
        check=True,
    )  # fmt: skip


def summary(rows: dict) -> str:
    lines = []
    ps = [r for r in rows.get("pictures", []) if r.get("found")]
    if ps:
        n = len(rows["pictures"])
        ok = sum(r["passes"] for r in ps)
        med = {k: float(np.median([r[k] for r in ps])) for k in ("to_source", "to_target", "source_target")}
        lines.append(
            f"identity: {ok}/{n} pairs within {SAME_PERSON} of the source and closer to it than to the target "
            f"(median distance to source {med['to_source']:.3f}, to target {med['to_target']:.3f}; "
            f"source to target {med['source_target']:.3f})"
        )
        for group in ("ffpp", "fairface"):
            g = [r for r in ps if r["pair"].startswith(group)]
            total = sum(1 for r in rows["pictures"] if r["pair"].startswith(group))
            if g:
                lines.append(f"  {group}: {sum(r['passes'] for r in g)}/{total}")
        seam = [r["seam_de"] for r in ps]
        lines.append(
            f"seam colour: median CIEDE2000 across the band {np.nanmedian(seam):.2f} (target's own "
            f"{np.nanmedian([r['target_de'] for r in ps]):.2f}), worst pair {np.nanmax(seam):.2f}"
        )
        lines.append(
            f"greyscale: 99.5th percentile of colour spread, worst pair {max(r['grey_spread'] for r in ps):.1f} levels"
        )
        lines.append(f"watermark: worst 64-px patch PSNR {min(r['patch_psnr'] for r in ps):.2f} dB")
        took = float(np.median([r["seconds"] for r in ps]))
        lines.append(f"swap time per picture: median {took:.2f} s (source preparation included)")
    vs = rows.get("videos", [])
    if vs:
        lines.append(
            "expression (Pearson r, output vs target openings): mouth "
            + ", ".join(f"{r['mouth']:.3f}" for r in vs)
            + f" (min {min(r['mouth'] for r in vs):.3f}); eyes "
            + ", ".join(f"{r['eyes']:.3f}" for r in vs)
            + f"; {sum(r[p] >= 0.9 for r in vs for p in ('mouth', 'eyes'))} of {2 * len(vs)} at or above 0.9"
        )
        lines.append(
            "landmark jitter (thousandths of the face size), output / target: "
            + ", ".join(f"{r['jitter'][1]:.2f} / {r['jitter'][0]:.2f}" for r in vs)
        )
    if rows.get("reference"):
        lines += reference_summary(rows["reference"])
    if "detector" in rows:
        d = rows["detector"]
        lines.append(
            f"blend detector median: mimica {np.median(d['mimica']):.3f} vs FF++ FaceSwap c23 "
            f"{np.median(d['faceswap_c23']):.3f} (cut to the same length: {np.median(d['faceswap_c23_cut']):.3f})"
        )
    return "\n".join(lines)


def main() -> int:
    from mimica.swap import SwapOptions

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ffpp", type=int, default=12)
    ap.add_argument("--fairface", type=int, default=12)
    ap.add_argument("--videos", type=int, default=4)
    ap.add_argument("--frames", type=int, default=100)
    ap.add_argument("--fakes", type=int, default=12)
    ap.add_argument(
        "--reference", type=int, default=0, help="expression of FF++'s own fakes and mimica's on up to N FF++ pairs"
    )
    ap.add_argument(
        "--ceiling",
        action="store_true",
        help="also the expression measure's ceiling: the target against a re-encode of itself and "
        "against its smoothed landmarks",
    )
    ap.add_argument(
        "--where",
        action="store_true",
        help="videos: also the output with one region of the target pasted back (where FaceMesh reads openings)",
    )
    ap.add_argument(
        "--self-swap",
        action="store_true",
        help="videos: swap each target's own middle frame onto it (the expression a swap keeps at best)",
    )
    ap.add_argument("--identity", type=float, default=1.0, help="SwapOptions.identity (0: the old texture-only swap)")
    ap.add_argument(
        "--dynamic",
        type=float,
        default=SwapOptions().dynamic,
        help="SwapOptions.dynamic: how much of the target's changing look the swapped skin takes (0: none)",
    )
    ap.add_argument(
        "--expression",
        type=float,
        default=SwapOptions().expression,
        help="SwapOptions.expression: how much the source's shape moves with the target's (0: only eyes and lips)",
    )
    ap.add_argument("--show", type=Path, help="write source | target | output strips here (frames of ../shared!)")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if not YOUTUBE.is_dir():
        print(f"{SHARED} is not present; this benchmark needs real media", file=sys.stderr)
        return 1
    warnings.simplefilter("ignore")
    ident = Identity()
    rows: dict = {}
    if args.show:
        args.show.mkdir(parents=True, exist_ok=True)
    if args.ffpp or args.fairface:
        bench_pictures(args, ident, rows, args.show)
    with tempfile.TemporaryDirectory() as d:
        ours = bench_videos(args, ident, rows, Path(d)) if args.videos else []
        if ours and args.fakes:
            bench_detector(args, ours, rows, Path(d))
        if args.reference:
            bench_reference(args, ident, rows, Path(d))
    print(summary(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
