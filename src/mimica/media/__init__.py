"""Open images and videos and sample frames from them, in one sequential decoding pass."""

from __future__ import annotations

from mimica.media.open import (
    IMAGE_SUFFIXES,
    MAX_IMAGE_PIXELS,
    VIDEO_SUFFIXES,
    DecodeStats,
    MediaInfo,
    find_media,
    iter_frames,
    probe,
    read_image,
    sample_frames,
    sample_times,
)
from mimica.media.orientation import Orientation, frame_orientation

__all__ = [
    "IMAGE_SUFFIXES",
    "MAX_IMAGE_PIXELS",
    "VIDEO_SUFFIXES",
    "DecodeStats",
    "MediaInfo",
    "Orientation",
    "find_media",
    "frame_orientation",
    "iter_frames",
    "probe",
    "read_image",
    "sample_frames",
    "sample_times",
]
