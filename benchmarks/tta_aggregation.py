"""Flip test-time augmentation and the aggregation over frames, measured by paired tests on one split.

    python benchmarks/tta_aggregation.py ../shared/data/ffpp [--model NAME_OR_CARD] [--cache cache/tta-v2.npz]

Every validation video is cut into the model's crops once through the scan's stages (the face detector, the
tracker, the card's alignment; 32 frames) and the main track's crops (the longest track, as `mimica evaluate`
takes) are scored as they are and mirrored. The per-frame logits are cached (--cache; research data, keep it
out of git), so every variant is computed without rescanning:

- TTA: none, or flip (the mean logit of a crop and its mirror: `tta = "flip"` in the card);
- video score: the mean of the frames' calibrated probabilities (the scan's rule), the mean logit, the mean
  of the top quarter of the frames' probabilities, and the median.

Each variant is compared with the shipped rule (no TTA, mean probability) by `compare_records`: the video
AUC difference with its paired 95% bootstrap interval, overall and by compression.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from mimica.atomic import atomic_path
from mimica.datasets import load_dataset, select_split
from mimica.evaluate.compare import compare_records, fmt_difference
from mimica.evaluate.report import VideoRecord
from mimica.models import load_model
from mimica.models.registry import DEFAULT_MODEL


def main_track_crops(d: dict[str, np.ndarray]) -> np.ndarray:
    """The crops of the track with the most faces (ties: the larger mean area), as evaluate's main_track."""
    if not len(d["crops"]):
        return d["crops"]
    ids = np.unique(d["track"])
    best = max(ids, key=lambda t: (int((d["track"] == t).sum()), float(d["area"][d["track"] == t].mean())))
    return d["crops"][d["track"] == best]


def frame_logits(root: str, model: str, frames: int, cache: Path | None) -> dict:
    if cache and cache.is_file():
        with np.load(cache, allow_pickle=False) as z:
            return {"meta": json.loads(str(z["meta"])), **{k: z[k] for k in z.files if k != "meta"}}
    from mimica.faces import create_detector
    from mimica.train.prepare import PrepareConfig, crop_item

    clf = load_model(model)
    clf = type(clf)(clf.card.model_copy(update={"tta": "none"}), clf.path)
    cfg = PrepareConfig(clf.recipe, frames)
    det = create_detector()
    items = select_split(load_dataset(root), "val")
    plain, flip, owner, meta = [], [], [], []
    for k, it in enumerate(items):
        crops = main_track_crops(crop_item(it, cfg, det))
        plain.append(clf.logits(crops))
        flip.append(clf.logits(np.ascontiguousarray(crops[:, :, ::-1])))
        owner.append(np.full(len(crops), k))
        meta.append(it.to_dict())
        print(f"{k + 1}/{len(items)} {Path(it.path).name}: {len(crops)} faces", flush=True)
    out = {"meta": {"items": meta, "model": model, "frames": frames, "calibration": clf.card.calibration.model_dump()},
           "plain": np.concatenate(plain), "flip": np.concatenate(flip), "video": np.concatenate(owner)}
    if cache:
        cache.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(cache) as tmp:
            np.savez(tmp, meta=np.array(json.dumps(out["meta"])), plain=out["plain"], flip=out["flip"],
                     video=out["video"])
    return out


def sigmoid(z: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-z))


AGGREGATIONS = {
    "mean probability": lambda p, z: float(np.mean(p)),
    "mean logit": lambda p, z: float(np.mean(z)),
    "top-25% mean probability": lambda p, z: float(np.mean(np.sort(p)[-max(1, int(np.ceil(len(p) / 4))):])),
    "median probability": lambda p, z: float(np.median(p)),
}


def variant_records(data: dict, tta: str, aggregation: str) -> list[VideoRecord]:
    cal = data["meta"]["calibration"]
    z_all = data["plain"] if tta == "none" else (data["plain"] + data["flip"]) / 2
    a, b = (cal["a"], cal["b"]) if cal["method"] != "none" else (1.0, 0.0)
    recs = []
    for k, it in enumerate(data["meta"]["items"]):
        z = z_all[data["video"] == k]
        base = {"path": it["path"], "label": it["label"], "method": it["method"], "compression": it["compression"]}
        if not len(z):
            recs.append(VideoRecord(**base, error="no face found"))
            continue
        p = sigmoid(a * z + b)
        recs.append(VideoRecord(**base, frame_probs=p.tolist(), probability=AGGREGATIONS[aggregation](p, z)))
    return recs


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("dataset")
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--cache", type=Path, default=None, help="per-frame logits (.npz), reused when present")
    ap.add_argument("--json", type=Path, default=None, help="write every comparison here")
    args = ap.parse_args()
    data = frame_logits(args.dataset, args.model, args.frames, args.cache)
    base = variant_records(data, "none", "mean probability")
    print(f"model {data['meta']['model']}, {len(data['meta']['items'])} validation videos, "
          f"{len(data['plain'])} main-track faces; B - A video AUC, paired bootstrap (1000 resamples), "
          f"A = no TTA, mean probability")
    results = {}
    for tta in ("none", "flip"):
        for agg in AGGREGATIONS:
            rep = compare_records(base, variant_records(data, tta, agg), model_a="none / mean probability",
                                  model_b=f"{tta} / {agg}")
            results[f"{tta} / {agg}"] = rep.model_dump(exclude={"videos_a", "videos_b"})
            comps = "  ".join(f"{c} {d.auc_b:.3f} ({fmt_difference(d)})" for c, d in rep.by_compression.items())
            print(f"TTA {tta:4s}  {agg:26s} AUC {rep.overall.auc_b:.3f}  B - A {fmt_difference(rep.overall)} "
                  f"p {rep.overall.p_value:.3f}  |  {comps}")
    if args.json:
        with atomic_path(args.json) as tmp:
            Path(tmp).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
