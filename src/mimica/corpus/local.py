"""The local engine: a small pool of long-lived worker processes, each holding one Scanner (models loaded once per
worker), fed one file at a time by the parent, which also enforces the isolation rules.

Why not concurrent.futures: a ProcessPoolExecutor whose worker dies (a segfault in a decoder) breaks for good
(BrokenProcessPool) and takes every pending file with it, and it cannot stop one task that hangs. Here the
parent watches each worker: a worker that dies, runs past the per-file timeout or grows past the memory cap is
killed if need be and replaced, its file gets an `error` record that names the cause, and the batch goes on.
Workers are started with the spawn method: a forked child of a process that already runs onnxruntime or
mediapipe threads can deadlock. A worker is also replaced after `max_files_per_worker` files, so a slow leak in
a library cannot grow a long batch's memory.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from pathlib import Path

from mimica.corpus.work import Job, Record, ScanSettings, error_record, scan_identity, scan_one
from mimica.errors import BatchError, MimicaError

#: seconds between the parent's checks of timeouts, memory and dead workers
POLL_S = 0.2
#: a worker that dies this many times in a row before it is ready means something is broken for every file
MAX_START_FAILURES = 3

OnResult = Callable[[Record], None]


@dataclass
class _Worker:
    proc: BaseProcess
    conn: Connection
    spawned: float
    ready: bool = False
    job: Job | None = None
    job_started: float = 0.0
    files: int = 0


class LocalEngine:
    """Scans jobs in `workers` processes on this machine.

    timeout_per_file: seconds one file may take before its worker is killed (0: no limit).
    memory_cap_mb: resident memory a worker may reach (models included, about 300 MB) before it is killed
    (0: no cap; read from /proc, so Linux only).
    start_timeout: seconds a worker may take to load its models.
    """

    name = "local"

    def __init__(self, workers: int | None = None, timeout_per_file: float = 600.0, memory_cap_mb: int = 4096,
                 max_files_per_worker: int = 500, start_timeout: float = 300.0) -> None:
        self.workers = max(1, workers or (os.cpu_count() or 1))
        self.timeout = timeout_per_file
        self.memory_cap = memory_cap_mb << 20
        self.max_files = max(1, max_files_per_worker)
        self.start_timeout = start_timeout
        self.replaced = 0  # workers replaced after a crash, a timeout or the memory cap
        self._identity: dict = {}

    def run(self, jobs: Iterable[Job], settings: ScanSettings, on_result: OnResult) -> None:
        """Scans every job; `on_result` is called in this process, once per job, in completion order."""
        pending = deque(jobs)
        if not pending:
            return
        self._identity = settings.identity
        ctx = mp.get_context("spawn")
        pool: list[_Worker] = []
        failures = 0
        try:
            pool = [self._spawn(ctx, settings) for _ in range(min(self.workers, len(pending)))]
            while pending or any(w.job is not None for w in pool):
                for w in pool:
                    if w.ready and w.job is None and pending:
                        w.job, w.job_started = pending.popleft(), time.monotonic()
                        w.conn.send(w.job)
                wait([w.conn for w in pool] + [w.proc.sentinel for w in pool], timeout=POLL_S)
                keep = []
                for w in pool:
                    was_ready = w.ready
                    replace, failed_start = self._check(w, on_result)
                    if failed_start:
                        failures += 1
                        if failures >= MAX_START_FAILURES:
                            raise BatchError(f"{MAX_START_FAILURES} batch workers died while loading the models; "
                                             "run `mimica scan` on one file to see why")
                    elif w.ready and not was_ready:
                        failures = 0
                    if not replace:
                        keep.append(w)
                        continue
                    _stop(w)
                    if pending:
                        keep.append(self._spawn(ctx, settings))
                pool = keep
        finally:
            for w in pool:  # idle workers are asked to leave, busy ones (an interrupted batch) are killed
                _stop(w, graceful=w.job is None)

    def _spawn(self, ctx: mp.context.SpawnContext, settings: ScanSettings) -> _Worker:
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_worker_main, args=(child, settings, os.getpid()), daemon=True,
                           name="mimica-batch-worker")
        proc.start()
        child.close()
        return _Worker(proc=proc, conn=parent, spawned=time.monotonic())

    def _check(self, w: _Worker, on_result: OnResult) -> tuple[bool, bool]:
        """Handles what happened to one worker; returns (replace it, it died before it was ready)."""
        if w.conn.poll():
            try:
                kind, payload = w.conn.recv()
            except (EOFError, OSError):
                return self._died(w, on_result)
            if kind == "ready":
                w.ready = True
            elif kind == "fatal":
                raise BatchError(str(payload))
            elif kind == "done":
                job, w.job = w.job, None
                w.files += 1
                if job is not None:
                    on_result(payload)
                return w.files >= self.max_files, False
            return False, False
        if not w.proc.is_alive():
            return self._died(w, on_result)
        now = time.monotonic()
        if w.job is None:
            if not w.ready and now - w.spawned > self.start_timeout:
                raise BatchError(f"a batch worker took more than {self.start_timeout:.0f} s to load the models")
            return False, False
        if self.timeout and now - w.job_started > self.timeout:
            _kill(w)
            self._fail(w, on_result, f"{w.job.path}: took longer than the per-file timeout of {self.timeout:g} s; "
                                     "its worker was stopped (raise --timeout-per-file for very long videos)")
            return True, False
        if self.memory_cap:
            rss = _rss(w.proc.pid) if w.proc.pid is not None else None
            if rss is not None and rss > self.memory_cap:
                _kill(w)
                self._fail(w, on_result, f"{w.job.path}: its worker used more than the memory cap of "
                                         f"{self.memory_cap >> 20} MB ({rss >> 20} MB) and was stopped")
                return True, False
        return False, False

    def _died(self, w: _Worker, on_result: OnResult) -> tuple[bool, bool]:
        w.proc.join(timeout=5)
        if w.job is None:
            return True, not w.ready
        code = w.proc.exitcode
        how = f"killed by {_signal_name(-code)}" if code is not None and code < 0 else f"exit code {code}"
        self._fail(w, on_result, f"{w.job.path}: the worker process crashed while scanning it ({how}); the file "
                                 "likely trips a bug in a decoder")
        return True, False

    def _fail(self, w: _Worker, on_result: OnResult, message: str) -> None:
        job, w.job = w.job, None
        self.replaced += 1
        if job is not None:
            on_result(error_record(job, message, self._identity, "transient"))


def _worker_main(conn: Connection, settings: ScanSettings, parent_pid: int) -> None:
    """A worker: load the models once, then scan the jobs the parent sends until it sends None or goes away."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle; it stops the workers
    threading.Thread(target=_exit_with_parent, args=(parent_pid,), daemon=True).start()
    try:
        from mimica.media.open import deterministic_decoding

        deterministic_decoding()
        scanner = settings.scanner()
        if scan_identity(settings, scanner) != settings.identity:
            conn.send(("fatal", "a batch worker loaded another model than the batch asked for (model files changed "
                                "while it started?); rerun"))
            return
    except MimicaError as err:
        conn.send(("fatal", str(err)))
        return
    except Exception as err:  # the parent reports it as one line
        conn.send(("fatal", f"the batch workers cannot load the models: {type(err).__name__}: {err}"))
        return
    conn.send(("ready", None))
    while True:
        try:
            job = conn.recv()
        except (EOFError, OSError):
            return
        if job is None:
            return
        conn.send(("done", scan_one(scanner, job, settings.identity)))


def _exit_with_parent(parent_pid: int) -> None:
    """A worker whose parent was killed (kill -9) exits instead of scanning on for nobody."""
    while os.getppid() == parent_pid:
        time.sleep(1.0)
    os._exit(0)


def _stop(w: _Worker, graceful: bool = True) -> None:
    if w.proc.is_alive() and graceful:
        with contextlib.suppress(OSError, ValueError):
            w.conn.send(None)
        w.proc.join(timeout=5)
    if w.proc.is_alive():
        _kill(w)
    with contextlib.suppress(OSError):
        w.conn.close()


def _kill(w: _Worker) -> None:
    with contextlib.suppress(OSError, ValueError):
        w.proc.kill()
    w.proc.join(timeout=10)


def _rss(pid: int) -> int | None:
    """Resident bytes of a process, from /proc (None where there is no /proc)."""
    try:
        pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


def _signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"
