"""Worker isolation with real processes: a worker that segfaults, hangs or grows past the memory cap is replaced,
its file is recorded as an error that names the cause, and every other file is scanned as usual. The faults
come from test-only hooks in mimica.corpus.work (environment variables naming the file to fail on)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests import mediagen

import mimica
from mimica.corpus.work import CRASH_HOOK, HANG_HOOK, HOG_HOOK

pytestmark = pytest.mark.slow  # real worker processes, seconds each (CI runs slow tests)


def test_crash_hang_and_memory_hog_are_contained(tmp_path: Path, model_card: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a.png", "crash_me.png", "b.png", "hang_me.png", "c.png", "hog_me.png", "d.png"):
        mediagen.write_image(src / name, size=(96, 64))
    monkeypatch.setenv(CRASH_HOOK, "crash_me")
    monkeypatch.setenv(HANG_HOOK, "hang_me")
    monkeypatch.setenv(HOG_HOOK, "hog_me")
    summary = mimica.batch([src], tmp_path / "out", workers=2, frames=2, timeout_per_file=10, memory_cap_mb=700)
    recs = {Path(r["path"]).name: r for r in map(json.loads, (tmp_path / "out" / "results.jsonl").open())}
    assert len(recs) == 7 and summary.files == 7
    assert "crashed" in recs["crash_me.png"]["error"] and "SIGSEGV" in recs["crash_me.png"]["error"]
    assert "per-file timeout of 10 s" in recs["hang_me.png"]["error"]
    assert "memory cap of 700 MB" in recs["hog_me.png"]["error"]
    for name in ("a.png", "b.png", "c.png", "d.png"):
        assert recs[name]["verdict"] == "no-face", recs[name]
    for name in ("crash_me.png", "hang_me.png", "hog_me.png"):
        # made by the parent, which never reads an input (a file that hung a worker could hang it too)
        assert recs[name]["verdict"] == "error" and recs[name]["sha256"] is None
        assert recs[name]["error_kind"] == "transient" and recs[name]["scan"]["frames"] == 2
    assert summary.workers_replaced == 3 and summary.counts == {"no-face": 4, "error": 3}
