"""Cues over time (mimica.models.temporal) on synthetic tracks whose answers are known: a background that never
changes against one with sensor noise, eyes that close, a clip cropped to the face."""

from __future__ import annotations

import numpy as np
import pytest

from mimica.models.temporal import FEATURES, LEFT_EYELIDS, RIGHT_EYELIDS, track_features

N = 10


def mesh_at(x: float, y: float, eye_open: float = 1.0) -> np.ndarray:
    """A 468-point mesh laid out on a grid (inter-ocular distance from the named eye corners), with eyelids
    apart by `eye_open` x 6 px."""
    rng = np.random.default_rng(0)
    m = rng.uniform(-30, 30, (468, 2)).astype(np.float32)
    m[33], m[133], m[362], m[263] = (-30, 0), (-10, 0), (10, 0), (30, 0)
    for (top, bottom), cx in ((RIGHT_EYELIDS, -20), (LEFT_EYELIDS, 20)):
        m[top], m[bottom] = (cx, -3 * eye_open), (cx, 3 * eye_open)
    return m + np.array([x, y], np.float32)


def track(still: bool, blink: bool = False, grey_side: tuple[int, int] = (120, 160),
          box: tuple[int, int, int, int] = (60, 30, 100, 70)) -> dict:
    rng = np.random.default_rng(1)
    base = rng.integers(40, 200, grey_side, dtype=np.uint8)
    greys, boxes, meshes, crops = [], [], [], []
    for k in range(N):
        g = base.copy() if still else np.clip(base + rng.normal(0, 4, base.shape), 0, 255).astype(np.uint8)
        x1, y1, x2, y2 = box[0] + k, box[1], box[2] + k, box[3]
        face = g[y1:y2, x1:x2]
        face[:] = rng.integers(0, 255, face.shape, dtype=np.uint8)  # the face changes every frame
        greys.append(g)
        boxes.append(np.array([x1, y1, x2, y2], np.float32))
        meshes.append(mesh_at(80 + k, 50, 0.1 if blink and k == 5 else 1.0))
        crops.append(rng.integers(0, 255, (32, 32, 3), dtype=np.uint8))
    return {"times": [0.1 * k for k in range(N)], "boxes": boxes, "mesh": meshes, "crops": np.stack(crops),
            "grey": greys, "grey_scale": [1.0] * N}


def feats(**kw: object) -> dict[str, float]:
    return dict(zip(FEATURES, track_features(**track(**kw)), strict=True))  # type: ignore[arg-type]


def test_a_background_that_never_changes() -> None:
    still, noisy = feats(still=True), feats(still=False)
    assert still["bg_still"] == pytest.approx(1.0)
    assert noisy["bg_still"] < 0.5
    assert still["bg_face_motion"] < noisy["bg_face_motion"]


def test_blinks_show_in_the_eye_opening() -> None:
    assert feats(still=True, blink=True)["blink_range"] > 0.8
    assert feats(still=True)["blink_range"] == pytest.approx(0.0, abs=1e-6)


def test_face_motion_is_a_rate_in_interocular_distances() -> None:
    # the face moves 1 px per 0.1 s and the eyes are 40 px apart: 0.25 inter-ocular distances per second
    assert feats(still=True)["face_motion"] == pytest.approx(1 / 40 / 0.1, rel=1e-3)


def test_a_face_filling_the_frame_has_no_background() -> None:
    f = feats(still=True, grey_side=(80, 60), box=(0, 4, 50, 76))
    assert np.isnan(f["bg_still"]) and np.isnan(f["bg_face_motion"])
    assert not np.isnan(f["face_motion"])


def test_one_face_is_not_a_track() -> None:
    t = track(still=True)
    one = {k: (v[:1] if k != "crops" else v[:1]) for k, v in t.items()}
    assert np.isnan(track_features(**one)).all()  # type: ignore[arg-type]
