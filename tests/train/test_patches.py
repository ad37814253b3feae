"""Patch-level pieces: a fake's patch crosses its blend mask's boundary, a real's lies in its region, and the
fully convolutional logit map pools back to the face model's own logit."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs torch (pip install torch==2.13.0)")

from mimica.train import patches, sbi  # noqa: E402
from mimica.train.augment import FormatAugment, crop_window, crop_windows  # noqa: E402
from mimica.train.data import CropSet, PairDataset  # noqa: E402
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


# --- the patch recipe: training pairs of patches, the pooled model -------------------------------------------

#: window jitter on (the mask must follow it), degradations off (so pixels can be compared)
WINDOW_ONLY = FormatAugment(p_resample=0, p_blur=0, p_noise=0, p_compress=0)


def one_face(face_crop: tuple[np.ndarray, np.ndarray], n: int, crop: np.ndarray | None = None) -> CropSet:
    img, mesh = face_crop
    items = [{"label": 0, "compression": "", "method": "", "path": "f", "dataset": "faces"}]
    return CropSet(np.stack([img if crop is None else crop] * n), np.stack([mesh.astype(np.float16)] * n),
                   np.zeros(n, np.int64), np.zeros(n, np.float32), np.ones(n, bool), items)


def test_a_patch_pair_is_two_patches_of_the_view(face_crop: tuple[np.ndarray, np.ndarray]) -> None:
    ds = PairDataset(one_face(face_crop, 3), seed=0, size=112, patch=32)
    x, y = ds[1]
    assert x.shape == (2, 3, 32, 32) and x.dtype == torch.uint8 and y.tolist() == [0.0, 1.0]
    a, _ = ds[1]
    assert torch.equal(x, a)  # seeded by (seed, epoch, i): a resumed epoch draws the same pairs
    ds.epoch = 1
    assert not torch.equal(x, ds[1][0])
    face = PairDataset(one_face(face_crop, 3), seed=0, size=112)  # patch 0: the face-level pairs of today
    assert face[1][0].shape == (2, 3, 112, 112) and face.draw(1).guides == (None, None)


def test_a_fake_patch_is_cut_across_its_blend_where_its_mask_is(face_crop: tuple[np.ndarray, np.ndarray]) -> None:
    """On a flat grey face every pseudo-fake pixel is grey + d * mask (the source's colour change d is the same
    everywhere), so the patch and its mask patch agree pixel by pixel only if both went through the same crop
    window, the same cut and the same flip; and the mask patch holds the blend's rim, not its flat inside or
    the untouched outside."""
    grey = np.full_like(face_crop[0], 100)
    ds = PairDataset(one_face(face_crop, 40, grey), seed=0, size=112, patch=32, aug=WINDOW_ONLY)
    checked = 0
    for i in range(40):
        pair = ds.draw(i)
        fake, mask = pair.images[1].astype(np.float32) - 100, pair.guides[1]
        assert mask is not None and fake.shape == (32, 32, 3) and mask.shape == (32, 32)
        assert patches.boundary_band(mask).any() and mask.max() - mask.min() > 0.2 * mask.max()
        d = (fake * mask[..., None]).sum((0, 1)) / max(float((mask**2).sum()), 1e-6)  # per channel
        if np.abs(d).max() >= 8:
            assert np.abs(fake - d * mask[..., None]).max() <= 2.5, i
            checked += 1
    assert checked >= 10


def test_a_real_patch_lies_on_the_face(face_crop: tuple[np.ndarray, np.ndarray]) -> None:
    """Centred on the face hull, half of them on its edge (the natural outline, as often as fakes show a blend
    boundary near it): never a patch of background alone."""
    ds = PairDataset(one_face(face_crop, 60), seed=0, size=112, patch=32, aug=WINDOW_ONLY)
    hulls = [ds.draw(i).guides[0] for i in range(60)]
    assert all(h is not None and h.shape == (32, 32) for h in hulls)
    share = np.array([h.mean() for h in hulls])  # type: ignore[union-attr]
    assert share.min() > 0.25
    inside, edge = (share > 0.999).sum(), (share < 0.9).sum()
    assert inside >= 10 and edge >= 10, (inside, edge)
    _, mesh = face_crop
    assert sbi.hull_mask(mesh, 128).mean() < 0.7  # there is background for a stray patch to fall on


def test_one_window_for_the_crop_and_its_mask(face_crop: tuple[np.ndarray, np.ndarray]) -> None:
    crop, mesh = face_crop
    mask = sbi.hull_mask(mesh, 128)
    img = np.repeat((mask * 255).astype(np.uint8)[..., None], 3, 2)
    for seed in range(5):
        out, m = crop_windows([img, mask], 112, np.random.default_rng(seed))
        assert out.shape == (112, 112, 3) and m.shape == (112, 112) and m.dtype == np.float32
        np.testing.assert_allclose(out[..., 0] / 255.0, m, atol=1 / 255 + 1e-6)
    # the one-image form is the same window
    np.testing.assert_array_equal(crop_window(crop, 112, np.random.default_rng(3)),
                                  crop_windows([crop, mask], 112, np.random.default_rng(3))[0])


def reference_map(net: torch.nn.Module, x: torch.Tensor) -> np.ndarray:
    """The head at every position, written out: features . weight + bias."""
    fc = patches.linear_head(net)
    f = net.features(x).numpy()  # type: ignore[operator]
    return np.tensordot(fc.weight[0].numpy(), f, axes=([0], [1])) + float(fc.bias[0])


@pytest.mark.parametrize("name", ["artifactnet-xs", "efficientnet-lite0"])
def test_the_patch_model_pools_the_logit_map(name: str) -> None:
    torch.manual_seed(0)
    net = create_net(name)
    x = torch.randn(3, 3, 96, 96)
    with torch.no_grad():
        torch.nn.init.normal_(patches.linear_head(net).weight)  # a head that tells positions apart
        net.train()(x)  # batch-norm statistics of real activations
        net.eval()
        ref = reference_map(net, x).reshape(3, -1)
        n = ref.shape[1]
        top = np.sort(ref, 1)[:, ::-1]
        for how, k, expected in [("max", 0.1, ref.max(1)), ("mean", 0.1, ref.mean(1)),
                                 ("topk", 0.25, top[:, : int(np.ceil(0.25 * n))].mean(1))]:
            got = patches.PooledPatches(net, how, k)(x)  # type: ignore[arg-type]
            assert got.shape == (3,)
            np.testing.assert_allclose(got.numpy(), expected, atol=1e-4, rtol=1e-4)
            np.testing.assert_allclose(got.numpy(), patches.pool_logits(patches.logit_map(net, x), how, k).numpy(),
                                       atol=1e-6)  # type: ignore[arg-type]
        # mean pooling of the map is the plain network's own logit of the whole crop
        torch.testing.assert_close(patches.PooledPatches(net, "mean")(x), net(x), atol=1e-5, rtol=1e-5)
        assert not torch.allclose(patches.PooledPatches(net, "max")(x), net(x))


def test_face_model_follows_the_config() -> None:
    from mimica.errors import MimicaError
    from mimica.train.config import TrainConfig

    net = create_net("artifactnet-xs")
    assert patches.face_model(net, TrainConfig()) is net
    pooled = patches.face_model(net, TrainConfig(crop_size=64, patch_size=32, patch_pool="max"))
    assert isinstance(pooled, patches.PooledPatches) and pooled.net is net and pooled.how == "max"
    with pytest.raises(MimicaError, match="cannot be run as a patch model"):
        patches.PooledPatches(create_net("efficientnet-lite0-probe"))
