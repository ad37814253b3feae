"""The face stage of a scan: media -> sampled frames -> faces -> tracks -> aligned crops, decoded once.

Every detector of a scan reads what it needs from one `Collected`: aligned crops in its own recipe (size,
margin), the faces' dense landmarks and boxes over time, and small grey copies of the sampled frames for cues
outside the face (a background that never moves). Training of the detectors collects through the same function,
so what a detector learns from is exactly what the scan gives it.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from mimica.align import AlignRecipe, crop_faces, transform_points
from mimica.faces import FaceDetector, IoUTracker
from mimica.media import DecodeStats, MediaInfo, probe, sample_frames
from mimica.media.prefetch import prefetch

#: progress(stage, done, total): stages are "frames" (total = frames to sample) and "done"
Progress = Callable[[str, int, int], None]

#: longest side of the grey copy of each sampled frame that frame-level cues (background motion) read
GREY_SIDE = 192


@dataclass
class TrackData:
    """One face over the sampled frames, in order: where it was and how it looked to each detector."""

    id: int
    slots: list[int] = field(default_factory=list)  # index of each face's frame among the sampled frames
    times: list[float] = field(default_factory=list)
    frame_index: list[int] = field(default_factory=list)
    boxes: list[NDArray[np.float32]] = field(default_factory=list)  # x1, y1, x2, y2 in frame pixels
    scores: list[float] = field(default_factory=list)
    mesh: list[NDArray[np.float32]] = field(default_factory=list)  # (468, 2) in frame pixels
    crops: dict[AlignRecipe, list[NDArray[np.uint8]]] = field(default_factory=dict)
    crop_mesh: dict[AlignRecipe, list[NDArray[np.float32]]] = field(default_factory=dict)  # mesh in crop pixels

    def __len__(self) -> int:
        return len(self.slots)

    def crops_of(self, recipe: AlignRecipe) -> NDArray[np.uint8]:
        faces = self.crops.get(recipe, [])
        return np.stack(faces) if faces else np.zeros((0, recipe.size, recipe.size, 3), np.uint8)


@dataclass
class Collected:
    """What one decode of a file gives every detector and the report."""

    info: MediaInfo
    stats: DecodeStats
    tracks: dict[int, TrackData]  # by tracker id, in order of first appearance
    times: list[float] = field(default_factory=list)  # of each sampled frame
    grey: list[NDArray[np.uint8]] = field(default_factory=list)  # each sampled frame, longest side GREY_SIDE
    grey_scale: list[float] = field(default_factory=list)  # grey pixels per frame pixel
    kept: list[NDArray[np.uint8]] = field(default_factory=list)  # frames kept by `keep` (provenance)
    thumbnails: list[tuple[float, NDArray[np.uint8]]] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=lambda: defaultdict(float))


def shrink(img: NDArray[np.uint8], side: int) -> tuple[NDArray[np.uint8], float]:
    """A copy whose longest side is at most `side` (INTER_AREA), and its scale."""
    h, w = img.shape[:2]
    s = side / max(h, w)
    if s >= 1:
        return img, 1.0
    out = cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
    return np.asarray(out, np.uint8), s


def collect(
    path: str | Path,
    detector: FaceDetector,
    frames: int,
    recipes: Iterable[AlignRecipe],
    progress: Progress | None = None,
    keep: Callable[[NDArray[np.uint8]], NDArray[np.uint8]] | None = None,
    thumbnails: bool = False,
    info: MediaInfo | None = None,
) -> Collected:
    """Decodes `frames` evenly sampled frames (one for an image), finds and tracks the faces, and cuts each face
    in every recipe. `keep(frame)` returns a copy to keep for later (e.g. the watermark test)."""
    p = Path(path)
    info = info or probe(p)
    stats = DecodeStats()
    tracker = IoUTracker()
    recipes = list(dict.fromkeys(recipes))
    out = Collected(info=info, stats=stats, tracks={})
    timings = out.timings
    n_target = 1 if info.kind == "image" else frames
    t = time.perf_counter()
    # timings["decode"] is the time this loop waited for frames: decoding that did not overlap the rest
    for k, frame in enumerate(prefetch(sample_frames(p, n_target, stats))):
        timings["decode"] += time.perf_counter() - t
        t = time.perf_counter()
        faces = tracker.update(detector.detect(frame.image))
        timings["faces"] += time.perf_counter() - t
        t = time.perf_counter()
        slot = len(out.times)
        out.times.append(frame.time_s)
        grey, scale = shrink(np.asarray(cv2.cvtColor(frame.image, cv2.COLOR_RGB2GRAY), np.uint8), GREY_SIDE)
        out.grey.append(grey)
        out.grey_scale.append(scale)
        by_recipe = {r: crop_faces(frame.image, faces.points5, r) for r in recipes}
        for i in range(len(faces)):
            tid = int(faces.track_id[i])
            tr = out.tracks.setdefault(tid, TrackData(id=tid))
            tr.slots.append(slot)
            tr.times.append(round(frame.time_s, 4))
            tr.frame_index.append(frame.index)
            tr.boxes.append(np.asarray(faces.xyxy[i], np.float32))
            tr.scores.append(float(faces.score[i]))
            tr.mesh.append(np.asarray(faces.mesh[i], np.float32))
            for r, (crops, mats) in by_recipe.items():
                tr.crops.setdefault(r, []).append(crops[i])
                tr.crop_mesh.setdefault(r, []).append(transform_points(faces.mesh[i], mats[i]))
        timings["align"] += time.perf_counter() - t
        if keep is not None:
            out.kept.append(keep(frame.image))
        if thumbnails:  # only reports use them; a plain scan skips the resize
            out.thumbnails.append((frame.time_s, shrink(frame.image, 320)[0]))
        if progress:
            progress("frames", k + 1, n_target)
        t = time.perf_counter()
    timings["decode"] += time.perf_counter() - t
    return out


def main_track_data(collected: Collected) -> TrackData | None:
    """The main face: the longest track, ties broken by the larger mean box (FF++ and Celeb-DF manipulate this
    face only; the evaluation's `main_track` applies the same rule to a result)."""

    def key(t: TrackData) -> tuple[int, float]:
        return len(t), float(np.mean([(b[2] - b[0]) * (b[3] - b[1]) for b in t.boxes])) if t.boxes else 0.0

    return max((t for t in collected.tracks.values() if len(t)), key=key, default=None)
