"""`mimica prepare`: cache aligned face crops and their landmarks through the scan pipeline's own stages.

One compressed .npz per video (or per shard of images) under the cache folder, written atomically and skipped
when present, so an interrupted run resumes where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mimica.align import AlignRecipe, crop_faces, transform_points
from mimica.atomic import atomic_path
from mimica.datasets import MediaItem
from mimica.errors import MimicaError
from mimica.faces import IoUTracker, create_detector
from mimica.media import sample_frames

IMAGE_SHARD = 256


@dataclass(frozen=True)
class PrepareConfig:
    recipe: AlignRecipe = AlignRecipe()
    frames: int = 32


def shard_key(items: list[MediaItem], cfg: PrepareConfig) -> str:
    h = hashlib.sha256(json.dumps([[i.path for i in items], cfg.recipe.__dict__, cfg.frames]).encode())
    return h.hexdigest()[:20]


def shards(items: list[MediaItem]) -> list[list[MediaItem]]:
    """Videos one per shard; images in shards of IMAGE_SHARD."""
    vids = [[it] for it in items if it.dataset != "faces"]
    imgs = [it for it in items if it.dataset == "faces"]
    return vids + [imgs[i : i + IMAGE_SHARD] for i in range(0, len(imgs), IMAGE_SHARD)]


_detector = None


def _worker_init() -> None:
    global _detector
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    _detector = create_detector()


def crop_item(item: MediaItem, cfg: PrepareConfig, detector) -> dict[str, np.ndarray]:
    """All faces of the sampled frames of one item: crops, landmarks in crop coordinates, track ids, times."""
    tracker = IoUTracker()
    crops, meshes, tracks, times, scores = [], [], [], [], []
    for frame in sample_frames(item.path, cfg.frames):
        faces = tracker.update(detector.detect(frame.image))
        if not len(faces):
            continue
        c, m = crop_faces(frame.image, faces.points5, cfg.recipe)
        crops.append(c)
        meshes.append(np.stack([transform_points(faces.mesh[i], m[i]) for i in range(len(faces))]))
        tracks.append(faces.track_id)
        times.append(np.full(len(faces), frame.time_s, np.float32))
        scores.append(faces.area)  # the largest face of a frame is the main subject
    s = cfg.recipe.size
    if not crops:
        return {"crops": np.zeros((0, s, s, 3), np.uint8), "mesh": np.zeros((0, 468, 2), np.float16),
                "track": np.zeros(0, np.int64), "time": np.zeros(0, np.float32), "area": np.zeros(0, np.float32)}
    return {"crops": np.concatenate(crops), "mesh": np.concatenate(meshes).astype(np.float16),
            "track": np.concatenate(tracks), "time": np.concatenate(times), "area": np.concatenate(scores)}


def _do_shard(args: tuple[list[MediaItem], PrepareConfig, str]) -> tuple[str, int, list[str]]:
    items, cfg, out = args
    parts, owners, errors = [], [], []
    for k, it in enumerate(items):
        try:
            d = crop_item(it, cfg, _detector)
        except MimicaError as err:
            errors.append(str(err))
            continue
        parts.append(d)
        owners.append(np.full(len(d["crops"]), k, np.int32))
    merged = {key: np.concatenate([p[key] for p in parts]) for key in parts[0]} if parts else {}
    if merged:
        merged["item"] = np.concatenate(owners)
    meta = json.dumps({"items": [it.to_dict() for it in items], "errors": errors})
    with atomic_path(out) as tmp:
        np.savez(tmp, meta=np.array(meta), **merged)  # type: ignore[arg-type]
    return out, len(merged.get("crops", [])), errors


def prepare(
    items: list[MediaItem], cache_dir: str | Path, cfg: PrepareConfig = PrepareConfig(), workers: int = 2,
    progress: Callable[[int, int], None] | None = None,
) -> list[Path]:
    """Caches every item's crops; returns the shard files (existing ones are reused)."""
    cache = Path(cache_dir)
    cache.mkdir(parents=True, exist_ok=True)
    todo: list[tuple[list[MediaItem], PrepareConfig, str]] = []
    done: list[tuple[list[MediaItem], PrepareConfig, str]] = []
    for sh in shards(items):
        target = cache / f"{shard_key(sh, cfg)}.npz"
        (done if target.exists() else todo).append((sh, cfg, str(target)))
    files = [Path(t[2]) for t in done]
    if progress:
        progress(len(done), len(done) + len(todo))
    if todo:
        # spawn, not fork: a forked copy of a process that already runs mediapipe, onnxruntime or torch threads
        # (a scan, a notebook, the test suite) inherits their locks mid-use and crashes or hangs
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=spawn, initializer=_worker_init) as pool:
            for written, _, _ in pool.map(_do_shard, todo):
                files.append(Path(written))
                if progress:
                    progress(len(files), len(done) + len(todo))
    return files


def load_shards(files: Iterable[Path]) -> tuple[dict[str, np.ndarray], list[dict]]:
    """Concatenate shards; `item` becomes an index into the returned list of item dicts."""
    parts: list[dict[str, np.ndarray]] = []
    items: list[dict] = []
    for f in files:
        with np.load(f, allow_pickle=False) as z:
            meta = json.loads(str(z["meta"]))
            if "crops" in z.files:
                d = {k: z[k] for k in z.files if k != "meta"}
                d["item"] = d["item"] + len(items)
                parts.append(d)
            items.extend(meta["items"])
    if not parts:
        return {}, items
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}, items
