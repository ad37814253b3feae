"""The one alignment: five points go onto the recipe's template, the crop has the recipe's size, the matrix
maps image pixels to crop pixels (and its inverse maps back), and the pixels follow the points."""

from __future__ import annotations

import numpy as np
import pytest

from mimica.align import (
    ARCFACE_112,
    AlignRecipe,
    align_face,
    align_matrix,
    crop_faces,
    invert,
    transform_points,
)

RECIPES = [
    pytest.param(AlignRecipe(), id="default-128-1.3"),
    pytest.param(AlignRecipe(size=112, margin=1.0), id="arcface-112"),
    pytest.param(AlignRecipe(size=256, margin=1.6), id="256-1.6"),
    pytest.param(AlignRecipe(size=64, margin=1.3), id="64"),
]

#: (scale, rotation in degrees, translation): where a face sits in a picture relative to the template
POSES = [
    pytest.param(1.0, 0.0, (0, 0), id="identity"),
    pytest.param(3.0, 0.0, (200, 150), id="big"),
    pytest.param(0.6, 25.0, (40, 300), id="small-tilted"),
    pytest.param(2.2, -170.0, (700, 500), id="upside-down"),
]


def similarity(scale: float, degrees: float, t: tuple[float, float]) -> np.ndarray:
    a = np.deg2rad(degrees)
    r = scale * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    return np.hstack([r, np.array(t, np.float64)[:, None]])


def face_points(scale: float, degrees: float, t: tuple[float, float]) -> np.ndarray:
    """Five points of a face placed in a picture: ArcFace's template moved by a similarity."""
    return transform_points(ARCFACE_112, similarity(scale, degrees, t))


@pytest.mark.parametrize("recipe", RECIPES)
@pytest.mark.parametrize(("scale", "degrees", "t"), POSES)
def test_points_map_onto_the_template(recipe: AlignRecipe, scale: float, degrees: float, t: tuple) -> None:
    pts = face_points(scale, degrees, t)
    m = align_matrix(pts, recipe)
    assert m.shape == (2, 3)
    np.testing.assert_allclose(transform_points(pts, m), recipe.target_points(), atol=1e-2)


@pytest.mark.parametrize("recipe", RECIPES)
def test_noisy_points_land_near_the_template(recipe: AlignRecipe) -> None:
    """Real landmarks are not an exact similarity of the template: least squares still lands within the
    noise, scaled into crop pixels."""
    rng = np.random.default_rng(0)
    scale = 2.0
    pts = face_points(scale, 10, (300, 200)) + rng.normal(0, 1.0, (5, 2)).astype(np.float32)
    out = transform_points(pts, align_matrix(pts, recipe))
    crop_px_per_image_px = recipe.size / 112 / recipe.margin / scale
    assert np.abs(out - recipe.target_points()).max() < 4 * crop_px_per_image_px + 0.5


def test_target_points_follow_size_and_margin() -> None:
    np.testing.assert_allclose(AlignRecipe(size=112, margin=1.0).target_points(), ARCFACE_112, atol=1e-4)
    np.testing.assert_allclose(AlignRecipe(size=224, margin=1.0).target_points(), ARCFACE_112 * 2, atol=1e-4)
    # a wider margin pulls the points towards the centre: the face is smaller in the crop
    tight, wide = AlignRecipe(size=128, margin=1.0).target_points(), AlignRecipe(size=128, margin=2.0).target_points()
    np.testing.assert_allclose(wide - 64, (tight - 64) / 2, atol=1e-4)


def test_unknown_template_is_an_error() -> None:
    with pytest.raises(KeyError):
        AlignRecipe(template="dlib68").target_points()


@pytest.mark.parametrize("recipe", RECIPES)
@pytest.mark.parametrize("image_shape", [(480, 640, 3), (50, 40, 3)], ids=["vga", "tiny"])
def test_crop_size(recipe: AlignRecipe, image_shape: tuple[int, int, int]) -> None:
    img = np.random.default_rng(1).integers(0, 256, image_shape, dtype=np.uint8)
    crop, m = align_face(img, face_points(0.4, 5, (10, 8)), recipe)
    assert crop.shape == (recipe.size, recipe.size, 3)
    assert crop.dtype == np.uint8
    assert m.shape == (2, 3)


@pytest.mark.parametrize(("scale", "degrees", "t"), POSES)
def test_invert_round_trip(scale: float, degrees: float, t: tuple) -> None:
    pts = face_points(scale, degrees, t)
    m = align_matrix(pts, AlignRecipe())
    back = transform_points(transform_points(pts, m), invert(m))
    np.testing.assert_allclose(back, pts, atol=1e-3)
    # and the composition is the identity on any point, not just the five
    grid = np.mgrid[0:500:50, 0:400:50].reshape(2, -1).T.astype(np.float32)
    np.testing.assert_allclose(transform_points(transform_points(grid, invert(m)), m), grid, atol=1e-3)


def test_pixels_follow_the_points() -> None:
    """A bright dot painted on the right eye of a tilted face ends up at the template's right eye."""
    recipe = AlignRecipe(size=128, margin=1.3)
    pts = face_points(2.5, 30, (220, 90))
    img = np.zeros((480, 640, 3), np.uint8)
    ex, ey = np.round(pts[0]).astype(int)
    img[ey - 3 : ey + 4, ex - 3 : ex + 4] = 255
    crop, _ = align_face(img, pts, recipe)
    ys, xs = np.nonzero(crop[..., 0] > 128)
    assert len(xs) > 0, "the dot is not in the crop"
    centre = np.array([xs.mean(), ys.mean()])
    np.testing.assert_allclose(centre, recipe.target_points()[0], atol=1.5)


def test_crop_faces_batches_align_face() -> None:
    rng = np.random.default_rng(2)
    img = rng.integers(0, 256, (300, 400, 3), dtype=np.uint8)
    recipe = AlignRecipe(size=64)
    pts = np.stack([face_points(1.0, 0, (20, 30)), face_points(1.3, -20, (200, 100))])
    crops, mats = crop_faces(img, pts, recipe)
    assert crops.shape == (2, 64, 64, 3) and mats.shape == (2, 2, 3)
    for i in range(2):
        c, m = align_face(img, pts[i], recipe)
        np.testing.assert_array_equal(crops[i], c)
        np.testing.assert_allclose(mats[i], m)


def test_crop_faces_of_no_face_is_empty() -> None:
    crops, mats = crop_faces(np.zeros((10, 10, 3), np.uint8), np.zeros((0, 5, 2), np.float32), AlignRecipe())
    assert crops.shape == (0, 128, 128, 3) and mats.shape == (0, 2, 3)


@pytest.mark.parametrize(
    "points",
    [np.full((5, 2), 40.0, np.float32), np.stack([np.arange(5) * 10.0, np.arange(5) * 10.0], 1).astype(np.float32)],
    ids=["one-spot", "collinear"],
)
def test_degenerate_points_give_a_finite_matrix(points: np.ndarray) -> None:
    """A detector glitch must not crash the scan: the matrix is finite and the crop has the recipe's size."""
    m = align_matrix(points, AlignRecipe())
    assert np.isfinite(m).all()
    crop, _ = align_face(np.zeros((100, 100, 3), np.uint8), points, AlignRecipe())
    assert crop.shape == (128, 128, 3)
