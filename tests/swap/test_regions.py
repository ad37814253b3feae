"""The face regions on the real FaceMesh of scikit-image's astronaut: colour transfer relies on them."""

from __future__ import annotations

import cv2
import numpy as np

from mimica.faces import create_detector
from mimica.swap.regions import openings, region_masks


def _mesh(img: np.ndarray) -> np.ndarray:
    faces = create_detector("mediapipe").detect(img)
    assert len(faces) >= 1
    return faces.mesh[int(np.argmax(faces.area))]


def test_regions_cover_what_they_name(astronaut):
    mesh = _mesh(astronaut)
    reg = region_masks(mesh, astronaut.shape)
    lab = cv2.cvtColor(astronaut, cv2.COLOR_RGB2LAB).astype(float)
    mean = {k: lab[reg[k] > 0.5].mean(0) for k in ("skin", "lips", "eyes", "brows")}
    # lips are redder than the skin around them, eyes darker (iris, lashes); her brows are fair, no test there
    assert mean["lips"][1] > mean["skin"][1] + 5, mean
    assert mean["eyes"][0] < mean["skin"][0] - 15, mean
    # skin and the features do not overlap, and the skin is most of the face
    assert not np.any((reg["skin"] > 0.5) & (reg["features"] > 0.5))
    for k in ("eyes", "lips", "brows", "mouth"):
        assert np.all(reg["features"][reg[k] > 0.5] > 0.5), k
    assert reg["skin"].sum() > 4 * (reg["eyes"].sum() + reg["lips"].sum())
    # the astronaut smiles with her teeth showing: the mouth is open
    assert reg["mouth"].sum() > 20


def test_openings_follow_the_mouth(astronaut):
    """A face whose lower face is pulled down (a mouth opened in the picture) reads as a wider mouth opening."""
    mesh = _mesh(astronaut)
    closed = mesh.copy()
    from mimica.swap.regions import INNER_LIPS, OUTER_LIPS

    lower = [i for i in set(INNER_LIPS) | set(OUTER_LIPS) if mesh[i, 1] > mesh[13, 1] + 0.5]
    opened = mesh.copy()
    opened[lower, 1] += 0.05 * float(np.ptp(mesh[:, 1]))
    assert openings(opened)[2] > openings(closed)[2] + 0.1
    assert np.allclose(openings(opened)[:2], openings(closed)[:2])
