"""The piecewise-affine warp over the FaceMesh tessellation: the maps it draws with and what it draws."""

from __future__ import annotations

import numpy as np

from mimica.faces import create_detector
from mimica.swap.mesh import _affines, face_box, triangles, warp


def test_affines_take_each_destination_triangle_onto_its_source():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 200, (60, 2)).astype(np.float32)
    dst = rng.uniform(0, 200, (60, 2)).astype(np.float32)
    tris = rng.choice(60, (40, 3), replace=True).astype(np.int32)
    tris = tris[np.abs(np.cross(dst[tris[:, 1]] - dst[tris[:, 0]], dst[tris[:, 2]] - dst[tris[:, 0]])) > 1]
    aff = _affines(src, dst, tris)
    for k, t in enumerate(tris):
        moved = np.concatenate([dst[t], np.ones((3, 1))], axis=1) @ aff[k].T
        np.testing.assert_allclose(moved, src[t], atol=1e-3)
    flat = np.array([[0, 1, 1]], np.int32)  # a degenerate triangle gets the zero map, not inf
    assert np.all(_affines(src, dst, flat) == 0)


def test_warp_onto_the_same_landmarks_redraws_the_face(astronaut):
    """Source and destination landmarks the same: the warp gives the picture back inside the face."""
    faces = create_detector("mediapipe").detect(astronaut)
    mesh = faces.mesh[int(np.argmax(faces.area))]
    box = face_box(mesh, astronaut.shape, pad=0.1)
    out, cover = warp(astronaut, mesh, mesh, box)
    x0, y0, x1, y1 = box
    crop = astronaut[y0:y1, x0:x1].astype(int)
    inside = cover > 0.5
    assert inside.mean() > 0.4
    assert np.abs(out.astype(int) - crop)[inside].mean() < 1.0
    # shifted by 5 px: the drawn face moves with the landmarks
    moved, cover2 = warp(astronaut, mesh, mesh + np.float32(5), box)
    both = (cover2 > 0.5) & np.roll(inside, 5, axis=(0, 1))
    assert np.abs(moved[5:, 5:].astype(int) - crop[:-5, :-5])[both[5:, 5:]].mean() < 1.0
    assert len(triangles()) > 800


def test_a_kept_raster_draws_the_same_warp(astronaut):
    """`raster` once, then warps onto the same landmarks from other frames (mimica.swap.motion's layout): the
    same pixels as drawing the triangles each time, and a float texture keeps its dtype."""
    from mimica.swap.mesh import raster

    mesh = create_detector("mediapipe").detect(astronaut).mesh[0]
    layout = (mesh - mesh.min(0)) * np.float32(0.5) + np.float32(4)
    box = (0, 0, int(layout[:, 0].max()) + 5, int(layout[:, 1].max()) + 5)
    index = raster(layout, box)
    for shift in (0.0, 3.5):
        a, ca = warp(astronaut, mesh + np.float32(shift), layout, box)
        b, cb = warp(astronaut, mesh + np.float32(shift), layout, box, index=index)
        assert np.array_equal(ca, cb) and np.abs(a.astype(int) - b).max() == 0
    lum = astronaut[..., 0].astype(np.float32) / 255
    c, _ = warp(lum, mesh, layout, box, index=index)
    assert c.dtype == np.float32 and c.shape == index.shape
