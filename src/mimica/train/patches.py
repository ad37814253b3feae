"""Pieces of a patch-level detector (issue 19): training patches drawn where the evidence is, and a face score
pooled from a fully convolutional logit map.

A face-level model at 160-224 px sees the blending boundary that SBI teaches as a line a few pixels wide. A
patch model trains on 96-128 px windows of a crop cached at 256-320 px, so each window keeps every pixel of the
boundary; a fake's window is drawn across the boundary of its blend mask (which the pseudo-fake generator
knows), a real's anywhere on the face. At inference the same network runs fully convolutionally on the whole
crop: one logit per position of its last feature map, and the face's score is the max or the top-k mean of
them (a blend is local: averaging the whole face dilutes it). The map is also a heatmap.
"""

from __future__ import annotations

from typing import Literal

import cv2
import numpy as np
import torch
from numpy.typing import NDArray

#: a pixel is on the boundary where the blend mask is strictly between these shares of its peak (the soft rim;
#: relative, since a blend ratio below 1 scales the whole mask: its inside is not a boundary)
BAND = (0.05, 0.95)


def boundary_band(mask: NDArray[np.float32], band: tuple[float, float] = BAND) -> NDArray[np.bool_]:
    """Where the blend mixes source and target: the mask's soft rim, or, for a hard-edged mask (no value
    between), the pixels on either side of its 0.5 contour."""
    peak = float(mask.max())
    if peak <= 0:
        return np.zeros(mask.shape, bool)
    rim = (mask > band[0] * peak) & (mask < band[1] * peak)
    if rim.any():
        return rim
    inside = (mask >= 0.5 * peak).astype(np.uint8)
    edge = cv2.morphologyEx(inside, cv2.MORPH_GRADIENT, np.ones((3, 3), np.uint8))
    return edge.astype(bool)


def _corner(centre: int, size: int, side: int) -> int:
    return int(np.clip(centre - size // 2, 0, side - size))


def patch_corner(mask: NDArray[np.float32] | None, size: int, rng: np.random.Generator,
                 region: NDArray[np.bool_] | None = None) -> tuple[int, int]:
    """Top-left corner (y, x) of a size x size window of a crop. With a blend `mask` (a fake): the window's
    centre is a random boundary pixel, so the window holds both sides of the blend (clamped inside the crop,
    it still holds that pixel). Without one (a real): a random pixel of `region` (e.g. the face hull), or of
    the whole crop."""
    ref = mask if mask is not None else region
    if ref is None:
        raise ValueError("patch_corner needs a blend mask (fake) or a region (real)")
    side = ref.shape[0]
    where = boundary_band(mask) if mask is not None else ref
    if size > side:
        raise ValueError(f"a {size} px patch does not fit in a {side} px crop")
    ys, xs = np.nonzero(where)
    if not len(ys):  # an empty region or a mask with no boundary: anywhere
        return int(rng.integers(0, side - size + 1)), int(rng.integers(0, side - size + 1))
    i = int(rng.integers(len(ys)))
    return _corner(int(ys[i]), size, side), _corner(int(xs[i]), size, side)


def cut(img: NDArray, corner: tuple[int, int], size: int) -> NDArray:
    y, x = corner
    return img[y : y + size, x : x + size]


def logit_map(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """(n, h, w) logits, one per position of the network's last feature map: its linear head applied at each
    position instead of after the global average pooling. The map's mean is the network's own logit of the
    whole input (pooling and the head are both linear), so a face model and its map agree."""
    feats = model.features(x)  # type: ignore[operator]
    fc: torch.nn.Linear = model._fc  # type: ignore[assignment]
    return torch.einsum("nchw,c->nhw", feats, fc.weight[0]) + fc.bias[0]


def pool_logits(maps: torch.Tensor, how: Literal["max", "topk", "mean"] = "topk", k: float = 0.1) -> torch.Tensor:
    """One logit per face from its (h, w) map: the max, the mean of the top `k` share of positions (at least
    one), or the mean (the face-level model's own pooling)."""
    flat = maps.flatten(1)
    if how == "max":
        return flat.max(1).values
    if how == "mean":
        return flat.mean(1)
    if how == "topk":
        n = max(1, int(np.ceil(k * flat.shape[1])))
        return flat.topk(n, dim=1).values.mean(1)
    raise ValueError(f"unknown pooling {how!r}: max, topk or mean")
