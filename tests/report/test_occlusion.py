from __future__ import annotations

import numpy as np
import pytest
from tests.report.helpers import BAND, tiny_model

from mimica.models import load_model
from mimica.report.occlusion import log_odds, occlusion_maps, overlay


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    d = tmp_path_factory.mktemp("occl")
    return {
        "pos": load_model(tiny_model(d, a=3.0, name="pos")),
        "neg": load_model(tiny_model(d, a=-3.0, name="neg")),
        "bgr": load_model(tiny_model(d, mean=(0.2, 0.5, 0.8), color_order="BGR", name="bgr")),
    }


def _inside(grid: int = 8, size: int = 128) -> np.ndarray:
    """Cells of the grid that overlap the tiny model's band."""
    cell = size // grid
    mask = np.zeros((grid, grid), bool)
    for i in range(grid):
        for j in range(grid):
            rows, cols = range(i * cell, (i + 1) * cell), range(j * cell, (j + 1) * cell)
            mask[i, j] = bool(set(rows) & set(range(BAND[0].start, BAND[0].stop))) and bool(
                set(cols) & set(range(BAND[1].start, BAND[1].stop)))
    return mask


def test_map_lights_up_where_the_model_looks(models):
    crops = np.full((2, 128, 128, 3), 230, np.uint8)  # bright: positive logit, so the band is evidence of `fake`
    maps = occlusion_maps(models["pos"], crops)
    assert maps.shape == (2, 8, 8)
    inside = _inside()
    assert np.all(maps[:, ~inside] == 0)
    assert np.all(maps[:, inside] > 0)
    # the drops add up to the whole evidence: hiding every cell of the band brings the log-odds to 0
    base = log_odds(models["pos"], models["pos"].logits(crops))
    np.testing.assert_allclose(maps[0].sum(), base[0], rtol=1e-2)  # the patch is 128, not 127.5


def test_sign_follows_the_calibration_not_the_raw_logit(models):
    """A Platt fit with a negative slope turns the logit around; the map must still point to `fake`."""
    crops = np.full((1, 128, 128, 3), 230, np.uint8)
    pos, neg = occlusion_maps(models["pos"], crops), occlusion_maps(models["neg"], crops)
    np.testing.assert_allclose(neg, -pos, atol=1e-6)
    assert models["neg"].predict(crops)[0] < 0.5 and neg[0][_inside()].max() < 0


@pytest.mark.parametrize("name", ["pos", "bgr"])
def test_grey_patch_is_the_models_mean(models, name):
    """Occluding with the card's mean gives the model zero signal, in either colour order: a crop that is the
    mean colour everywhere has nothing to lose."""
    clf = models[name]
    mean = np.asarray(clf.card.input.mean) * 255
    rgb = mean[::-1] if clf.card.input.color_order == "BGR" else mean
    crops = np.broadcast_to(rgb.round().astype(np.uint8), (1, 128, 128, 3)).copy()
    assert abs(clf.logits(crops)[0]) < 0.01  # this crop really is "no signal" for the model
    assert np.abs(occlusion_maps(clf, crops)).max() < 1e-3


def test_empty_and_bad_input(models):
    assert occlusion_maps(models["pos"], np.zeros((0, 128, 128, 3), np.uint8)).shape == (0, 8, 8)
    with pytest.raises(ValueError, match="expected crops"):
        occlusion_maps(models["pos"], np.zeros((128, 128, 3), np.uint8))


def test_overlay_returns_a_new_picture():
    crop = np.full((128, 128, 3), 100, np.uint8)
    heat = np.zeros((8, 8), np.float32)
    same = overlay(crop, heat)
    assert same is not crop and np.array_equal(same, crop)
    heat[2, 3] = 2.0
    out = overlay(crop, heat)
    assert out.shape == crop.shape and out.dtype == np.uint8
    assert np.all(crop == 100)  # input untouched
    assert not np.array_equal(out[40, 56], out[120, 5])  # hot cell differs from a cold corner
