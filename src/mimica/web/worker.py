"""Background scans: a few worker threads, each with its own Scanner loaded once, pulling job ids from a queue.

Bounded concurrency: a scan already keeps two cores busy (onnxruntime and the decoder), so one worker per two
cores. The database is the source of truth, the queue only a wake-up: on start every job still `queued` is
queued again, and every job left `running` by a crash or restart is re-queued or failed with the reason
(`Store.recover`), so no job is ever lost silently.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from pathlib import Path

from mimica.errors import MimicaError
from mimica.models.reliability import Reliability
from mimica.scan import Scanner
from mimica.web.settings import Settings
from mimica.web.store import Store

log = logging.getLogger("mimica.web")

#: seconds between progress writes to the database (the last one of a stage always goes through)
PROGRESS_EVERY = 0.25


class _Stop(Exception):
    """Raised from the progress callback to cut a scan short (shutdown or deletion)."""


class Runner:
    """Runs queued jobs. `scanner_factory` makes one Scanner per worker, called in `start` so that a bad model
    fails the server's start instead of every job."""

    def __init__(self, store: Store, settings: Settings,
                 scanner_factory: Callable[[], Scanner] | None = None) -> None:
        self.store = store
        self.settings = settings
        self.factory = scanner_factory or (lambda: Scanner(model=settings.model, frames=settings.frames,
                                                           threads=settings.threads))
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._stop = threading.Event()
        self._cancelled: set[str] = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self.recovered: tuple[list[str], list[str]] = ([], [])
        #: the scanning model's measured reliability (set by `start` when it loads the model; until then, or with
        #: no workers, read from the configured model's card)
        self.reliability: Reliability | None = None

    def start(self) -> None:
        self.settings.uploads.mkdir(parents=True, exist_ok=True)
        self.settings.reports.mkdir(parents=True, exist_ok=True)
        self._sweep_uploads()
        self.recovered = self.store.recover(self.settings.max_attempts)
        for job_id in self.recovered[1]:
            self._drop_media(job_id)
        if self.recovered[0] or self.recovered[1]:
            log.warning("after a restart: %d job(s) re-queued, %d failed", *map(len, self.recovered))
        scanners = [self.factory() for _ in range(self.settings.workers)]
        if scanners:  # the words of the verdicts the pages offer follow the model that scans
            self.reliability = scanners[0].reliability
        for job_id in self.store.queued_ids():
            self._queue.put(job_id)
        for k, scanner in enumerate(scanners):
            t = threading.Thread(target=self._work, args=(scanner,), name=f"mimica-scan-{k}", daemon=True)
            t.start()
            self._threads.append(t)

    def stop(self, timeout: float = 30.0) -> None:
        """Cuts running scans short at their next frame; their jobs go back to the queue for the next start."""
        self._stop.set()
        for _ in self._threads:
            self._queue.put(None)
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        self._threads.clear()

    def submit(self, job_id: str) -> None:
        self._queue.put(job_id)

    def cancel(self, job_id: str) -> None:
        with self._lock:
            self._cancelled.add(job_id)

    @property
    def workers(self) -> int:
        return len(self._threads)

    # --- one worker ------------------------------------------------------------------------------------------

    def _work(self, scanner: Scanner) -> None:
        while not self._stop.is_set():
            job_id = self._queue.get()
            if job_id is None:
                break
            try:
                self._run(scanner, job_id)
            except Exception:  # a bug here must not kill the worker; the job says what happened
                log.exception("job %s: unexpected error", job_id)
                self.store.fail(job_id, "internal error while scanning; see the server log")

    def _run(self, scanner: Scanner, job_id: str) -> None:
        job = self.store.claim(job_id)
        if job is None:  # deleted, or already taken
            return
        media = self.settings.data_dir / job.media_path if job.media_path else None
        if media is None or not media.is_file():
            self.store.fail(job_id, "the uploaded file is gone from the data dir; upload it again")
            return
        last: dict[str, float | str] = {"t": 0.0, "stage": ""}

        def progress(stage: str, done: int, total: int) -> None:
            if self._stop.is_set():
                raise _Stop("shutdown")
            if job_id in self._cancelled:
                raise _Stop("deleted")
            t = time.monotonic()
            if stage != last["stage"] or done >= total or t - float(last["t"]) >= PROGRESS_EVERY:
                self.store.progress(job_id, stage, done, total)
                last.update(t=t, stage=stage)

        try:
            self.store.progress(job_id, "frames", 0, 0)
            result, evidence = scanner.scan_evidence(media, progress)
            result = result.model_copy(update={"path": job.filename})
            self.store.progress(job_id, "report", 0, 1)
            report, report_error = self._report(job_id, job.filename, result, evidence)
            ok = self.store.finish(job_id, result.model_dump_json(), result.verdict, result.probability,
                                   report, report_error)
            if not ok and report:  # deleted while the report was written
                (self.settings.data_dir / report).unlink(missing_ok=True)
        except _Stop as stop:
            if str(stop) == "shutdown":
                self.store.requeue(job_id, "re-queued: the server was stopped while scanning it")
                return  # the media stays for the next start
        except MimicaError as err:
            self.store.fail(job_id, str(err).replace(str(media), job.filename))
        finally:
            with self._lock:
                self._cancelled.discard(job_id)
        self._drop_media(job_id)

    def _report(self, job_id: str, filename: str, result, evidence) -> tuple[str | None, str | None]:  # type: ignore[no-untyped-def]
        from mimica.report import write_report

        rel = f"reports/{job_id}.html"
        try:
            write_report(self.settings.data_dir / rel, result, evidence, title=filename)
        except Exception as err:  # the scan result stands without its report
            log.exception("job %s: report failed", job_id)
            return None, f"report could not be written: {type(err).__name__}: {err}"
        return rel, None

    def _sweep_uploads(self) -> None:
        """Before any upload can arrive: removes half-received uploads (*.part) and files no job refers to
        (a crash between receiving a file and recording its job)."""
        wanted = self.store.media_paths()
        for p in self.settings.uploads.iterdir():
            if p.is_file() and f"uploads/{p.name}" not in wanted:
                log.info("removing leftover upload %s", p.name)
                p.unlink(missing_ok=True)

    def _drop_media(self, job_id: str) -> None:
        if self.settings.keep_uploads:
            return
        job = self.store.get(job_id)
        if job is not None and job.media_path:
            (self.settings.data_dir / job.media_path).unlink(missing_ok=True)
            self.store.forget_media(job_id)
        elif job is None:
            for p in Path(self.settings.uploads).glob(f"{job_id}.*"):
                p.unlink(missing_ok=True)
