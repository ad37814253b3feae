"""What happens to one file in a batch, whichever engine runs it: stat, hash, scan, optional report, one record.

A record is the `scan --json` object of the file plus `sha256` (or `sha256_sampled` for a file over 1 GiB),
`size` and `mtime_ns` (the resume key), `scan` (the model and settings: `scan_identity`), `error_kind` for an
error and, with reports, `report` (its path relative to the results folder). Both engines call `scan_one` in
their workers, so the same inputs give the same records whichever engine ran them; the driver never opens an
input file.
"""

from __future__ import annotations

import ctypes
import hashlib
import os
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from mimica.errors import MediaError, MimicaError
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
#: key of the answer of a worker that found a touched file's bytes unchanged (never stored): keep the old record
UNCHANGED = "_unchanged"
#: files up to this size are hashed whole; a larger one by HASH_SAMPLES blocks spread over it (`sha256_sampled`)
HASH_FULL_MAX = 1 << 30
HASH_SAMPLES = 16
HASH_BLOCK = 4 << 20

ErrorKind = Literal["transient", "permanent"]
#: how the one-line reasons of errors that may not happen again start or read (also for records made before
#: `error_kind` existed): the worker was lost, ran out of time or memory, or the file could not be read
TRANSIENT_MARKS = ("per-file timeout", "worker process crashed", "memory cap", "ran out of memory",
                   "Ray worker", "Ray node", "cannot be read (")


@dataclass(frozen=True)
class ScanSettings:
    """How every file of the batch is scanned (the `scan` options) and how many threads each worker uses.
    identity: `scan_identity` of these settings, computed by the driver and stamped on every record."""

    model: str = DEFAULT_MODEL
    frames: int = 32
    threshold: float | None = None
    provenance: bool = True
    threads: int = 1
    identity: dict[str, Any] = field(default_factory=dict, compare=False)

    def scanner(self) -> Scanner:
        return Scanner(model=self.model, frames=self.frames, threshold=self.threshold, provenance=self.provenance,
                       threads=self.threads)


def scan_identity(settings: ScanSettings, scanner: Scanner | None = None) -> dict[str, Any]:
    """What makes two scans of the same bytes give the same record: every detector of the scan (name, version,
    ONNX sha256) and the scan settings. Each record carries it (`scan`); a rerun with another identity rescans
    or refuses.

    The one place that says what a scan depends on. From the scanner when one is loaded (a worker checks that
    it runs what the driver asked for), else from the model card alone (the driver, which loads no model).
    """
    if scanner is not None:
        cards = [d.card for d in scanner.detectors]
    else:
        from mimica.models.detectors import companions
        from mimica.models.registry import WEIGHTS, card_path_of, load_card

        first = load_card(card_path_of(settings.model))
        cards = [first] + [load_card(WEIGHTS / f"{n}.json") for n in companions(first.name)]
    return {
        "detectors": [{"name": c.name, "version": c.version, "sha256": c.sha256} for c in cards],
        "frames": settings.frames,
        "threshold": settings.threshold,
        "provenance": settings.provenance,
    }


@dataclass(frozen=True)
class Job:
    """One input file: its absolute path, the size and mtime seen when the batch listed it (the resume key),
    and where its HTML report goes (absolute path), if any. report_inline: the worker returns the report's HTML
    in the record (`REPORT_HTML`) for the driver to write, instead of writing it itself (Ray workers on other
    machines do not see the driver's results folder). expect: the hash of a stored record of the same size
    (a touched file): when the bytes still hash to it, the worker answers `UNCHANGED` instead of scanning."""

    path: str
    size: int | None
    mtime_ns: int | None
    report: str | None = None
    report_rel: str | None = None
    report_inline: bool = False
    expect: tuple[str, str] | None = None


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


def fingerprint(path: str | Path, size: int) -> tuple[str, str]:
    """("sha256", hex of the whole file) up to HASH_FULL_MAX bytes; above, ("sha256_sampled", hex of the size
    and HASH_SAMPLES blocks spread over the file), so a 30 GB file costs 64 MB of reads, not 30 GB. Raises
    OSError. Called in workers only, under the per-file timeout."""
    if size <= HASH_FULL_MAX:
        h = sha256_of(path)
        if h is None:
            with open(path, "rb"):  # the OSError that says why
                pass
            raise OSError(f"{path}: unreadable")
        return "sha256", h
    sampled = hashlib.sha256(f"{size}:{HASH_SAMPLES}:{HASH_BLOCK}".encode())
    with open(path, "rb") as f:
        for i in range(HASH_SAMPLES):
            f.seek((size - HASH_BLOCK) * i // (HASH_SAMPLES - 1))
            sampled.update(f.read(HASH_BLOCK))
    return "sha256_sampled", sampled.hexdigest()


def error_kind_of(message: str) -> ErrorKind:
    """transient: the file may scan next time (retried by --retry-errors); permanent: it is what it is."""
    return "transient" if any(m in message for m in TRANSIENT_MARKS) else "permanent"


def error_record(job: Job, message: str, identity: dict[str, Any], kind: ErrorKind | None = None,
                 hashed: tuple[str, str] | None = None, report: bool = True) -> Record:
    """The record of a file that could not be scanned: verdict `error`, the one-line reason and its kind.
    Never reads the file (the driver calls it for a worker it lost)."""
    text = " ".join(message.split())
    result = ScanResult(path=job.path, verdict="error", error=text)
    record = _record(result, job, hashed, identity)
    record["error_kind"] = kind or error_kind_of(text)
    if report and job.report is not None:
        record.update(_write_report(job, result, None))
    return record


_KINDS = {stat.S_IFIFO: "a named pipe (FIFO)", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
          stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a folder"}


def scan_one(scanner: Scanner, job: Job, identity: dict[str, Any]) -> Record:
    """Scans one file; never raises for a bad file (the record says `error` and why). Everything that touches
    the file's bytes happens here, in the worker, under the per-file timeout: the stat that refuses special
    files before they are opened (a FIFO blocks an open, /dev/zero never ends), the hash, the scan."""
    _test_hooks(job.path)
    try:
        st = os.stat(job.path)  # follows symlinks: a link to /dev/zero is a character device
    except FileNotFoundError:
        return error_record(job, f"{job.path}: no such file", identity, "permanent")
    except OSError as err:
        return error_record(job, f"{job.path}: cannot be read ({err.strerror or err})", identity, "transient")
    kind = stat.S_IFMT(st.st_mode)
    if kind != stat.S_IFREG:
        what = _KINDS.get(kind, "not a regular file")
        return error_record(job, f"{job.path}: is {what}, not a media file; refused without reading it", identity,
                            "permanent")
    try:
        hashed = fingerprint(job.path, st.st_size)
    except OSError as err:
        return error_record(job, f"{job.path}: cannot be read ({err.strerror or err})", identity, "transient")
    if job.expect is not None and hashed == job.expect:
        return {"path": job.path, UNCHANGED: True}
    try:
        if job.report is not None:
            result, evidence = scanner.scan_evidence(job.path)
        else:
            result, evidence = scanner.scan(job.path), None
    except MediaError as err:
        return error_record(job, str(err), identity, "permanent", hashed)
    except MimicaError as err:
        return error_record(job, str(err), identity, None, hashed)
    except MemoryError:
        return error_record(job, f"{job.path}: ran out of memory while scanning", identity, "transient", hashed)
    except Exception as err:  # a decoder or library bug on one odd file must not stop the batch
        return error_record(job, f"{job.path}: internal error while scanning: {type(err).__name__}: {err}",
                            identity, "permanent", hashed)
    record = _record(result, job, hashed, identity)
    if job.report is not None:
        record.update(_write_report(job, result, evidence))
    return record


def _record(result: ScanResult, job: Job, hashed: tuple[str, str] | None, identity: dict[str, Any]) -> Record:
    record: Record = result.model_dump(mode="json")
    record["path"] = job.path
    record.update(sha256=None, size=job.size, mtime_ns=job.mtime_ns)
    if hashed is not None:
        record[hashed[0]] = hashed[1]
    record["scan"] = identity
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
