"""Shared fixtures of the training tests. Modules that need torch (the [train] extra) skip without it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from tests import facemedia

from mimica.datasets import MediaItem


@pytest.fixture(scope="module")
def faces(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of twelve real-face "photos": shifted and mirrored copies of the astronaut."""
    d = tmp_path_factory.mktemp("faces")
    img = np.asarray(Image.open(facemedia.write_face_image(d / "base.png")))
    (d / "base.png").unlink()
    for i in range(12):
        shifted = np.roll(img, (i * 7, i * 5), axis=(0, 1))
        Image.fromarray(shifted[:, ::-1] if i % 2 else shifted).save(d / f"{i:02d}.png")
    return d


@pytest.fixture(scope="session")
def face_crop(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, np.ndarray]:
    """An aligned 128 crop of the astronaut and its 468 landmarks in crop pixels, cut by `prepare`'s own
    `crop_item` (so these tests see what training sees)."""
    from mimica.faces import create_detector
    from mimica.train.prepare import PrepareConfig, crop_item

    path = facemedia.write_face_image(tmp_path_factory.mktemp("train-face") / "face.png")
    d = crop_item(MediaItem(path=str(path), label=0, dataset="faces"), PrepareConfig(), create_detector())
    assert d["crops"].shape == (1, 128, 128, 3)
    return d["crops"][0], d["mesh"][0].astype(np.float32)


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():  # type: ignore[no-untyped-def]
    """Tiny tensors gain nothing from threads, and on a busy 2-core machine torch's OpenMP workers spin against
    the other jobs: a 64x64 forward pass took 1.7 s with 2 threads and 7 ms with one."""
    try:
        import torch
    except ImportError:
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
