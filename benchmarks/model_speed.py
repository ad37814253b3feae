"""Per-crop latency and size of the shipped detector on onnxruntime (target: <= 15 ms per crop, <= 30 MB).

    python benchmarks/model_speed.py [--model NAME] [--threads 2]

Batch 1 is the worst case (one face per frame); batch 32 is what a 32-frame video with one face costs.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from mimica.models import load_model
from mimica.models.registry import DEFAULT_MODEL


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=50)
    args = ap.parse_args()
    clf = load_model(args.model, threads=args.threads)
    size = clf.card.input.size
    rng = np.random.default_rng(0)
    print(
        f"model {clf.card.name} {clf.card.version}: {clf.path.stat().st_size / 1e6:.1f} MB, "
        f"{clf.card.parameters:,} parameters, input {size}x{size}, {args.threads} threads"
    )
    for batch in (1, 8, 32):
        crops = rng.integers(0, 255, (batch, size, size, 3), dtype=np.uint8)
        clf.predict(crops)  # warm-up
        times = []
        for _ in range(max(5, args.repeats // batch)):
            t = time.perf_counter()
            clf.predict(crops)
            times.append((time.perf_counter() - t) / batch * 1000)
        print(
            f"batch {batch:2d}: median {statistics.median(times):.2f} ms per crop, "
            f"p90 {np.percentile(times, 90):.2f} ms"
        )


if __name__ == "__main__":
    main()
