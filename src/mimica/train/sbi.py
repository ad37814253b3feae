"""Self-blended images (Shiohara and Yamasaki, CVPR 2022, arXiv 2204.08376), written from the paper.

A pseudo-fake is made from one real face: a copy of it ("source") gets colour and frequency changes and a small
shift/scale, then is blended back into the original ("target") through a soft mask built from the convex hull of
the facial landmarks, deformed and blurred. The detector learns the blending boundary and the colour/frequency
mismatch that every face swap leaves, without seeing one real deepfake.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from mimica.faces.landmarks import FACE_OVAL

#: blend strengths; 1 appears more often, as in the paper's choice of blend ratios
BLEND_RATIOS = (0.25, 0.5, 0.75, 1.0, 1.0, 1.0)


def hull_mask(landmarks: NDArray[np.float32], size: int, shrink: float = 1.0) -> NDArray[np.float32]:
    """Filled convex hull of the face outline, float 0..1 (size, size); `shrink` < 1 pulls the outline towards
    its centre (a blend that stops inside the face, as swaps with an inner-face mask do)."""
    pts = np.asarray(landmarks, np.float32)[list(FACE_OVAL)]
    centre = pts.mean(0)
    pts = centre + (pts - centre) * shrink
    hull = cv2.convexHull(np.round(pts).astype(np.int32))
    mask = np.zeros((size, size), np.float32)
    cv2.fillConvexPoly(mask, hull, 1.0)
    return mask


def _odd(k: float) -> int:
    k = max(int(k), 1)
    return k if k % 2 else k + 1


def deform_mask(mask: NDArray[np.float32], rng: np.random.Generator) -> NDArray[np.float32]:
    """Elastic deformation, random erosion/dilation, then two random Gaussian blurs: the boundary varies
    from sharp to very soft, as in the paper's mask augmentation."""
    s = mask.shape[0]
    # elastic: a smooth random displacement field
    grid = rng.normal(0, 1, (2, 5, 5)).astype(np.float32) * s * 0.02
    dx = cv2.resize(grid[0], (s, s), interpolation=cv2.INTER_CUBIC)
    dy = cv2.resize(grid[1], (s, s), interpolation=cv2.INTER_CUBIC)
    xs, ys = np.meshgrid(np.arange(s, dtype=np.float32), np.arange(s, dtype=np.float32))
    mask = np.asarray(cv2.remap(mask, xs + dx, ys + dy, cv2.INTER_LINEAR, borderValue=0), np.float32)
    # shrink or grow the region
    k = int(rng.integers(0, max(2, s // 24)))
    if k:
        kernel = np.ones((k, k), np.uint8)
        mask = np.asarray(cv2.erode(mask, kernel) if rng.random() < 0.5 else cv2.dilate(mask, kernel), np.float32)
    # blur twice with random kernels; keep the core at full strength after the first blur
    k1 = _odd(rng.uniform(0.03, 0.12) * s)
    blurred = cv2.GaussianBlur(mask, (k1, k1), 0)
    if rng.random() < 0.5:  # cut the soft rim: the second blur then starts inside the hull
        blurred[blurred < 1] = 0
    k2 = _odd(rng.uniform(0.03, 0.12) * s)
    mask = np.asarray(cv2.GaussianBlur(blurred if blurred.max() > 0 else mask, (k2, k2), 0), np.float32)
    return np.clip(mask / max(mask.max(), 1e-6), 0, 1)


def color_transform(img: NDArray[np.uint8], rng: np.random.Generator) -> NDArray[np.uint8]:
    """RGB shift, hue/saturation/value shift, brightness/contrast: each with probability 0.3-0.5."""
    out = img.astype(np.float32)
    if rng.random() < 0.3:
        out += rng.uniform(-20, 20, 3).astype(np.float32)
    if rng.random() < 0.3:
        hsv = cv2.cvtColor(np.clip(out, 0, 255).astype(np.uint8), cv2.COLOR_RGB2HSV).astype(np.float32)
        hsv[..., 0] = (hsv[..., 0] + rng.uniform(-0.3, 0.3) * 30) % 180
        hsv[..., 1] = np.clip(hsv[..., 1] + rng.uniform(-0.3, 0.3) * 255 * 0.3, 0, 255)
        hsv[..., 2] = np.clip(hsv[..., 2] + rng.uniform(-0.3, 0.3) * 255 * 0.3, 0, 255)
        out = cv2.cvtColor(hsv.astype(np.uint8), cv2.COLOR_HSV2RGB).astype(np.float32)
    if rng.random() < 0.3:
        alpha = rng.uniform(0.9, 1.1)
        beta = rng.uniform(-0.1, 0.1) * 255
        out = out * alpha + beta
    return np.clip(out, 0, 255).astype(np.uint8)


def frequency_transform(img: NDArray[np.uint8], rng: np.random.Generator) -> NDArray[np.uint8]:
    """Either downscale-and-back (lost high frequencies) or sharpen (added ones)."""
    s = img.shape[0]
    if rng.random() < 0.5:
        f = rng.uniform(0.25, 0.6)
        small = cv2.resize(img, (max(8, int(s * f)),) * 2, interpolation=cv2.INTER_AREA)
        return np.asarray(cv2.resize(small, (s, s), interpolation=cv2.INTER_LINEAR), np.uint8)
    blur = cv2.GaussianBlur(img, (0, 0), 1.0)
    amount = rng.uniform(0.3, 1.0)
    return np.clip(img.astype(np.float32) * (1 + amount) - blur.astype(np.float32) * amount, 0, 255).astype(
        np.uint8
    )


def shift_scale(img: NDArray[np.uint8], rng: np.random.Generator) -> NDArray[np.uint8]:
    """Moves the source a little: the blended face no longer lines up perfectly with the target."""
    s = img.shape[0]
    scale = rng.uniform(0.95, 1.05)
    tx, ty = rng.uniform(-0.03, 0.03, 2) * s
    m = np.array([[scale, 0, (1 - scale) * s / 2 + tx], [0, scale, (1 - scale) * s / 2 + ty]], np.float32)
    return np.asarray(cv2.warpAffine(img, m, (s, s), borderMode=cv2.BORDER_REFLECT_101), np.uint8)


def self_blend(
    img: NDArray[np.uint8], landmarks: NDArray[np.float32], rng: np.random.Generator
) -> tuple[NDArray[np.uint8], NDArray[np.float32]]:
    """A pseudo-fake of one real face crop and the blending mask used (0..1, for inspection and tests)."""
    source = img.copy()
    target = img.copy()
    # the paper alters either source or target; altering the source is enough and keeps the target real
    source = color_transform(source, rng)
    source = frequency_transform(source, rng) if rng.random() < 0.5 else source
    source = shift_scale(source, rng)
    if np.array_equal(source, target):  # every random change skipped: force a visible colour change
        source = np.clip(source.astype(np.int16) + 12, 0, 255).astype(np.uint8)
    shrink = 1.0 if rng.random() < 0.5 else float(rng.uniform(0.75, 1.0))
    mask = deform_mask(hull_mask(landmarks, img.shape[0], shrink), rng)
    mask *= float(rng.choice(BLEND_RATIOS))
    m3 = mask[..., None]
    fake = np.clip(source.astype(np.float32) * m3 + target.astype(np.float32) * (1 - m3), 0, 255).astype(np.uint8)
    return fake, mask
