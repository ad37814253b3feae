"""The training-free swap: the source face's texture, warped onto each target face's landmarks.

Because the warp follows the target's 468 landmarks, the target's pose and expression drive the result; the
source contributes skin, features and identity cues. Images go through `swap_image`, videos through
`swap_video` (two passes: landmarks and tracks first, so gaps can be filled from both sides and the largest
track chosen before anything is written; then warp, blend, mark and encode).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from numpy.typing import NDArray

from mimica.errors import MediaError, NoFaceError, SwapError
from mimica.faces import IoUTracker, create_detector
from mimica.faces.detector import FaceDetector, points5_from_mesh, quiet_native_stderr
from mimica.faces.landmarks import BROWS_UPPER, CHIN, FACE_OVAL
from mimica.swap.blend import alpha_blend, feather, laplacian_blend, poisson_blend, reinhard
from mimica.swap.mesh import INNER_LIPS, face_box, warp
from mimica.swap.smooth import OneEuroFilter, fill_gaps
from mimica.types import N_MESH, Faces

#: share of the forehead (brows to hairline) the pasted face covers; the rest stays the target's
FOREHEAD_KEEP = 0.5

Progress = Callable[[str, int, int], None]


class SourceFaceWarning(UserWarning):
    """The source picture shows several faces; the largest one is used."""


@dataclass(frozen=True)
class SwapOptions:
    """blend: "laplacian" (default) or "poisson" (cv2.seamlessClone; slower, can bleed the target's colour in);
    color: "reinhard" or "none"; erode / feather: how far the mask edge moves inside the face and how soft it is,
    as fractions of the face size (raise feather for a softer seam, erode to keep more of the target's outline);
    face: swap only this track (0 = largest, 1 = next ...) ; all_faces: swap every track;
    min_cutoff / beta: the 1-euro filter on landmarks (lower min_cutoff = steadier still faces, higher beta =
    less lag on fast moves); max_gap_s: longest detection gap (seconds) bridged by interpolation."""

    blend: str = "laplacian"
    color: str = "reinhard"
    erode: float = 0.03
    feather: float = 0.08
    face: int = 0
    all_faces: bool = False
    min_cutoff: float = 1.5
    beta: float = 0.05
    max_gap_s: float = 0.5

    def __post_init__(self) -> None:
        if self.blend not in ("laplacian", "poisson", "alpha"):
            raise SwapError(f"blend {self.blend!r}: choose laplacian, poisson or alpha")
        if self.color not in ("reinhard", "none"):
            raise SwapError(f"color {self.color!r}: choose reinhard or none")
        if self.face < 0:
            raise SwapError(f"face index must be 0 or more, got {self.face}")


@dataclass(frozen=True)
class SourceFace:
    """The source texture: a crop around the face and its landmarks in crop pixels."""

    image: NDArray[np.uint8]
    mesh: NDArray[np.float32]

    @classmethod
    def from_image(cls, image: NDArray[np.uint8], detector=None, name: str = "source") -> SourceFace:
        det = detector or create_detector("mediapipe")
        faces = det.detect(image)
        if len(faces) == 0:
            raise NoFaceError(f"{name}: no face found in the source picture; use a clear, frontal face photo")
        i = int(np.argmax(faces.area))
        if len(faces) > 1:
            warnings.warn(
                f"{name}: {len(faces)} faces in the source; using the largest", SourceFaceWarning, stacklevel=2
            )
        mesh = faces.mesh[i]
        x0, y0, x1, y1 = face_box(mesh, image.shape, pad=0.1)
        return cls(np.ascontiguousarray(image[y0:y1, x0:x1]), (mesh - np.array([x0, y0], np.float32)))


class FaceSwapper:
    """Pastes one source face onto target landmarks, frame after frame (`apply`)."""

    def __init__(self, source: SourceFace, options: SwapOptions | None = None) -> None:
        self.source = source
        self.options = options or SwapOptions()

    def apply(
        self, frame: NDArray[np.uint8], mesh: NDArray[np.float32], center: tuple[int, int] | None = None
    ) -> NDArray[np.uint8]:
        """A new frame with the source face on `mesh` (468, 2). `center`: a steady blend centre (video)."""
        o = self.options
        x0, y0, x1, y1 = face_box(mesh, frame.shape, pad=0.12)
        if x1 - x0 < 16 or y1 - y0 < 16:
            return frame
        warped, cover = warp(self.source.image, self.source.mesh, mesh, (x0, y0, x1, y1))
        bg = frame[y0:y1, x0:x1]
        size = float(max(mesh.max(0) - mesh.min(0)))
        local = mesh - np.array([x0, y0], np.float32)
        mask = _face_mask(cover, local)
        mask = feather(mask, int(round(o.erode * size)), int(round(o.feather * size)))
        if o.color == "reinhard":
            warped = reinhard(warped, bg, (mask > 0.5).astype(np.float32))
        out = frame.copy()
        if o.blend == "poisson":
            c = center or ((x0 + x1) // 2, (y0 + y1) // 2)
            out = poisson_blend(_paste(frame, warped, x0, y0), frame, _paste_mask(frame, mask, x0, y0), c)
            return out
        blended = laplacian_blend(warped, bg, mask) if o.blend == "laplacian" else alpha_blend(warped, bg, mask)
        out[y0:y1, x0:x1] = blended
        return out


def _face_mask(cover: NDArray[np.float32], local: NDArray[np.float32]) -> NDArray[np.float32]:
    """Where the swapped face shows: the warped surface, minus the open mouth (the target's teeth show)."""
    import cv2

    mask = cover.copy()
    lips = np.rint(local[list(INNER_LIPS)] * 4).astype(np.int32)
    cv2.fillPoly(mask, [lips], 0.0, lineType=cv2.LINE_8, shift=2)
    oval = np.rint(_lower_forehead(local) * 4).astype(np.int32)
    limit = np.zeros_like(mask)
    cv2.fillPoly(limit, [oval], 1.0, lineType=cv2.LINE_8, shift=2)
    return mask * limit


def _lower_forehead(mesh: NDArray[np.float32], keep: float = FOREHEAD_KEEP) -> NDArray[np.float32]:
    """The face outline with its top brought down to `keep` of the way from the brows to the hairline: the
    outline's top sits on the hairline, so a source with a fringe would bring a band of hair with it."""
    oval = mesh[list(FACE_OVAL)].astype(np.float32)
    up = mesh[FACE_OVAL[0]] - mesh[CHIN]
    up = up / max(float(np.linalg.norm(up)), 1e-6)
    height = oval @ up
    brow = float((mesh[list(BROWS_UPPER)] @ up).max())
    top = brow + keep * max(float(height.max()) - brow, 0.0)
    excess = np.maximum(height - top, 0.0)
    return oval - excess[:, None] * up[None, :]


def _paste(frame: NDArray[np.uint8], crop: NDArray[np.uint8], x0: int, y0: int) -> NDArray[np.uint8]:
    out = frame.copy()
    out[y0 : y0 + crop.shape[0], x0 : x0 + crop.shape[1]] = crop
    return out


def _paste_mask(frame: NDArray[np.uint8], mask: NDArray[np.float32], x0: int, y0: int) -> NDArray[np.float32]:
    out = np.zeros(frame.shape[:2], np.float32)
    out[y0 : y0 + mask.shape[0], x0 : x0 + mask.shape[1]] = mask
    return out


# -- landmarks over a video -------------------------------------------------------------------------------------


class VideoLandmarker:
    """Dense landmarks for consecutive frames.

    FaceMesh in video mode (static_image_mode=False) tracks landmarks from the previous frame and runs its
    detector only when it has lost a face: about 4 ms a frame (../shared/notes/face-pipeline-deps.md). It only
    knows the short-range face detector, so frames where it finds nothing go to mimica's detector (full-range
    BlazeFace + FaceMesh on a crop), which finds small faces too.
    """

    def __init__(self, max_faces: int = 4) -> None:
        os.environ.setdefault("GLOG_minloglevel", "2")
        from mediapipe.python.solutions import face_mesh

        with quiet_native_stderr():  # TFLite's start-up lines on fd 2 (see mimica.faces.detector)
            self._mesh = face_mesh.FaceMesh(static_image_mode=False, max_num_faces=max_faces,
                                            refine_landmarks=False)
            self._mesh.process(np.zeros((64, 64, 3), np.uint8))  # the first run logs too
        self._fallback: FaceDetector | None = None

    def detect(self, image: NDArray[np.uint8]) -> Faces:
        h, w = image.shape[:2]
        res = self._mesh.process(image)
        if res.multi_face_landmarks:
            meshes = np.array(
                [[(p.x * w, p.y * h) for p in lm.landmark[:N_MESH]] for lm in res.multi_face_landmarks], np.float32
            )
            lo, hi = meshes.min(axis=1), meshes.max(axis=1)
            return Faces(
                xyxy=np.concatenate([lo, hi], axis=1).astype(np.float32),
                points5=points5_from_mesh(meshes),
                mesh=meshes,
                score=np.ones(len(meshes), np.float32),
                track_id=np.full(len(meshes), -1, np.int64),
            )
        if self._fallback is None:
            self._fallback = create_detector("mediapipe")
        return self._fallback.detect(image)

    def close(self) -> None:
        self._mesh.close()


def _stream_orientation(vs: av.video.stream.VideoStream):
    from mimica.media.orientation import Orientation

    tag = next((v for k, v in vs.metadata.items() if k.lower() == "rotate"), None)
    return Orientation.from_rotate_tag(tag)


def _upright(frame: av.VideoFrame, fallback, scale: float = 1.0) -> NDArray[np.uint8]:
    """RGB pixels turned upright (display matrix of the frame, else the stream's rotate tag), optionally
    resized by `scale` in the same conversion (cheaper than converting at full size)."""
    from mimica.media.orientation import frame_orientation

    if scale != 1.0:
        rgb = frame.to_ndarray(width=_even(frame.width * scale), height=_even(frame.height * scale), format="rgb24")
    else:
        rgb = frame.to_ndarray(format="rgb24")
    return np.ascontiguousarray(frame_orientation(frame, fallback).apply(rgb))


def _even(x: float) -> int:
    return max(2, int(round(x / 2)) * 2)


#: landmark pass resolution cap (long side): FaceMesh sees a 192-px crop anyway, so converting full 1080p frames
#: to RGB for it only costs time
LANDMARK_SIDE = 960


def _scaled(faces: Faces, sx: float, sy: float) -> Faces:
    if len(faces) == 0:
        return faces
    k2 = np.array([sx, sy], np.float32)
    return Faces(
        faces.xyxy * np.array([sx, sy, sx, sy], np.float32),
        faces.points5 * k2,
        faces.mesh * k2,
        faces.score,
        faces.track_id,
    )


def _open_video(path: Path) -> av.container.InputContainer:
    try:
        c = av.open(str(path), metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as err:
        raise MediaError(f"{path}: not a readable image or video ({str(err).splitlines()[0][:160]})") from err
    if not c.streams.video:
        c.close()
        raise MediaError(f"{path}: no video stream; the target must be an image or a video")
    return c


def track_video(
    path: Path, progress: Progress | None = None, max_frames: int | None = None
) -> tuple[list[Faces], list[float], int]:
    """Pass 1: tracked faces of every frame, their times (s) and the frame count."""
    from mimica.media.orientation import frame_orientation

    frames_faces: list[Faces] = []
    times: list[float] = []
    tracker = IoUTracker(min_iou=0.3, max_center_dist=0.5, max_missed=5)
    lm = VideoLandmarker()
    try:
        with _open_video(path) as c:
            vs = c.streams.video[0]
            vs.thread_type = "AUTO"
            rot = _stream_orientation(vs)
            total = vs.frames or 0
            scale = min(1.0, LANDMARK_SIDE / max(vs.codec_context.width, vs.codec_context.height))
            try:
                for frame in c.decode(vs):
                    if max_frames is not None and len(times) >= max_frames:
                        break
                    full = frame_orientation(frame, rot).apply(np.empty((frame.height, frame.width, 0))).shape
                    img = _upright(frame, rot, scale)
                    faces = _scaled(lm.detect(img), full[1] / img.shape[1], full[0] / img.shape[0])
                    frames_faces.append(tracker.update(faces))
                    times.append(float(frame.time) if frame.time is not None else len(times) / 25.0)
                    if progress:
                        progress("landmarks", len(times), total)
            except av.error.FFmpegError as err:
                if not times:
                    raise MediaError(f"{path}: video could not be decoded ({err})") from err
    finally:
        lm.close()
    return frames_faces, times, len(times)


def select_tracks(frames_faces: list[Faces], options: SwapOptions) -> list[int]:
    """The track ids to swap: all, or the options.face-th largest (by mean area x frames present)."""
    weight: dict[int, float] = {}
    for faces in frames_faces:
        for tid, area in zip(faces.track_id.tolist(), faces.area.tolist(), strict=True):
            weight[tid] = weight.get(tid, 0.0) + float(area)
    ranked = sorted(weight, key=lambda t: -weight[t])
    if options.all_faces:
        return ranked
    if options.face >= len(ranked):
        raise SwapError(f"--face {options.face}: the target has only {len(ranked)} face track(s) (0 is the largest)")
    return [ranked[options.face]]


def smooth_tracks(
    frames_faces: list[Faces], times: list[float], tracks: list[int], options: SwapOptions, fps: float
) -> dict[int, dict[int, NDArray[np.float32]]]:
    """Per track, per frame index: gap-filled, 1-euro-filtered landmarks."""
    out: dict[int, dict[int, NDArray[np.float32]]] = {}
    for tid in tracks:
        raw = {}
        for i, faces in enumerate(frames_faces):
            sel = np.flatnonzero(faces.track_id == tid)
            if len(sel):
                raw[i] = faces.mesh[sel[0]]
        filled = fill_gaps(raw, len(frames_faces), max(1, int(round(options.max_gap_s * fps))))
        f = OneEuroFilter(options.min_cutoff, options.beta)
        smooth: dict[int, NDArray[np.float32]] = {}
        prev = None
        for i in sorted(filled):
            if prev is not None and i != prev + 1:
                f.reset()  # a long gap: start afresh rather than drag the old position in
            mesh = filled[i]
            size = float(max(mesh.max(0) - mesh.min(0)))
            smooth[i] = f.update(mesh, times[i], scale=size)
            prev = i
        out[tid] = smooth
    return out
