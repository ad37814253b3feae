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

from mimica.errors import MimicaError
from mimica.train.config import TrainConfig

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


#: share of a real's patches centred on the edge of its face hull rather than anywhere inside: every fake's
#: patch holds a boundary near the face outline, so reals must show the natural outline as often, or "an
#: outline in the patch" alone would tell fakes from reals
REAL_EDGE_SHARE = 0.5


def real_corner(face: NDArray[np.bool_], size: int, rng: np.random.Generator) -> tuple[int, int]:
    """Top-left corner of a real's patch: centred on a random pixel of the face (`face`: its hull), and with
    probability REAL_EDGE_SHARE on a pixel of the hull's edge."""
    if rng.random() < REAL_EDGE_SHARE:
        return patch_corner(face.astype(np.float32), size, rng)
    return patch_corner(None, size, rng, region=face)


def cut(img: NDArray, corner: tuple[int, int], size: int) -> NDArray:
    y, x = corner
    return img[y : y + size, x : x + size]


def linear_head(model: torch.nn.Module) -> torch.nn.Linear:
    """The one-logit linear layer after a network's global average pooling: EfficientNet-Lite's `_fc`, the
    last layer of ArtifactNet's `head`. A network without `features` and such a head has no logit map."""
    fc = getattr(model, "_fc", None)
    if fc is None and isinstance(getattr(model, "head", None), torch.nn.Sequential):
        fc = model.head[-1]  # type: ignore[index]
    if not isinstance(fc, torch.nn.Linear) or fc.out_features != 1 or not callable(getattr(model, "features", None)):
        raise MimicaError(f"{type(model).__name__} has no feature map with a one-logit linear head, so it cannot "
                          "be run as a patch model (patch_size > 0)")
    return fc


def logit_map(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """(n, h, w) logits, one per position of the network's last feature map: its linear head applied at each
    position (a 1x1 convolution) instead of after the global average pooling. The map's mean is the network's
    own logit of the whole input (pooling and the head are both linear), so a face model and its map agree."""
    fc = linear_head(model)
    feats = model.features(x)  # type: ignore[operator]
    return torch.nn.functional.conv2d(feats, fc.weight[:, :, None, None], fc.bias)[:, 0]


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


class PooledPatches(torch.nn.Module):
    """The patch model as the scan runs it: the network on the whole crop, fully convolutionally, and one
    logit per crop pooled from its logit map. Validation and the ONNX export use this module, so the
    per-epoch AUCs and the parity check measure what the scan will see; training uses the network itself on
    patches (its own pooling, the mean, over the patch)."""

    def __init__(self, net: torch.nn.Module, how: Literal["max", "topk", "mean"] = "topk", k: float = 0.1) -> None:
        super().__init__()
        linear_head(net)  # fails now, not at the first validation
        self.net, self.how, self.k = net, how, k

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return pool_logits(logit_map(self.net, x), self.how, self.k)


#: prefix of the network's weights in a PooledPatches state dict (and so in its ONNX file)
NET_PREFIX = "net."


def face_model(net: torch.nn.Module, cfg: TrainConfig) -> torch.nn.Module:
    """What scores one face crop for a config: the network itself (face level) or, with patch_size > 0, the
    network run fully convolutionally with its map pooled as the config says."""
    return PooledPatches(net, cfg.patch_pool, cfg.patch_topk) if cfg.patch_size else net


def describe(cfg: TrainConfig) -> str:
    """One sentence on the patch recipe, for the training log and the model card ("" at face level)."""
    if not cfg.patch_size:
        return ""
    pool = cfg.patch_pool + (f" (top {cfg.patch_topk:.0%})" if cfg.patch_pool == "topk" else "")
    return (f"patch level: trained on {cfg.patch_size} px patches of the {cfg.size} px view, run fully "
            f"convolutionally on the whole crop, the face's logit the {pool} of its logit map")


def recipe(cfg: TrainConfig) -> dict | None:
    """The patch recipe as the model card records it (None for a face-level model)."""
    if not cfg.patch_size:
        return None
    return {"patch_size": cfg.patch_size, "input_size": cfg.size, "pool": cfg.patch_pool,
            "topk_share": cfg.patch_topk if cfg.patch_pool == "topk" else None,
            "training": "fakes' patches centred on a pixel of the blend mask's soft rim; reals' on the face hull "
                        "(half of them on its edge)",
            "inference": "fully convolutional on the whole crop; the face's logit pooled from the logit map"}
