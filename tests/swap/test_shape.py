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


def _similar(mesh: np.ndarray, angle: float, scale: float, shift: tuple[float, float]) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    r = np.array([[c, -s], [s, c]]) * scale
    centre = mesh.mean(0)
    return ((mesh - centre) @ r.T + centre + np.array(shift)).astype(np.float32)


def _jaw_dropped(mesh: np.ndarray, drop: float) -> np.ndarray:
    """The mesh with everything below the mouth's corners moved down, the chin by `drop` pixels."""
    top, chin = float(mesh[[61, 291], 1].mean()), float(mesh[152, 1])
    out = mesh.copy()
    below = mesh[:, 1] > top
    out[below, 1] += drop * (mesh[below, 1] - top) / (chin - top)
    return out.astype(np.float32)


def test_the_resting_face_is_what_the_track_does_most(astronaut):
    """neutral_of: the median face of a track, each frame first brought onto the first by a similarity: a head
    that turns and moves and opens its mouth now and then rests with the first frame's face."""
    from mimica.swap.shape import neutral_of

    mesh = _mesh(astronaut).astype(np.float64)
    frames = [mesh] + [_similar(mesh, a, s, (d, -d)) for a, s, d in ((0.1, 1.1, 5), (-0.08, 0.9, -7), (0.05, 1.0, 3))]
    frames += [_similar(_jaw_dropped(mesh, 12), 0.03, 1.05, (2, 2)), _jaw_dropped(mesh, 9)]
    size = float(np.ptp(mesh, axis=0).max())
    assert np.abs(neutral_of(frames) - mesh).max() < 0.01 * size
    assert np.abs(np.median(np.stack(frames), axis=0) - mesh).max() > 0.02 * size  # without the alignment


def test_expression_is_read_apart_from_the_pose(astronaut):
    """expression_of: the resting face posed like the frame is no expression at all; a dropped jaw is, by as much
    as it dropped, whatever the head's turn."""
    from mimica.swap.shape import expression_of

    face = SourceFace.from_image(astronaut)
    mesh = _mesh(astronaut)
    size = float(np.ptp(mesh, axis=0).max())
    posed = _similar(mesh, 0.15, 1.2, (10, -4)).astype(np.float64)
    assert np.abs(expression_of(posed, mesh, face.points3d)).max() < 0.01 * size
    dropped = _similar(_jaw_dropped(mesh, 15), 0.15, 1.2, (10, -4)).astype(np.float64)
    chin = expression_of(dropped, mesh, face.points3d)[152]
    down = np.array([-np.sin(0.15), np.cos(0.15)]) * 1.2 * 15  # the drop, turned and scaled as the head is
    assert np.linalg.norm(chin - down) < 0.25 * np.linalg.norm(down), (chin, down)


def test_the_sources_jaw_drops_with_the_targets(astronaut, wide_source):
    """On video the source's own shape follows the target's expression from its resting face: its chin goes
    down as far as the target's jaw drops. Without it (expression=0) the source's chin stays where the still put
    it while the target's lips open below it, and only the fold guard drags it part of the way."""
    target_mesh = _mesh(astronaut)
    face = SourceFace.from_image(wide_source)
    dropped = _jaw_dropped(target_mesh, 15)
    rest = destination(face.points3d, target_mesh, neutral=target_mesh)
    assert np.abs(rest - destination(face.points3d, target_mesh)).max() < 0.01 * float(np.ptp(target_mesh, 0).max())
    moving = destination(face.points3d, dropped, neutral=target_mesh)
    off = destination(face.points3d, dropped, neutral=target_mesh, expression=0.0)
    assert np.array_equal(off, destination(face.points3d, dropped))
    for point in (199, 208, 428, 32, 262):  # the chin, inside the outline
        drop = float(dropped[point, 1] - target_mesh[point, 1])
        assert moving[point, 1] - rest[point, 1] == pytest.approx(drop, rel=0.05), point
        assert off[point, 1] - rest[point, 1] < 0.5 * drop, point


def test_the_steady_filter_places_the_face_and_the_quick_one_shapes_it(astronaut):
    from mimica.swap.core import keep_expression
    from mimica.swap.regions import openings
    from mimica.swap.shape import RIGID

    quick = _jaw_dropped(_mesh(astronaut), 10)
    steady = _similar(_mesh(astronaut), 0.02, 1.03, (4, -3))  # lagging behind: elsewhere, and with the mouth shut
    out = keep_expression(steady, quick)
    size = float(np.ptp(quick, axis=0).max())
    assert np.abs(out[list(RIGID)] - steady[list(RIGID)]).max() < 0.01 * size
    assert openings(out)[2] == pytest.approx(openings(quick)[2], abs=1e-3)
    assert openings(out)[2] > openings(steady)[2] + 0.03
