"""Scan whole corpora: resumable, isolated per file, on this machine or a Ray cluster, with nothing lost.

`mimica.batch(sources, out)` (defined here; the package is not called `batch` so that the function can be)
scans every input into `out/results.jsonl` (one `scan --json` object per file, plus `sha256`, `size` and
`mtime_ns`), writes `out/summary.json` and, with `report=True`, `out/index.html` and one
HTML report per file under `out/reports/`. Run it again and it scans only what has no result yet.

    >>> import mimica
    >>> summary = mimica.corpus.batch(["clips/"], "runs/clips")  # doctest: +SKIP
    >>> summary.counts  # doctest: +SKIP
    {'fake': 3, 'real': 120, 'no-face': 6}
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from pydantic import BaseModel, Field

from mimica.atomic import write_atomic
from mimica.corpus.sources import expand_sources
from mimica.corpus.store import ResultStore
from mimica.corpus.work import Job, Record, ScanSettings, sha256_of
from mimica.errors import BatchError
from mimica.models.registry import DEFAULT_MODEL

SUMMARY = "summary.json"
INDEX = "index.html"
REPORTS = "reports"
#: errors listed by name in summary.json (all of them are in results.jsonl)
MAX_LISTED_ERRORS = 1000
#: what summary.json reads back of each failed record
ERROR_FIELDS = ("path", "verdict", "error")

Engine = Literal["local", "ray"]


@dataclass(frozen=True)
class BatchProgress:
    """One file done, or skipped because it already had a result (resumed); one event with an empty path
    after the listing, when the total is known."""

    done: int
    total: int
    path: str
    verdict: str
    resumed: bool


ProgressFn = Callable[[BatchProgress], None]


class BatchSummary(BaseModel):
    """summary.json: the results of this run's input files, resumed or scanned (`files`, `counts`, `errors`), and
    what this run did (`scanned`, `resumed`, `wall_s`...)."""

    schema_version: str = "1"
    files: int = Field(description="input files of this run, each with one record in results.jsonl")
    counts: dict[str, int] = Field(description="records per verdict")
    errors: list[dict[str, str]] = Field(description="path and reason of each error (the first 1000)")
    scanned: int = Field(description="files scanned by this run")
    resumed: int = Field(description="files skipped because results.jsonl already had their result")
    wall_s: float = Field(description="wall time of this run, seconds, listing and model loading included")
    files_per_s: float = Field(description="files scanned by this run per second of wall time")
    engine: str
    workers: int
    workers_replaced: int = Field(0, description="workers killed or lost (crash, timeout, memory cap)")
    started: str
    results: str = "results.jsonl"
    index: str | None = None


class BatchEngine(Protocol):
    name: str
    workers: int
    replaced: int

    def run(self, jobs: Iterable[Job], settings: ScanSettings, on_result: Callable[[Record], None]) -> None: ...


def batch(
    sources: Sequence[str | Path],
    out: str | Path,
    *,
    engine: Engine | BatchEngine = "local",
    workers: int | None = None,
    address: str | None = None,
    timeout_per_file: float = 600.0,
    memory_cap_mb: int = 4096,
    report: bool = False,
    model: str = DEFAULT_MODEL,
    frames: int = 32,
    threshold: float | None = None,
    provenance: bool = True,
    progress: ProgressFn | None = None,
) -> BatchSummary:
    """Scans every file of `sources` (files, folders, text files of paths) into the results folder `out`.

    A file that already has a result there (same path, size and mtime, or same sha256) is not scanned again;
    every other file gets exactly one record, `error` with its reason when it cannot be scanned (including a
    worker that crashed, ran past `timeout_per_file` seconds or past `memory_cap_mb`). workers: processes
    (local) or Ray actors (ray); default: one per core. address: the Ray cluster (`auto`, `ray://host:10001`,
    `host:6379`); without it the ray engine starts a private local instance. report: an HTML report per file
    and `index.html` (flagged files first). Raises BatchError when the batch cannot run at all.
    """
    t0 = time.monotonic()
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    if timeout_per_file < 0 or memory_cap_mb < 0:
        raise BatchError("--timeout-per-file and --memory-cap must be 0 (off) or positive")
    paths = expand_sources(sources)
    out = Path(out)
    runner = _engine(engine, workers, address, timeout_per_file, memory_cap_mb)
    cpu = os.cpu_count() or 1
    settings = ScanSettings(model=model, frames=frames, threshold=threshold, provenance=provenance,
                            threads=max(1, cpu // max(1, runner.workers)))
    with ResultStore(out) as store:
        if report:
            (out / REPORTS).mkdir(exist_ok=True)
        jobs: list[Job] = []
        resumed = 0
        for path in paths:
            job = _job(path, out if report else None)
            if _is_done(store, job, report, out):
                resumed += 1
                if progress:
                    progress(BatchProgress(resumed, len(paths), path, store.entries[path].verdict, True))
            else:
                jobs.append(job)
        done = resumed
        if progress:  # the total is known before the first file is scanned
            progress(BatchProgress(resumed, len(paths), "", "", True))

        def on_result(record: Record) -> None:
            nonlocal done
            store.append(record)
            done += 1
            if progress:
                progress(BatchProgress(done, len(paths), record["path"], record["verdict"], False))

        if jobs:
            runner.run(jobs, settings, on_result)
        store.compact()
        wanted = set(paths)
        kept = {p: e for p, e in store.entries.items() if p in wanted}
        missing = wanted - kept.keys()
        if missing:  # an engine bug, never a bad file: say so rather than write a summary that hides it
            raise BatchError(f"{len(missing)} file(s) got no result, e.g. {sorted(missing)[0]}; rerun to retry them")
        errors = []
        if any(e.verdict == "error" for e in kept.values()):
            errors = [{"path": r["path"], "error": r.get("error") or ""} for r in store.records(ERROR_FIELDS)
                      if r["path"] in wanted and r["verdict"] == "error"][:MAX_LISTED_ERRORS]
        index = None
        if report:
            from mimica.corpus.index import FIELDS, write_index

            index = write_index(out / INDEX, [r for r in store.records(FIELDS) if r["path"] in wanted])
        wall = time.monotonic() - t0
        summary = BatchSummary(
            files=len(paths), counts=dict(Counter(e.verdict for e in kept.values())), errors=errors,
            scanned=len(jobs), resumed=resumed, wall_s=round(wall, 3),
            files_per_s=round(len(jobs) / wall, 3) if wall > 0 else 0.0, engine=runner.name,
            workers=runner.workers, workers_replaced=runner.replaced, started=started,
            index=INDEX if index is not None else None,
        )
        write_atomic(out / SUMMARY, summary.model_dump_json(indent=2) + "\n")
    return summary


def _engine(engine: Engine | BatchEngine, workers: int | None, address: str | None, timeout: float,
            memory_cap_mb: int) -> BatchEngine:
    if not isinstance(engine, str):
        return engine
    if engine == "local":
        if address is not None:
            raise BatchError("--address is for --engine ray; the local engine runs on this machine")
        from mimica.corpus.local import LocalEngine

        return LocalEngine(workers=workers, timeout_per_file=timeout, memory_cap_mb=memory_cap_mb)
    if engine == "ray":
        from mimica.corpus.ray_engine import RayEngine

        return RayEngine(workers=workers, address=address, timeout_per_file=timeout)
    raise BatchError(f"unknown engine {engine!r}: choose local or ray")


def _job(path: str, out: Path | None) -> Job:
    size: int | None = None
    mtime: int | None = None
    try:
        st = os.stat(path)
        size, mtime = st.st_size, st.st_mtime_ns
    except OSError:
        pass
    report = report_rel = None
    if out is not None:
        report_rel = f"{REPORTS}/{_report_name(path)}"
        report = str(out / report_rel)
    return Job(path=path, size=size, mtime_ns=mtime, report=report, report_rel=report_rel)


def _report_name(path: str) -> str:
    import hashlib

    stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in Path(path).name)[:80]
    return f"{hashlib.sha1(path.encode('utf-8', 'surrogateescape')).hexdigest()[:10]}-{stem}.html"


def _is_done(store: ResultStore, job: Job, report: bool, out: Path) -> bool:
    entry = store.entries.get(job.path)
    if entry is None:
        return False
    if report and (entry.report is None or not (out / entry.report).is_file()):
        return False  # scanned before without --report: scan again for the evidence the report shows
    if (entry.size, entry.mtime_ns) == (job.size, job.mtime_ns):
        return True
    # touched or copied with a new mtime but the same bytes: the same result
    return entry.size == job.size and entry.sha256 is not None and entry.sha256 == sha256_of(job.path)


__all__ = ["BatchError", "BatchProgress", "BatchSummary", "batch", "expand_sources"]
