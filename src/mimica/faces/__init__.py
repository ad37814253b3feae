"""Face detection with dense landmarks, and tracking across frames."""

from __future__ import annotations

from mimica.faces.detector import FaceDetector, available_detectors, create_detector
from mimica.faces.landmarks import FACE_OVAL, POINTS5
from mimica.faces.tracker import IoUTracker

__all__ = ["FACE_OVAL", "POINTS5", "FaceDetector", "IoUTracker", "available_detectors", "create_detector"]
