"""Patch-level pieces: a fake's patch crosses its blend mask's boundary, a real's lies in its region, and the
fully convolutional logit map pools back to the face model's own logit."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs torch (pip install torch==2.13.0)")

from mimica.train import patches, sbi  # noqa: E402
from mimica.train.net import create_net  # noqa: E402

SEEDS = list(range(8))


@pytest.mark.parametrize("seed", SEEDS)
def test_a_fake_patch_holds_both_sides_of_the_blend(face_crop: tuple[np.ndarray, np.ndarray], seed: int) -> None:
    crop, mesh = face_crop
    rng = np.random.default_rng(seed)
    big = np.asarray(cv2.resize(crop, (256, 256)), np.uint8)  # a crop cached at 256 px
    _, mask = sbi.self_blend(big, mesh * 2, rng)
    for _ in range(20):
        corner = patches.patch_corner(mask, 96, rng)
        m = patches.cut(mask, corner, 96)
        assert m.shape == (96, 96)
        assert patches.boundary_band(mask)[corner[0] : corner[0] + 96, corner[1] : corner[1] + 96].any()
        # across the boundary: the window holds blended pixels and pixels the blend barely touched
        assert m.max() > 0.5 * mask.max() and m.min() < 0.5 * mask.max()


def test_the_boundary_of_a_hard_mask_is_its_edge() -> None:
    mask = np.zeros((64, 64), np.float32)
    mask[16:48, 16:48] = 1
    band = patches.boundary_band(mask)
    assert band[16, 30] and band[15, 30] and not band[30, 30] and not band[2, 2]
    rng = np.random.default_rng(0)
    for _ in range(50):
        y, x = patches.patch_corner(mask, 20, rng)
        w = mask[y : y + 20, x : x + 20]
        assert w.min() == 0 and w.max() == 1


def test_a_real_patch_is_centred_in_its_region() -> None:
    region = np.zeros((128, 128), bool)
    region[100:110, 10:20] = True
    rng = np.random.default_rng(1)
    for _ in range(30):
        y, x = patches.patch_corner(None, 32, rng, region=region)
        assert 0 <= y <= 96 and 0 <= x <= 96
        assert region[y : y + 32, x : x + 32].any()
    with pytest.raises(ValueError, match="does not fit"):
        patches.patch_corner(None, 200, rng, region=region)


def test_pooling() -> None:
    maps = torch.tensor([[[0.0, 1.0], [2.0, 9.0]], [[-1.0, -1.0], [-1.0, 3.0]]])
    assert patches.pool_logits(maps, "max").tolist() == [9.0, 3.0]
    assert patches.pool_logits(maps, "mean").tolist() == [3.0, 0.0]
    assert patches.pool_logits(maps, "topk", k=0.5).tolist() == [5.5, 1.0]  # the top 2 of 4 positions
    assert patches.pool_logits(maps, "topk", k=0.01).tolist() == [9.0, 3.0]  # at least one position
    with pytest.raises(ValueError, match="unknown pooling"):
        patches.pool_logits(maps, "median")  # type: ignore[arg-type]


def test_the_logit_map_pools_back_to_the_face_logit() -> None:
    torch.manual_seed(0)
    net = create_net("efficientnet-lite0").eval()
    x = torch.randn(2, 3, 128, 128)
    with torch.no_grad():
        m = patches.logit_map(net, x)
        assert m.shape == (2, 4, 4)  # stride 32
        torch.testing.assert_close(m.mean((1, 2)), net(x), atol=1e-5, rtol=1e-5)
        # a bigger crop gives a bigger map from the same weights: the patch model runs on whole crops
        assert patches.logit_map(net, torch.randn(1, 3, 256, 256)).shape == (1, 8, 8)
