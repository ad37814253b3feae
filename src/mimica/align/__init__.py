"""The one face alignment: a similarity warp of five landmarks onto a named template.

Training, inference, heatmaps and the swap all crop faces through `align_face`, so what the model sees at
inference is exactly what it was trained on. The recipe (template, margin, size) travels in the model card.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from numpy.typing import NDArray

#: ArcFace's five-point template for a 112x112 crop (InsightFace), in the order of `mimica.faces.POINTS5`
ARCFACE_112 = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    np.float32,
)
TEMPLATES: dict[str, tuple[NDArray[np.float32], int]] = {"arcface": (ARCFACE_112, 112)}


@dataclass(frozen=True)
class AlignRecipe:
    """size: output side in pixels; margin: how much wider than the template's tight face box the crop is
    (1.0 = ArcFace's crop, which cuts the forehead and chin; larger keeps the face outline, where blending
    boundaries sit)."""

    size: int = 128
    margin: float = 1.3
    template: str = "arcface"

    def target_points(self) -> NDArray[np.float32]:
        pts, base = TEMPLATES[self.template]
        unit = pts / base - 0.5
        return ((unit / self.margin + 0.5) * self.size).astype(np.float32)


def align_matrix(points5: NDArray[np.float32], recipe: AlignRecipe) -> NDArray[np.float64]:
    """2x3 similarity transform taking image pixels to crop pixels (least squares on the five points)."""
    m, _ = cv2.estimateAffinePartial2D(
        np.asarray(points5, np.float32), recipe.target_points(), method=cv2.LMEDS
    )
    if m is None:  # degenerate points: fall back to plain least squares (Umeyama without reflection)
        src = np.asarray(points5, np.float64)
        dst = recipe.target_points().astype(np.float64)
        m = _umeyama(src, dst)
    return np.asarray(m, np.float64)


def _umeyama(src: NDArray[np.float64], dst: NDArray[np.float64]) -> NDArray[np.float64]:
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    u, sig, vt = np.linalg.svd(d.T @ s / len(src))
    r = u @ vt
    if np.linalg.det(r) < 0:
        u[:, -1] *= -1
        r = u @ vt
    var = (s**2).sum() / len(src)
    scale = sig.sum() / max(var, 1e-9)
    t = mu_d - scale * r @ mu_s
    return np.hstack([scale * r, t[:, None]])


def align_face(
    image: NDArray[np.uint8], points5: NDArray[np.float32], recipe: AlignRecipe
) -> tuple[NDArray[np.uint8], NDArray[np.float64]]:
    """The aligned crop (size, size, 3) and the matrix that made it."""
    m = align_matrix(points5, recipe)
    crop = cv2.warpAffine(
        image, m, (recipe.size, recipe.size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101
    )
    return np.asarray(crop, np.uint8), m


def transform_points(points: NDArray[np.float32], matrix: NDArray[np.float64]) -> NDArray[np.float32]:
    """Applies a 2x3 affine matrix to points (..., 2)."""
    pts = np.asarray(points, np.float64)
    return (pts @ matrix[:, :2].T + matrix[:, 2]).astype(np.float32)


def invert(matrix: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.asarray(cv2.invertAffineTransform(matrix), np.float64)


def crop_faces(
    image: NDArray[np.uint8], points5: NDArray[np.float32], recipe: AlignRecipe
) -> tuple[NDArray[np.uint8], NDArray[np.float64]]:
    """Aligned crops (n, size, size, 3) and their matrices (n, 2, 3) for every face's five points (n, 5, 2)."""
    n = len(points5)
    crops = np.zeros((n, recipe.size, recipe.size, 3), np.uint8)
    mats = np.zeros((n, 2, 3), np.float64)
    for i in range(n):
        crops[i], mats[i] = align_face(image, points5[i], recipe)
    return crops, mats
