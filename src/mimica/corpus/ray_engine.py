"""The Ray engine (extra `cluster`): the same batch over a Ray cluster, one actor per CPU, each holding a Scanner.

The driver (the `mimica batch` process) keeps the one results writer, so resume and crash safety are those of
the local engine: actors return records, the driver appends them. Isolation follows the local engine too: an
actor that dies (a segfault in a decoder, Ray's out-of-memory killer) or runs past the per-file timeout is
killed and replaced, and its file gets an `error` record with the cause. Inputs must be visible to every node
at the same path (shared storage). Without an address a private local Ray instance is started on 127.0.0.1
(loopback only: Ray's own switch for a machine that is not part of a cluster).
"""

from __future__ import annotations

import dataclasses
import os
import socket
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from mimica.corpus.work import Job, Record, ScanSettings, deliver_report, error_record, scan_identity, scan_one
from mimica.errors import BatchError

#: seconds between the driver's checks of timeouts and dead actors
POLL_S = 0.2
MAX_START_FAILURES = 3
#: Ray's switch for "this machine is not part of a cluster": every Ray process binds to 127.0.0.1
LOOPBACK_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
#: Ray's own default cluster address, used when --address is not given
ADDRESS_ENV = "RAY_ADDRESS"


class ScanActor:
    """One Ray actor: the models loaded once, then one file per call."""

    def __init__(self, settings: ScanSettings) -> None:
        from mimica.media.open import deterministic_decoding

        deterministic_decoding()  # the same bytes, the same frames, on every node (mimica.media.open)
        self.scanner = settings.scanner()
        self.identity = settings.identity
        here = scan_identity(settings, self.scanner)
        if here != settings.identity:
            raise BatchError(f"the node {socket.gethostname()} loads another model or mimica than the driver "
                             f"({here['detectors']} against {settings.identity.get('detectors')}): install the "
                             "same mimica on every node")

    def ready(self) -> str:
        """The node this actor runs on: a file lost with its node is sent again, not recorded as an error."""
        import ray

        return str(ray.get_runtime_context().get_node_id())

    def scan(self, job: Job) -> Record:
        return scan_one(self.scanner, job, self.identity)


@dataclass
class _Slot:
    actor: Any
    ready_ref: Any
    spawned: float
    ready: bool = False
    node: str = ""
    job: Job | None = None
    ref: Any = None
    started: float = 0.0


#: times a file is sent again after the node scanning it was lost, before it is recorded as an error
MAX_REQUEUES = 2


class RayEngine:
    """Scans jobs as calls on Ray actors. address: `auto`, `HOST:6379` or `ray://HOST:10001` (None: start a
    local instance on 127.0.0.1 with `workers` CPUs); workers: actors (default: the cluster's CPUs)."""

    name = "ray"

    def __init__(self, workers: int | None = None, address: str | None = None, timeout_per_file: float = 600.0,
                 start_timeout: float = 600.0) -> None:
        self.workers = workers or 0
        self.asked = workers
        #: RAY_ADDRESS is Ray's own default address; named here so that errors and hints say which one was used
        self.from_env = address is None and bool(os.environ.get(ADDRESS_ENV))
        self.address = address or os.environ.get(ADDRESS_ENV) or None
        self.timeout = timeout_per_file
        self.start_timeout = start_timeout
        self.replaced = 0
        self.requeued = 0  # files sent again after their node was lost
        self.note: Callable[[str], None] | None = None

    def run(self, jobs: Iterable[Job], settings: ScanSettings, on_result: Callable[[Record], None]) -> None:
        # reports travel back with their records: the driver writes them into its results folder
        pending = deque(dataclasses.replace(j, report_inline=True) if j.report else j for j in jobs)
        if not pending:
            return
        self._identity = settings.identity
        ray = _import_ray(local=self.address is None)
        started_here = not ray.is_initialized()
        if started_here:
            self._init(ray)
        try:
            cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
            n = min(self.asked or cpus, cpus)
            if self.asked and self.asked > cpus and self.note:
                self.note(f"--workers {self.asked} is more than the cluster's {cpus} CPU(s): using {cpus} Ray actors")
            self.workers = n
            actor_cls = ray.remote(num_cpus=1, max_restarts=0)(ScanActor)
            one_thread = dataclasses.replace(settings, threads=1)  # one CPU per actor

            def spawn() -> _Slot:
                actor = actor_cls.remote(one_thread)
                return _Slot(actor=actor, ready_ref=actor.ready.remote(), spawned=time.monotonic())

            by_path = {j.path: j for j in pending}

            def emit(record: Record) -> None:
                on_result(deliver_report(record, by_path[record["path"]]))

            self._loop(ray, pending, spawn, [spawn() for _ in range(min(n, len(pending)))], emit)
        finally:
            if started_here:
                ray.shutdown()

    def _init(self, ray: Any) -> None:
        kwargs: dict[str, Any] = {"log_to_driver": False, "logging_level": "ERROR", "include_dashboard": False}
        if self.address is None:
            kwargs["num_cpus"] = self.workers or os.cpu_count() or 1
        else:
            _probe(self.address, self.from_env)
            kwargs["address"] = self.address
            kwargs.pop("include_dashboard")
            if self.address.startswith("ray://"):  # the Ray Client takes the server's init arguments only
                kwargs.pop("log_to_driver")
        try:
            ray.init(**kwargs)
        except Exception as err:  # ConnectionError, RuntimeError, ValueError...: one line with the fix
            if self.address is None:
                raise BatchError(f"cannot start a local Ray instance: {_cause(err)}; on a busy machine Ray's "
                                 "processes may not start in time: retry, or use --engine local") from err
            where = f"{self.address} (from {ADDRESS_ENV})" if self.from_env else self.address
            raise BatchError(f"cannot connect to the Ray cluster at {where}: {_cause(err)}; is `ray start` "
                             "running there, and are the address and auth token (RAY_AUTH_MODE=token, "
                             "RAY_AUTH_TOKEN) right?") from err

    def _loop(self, ray: Any, pending: deque[Job], spawn: Callable[[], _Slot], slots: list[_Slot],
              on_result: Callable[[Record], None]) -> None:
        """Feeds the actors one file each until every job has a record. A file whose actor died is recorded as an
        error, unless the actor's node died with it: then only its in-flight file is sent again (at most
        MAX_REQUEUES times) and the batch goes on with the actors left. An actor that cannot start within
        start_timeout (no free CPU left after a node was lost) is dropped; the batch fails only when none is
        ready by then."""
        from ray.exceptions import GetTimeoutError, RayError

        failures = 0
        requeues: dict[str, int] = {}
        identity = self._identity
        try:
            while pending or any(s.job is not None for s in slots):
                if not slots:
                    slots = [spawn()]
                for s in slots:
                    if s.ready and s.job is None and pending:
                        s.job, s.started = pending.popleft(), time.monotonic()
                        s.ref = s.actor.scan.remote(s.job)
                refs = [s.ref for s in slots if s.job is not None] + [s.ready_ref for s in slots if not s.ready]
                done: set[Any] = set()
                if refs:
                    ray.wait(refs, num_returns=1, timeout=POLL_S)
                    done = set(ray.wait(refs, num_returns=len(refs), timeout=0)[0])
                keep = []
                now = time.monotonic()
                for s in slots:
                    replace = False
                    if not s.ready:
                        if s.ready_ref in done:
                            try:
                                s.node = ray.get(s.ready_ref)
                                s.ready = True
                                failures = 0
                            except RayError as err:
                                failures += 1
                                if failures >= MAX_START_FAILURES:
                                    raise BatchError(f"Ray actors cannot load the models: {_cause(err)}") from err
                                replace = True
                        elif now - s.spawned > self.start_timeout:
                            if not any(x.ready for x in slots):
                                raise BatchError(f"no Ray actor was ready after {self.start_timeout:.0f} s; does "
                                                 "the cluster have free CPUs and mimica installed on every node? "
                                                 "(--start-timeout)")
                            ray.kill(s.actor, no_restart=True)  # no room for it: go on with the ready ones
                            continue
                    elif s.job is not None and s.ref in done:
                        job, s.job = s.job, None
                        try:
                            on_result(ray.get(s.ref, timeout=60))
                        except (RayError, GetTimeoutError) as err:
                            self.replaced += 1
                            replace = True
                            lost = _lost_with_node(ray, s.node, err)
                            if lost and requeues.get(job.path, 0) < MAX_REQUEUES:
                                requeues[job.path] = requeues.get(job.path, 0) + 1
                                self.requeued += 1
                                pending.appendleft(job)  # its node was lost, not the file's fault: again
                            elif lost:
                                on_result(error_record(job, f"{job.path}: the Ray node scanning it was lost "
                                                            f"{MAX_REQUEUES + 1} times ({_cause(err)})", identity,
                                                       "transient"))
                            else:
                                on_result(error_record(job, f"{job.path}: the Ray worker scanning it crashed "
                                                            f"({_cause(err)}); the file likely trips a decoder bug",
                                                       identity, "transient"))
                    elif s.job is not None and self.timeout and now - s.started > self.timeout:
                        job, s.job = s.job, None
                        self.replaced += 1
                        on_result(error_record(job, f"{job.path}: took longer than the per-file timeout of "
                                                    f"{self.timeout:g} s; its Ray actor was stopped", identity,
                                               "transient"))
                        replace = True
                    if replace:
                        ray.kill(s.actor, no_restart=True)
                        if pending:
                            keep.append(spawn())
                    else:
                        keep.append(s)
                slots = keep
        finally:
            for s in slots:
                ray.kill(s.actor, no_restart=True)


def _lost_with_node(ray: Any, node: str, err: BaseException) -> bool:
    """Whether an actor died because its node did (then its file is not at fault): Ray says so in the error
    when it knows, else the cluster no longer counts the node alive (checked for a moment: a node that just
    went may take Ray a few seconds to mark). ActorUnavailableError: the actor's process could not be reached
    (its node's raylet gone), not reported dead by its raylet as a crash is: lost with the node."""
    from ray.exceptions import ActorUnavailableError

    if isinstance(err, ActorUnavailableError) or "node has died" in str(err) or "node died" in str(err).lower():
        return True
    if not node:
        return False
    for _ in range(4):
        try:
            info = next((n for n in ray.nodes() if n.get("NodeID") == node), None)
        except Exception:  # noqa: BLE001 - the GCS unreachable for a moment: the node's fate is unknown
            return False
        if info is None or not info.get("Alive", False):
            return True
        time.sleep(0.5)
    return False


def _probe(address: str, from_env: bool = False, timeout: float = 5.0) -> None:
    """Fails fast when nothing listens at a HOST:PORT address: Ray itself retries for minutes."""
    if address == "auto" or "://" in address or ":" not in address:
        return
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except (OSError, ValueError) as err:
        where = f"{address} (from {ADDRESS_ENV}; unset it for a private local instance)" if from_env else address
        raise BatchError(f"nothing answers at the Ray address {where} ({err}); start the head node with "
                         "`ray start --head` or check --address") from err


def _import_ray(local: bool) -> Any:
    if local and "ray" not in sys.modules:
        os.environ.setdefault(LOOPBACK_ENV, "0")  # read when ray is imported
    try:
        import ray
    except ImportError as err:
        raise BatchError("the ray engine needs Ray: pip install 'mimica[cluster]'") from err
    return ray


def _cause(err: BaseException) -> str:
    """The first line of a Ray error, which otherwise carries a whole remote traceback, and its last line when
    that is where the reason is (`Initialization failure from server:` ... `RuntimeError: ...`)."""
    text = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
    head = text[0] if text else type(err).__name__
    if len(text) > 1 and head.endswith(":"):
        head = f"{head} {text[-1]}"
    return f"{type(err).__name__}: {head}"[:300]
