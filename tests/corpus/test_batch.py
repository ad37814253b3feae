"""`mimica.batch` on the local engine, end to end with real worker processes and the shipped model: one record per
input with the scan's own schema and results and the scan identity, summary.json (corpus totals beside each run's
figures, results of removed inputs apart), resume (nothing scanned twice, touched files matched by hash once,
changed files scanned again, other settings refused or rescanned), the report index, and the CLI as a real
process (the verdict's words, never a bare one)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import mimica
import mimica.models.registry
from mimica.corpus.work import HANG_HOOK
from mimica.models.card import sha256_file
from mimica.models.registry import DEFAULT_MODEL
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
    # every detector of the scan, each by its model's bytes, hashed here
    dets = [{"name": d.card.name, "version": d.card.version, "sha256": sha256_file(d.classifier.path)}
            for d in scanner.detectors]
    assert len(dets) >= 2
    identity = {"detectors": dets, "frames": FRAMES,
                "threshold": None, "provenance": True}
    for r in recs:
        assert r["size"] == os.path.getsize(r["path"]) and len(r["sha256"]) == 64
        assert r["scan"] == identity
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
    assert on_disk["counts"] == summary.counts and on_disk["run"]["files_per_s"] > 0
    assert on_disk["runs"] == [on_disk["run"]] and on_disk["absent"]["files"] == 0
    assert sum(summary.counts_text.values()) == len(files) and "real" not in summary.counts_text
    for r in recs:
        assert r["verdict"] != "error" or r["error_kind"] == "permanent"


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
    out, first = first_run
    again = mimica.batch([small_corpus], out, workers=2, frames=FRAMES, report=True)
    assert (again.scanned, again.resumed) == (0, again.files)
    # the rerun keeps the corpus totals and the first run's own figures beside its own
    on_disk = json.loads((out / "summary.json").read_text())
    assert on_disk["counts"] == first.counts and on_disk["files"] == first.files
    assert [r["scanned"] for r in on_disk["runs"]] == [first.files, 0] and on_disk["run"]["scanned"] == 0
    assert on_disk["runs"][0] == json.loads(first.run.model_dump_json())
    # a copy with a new mtime but the same bytes keeps its result; a file whose bytes changed is scanned again
    clip = small_corpus / "clip1.mp4"
    os.utime(clip, ns=(1, 1))
    (small_corpus / "empty.png").write_bytes((small_corpus / "sub" / "blank.jpg").read_bytes())
    third = mimica.batch([small_corpus], out, workers=1, frames=FRAMES, report=True)
    assert (third.scanned, third.run.unchanged, third.resumed) == (1, 1, third.files - 1)
    recs = records(out)
    assert len(recs) == len({r["path"] for r in recs}) == third.files
    by_name = {Path(r["path"]).name: r for r in recs}
    assert by_name["empty.png"]["verdict"] == "no-face"
    assert by_name["clip1.mp4"]["mtime_ns"] == 1  # the touched file's record took its new mtime: hashed once
    fourth = mimica.batch([small_corpus], out, workers=1, frames=FRAMES, report=True)
    assert (fourth.scanned, fourth.run.unchanged, fourth.resumed) == (0, 0, fourth.files)
    assert len(json.loads((out / "summary.json").read_text())["runs"]) == 4


def test_other_settings_are_refused_or_rescanned(small_corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    inputs = [small_corpus / "face.png", small_corpus / "clip0.mp4"]
    mimica.batch(inputs, out, workers=1, frames=FRAMES)
    before = records(out)
    with pytest.raises(mimica.MimicaError, match=r"2 result\(s\) .* other settings .*frames 4 -> 2.*--rescan"):
        mimica.batch(inputs, out, workers=1, frames=2)
    with pytest.raises(mimica.MimicaError, match=r"provenance True -> False.*--rescan"):
        mimica.batch(inputs, out, workers=1, frames=FRAMES, provenance=False)
    assert records(out) == before  # refused before anything was scanned or written
    # another model: the same weights under another card name and version
    card = json.loads(Path(mimica.models.registry.WEIGHTS / f"{DEFAULT_MODEL}.json").read_text())
    other = tmp_path / "other.json"
    other.write_text(json.dumps({**card, "name": "other-model", "version": "9"}))
    shutil.copyfile(mimica.models.registry.WEIGHTS / card["onnx_file"], tmp_path / card["onnx_file"])
    with pytest.raises(mimica.MimicaError, match=r"model mimica-sbi-v2 .* -> other-model 9 .*--rescan"):
        mimica.batch(inputs, out, workers=1, frames=FRAMES, model=str(other))
    again = mimica.batch(inputs, out, workers=1, frames=2, threshold=0.1, rescan=True)
    assert (again.scanned, again.run.rescanned, again.resumed) == (2, 2, 0)
    recs = records(out)
    assert len(recs) == 2 and all(r["scan"]["frames"] == 2 and r["scan"]["threshold"] == 0.1 for r in recs)
    assert {r["thresholds"]["fake"] for r in recs if r["verdict"] != "no-face"} <= {0.1}


def test_results_of_removed_inputs_are_kept_apart(small_corpus: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    mimica.batch([small_corpus / "clip0.mp4", small_corpus / "clip1.mp4", small_corpus / "noise.mp4"], out, workers=1,
                 frames=FRAMES)
    s = mimica.batch([small_corpus / "clip0.mp4"], out, workers=1, frames=FRAMES)
    assert (s.files, s.counts, s.errors) == (1, {"no-face": 1}, [])
    assert s.absent.files == 2 and sorted(s.absent.paths) == [str(small_corpus / n) for n in ("clip1.mp4", "noise.mp4")]
    assert s.absent.counts == {"no-face": 1, "error": 1}
    assert len(records(out)) == 3  # kept: a later run that lists them again resumes them


def test_transient_errors_are_retried_on_request_only(small_corpus: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    src = tmp_path / "in"
    src.mkdir()
    shutil.copyfile(small_corpus / "clip0.mp4", src / "slow_one.mp4")
    shutil.copyfile(small_corpus / "noise.mp4", src / "noise.mp4")
    out = tmp_path / "out"
    monkeypatch.setenv(HANG_HOOK, "slow_one")  # the first run times out on it: a timeout under load
    first = mimica.batch([src], out, workers=1, frames=FRAMES, timeout_per_file=5)
    recs = {Path(r["path"]).name: r for r in records(out)}
    assert recs["slow_one.mp4"]["error_kind"] == "transient" and "per-file timeout" in recs["slow_one.mp4"]["error"]
    assert recs["noise.mp4"]["error_kind"] == "permanent"
    assert first.transient_errors == 1 and {e["kind"] for e in first.errors} == {"transient", "permanent"}
    monkeypatch.delenv(HANG_HOOK)
    plain = mimica.batch([src], out, workers=1, frames=FRAMES)
    assert (plain.scanned, plain.resumed, plain.transient_errors) == (0, 2, 1)  # errors stay done by default
    retry = mimica.batch([src], out, workers=1, frames=FRAMES, retry_errors=True)
    assert (retry.scanned, retry.run.retried, retry.resumed) == (1, 1, 1)  # the permanent error stays done
    recs = {Path(r["path"]).name: r for r in records(out)}
    assert recs["slow_one.mp4"]["verdict"] == "no-face" and recs["noise.mp4"]["verdict"] == "error"
    assert retry.transient_errors == 0 and len(records(out)) == 2


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
    # the words of docs/scan.md on every line: a weak model's face gets "leans ...", never a bare verdict
    face = recs["face.png"]
    assert face["verdict_text"] != face["verdict"] or face["verdict"] == "uncertain", face["verdict_text"]
    for r in recs.values():
        assert f"] {r['verdict_text']} {r['path']}" in run.stderr
    assert f"1 {face['verdict_text']}" in run.stdout and "2 error" in run.stdout
    if face["verdict"] != "uncertain":
        assert f"] {face['verdict']} " not in run.stderr and f"1 {face['verdict']}," not in run.stdout
    assert recs["gone.mp4"]["verdict"] == "error" and "no such file" in recs["gone.mp4"]["error"]
    rerun = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0 and "scanned 0" in rerun.stdout and "3 already done" in rerun.stdout
    other = subprocess.run([*cmd[:-4], "--frames", "2", "--workers", "1"], capture_output=True, text=True, timeout=300)
    assert other.returncode == 1 and "Traceback" not in other.stderr
    assert other.stderr.count("\n") == 1 and "frames 4 -> 2" in other.stderr and "--rescan" in other.stderr
    bad = subprocess.run([*cmd[:4], str(tmp_path / "nothing-here"), "--out", str(out), "--engine", "spark"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_a_model_that_cannot_load_stops_the_batch(small_corpus: Path, tmp_path: Path) -> None:
    with pytest.raises(mimica.MimicaError, match="no-such-model"):
        mimica.batch([small_corpus / "face.png"], tmp_path / "out", workers=1, model="no-such-model")
