"""Piecewise-affine warping of a face texture over the 468-point FaceMesh triangulation.

The triangles are FaceMesh's own tessellation (mediapipe's FACEMESH_TESSELATION edges, closed into triangles),
not a Delaunay of one face: they follow the 3-D surface, so they stay valid when the target turns its head, and
they leave the eyes and the inner mouth open, so the target's own eyes and mouth show through (gaze and teeth
follow the target).

Instead of one cv2.warpAffine per triangle (about 850 calls a frame), the target-side triangles are rasterised
into an index map and each pixel gets its triangle's affine map; one cv2.remap then samples the source.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np
from numpy.typing import NDArray


@lru_cache(maxsize=1)
def triangles() -> NDArray[np.int32]:
    """(n, 3) vertex indices of the FaceMesh tessellation."""
    from mediapipe.python.solutions.face_mesh_connections import FACEMESH_TESSELATION

    adj: dict[int, set[int]] = {}
    for a, b in FACEMESH_TESSELATION:
        adj.setdefault(a, set()).add(b)
        adj.setdefault(b, set()).add(a)
    tris = set()
    for a, nb in adj.items():
        for b in nb:
            for c in nb & adj[b]:
                tris.add(tuple(sorted((a, b, c))))
    return np.array(sorted(tris), np.int32)


def _affines(src: NDArray[np.float32], dst: NDArray[np.float32], tris: NDArray[np.int32]) -> NDArray[np.float64]:
    """(n, 2, 3) affine maps taking each destination triangle onto its source triangle. In closed form (edge
    vectors and a 2 x 2 inverse): a batched np.linalg.solve of 900 3 x 3 systems cost more than the warp's remap.
    Degenerate destination triangles get the zero map."""
    d = dst[tris].astype(np.float64)  # (n, 3, 2)
    s = src[tris].astype(np.float64)
    e1, e2 = d[:, 1] - d[:, 0], d[:, 2] - d[:, 0]
    f1, f2 = s[:, 1] - s[:, 0], s[:, 2] - s[:, 0]
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    ok = np.abs(det) > 1e-6
    inv_det = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    # [f1 f2] @ inverse of [e1 e2] (columns), row by row
    a00 = (f1[:, 0] * e2[:, 1] - f2[:, 0] * e1[:, 1]) * inv_det
    a01 = (f2[:, 0] * e1[:, 0] - f1[:, 0] * e2[:, 0]) * inv_det
    a10 = (f1[:, 1] * e2[:, 1] - f2[:, 1] * e1[:, 1]) * inv_det
    a11 = (f2[:, 1] * e1[:, 0] - f1[:, 1] * e2[:, 0]) * inv_det
    t0 = np.where(ok, s[:, 0, 0] - a00 * d[:, 0, 0] - a01 * d[:, 0, 1], 0.0)
    t1 = np.where(ok, s[:, 0, 1] - a10 * d[:, 0, 0] - a11 * d[:, 0, 1], 0.0)
    return np.stack([np.stack([a00, a01, t0], 1), np.stack([a10, a11, t1], 1)], 1)


def warp(
    src_image: NDArray,
    src_pts: NDArray[np.float32],
    dst_pts: NDArray[np.float32],
    box: tuple[int, int, int, int],
    tris: NDArray[np.int32] | None = None,
    max_stretch: float | None = None,
    index: NDArray[np.int32] | None = None,
) -> tuple[NDArray, NDArray[np.float32]]:
    """The source face drawn on the destination landmarks inside box (x0, y0, x1, y1) of the destination frame:
    (crop (h, w, channels) of src_image's dtype, coverage mask (h, w) in {0, 1}).

    Triangles facing away (the far side of a turned head) are drawn first so that the near side covers them.
    tris: the triangles (default: FaceMesh's tessellation). max_stretch: triangles drawn more than this many
    times larger (in area, relative to the median triangle) than they are in the source are left out of the
    mask: slivers at the source's silhouette (background, hair) stretched over a cheek the source does not show.
    index: `raster(dst_pts, box, tris)`, for warps onto the same landmarks again and again (then the drawing order
    no longer follows the source's facing: for destinations whose triangles do not overlap).
    """
    x0, y0, x1, y1 = box
    h, w = y1 - y0, x1 - x0
    tris = triangles() if tris is None else tris
    local = (dst_pts - np.array([x0, y0], np.float32)).astype(np.float32)
    d = local[tris]
    s = src_pts[tris]
    area_d = (d[:, 1, 0] - d[:, 0, 0]) * (d[:, 2, 1] - d[:, 0, 1]) - (d[:, 2, 0] - d[:, 0, 0]) * (
        d[:, 1, 1] - d[:, 0, 1]
    )
    area_s = (s[:, 1, 0] - s[:, 0, 0]) * (s[:, 2, 1] - s[:, 0, 1]) - (s[:, 2, 0] - s[:, 0, 0]) * (
        s[:, 1, 1] - s[:, 0, 1]
    )
    facing = np.sign(area_d) == np.sign(area_s)
    if index is None:
        index = _raster(d, (h, w), np.concatenate([np.flatnonzero(~facing), np.flatnonzero(facing)]))
    drawn = np.ones(len(tris) + 1, bool)
    drawn[-1] = False  # index -1: no triangle
    if max_stretch is not None:
        ratio = np.abs(area_d) / np.maximum(np.abs(area_s), 1e-6)
        med = float(np.median(ratio[facing])) if facing.any() else 1.0
        drawn[:-1] = ratio <= max_stretch * med
    mask = drawn[index]
    # each pixel's affine map by one gather from a table whose last row (index -1: no triangle, or one left out)
    # sends it outside the source (-1, -1), then the maps as whole-picture products
    aff = np.zeros((len(tris) + 1, 2, 3), np.float32)
    aff[:-1] = _affines(src_pts, local, tris)
    aff[-1, :, 2] = -1.0
    a = aff[np.where(mask, index, -1)]  # (h, w, 2, 3)
    xf = np.arange(w, dtype=np.float32)[None, :]
    yf = np.arange(h, dtype=np.float32)[:, None]
    map_x = a[..., 0, 0] * xf + a[..., 0, 1] * yf + a[..., 0, 2]
    map_y = a[..., 1, 0] * xf + a[..., 1, 1] * yf + a[..., 1, 2]
    out = cv2.remap(src_image, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return np.asarray(out, src_image.dtype), mask.astype(np.float32)


def _raster(d: NDArray[np.float32], shape: tuple[int, int], order: NDArray[np.intp]) -> NDArray[np.int32]:
    index = np.full(shape, -1, np.int32)
    poly = np.rint(d * 4).astype(np.int32)  # 2 fractional bits: sub-pixel edges
    for p, t in zip(list(poly[order]), order.tolist(), strict=True):  # plain ints and arrays: less call overhead
        cv2.fillConvexPoly(index, p, t, cv2.LINE_8, 2)
    return index


def raster(
    dst_pts: NDArray[np.float32], box: tuple[int, int, int, int], tris: NDArray[np.int32] | None = None
) -> NDArray[np.int32]:
    """(h, w) of box: the triangle drawn at each pixel (-1: none), as `warp` draws them; its rasterising is most
    of a small warp's cost."""
    x0, y0, x1, y1 = box
    tris = triangles() if tris is None else tris
    d = (dst_pts - np.array([x0, y0], np.float32)).astype(np.float32)[tris]
    return _raster(d, (y1 - y0, x1 - x0), np.arange(len(tris)))


def face_box(pts: NDArray[np.float32], shape: tuple[int, ...], pad: float = 0.15) -> tuple[int, int, int, int]:
    """Integer box around the landmarks with `pad` (fraction of the face size) of context, clipped to the frame."""
    h, w = shape[:2]
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    m = float(max(hi - lo)) * pad + 2
    x0, y0 = int(max(0, np.floor(lo[0] - m))), int(max(0, np.floor(lo[1] - m)))
    x1, y1 = int(min(w, np.ceil(hi[0] + m))), int(min(h, np.ceil(hi[1] + m)))
    return x0, y0, max(x1, x0 + 1), max(y1, y0 + 1)


def hole_fans(n_points: int, holes) -> tuple[NDArray[np.int32], int]:
    """Triangles that close the tessellation's holes (eyes, mouth), each a fan around an extra vertex at the
    hole's centroid (vertices n_points, n_points + 1, ...): (triangles, number of extra vertices)."""
    tris = []
    for k, loop in enumerate(holes):
        c = n_points + k
        tris += [(c, loop[i], loop[(i + 1) % len(loop)]) for i in range(len(loop))]
    return np.array(tris, np.int32), len(holes)


def with_centroids(pts: NDArray[np.float32], holes) -> NDArray[np.float32]:
    """pts with the centroid of each hole's contour appended (the fans' centres)."""
    return np.concatenate([pts, np.array([pts[list(h)].mean(0) for h in holes], np.float32)], axis=0)
