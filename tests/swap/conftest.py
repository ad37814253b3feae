"""Face media for the swap tests, made on the fly: scikit-image's astronaut (public domain, NASA) has a face,
so the swap can be tested without ../shared/data. Nothing here is ever written outside pytest's tmp dirs."""

from __future__ import annotations

import warnings
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from tests import facemedia
from tests.swap.swapmedia import head, write_video


@pytest.fixture(autouse=True)
def _no_user_keys(tmp_path_factory, monkeypatch):
    """Tests never sign with (or trust) the user's own keys."""
    monkeypatch.setenv("MIMICA_KEYS_DIR", str(tmp_path_factory.mktemp("nokeys")))
    for var in ("MIMICA_SIGNING_CERT", "MIMICA_SIGNING_KEY", "MIMICA_TRUST_ANCHORS"):
        monkeypatch.delenv(var, raising=False)
    warnings.simplefilter("ignore", UserWarning)


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    return np.ascontiguousarray(facemedia.astronaut())


@pytest.fixture(scope="session")
def media(tmp_path_factory, astronaut) -> dict[str, Path]:
    """source.png (a different face: mirrored and recoloured astronaut), target.png, target.jpg, clip.mp4
    (24 frames with a moving face and an AAC tone), noface.png, noface.mp4."""
    d = tmp_path_factory.mktemp("swapmedia")
    target = head(astronaut)
    source = np.ascontiguousarray(head(astronaut, 300)[:, ::-1])
    source = np.clip(source.astype(np.int16) + np.array([20, -10, -10]), 0, 255).astype(np.uint8)
    Image.fromarray(source).save(d / "source.png")
    Image.fromarray(target).save(d / "target.png")
    Image.fromarray(target).save(d / "target.jpg", quality=92)
    rng = np.random.default_rng(0)
    flat = cv2.GaussianBlur(rng.integers(0, 255, (240, 320, 3), dtype=np.uint8), (0, 0), 8)
    Image.fromarray(flat).save(d / "noface.png")
    frames = [head(astronaut, 256, dx=2 * i // 3, dy=i // 3) for i in range(24)]
    write_video(d / "clip.mp4", frames, audio=True)
    write_video(d / "noface.mp4", [flat[:, :, :]] * 6, audio=False)
    names = {
        "source": "source.png",
        "target": "target.png",
        "target_jpg": "target.jpg",
        "clip": "clip.mp4",
        "noface": "noface.png",
        "noface_video": "noface.mp4",
    }
    return {k: d / v for k, v in names.items()} | {"dir": d}
