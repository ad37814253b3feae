"""The training-free swap: the source's face, in its own shape, drawn in each target face's pose and expression.

The source's 468 landmarks (with FaceMesh's depth) are posed on the target by a scaled-orthographic fit
(mimica.swap.shape), so the eyes, nose and mouth keep the source's proportions, while the target's outline,
eyes, mouth and expression stay; the source's texture is warped there (mimica.swap.mesh), takes the target's
light and skin tone on skin only and its grain (mimica.swap.blend, regions from mimica.swap.regions), and is
blended in a band inside the target's outline. On video, the source's shape also moves as the target's face
moves from its resting face (the jaw, the mouth's corners, the brows: `SwapOptions.expression`), and the skin
takes what changes on the target's face from frame to frame (creases, the lids' and the jaw's shading:
mimica.swap.motion, `SwapOptions.dynamic`).
Images go through `swap_image`, videos through `swap_video` (landmarks and tracks first, so gaps can be filled
from both sides and the largest track chosen before anything is written; then each track's mean face; then warp,
blend, mark and encode).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import av
import numpy as np
from numpy.typing import NDArray

from mimica.errors import MediaError, NoFaceError, SwapError
from mimica.faces import IoUTracker, create_detector
from mimica.faces.detector import FaceDetector, points5_from_mesh, quiet_native_stderr
from mimica.faces.landmarks import BROWS_UPPER, CHIN, FACE_OVAL
from mimica.swap.blend import alpha_blend, feather, laplacian_blend, poisson_blend, reinhard
from mimica.swap.mesh import face_box, warp
from mimica.swap.motion import TrackTexture
from mimica.swap.smooth import OneEuroFilter, fill_gaps, running
from mimica.types import N_MESH, Faces

#: share of the forehead (brows to hairline) the pasted face covers; the rest stays the target's
FOREHEAD_KEEP = 0.5

#: source triangles stretched more than this (area, relative to the median) show the target instead
MAX_STRETCH = 5.0

#: width of the target's own lid and lip edge kept around its eyes and its mouth's opening, fading out (fraction
#: of the face size). The source's lids and lips warped onto the target's contour do not blink or speak for
#: FaceMesh the way the target's do: it reads an opening from the edge's look (lashes, the lid's shadow, the lip
#: line). benchmarks/swap_quality.py, 4 videos: mouth r 0.90/0.26/0.88/0.59 -> 0.91/0.44/0.94/0.73, eyes
#: 0.65/0.47/0.62/0.75 -> 0.76/0.49/0.82/0.88, identity still 21/23 pairs (docs/benchmarks.md). Wider costs
#: identity: lids 0.06 and lips 0.03 gave 20/23, the target's whole lips 20/23.
LID_BAND = 0.04
LIP_BAND = 0.02

Progress = Callable[[str, int, int], None]


class SourceFaceWarning(UserWarning):
    """The source picture shows several faces; the largest one is used."""


@dataclass(frozen=True)
class SwapOptions:
    """blend: "laplacian" (default) or "poisson" (cv2.seamlessClone; slower, can bleed the target's colour in);
    color: "skin" (default: the target's light and skin tone on the source's skin, eyes and lips keep their
    colour, grain matched), "reinhard" (one global colour match over the face) or "none";
    identity: how far the face takes the source's shape (1: the source's proportions in the target's pose and
    expression; 0: the source's texture on the target's shape, which keeps much of the target's identity);
    erode / feather: how far the mask edge moves inside the face and how soft it is, as fractions of the face
    size (raise feather for a softer seam, erode to keep more of the target's outline);
    face: swap only this track (0 = largest, 1 = next ...) ; all_faces: swap every track;
    min_cutoff / beta: the 1-euro filter on landmarks (lower min_cutoff = steadier still faces, higher beta =
    less lag on fast moves); max_gap_s: longest detection gap (seconds) bridged by interpolation;
    steady: weight of the past in the per-frame colour and grain estimates of a video (0: none);
    feature_band: how much of the target's own lid and lip edge is kept around its eyes and mouth (1: LID_BAND
    and LIP_BAND; 0: only the openings are the target's);
    dynamic: video only, how much of the target's changing look (creases and shading that move with its jaw
    and lids, not its static face) the swapped skin takes (mimica.swap.motion; 0: none, 1: all of it);
    expression: video only, how much the source's shape moves with the target's expression beyond its eyes'
    and lips' shapes (the jaw, the mouth's corners, the brows, the cheeks), measured from the track's resting
    face (mimica.swap.shape.expression_of; 0: not at all, 1: as much as the target's)."""

    blend: str = "laplacian"
    color: str = "skin"
    identity: float = 1.0
    erode: float = 0.03
    feather: float = 0.08
    face: int = 0
    all_faces: bool = False
    min_cutoff: float = 1.5
    beta: float = 0.05
    max_gap_s: float = 0.5
    steady: float = 0.8
    feature_band: float = 1.0
    dynamic: float = 1.0
    expression: float = 1.0

    def __post_init__(self) -> None:
        if self.blend not in ("laplacian", "poisson", "alpha"):
            raise SwapError(f"blend {self.blend!r}: choose laplacian, poisson or alpha")
        if self.color not in ("skin", "reinhard", "none"):
            raise SwapError(f"color {self.color!r}: choose skin, reinhard or none")
        if not 0.0 <= self.identity <= 1.0:
            raise SwapError(f"identity must be between 0 and 1, got {self.identity}")
        if self.dynamic < 0:
            raise SwapError(f"dynamic must be 0 or more, got {self.dynamic}")
        if self.expression < 0:
            raise SwapError(f"expression must be 0 or more, got {self.expression}")
        if self.feature_band < 0:
            raise SwapError(f"feature_band must be 0 or more, got {self.feature_band}")
        if not 0.0 <= self.steady < 1.0:
            raise SwapError(f"steady must be in [0, 1), got {self.steady}")
        if self.face < 0:
            raise SwapError(f"face index must be 0 or more, got {self.face}")


@dataclass(frozen=True)
class SourceFace:
    """The source texture: a crop around the face, its landmarks in crop pixels and their depth (FaceMesh's z,
    in pixels; zeros when unknown)."""

    image: NDArray[np.uint8]
    mesh: NDArray[np.float32]
    depth: NDArray[np.float32] | None = None

    @classmethod
    def from_image(cls, image: NDArray[np.uint8], detector=None, name: str = "source") -> SourceFace:
        from mimica.swap.shape import source_depth

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
        depth = source_depth(image, mesh)
        x0, y0, x1, y1 = face_box(mesh, image.shape, pad=0.1)
        return cls(np.ascontiguousarray(image[y0:y1, x0:x1]), (mesh - np.array([x0, y0], np.float32)), depth)

    @property
    def points3d(self) -> NDArray[np.float32]:
        z = self.depth if self.depth is not None else np.zeros(len(self.mesh), np.float32)
        return np.concatenate([self.mesh, z[:, None]], axis=1).astype(np.float32)


@dataclass
class _Steady:
    """Per-track running estimates, so a video's colour and grain do not flicker from frame to frame."""

    grey: bool | None = None
    sigma: float | None = None
    noise: float | None = None
    sharper: float | None = None


class FaceSwapper:
    """Pastes one source face onto target landmarks, frame after frame (`apply`)."""

    def __init__(
        self,
        source: SourceFace,
        options: SwapOptions | None = None,
        textures: Mapping[int, TrackTexture] | None = None,
        neutrals: Mapping[int, NDArray[np.float32]] | None = None,
    ) -> None:
        """textures: per track id, the target's mean face look (mimica.swap.motion.track_textures; video only),
        from which `apply` takes what changes at each frame (SwapOptions.dynamic); neutrals: per track id, the
        target's resting face (mimica.swap.shape.neutral_of; video only), from which the source's shape takes
        the target's expression (SwapOptions.expression)."""
        self.source = source
        self.options = options or SwapOptions()
        self.textures = dict(textures or {})
        self.neutrals = dict(neutrals or {})
        self._levels = _pyramid(source)
        self._state: dict[int, _Steady] = {}
        self._rng = np.random.default_rng(0)

    def destination(self, mesh: NDArray[np.float32], track: int | None = None) -> NDArray[np.float32]:
        """Where the source's landmarks go on a target face `mesh` (468, 2): see mimica.swap.shape."""
        from mimica.swap.shape import destination

        o = self.options
        neutral = None if track is None else self.neutrals.get(track)
        return destination(self.source.points3d, mesh, o.identity, neutral, o.expression)

    def apply(
        self,
        frame: NDArray[np.uint8],
        mesh: NDArray[np.float32],
        center: tuple[int, int] | None = None,
        track: int | None = None,
    ) -> NDArray[np.uint8]:
        """A new frame with the source face on `mesh` (468, 2). `center`: a steady blend centre (video);
        `track`: the face track in a video (its colour and grain estimates are smoothed over frames)."""
        from mimica.swap.blend import add_grain, grain_params, is_greyscale, relight, to_grey
        from mimica.swap.mesh import hole_fans, with_centroids
        from mimica.swap.regions import HOLES, INNER_LIPS, LEFT_EYE, RIGHT_EYE, fill_loops, region_masks

        o = self.options
        dst = self.destination(mesh, track)
        x0, y0, x1, y1 = face_box(np.concatenate([mesh, dst]), frame.shape, pad=0.12)
        if x1 - x0 < 16 or y1 - y0 < 16:
            return frame
        size = float(max(mesh.max(0) - mesh.min(0)))
        src_img, src_pts = _level(self._levels, size)
        warped4, cover = warp(src_img, src_pts, dst, (x0, y0, x1, y1), max_stretch=MAX_STRETCH)
        warped, valid = np.ascontiguousarray(warped4[..., :3]), warped4[..., 3].astype(np.float32) / 255.0
        bg = frame[y0:y1, x0:x1]
        origin = np.array([x0, y0], np.float32)
        local, local_dst = mesh - origin, dst - origin
        # the eyes and the open mouth are the target's own (gaze, blinks, teeth), moved to the source's places,
        # and so is a thin band of lid and lip around them (see feature_band)
        tris_h = _feature_triangles(len(mesh)) if o.feature_band > 0 else hole_fans(len(mesh), HOLES)[0]
        src_h, dst_h = with_centroids(local, HOLES), with_centroids(local_dst, HOLES)
        hb = face_box(dst_h[np.unique(tris_h)], bg.shape, pad=0.02)  # only around the eyes and mouth: cheaper
        inner, reach = np.zeros_like(bg), np.zeros(bg.shape[:2], np.float32)
        part, part_reach = warp(bg, src_h, dst_h, hb, tris_h)
        inner[hb[1] : hb[3], hb[0] : hb[2]], reach[hb[1] : hb[3], hb[0] : hb[2]] = part, part_reach
        eyes = fill_loops(bg.shape, local_dst, (RIGHT_EYE, LEFT_EYE)) * reach
        mouth = fill_loops(bg.shape, local_dst, (INNER_LIPS,)) * reach
        hole = np.maximum(eyes, mouth)
        own = hole * (1 - cover)
        if o.feature_band > 0:
            own = np.maximum(own, _feature_band(eyes, mouth, reach, o.feature_band * size, hb))
        sub = (slice(hb[1], hb[3]), slice(hb[0], hb[2]))  # own is 0 outside the box
        warped[sub] = _mix(inner[sub], warped[sub], own[sub])
        cover = np.maximum(cover, hole)
        warped, cover = _fill_gaps(warped, cover, valid, own, local)
        # off the drawn face the warp holds the source's border pixel; the blend's soft edge and coarse bands
        # reach there, so it is the target's own pixels
        warped = _mix(warped, bg, cover)
        face = _face_mask(cover, local)  # cover is final here: the blend mask, and where colour and detail go
        state = self._state.setdefault(-1 if track is None else track, _Steady())
        if state.grey is None or track is None:
            state.grey = is_greyscale(frame)
        if o.color == "skin":
            skin_t = region_masks(local, bg.shape)["skin"]
            reg_d = region_masks(local_dst, bg.shape)
            keep = np.maximum.reduce([reg_d["eyes"], reg_d["mouth"], 0.5 * reg_d["lips"]])
            warped = relight(warped, bg, reg_d["skin"] * cover, skin_t, size, own, keep)
            k = o.steady if track is not None and state.sigma is not None else 0.0
            sigma, noise, state.sharper = grain_params(warped, bg, reg_d["skin"] * cover, skin_t, state.sharper, k)
            state.sigma, state.noise = running(state.sigma, sigma, k), running(state.noise, noise, k)
            warped = add_grain(warped, state.sigma, state.noise, self._rng)
        elif o.color == "reinhard":
            warped = reinhard(warped, bg, (face > 0.5).astype(np.float32))
        texture = self.textures.get(track) if track is not None and o.dynamic > 0 else None
        if texture is not None:
            # the target's own lids, lips and openings already move; the detail goes on the rest of the face
            skin = face * (1 - np.minimum(1, own + hole))
            warped = texture.transfer(warped, frame, mesh, dst, (x0, y0, x1, y1), skin, o.dynamic)
        if state.grey:
            warped = to_grey(warped)
        mask = feather(face, int(round(o.erode * size)), int(round(o.feather * size)))
        out = frame.copy()
        if o.blend == "poisson":
            c = center or ((x0 + x1) // 2, (y0 + y1) // 2)
            out = poisson_blend(_paste(frame, warped, x0, y0), frame, _paste_mask(frame, mask, x0, y0), c)
            return to_grey(out) if state.grey else out
        blended = laplacian_blend(warped, bg, mask) if o.blend == "laplacian" else alpha_blend(warped, bg, mask)
        out[y0:y1, x0:x1] = to_grey(blended) if state.grey else blended
        return out


@lru_cache(maxsize=2)
def _feature_triangles(n_points: int) -> NDArray[np.int32]:
    """The fans closing the eyes and the mouth, and the tessellation's triangles touching their contours (the
    lid and lip edge): what `apply` draws from the target."""
    from mimica.swap.mesh import hole_fans, triangles
    from mimica.swap.regions import HOLES

    fans, _ = hole_fans(n_points, HOLES)
    tris = triangles()
    edge = np.array(sorted({i for h in HOLES for i in h}))
    return np.concatenate([fans, tris[np.isin(tris, edge).any(axis=1)]]).astype(np.int32)


def _band(hole: NDArray[np.float32], width: float, box: tuple[int, int, int, int]) -> NDArray[np.float32]:
    """1 in the openings, fading linearly to 0 at `width` pixels outside them (computed inside box only)."""
    import cv2

    out = np.zeros_like(hole)
    x0, y0, x1, y1 = box
    outside = (hole[y0:y1, x0:x1] < 0.5).astype(np.uint8)
    dist = cv2.distanceTransform(outside, cv2.DIST_L2, 3)
    out[y0:y1, x0:x1] = np.clip(1.0 - dist / max(width, 1.0), 0.0, 1.0)
    return out


def _feature_band(
    eyes: NDArray[np.float32],
    mouth: NDArray[np.float32],
    reach: NDArray[np.float32],
    scale: float,
    box: tuple[int, int, int, int],
) -> NDArray[np.float32]:
    """The weight of the target's own lid and lip edge: LID_BAND (eyes) and LIP_BAND (mouth) times `scale` (the
    face size times SwapOptions.feature_band) wide, fading out; never more than `_within` the triangles drawn
    from the target (`reach`) half the band's width, so it cannot step down where they end (it did, from the
    target's full weight to none in one pixel: a seam around the eyes)."""
    band = np.maximum(_band(eyes, LID_BAND * scale, box), _band(mouth, LIP_BAND * scale, box))
    return np.minimum(band, _within(reach, 0.5 * LID_BAND * scale, box))  # twice the band's slope at most


def _within(reach: NDArray[np.float32], width: float, box: tuple[int, int, int, int]) -> NDArray[np.float32]:
    """0 outside `reach` rising to 1 at `width` pixels inside it (computed inside box only): the band's weight
    cannot step down at the edge of what was drawn from the target."""
    import cv2

    out = np.zeros_like(reach)
    x0, y0, x1, y1 = box
    inside = np.pad((reach[y0:y1, x0:x1] > 0.5).astype(np.uint8), 1)  # the box's border is outside too
    dist = cv2.distanceTransform(inside, cv2.DIST_L2, 3)[1:-1, 1:-1]
    out[y0:y1, x0:x1] = np.clip(dist / max(width, 1.0), 0.0, 1.0) * reach[y0:y1, x0:x1]
    return out


def _mix(a: NDArray[np.uint8], b: NDArray[np.uint8], w: NDArray[np.float32]) -> NDArray[np.uint8]:
    """a where w is 1, b where it is 0, in between linearly."""
    if not (w > 0).any():
        return b
    if ((w == 0) | (w == 1)).all():
        return np.where(w[..., None] > 0.5, a, b)
    return alpha_blend(a, b, w)


def _fill_gaps(
    warped: NDArray[np.uint8],
    cover: NDArray[np.float32],
    valid: NDArray[np.float32],
    own: NDArray[np.float32],
    local: NDArray[np.float32],
) -> tuple[NDArray[np.uint8], NDArray[np.float32]]:
    """Inside the face outline, what the source cannot give (hair over its temples, slivers of its silhouette
    stretched over a cheek it does not show) is painted in from the source's skin around it (cv2.inpaint):
    showing the target's own skin there instead leaves a patch of another face's shading."""
    import cv2

    limit = np.zeros_like(cover)
    cv2.fillPoly(limit, [np.rint(local[list(FACE_OVAL)] * 4).astype(np.int32)], 1.0, lineType=cv2.LINE_8, shift=2)
    gaps = (limit > 0.5) & ((cover < 0.5) | ((valid < 0.5) & (own < 0.5)))
    if not gaps.any() or gaps.mean() > 0.5 * max(float(limit.mean()), 1e-6):
        return warped, cover
    # only around the gaps: the painting reaches 3 px into the known pixels (and a margin for the borders)
    ys, xs = np.nonzero(gaps)
    h, w = gaps.shape
    y0, y1 = max(0, int(ys.min()) - 8), min(h, int(ys.max()) + 9)
    x0, x1 = max(0, int(xs.min()) - 8), min(w, int(xs.max()) + 9)
    filled = warped.copy()
    part = np.ascontiguousarray(warped[y0:y1, x0:x1])
    # what the source does not cover holds the warp's border pixel (the source picture's background), not a
    # colour to paint from: it takes the covered face's local mean first (normalised convolution; far from the
    # face, where that mean has too few pixels behind it, a wider one, then the face's mean colour)
    c = (cover[y0:y1, x0:x1] >= 0.5).astype(np.float32)
    near = part.astype(np.float32)
    if c.any():
        sigma = 0.02 * float(np.ptp(local, axis=0).max()) + 1.0

        def local_mean(sd: float) -> tuple[NDArray[np.floating], NDArray[np.bool_]]:
            weight = cv2.GaussianBlur(c, (0, 0), sd)[..., None]
            return cv2.GaussianBlur(near * c[..., None], (0, 0), sd) / np.maximum(weight, 1e-6), weight > 0.05

        fill, enough = local_mean(sigma)
        if not (enough | (c[..., None] > 0)).all():  # some uncovered pixels too far for it (most frames: none)
            wide, wide_enough = local_mean(4 * sigma)
            far = np.broadcast_to(near[c > 0].mean(0), near.shape)  # beyond that: the face's mean colour
            fill = np.where(enough, fill, np.where(wide_enough, wide, far))
        near = np.where(c[..., None] > 0, near, fill)
    near = np.clip(near + 0.5, 0, 255).astype(np.uint8)
    filled[y0:y1, x0:x1] = cv2.inpaint(near, gaps[y0:y1, x0:x1].astype(np.uint8), 3, cv2.INPAINT_TELEA)
    return filled, np.maximum(cover, gaps.astype(np.float32))


def _pyramid(source: SourceFace) -> list[tuple[float, NDArray[np.uint8], NDArray[np.float32]]]:
    """The source at halving sizes (face size, RGBA image, landmarks): drawing a big source face small straight
    from full resolution aliases and comes out sharper than the frame around it. Alpha: `skin_likeness`."""
    import cv2

    from mimica.swap.blend import skin_likeness
    from mimica.swap.regions import region_masks

    reg = region_masks(source.mesh, source.image.shape)
    like = skin_likeness(source.image, reg["skin"], reg["features"])
    # the fourth channel travels with the texture through the warp: where the source's face is not skin
    img = np.dstack([source.image, np.rint(like * 255).astype(np.uint8)])
    pts = source.mesh
    levels = [(float(np.ptp(pts, axis=0).max()), img, pts)]
    while min(img.shape[:2]) >= 64 and levels[-1][0] >= 64:
        img = np.asarray(cv2.pyrDown(img), np.uint8)
        pts = ((pts + 0.5) / 2 - 0.5).astype(np.float32)
        levels.append((float(np.ptp(pts, axis=0).max()), img, pts))
    return levels


def _level(levels, size: float) -> tuple[NDArray[np.uint8], NDArray[np.float32]]:
    """The smallest level still at least as large as the face it is drawn at."""
    best = levels[0]
    for lv in levels:
        if lv[0] >= size:
            best = lv
    return best[1], best[2]


def _face_mask(cover: NDArray[np.float32], local: NDArray[np.float32]) -> NDArray[np.float32]:
    """Where the swapped face shows: the drawn surface (eyes and mouth included) inside the target's outline with
    its forehead lowered."""
    import cv2

    oval = np.rint(_lower_forehead(local) * 4).astype(np.int32)
    limit = np.zeros_like(cover)
    cv2.fillPoly(limit, [oval], 1.0, lineType=cv2.LINE_8, shift=2)
    return cover * limit


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


#: cutoff (Hz) of the light filter on the face's shape: a blink lasts 0.1-0.3 s and speech moves the lips and
#: the jaw at 3-5 Hz, which the steady filter on the face's place (about 1.5 Hz) would flatten
EXPRESSION_CUTOFF = 8.0


def keep_expression(steady: NDArray[np.float32], quick: NDArray[np.float32]) -> NDArray[np.float32]:
    """The face placed by the steady mesh and shaped by the lightly filtered one: the quick mesh brought onto the
    steady one's rigid points by a similarity. The face does not shimmer as a whole (its place, size and turn are
    the steady filter's), and blinks, speech and the jaw's moves (which the source's shape takes from the
    target: SwapOptions.expression) are not smoothed away. Taking only the eyes' and the lips' shapes from the
    quick mesh, placed on the steady corners, gave mouth r 0.91/0.74/0.93/0.90 on benchmarks/swap_quality.py's
    4 videos, this 0.94/0.81/0.95/0.91 (docs/benchmarks.md)."""
    from mimica.swap.shape import RIGID, _moved, _similarity_onto

    q = quick.astype(np.float64)
    return _moved(*_similarity_onto(q[list(RIGID)], steady.astype(np.float64)[list(RIGID)]), q).astype(np.float32)


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
        fast = OneEuroFilter(EXPRESSION_CUTOFF, options.beta)
        smooth: dict[int, NDArray[np.float32]] = {}
        prev = None
        for i in sorted(filled):
            if prev is not None and i != prev + 1:
                f.reset()  # a long gap: start afresh rather than drag the old position in
                fast.reset()
            mesh = filled[i]
            size = float(max(mesh.max(0) - mesh.min(0)))
            smooth[i] = keep_expression(f.update(mesh, times[i], scale=size), fast.update(mesh, times[i], scale=size))
            prev = i
        out[tid] = smooth
    return out
