from __future__ import annotations

import stat

import pytest

from mimica.atomic import atomic_path, write_atomic


def test_write_replaces_whole_file_with_mode(tmp_path) -> None:
    p = tmp_path / "card.json"
    p.write_text("old")
    write_atomic(p, "new", mode=0o600)
    assert p.read_text() == "new"
    assert stat.S_IMODE(p.stat().st_mode) == 0o600
    assert [f.name for f in tmp_path.iterdir()] == ["card.json"]


def test_failure_keeps_the_old_file_and_no_temp(tmp_path) -> None:
    p = tmp_path / "cache.npz"
    p.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_path(p) as tmp:
        assert tmp.suffix == ".npz" and tmp.parent == tmp_path  # writers that pick the format by suffix work
        tmp.write_bytes(b"half")
        raise RuntimeError("disk full")
    assert p.read_bytes() == b"old"
    assert [f.name for f in tmp_path.iterdir()] == ["cache.npz"]
