"""IoUTracker on hand-made boxes: people moving keep their ids, a detector blink of up to `max_missed` samples
does not split a track, a new face gets a fresh id."""

from __future__ import annotations

import numpy as np
import pytest

from mimica.faces import IoUTracker
from mimica.faces.tracker import iou_matrix
from mimica.types import N_MESH, Faces


def boxes(*xyxy: tuple[float, float, float, float]) -> Faces:
    n = len(xyxy)
    return Faces(
        xyxy=np.array(xyxy, np.float32).reshape(n, 4),
        points5=np.zeros((n, 5, 2), np.float32),
        mesh=np.zeros((n, N_MESH, 2), np.float32),
        score=np.ones(n, np.float32),
        track_id=np.full(n, -1, np.int64),
    )


def square(x: float, y: float, side: float = 100) -> tuple[float, float, float, float]:
    return (x, y, x + side, y + side)


IOUS = [
    pytest.param(square(0, 0), square(0, 0), 1.0, id="same"),
    pytest.param(square(0, 0), square(200, 0), 0.0, id="apart"),
    pytest.param(square(0, 0), square(100, 0), 0.0, id="touching"),
    pytest.param(square(0, 0), square(50, 0), 1 / 3, id="half-shift"),
    pytest.param(square(0, 0), (25, 25, 75, 75), 0.25, id="inside"),
]


@pytest.mark.parametrize(("a", "b", "expected"), IOUS)
def test_iou_matrix(a: tuple, b: tuple, expected: float) -> None:
    m = iou_matrix(np.array([a], np.float32), np.array([b], np.float32))
    assert m.shape == (1, 1)
    assert m[0, 0] == pytest.approx(expected, abs=1e-6)
    assert iou_matrix(np.array([b], np.float32), np.array([a], np.float32))[0, 0] == pytest.approx(expected)


def test_iou_matrix_shape_and_empty() -> None:
    a = np.array([square(0, 0), square(300, 0)], np.float32)
    b = np.array([square(0, 0), square(10, 0), square(300, 0)], np.float32)
    m = iou_matrix(a, b)
    assert m.shape == (2, 3)
    assert m[0, 0] == pytest.approx(1) and m[1, 2] == pytest.approx(1) and m[1, 0] == 0
    assert iou_matrix(np.zeros((0, 4), np.float32), b).shape == (0, 3)


def test_two_faces_moving_keep_their_ids() -> None:
    tr = IoUTracker()
    seen = []
    for step in range(12):
        # left face drifts right, right face drifts down; a quarter of a box per sample
        frame = boxes(square(50 + 25 * step, 100), square(600, 50 + 25 * step))
        seen.append(tr.update(frame).track_id.tolist())
    assert seen == [[0, 1]] * 12


def test_ids_follow_the_boxes_not_their_order() -> None:
    tr = IoUTracker()
    first = tr.update(boxes(square(0, 0), square(500, 0))).track_id.tolist()
    swapped = tr.update(boxes(square(510, 5), square(5, 5))).track_id.tolist()
    assert swapped == first[::-1]


@pytest.mark.parametrize(("missed", "same_id"), [(1, True), (2, True), (3, False)])
def test_missed_detections(missed: int, same_id: bool) -> None:
    """Default max_missed=2: two empty samples are a blink, three end the track."""
    tr = IoUTracker()
    (tid,) = tr.update(boxes(square(100, 100))).track_id
    for _ in range(missed):
        assert len(tr.update(Faces.empty())) == 0
    (again,) = tr.update(boxes(square(110, 105))).track_id
    assert bool(again == tid) is same_id


def test_blink_of_one_face_keeps_the_other() -> None:
    tr = IoUTracker()
    tr.update(boxes(square(0, 0), square(500, 0)))
    assert tr.update(boxes(square(505, 0))).track_id.tolist() == [1]  # face 0 not detected
    assert tr.update(boxes(square(10, 0), square(510, 0))).track_id.tolist() == [0, 1]


def test_new_face_gets_a_new_id() -> None:
    tr = IoUTracker()
    tr.update(boxes(square(0, 0)))
    ids = tr.update(boxes(square(5, 0), square(800, 400))).track_id.tolist()
    assert ids == [0, 1]
    # a face appearing where none was, after the first left for good, never reuses an old id
    for _ in range(3):
        tr.update(boxes(square(800, 400)))
    ids = tr.update(boxes(square(800, 400), square(0, 0))).track_id.tolist()
    assert ids == [1, 2]


def test_far_jump_is_a_new_person() -> None:
    """No overlap and a centre more than `max_center_dist` boxes away: another face, not the same one."""
    tr = IoUTracker()
    tr.update(boxes(square(0, 0)))
    assert tr.update(boxes(square(300, 0))).track_id.tolist() == [1]


def test_centre_distance_bridges_a_fast_move() -> None:
    """No overlap (IoU 0) but the centre moved under max_center_dist box sizes: still the same person."""
    tr = IoUTracker(min_iou=0.2, max_center_dist=1.2)
    tr.update(boxes(square(0, 0)))
    assert tr.update(boxes(square(110, 0))).track_id.tolist() == [0]


def test_reset_starts_over() -> None:
    tr = IoUTracker()
    tr.update(boxes(square(0, 0), square(300, 0)))
    tr.reset()
    assert tr.update(boxes(square(600, 600))).track_id.tolist() == [0]


def test_empty_in_empty_out() -> None:
    out = IoUTracker().update(Faces.empty())
    assert isinstance(out, Faces)
    assert out.track_id.shape == (0,)
