"""Self-blended pseudo-fakes: the hull mask covers the face oval and nothing far outside it, a blend changes
pixels only under its mask, and the augmentations keep shape and dtype."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mimica.faces import FACE_OVAL
from mimica.train import sbi

SEEDS = list(range(6))


def _signed_distance(mesh: np.ndarray, size: int) -> np.ndarray:
    """Distance of every pixel centre to the convex hull of the face oval: > 0 inside, < 0 outside."""
    hull = cv2.convexHull(np.round(mesh[list(FACE_OVAL)]).astype(np.int32))
    return np.array([[cv2.pointPolygonTest(hull, (float(x), float(y)), True) for x in range(size)]
                     for y in range(size)])


def test_hull_mask_covers_the_face_oval(face_crop: tuple[np.ndarray, np.ndarray]) -> None:
    crop, mesh = face_crop
    s = crop.shape[0]
    mask = sbi.hull_mask(mesh, s)
    assert mask.shape == (s, s) and mask.dtype == np.float32
    assert set(np.unique(mask).tolist()) <= {0.0, 1.0}
    dist = _signed_distance(mesh, s)
    assert (mask[dist > 1.5] == 1).all(), "part of the face oval is not covered"
    assert (mask[dist < -1.5] == 0).all(), "the mask reaches outside the face oval"
    # on the astronaut's aligned crop the face is a large part of the picture, not a sliver or all of it
    assert 0.25 < mask.mean() < 0.8
    # every inner landmark (eyes, nose, mouth) is under the mask
    inner = np.round(np.delete(mesh, list(FACE_OVAL), axis=0)).astype(int)
    inner = inner[((inner >= 0) & (inner < s)).all(1)]
    assert mask[inner[:, 1], inner[:, 0]].mean() > 0.97


def test_hull_mask_of_an_ellipse() -> None:
    """Oval points on an ellipse of semi-axes 30 and 40 around (64, 60): the area is pi * 30 * 40."""
    mesh = np.full((468, 2), 64.0, np.float32)
    t = np.linspace(0, 2 * np.pi, len(FACE_OVAL), endpoint=False)
    mesh[list(FACE_OVAL)] = np.stack([64 + 30 * np.sin(t), 60 - 40 * np.cos(t)], 1)
    mask = sbi.hull_mask(mesh, 128)
    assert mask.sum() == pytest.approx(np.pi * 30 * 40, rel=0.05)
    assert mask[60, 64] == 1 and mask[60, 64 + 35] == 0 and mask[60 - 45, 64] == 0
    assert mask[:, :30].sum() == 0 and mask[:, 98:].sum() == 0


@pytest.mark.parametrize("seed", SEEDS)
def test_self_blend_changes_only_under_its_mask(face_crop: tuple[np.ndarray, np.ndarray], seed: int) -> None:
    crop, mesh = face_crop
    before = crop.copy()
    fake, mask = sbi.self_blend(crop, mesh, np.random.default_rng(seed))
    np.testing.assert_array_equal(crop, before)  # the input is not modified
    assert fake.shape == crop.shape and fake.dtype == np.uint8
    assert mask.shape == crop.shape[:2] and mask.dtype == np.float32
    assert mask.min() >= 0 and mask.max() <= 1 and mask.max() > 0
    diff = np.abs(fake.astype(int) - crop.astype(int)).max(axis=2)
    assert diff[mask == 0].max(initial=0) <= 1, "pixels changed where the mask is 0"
    assert diff.max() > 0, "the pseudo-fake is identical to the real face"
    # and the mask stays near the face: its bulk (> 0.5) lies within the oval grown by a tenth of the crop
    dist = _signed_distance(mesh, crop.shape[0])
    assert (dist[mask > 0.5] > -0.1 * crop.shape[0]).all()


def test_self_blend_is_reproducible(face_crop: tuple[np.ndarray, np.ndarray]) -> None:
    crop, mesh = face_crop
    a = sbi.self_blend(crop, mesh, np.random.default_rng(7))
    b = sbi.self_blend(crop, mesh, np.random.default_rng(7))
    c = sbi.self_blend(crop, mesh, np.random.default_rng(8))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("seed", SEEDS)
def test_deform_mask_stays_in_range(seed: int) -> None:
    mask = np.zeros((128, 128), np.float32)
    mask[30:100, 35:95] = 1
    out = sbi.deform_mask(mask, np.random.default_rng(seed))
    assert out.shape == mask.shape and out.dtype == np.float32
    assert out.min() >= 0 and out.max() == pytest.approx(1.0)
    assert out[0:5].max() < 0.05 and out[:, :5].max() < 0.05  # the border far from the region stays empty


AUGMENTATIONS = [
    pytest.param(sbi.color_transform, id="colour"),
    pytest.param(sbi.frequency_transform, id="frequency"),
    pytest.param(sbi.shift_scale, id="shift-scale"),
]


@pytest.mark.parametrize("fn", AUGMENTATIONS)
@pytest.mark.parametrize("size", [128, 64])
def test_augmentations_keep_shape_and_dtype(fn, size: int) -> None:  # type: ignore[no-untyped-def]
    img = np.random.default_rng(0).integers(0, 256, (size, size, 3), dtype=np.uint8)
    before = img.copy()
    for seed in SEEDS:
        out = fn(img, np.random.default_rng(seed))
        assert out.shape == img.shape and out.dtype == np.uint8
    np.testing.assert_array_equal(img, before)


def test_shrunk_hull_sits_inside_the_full_one(face_crop) -> None:  # type: ignore[no-untyped-def]
    _, mesh = face_crop
    full, small = sbi.hull_mask(mesh, 128), sbi.hull_mask(mesh, 128, shrink=0.8)
    assert 0.5 < small.sum() / full.sum() < 0.75  # area scales with shrink squared (0.64)
    assert (small <= full).all()
