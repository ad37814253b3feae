"""Turning stored pixels upright: video display matrices, the legacy `rotate` tag and EXIF orientation.

Phones store portrait video as landscape frames plus a display matrix that says how to turn them, and
portrait photos as landscape pixels plus an EXIF Orientation tag. Face detectors expect upright faces, so
every frame is turned the way a player would show it (FFmpeg's autorotate, Pillow's `exif_transpose`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import cast

import av
import numpy as np
from av.sidedata.sidedata import SideData
from numpy.typing import NDArray

#: EXIF Orientation tag
EXIF_ORIENTATION = 0x0112


@dataclass(frozen=True)
class Orientation:
    """How to show stored pixels upright: turn them `rotation` degrees counter-clockwise (0, 90, 180 or 270),
    then mirror them left-right when `mirrored`. That is the convention of FFmpeg's `-display_rotation` and
    `-display_hflip` and of PyAV's `VideoStream.set_display_rotation(degrees, hflip)`: values round-trip."""

    rotation: int = 0
    mirrored: bool = False

    def __post_init__(self) -> None:
        if self.rotation not in (0, 90, 180, 270):
            raise ValueError(f"rotation must be 0, 90, 180 or 270 degrees, got {self.rotation}")

    @property
    def swaps_axes(self) -> bool:
        """True when the upright picture is as wide as the stored one is high."""
        return self.rotation in (90, 270)

    def apply(self, image: NDArray) -> NDArray:
        """The upright picture; a contiguous copy when anything was turned, the input itself otherwise."""
        if self == UPRIGHT:
            return image
        out = np.rot90(image, self.rotation // 90)
        return np.ascontiguousarray(out[:, ::-1] if self.mirrored else out)

    @classmethod
    def from_display_matrix(cls, matrix: Sequence[int]) -> Orientation:
        """From FFmpeg's 3x3 display matrix (9 int32, row-major, 16.16 fixed point).

        The sign of the determinant says whether the matrix mirrors; once the mirror is taken out (negating
        the first row), that row is (cos, -sin) of the counter-clockwise turn done before the mirror's, which
        is the opposite turn after it. Angles that are not a quarter turn are rounded to
        the nearest one (faces need upright, not exact). Matches `ffmpeg -autorotate` for all eight
        quarter-turn matrices (tests/media/test_orientation.py checks it against the ffmpeg binary).
        """
        a, b, c, d = (float(matrix[i]) for i in (0, 1, 3, 4))
        mirrored = a * d - b * c < 0
        if mirrored:
            a, b = -a, -b
        if a == 0 and b == 0:
            return UPRIGHT  # degenerate matrix: nothing sensible to apply
        quarter = round(math.degrees(math.atan2(-b, a)) / 90)
        return cls((-quarter if mirrored else quarter) % 4 * 90, mirrored)

    @classmethod
    def from_rotate_tag(cls, value: str | None) -> Orientation:
        """From the legacy `rotate` stream tag (clockwise degrees) that old muxers and phones wrote."""
        try:
            degrees = int(round(float(value or 0)))
        except ValueError:
            return UPRIGHT
        return cls((-round(degrees / 90) % 4) * 90)

    @classmethod
    def from_exif(cls, tag: int | None) -> Orientation:
        """From the EXIF Orientation tag (1-8); unknown values count as upright."""
        return _EXIF.get(tag or 1, UPRIGHT)


UPRIGHT = Orientation()
#: EXIF orientation -> turn that shows the picture upright (EXIF 2.3, section 4.6.4, tag 274)
_EXIF = {
    1: UPRIGHT,
    2: Orientation(0, True),
    3: Orientation(180),
    4: Orientation(180, True),  # mirrored top to bottom
    5: Orientation(270, True),  # transposed
    6: Orientation(270),
    7: Orientation(90, True),  # transversed
    8: Orientation(90),
}


def frame_orientation(frame: av.VideoFrame, fallback: Orientation = UPRIGHT) -> Orientation:
    """The orientation a decoded frame carries as DISPLAYMATRIX side data.

    FFmpeg's decoders attach the container's display matrix (MP4/MOV `tkhd`, Matroska projection) and the
    H.264/HEVC display-orientation SEI to every frame, so the frame is the one place to read it; PyAV 18
    exposes no reader on the stream. `VideoFrame.rotation` gives only the angle, which is wrong for mirrored
    matrices, so the matrix itself is read.
    """
    sd = cast("SideData | None", frame.side_data.get("DISPLAYMATRIX"))
    if sd is None:
        return fallback
    matrix = np.frombuffer(bytes(sd), dtype=np.int32)  # native byte order, as FFmpeg stores it
    return Orientation.from_display_matrix(matrix.tolist()) if matrix.size >= 9 else fallback
