"""The shipped model on a small dev sample of FaceForensics++ (../shared/data, skipped when absent): fakes must
score higher on average than the real videos they were made from. Computed at test time, nothing stored.

The sample: c23 videos of the identity-disjoint validation split (`identity_split(..., 0.4, 0)`, the split the
training run held out), the first four real videos (by path) that have a fake made from them, and for each one
fake with it as the target, cycling through the manipulation methods. Pairing fakes with their own real
originals keeps scene, person and encoding equal on both sides; only the manipulation differs."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from mimica.datasets import MediaItem, identity_split, load_dataset
from mimica.scan import Scanner

pytestmark = pytest.mark.shared

PAIRS = 4
METHODS = ("Deepfakes", "Face2Face", "FaceSwap", "NeuralTextures")


def dev_sample(ffpp: Path) -> list[tuple[MediaItem, MediaItem]]:
    _, val = identity_split(load_dataset(ffpp), 0.4, 0)
    val = sorted((it for it in val if it.compression == "c23"), key=lambda it: it.path)
    reals = [it for it in val if it.label == 0]
    fakes = [it for it in val if it.label == 1]
    pairs = []
    methods = itertools.cycle(METHODS)
    for real in reals:
        ident = Path(real.path).stem
        made_from = [f for f in fakes if Path(f.path).stem.split("_")[0] == ident]
        if not made_from:
            continue
        method = next(methods)
        fake = next((f for f in made_from if f.method == method), made_from[0])
        pairs.append((real, fake))
        if len(pairs) == PAIRS:
            break
    if len(pairs) < PAIRS:
        pytest.skip(f"the validation split has only {len(pairs)} real/fake c23 pairs")
    return pairs


def test_fakes_score_higher_than_reals(shared_data: Path, scanner: Scanner) -> None:
    pairs = dev_sample(shared_data / "ffpp")
    scores: dict[int, list[float]] = {0: [], 1: []}
    for real, fake in pairs:
        for item in (real, fake):
            r = scanner.scan(item.path)  # the session scanner samples 8 frames
            assert r.verdict != "no-face", f"{item.path}: no face found"
            assert r.probability is not None
            scores[item.label].append(r.probability)
    mean_real, mean_fake = float(np.mean(scores[0])), float(np.mean(scores[1]))
    detail = ", ".join(f"{Path(r.path).name}={sr:.3f}/{Path(f.path).name}={sf:.3f}"
                       for (r, f), sr, sf in zip(pairs, scores[0], scores[1], strict=True))
    assert mean_fake > mean_real, f"mean fake {mean_fake:.3f} <= mean real {mean_real:.3f} ({detail})"
