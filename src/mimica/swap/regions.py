"""The face's regions on the FaceMesh topology: skin, eyes, brows, lips and the open mouth, as masks.

Colour transfer must touch skin only (a swap whose eyes, teeth and lips take the skin's colour shift looks
painted), and the light estimate must come from skin only (the target's dark brows and eyes are its identity,
not its shading). The loops are mediapipe's FACEMESH_* contours, ordered.
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

#: subject's right eye (image left in a frontal face), lid contour, closed loop
RIGHT_EYE = (33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246)
#: subject's left eye, lid contour
LEFT_EYE = (362, 382, 381, 380, 374, 373, 390, 249, 263, 466, 388, 387, 386, 385, 384, 398)
#: eyebrows: upper edge then lower edge back
RIGHT_BROW = (70, 63, 105, 66, 107, 55, 65, 52, 53, 46)
LEFT_BROW = (300, 293, 334, 296, 336, 285, 295, 282, 283, 276)
#: outer lip contour
OUTER_LIPS = (61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 409, 270, 269, 267, 0, 37, 39, 40, 185)
#: inner lip contour: the hole the mouth opens
INNER_LIPS = (78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 415, 310, 311, 312, 13, 82, 81, 80, 191)
#: corners that carry each feature's own frame (expression is kept relative to them)
RIGHT_EYE_CORNERS = (33, 133)
LEFT_EYE_CORNERS = (362, 263)
MOUTH_CORNERS = (61, 291)
#: upper and lower lid / lip midpoints: the openings the expression benchmark reads
RIGHT_EYE_LIDS = (159, 145)
LEFT_EYE_LIDS = (386, 374)
MOUTH_LIPS = (13, 14)

#: holes of the FaceMesh tessellation, which the source's skin texture does not cover
HOLES = (RIGHT_EYE, LEFT_EYE, INNER_LIPS)


def fill_loops(shape: tuple[int, ...], pts: NDArray[np.float32], loops) -> NDArray[np.float32]:
    """A 0/1 mask of the polygons that the mesh's `loops` (lists of point indices) outline, drawn at quarter-pixel
    precision."""
    m = np.zeros(shape[:2], np.float32)
    for loop in loops:
        cv2.fillPoly(m, [np.rint(pts[list(loop)] * 4).astype(np.int32)], 1.0, lineType=cv2.LINE_8, shift=2)
    return m


def region_masks(mesh: NDArray[np.float32], shape: tuple[int, ...]) -> dict[str, NDArray[np.float32]]:
    """{name: (h, w) float mask in {0, 1}} for mesh (468, 2) in the pixels of an (h, w) picture: "eyes", "brows",
    "lips" (the lip band, outer contour minus the opening), "mouth" (the opening: teeth, tongue), "features"
    (all four, grown by 2% of the face size) and "skin" (inside the face outline, minus the features)."""
    from mimica.faces.landmarks import FACE_OVAL

    h, w = shape[:2]
    eyes = fill_loops((h, w), mesh, (RIGHT_EYE, LEFT_EYE))
    brows = fill_loops((h, w), mesh, (RIGHT_BROW, LEFT_BROW))
    mouth = fill_loops((h, w), mesh, (INNER_LIPS,))
    lips = np.clip(fill_loops((h, w), mesh, (OUTER_LIPS,)) - mouth, 0, 1)
    face = fill_loops((h, w), mesh, (FACE_OVAL,))
    features = np.maximum.reduce([eyes, brows, mouth, lips])
    grow = max(1, int(round(0.02 * float(np.ptp(mesh, axis=0).max()))))
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * grow + 1, 2 * grow + 1))
    features = cv2.dilate(features.astype(np.uint8), k).astype(np.float32)  # 0/1: uint8 is faster, the same
    skin = np.clip(face - features, 0, 1)
    return {"eyes": eyes, "brows": brows, "lips": lips, "mouth": mouth, "features": features, "skin": skin}


def openings(mesh: NDArray[np.float32]) -> NDArray[np.float32]:
    """(right eye, left eye, mouth) openings: lid (lip) gap over the feature's width; what expression is made of
    and what a swap must keep from the target."""
    out = []
    for lids, corners in ((RIGHT_EYE_LIDS, RIGHT_EYE_CORNERS), (LEFT_EYE_LIDS, LEFT_EYE_CORNERS),
                          (MOUTH_LIPS, MOUTH_CORNERS)):  # fmt: skip
        gap = float(np.linalg.norm(mesh[lids[0]] - mesh[lids[1]]))
        width = float(np.linalg.norm(mesh[corners[0]] - mesh[corners[1]]))
        out.append(gap / max(width, 1e-6))
    return np.asarray(out, np.float32)
