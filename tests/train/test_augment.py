"""Format augmentations: shapes kept, inputs untouched, each one changes what it should and by how much."""

from __future__ import annotations

import numpy as np
import pytest

from mimica.train.augment import DEFAULT_AUG, FormatAugment, crop_window, degrade, h264, jpeg


def face_like(size: int = 96, seed: int = 0) -> np.ndarray:
    """Smooth shapes plus fine texture: compression removes the texture first."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:size, :size] / size
    base = np.stack([200 * x, 150 * y + 50, 120 + 60 * np.sin(6 * x)], -1)
    return np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("size", [96, 75])
def test_degrade_keeps_shape_dtype_and_input(size: int) -> None:
    img = face_like(size)
    before = img.copy()
    for seed in range(12):
        out = degrade(img, np.random.default_rng(seed))
        assert out.shape == img.shape and out.dtype == np.uint8
        assert out is not img
    np.testing.assert_array_equal(img, before)


def test_degrade_off_is_identity_and_default_changes_most_images() -> None:
    img = face_like()
    assert np.array_equal(degrade(img, np.random.default_rng(0), FormatAugment.none()), img)
    changed = sum(not np.array_equal(degrade(img, np.random.default_rng(s)), img) for s in range(20))
    assert changed >= 14  # compression alone applies with probability 0.85


@pytest.mark.parametrize("codec", ["jpeg", "h264"])
def test_stronger_compression_loses_more(codec: str) -> None:
    img = face_like()
    fn, mild, harsh = (jpeg, 95, 30) if codec == "jpeg" else (h264, 18, 40)
    err_mild = np.abs(fn(img, mild).astype(int) - img).mean()
    err_harsh = np.abs(fn(img, harsh).astype(int) - img).mean()
    assert 0 < err_mild < err_harsh


@pytest.mark.parametrize("codec", [jpeg, h264])
def test_codecs_keep_colours_and_odd_sizes(codec) -> None:  # type: ignore[no-untyped-def]
    """RGB in, RGB out (a BGR mix-up turns red blue); odd sides survive H.264's even-size rule."""
    red = np.zeros((33, 47, 3), np.uint8)
    red[..., 0] = 220
    out = codec(red, 20 if codec is h264 else 90)
    assert out.shape == red.shape
    assert out[..., 0].mean() > 195 and out[..., 2].mean() < 25


def test_centre_window_is_the_middle_of_the_cached_crop() -> None:
    img = face_like(176)
    np.testing.assert_array_equal(crop_window(img, 160, None), img[8:168, 8:168])
    np.testing.assert_array_equal(crop_window(img, 160, np.random.default_rng(0), FormatAugment.none()),
                                  img[8:168, 8:168])


def test_jittered_windows_vary_in_zoom_aspect_and_position() -> None:
    img = face_like(176)
    outs = [crop_window(img, 160, np.random.default_rng(s), DEFAULT_AUG) for s in range(6)]
    assert all(o.shape == (160, 160, 3) for o in outs)
    centre = img[8:168, 8:168].astype(int)
    diffs = [np.abs(o.astype(int) - centre).mean() for o in outs]
    assert min(diffs) > 0.5  # each window differs from the centre crop
    assert len({round(d, 3) for d in diffs}) == len(diffs)  # and from each other
