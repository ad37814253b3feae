"""The onnxruntime classifier reads its preprocessing and calibration from the card: colour order, mean/std,
input size, Platt parameters. Tested with tiny hand-built ONNX graphs whose output is known in closed form."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from tests.models.tiny import SIZE, write_onnx

from mimica.models import Classifier, ModelCard
from mimica.models.card import Calibration, InputSpec, sha256_file

pytest.importorskip("onnx", reason="onnx is in the dev extra")


def classifier(tmp_path: Path, channel: int | None = None, **card: object) -> Classifier:
    onnx_path = write_onnx(tmp_path / f"m{channel}.onnx", channel=channel)
    fields = {"name": "t", "version": "0", "onnx_file": onnx_path.name, "sha256": sha256_file(onnx_path),
              "input": InputSpec(size=SIZE), "calibration": Calibration(method="none")}
    fields.update(card)
    return Classifier(ModelCard(**fields), onnx_path)  # type: ignore[arg-type]


def solid(rgb: tuple[int, int, int], n: int = 1) -> np.ndarray:
    return np.broadcast_to(np.array(rgb, np.uint8), (n, SIZE, SIZE, 3)).copy()


ORDERS = [
    # (colour order, channel read, expected value with mean=std=0.5 for a pure red crop)
    pytest.param("RGB", 0, 1.0, id="rgb-red-first"),
    pytest.param("RGB", 2, -1.0, id="rgb-blue-last"),
    pytest.param("BGR", 0, -1.0, id="bgr-blue-first"),
    pytest.param("BGR", 2, 1.0, id="bgr-red-last"),
]


@pytest.mark.parametrize(("order", "channel", "expected"), ORDERS)
def test_colour_order_from_the_card(tmp_path: Path, order: str, channel: int, expected: float) -> None:
    clf = classifier(tmp_path, channel=channel, input=InputSpec(size=SIZE, color_order=order))  # type: ignore[arg-type]
    x = clf.preprocess(solid((255, 0, 0)))
    assert x.shape == (1, 3, SIZE, SIZE) and x.dtype == np.float32
    assert x[0, channel] == pytest.approx(np.full((SIZE, SIZE), expected))
    assert clf.logits(solid((255, 0, 0)))[0] == pytest.approx(expected, abs=1e-6)


NORMS = [
    pytest.param((0.5, 0.5, 0.5), (0.5, 0.5, 0.5), id="half"),
    pytest.param((0.485, 0.456, 0.406), (0.229, 0.224, 0.225), id="imagenet"),
    pytest.param((0.0, 0.0, 0.0), (1.0, 1.0, 1.0), id="unit"),
]


@pytest.mark.parametrize(("mean", "std"), NORMS)
def test_mean_and_std_from_the_card(tmp_path: Path, mean: tuple, std: tuple) -> None:
    clf = classifier(tmp_path, input=InputSpec(size=SIZE, mean=mean, std=std))
    rgb = (200, 100, 30)
    x = clf.preprocess(solid(rgb, n=2))
    want = (np.array(rgb) / 255 - np.array(mean)) / np.array(std)
    np.testing.assert_allclose(x[:, :, 3, 5], np.tile(want, (2, 1)), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize(
    ("shape", "ok"),
    [((2, SIZE, SIZE, 3), True), ((SIZE, SIZE, 3), False), ((1, SIZE + 1, SIZE, 3), False),
     ((1, SIZE, SIZE, 4), False), ((1, 3, SIZE, SIZE), False)],
    ids=["ok", "no-batch", "wrong-size", "rgba", "nchw"],
)
def test_crop_shape_is_checked(tmp_path: Path, shape: tuple, ok: bool) -> None:
    clf = classifier(tmp_path)
    crops = np.zeros(shape, np.uint8)
    if ok:
        assert clf.preprocess(crops).shape == (shape[0], 3, SIZE, SIZE)
    else:
        with pytest.raises(ValueError, match=rf"expected crops \(n, {SIZE}, {SIZE}, 3\), got"):
            clf.preprocess(crops)


CALIBRATIONS = [
    pytest.param(Calibration(method="none", a=5.0, b=3.0), 0.0, 0.5, id="none-ignores-a-b"),
    pytest.param(Calibration(method="platt", a=1.0, b=0.0), 1.0, 1 / (1 + np.exp(-1.0)), id="platt-identity"),
    pytest.param(Calibration(method="platt", a=2.0, b=-2.0), 1.0, 0.5, id="platt-a-b"),
    pytest.param(Calibration(method="platt", a=-3.0, b=0.0), 1.0, 1 / (1 + np.exp(3.0)), id="platt-negative"),
]


@pytest.mark.parametrize(("cal", "logit", "expected"), CALIBRATIONS)
def test_predict_is_calibrated_by_the_card(tmp_path: Path, cal: Calibration, logit: float,
                                           expected: float) -> None:
    clf = classifier(tmp_path, calibration=cal)
    # a crop whose normalised mean is `logit` (mean=std=0.5: pixel 255 -> 1, 127.5 -> 0)
    value = int(round((logit * 0.5 + 0.5) * 255))
    assert clf.logits(solid((value,) * 3))[0] == pytest.approx(logit, abs=1e-2)
    assert clf.predict(solid((value,) * 3))[0] == pytest.approx(expected, abs=1e-2)


def test_batches_give_the_same_scores(tmp_path: Path) -> None:
    clf = classifier(tmp_path)
    crops = np.random.default_rng(0).integers(0, 256, (70, SIZE, SIZE, 3), dtype=np.uint8)
    whole = clf.logits(crops, batch=100)
    np.testing.assert_allclose(clf.logits(crops, batch=32), whole, atol=1e-6)
    assert whole.shape == (70,)
    np.testing.assert_allclose(whole[5], clf.logits(crops[5:6])[0], atol=1e-6)


def test_no_crops_no_scores(tmp_path: Path) -> None:
    clf = classifier(tmp_path)
    empty = np.zeros((0, SIZE, SIZE, 3), np.uint8)
    assert clf.logits(empty).shape == (0,)
    assert clf.predict(empty).shape == (0,)


def test_recipe_comes_from_the_card(tmp_path: Path) -> None:
    from mimica.models.card import AlignSpec

    clf = classifier(tmp_path, align=AlignSpec(size=96, margin=1.7))
    assert (clf.recipe.size, clf.recipe.margin, clf.recipe.template) == (96, 1.7, "arcface")


def test_flip_tta_averages_the_crop_and_its_mirror(model_card: Path) -> None:
    """On the shipped network (not mirror-symmetric, unlike the tiny graph): the card's tta = "flip" gives the
    mean of the plain logits of each crop and of its mirror image, and is off by default."""
    card = ModelCard.load(model_card)
    assert card.tta == "none"
    plain = Classifier(card, model_card.parent / card.onnx_file)
    flip = Classifier(card.model_copy(update={"tta": "flip"}), model_card.parent / card.onnx_file)
    s = card.input.size
    crops = np.random.default_rng(1).integers(0, 256, (3, s, s, 3), dtype=np.uint8)
    mirror = np.ascontiguousarray(crops[:, :, ::-1])
    both = flip.logits(crops)
    np.testing.assert_allclose(both, (plain.logits(crops) + plain.logits(mirror)) / 2, atol=1e-5)
    np.testing.assert_allclose(flip.logits(mirror), both, atol=1e-5)  # a mirrored face scores the same
    assert np.abs(plain.logits(crops) - both).max() > 1e-3
