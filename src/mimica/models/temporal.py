"""Cues over time for faces generated whole: what a face track does between the sampled frames.

A talking head animated from one photo moves the face over a background that does not change at all, blinks
little or not at all, and its texture is re-synthesised every frame; a filmed face sits in a scene with sensor
noise and compression that change everywhere, and blinks. None of these is proof alone (a studio interview on a
tripod has a still background too), so they feed a small video-level head together with the frame model's score.

Every feature is a rate or a share, so that the spacing of the sampled frames (32 frames over 4 s or over 30 s)
changes them as little as possible. A feature that cannot be measured (a clip cropped to the face has no
background) is NaN; the head fills it with its training mean (`VideoHead`).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from numpy.typing import NDArray

from mimica.faces.landmarks import LEFT_EYE_CORNERS, MOUTH_LEFT, MOUTH_RIGHT, NOSE_TIP, RIGHT_EYE_CORNERS

#: eyelid midpoints (upper, lower) of the subject's right and left eye, and the inner lips (upper, lower)
RIGHT_EYELIDS = (159, 145)
LEFT_EYELIDS = (386, 374)
INNER_LIPS = (13, 14)

#: a background pixel counts as unchanged when its grey level moved at most this much between sampled frames
STILL_LEVELS = 1
#: the background is what lies outside the face box grown by this factor (and outside the column below it)
FACE_BOX_GROWTH = 1.4
#: below this share of the frame outside the face there is no background to measure. 1.8 and 12% left only 27 of
#: the talking set's 108 clips (most are cropped to the head) with a background; 1.4 and 5% leave 101, where
#: the background-to-face change reads 0.80 AUC alone (benchmarks in docs/benchmarks.md)
MIN_BACKGROUND_SHARE = 0.05

FEATURES: tuple[str, ...] = (
    "bg_still",  # share of background pixels unchanged between consecutive sampled frames (median over pairs)
    "bg_face_motion",  # log of background change over face change (grey levels per pixel)
    "face_motion",  # landmark speed in inter-ocular distances per second
    "mesh_jerk",  # second difference of the normalised mesh over its first difference (smoothness of motion)
    "texture_flicker",  # change of the face's fine detail between frames, over its level
    "detail_cv",  # variation of the face's fine detail over frames
    "blink_range",  # (max - min) / max of the eye opening: near 0 when the eyes never close
    "eye_cv",  # variation of the eye opening
    "mouth_cv",  # variation of the mouth opening
    "pose_std",  # spread of the head's yaw proxy (nose off the eyes' midline)
)


def _interocular(mesh: NDArray[np.float32]) -> float:
    r = mesh[list(RIGHT_EYE_CORNERS)].mean(0)
    left = mesh[list(LEFT_EYE_CORNERS)].mean(0)
    return max(float(np.linalg.norm(left - r)), 1e-3)


def _opening(mesh: NDArray[np.float32], lids: tuple[int, int], corners: tuple[int, int]) -> float:
    width = max(float(np.linalg.norm(mesh[corners[0]] - mesh[corners[1]])), 1e-3)
    return float(np.linalg.norm(mesh[lids[0]] - mesh[lids[1]])) / width


def _cv(x: NDArray[np.float64]) -> float:
    return float(np.std(x) / max(abs(float(np.mean(x))), 1e-6))


def _high_pass(crop: NDArray[np.uint8]) -> NDArray[np.float32]:
    grey = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return np.asarray(grey - cv2.GaussianBlur(grey, (0, 0), 1.5), np.float32)


def _background_mask(shape: tuple[int, int], box: NDArray[np.float32], scale: float) -> NDArray[np.bool_]:
    h, w = shape
    cx, cy = (box[0] + box[2]) / 2 * scale, (box[1] + box[3]) / 2 * scale
    half_w, half_h = (box[2] - box[0]) * scale * FACE_BOX_GROWTH / 2, (box[3] - box[1]) * scale * FACE_BOX_GROWTH / 2
    mask = np.ones((h, w), bool)
    # the body below the face moves with it: the background excludes the whole column under the face too
    mask[max(0, int(cy - half_h)):, max(0, int(cx - half_w)):min(w, int(cx + half_w) + 1)] = False
    return mask


def track_features(
    times: Sequence[float],
    boxes: Sequence[NDArray[np.float32]],
    mesh: Sequence[NDArray[np.float32]],
    crops: NDArray[np.uint8],
    grey: Sequence[NDArray[np.uint8]],
    grey_scale: Sequence[float],
) -> NDArray[np.float64]:
    """The FEATURES of one face track (n >= 2 faces), in order; NaN where a cue cannot be measured.

    times, boxes, mesh (frame pixels) and crops (aligned, any size) are per face; grey and grey_scale are the
    grey copy of each face's frame and its scale (grey pixels per frame pixel).
    """
    n = len(times)
    out = np.full(len(FEATURES), np.nan)
    if n < 2:
        return out
    f = dict.fromkeys(FEATURES, np.nan)
    t = np.asarray(times, np.float64)
    dt = np.maximum(np.diff(t), 1e-3)
    still, bg_change, face_change = [], [], []
    for k in range(n - 1):
        a, b = grey[k], grey[k + 1]
        if a.shape != b.shape:
            continue
        mask = (_background_mask(a.shape, boxes[k], grey_scale[k])
                & _background_mask(b.shape, boxes[k + 1], grey_scale[k + 1]))
        diff = np.abs(a.astype(np.int16) - b.astype(np.int16))
        x1, y1, x2, y2 = (np.asarray(boxes[k]) * grey_scale[k]).astype(int)
        inner = diff[max(0, y1):max(0, y2), max(0, x1):max(0, x2)]
        if inner.size:
            face_change.append(float(inner.mean()))
        if mask.mean() >= MIN_BACKGROUND_SHARE:
            still.append(float((diff[mask] <= STILL_LEVELS).mean()))
            bg_change.append(float(diff[mask].mean()))
    if still:
        f["bg_still"] = float(np.median(still))
    if bg_change and face_change:
        f["bg_face_motion"] = float(np.log((np.median(bg_change) + 0.05) / (np.median(face_change) + 0.05)))
    iod = np.array([_interocular(m) for m in mesh])
    norm = np.stack([(m - m[NOSE_TIP]) / d for m, d in zip(mesh, iod, strict=True)])  # pose-free-ish shape
    centres = np.stack([m.mean(0) for m in mesh])
    speed = np.linalg.norm(np.diff(centres, axis=0), axis=1) / iod[:-1] / dt
    f["face_motion"] = float(np.median(speed))
    if n >= 3:
        d1 = np.linalg.norm(np.diff(norm, axis=0), axis=2).mean(1)
        d2 = np.linalg.norm(np.diff(norm, n=2, axis=0), axis=2).mean(1)
        f["mesh_jerk"] = float(np.median(d2) / max(float(np.median(d1)), 1e-6))
    hp = [_high_pass(c) for c in crops]
    level = np.array([float(np.abs(h).mean()) for h in hp])
    flicker = [float(np.abs(hp[k + 1] - hp[k]).mean()) / max(level[k], 1e-3) for k in range(n - 1)]
    f["texture_flicker"] = float(np.median(flicker))
    f["detail_cv"] = _cv(level)
    eyes = np.array([(_opening(m, RIGHT_EYELIDS, RIGHT_EYE_CORNERS) + _opening(m, LEFT_EYELIDS, LEFT_EYE_CORNERS)) / 2
                     for m in mesh])
    f["blink_range"] = float((eyes.max() - eyes.min()) / max(eyes.max(), 1e-6))
    f["eye_cv"] = _cv(eyes)
    mouth = np.array([_opening(m, INNER_LIPS, (MOUTH_RIGHT, MOUTH_LEFT)) for m in mesh])
    f["mouth_cv"] = float(np.std(mouth))
    eye_mid = np.stack([(m[list(RIGHT_EYE_CORNERS)].mean(0) + m[list(LEFT_EYE_CORNERS)].mean(0)) / 2 for m in mesh])
    yaw = np.array([m[NOSE_TIP, 0] for m in mesh]) - eye_mid[:, 0]
    f["pose_std"] = float(np.std(yaw / iod))
    out[:] = [f[k] for k in FEATURES]
    return out
