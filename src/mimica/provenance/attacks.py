"""The edits the invisible watermark is specified to survive (issue: accountable synthesis), as functions on RGB
uint8 frames, shared by the tests and benchmarks/watermark.py so both measure the same thing. Re-encoding with
H.264 at CRF 28 needs a video encoder and lives in the benchmark."""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image


def jpeg(img: np.ndarray, q: int = 50) -> np.ndarray:
    """JPEG at quality q (50 in the target), decoded back."""
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=q)
    return np.asarray(Image.open(buf).convert("RGB"))


def half(img: np.ndarray) -> np.ndarray:
    """A 0.5x downscale."""
    return cv2.resize(img, (img.shape[1] // 2, img.shape[0] // 2), interpolation=cv2.INTER_AREA)


def combined(img: np.ndarray) -> np.ndarray:
    """All the picture attacks in a row: 0.5x downscale, 10% crop, JPEG quality 50."""
    return jpeg(crop10(half(img)))


def crop10(img: np.ndarray) -> np.ndarray:
    """A 10% crop: 5% off the top and the bottom, 10% off the left."""
    h, w = img.shape[:2]
    return img[h // 20 : h - h // 20, w // 10 :]


#: the picture attacks by name, as the tests and the benchmark report them
ATTACKS = {"jpeg50": jpeg, "half": half, "crop10": crop10, "all": combined}
