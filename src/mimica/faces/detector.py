"""Face detectors behind one interface, created by name.

The only backend today is mediapipe 0.10.14: BlazeFace full-range finds the faces, FaceMesh on a crop around each
one gives 468 landmarks. Both weights ship inside the mediapipe wheel, so nothing is downloaded at run time
(measured against the alternatives in ../shared/notes/face-pipeline-deps.md).
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Callable, Iterator
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from mimica.errors import FaceBackendError
from mimica.faces.landmarks import LEFT_EYE_CORNERS, MOUTH_LEFT, MOUTH_RIGHT, NOSE_TIP, RIGHT_EYE_CORNERS
from mimica.types import N_MESH, Faces


@contextlib.contextmanager
def quiet_native_stderr() -> Iterator[None]:
    """Silences what TFLite and absl write straight to file descriptor 2 while mediapipe builds its graphs and
    runs them the first time ("Created TensorFlow Lite XNNPACK delegate", "Feedback manager requires..."): noise
    that users would take for errors. Python-level stderr is untouched outside this block."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (embedded, captured): nothing to hide
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


class FaceDetector(Protocol):
    """Finds every face in an RGB uint8 image, with dense landmarks."""

    name: str

    def detect(self, image: NDArray[np.uint8]) -> Faces: ...


def points5_from_mesh(mesh: NDArray[np.float32]) -> NDArray[np.float32]:
    """The five alignment points (n, 5, 2) from dense landmarks (n, 468, 2)."""
    return np.stack(
        [
            mesh[:, list(RIGHT_EYE_CORNERS)].mean(axis=1),
            mesh[:, list(LEFT_EYE_CORNERS)].mean(axis=1),
            mesh[:, NOSE_TIP],
            mesh[:, MOUTH_RIGHT],
            mesh[:, MOUTH_LEFT],
        ],
        axis=1,
    ).astype(np.float32)


class MediapipeDetector:
    """BlazeFace (full range) + FaceMesh on a square crop around each detection.

    min_confidence: raise it to drop doubtful faces (fewer false faces, more missed small ones).
    crop_scale: size of the square crop given to FaceMesh, in units of the detection box; FaceMesh expects
    some context around the face.
    """

    name = "mediapipe"

    def __init__(self, min_confidence: float = 0.5, crop_scale: float = 1.8, max_faces: int = 8) -> None:
        os.environ.setdefault("GLOG_minloglevel", "2")
        warnings.filterwarnings("ignore", message="SymbolDatabase.GetPrototype", category=UserWarning)
        try:
            from mediapipe.python.solutions import face_detection, face_mesh
        except ImportError as err:  # pragma: no cover - depends on the environment
            raise FaceBackendError(
                f"mediapipe could not be imported ({err}); reinstall with: pip install 'mediapipe==0.10.14'"
            ) from err
        with quiet_native_stderr():
            self._det = face_detection.FaceDetection(model_selection=1, min_detection_confidence=min_confidence)
            self._det_near = face_detection.FaceDetection(model_selection=0,
                                                          min_detection_confidence=min_confidence)
            self._mesh = face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1, refine_landmarks=False)
            # the first run of each graph logs from native code too: run them once here, silenced
            blank = np.zeros((64, 64, 3), np.uint8)
            for graph in (self._det, self._det_near, self._mesh):
                graph.process(blank)
        self.crop_scale = crop_scale
        self.max_faces = max_faces

    def detect(self, image: NDArray[np.uint8]) -> Faces:
        h, w = image.shape[:2]
        image = np.ascontiguousarray(image)
        # full range finds small faces; the short-range model finds a face that fills the picture (a selfie,
        # a face photo), which full range often misses. The second pass runs only when the first finds none.
        found = self._det.process(image).detections or self._det_near.process(image).detections or []
        found = sorted(found, key=lambda d: -d.score[0])[: self.max_faces]
        boxes, meshes, scores = [], [], []
        for det in found:
            rb = det.location_data.relative_bounding_box
            x1, y1 = rb.xmin * w, rb.ymin * h
            bw, bh = rb.width * w, rb.height * h
            if bw < 8 or bh < 8:
                continue
            mesh = self._landmarks(image, x1 + bw / 2, y1 + bh / 2, max(bw, bh) * self.crop_scale)
            if mesh is None:
                continue
            boxes.append([max(x1, 0), max(y1, 0), min(x1 + bw, w), min(y1 + bh, h)])
            meshes.append(mesh)
            scores.append(det.score[0])
        if not boxes:
            return Faces.empty()
        mesh_arr = np.asarray(meshes, np.float32)
        return Faces(
            xyxy=np.asarray(boxes, np.float32),
            points5=points5_from_mesh(mesh_arr),
            mesh=mesh_arr,
            score=np.asarray(scores, np.float32),
            track_id=np.full(len(boxes), -1, np.int64),
        )

    def _landmarks(self, image: NDArray[np.uint8], cx: float, cy: float, side: float) -> NDArray | None:
        h, w = image.shape[:2]
        x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
        s = int(round(side))
        # pad instead of clipping so that a face at the border keeps its place in the crop
        pad = max(0, -x0, -y0, x0 + s - w, y0 + s - h)
        src = np.pad(image, ((pad, pad), (pad, pad), (0, 0))) if pad else image
        crop = np.ascontiguousarray(src[y0 + pad : y0 + pad + s, x0 + pad : x0 + pad + s])
        res = self._mesh.process(crop)
        if not res.multi_face_landmarks:
            return None
        lm = res.multi_face_landmarks[0].landmark
        pts = np.array([(p.x, p.y) for p in lm[:N_MESH]], np.float32) * s
        pts += np.array([x0, y0], np.float32)
        return pts

    def close(self) -> None:
        self._det.close()
        self._det_near.close()
        self._mesh.close()


_BACKENDS: dict[str, Callable[..., FaceDetector]] = {"mediapipe": MediapipeDetector}


def available_detectors() -> list[str]:
    return sorted(_BACKENDS)


def create_detector(name: str = "mediapipe", **kwargs: object) -> FaceDetector:
    """Create a face detector by name (see `available_detectors()`)."""
    try:
        factory = _BACKENDS[name]
    except KeyError:
        raise FaceBackendError(f"unknown face detector {name!r}; choose one of {available_detectors()}") from None
    return factory(**kwargs)
