"""Where the source's face goes: the source's 3-D face shape in the target's pose, with the target's expression.

Warping the source's texture onto the target's own landmarks (the previous swap) keeps the target's face shape:
the eyes, nose and mouth sit where the target's are, at the target's sizes, and a face-recognition model still
sees the target. Here the destination landmarks are the source's own 468 points (x, y from FaceMesh, depth from
FaceMesh's z), turned and scaled by a scaled-orthographic camera fitted on the rigid points (eye corners,
nose, forehead, cheekbones) so the source's proportions survive; then
- the eyes and lips take the target's shape relative to their own corners (blinks, an open mouth: expression),
- on video, the whole shape moves as the target's moves from its resting face (`expression_of`: a dropped
  jaw, spread lips, raised brows), so the source's mouth corners and chin do not stay where a still put them,
- the face outline stays the target's, with a ramp of a few mesh rings inward (the seam and the target's hair
  and background line up),
- and where a triangle would fold over (a pose the source's shape cannot follow), the move is halved there.
"""

from __future__ import annotations

import os
from collections import deque
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from mimica.faces.landmarks import FACE_OVAL
from mimica.swap.regions import (
    INNER_LIPS,
    LEFT_EYE,
    LEFT_EYE_CORNERS,
    MOUTH_CORNERS,
    OUTER_LIPS,
    RIGHT_EYE,
    RIGHT_EYE_CORNERS,
)

#: points that move little with expression: eye corners, the nose, the forehead's midline, cheekbones
RIGID = (33, 133, 362, 263, 1, 2, 4, 5, 6, 168, 197, 195, 98, 327, 10, 151, 9, 8, 116, 345, 50, 280, 123, 352)
#: mesh rings (graph steps from the face outline) over which the outline's pull fades
OUTLINE_RINGS = 3
#: the groups whose shape is the target's (expression), each with the two corners that place it
EXPRESSION_GROUPS = (
    (RIGHT_EYE, RIGHT_EYE_CORNERS),
    (LEFT_EYE, LEFT_EYE_CORNERS),
    (tuple(sorted(set(OUTER_LIPS) | set(INNER_LIPS))), MOUTH_CORNERS),
)


@lru_cache(maxsize=1)
def outline_weight() -> NDArray[np.float32]:
    """(468,) 0 on the face outline, rising by 1/OUTLINE_RINGS a mesh ring to 1 inside."""
    from mimica.swap.mesh import triangles

    adj: dict[int, set[int]] = {}
    for a, b, c in triangles().tolist():
        for u, v in ((a, b), (b, c), (a, c)):
            adj.setdefault(u, set()).add(v)
            adj.setdefault(v, set()).add(u)
    dist = {i: 0 for i in FACE_OVAL}
    queue = deque(FACE_OVAL)
    while queue:
        u = queue.popleft()
        for v in adj.get(u, ()):
            if v not in dist:
                dist[v] = dist[u] + 1
                queue.append(v)
    w = np.ones(468, np.float32)
    for i, d in dist.items():
        w[i] = min(1.0, d / OUTLINE_RINGS)
    return w


def source_depth(image: NDArray[np.uint8], mesh: NDArray[np.float32]) -> NDArray[np.float32]:
    """(468,) FaceMesh's depth of each landmark in pixels (same scale as x), from a static FaceMesh run on a
    square crop around `mesh`; zeros (a flat face) if FaceMesh finds nothing there."""
    os.environ.setdefault("GLOG_minloglevel", "2")
    from mediapipe.python.solutions import face_mesh

    from mimica.faces.detector import quiet_native_stderr

    h, w = image.shape[:2]
    (cx, cy), side = mesh.mean(0), 1.8 * float(np.ptp(mesh, axis=0).max())
    s = max(16, int(round(side)))
    x0, y0 = int(round(cx - s / 2)), int(round(cy - s / 2))
    pad = max(0, -x0, -y0, x0 + s - w, y0 + s - h)
    src = np.pad(image, ((pad, pad), (pad, pad), (0, 0))) if pad else image
    crop = np.ascontiguousarray(src[y0 + pad : y0 + pad + s, x0 + pad : x0 + pad + s])
    with quiet_native_stderr(), face_mesh.FaceMesh(static_image_mode=True, max_num_faces=1) as fm:
        res = fm.process(crop)
    if not res.multi_face_landmarks:
        return np.zeros(468, np.float32)
    pts = np.array([(p.x * s + x0, p.y * s + y0, p.z * s) for p in res.multi_face_landmarks[0].landmark[:468]])
    # FaceMesh's x, y here match `mesh` up to its own jitter; keep the depth, re-centred on the rigid points
    z = pts[:, 2] - pts[list(RIGID), 2].mean()
    return z.astype(np.float32)


def fit_camera(
    points3d: NDArray[np.floating], points2d: NDArray[np.floating], idx=RIGID
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(M (2, 3), t (2,)): the scaled-orthographic camera (M = s * two orthonormal rows) that best maps
    points3d[idx] onto points2d[idx]; similarity-like, so it keeps the 3-D shape's proportions."""
    x = np.asarray(points3d, np.float64)[list(idx)]
    y = np.asarray(points2d, np.float64)[list(idx)]
    xm, ym = x.mean(0), y.mean(0)
    m, *_ = np.linalg.lstsq(x - xm, y - ym, rcond=None)  # (3, 2)
    u, sv, vt = np.linalg.svd(m.T, full_matrices=False)  # m.T (2, 3) = u diag(sv) vt
    cam = float(sv.mean()) * (u @ vt)
    return cam, ym - cam @ xm


def _similarity_onto(a: NDArray[np.float64], b: NDArray[np.float64]) -> tuple[complex, complex]:
    """The least-squares similarity z -> k z + o (complex numbers) taking the points a onto b (for two points,
    the exact one; for points that coincide, the translation)."""
    za, zb = a[:, 0] + 1j * a[:, 1], b[:, 0] + 1j * b[:, 1]
    ma, mb = za.mean(), zb.mean()
    den = float(np.sum(np.abs(za - ma) ** 2))
    k = complex(np.sum((zb - mb) * np.conj(za - ma)) / den) if den > 1e-12 else 1.0 + 0j
    return k, complex(mb - k * ma)


def _moved(k: complex, o: complex, p: NDArray[np.float64]) -> NDArray[np.float64]:
    """(n, 2) points p under z -> k z + o."""
    z = k * (p[:, 0] + 1j * p[:, 1]) + o
    return np.stack([z.real, z.imag], 1)


def neutral_of(meshes: list[NDArray[np.float32]]) -> NDArray[np.float32]:
    """A video track's resting face: each frame's landmarks brought onto the first frame's by a similarity fitted
    on the RIGID points, then the median of each point (what the face looks like when it does nothing)."""
    ref = np.asarray(meshes[0], np.float64)
    out = []
    for m in meshes:
        p = np.asarray(m, np.float64)
        out.append(_moved(*_similarity_onto(p[list(RIGID)], ref[list(RIGID)]), p))
    return np.median(np.stack(out), axis=0).astype(np.float32)


def _spread(p: NDArray[np.float64]) -> float:
    """Size of a shape: RMS distance of its rigid points from their centre (x, y only)."""
    r = p[list(RIGID), :2]
    return float(np.sqrt(((r - r.mean(0)) ** 2).sum(1).mean()))


def expression_of(
    target: NDArray[np.float64], neutral: NDArray[np.float32], source3d: NDArray[np.float32]
) -> NDArray[np.float64]:
    """(468, 2) how far each of the target's landmarks is from where its resting face would put it in the same
    pose (jaw dropped, lips spread, brows raised), in the target frame's pixels. The resting face is lifted to
    3-D with the source's depth scaled to it (faces differ less in depth than in outline), posed by the same
    scaled-orthographic fit as the source, so a turned head is not read as expression."""
    n = np.asarray(neutral, np.float64)
    z = np.asarray(source3d, np.float64)[:, 2] * (_spread(n) / max(_spread(np.asarray(source3d, np.float64)), 1e-6))
    n3 = np.concatenate([n, z[:, None]], 1)
    cam, t = fit_camera(n3, target)
    return target - (n3 @ cam.T + t)


def destination(
    source3d: NDArray[np.float32],
    target: NDArray[np.float32],
    strength: float = 1.0,
    neutral: NDArray[np.float32] | None = None,
    expression: float = 1.0,
) -> NDArray[np.float32]:
    """(468, 2) landmarks to draw the source on: the source's shape in the target's pose and expression.
    strength 0 gives the target's own landmarks (texture-only swap), 1 the source's proportions. neutral: the
    target's resting face (`neutral_of` its video track): the target's expression beyond its eyes' and lips'
    shapes (the jaw, the mouth's corners, the brows, the cheeks) then moves the source's shape too, by
    `expression` (0: not at all)."""
    tgt = np.asarray(target, np.float64)
    if strength <= 0:
        return tgt.astype(np.float32)
    cam, t = fit_camera(source3d, tgt)
    full = np.asarray(source3d, np.float64) @ cam.T + t
    if neutral is not None and expression > 0:
        full += expression * expression_of(tgt, neutral, source3d)
    move = full - tgt
    for group, (ca, cb) in EXPRESSION_GROUPS:
        g = list(group)
        move[g] = _moved(*_similarity_onto(tgt[[ca, cb]], full[[ca, cb]]), tgt[g]) - tgt[g]
    w = outline_weight().astype(np.float64) * float(min(strength, 1.0))
    return _unfold(tgt, move, w).astype(np.float32)


def _signed_areas(p: NDArray[np.float64], tris: NDArray[np.int32]) -> NDArray[np.float64]:
    a, b, c = p[tris[:, 0]], p[tris[:, 1]], p[tris[:, 2]]
    return (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (c[:, 0] - a[:, 0]) * (b[:, 1] - a[:, 1])


def _unfold(tgt: NDArray[np.float64], move: NDArray[np.float64], w: NDArray[np.float64],
            rounds: int = 8) -> NDArray[np.float64]:  # fmt: skip
    """tgt + w * move, with w halved on the corners of every triangle that would flip (or collapse) relative to
    the target's, until none does: a fold tears the texture. An eye or the lips are halved as a whole."""
    from mimica.swap.mesh import triangles

    tris = triangles()
    ref = _signed_areas(tgt, tris)
    size = float(np.ptp(tgt, axis=0).max())
    visible = np.abs(ref) > 1e-4 * size * size  # edge-on triangles have no orientation to keep
    w = w.copy()
    for _ in range(rounds):
        out = tgt + w[:, None] * move
        cur = _signed_areas(out, tris)
        bad = visible & ((np.sign(cur) != np.sign(ref)) | (np.abs(cur) < 0.1 * np.abs(ref)))
        if not bad.any():
            return out
        hit = np.zeros(len(w), bool)
        hit[np.unique(tris[bad])] = True
        for group, _ in EXPRESSION_GROUPS:  # a feature moves as one piece, or its shape (expression) changes
            g = list(group)
            if hit[g].any():
                hit[g] = True
        w[hit] *= 0.5
    return tgt + w[:, None] * move
