"""Open images and videos and sample frames from them, in one sequential decoding pass."""

from __future__ import annotations

from mimica.media.open import (
    IMAGE_SUFFIXES,
    VIDEO_SUFFIXES,
    MediaInfo,
    find_media,
    probe,
    read_image,
    sample_frames,
)

__all__ = [
    "IMAGE_SUFFIXES",
    "VIDEO_SUFFIXES",
    "MediaInfo",
    "find_media",
    "probe",
    "read_image",
    "sample_frames",
]
