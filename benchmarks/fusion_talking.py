"""The fused verdict on the talking set, leave one generator out: what each detector and their fusion see.

    python benchmarks/fusion_talking.py [--config configs/generated.toml] [--frames 32] [--model CARD]

The generated-face detector was trained on this set, so its scores here are the out-of-fold ones of the
leave-one-generator-out protocol (recomputed from the training cache: run `mimica train configs/generated.toml`
first). The blend detector never saw this set: each clip is scanned with it alone. Both are fused by the scan's own
rule (mimica.scan.fuse) on each detector's card thresholds. Prints the video AUC per generator (its fakes against
every real clip) for the blend detector, the generated-face detector and the fusion, and the false alarms on the
real clips at the fake thresholds. Needs ../shared/data/talking.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from mimica.models.registry import DEFAULT_MODEL, WEIGHTS, card_path_of, load_card
from mimica.scan import Scanner
from mimica.scan.fuse import detector_verdict, fuse
from mimica.train import generated as G


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--config", default="configs/generated.toml")
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--model", default=DEFAULT_MODEL, help="the blend detector: a shipped name or a card path")
    ap.add_argument("--list", action="store_true", help="also print every real clip that a detector calls fake")
    args = ap.parse_args()
    cfg = G.read_config(args.config)
    items = G.item_features(G.extract(G.all_clips(cfg), cfg), cfg)
    train = [it for it in items if it.clip.split == "train"]
    videos = [it for it in train if it.clip.source != "photo"]
    photos = [it for it in train if it.clip.source == "photo"]
    gens = sorted({v.clip.group for v in videos if v.clip.label})
    gen_prob, _ = G.leave_one_generator_out(videos, photos, gens, cfg)
    talking = [(v, p) for v, p in zip(videos, gen_prob, strict=True) if v.clip.source == "talking"]

    blend_card = load_card(card_path_of(args.model))
    gen_card = load_card(WEIGHTS / f"{cfg.name}.json")
    scanner = Scanner(detectors=[args.model], frames=args.frames, provenance=False)
    rows = []
    for v, g in talking:
        r = scanner.scan(v.clip.path)
        b = r.probability
        findings = [
            detector_verdict("blend", "blend", b, (blend_card.thresholds.real, blend_card.thresholds.fake), {},
                             blend_card.reliability()),
            detector_verdict("gen", "gen", float(g), (gen_card.thresholds.real, gen_card.thresholds.fake), {},
                             gen_card.reliability()),
        ]
        fused, verdict, _ = fuse(findings)
        rows.append((v.clip.label, v.clip.group, b, float(g), fused, verdict, findings, Path(v.clip.path).name))
    y = np.array([r[0] for r in rows])
    groups = np.array([r[1] for r in rows])
    scores = {name: np.array([np.nan if r[i] is None else r[i] for r in rows], np.float64)
              for name, i in (("blend", 2), ("generated", 3), ("fused", 4))}
    print(f"{'generator':12s} {'fakes':>5s} " + " ".join(f"{n:>10s}" for n in scores))
    for g in [*gens, "all"]:
        sel = (y == 0) | (groups == g) if g != "all" else np.ones(len(y), bool)
        aucs = []
        for s in scores.values():
            ok = sel & ~np.isnan(s)
            aucs.append(roc_auc_score(y[ok], s[ok]) if len(set(y[ok])) == 2 else float("nan"))
        print(f"{g:12s} {int((sel & (y == 1)).sum()):5d} " + " ".join(f"{a:10.2f}" for a in aucs))
    reals = [r for r in rows if r[0] == 0]
    fa = {"blend": np.mean([r[6][0].verdict == "fake" for r in reals]),
          "generated": np.mean([r[6][1].verdict == "fake" for r in reals]),
          "fused": np.mean([r[5] == "fake" for r in reals])}
    print(f"false alarms on {len(reals)} real clips at the fake thresholds: "
          + ", ".join(f"{k} {v:.1%}" for k, v in fa.items()))
    if args.list:
        for r in reals:
            said = [f.name for f in r[6] if f.verdict == "fake"]
            if said:
                print(f"  false alarm ({', '.join(said)}): blend {r[2]:.2f} generated {r[3]:.2f}  {r[7]}")
    caught = {k: np.mean([(r[6][0].verdict if k == "blend" else r[6][1].verdict if k == "generated" else r[5])
                          == "fake" for r in rows if r[0] == 1]) for k in fa}
    print(f"fakes called fake ({int(y.sum())}): " + ", ".join(f"{k} {v:.1%}" for k, v in caught.items()))
    print(f"(scanned with {Path(args.config).name}; generated-face scores out of fold)")


if __name__ == "__main__":
    main()
