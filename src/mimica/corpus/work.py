"""What happens to one file in a batch, whichever engine runs it: stat, hash, scan, optional report, one record.

A record is the `scan --json` object of the file plus `sha256`, `size` and `mtime_ns` (the resume key) and,
with reports, `report` (its path relative to the results folder). Both engines call `scan_one` in their
workers, so the same inputs give the same records whichever engine ran them.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mimica.errors import MimicaError
from mimica.models.registry import DEFAULT_MODEL
from mimica.scan import Scanner, ScanResult

#: test-only: a worker that is asked to scan a file whose name contains this string segfaults (crash test)
CRASH_HOOK = "MIMICA_BATCH_TEST_CRASH"
#: test-only: ... hangs forever (timeout test)
HANG_HOOK = "MIMICA_BATCH_TEST_HANG"
#: test-only: ... allocates memory until it is stopped (memory cap test)
HOG_HOOK = "MIMICA_BATCH_TEST_HOG"

Record = dict[str, Any]
#: key of a record that carries its report's HTML from a remote worker to the driver (never stored)
REPORT_HTML = "_report_html"


@dataclass(frozen=True)
class ScanSettings:
    """How every file of the batch is scanned (the `scan` options) and how many threads each worker uses."""

    model: str = DEFAULT_MODEL
    frames: int = 32
    threshold: float | None = None
    provenance: bool = True
    threads: int = 1

    def scanner(self) -> Scanner:
        return Scanner(model=self.model, frames=self.frames, threshold=self.threshold, provenance=self.provenance,
                       threads=self.threads)


@dataclass(frozen=True)
class Job:
    """One input file: its absolute path, the size and mtime seen when the batch listed it (the resume key),
    and where its HTML report goes (absolute path), if any. report_inline: the worker returns the report's HTML
    in the record (`REPORT_HTML`) for the driver to write, instead of writing it itself (Ray workers on other
    machines do not see the driver's results folder)."""

    path: str
    size: int | None
    mtime_ns: int | None
    report: str | None = None
    report_rel: str | None = None
    report_inline: bool = False


def sha256_of(path: str | Path, chunk: int = 1 << 20) -> str | None:
    """Hex sha256 of the file's bytes, None when it cannot be read."""
    h = hashlib.sha256()
    try:
        with open(path, "rb") as f:
            while block := f.read(chunk):
                h.update(block)
    except OSError:
        return None
    return h.hexdigest()


def error_record(job: Job, message: str, sha256: str | None = None, report: bool = True) -> Record:
    """The record of a file that could not be scanned: verdict `error` and the one-line reason."""
    result = ScanResult(path=job.path, verdict="error", error=" ".join(message.split()))
    record = _record(result, job, sha256 if sha256 is not None else sha256_of(job.path))
    if report and job.report is not None:
        record.update(_write_report(job, result, None))
    return record


def scan_one(scanner: Scanner, job: Job) -> Record:
    """Scans one file; never raises for a bad file (the record says `error` and why)."""
    _test_hooks(job.path)
    sha = sha256_of(job.path)
    try:
        if job.report is not None:
            result, evidence = scanner.scan_evidence(job.path)
        else:
            result, evidence = scanner.scan(job.path), None
    except MimicaError as err:
        return error_record(job, str(err), sha)
    except MemoryError:
        return error_record(job, f"{job.path}: ran out of memory while scanning", sha)
    except Exception as err:  # a decoder or library bug on one odd file must not stop the batch
        return error_record(job, f"{job.path}: internal error while scanning: {type(err).__name__}: {err}", sha)
    record = _record(result, job, sha)
    if job.report is not None:
        record.update(_write_report(job, result, evidence))
    return record


def _record(result: ScanResult, job: Job, sha256: str | None) -> Record:
    record: Record = result.model_dump(mode="json")
    record["path"] = job.path
    record.update(sha256=sha256, size=job.size, mtime_ns=job.mtime_ns)
    return record


def _write_report(job: Job, result: ScanResult, evidence: Any) -> Record:
    assert job.report is not None
    try:
        from mimica.report import render_report, write_report

        if job.report_inline:
            return {"report": job.report_rel, REPORT_HTML: render_report(result, evidence, title=Path(job.path).name)}
        write_report(job.report, result, evidence, title=Path(job.path).name)
    except (ImportError, MimicaError, OSError) as err:  # the scan stands; the index says the report is missing
        return {"report": None, "report_error": f"{type(err).__name__}: {err}"}
    return {"report": job.report_rel}


def deliver_report(record: Record, job: Job) -> Record:
    """On the driver: writes the HTML a remote worker sent with the record, and drops it from the record."""
    html = record.pop(REPORT_HTML, None)
    if html is not None and job.report is not None:
        from mimica.atomic import write_atomic

        try:
            write_atomic(job.report, html)
        except OSError as err:
            record.update(report=None, report_error=f"{type(err).__name__}: {err}")
    return record


def _test_hooks(path: str) -> None:
    name = Path(path).name
    crash = os.environ.get(CRASH_HOOK)
    if crash and crash in name:
        ctypes.string_at(0)  # a real SIGSEGV, as a decoder bug gives
    hang = os.environ.get(HANG_HOOK)
    if hang and hang in name:
        while True:
            time.sleep(1)
    hog = os.environ.get(HOG_HOOK)
    if hog and hog in name:
        blocks = []
        while True:
            blocks.append(b"x" * (128 << 20))  # written pages: RSS grows up to 2.5 GB a second
            time.sleep(0.05)
