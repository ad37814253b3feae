"""The values between stages: a Frame is an RGB uint8 picture, Faces is columnar and validated on construction
with messages that give the expected and the actual shape; an empty frame is an empty Faces, never None."""

from __future__ import annotations

import re

import numpy as np
import pytest

from mimica.types import N_MESH, Faces, Frame


def faces(n: int, **override: np.ndarray) -> Faces:
    """n well-formed faces: face i has box (10i, 10i, 10i+4, 10i+6) and track id i."""
    cols = {
        "xyxy": np.array([[10 * i, 10 * i, 10 * i + 4, 10 * i + 6] for i in range(n)], np.float32).reshape(n, 4),
        "points5": np.zeros((n, 5, 2), np.float32),
        "mesh": np.zeros((n, N_MESH, 2), np.float32),
        "score": np.full(n, 0.9, np.float32),
        "track_id": np.arange(n, dtype=np.int64),
    }
    cols.update(override)
    return Faces(**cols)


# --- Frame --------------------------------------------------------------------------------------------------

FRAMES = [
    pytest.param(np.zeros((4, 6, 3), np.uint8), None, id="rgb-uint8"),
    pytest.param(np.zeros((4, 6), np.uint8), "got uint8 (4, 6)", id="gray"),
    pytest.param(np.zeros((4, 6, 4), np.uint8), "got uint8 (4, 6, 4)", id="rgba"),
    pytest.param(np.zeros((4, 6, 3), np.float32), "got float32 (4, 6, 3)", id="float"),
    pytest.param(np.zeros((4, 6, 3), np.uint16), "got uint16 (4, 6, 3)", id="16-bit"),
]


@pytest.mark.parametrize(("image", "raises"), FRAMES)
def test_frame_accepts_only_rgb_uint8(image: np.ndarray, raises: str | None) -> None:
    if raises is None:
        f = Frame(image, index=3, time_s=0.12)
        assert (f.index, f.time_s) == (3, 0.12)
    else:
        with pytest.raises(ValueError, match=re.escape(raises)):
            Frame(image, index=0, time_s=0.0)


# --- Faces validation ---------------------------------------------------------------------------------------

BAD_FACES = [
    pytest.param({"xyxy": np.zeros(3, np.float32)}, "xyxy: expected (n, 4), got (3,)", id="flat-boxes"),
    pytest.param({"xyxy": np.zeros((2, 5), np.float32)}, "xyxy: expected (n, 4), got (2, 5)", id="box-width"),
    pytest.param({"points5": np.zeros((3, 5, 2), np.float32)}, "points5: expected (2, 5, 2), got (3, 5, 2)",
                 id="points-rows"),
    pytest.param({"points5": np.zeros((2, 68, 2), np.float32)}, "points5: expected (2, 5, 2), got (2, 68, 2)",
                 id="points-count"),
    pytest.param({"mesh": np.zeros((2, 68, 2), np.float32)}, "mesh: expected (2, 468, 2), got (2, 68, 2)",
                 id="mesh-68"),
    pytest.param({"score": np.zeros((2, 1), np.float32)}, "score: expected (2,), got (2, 1)", id="score-2d"),
    pytest.param({"score": np.zeros(1, np.float32)}, "score: expected (2,), got (1,)", id="score-rows"),
    pytest.param({"track_id": np.zeros(3, np.int64)}, "track_id: expected (2,), got (3,)", id="track-rows"),
]


@pytest.mark.parametrize(("override", "message"), BAD_FACES)
def test_faces_rejects_bad_shapes_with_expected_and_actual(override: dict, message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        faces(2, **override)


def test_empty_faces_is_a_value_with_every_column() -> None:
    for empty in (Faces.empty(), Faces()):
        assert len(empty) == 0
        assert empty.xyxy.shape == (0, 4)
        assert empty.points5.shape == (0, 5, 2)
        assert empty.mesh.shape == (0, N_MESH, 2)
        assert empty.score.shape == (0,)
        assert empty.track_id.shape == (0,)
        assert empty.area.shape == (0,)


# --- Faces behaviour ----------------------------------------------------------------------------------------

INDEXES = [
    pytest.param(1, [1], id="int"),
    pytest.param(slice(0, 2), [0, 1], id="slice"),
    pytest.param(np.array([True, False, True]), [0, 2], id="mask"),
    pytest.param(np.array([2, 0]), [2, 0], id="fancy"),
    pytest.param(np.array([False, False, False]), [], id="mask-none"),
]


@pytest.mark.parametrize(("idx", "rows"), INDEXES)
def test_indexing_keeps_rows_together(idx: object, rows: list[int]) -> None:
    f = faces(3)
    sub = f[idx]  # type: ignore[index]
    assert isinstance(sub, Faces)
    assert len(sub) == len(rows)
    assert sub.track_id.tolist() == rows
    np.testing.assert_array_equal(sub.xyxy, f.xyxy[rows])


def test_with_tracks_returns_a_new_value() -> None:
    f = faces(2)
    g = f.with_tracks(np.array([7, 9]))
    assert g.track_id.tolist() == [7, 9]
    assert g.track_id.dtype == np.int64
    assert f.track_id.tolist() == [0, 1]  # the input is not changed
    with pytest.raises(ValueError, match=re.escape("track_id: expected (2,), got (3,)")):
        f.with_tracks(np.array([1, 2, 3]))


def test_area_is_width_times_height() -> None:
    f = faces(2, xyxy=np.array([[0, 0, 4, 6], [10, 20, 13, 21]], np.float32))
    np.testing.assert_allclose(f.area, [24.0, 3.0])
