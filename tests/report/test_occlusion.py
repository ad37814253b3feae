from __future__ import annotations

import numpy as np
import pytest
from tests.report.helpers import BAND, tiny_model

from mimica.models import load_model
from mimica.report.occlusion import evidence_maps, face_mask, log_odds, mass_inside, occlusion_maps, overlay


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


# --- evidence maps: overlapping patches over the face only ----------------------------------------------------

def test_evidence_maps_stay_inside_the_face_and_find_the_band(models):
    """The tiny model looks only at BAND; with the face mask covering the left half of the crop, the map is 0
    outside the mask, positive on the masked part of the band, and 0 on face pixels far from the band."""
    crops = np.full((1, 128, 128, 3), 230, np.uint8)
    mask = np.zeros((1, 128, 128), bool)
    mask[0, :, :64] = True
    maps = evidence_maps(models["pos"], crops, mask)
    assert maps.shape == (1, 128, 128)
    assert np.all(maps[0][~mask[0]] == 0)  # background and hair are never candidates
    band = np.zeros((128, 128), bool)
    band[BAND] = True
    assert np.all(maps[0][band & mask[0]] > 0)
    assert np.all(maps[0][:16, :64] == 0) and np.all(maps[0][96:, :64] == 0)  # no patch there touched the band
    assert mass_inside(maps[0], band) > 0.8  # the rest sits within one stride of the band (patches straddle it)
    # hiding only face pixels: the right half of the band keeps its evidence, so the map is weaker than the grid
    assert maps[0].max() < occlusion_maps(models["pos"], crops)[0].sum()


def test_evidence_maps_sign_and_input_checks(models):
    crops = np.full((1, 128, 128, 3), 230, np.uint8)
    full = np.ones((1, 128, 128), bool)
    pos, neg = evidence_maps(models["pos"], crops, full), evidence_maps(models["neg"], crops, full)
    np.testing.assert_allclose(neg, -pos, atol=1e-5)
    assert evidence_maps(models["pos"], crops[:0], full[:0]).shape == (0, 128, 128)
    with pytest.raises(ValueError, match="expected masks"):
        evidence_maps(models["pos"], crops, full[:, :64])
    assert not evidence_maps(models["pos"], crops, np.zeros_like(full)).any()  # no face: nothing examined


def test_face_mask_from_landmarks():
    from mimica.faces.landmarks import FACE_OVAL

    marks = np.zeros((468, 2), np.float32)
    angles = np.linspace(0, 2 * np.pi, len(FACE_OVAL), endpoint=False)
    marks[list(FACE_OVAL)] = np.stack([64 + 40 * np.cos(angles), 64 + 50 * np.sin(angles)], 1)
    mask = face_mask(marks, 128)
    assert mask[64, 64] and not mask[5, 5] and not mask[64, 120]
    assert abs(mask.mean() - np.pi * 40 * 50 / 128**2) < 0.02
    assert face_mask(np.zeros((0, 2), np.float32), 128).all()  # no landmarks: the whole crop
    assert face_mask(np.zeros((468, 2), np.float32), 128).all()  # degenerate hull: the whole crop


def test_overlay_keeps_colour_for_evidence_inside_the_mask():
    crop = np.full((128, 128, 3), 120, np.uint8)
    crop[..., 0] = 200  # a reddish face: the overlay draws it in grey, so colour means evidence
    heat = np.zeros((128, 128), np.float32)
    heat[40:72, 40:72] = 1.0
    mask = np.zeros((128, 128), bool)
    mask[20:100, 20:100] = True
    out = overlay(crop, heat, mask=mask)
    r, g, b = out[56, 56].astype(int)
    assert r > 200 and r - b > 60  # the hot spot is bright and coloured
    corner = out[5, 5].astype(int)
    assert corner[0] == corner[1] == corner[2] and corner[0] < 60  # outside the mask: grey and darkened
    inside_cold = out[25, 90].astype(int)
    assert inside_cold[0] == inside_cold[1] == inside_cold[2] and inside_cold[0] > corner[0]


def test_mass_inside():
    heat = np.zeros((8, 8), np.float32)
    heat[0, 0], heat[7, 7] = 3.0, -5.0  # negative evidence does not count
    region = np.zeros((8, 8), bool)
    region[0, 0] = True
    assert mass_inside(heat, region) == 1.0
    assert mass_inside(np.zeros((8, 8), np.float32), region) is None
    assert mass_inside(np.ones((2, 2), np.float32), np.kron(np.eye(2), np.ones((4, 4))).astype(bool)) == 0.5


def test_a_dark_face_is_drawn_with_its_contrast_stretched():
    """A face filmed in the dark (pixel values 5..45) is drawn in grey over the full scale, not nearly black; the
    evidence colour sits where the map is, whatever the brightness."""
    import cv2
    from tests.facemedia import astronaut

    face = cv2.resize(astronaut()[40:260, 150:370], (128, 128))
    dark = (face.astype(np.float32) * 0.15 + 5).round().astype(np.uint8)
    mask = np.zeros((128, 128), bool)
    mask[16:112, 24:104] = True
    heat = np.zeros((128, 128), np.float32)
    heat[30:46, 30:46] = 1.0  # evidence in one corner of the face only
    out = overlay(dark, heat, mask=mask).astype(np.int16)
    grey = out[60:110, 60:100]  # inside the face, away from the colour: plain grey
    assert np.ptp(grey.mean(axis=2)) > 120, np.ptp(grey.mean(axis=2))  # was under 40 before the stretch
    assert int(dark.max()) < 50
    colour = (out.max(axis=2) - out.min(axis=2)) > 40
    assert colour[30:46, 30:46].mean() > 0.8 and colour[80:110, 60:100].mean() < 0.05
