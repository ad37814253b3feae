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

import contextlib
import dataclasses
import datetime as dt
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

from pydantic import BaseModel, Field, ValidationError

from mimica.atomic import write_atomic
from mimica.corpus.sources import expand_sources
from mimica.corpus.store import ResultStore
from mimica.corpus.work import UNCHANGED, Job, Record, ScanSettings, scan_identity
from mimica.errors import BatchError
from mimica.models.registry import DEFAULT_MODEL

SUMMARY = "summary.json"
INDEX = "index.html"
REPORTS = "reports"
#: errors listed by name in summary.json (all of them are in results.jsonl)
MAX_LISTED_ERRORS = 1000
#: what summary.json reads back of each failed record
ERROR_FIELDS = ("path", "verdict", "error", "error_kind")

Engine = Literal["local", "ray"]


@dataclass(frozen=True)
class BatchProgress:
    """One file done, or skipped because it already had a result (resumed); one event with an empty path
    after the listing, when the total is known. verdict_text: the verdict in the words people read
    (mimica.scan.aggregate.verdict_text: "leans fake" from a model under 0.8 AUC), never a bare verdict."""

    done: int
    total: int
    path: str
    verdict: str
    resumed: bool
    verdict_text: str = ""


ProgressFn = Callable[[BatchProgress], None]
NoteFn = Callable[[str], None]


class RunFigures(BaseModel):
    """What one run into the results folder did (summary.json keeps every run's, the latest last)."""

    started: str
    scanned: int = Field(description="files scanned by this run")
    resumed: int = Field(description="files skipped because results.jsonl already had their result")
    retried: int = Field(0, description="error rows scanned again (--retry-errors)")
    rescanned: int = Field(0, description="rows scanned again for other settings or another model (--rescan)")
    unchanged: int = Field(0, description="touched files whose bytes still matched their record (hashed, kept)")
    wall_s: float = Field(description="wall time of this run, seconds, listing and model loading included")
    files_per_s: float = Field(description="files scanned by this run per second of wall time")
    engine: str
    workers: int
    workers_replaced: int = Field(0, description="workers killed or lost (crash, timeout, memory cap, node)")
    requeued: int = Field(0, description="files sent again after the Ray node scanning them was lost")


class AbsentResults(BaseModel):
    """Records in results.jsonl whose paths are not inputs of this run (removed, or named in an earlier run
    only): kept for a later run that lists them again, never counted as this run's inputs."""

    files: int = 0
    counts: dict[str, int] = Field(default_factory=dict)
    paths: list[str] = Field(default_factory=list, description="the first 1000")


class BatchSummary(BaseModel):
    """summary.json: the corpus totals of this run's inputs (every row, resumed or scanned: `files`, `counts`,
    `errors`), the records of paths no longer among the inputs (`absent`), and each run's own figures side by
    side (`run`: this one; `runs`: every run into the folder, oldest first), so a rerun loses nothing."""

    schema_version: str = "2"
    files: int = Field(description="input files of this run, each with one record in results.jsonl")
    counts: dict[str, int] = Field(description="records per verdict")
    counts_text: dict[str, int] = Field(default_factory=dict, description="records per verdict in words "
                                        "(verdict_text: 'leans fake' from a weak model), what people read")
    errors: list[dict[str, str]] = Field(description="path, reason and kind of each error (the first 1000)")
    transient_errors: int = Field(0, description="errors that may not happen again: rescanned by --retry-errors")
    absent: AbsentResults = Field(default_factory=AbsentResults)
    run: RunFigures
    runs: list[RunFigures] = Field(default_factory=list)
    results: str = "results.jsonl"
    index: str | None = None

    # this run's figures, as attributes of the summary (the schema-1 names)
    @property
    def scanned(self) -> int:
        return self.run.scanned

    @property
    def resumed(self) -> int:
        return self.run.resumed

    @property
    def wall_s(self) -> float:
        return self.run.wall_s

    @property
    def files_per_s(self) -> float:
        return self.run.files_per_s

    @property
    def engine(self) -> str:
        return self.run.engine

    @property
    def workers(self) -> int:
        return self.run.workers

    @property
    def workers_replaced(self) -> int:
        return self.run.workers_replaced


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
    start_timeout: float = 600.0,
    report: bool = False,
    model: str = DEFAULT_MODEL,
    frames: int = 32,
    threshold: float | None = None,
    provenance: bool = True,
    retry_errors: bool = False,
    rescan: bool = False,
    progress: ProgressFn | None = None,
    note: NoteFn | None = None,
) -> BatchSummary:
    """Scans every file of `sources` (files, folders, text files of paths) into the results folder `out`.

    A file that already has a result there (same path, size and mtime, or same size and hash), made with the
    same model and settings, is not scanned again; every other file gets exactly one record, `error` with its
    reason and kind when it cannot be scanned (including a worker that crashed, ran past `timeout_per_file`
    seconds or past `memory_cap_mb`). retry_errors: scan again the errors that may not happen again (kind
    `transient`: timeout, worker or node lost, memory cap, unreadable). rescan: scan again the rows made with
    other settings or another model; without it such rows stop the batch with a BatchError that names --rescan.
    workers: processes (local) or Ray actors (ray); default: one per core. address: the Ray cluster (`auto`,
    `ray://host:10001`, `host:6379`; default: RAY_ADDRESS, else a private local instance). start_timeout:
    seconds the workers may take to load the models. report: an HTML report per file and `index.html`
    (flagged files first). note: called with one-line notices (workers clamped, temporary files cleaned).
    Raises BatchError when the batch cannot run at all.
    """
    t0 = time.monotonic()
    started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    if timeout_per_file < 0 or memory_cap_mb < 0 or start_timeout <= 0:
        raise BatchError("--timeout-per-file and --memory-cap must be 0 (off) or positive, --start-timeout "
                         "positive")
    paths = expand_sources(sources)
    out = Path(out)
    runner = _engine(engine, workers, address, timeout_per_file, memory_cap_mb, start_timeout)
    if note is not None and hasattr(runner, "note"):
        runner.note = note
    cpu = os.cpu_count() or 1
    settings = ScanSettings(model=model, frames=frames, threshold=threshold, provenance=provenance,
                            threads=max(1, cpu // max(1, runner.workers)))
    settings = dataclasses.replace(settings, identity=scan_identity(settings))
    with ResultStore(out) as store:
        if note and store.cleaned:
            note(f"removed {len(store.cleaned)} temporary file(s) left by a killed run: {', '.join(store.cleaned)}")
        if report:
            (out / REPORTS).mkdir(exist_ok=True)
        plan = _plan(store, paths, settings, out if report else None, retry_errors, rescan)
        done = plan.resumed
        if progress:
            for k, path in enumerate(plan.done_paths, 1):
                e = store.entries[path]
                progress(BatchProgress(k, len(paths), path, e.verdict, True, e.verdict_text))
            progress(BatchProgress(plan.resumed, len(paths), "", "", True))  # the total is known
        del plan.done_paths[:]
        unchanged = 0

        def on_result(record: Record) -> None:
            nonlocal done, unchanged
            if record.pop(UNCHANGED, False):  # a touched file, bytes unchanged: its record with the new mtime
                job = plan.jobs[record["path"]]
                record = {**store.get(job.path), "size": job.size, "mtime_ns": job.mtime_ns}
                unchanged += 1
            store.append(record)
            done += 1
            if progress:
                progress(BatchProgress(done, len(paths), record["path"], record["verdict"], False,
                                       record.get("verdict_text") or record["verdict"]))

        if plan.jobs:
            runner.run(list(plan.jobs.values()), settings, on_result)
        store.compact()
        summary = _summarise(store, paths, out, report)
        wall = time.monotonic() - t0
        scanned = len(plan.jobs) - unchanged
        run = RunFigures(
            started=started, scanned=scanned, resumed=plan.resumed + unchanged, retried=plan.retried,
            rescanned=plan.rescanned, unchanged=unchanged, wall_s=round(wall, 3),
            files_per_s=round(scanned / wall, 3) if wall > 0 else 0.0, engine=runner.name, workers=runner.workers,
            workers_replaced=runner.replaced, requeued=getattr(runner, "requeued", 0),
        )
        summary = summary.model_copy(update={"run": run, "runs": [*_earlier_runs(out / SUMMARY), run][-MAX_RUNS:]})
        write_atomic(out / SUMMARY, summary.model_dump_json(indent=2) + "\n")
    return summary


#: runs kept in summary.json (the oldest dropped first)
MAX_RUNS = 1000


@dataclass
class _Plan:
    jobs: dict[str, Job]
    done_paths: list[str]
    resumed: int = 0
    retried: int = 0
    rescanned: int = 0


def _plan(store: ResultStore, paths: list[str], settings: ScanSettings, out: Path | None, retry_errors: bool,
          rescan: bool) -> _Plan:
    """Which inputs to scan and which are done. Refuses (BatchError naming --rescan) when stored rows were
    made with other settings or another model and `rescan` is off: their old verdicts would pass as new."""
    key = store.identity_key(settings.identity)
    plan = _Plan(jobs={}, done_paths=[])
    differing: list[str] = []
    for path in paths:
        job = _job(path, out)
        entry = store.entries.get(path)
        if entry is None:
            plan.jobs[path] = job
            continue
        if entry.scan != key:
            differing.append(path)
            if rescan:
                plan.rescanned += 1
                plan.jobs[path] = job
            continue
        if out is not None and (entry.report is None or not (out / entry.report).is_file()):
            plan.jobs[path] = job  # scanned before without --report: scan again for the evidence the report shows
            continue
        if entry.verdict == "error" and retry_errors and entry.error_kind == "transient":
            plan.retried += 1
            plan.jobs[path] = job
            continue
        if (entry.size, entry.mtime_ns) == (job.size, job.mtime_ns):
            plan.resumed += 1
            plan.done_paths.append(path)
        elif entry.size == job.size and entry.hashed is not None:
            # touched or copied with a new mtime: the worker hashes it and keeps the record if the bytes match
            plan.jobs[path] = dataclasses.replace(job, expect=entry.hashed)
        else:
            plan.jobs[path] = job
    if differing and not rescan:
        raise BatchError(f"{len(differing)} result(s) in {store.folder} were made with other settings or another "
                         f"model ({_difference(store.get(differing[0]).get('scan'), settings.identity)}); rerun "
                         "with --rescan to scan them again, or choose another --out")
    return plan


def _difference(old: Any, new: dict[str, Any]) -> str:
    """The first setting that differs, in words: `frames 32 -> 4`."""
    if not isinstance(old, dict):
        return "made before records kept their settings"
    for k, v in new.items():
        if old.get(k) != v:
            if k == "detectors":
                def name(ds: Any) -> str:
                    return ", ".join(f"{d.get('name')} {d.get('version')} (onnx {str(d.get('sha256'))[:12]})"
                                     for d in ds or [] if isinstance(d, dict)) or "none"
                return f"model {name(old.get(k))} -> {name(v)}"
            return f"{k} {old.get(k)} -> {v}"
    return "settings differ"


def _summarise(store: ResultStore, paths: list[str], out: Path, report: bool) -> BatchSummary:
    """The corpus totals of the inputs and the records of paths no longer among them, from the entries (the
    records are read back only for the error list and the index, streamed)."""
    wanted = set(paths)
    missing = [p for p in paths if p not in store.entries]
    if missing:  # an engine bug, never a bad file: say so rather than write a summary that hides it
        raise BatchError(f"{len(missing)} file(s) got no result, e.g. {missing[0]}; rerun to retry them")
    counts: Counter[str] = Counter()
    words: Counter[str] = Counter()
    absent_counts: Counter[str] = Counter()
    absent: list[str] = []
    transient = 0
    for p, e in store.entries.items():
        if p in wanted:
            counts[e.verdict] += 1
            words[e.verdict_text] += 1
            transient += e.verdict == "error" and e.error_kind == "transient"
        else:
            absent_counts[e.verdict] += 1
            if len(absent) < MAX_LISTED_ERRORS:
                absent.append(p)
    errors = []
    if counts.get("error"):
        error_paths = {p for p in wanted if store.entries[p].verdict == "error"}
        for r in store.records(ERROR_FIELDS, error_paths):
            errors.append({"path": r["path"], "error": r.get("error") or "",
                           "kind": store.entries[r["path"]].error_kind or "permanent"})
            if len(errors) >= MAX_LISTED_ERRORS:
                break
    index = None
    if report:
        from mimica.corpus.index import FIELDS, write_index

        index = write_index(out / INDEX, list(store.records(FIELDS, wanted)))
    placeholder = RunFigures(started="", scanned=0, resumed=0, wall_s=0.0, files_per_s=0.0, engine="", workers=0)
    return BatchSummary(
        files=len(paths), counts=dict(counts), counts_text=dict(words), errors=errors, transient_errors=transient,
        absent=AbsentResults(files=sum(absent_counts.values()), counts=dict(absent_counts), paths=absent),
        run=placeholder, index=INDEX if index is not None else None,
    )


def _earlier_runs(path: Path) -> list[RunFigures]:
    """The runs recorded by the summary.json already there (a schema-1 summary held one run, at its top level)."""
    try:
        old = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(old, dict):
        return []
    runs = old.get("runs") if old.get("schema_version") == "2" else [old]
    kept = []
    for r in runs if isinstance(runs, list) else []:
        with contextlib.suppress(ValidationError, TypeError):
            kept.append(RunFigures.model_validate(r))
    return kept


def _engine(engine: Engine | BatchEngine, workers: int | None, address: str | None, timeout: float,
            memory_cap_mb: int, start_timeout: float) -> BatchEngine:
    if not isinstance(engine, str):
        return engine
    if engine == "local":
        if address is not None:
            raise BatchError("--address is for --engine ray; the local engine runs on this machine")
        from mimica.corpus.local import LocalEngine

        return LocalEngine(workers=workers, timeout_per_file=timeout, memory_cap_mb=memory_cap_mb,
                           start_timeout=start_timeout)
    if engine == "ray":
        from mimica.corpus.ray_engine import RayEngine

        return RayEngine(workers=workers, address=address, timeout_per_file=timeout, start_timeout=start_timeout)
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


__all__ = ["BatchError", "BatchProgress", "BatchSummary", "RunFigures", "batch", "expand_sources"]
