"""results.jsonl: whole lines only, a torn last line cut on open, one record per path after compact (streamed, its
temporary file of a killed run removed on open), fsync in small groups, one writer."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mimica.corpus import store as store_mod
from mimica.corpus.store import RESULTS, ResultStore
from mimica.errors import BatchError


def rec(path: str, verdict: str = "real", size: int = 1) -> dict:
    return {"path": path, "verdict": verdict, "size": size, "mtime_ns": 5, "sha256": "ab"}


def test_append_and_reopen(tmp_path: Path) -> None:
    with ResultStore(tmp_path) as s:
        s.append(rec("/a"))
        s.append(rec("/b", "fake"))
    with ResultStore(tmp_path) as s:
        assert {p: e.verdict for p, e in s.entries.items()} == {"/a": "real", "/b": "fake"}
        assert (s.entries["/a"].size, s.entries["/a"].mtime_ns, s.entries["/a"].hashed) == (1, 5, ("sha256", "ab"))
        assert s.get("/b")["verdict"] == "fake"  # the whole record, read back from its line


def test_torn_last_line_is_cut(tmp_path: Path) -> None:
    with ResultStore(tmp_path) as s:
        s.append(rec("/a"))
    with open(tmp_path / RESULTS, "ab") as f:
        f.write(b'{"path": "/b", "verd')  # what a crash in the middle of a write would leave
    with ResultStore(tmp_path) as s:
        assert s.repaired > 0 and set(s.entries) == {"/a"}
        s.append(rec("/c"))
    lines = (tmp_path / RESULTS).read_bytes().splitlines()
    assert [json.loads(x)["path"] for x in lines] == ["/a", "/c"]


def test_compact_keeps_the_last_record_of_each_path(tmp_path: Path) -> None:
    with ResultStore(tmp_path) as s:
        s.append(rec("/a", "error"))
        s.append(rec("/b"))
        s.append(rec("/a", "fake", size=2))
        assert s.stale == 1
        s.compact()
        s.append(rec("/c"))
        assert s.get("/a")["size"] == 2 and s.get("/c")["verdict"] == "real"  # offsets right after the rewrite
        assert [r["path"] for r in s.records(("path",), {"/a", "/c"})] == ["/a", "/c"]
    lines = [json.loads(x) for x in (tmp_path / RESULTS).read_text().splitlines()]
    assert [(r["path"], r["verdict"]) for r in lines] == [("/b", "real"), ("/a", "fake"), ("/c", "real")]
    with ResultStore(tmp_path) as s:
        assert s.stale == 0 and s.get("/c")["path"] == "/c"


def test_a_killed_compaction_leaves_nothing_behind(tmp_path: Path) -> None:
    with ResultStore(tmp_path) as s:
        s.append(rec("/a"))
    # what mimica.atomic leaves when the process is killed in the middle of a compaction or a summary
    (tmp_path / ".results.k2j3h4.tmp.jsonl").write_bytes(b"x" * 1000)
    (tmp_path / ".summary.abcd.tmp.json").write_text("{")
    with ResultStore(tmp_path) as s:
        assert sorted(s.cleaned) == [".results.k2j3h4.tmp.jsonl", ".summary.abcd.tmp.json"]
        assert set(s.entries) == {"/a"}
    assert sorted(p.name for p in tmp_path.iterdir()) == [".results.lock", RESULTS]


def test_records_are_fsynced_in_small_groups(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    synced: list[int] = []
    real = os.fsync
    monkeypatch.setattr(store_mod.os, "fsync", lambda fd: (synced.append(fd), real(fd))[1])
    monkeypatch.setattr(store_mod, "FSYNC_S", 3600.0)
    with ResultStore(tmp_path) as s:
        for i in range(store_mod.FSYNC_EVERY * 3 + 1):
            s.append(rec(f"/{i}"))
        assert len(synced) == 3  # every FSYNC_EVERY records, not only at exit
    assert len(synced) == 4  # and the rest at exit


def test_reading_is_streamed(tmp_path: Path) -> None:
    """Opening a results file does not read it whole: a record far larger than the rest costs one line."""
    with ResultStore(tmp_path) as s:
        for i in range(200):
            s.append({**rec(f"/{i}"), "tracks": [{"pad": "y" * 20000}]})
    import tracemalloc

    tracemalloc.start()
    with ResultStore(tmp_path) as s:
        assert len(s.entries) == 200
        s.stale = 1
        s.compact()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert (tmp_path / RESULTS).stat().st_size > 4_000_000 and peak < 1_000_000, peak


def test_one_writer_per_folder(tmp_path: Path) -> None:
    with ResultStore(tmp_path), pytest.raises(BatchError, match="another batch"), ResultStore(tmp_path):
        pass
    with ResultStore(tmp_path):  # released when the first one closed
        pass


def test_errors_from_before_error_kinds_are_judged_by_their_reason(tmp_path: Path) -> None:
    with ResultStore(tmp_path) as s:
        s.append({**rec("/t", "error"), "error": "/t: took longer than the per-file timeout of 600 s"})
        s.append({**rec("/c", "error"), "error": "/c: the worker process crashed while scanning it"})
        s.append({**rec("/p", "error"), "error": "/p: not a readable image or video (Invalid data)"})
        s.append({**rec("/k", "error"), "error": "/k: not a readable image or video", "error_kind": "transient"})
    with ResultStore(tmp_path) as s:
        kinds = {p: e.error_kind for p, e in s.entries.items()}
    assert kinds == {"/t": "transient", "/c": "transient", "/p": "permanent", "/k": "transient"}
