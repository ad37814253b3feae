"""Stages on background threads through bounded queues: decode ahead (`prefetch`) and encode behind (`Worker`).

FFmpeg, mediapipe and onnxruntime all release the GIL, so on two cores a pipeline costs about its slowest stage
instead of the sum. The queue bounds keep memory flat: at most `depth` items wait at any time, whatever the
video's length. The scan and the swap both use these.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

T = TypeVar("T")
_DONE = object()


def prefetch(items: Iterator[T], depth: int = 4) -> Iterator[T]:
    """Yields what `items` yields, produced in a background thread; its exception is re-raised here."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def run() -> None:
        try:
            for item in items:
                if stop.is_set():
                    break
                q.put(item)
            q.put(_DONE)
        except BaseException as err:  # handed to the consumer, raised there with its traceback
            q.put(err)

    worker = threading.Thread(target=run, name="mimica-decode", daemon=True)
    worker.start()
    try:
        while True:
            item = q.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full queue
            with contextlib.suppress(queue.Empty):
                q.get(timeout=0.05)
        worker.join()
        close = getattr(items, "close", None)
        if close is not None:
            close()


class Worker:
    """Calls fn(*item) for each submitted item on one background thread, in order."""

    def __init__(self, fn: Callable[..., None], depth: int = 4) -> None:
        self._fn = fn
        self._q: queue.Queue = queue.Queue(depth)
        self._errors: list[BaseException] = []
        self._t = threading.Thread(target=self._run, name="mimica-worker", daemon=True)
        self._t.start()

    def _run(self) -> None:
        while True:
            item = self._q.get()
            if item is _DONE:
                return
            if self._errors:
                continue  # drain after a failure
            try:
                self._fn(*item)
            except BaseException as err:  # noqa: BLE001 - raised again by submit/close
                self._errors.append(err)

    def submit(self, *item: Any) -> None:
        if self._errors:
            raise self._errors[0]
        self._q.put(item)

    def close(self) -> None:
        self._q.put(_DONE)
        self._t.join()
        if self._errors:
            raise self._errors[0]
