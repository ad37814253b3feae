"""Overlap decoding, swapping and encoding on separate threads (FFmpeg's decode, scale and encode release the
GIL), with bounded queues so memory stays flat whatever the video's length."""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

_END = object()


def prefetch(items: Iterable[Any], depth: int = 4) -> Iterator[Any]:
    """Yields the items of `items`, produced on a background thread up to `depth` ahead; re-raises its error."""
    q: queue.Queue = queue.Queue(depth)
    stop = threading.Event()
    errors: list[BaseException] = []

    def run() -> None:
        try:
            for x in items:
                while not stop.is_set():
                    try:
                        q.put(x, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
        except BaseException as err:  # noqa: BLE001 - handed to the consumer
            errors.append(err)
        finally:
            while not stop.is_set():
                try:
                    q.put(_END, timeout=0.1)
                    break
                except queue.Full:
                    continue

    t = threading.Thread(target=run, name="mimica-prefetch", daemon=True)
    t.start()
    try:
        while True:
            x = q.get()
            if x is _END:
                break
            yield x
    finally:
        stop.set()
        t.join(timeout=5)
    if errors:
        raise errors[0]


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
            if item is _END:
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
        self._q.put(_END)
        self._t.join()
        if self._errors:
            raise self._errors[0]
