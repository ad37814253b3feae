"""Training data plumbing: the main face of each frame, (real, pseudo-fake) pairs, the learning-rate schedule
and video-level validation scores."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="training needs torch (pip install torch==2.13.0)")

from mimica.train.data import CropSet, PairDataset, _main_faces, sbi_validation_set, to_input  # noqa: E402
from mimica.train.loop import set_lr, video_scores  # noqa: E402


def crop_set(face_crop: tuple[np.ndarray, np.ndarray], n: int, labels: list[int] | None = None) -> CropSet:
    crop, mesh = face_crop
    items = [{"label": lab, "compression": "c23", "method": "", "path": f"v{i}"}
             for i, lab in enumerate(labels or [0] * n)]
    return CropSet(crops=np.stack([crop] * n), mesh=np.stack([mesh.astype(np.float16)] * n),
                   item=np.arange(n) % len(items), time=np.zeros(n, np.float32), main=np.ones(n, bool),
                   items=items)


def test_main_face_is_the_largest_of_its_frame() -> None:
    item = np.array([0, 0, 0, 1, 1, 0])
    time = np.array([0.0, 0.0, 1.0, 0.0, 0.0, 1.0], np.float32)
    area = np.array([10.0, 30.0, 5.0, 7.0, 8.0, 6.0], np.float32)
    assert _main_faces(item, time, area).tolist() == [False, True, False, False, True, True]


def test_pairs_are_real_then_fake(face_crop: tuple[np.ndarray, np.ndarray]) -> None:
    ds = PairDataset(crop_set(face_crop, 3), seed=0)
    assert len(ds) == 3
    x, y = ds[1]
    assert x.shape == (2, 3, 128, 128) and x.dtype == torch.uint8
    assert y.tolist() == [0.0, 1.0]
    assert not torch.equal(x[0], x[1])


def test_pairs_are_reproducible_per_epoch(face_crop: tuple[np.ndarray, np.ndarray]) -> None:
    ds = PairDataset(crop_set(face_crop, 2), seed=3)
    a, _ = ds[0]
    b, _ = ds[0]
    assert torch.equal(a, b)
    ds.epoch = 1
    c, _ = ds[0]
    assert not torch.equal(a, c)  # a new epoch draws new blends and degradations


def test_sbi_validation_set(face_crop: tuple[np.ndarray, np.ndarray]) -> None:
    faces = crop_set(face_crop, 4)
    x, y = sbi_validation_set(faces)
    assert x.shape == (8, 128, 128, 3) and y.tolist() == [0] * 4 + [1] * 4
    x2, _ = sbi_validation_set(faces)
    np.testing.assert_array_equal(x, x2)  # fixed: the same every epoch


def test_to_input_matches_the_card_normalisation() -> None:
    x = torch.tensor([0, 255, 128], dtype=torch.uint8).reshape(1, 3, 1, 1)
    np.testing.assert_allclose(to_input(x).flatten().numpy(), [-1.0, 1.0, 128 / 127.5 - 1], atol=1e-6)


def test_video_score_is_the_mean_of_its_frames(face_crop: tuple[np.ndarray, np.ndarray]) -> None:
    cs = crop_set(face_crop, 6, labels=[0, 1])  # items 0 and 1 alternate
    v = video_scores(cs, np.array([0.1, 0.9, 0.3, 0.7, 0.2, 0.8]))
    assert v["item"].tolist() == [0, 1] and v["label"].tolist() == [0, 1]
    np.testing.assert_allclose(v["score"], [0.2, 0.8])


@pytest.mark.parametrize(("progress", "expected"), [(0.0, 0.0), (0.025, 0.5), (0.05, 1.0), (0.525, 0.5),
                                                    (1.0, 0.0), (1.5, 0.0)])
def test_learning_rate_warms_up_then_anneals(progress: float, expected: float) -> None:
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    assert set_lr(opt, 2.0, progress) == pytest.approx(2.0 * expected, abs=1e-9)
    assert opt.param_groups[0]["lr"] == pytest.approx(2.0 * expected, abs=1e-9)


def test_pairs_come_from_video_faces_as_often_as_asked(face_crop: tuple[np.ndarray, np.ndarray]) -> None:
    """p_video_real = 1: every pair's real side is a video face (here: the crop inverted, so it is recognisable
    after the window and degradations), and the network input is cut to `size`."""
    photos = crop_set(face_crop, 8)
    videos = crop_set(face_crop, 2)
    videos.crops = 255 - videos.crops
    for p, expected in ((0.0, 0), (1.0, 8)):
        ds = PairDataset(photos, seed=0, video_reals=videos, size=112, p_video_real=p)
        from_video = 0
        for i in range(8):
            x, _ = ds[i]
            assert x.shape == (2, 3, 112, 112)
            centre = x[0, :, 40:72, 40:72].float().mean().item()
            photo_centre = float(photos.crops[0, 48:80, 48:80].mean())
            from_video += abs(centre - (255 - photo_centre)) < abs(centre - photo_centre)
        assert from_video == expected
