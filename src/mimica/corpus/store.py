"""results.jsonl: one JSON object per input file, appended by one writer, read back to resume.

Crash safety: each record goes to the file in one `write` of a whole line (O_APPEND), so `kill -9` of the
batch leaves either the whole line or none of it; a torn last line (power loss, a full disk) is cut off when
the store is opened again, so it never survives into a resumed run. Records are fsynced in small groups
(every FSYNC_EVERY records or FSYNC_S seconds), so a power loss costs at most those. A file lock keeps a
second batch from writing to the same folder at the same time. A file whose record is replaced (it changed,
or a report was missing) gets its new line appended and the old one is dropped when the batch ends
(`compact`), so the file holds exactly one record per path.

Memory: the file is read as a stream, once, when the store opens; only a small `Entry` per path stays in
memory (the offset of its line, the resume key, the verdict), never the records, so a resume over 100,000
records with tracks costs the entries, not the 500 MB of JSON. Compaction streams too: it copies the current
line of each path into a temporary file that replaces results.jsonl atomically; a temporary file left by a
kill during compaction is removed the next time the folder is opened.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import orjson

from mimica.atomic import atomic_path
from mimica.errors import BatchError

RESULTS = "results.jsonl"
LOCK = ".results.lock"
#: records between two fsyncs of results.jsonl, and seconds at most between two
FSYNC_EVERY = 32
FSYNC_S = 2.0
#: what mimica.atomic leaves in the folder when a write is killed: `.{stem}.XXXX.tmp{suffix}`
TEMP_GLOBS = (".results.*.tmp.jsonl", ".summary.*.tmp.json", ".index.*.tmp.html")


@dataclass(frozen=True, slots=True)
class Entry:
    """What resume and the summary need of a stored record (the records themselves stay on disk): where its
    line is, the resume key (size, mtime, hash), the verdict and its words, the report, the error kind and the
    scan identity (as a key shared by every entry with the same identity: `ResultStore.identity_of`)."""

    offset: int
    length: int
    size: int | None
    mtime_ns: int | None
    hashed: tuple[str, str] | None
    verdict: str
    verdict_text: str
    report: str | None
    error_kind: str | None
    scan: str


class ResultStore:
    """The results of one results folder. Use as a context manager: it holds the folder's lock while open."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.path = self.folder / RESULTS
        self.entries: dict[str, Entry] = {}
        self.stale = 0  # lines superseded by a later line for the same path
        self.repaired = 0  # bytes of a torn last line cut off on open
        self.cleaned: list[str] = []  # temporary files of a killed compaction or summary, removed on open
        self._fd: int | None = None
        self._lock: IO[bytes] | None = None
        self._end = 0  # bytes in results.jsonl: the offset of the next line
        self._unsynced = 0
        self._synced_at = time.monotonic()
        self._keys: dict[str, str] = {}  # one string per distinct scan identity

    def __enter__(self) -> ResultStore:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._lock = open(self.folder / LOCK, "ab")
        except OSError as err:
            raise BatchError(f"{self.folder}: cannot use as the results folder ({err.strerror or err})") from err
        _lock_or_fail(self._lock, self.folder)
        self._clean_temp()
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

    def _clean_temp(self) -> None:
        """Removes what a kill -9 during an atomic write left (under the lock: no writer is running)."""
        for pattern in TEMP_GLOBS:
            for tmp in self.folder.glob(pattern):
                with contextlib.suppress(OSError):
                    tmp.unlink()
                    self.cleaned.append(tmp.name)

    def _load(self) -> None:
        if not self.path.exists():
            return
        offset = 0
        with open(self.path, "rb") as f:
            for line in f:
                if not line.endswith(b"\n"):  # a torn last line: cut it off before anything is appended after it
                    self.repaired = len(line)
                    break
                self._index(line, offset)
                offset += len(line)
        if self.repaired:
            with open(self.path, "r+b") as f:
                f.truncate(offset)
        self._end = offset

    def _index(self, line: bytes, offset: int) -> None:
        try:
            rec = orjson.loads(line)  # a resume parses every line: orjson does it 4-5x faster than json
            path = rec["path"]
        except (ValueError, KeyError, TypeError):
            self.stale += 1  # not ours (edited by hand?): dropped by compact
            return
        if path in self.entries:
            self.stale += 1
        self.entries[path] = self._entry(rec, offset, len(line))

    def identity_key(self, identity: Any) -> str:
        """The shared key of a scan identity (`scan` of a record): equal identities, the same string object."""
        try:
            key = orjson.dumps(identity, option=orjson.OPT_SORT_KEYS).decode()
        except TypeError:  # not JSON data (a hand-edited record): a key of its own, equal to no identity
            key = repr(identity)
        return self._keys.setdefault(key, key)

    def _entry(self, rec: dict[str, Any], offset: int, length: int) -> Entry:
        hashed = None
        for k in ("sha256", "sha256_sampled"):
            if rec.get(k):
                hashed = (k, str(rec[k]))
        verdict = str(rec.get("verdict", "error"))
        kind = rec.get("error_kind")
        if verdict == "error" and kind is None:  # a record from before error kinds: judged by its reason
            from mimica.corpus.work import error_kind_of

            kind = error_kind_of(str(rec.get("error") or ""))
        return Entry(offset=offset, length=length, size=rec.get("size"), mtime_ns=rec.get("mtime_ns"),
                     hashed=hashed, verdict=verdict,
                     verdict_text=str(rec.get("verdict_text") or rec.get("verdict", "error")),
                     report=rec.get("report"), error_kind=kind,
                     scan=self.identity_key(rec.get("scan")))

    def append(self, record: dict[str, Any]) -> None:
        """Adds (or replaces) the record of `record["path"]`: one whole line in one write."""
        assert self._fd is not None, "the store is not open"
        line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
        view = memoryview(line)
        while view:  # one write for a regular file; the loop only guards against a short write
            view = view[os.write(self._fd, view):]
        if record["path"] in self.entries:
            self.stale += 1
        self.entries[record["path"]] = self._entry(record, self._end, len(line))
        self._end += len(line)
        self._unsynced += 1
        if self._unsynced >= FSYNC_EVERY or time.monotonic() - self._synced_at >= FSYNC_S:
            self.sync()

    def sync(self) -> None:
        """fsyncs what was appended: after a power loss the file holds at least every record up to here."""
        if self._fd is not None and self._unsynced:
            os.fsync(self._fd)
        self._unsynced, self._synced_at = 0, time.monotonic()

    def get(self, path: str) -> dict[str, Any]:
        """The stored record of a path, read from its line."""
        e = self.entries[path]
        with open(self.path, "rb") as f:
            return dict(orjson.loads(os.pread(f.fileno(), e.length, e.offset)))

    def compact(self) -> None:
        """Rewrites results.jsonl atomically with only the current line of each path, when any was replaced;
        streamed: the current lines are known by their offsets, only one line at a time is in memory."""
        if self.stale == 0:
            return
        assert self._fd is not None, "the store is not open"
        self.sync()
        current = {e.offset: p for p, e in self.entries.items()}
        moved: dict[str, Entry] = {}
        with atomic_path(self.path) as tmp, open(tmp, "wb") as out, open(self.path, "rb") as f:
            offset = new = 0
            for line in f:
                path = current.get(offset)
                if path is not None and offset + len(line) <= self._end:
                    out.write(line)
                    moved[path] = dataclasses.replace(self.entries[path], offset=new)
                    new += len(line)
                offset += len(line)
            out.flush()
            os.fsync(out.fileno())
        _fsync_dir(self.folder)
        self.entries.update(moved)
        os.close(self._fd)
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND, 0o644)
        self._end = new
        self.stale = 0

    def records(self, fields: tuple[str, ...] | None = None, paths: set[str] | None = None
                ) -> Iterator[dict[str, Any]]:
        """The current record of every path (or of `paths`), in file order, or only the given keys of each (a
        long batch's index needs a few small fields, not every track of 100,000 files). Streamed."""
        current = {e.offset for p, e in self.entries.items() if paths is None or p in paths}
        if not current or not self.path.exists():
            return
        with open(self.path, "rb") as f:
            offset = 0
            for line in f:
                if offset in current:
                    with contextlib.suppress(ValueError, KeyError, TypeError):
                        rec = orjson.loads(line)
                        yield rec if fields is None else {k: rec.get(k) for k in fields}
                offset += len(line)


def _fsync_dir(folder: Path) -> None:
    """Makes a rename in the folder durable (POSIX: the directory entry is data of the folder)."""
    with contextlib.suppress(OSError, AttributeError):
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


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
