"""The target's changing look (mimica.swap.motion): what changes over a track is carried, what stays is not."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from mimica.errors import SwapError
from mimica.faces import create_detector
from mimica.swap import FaceSwapper, SourceFace, SwapOptions
from mimica.swap.motion import CLIP, TrackTexture, layout_of


def _mesh(img: np.ndarray) -> np.ndarray:
    faces = create_detector("mediapipe").detect(img)
    assert len(faces) >= 1
    return faces.mesh[int(np.argmax(faces.area))]


def _crease(img: np.ndarray, centre: tuple[int, int], depth: float) -> np.ndarray:
    """img with a soft dark line (a crease) across `centre`: `depth` of the luminance at its middle."""
    line = np.zeros(img.shape[:2], np.float32)
    cv2.line(line, (centre[0] - 12, centre[1] - 4), (centre[0] + 12, centre[1] + 4), 1.0, 3)
    line = cv2.GaussianBlur(line, (0, 0), 2.0)
    line /= line.max()
    return np.clip(img * (1 - depth * line)[..., None], 0, 255).astype(np.uint8)


@pytest.fixture(scope="module")
def track(astronaut):
    """The astronaut's face, still, with a crease on its cheek in every second frame: (frames, mesh, texture)."""
    mesh = _mesh(astronaut)
    cheek = tuple(int(v) for v in np.rint(mesh[205]))  # below the subject's right cheekbone
    frames = [astronaut if i % 2 else _crease(astronaut, cheek, 0.3) for i in range(8)]
    texture = TrackTexture(layout_of([mesh]))
    for f in frames:
        texture.add(f, mesh)
    return frames, mesh, texture


def test_the_change_is_carried_and_the_still_face_is_not(track):
    """Onto a flat grey face drawn on the same landmarks: the crease's frame darkens it where the crease is; the
    astronaut's own features (eyes, brows, nostrils, lips: in every frame) leave no trace."""
    frames, mesh, texture = track
    assert texture.frames == 8
    flat = np.full(frames[0].shape, 128, np.uint8)
    box = (0, 0, flat.shape[1], flat.shape[0])
    weight = np.ones(flat.shape[:2], np.float32)
    creased = texture.transfer(flat, frames[0], mesh, mesh, box, weight, 1.0).astype(float)
    plain = texture.transfer(flat, frames[1], mesh, mesh, box, weight, 1.0).astype(float)
    x, y = np.rint(mesh[205]).astype(int)
    assert creased[y, x, 0] < 128 - 10, "the crease did not come across"
    # half the frames have the crease, so the plain frame is its opposite, lighter by about as much
    assert plain[y, x, 0] > 128 + 5
    # everything else of the face is the same in every frame: nothing of it is drawn
    far = np.ones(flat.shape[:2], bool)
    far[y - 40 : y + 40, x - 40 : x + 40] = False
    assert np.abs(creased[far] - 128).max() <= 1
    assert np.abs(plain[far] - 128).max() <= 1


def test_detail_is_clipped(track):
    """A change far stronger than a crease (registration gone wrong) is cut down to CLIP."""
    frames, mesh, texture = track
    dark = (frames[1] * 0.2).astype(np.uint8)
    assert np.abs(texture.detail(dark, mesh)).max() <= CLIP + 1e-6


def test_a_still_picture_is_unchanged_by_the_option(astronaut):
    """A picture has no track, so it has no mean texture: `dynamic` changes nothing of it."""
    mesh = _mesh(astronaut)
    face = SourceFace.from_image(np.ascontiguousarray(astronaut[:, ::-1]))
    outs = [FaceSwapper(face, SwapOptions(dynamic=s)).apply(astronaut, mesh) for s in (0.0, 1.0, 3.0)]
    assert all(np.array_equal(outs[0], o) for o in outs[1:])


def test_strength_0_is_the_swap_without_it(track):
    """With textures at hand but dynamic 0, a video frame is exactly what it was without them."""
    frames, mesh, texture = track
    face = SourceFace.from_image(np.ascontiguousarray(frames[1][:, ::-1]))
    without = FaceSwapper(face, SwapOptions(dynamic=0.0)).apply(frames[0], mesh, track=3)
    off = FaceSwapper(face, SwapOptions(dynamic=0.0), {3: texture}).apply(frames[0], mesh, track=3)
    on = FaceSwapper(face, SwapOptions(dynamic=1.0), {3: texture}).apply(frames[0], mesh, track=3)
    assert np.array_equal(without, off)
    assert not np.array_equal(without, on)


def test_negative_strength_is_refused():
    with pytest.raises(SwapError, match="dynamic"):
        SwapOptions(dynamic=-0.5)


def test_a_video_gets_a_texture_per_track_and_a_still_look_adds_little(media, tmp_path):
    """The mean face of the clip's one track from every third frame. The clip's face only moves (its look does
    not change), so what the option adds is registration noise only: a small part of what the swap changes."""
    from tests.swap.swapmedia import frames_of

    from mimica.swap import swap
    from mimica.swap.core import select_tracks, smooth_tracks, track_video
    from mimica.swap.motion import track_textures

    clip = media["clip"]
    ff, times, n = track_video(clip)
    tracks = select_tracks(ff, SwapOptions())
    meshes = smooth_tracks(ff, times, tracks, SwapOptions(), 25.0)
    textures = track_textures(clip, meshes)
    tid = tracks[0]
    assert set(textures) == set(tracks) and textures[tid].frames == (n + 2) // 3
    face = SourceFace.from_image(cv2.imread(str(media["source"]))[..., ::-1].copy())
    on, off = FaceSwapper(face, SwapOptions(), textures), FaceSwapper(face, SwapOptions(dynamic=0.0))
    added, swapped = [], []
    for i, frame in enumerate(frames_of(clip)):
        a, b = on.apply(frame, meshes[tid][i], track=tid), off.apply(frame, meshes[tid][i], track=tid)
        added.append(np.abs(a.astype(int) - b).mean())
        swapped.append(np.abs(b.astype(int) - frame).mean())
    assert np.mean(added) < 0.1 * np.mean(swapped), (added, swapped)
    # and the whole video path runs with it (the default)
    assert len(frames_of(swap(media["source"], clip, tmp_path / "on.mp4"))) == n
