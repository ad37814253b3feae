"""results.jsonl: whole lines only, a torn last line cut on open, one record per path after compact, one writer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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
        assert (s.entries["/a"].size, s.entries["/a"].mtime_ns, s.entries["/a"].sha256) == (1, 5, "ab")


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
    lines = [json.loads(x) for x in (tmp_path / RESULTS).read_text().splitlines()]
    assert [(r["path"], r["verdict"]) for r in lines] == [("/b", "real"), ("/a", "fake"), ("/c", "real")]


def test_one_writer_per_folder(tmp_path: Path) -> None:
    with ResultStore(tmp_path), pytest.raises(BatchError, match="another batch"), ResultStore(tmp_path):
        pass
    with ResultStore(tmp_path):  # released when the first one closed
        pass
