"""Contract tests run against every registered face backend (`available_detectors()`): one face with its box
around the face and 468 landmarks on it on scikit-image's astronaut (public domain), nothing on a blank
picture (an empty Faces, not None), points in the documented order, and the same columns for every backend."""

from __future__ import annotations

import numpy as np
import pytest
from tests import facemedia

from mimica.errors import FaceBackendError
from mimica.faces import FACE_OVAL, POINTS5, available_detectors, create_detector
from mimica.faces import landmarks as lm
from mimica.faces.detector import FaceDetector, points5_from_mesh
from mimica.types import N_MESH, Faces

#: marked by hand on astronaut() (512x512): the face from eyebrows to chin, inside any box around the face;
#: and a generous frame the face box must stay within (hair, neck ring and background are outside it)
ASTRONAUT_FACE_CORE = (195, 95, 255, 160)
ASTRONAUT_FACE_LIMIT = (140, 30, 310, 215)


@pytest.fixture(scope="module", params=available_detectors())
def detector(request: pytest.FixtureRequest) -> FaceDetector:
    return create_detector(request.param)


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return facemedia.astronaut()


@pytest.fixture(scope="module")
def astronaut_faces(detector: FaceDetector, astronaut: np.ndarray) -> Faces:
    return detector.detect(astronaut)


def _inside(points: np.ndarray, box: np.ndarray | tuple, pad: float = 0.0) -> np.ndarray:
    x1, y1, x2, y2 = box
    return (points[..., 0] >= x1 - pad) & (points[..., 0] <= x2 + pad) & (points[..., 1] >= y1 - pad) & (
        points[..., 1] <= y2 + pad
    )


def test_registry_lists_mediapipe() -> None:
    assert "mediapipe" in available_detectors()


def test_unknown_detector_is_a_one_line_error() -> None:
    with pytest.raises(FaceBackendError, match="unknown face detector 'nope'.*mediapipe") as e:
        create_detector("nope")
    assert "\n" not in str(e.value)


def test_astronaut_has_one_face(astronaut_faces: Faces, detector: FaceDetector) -> None:
    assert isinstance(astronaut_faces, Faces)
    assert len(astronaut_faces) == 1, f"{detector.name} found {len(astronaut_faces)} faces"
    assert 0.5 <= float(astronaut_faces.score[0]) <= 1.0
    assert astronaut_faces.track_id.tolist() == [-1]  # tracking is the tracker's job


def test_astronaut_box_is_around_the_face(astronaut_faces: Faces) -> None:
    box = astronaut_faces.xyxy[0]
    x1, y1, x2, y2 = ASTRONAUT_FACE_CORE
    assert box[0] <= x1 and box[1] <= y1 and box[2] >= x2 and box[3] >= y2, f"box {box} cuts the face"
    assert _inside(box.reshape(2, 2), ASTRONAUT_FACE_LIMIT).all(), f"box {box} reaches far beyond the face"


def test_astronaut_mesh_lies_on_the_face(astronaut_faces: Faces) -> None:
    mesh, box = astronaut_faces.mesh[0], astronaut_faces.xyxy[0]
    assert mesh.shape == (N_MESH, 2)
    assert np.isfinite(mesh).all()
    side = float(max(box[2] - box[0], box[3] - box[1]))
    # the detector's box is tight at the chin and brow; the dense mesh may pass it by a few pixels there
    assert _inside(mesh, box).mean() >= 0.9
    assert _inside(mesh, box, pad=0.1 * side).all()
    # and it spreads over the face, not a clump in one spot
    spread = mesh.max(0) - mesh.min(0)
    assert (spread > 0.6 * side).all()


def test_astronaut_five_points_in_documented_order(astronaut_faces: Faces) -> None:
    """POINTS5: subject's right eye (image left for a frontal face), left eye, nose tip, mouth right, left."""
    assert POINTS5 == ("right_eye", "left_eye", "nose_tip", "mouth_right", "mouth_left")
    re_, le, nose, mr, ml = astronaut_faces.points5[0]
    assert re_[0] < le[0] and mr[0] < ml[0]
    assert max(re_[1], le[1]) < nose[1] < min(mr[1], ml[1])
    assert re_[0] < nose[0] < le[0]
    np.testing.assert_allclose(astronaut_faces.points5, points5_from_mesh(astronaut_faces.mesh), atol=1e-4)


def test_face_oval_encloses_the_five_points(astronaut_faces: Faces) -> None:
    import cv2

    oval = astronaut_faces.mesh[0][list(FACE_OVAL)].astype(np.float32)
    for p in astronaut_faces.points5[0]:
        assert cv2.pointPolygonTest(oval.reshape(-1, 1, 2), (float(p[0]), float(p[1])), False) > 0


@pytest.mark.parametrize("shape", [(480, 640, 3), (64, 64, 3), (1080, 1920, 3)], ids=["vga", "tiny", "1080p"])
def test_blank_image_has_no_face(detector: FaceDetector, shape: tuple[int, int, int]) -> None:
    out = detector.detect(np.zeros(shape, np.uint8))
    assert out is not None and isinstance(out, Faces)
    assert len(out) == 0 and out.mesh.shape == (0, N_MESH, 2)


def test_columns_and_dtypes(astronaut_faces: Faces) -> None:
    assert astronaut_faces.xyxy.dtype == np.float32
    assert astronaut_faces.mesh.dtype == np.float32
    assert astronaut_faces.track_id.dtype == np.int64


def test_non_contiguous_input_gives_the_same_faces(detector: FaceDetector, astronaut: np.ndarray,
                                                   astronaut_faces: Faces) -> None:
    """A view (a crop, a BGR->RGB flip) is not contiguous; backends must cope and see the same picture."""
    bgr = np.ascontiguousarray(astronaut[..., ::-1])
    out = detector.detect(bgr[..., ::-1])
    assert len(out) == 1
    np.testing.assert_allclose(out.xyxy, astronaut_faces.xyxy, atol=1.0)


def test_face_at_the_border_keeps_its_place(detector: FaceDetector, astronaut: np.ndarray,
                                            astronaut_faces: Faces) -> None:
    """Cropping the picture so the face touches the top-left corner: landmarks move by the crop offset."""
    x0, y0 = 150, 50
    out = detector.detect(np.ascontiguousarray(astronaut[y0:, x0:]))
    assert len(out) == 1
    shift = np.array([x0, y0], np.float32)
    err = np.abs(out.points5[0] + shift - astronaut_faces.points5[0]).max()
    assert err < 4.0, f"five points moved by {err:.1f} px"


def test_named_landmark_indices_are_valid() -> None:
    named = [*lm.RIGHT_EYE_CORNERS, *lm.LEFT_EYE_CORNERS, lm.NOSE_TIP, lm.MOUTH_RIGHT, lm.MOUTH_LEFT, *FACE_OVAL]
    assert all(0 <= i < N_MESH for i in named)
    assert len(set(FACE_OVAL)) == len(FACE_OVAL) == 36
