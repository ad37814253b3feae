"""Do the report's heatmaps point at the manipulation? Measured on self-blended faces, whose blend mask is known.

    PYTHONPATH=src python benchmarks/heatmap_localisation.py [--faces ../shared/data/faces/fairface/val] [--n 60]
        [--seed 0] [--model NAME] [--json out.json]

Each photo's face goes through the scan's own stages (mediapipe detection and landmarks, the one alignment, the
model card's recipe); the aligned crop is self-blended (`mimica.train.sbi.self_blend`, the training recipe's
pseudo-fake: a colour/frequency-altered copy blended back through a deformed face-hull mask). The blended region
is where the blend changed the pixels: mask >= 10% of its peak. For each map the share of its positive evidence
inside that region is compared with what maps that know nothing would score:
- uniform over the crop (share = the region's area / the crop's area),
- uniform over the face mask (share = the region's area inside the face / the face's area),
- the former report's map: an 8x8 grid of grey cells over the whole crop (`occlusion_maps`),
- the report's map now: overlapping 16-px patches (stride 8) over the face only (`evidence_maps`),
- for a patch-level model (its card's `training.patch`, issue 19): its own logit map, the network run fully
  convolutionally (one calibrated log-odds per position of its last feature map, upsampled to the crop; its
  positive part counts, as for the other maps), over the whole crop and over the face only (as the report's
  map). Needs torch (`pip install -e '.[train]'`): the
  ONNX file returns the pooled logit only, so the map is computed from the same weights read back from it.
Without ../shared/data the astronaut (scikit-image) is blended `--n` times with different random masks.
Prints a table (means with 95% bootstrap intervals over faces) and the pointing game: how often the map's
hottest pixel lies inside the blended region. Nothing is written unless --json is given.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from mimica.align import crop_faces, transform_points
from mimica.faces import create_detector
from mimica.models import DEFAULT_MODEL, load_model
from mimica.report.occlusion import PATCH, evidence_maps, face_mask, log_odds, mass_inside, occlusion_maps
from mimica.train.sbi import self_blend

SHARED_FACES = Path(__file__).resolve().parents[2] / "shared" / "data" / "faces" / "fairface" / "val"
#: a pixel belongs to the blended region when its blend weight is at least this share of the mask's peak
REGION_LEVEL = 0.1


def photos(folder: Path, n: int) -> list[np.ndarray]:
    if folder.is_dir():
        return [np.asarray(Image.open(p).convert("RGB")) for p in sorted(folder.glob("*.jpg"))[: n * 2]]
    import skimage.data

    return [skimage.data.astronaut()] * n


def bootstrap(values: list[float], seed: int = 0, rounds: int = 2000) -> tuple[float, float, float]:
    v = np.asarray(values, np.float64)
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), (rounds, len(v)))].mean(1)
    return float(v.mean()), float(np.quantile(means, 0.025)), float(np.quantile(means, 0.975))


def logit_map_fn(clf, model: str):  # type: ignore[no-untyped-def]
    """For a patch-level card: crops (n, h, w, 3) uint8 -> (n, h, w) maps of calibrated log-odds, one per
    position of the network's last feature map, from the card's ONNX weights; None for a face-level card."""
    patch = clf.card.training.get("patch")
    if not patch:
        return None
    import torch

    from mimica.models.registry import card_path_of
    from mimica.train.export import state_dict_from_onnx
    from mimica.train.net import create_net
    from mimica.train.patches import logit_map

    net = create_net(clf.card.training["config"]["net"])
    net.load_state_dict(state_dict_from_onnx(card_path_of(model).parent / clf.card.onnx_file, net))
    net.eval()

    def maps(crops: np.ndarray) -> np.ndarray:
        x = torch.from_numpy(clf.preprocess(crops))
        with torch.no_grad():
            m = log_odds(clf, logit_map(net, x).numpy())
        h, w = crops.shape[1:3]
        return np.stack([cv2.resize(k, (w, h), interpolation=cv2.INTER_LINEAR) for k in m])

    return maps


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faces", type=Path, default=SHARED_FACES)
    ap.add_argument("--n", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--patch", type=float, default=PATCH, help="patch side as a share of the crop (evidence_maps)")
    ap.add_argument("--fill", choices=("mean", "blur"), default="mean", help="what hides a patch (evidence_maps)")
    ap.add_argument("--region-level", type=float, default=REGION_LEVEL,
                    help="blend weight, as a share of the mask's peak, from which a pixel counts as blended")
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()

    clf = load_model(args.model)
    det = create_detector("mediapipe")
    rng = np.random.default_rng(args.seed)
    source = "FairFace val photos" if args.faces.is_dir() else "the astronaut, blended with different masks"
    rows: dict[str, list[float]] = {k: [] for k in ("uniform crop", "uniform face", "grid 8x8 (before)",
                                                    "face patches (now)")}
    hits: dict[str, list[float]] = {"grid 8x8 (before)": [], "face patches (now)": []}
    own_map = logit_map_fn(clf, args.model)
    if own_map is not None:
        for name in ("own logit map", "own logit map, face only"):
            rows[name], hits[name] = [], []
    probs_fake, probs_real, no_signal = [], [], 0
    t0 = time.perf_counter()
    for img in photos(args.faces, args.n):
        if len(rows["uniform crop"]) >= args.n:
            break
        faces = det.detect(img)
        if not len(faces):
            continue
        crops, mats = crop_faces(img, faces.points5[:1], clf.recipe)
        marks = transform_points(faces.mesh[0], mats[0])
        fake, blend = self_blend(crops[0], marks, rng)
        region = blend >= args.region_level * max(float(blend.max()), 1e-6)
        mask = face_mask(marks, crops.shape[1])
        probs_fake.append(float(clf.predict(fake[None])[0]))
        probs_real.append(float(clf.predict(crops)[0]))
        grid = occlusion_maps(clf, fake[None])[0]
        ours = evidence_maps(clf, fake[None], mask[None], patch=args.patch, fill=args.fill)[0]
        share_grid, share_ours = mass_inside(grid, region), mass_inside(ours, region)
        own = own_map(fake[None])[0] if own_map is not None else None
        share_own = mass_inside(own, region) if own is not None else None
        if share_grid is None or share_ours is None or (own is not None and share_own is None):
            no_signal += 1  # a map with no evidence at all in this face
            continue
        if own is not None:
            on_face = np.where(mask, own, -np.inf)
            rows["own logit map"].append(float(share_own or 0.0))
            # evidence only off the face counts as none inside the blend
            rows["own logit map, face only"].append(float(mass_inside(np.where(mask, own, 0), region) or 0.0))
            hits["own logit map"].append(float(region.flat[int(np.argmax(own))]))
            hits["own logit map, face only"].append(float(region.flat[int(np.argmax(on_face))]))
        rows["uniform crop"].append(float(region.mean()))
        rows["uniform face"].append(float((region & mask).sum() / max(mask.sum(), 1)))
        rows["grid 8x8 (before)"].append(share_grid)
        rows["face patches (now)"].append(share_ours)
        up = np.kron(grid, np.ones((crops.shape[1] // grid.shape[0],) * 2))
        hits["grid 8x8 (before)"].append(float(region.flat[int(np.argmax(up))]))
        hits["face patches (now)"].append(float(region.flat[int(np.argmax(ours))]))
    n = len(rows["uniform crop"])
    if n == 0:
        print("no face with any evidence: nothing to measure", file=sys.stderr)
        return 1
    print(f"{n} self-blended faces from {source}; model {clf.card.name} {clf.card.version}; "
          f"patch {args.patch:g}, fill {args.fill}; "
          f"region: blend weight >= {args.region_level:g} of its peak; "
          f"{no_signal} skipped (no positive evidence); {time.perf_counter() - t0:.0f} s")
    print(f"model p(fake): blended {np.mean(probs_fake):.2f}, originals {np.mean(probs_real):.2f}")
    print(f"{'map':<22} {'share inside blend':>26} {'peak inside':>12}")
    out: dict[str, dict[str, float]] = {}
    for name, vals in rows.items():
        mean, lo, hi = bootstrap(vals, args.seed)
        peak = f"{np.mean(hits[name]):.2f}" if name in hits else "-"
        print(f"{name:<22} {mean:>10.3f} [{lo:.3f}, {hi:.3f}] {peak:>12}")
        out[name] = {"share": mean, "ci_low": lo, "ci_high": hi, **({"peak_inside": float(np.mean(hits[name]))}
                                                                      if name in hits else {})}
    if args.json:
        args.json.write_text(json.dumps({"n": n, "source": source, "model": clf.card.name, "rows": out}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
