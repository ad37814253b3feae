"""`mimica.batch` on the local engine, end to end with real worker processes and the shipped model: one record per
input with the scan's own schema and results, summary.json, resume (nothing scanned twice, touched files matched
by sha256, changed files scanned again), the report index, and the CLI as a real process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import mimica
from mimica.report.index import FLAG_ORDER as ORDER
from mimica.scan import Scanner

FRAMES = 4


def records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def first_run(small_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, mimica.BatchSummary]:
    out = tmp_path_factory.mktemp("batch-out") / "run"
    summary = mimica.batch([small_corpus], out, workers=2, frames=FRAMES, report=True)
    return out, summary


def test_one_record_per_file_with_the_scan_schema(small_corpus: Path, first_run, model_card: Path) -> None:  # type: ignore[no-untyped-def]
    out, summary = first_run
    recs = records(out)
    files = sorted(str(p) for p in small_corpus.rglob("*") if p.is_file())
    assert sorted(r["path"] for r in recs) == files
    scanner = Scanner(model=model_card, frames=FRAMES, threads=1)
    for r in recs:
        assert r["size"] == os.path.getsize(r["path"]) and len(r["sha256"]) == 64
        if r["verdict"] == "error":
            assert r["error"] and "\n" not in r["error"] and r["path"] in r["error"]
            continue
        direct = scanner.scan(r["path"]).model_dump(mode="json")
        assert set(direct) <= set(r)
        assert (r["verdict"], len(r["tracks"])) == (direct["verdict"], len(direct["tracks"]))
        assert r["probability"] == pytest.approx(direct["probability"], abs=1e-5)
    verdicts = {Path(r["path"]).name: r["verdict"] for r in recs}
    assert verdicts["noise.mp4"] == verdicts["empty.png"] == "error"
    assert verdicts["clip0.mp4"] == verdicts["blank.jpg"] == "no-face"
    assert verdicts["face.png"] in {"fake", "real", "uncertain"}
    assert summary.files == summary.scanned == len(files) and summary.resumed == 0
    assert sum(summary.counts.values()) == len(files) and summary.counts["error"] == 2
    assert {e["path"] for e in summary.errors} == {str(small_corpus / "noise.mp4"), str(small_corpus / "empty.png")}
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["counts"] == summary.counts and on_disk["files_per_s"] > 0


def test_report_index_lists_flagged_files_first(first_run) -> None:  # type: ignore[no-untyped-def]
    out, _ = first_run
    html = (out / "index.html").read_text()
    recs = records(out)
    for r in recs:
        assert r["report"] and (out / r["report"]).is_file(), r["path"]
        assert f'href="{r["report"]}"' in html
    positions = sorted((html.index(r["report"]), ORDER[r["verdict"]]) for r in recs)
    ranks = [rank for _, rank in positions]
    assert ranks == sorted(ranks)  # fake, uncertain, error, no-face, real


def test_rerun_scans_nothing_and_touched_or_changed_files(small_corpus: Path, first_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out, _ = first_run
    again = mimica.batch([small_corpus], out, workers=2, frames=FRAMES, report=True)
    assert (again.scanned, again.resumed) == (0, again.files)
    # a copy with a new mtime but the same bytes keeps its result; a file whose bytes changed is scanned again
    clip = small_corpus / "clip1.mp4"
    os.utime(clip, ns=(1, 1))
    (small_corpus / "empty.png").write_bytes((small_corpus / "sub" / "blank.jpg").read_bytes())
    third = mimica.batch([small_corpus], out, workers=1, frames=FRAMES, report=True)
    assert (third.scanned, third.resumed) == (1, third.files - 1)
    recs = records(out)
    assert len(recs) == len({r["path"] for r in recs}) == third.files
    assert {Path(r["path"]).name: r["verdict"] for r in recs}["empty.png"] == "no-face"


def test_cli_as_a_process(small_corpus: Path, tmp_path: Path) -> None:
    listing = tmp_path / "inputs.txt"
    listing.write_text(f"{small_corpus / 'face.png'}\n{small_corpus / 'noise.mp4'}\n{tmp_path / 'gone.mp4'}\n")
    out = tmp_path / "cli"
    cmd = [sys.executable, "-m", "mimica", "batch", str(listing), "--out", str(out), "--frames", str(FRAMES),
           "--workers", "1"]
    run = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stderr and "[3/3]" in run.stderr  # plain log lines when not on a terminal
    assert "3 files" in run.stdout and "scanned 3" in run.stdout
    recs = {Path(r["path"]).name: r for r in records(out)}
    assert recs["gone.mp4"]["verdict"] == "error" and "no such file" in recs["gone.mp4"]["error"]
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0 and "scanned 0" in rerun.stdout and "3 already done" in rerun.stdout
    bad = subprocess.run([*cmd[:4], str(tmp_path / "nothing-here"), "--out", str(out), "--engine", "spark"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_a_model_that_cannot_load_stops_the_batch(small_corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(mimica.MimicaError, match="no-such-model"):
        mimica.batch([small_corpus / "face.png"], tmp_path / "out", workers=1, model="no-such-model")
