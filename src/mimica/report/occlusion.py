"""Which parts of a face drove its score: occlusion sensitivity through the ONNX model itself.

A grey patch (the model's own input mean, so the occluded pixels carry no signal after normalisation) hides part
of the aligned crop; every occluded copy goes through `Classifier.logits` in batches, and the drop of the
calibrated log-odds of manipulation is mapped back onto the crop. Model-agnostic (no gradients, no torch).
Zeiler and Fergus, ECCV 2014.

- `evidence_maps` (what the report draws): overlapping patches slid over the face only. Patches are centred
  inside the face outline (`face_mask`, from the crop's landmarks) and hide only face pixels, so background and
  hair are never candidates; each pixel's value is the mean drop over the patches that covered it, which
  localises far better than one coarse cell. About 75 forward passes per crop (60-90 on FairFace faces).
- `occlusion_maps`: the coarse, whole-crop grid (65 passes per crop), kept for comparison (benchmarks).

    >>> import numpy as np
    >>> heat = np.zeros((8, 8), np.float32); heat[2, 3] = 1.5
    >>> overlay(np.zeros((128, 128, 3), np.uint8), heat).shape
    (128, 128, 3)
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import NDArray

from mimica.faces.landmarks import FACE_OVAL
from mimica.models import Classifier

#: grid cells per side: 8 gives 16-pixel patches on a 128-pixel crop, about the size of an eye or a lip corner
GRID = 8
#: overlapping patches of `evidence_maps`, as fractions of the crop side: 16-pixel patches every 8 pixels on a
#: 128-pixel crop (each pixel is covered by up to 4 patches; chosen by benchmarks/heatmap_localisation.py)
PATCH = 0.125
STRIDE = 0.0625
#: what hides a patch in `evidence_maps` (chosen by benchmarks/heatmap_localisation.py), and the blur's sigma
FILL: Literal["mean", "blur"] = "mean"
BLUR_SIGMA = 0.03


def face_mask(landmarks: NDArray[np.float32], size: int) -> NDArray[np.bool_]:
    """The face inside its outline (convex hull of FaceMesh's face oval) in crop pixels, (size, size) bool.
    Without usable landmarks (missing, or a hull under 5% of the crop) the whole crop counts as face."""
    import cv2

    pts = np.asarray(landmarks, np.float32)
    if pts.ndim != 2 or pts.shape[0] <= max(FACE_OVAL) or not np.isfinite(pts).all():
        return np.ones((size, size), bool)
    hull = cv2.convexHull(np.round(pts[list(FACE_OVAL)]).astype(np.int32))
    mask = np.zeros((size, size), np.uint8)
    cv2.fillConvexPoly(mask, hull, 1)
    return mask.astype(bool) if mask.mean() >= 0.05 else np.ones((size, size), bool)


def _grey(classifier: Classifier) -> NDArray[np.uint8]:
    mean = np.asarray(classifier.card.input.mean, np.float32) * 255
    return np.asarray((mean[::-1] if classifier.card.input.color_order == "BGR" else mean).round(), np.uint8)


def evidence_maps(
    classifier: Classifier, crops: NDArray[np.uint8], masks: NDArray[np.bool_], patch: float = PATCH,
    stride: float = STRIDE, fill: Literal["mean", "blur"] = FILL, batch: int = 64,
) -> NDArray[np.float32]:
    """(n, h, w) evidence per pixel of the face: the mean drop of the calibrated log-odds of manipulation over the
    overlapping patches that hid it; positive where the face showed evidence of manipulation, negative where it
    looked genuine, exactly 0 outside the face mask (those pixels are never hidden).

    masks: (n, h, w) the face of each crop (`face_mask`); patch, stride: fractions of the crop side (smaller
    stride: sharper map, quadratically more model runs); fill: what hides a patch, the model's mean grey or a
    blurred copy of the face (removes fine detail, such as blending seams, without drawing a new edge).
    """
    import cv2

    crops = np.asarray(crops, np.uint8)
    masks = np.asarray(masks, bool)
    if crops.ndim != 4 or crops.shape[-1] != 3:
        raise ValueError(f"expected crops (n, h, w, 3), got {crops.shape}")
    if masks.shape != crops.shape[:3]:
        raise ValueError(f"expected masks {crops.shape[:3]}, got {masks.shape}")
    n, h, w = crops.shape[:3]
    if n == 0:
        return np.zeros((0, h, w), np.float32)
    ph, pw = max(1, round(patch * h)), max(1, round(patch * w))
    sy, sx = max(1, round(stride * h)), max(1, round(stride * w))
    tops = sorted({*range(0, h - ph + 1, sy), h - ph})
    lefts = sorted({*range(0, w - pw + 1, sx), w - pw})
    grey = _grey(classifier)
    base = log_odds(classifier, classifier.logits(crops, batch=batch))
    maps = np.zeros((n, h, w), np.float32)
    for k in range(n):
        boxes = [(y, x) for y in tops for x in lefts if masks[k, y + ph // 2, x + pw // 2]]
        if not boxes:
            continue
        stack = np.repeat(crops[k : k + 1], len(boxes), axis=0)
        cover = (np.asarray(cv2.GaussianBlur(crops[k], (0, 0), BLUR_SIGMA * h), np.uint8) if fill == "blur"
                 else np.broadcast_to(grey, crops[k].shape))
        for b, (y, x) in enumerate(boxes):
            region = masks[k, y : y + ph, x : x + pw]
            stack[b, y : y + ph, x : x + pw][region] = cover[y : y + ph, x : x + pw][region]
        drops = base[k] - log_odds(classifier, classifier.logits(stack, batch=batch))
        total = np.zeros((h, w), np.float32)
        count = np.zeros((h, w), np.float32)
        for (y, x), d in zip(boxes, drops, strict=True):
            total[y : y + ph, x : x + pw] += d
            count[y : y + ph, x : x + pw] += 1
        maps[k] = np.where(masks[k] & (count > 0), total / np.maximum(count, 1), 0)
    return maps


def log_odds(classifier: Classifier, logits: NDArray[np.float32]) -> NDArray[np.float32]:
    """Calibrated log-odds of manipulation: an affine map of the raw logit whose sign always points to `fake`
    (a Platt fit may flip the logit's sign, so the raw logit's drop could mean the opposite)."""
    c = classifier.card.calibration
    return (logits if c.method == "none" else c.a * logits + c.b).astype(np.float32)


def occlusion_maps(
    classifier: Classifier, crops: NDArray[np.uint8], grid: int = GRID, batch: int = 64
) -> NDArray[np.float32]:
    """(n, grid, grid) drop of the calibrated log-odds when each cell is hidden: positive where the face showed
    evidence of manipulation, negative where it looked genuine.

    grid: cells per side; doubling it quadruples the cost and sharpens the map.
    """
    crops = np.asarray(crops, np.uint8)
    if crops.ndim != 4 or crops.shape[-1] != 3:
        raise ValueError(f"expected crops (n, h, w, 3), got {crops.shape}")
    n, h, w = crops.shape[:3]
    if n == 0:
        return np.zeros((0, grid, grid), np.float32)
    ys = np.linspace(0, h, grid + 1).round().astype(int)
    xs = np.linspace(0, w, grid + 1).round().astype(int)
    grey = _grey(classifier)
    base = log_odds(classifier, classifier.logits(crops, batch=batch))
    maps = np.zeros((n, grid, grid), np.float32)
    for k in range(n):
        stack = np.repeat(crops[k : k + 1], grid * grid, axis=0)
        for i in range(grid):
            for j in range(grid):
                stack[i * grid + j, ys[i] : ys[i + 1], xs[j] : xs[j + 1]] = grey
        occluded = log_odds(classifier, classifier.logits(stack, batch=batch))
        maps[k] = (base[k] - occluded).reshape(grid, grid)
    return maps


#: percentiles of the face's brightness stretched to black and white in a heatmap's grey picture
STRETCH = (2.0, 98.0)


def shown_evidence(heat: NDArray[np.float32], size: tuple[int, int] | None = None,
                   scale: float | None = None) -> NDArray[np.float32]:
    """The positive evidence as a heatmap draws it, 0..1 over (h, w) = size (default: the map's own shape): a
    patch map smoothed for the eye (it is flat over each stride cell), a coarse grid resized. The report names
    the places of the brightest spots from this same map (`words.evidence_places`), so the words match the
    picture."""
    import cv2

    pos = np.clip(np.asarray(heat, np.float32), 0, None)
    h, w = size or pos.shape[:2]
    top = float(pos.max()) if scale is None else float(scale)
    if top <= 0:
        return np.zeros((h, w), np.float32)
    if pos.shape == (h, w):
        up = np.asarray(cv2.GaussianBlur(pos / top, (0, 0), 0.03 * h), np.float32)
        up = up / max(float(up.max()), 1e-6)
    else:
        up = np.asarray(cv2.resize(pos / top, (w, h), interpolation=cv2.INTER_CUBIC), np.float32)
    return up.clip(0, 1)


def stretched_grey(crop: NDArray[np.uint8], mask: NDArray[np.bool_] | None = None) -> NDArray[np.float32]:
    """The crop's brightness, 0..255, with the face's own range (`STRETCH` percentiles inside `mask`) stretched
    to the full scale, so that a face filmed in the dark is not drawn nearly black under the colour."""
    grey = crop.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    inside = grey[np.asarray(mask, bool)] if mask is not None and np.any(mask) else grey.ravel()
    lo, hi = np.percentile(inside, STRETCH)
    if hi - lo < 1:
        return grey
    return ((grey - lo) * (255.0 / (hi - lo))).clip(0, 255)


def overlay(crop: NDArray[np.uint8], heat: NDArray[np.float32], scale: float | None = None,
            cmap: str = "inferno", mask: NDArray[np.bool_] | None = None) -> NDArray[np.uint8]:
    """A new image: the crop in grey (so colour means evidence only; its contrast stretched, `stretched_grey`)
    with the positive part of `heat` drawn over it in `cmap`, opaque where the drop is largest; outside `mask`
    (not examined) the picture is darkened. A map with no positive evidence gives an unchanged copy of the crop.

    heat: (h, w) or a coarser grid, resized to the crop; scale: the drop shown at full strength (None: this map's
    own maximum, so every map uses the full colour scale).
    """
    import matplotlib

    h, w = crop.shape[:2]
    pos = np.clip(np.asarray(heat, np.float32), 0, None)
    top = float(pos.max()) if scale is None else float(scale)
    if top <= 0:  # nothing raised the score: the face as it is
        return crop.copy()
    grey = stretched_grey(crop, mask)
    base = np.repeat(grey[..., None], 3, axis=2) * 0.8
    if mask is not None:
        base[~np.asarray(mask, bool)] *= 0.45
    up = shown_evidence(heat, (h, w), scale)
    if mask is not None:
        up = up * np.asarray(mask, np.float32)
    up = up.clip(0, 1)
    colours = matplotlib.colormaps[cmap](up)[..., :3] * 255
    alpha = (0.9 * np.sqrt(up))[..., None]  # sqrt: the moderate evidence around the peak stays visible
    return (base * (1 - alpha) + colours * alpha).round().clip(0, 255).astype(np.uint8)


def mass_inside(heat: NDArray[np.float32], region: NDArray[np.bool_]) -> float | None:
    """The share of a map's positive evidence that lies inside `region` (None for a map without any): how the
    heatmaps' localisation is measured against self-blended faces whose blend mask is known (docs/benchmarks.md).

        >>> heat = np.zeros((4, 4), np.float32); heat[0, 0] = 3; heat[3, 3] = 1
        >>> region = np.zeros((4, 4), bool); region[:2, :2] = True
        >>> mass_inside(heat, region)
        0.75
    """
    h = np.asarray(heat, np.float32)
    if h.shape != np.shape(region):
        import cv2

        h = np.asarray(cv2.resize(h, np.shape(region)[::-1], interpolation=cv2.INTER_NEAREST), np.float32)
    pos = np.clip(h, 0, None)
    total = float(pos.sum())
    return None if total <= 0 else float(pos[np.asarray(region, bool)].sum()) / total
