"""results.jsonl: one JSON object per input file, appended by one writer, read back to resume.

Crash safety: each record goes to the file in one `write` of a whole line (O_APPEND), so `kill -9` of the
batch leaves either the whole line or none of it; a torn last line (power loss, a full disk) is cut off when
the store is opened again, so it never survives into a resumed run. A file lock keeps a second batch from
writing to the same folder at the same time. A file whose record is replaced (it changed, or a report was
missing) gets its new line appended and the old one is dropped when the batch ends (`compact`), so the file
holds exactly one record per input.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from mimica.atomic import atomic_path
from mimica.errors import BatchError

RESULTS = "results.jsonl"
LOCK = ".results.lock"


@dataclass(frozen=True)
class Entry:
    """What resume and the summary need of a stored record (the records themselves stay on disk)."""

    size: int | None
    mtime_ns: int | None
    sha256: str | None
    verdict: str
    report: str | None


class ResultStore:
    """The results of one results folder. Use as a context manager: it holds the folder's lock while open."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / RESULTS
        self.entries: dict[str, Entry] = {}
        self.stale = 0  # lines superseded by a later line for the same path
        self.repaired = 0  # bytes of a torn last line cut off on open
        self._fd: int | None = None
        self._lock: IO[bytes] | None = None

    def __enter__(self) -> ResultStore:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._lock = open(self.folder / LOCK, "ab")
        except OSError as err:
            raise BatchError(f"{self.folder}: cannot use as the results folder ({err.strerror or err})") from err
        _lock_or_fail(self._lock, self.folder)
        self._load()
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None
        if self._lock is not None:
            self._lock.close()  # closing releases the lock
            self._lock = None

    def _load(self) -> None:
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        end = data.rfind(b"\n") + 1
        if end < len(data):  # a torn last line: cut it off before anything is appended after it
            self.repaired = len(data) - end
            with open(self.path, "r+b") as f:
                f.truncate(end)
            data = data[:end]
        for line in data.splitlines():
            try:
                rec = json.loads(line)
                path = rec["path"]
            except (ValueError, KeyError, TypeError):
                self.stale += 1  # not ours (edited by hand?): dropped by compact
                continue
            if path in self.entries:
                self.stale += 1
            self.entries[path] = _entry(rec)

    def append(self, record: dict[str, Any]) -> None:
        """Adds (or replaces) the record of `record["path"]`: one whole line in one write."""
        assert self._fd is not None, "the store is not open"
        line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        view = memoryview(line)
        while view:  # one write for a regular file; the loop only guards against a short write
            view = view[os.write(self._fd, view):]
        if record["path"] in self.entries:
            self.stale += 1
        self.entries[record["path"]] = _entry(record)

    def compact(self) -> None:
        """Rewrites results.jsonl atomically with only the last record of each path, when any was replaced."""
        if self.stale == 0:
            return
        assert self._fd is not None, "the store is not open"
        last: dict[str, bytes] = {}
        with open(self.path, "rb") as f:
            for line in f:
                try:
                    path = json.loads(line)["path"]
                except (ValueError, KeyError, TypeError):
                    continue
                last.pop(path, None)  # in the order of the last write
                last[path] = line
        with atomic_path(self.path) as tmp, open(tmp, "wb") as f:
            f.writelines(last.values())
            f.flush()
            os.fsync(f.fileno())
        os.close(self._fd)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND, 0o644)
        self.stale = 0

    def records(self, fields: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
        """Every stored record, the last one of each path, or only the given keys of each (a long batch's index
        needs a few small fields, not every track of 100,000 files)."""
        last: dict[str, dict[str, Any]] = {}
        if self.path.exists():
            with open(self.path, "rb") as f:
                for line in f:
                    with contextlib.suppress(ValueError, KeyError, TypeError):
                        rec = json.loads(line)
                        last.pop(rec["path"], None)
                        last[rec["path"]] = rec if fields is None else {k: rec.get(k) for k in fields}
        return list(last.values())


def _entry(rec: dict[str, Any]) -> Entry:
    return Entry(size=rec.get("size"), mtime_ns=rec.get("mtime_ns"), sha256=rec.get("sha256"),
                 verdict=str(rec.get("verdict", "error")), report=rec.get("report"))


def _lock_or_fail(f: IO[bytes], folder: Path) -> None:
    try:
        import fcntl
    except ImportError:  # Windows: no advisory lock; one batch per folder is then the user's job
        return
    try:
        fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError as err:
        raise BatchError(f"{folder}: another batch is writing to this results folder; wait for it or choose "
                         "another --out") from err
