"""Fuzz: a batch over more than 300 damaged and odd media files (tests/corpus/fuzzmedia.py, made here) through the
real CLI: every file gets exactly one record, every failure is a one-line error that names its file, nothing
hangs, crashes the batch or prints a traceback, and the undamaged originals all scan."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from tests.corpus.fuzzmedia import fuzz_corpus

pytestmark = pytest.mark.slow  # real worker processes, seconds each (CI runs slow tests)


def test_every_damaged_file_gets_one_result(tmp_path: Path, model_card: Path) -> None:
    files = fuzz_corpus(tmp_path / "corpus")
    assert len(files) >= 300
    out = tmp_path / "out"
    cmd = [sys.executable, "-m", "mimica", "batch", str(tmp_path / "corpus"), "--out", str(out), "--frames", "4",
           "--workers", "2", "--timeout-per-file", "60"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr
    recs = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    by_path = {r["path"]: r for r in recs}
    assert len(recs) == len(by_path) == len(files)
    assert set(by_path) == {str(f) for f in files}
    for r in recs:
        if r["verdict"] == "error":
            e = r["error"]
            assert e and "\n" not in e and r["path"] in e, r
            assert "internal error" not in e and "timeout" not in e and "crashed" not in e, e
        else:
            assert r["verdict"] == "no-face", r  # the pictures hold no face
    for f in files:
        if f.parent.name == "orig":
            assert by_path[str(f)]["verdict"] == "no-face", by_path[str(f)]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["files"] == len(files) and summary["run"]["workers_replaced"] == 0
