"""How many faces a video's verdict needs: from `mimica evaluate --json` (which keeps each validation video's
frame scores of its main face), draw k of a video's faces at random, many times, and count how often the mean of
the k lands in the same verdict band (real / uncertain / fake, the model card's thresholds) as the mean of all
of them, and how far it strays. The figure behind `mimica.scan.aggregate.MIN_FACES` (docs/scan.md).

    mimica evaluate ../shared/data/ffpp --split val --json > eval.json
    python benchmarks/few_faces.py eval.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from mimica.models import DEFAULT_MODEL
from mimica.models.registry import WEIGHTS, load_card
from mimica.scan.aggregate import verdict_of


def main(path: str, draws: int = 400, seed: int = 0) -> None:
    report = json.loads(Path(path).read_text())
    card = load_card(WEIGHTS / f"{DEFAULT_MODEL}.json")
    real, fake = card.thresholds.real, card.thresholds.fake
    videos = [np.asarray(v["frame_probs"], np.float64) for v in report["videos"] if len(v["frame_probs"]) >= 16]
    rng = np.random.default_rng(seed)
    print(f"{len(videos)} validation videos with 16 or more faces of their main track; thresholds {real}/{fake}")
    print("faces  same band  median |mean_k - mean_all|  90th percentile")
    for k in (1, 2, 3, 4, 6, 8, 10, 12, 16):
        same, dev = [], []
        for probs in videos:
            full = verdict_of(float(probs.mean()), real, fake)
            for _ in range(draws):
                m = float(rng.choice(probs, k, replace=False).mean())
                same.append(verdict_of(m, real, fake) == full)
                dev.append(abs(m - probs.mean()))
        print(f"{k:5d}  {np.mean(same):9.1%}  {np.median(dev):26.3f}  {np.percentile(dev, 90):15.3f}")


if __name__ == "__main__":
    main(sys.argv[1])
