"""The swap draws the source's face shape, not the target's: real FaceMesh on scikit-image's astronaut."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mimica.faces import create_detector
from mimica.swap import FaceSwapper, SourceFace, SwapOptions
from mimica.swap.shape import destination


def _mesh(img: np.ndarray) -> np.ndarray:
    faces = create_detector("mediapipe").detect(img)
    assert len(faces) >= 1
    return faces.mesh[int(np.argmax(faces.area))]


def _proportion(mesh: np.ndarray) -> float:
    """Eye spacing over the eyes-to-mouth height: a proportion of the person, not of the pose (frontal)."""
    eyes = mesh[[33, 133]].mean(0), mesh[[362, 263]].mean(0)
    mouth = mesh[[61, 291]].mean(0)
    spacing = float(np.linalg.norm(eyes[1] - eyes[0]))
    return spacing / float(np.linalg.norm(mouth - (eyes[0] + eyes[1]) / 2))


@pytest.fixture(scope="module")
def wide_source(astronaut):
    """Another face shape from the same picture: the astronaut with her face 25% wider around its centre
    (wider-set eyes, a wider mouth, a broader nose)."""
    mesh = _mesh(astronaut)
    cx, cy = mesh.mean(0)
    m = np.array([[1.25, 0, (1 - 1.25) * cx], [0, 1, 0]], np.float32)
    return np.ascontiguousarray(cv2.warpAffine(astronaut, m, astronaut.shape[1::-1], borderMode=cv2.BORDER_REFLECT))


def test_the_output_has_the_sources_proportions(astronaut, wide_source):
    target_mesh, source_mesh = _mesh(astronaut), _mesh(wide_source)
    p_t, p_s = _proportion(target_mesh), _proportion(source_mesh)
    assert p_s > p_t * 1.15, "the test's source must differ from the target"
    face = SourceFace.from_image(wide_source)
    shaped = FaceSwapper(face, SwapOptions(identity=1.0)).apply(astronaut, target_mesh)
    texture_only = FaceSwapper(face, SwapOptions(identity=0.0)).apply(astronaut, target_mesh)
    p_shaped, p_texture = _proportion(_mesh(shaped)), _proportion(_mesh(texture_only))
    # the texture-only swap keeps the target's proportions (its identity); the shaped one moves to the source's
    assert abs(p_texture - p_t) < 0.25 * (p_s - p_t), (p_t, p_s, p_texture)
    assert p_shaped - p_t > 0.5 * (p_s - p_t), (p_t, p_s, p_shaped)


def test_destination_keeps_the_outline_and_the_expression(astronaut, wide_source):
    from mimica.faces.landmarks import FACE_OVAL
    from mimica.swap.regions import openings

    target_mesh = _mesh(astronaut)
    face = SourceFace.from_image(wide_source)
    dst = destination(face.points3d, target_mesh)
    assert np.allclose(dst[list(FACE_OVAL)], target_mesh[list(FACE_OVAL)], atol=1e-3)
    assert np.allclose(openings(dst), openings(target_mesh), atol=0.02)
    assert np.allclose(destination(face.points3d, target_mesh, 0.0), target_mesh)


def test_no_triangle_folds_when_the_target_turns(astronaut):
    """A frontal source drawn on a turned head must not tear: every visible triangle keeps its orientation."""
    from mimica.swap.mesh import triangles
    from mimica.swap.shape import _signed_areas

    face = SourceFace.from_image(astronaut)
    mesh = _mesh(astronaut)
    cx = mesh[:, 0].mean()
    turned = mesh.copy()  # the near side widened, the far side squeezed: a crude yaw
    turned[:, 0] = cx + (mesh[:, 0] - cx) * np.where(mesh[:, 0] < cx, 1.2, 0.6)
    dst = destination(face.points3d, turned.astype(np.float32))
    ref, cur = _signed_areas(turned.astype(float), triangles()), _signed_areas(dst.astype(float), triangles())
    size = float(np.ptp(turned, axis=0).max())
    visible = np.abs(ref) > 1e-4 * size * size
    assert np.all(np.sign(ref[visible]) == np.sign(cur[visible]))
