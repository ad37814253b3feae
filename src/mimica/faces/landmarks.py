"""Named landmark indices of the 468-point FaceMesh topology (never bare numbers elsewhere)."""

from __future__ import annotations

# Pairs are averaged to get the eye centres; single indices are used as they are.
RIGHT_EYE_CORNERS = (33, 133)  # subject's right eye: outer, inner corner
LEFT_EYE_CORNERS = (362, 263)  # subject's left eye: inner, outer corner
NOSE_TIP = 1
MOUTH_RIGHT = 61
MOUTH_LEFT = 291

#: order of the five alignment points, same as the ArcFace template
POINTS5 = ("right_eye", "left_eye", "nose_tip", "mouth_right", "mouth_left")

#: upper edges of the eyebrows (subject's right, then left) and the chin's lowest point
BROWS_UPPER = (70, 63, 105, 66, 107, 336, 296, 334, 293, 300)
CHIN = 152

#: the face outline, clockwise from the forehead (FaceMesh FACEMESH_FACE_OVAL, ordered)
FACE_OVAL = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
    148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip
