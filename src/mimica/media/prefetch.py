"""Decode ahead in a thread through a bounded queue, so decoding overlaps the face and model stages.

FFmpeg, mediapipe and onnxruntime all release the GIL, so on two cores the scan costs about max(decode, rest)
instead of their sum. The queue bound keeps memory flat: at most `depth` frames wait at any time.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from typing import TypeVar

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
            try:
                q.get(timeout=0.05)
            except queue.Empty:
                pass
        worker.join()
        close = getattr(items, "close", None)
        if close is not None:
            close()
