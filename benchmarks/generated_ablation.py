"""What the generated-face detector's parts give on the talking set: each cue over time alone, and the heads'
regularisation under the leave-one-generator-out protocol.

    python benchmarks/generated_ablation.py [--config configs/generated.toml] [--cues] [--grid]

--cues: the video AUC of each cue of mimica.models.temporal alone (no fitting; AUC < 0.5 means the cue is lower on
generated clips) and on how many of the 108 clips it can be measured, read from the training cache.
--grid: pooled and per-generator leave-one-generator-out AUC for a few (frame_c, video_c) pairs.
Run `mimica train configs/generated.toml` first (it fills the cache). Needs ../shared/data/talking.
"""

from __future__ import annotations

import argparse

import numpy as np
from sklearn.metrics import roc_auc_score

from mimica.models.temporal import FEATURES
from mimica.train import generated as G

GRID = ((0.01, 0.05), (0.05, 0.05), (0.2, 0.05), (0.05, 0.5), (0.05, 5.0))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="configs/generated.toml")
    ap.add_argument("--cues", action="store_true")
    ap.add_argument("--grid", action="store_true")
    args = ap.parse_args()
    cfg = G.read_config(args.config)
    items = G.item_features(G.extract(G.all_clips(cfg), cfg), cfg)
    train = [it for it in items if it.clip.split == "train"]
    videos = [it for it in train if it.clip.source != "photo"]
    photos = [it for it in train if it.clip.source == "photo"]
    if args.cues or not args.grid:
        talking = [v for v in videos if v.clip.source == "talking"]
        y = np.array([v.clip.label for v in talking])
        x = np.stack([v.temporal for v in talking])
        for i, name in enumerate(FEATURES):
            ok = ~np.isnan(x[:, i])
            auc = roc_auc_score(y[ok], x[ok, i]) if len(set(y[ok])) == 2 else float("nan")
            print(f"{name:16s} clips={ok.sum():3d} AUC={auc:.2f}", flush=True)
    if args.grid:
        gens = sorted({v.clip.group for v in videos if v.clip.label})
        for frame_c, video_c in GRID:
            c = cfg.model_copy(update={"frame_c": frame_c, "video_c": video_c})
            prob, logit = G.leave_one_generator_out(videos, photos, gens, c)
            m = G.protocol_metrics(videos, prob, logit, gens, cfg.seed)
            per = " ".join(f"{g} {v['auc']:.2f}" for g, v in m["by_generator"].items())
            print(f"frame_c={frame_c} video_c={video_c}: pooled {m['video']['auc']:.3f} "
                  f"(frame head alone {m['frame_head_only']['auc']:.3f}); {per}", flush=True)


if __name__ == "__main__":
    main()
