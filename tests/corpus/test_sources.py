"""SOURCE arguments: folders recursively (media only, hidden skipped), list files, explicit files kept even when
missing or not media, each path once."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mimica.corpus.sources import expand_sources
from mimica.errors import BatchError


def touch(p: Path) -> Path:
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(b"x")
    return p


def test_folders_lists_and_files(tmp_path: Path) -> None:
    a = touch(tmp_path / "d" / "a.mp4")
    b = touch(tmp_path / "d" / "deep" / "b.JPG")
    touch(tmp_path / "d" / "notes.md")
    touch(tmp_path / "d" / ".hidden.mp4")
    touch(tmp_path / "d" / ".git" / "c.mp4")
    c = touch(tmp_path / "e" / "c.webm")
    listing = tmp_path / "list.txt"
    listing.write_text(f"# clips\n\ne/c.webm\n{a}\n  missing.mp4  \n{tmp_path / 'd'}\n")
    got = expand_sources([tmp_path / "d", listing, str(a)])
    assert got == [str(a), str(b), str(c), str(tmp_path / "missing.mp4")]
    assert all(os.path.isabs(p) for p in got)


def test_relative_paths_become_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    touch(tmp_path / "x" / "a.png")
    monkeypatch.chdir(tmp_path / "x")
    assert expand_sources(["../x/a.png", "a.png"]) == [str(tmp_path / "x" / "a.png")]


@pytest.mark.parametrize(("make", "message"), [
    (lambda d: [], "no SOURCE given"),
    (lambda d: [touch(d / "f" / "readme.md").parent], "no image or video files"),
])
def test_nothing_to_scan(tmp_path: Path, make, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BatchError, match=message):
        expand_sources(make(tmp_path))


def test_list_inside_list_is_refused(tmp_path: Path) -> None:
    (tmp_path / "inner.txt").write_text("a.mp4\n")
    (tmp_path / "outer.txt").write_text("inner.txt\n")
    with pytest.raises(BatchError, match="list file inside a list file"):
        expand_sources([tmp_path / "outer.txt"])
