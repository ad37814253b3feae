"""The Ray engine on a real local Ray cluster (`ray start --head` on 127.0.0.1 with two CPUs and token auth,
started here and stopped after): the same records as the local engine on the same inputs, reports written by the
driver, a segfaulting actor replaced and its file recorded, resume through the driver, the Ray Client
(`ray://`), --workers clamped to the cluster's CPUs, RAY_ADDRESS named in errors, and a second node killed in the
middle of a batch (only its in-flight files are sent again). Skips only when Ray is not installed (extra
`cluster`)."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests import mediagen

import mimica
from mimica.corpus.ray_engine import LOOPBACK_ENV
from mimica.corpus.work import CRASH_HOOK

pytestmark = [pytest.mark.slow, pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                                                  reason="Ray is not installed (pip install 'mimica[cluster]')")]
FRAMES = 4


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


RAY = str(Path(sys.executable).parent / "ray")
#: seconds the head gives each Ray Client's server to start (30 by default: too short on a loaded machine)
CLIENT_TIMEOUT_ENV = "RAY_CLIENT_SERVER_CHECK_CHANNEL_TIMEOUT_S"
CLIENT_PORT: list[int] = []  # the Ray Client server's port of the module's cluster
TEMP: list[str] = []


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    """The address of a fresh one-node cluster; its processes are in their own session, killed at the end."""
    port = free_port()
    CLIENT_PORT[:] = [free_port()]
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths must fit in 107 bytes
    env = {LOOPBACK_ENV: "0", "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": uuid.uuid4().hex}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)  # the driver (this process) needs the same token and loopback setting
        for attempt in range(2):  # Ray gives its raylet 30 s to register: an overloaded machine may need a retry
            start = subprocess.run(
                [RAY, "start", "--head", "--node-ip-address", "127.0.0.1", "--port", str(port), "--num-cpus", "2",
                 "--ray-client-server-port", str(CLIENT_PORT[0]), "--include-dashboard", "false",
                 "--disable-usage-stats", "--temp-dir", temp],
                env={**os.environ, CRASH_HOOK: "crash_me", CLIENT_TIMEOUT_ENV: "180"}, capture_output=True,
                text=True, timeout=180,
                start_new_session=True,
            )
            pgid = _session_of(temp)
            if start.returncode == 0 or attempt == 1:
                break
            if pgid is not None:
                _stop_group(pgid)
        if start.returncode != 0 and pgid is not None:
            _stop_group(pgid)
        assert start.returncode == 0, start.stderr[-2000:]
        TEMP[:] = [temp]
        try:
            yield f"127.0.0.1:{port}"
        finally:
            if "ray" in sys.modules and sys.modules["ray"].is_initialized():
                sys.modules["ray"].shutdown()
            if pgid is not None:
                _stop_group(pgid)
            shutil.rmtree(temp, ignore_errors=True)


def _stop_group(pgid: int, first: signal.Signals = signal.SIGTERM) -> None:
    for sig in (first, signal.SIGKILL):
        try:
            os.killpg(pgid, sig)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + 4
        while time.monotonic() < deadline:
            try:
                os.killpg(pgid, 0)
            except ProcessLookupError:
                return
            time.sleep(0.1)


def _session_of(temp: str) -> int | None:
    """The process group of the cluster's processes (the one `ray start` made with start_new_session)."""
    for cmd in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if temp.encode() in cmd.read_bytes():
                return os.getpgid(int(cmd.parent.name))
        except (OSError, ProcessLookupError):
            continue
    return None


def records(out: Path) -> dict[str, dict]:
    return {r["path"]: r for r in map(json.loads, (out / "results.jsonl").read_text().splitlines())}


def test_ray_gives_the_local_engines_results(ray_cluster: str, small_corpus: Path, tmp_path: Path) -> None:
    crash = tmp_path / "crash"
    crash.mkdir()
    mediagen.write_image(crash / "crash_me.png", size=(96, 64))
    local = mimica.batch([small_corpus], tmp_path / "local", workers=2, frames=FRAMES)
    on_ray = mimica.batch([small_corpus, crash], tmp_path / "ray", engine="ray", address=ray_cluster, frames=FRAMES,
                          report=True)
    assert on_ray.engine == "ray" and on_ray.workers == 2 and on_ray.files == local.files + 1
    a, b = records(tmp_path / "local"), records(tmp_path / "ray")
    for r in b.values():  # the actors sent their reports' HTML back; the driver wrote them
        assert "_report_html" not in r and (tmp_path / "ray" / r["report"]).is_file(), r["path"]
    crashed = b.pop(str(crash / "crash_me.png"))
    assert crashed["verdict"] == "error" and "crashed" in crashed["error"], crashed
    assert on_ray.workers_replaced == 1
    assert a.keys() == b.keys()
    for path, x in a.items():
        y = b[path]
        assert (y["verdict"], y["error"], y["sha256"], y["size"]) == (x["verdict"], x["error"], x["sha256"], x["size"])
        assert len(y["tracks"]) == len(x["tracks"])
        if x["probability"] is not None:
            assert y["probability"] == pytest.approx(x["probability"], abs=1e-5)
    again = mimica.batch([small_corpus, crash], tmp_path / "ray", engine="ray", address=ray_cluster, frames=FRAMES,
                         report=True)
    assert (again.scanned, again.resumed) == (0, on_ray.files)


def test_a_wrong_address_fails_fast(ray_cluster: str, small_corpus: Path, tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    t = time.monotonic()
    with pytest.raises(mimica.MimicaError, match="nothing answers at the Ray address"):
        mimica.batch([small_corpus / "face.png"], tmp_path / "out", engine="ray", address=f"127.0.0.1:{closed}")
    assert time.monotonic() - t < 30


@pytest.fixture(autouse=True)
def _no_ray_left_connected() -> Iterator[None]:
    """A failed or finished connection (client mode included) must not leak into the next test's ray.init."""
    yield
    if "ray" in sys.modules:
        ray = sys.modules["ray"]
        with contextlib.suppress(Exception):
            from ray.util.client import ray as client

            if client.is_connected():
                client.disconnect()
        with contextlib.suppress(Exception):
            ray.shutdown()


def test_ray_client_address_and_workers_clamped(ray_cluster: str, small_corpus: Path, tmp_path: Path) -> None:
    notes: list[str] = []
    try:
        s = mimica.batch([small_corpus / "face.png", small_corpus / "clip0.mp4"], tmp_path / "out", engine="ray",
                         address=f"ray://127.0.0.1:{CLIENT_PORT[0]}", workers=8, frames=FRAMES, note=notes.append)
    except mimica.MimicaError as err:
        if "Starting Ray client server failed" in str(err):  # Ray's own start-up limit on a starved machine
            pytest.skip(f"Ray could not start its client server here: {err}")
        raise
    assert s.workers == 2 and s.scanned == 2 and "error" not in s.counts
    assert any("--workers 8 is more than the cluster's 2 CPU(s): using 2" in n for n in notes), notes


def test_ray_address_from_the_environment(small_corpus: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_ADDRESS", f"127.0.0.1:{free_port()}")
    with pytest.raises(mimica.MimicaError, match="from RAY_ADDRESS; unset it for a private local instance"):
        mimica.batch([small_corpus / "face.png"], tmp_path / "out", engine="ray")


def test_a_lost_node_costs_only_its_in_flight_files(ray_cluster: str, tmp_path: Path) -> None:
    """A cluster of two nodes on this machine (its own: the module's is a one-node cluster on loopback, which
    `ray start` will not join), the second with one CPU, killed (kill -9 of all its processes) once the first
    record is in: the batch goes on with the head's actors, the lost node's file is scanned there, and no file
    is an error. The module fixture's token auth applies to both nodes and to the driver."""
    src = tmp_path / "in"
    src.mkdir()
    for i in range(8):
        mediagen.write_video(src / f"clip{i}.mp4", size=(320, 240), frames=40)
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")
    port = free_port()
    env = {**os.environ, LOOPBACK_ENV: "1"}  # a cluster that nodes may join
    groups: list[int] = []
    try:
        for args in (["--head", "--port", str(port), "--num-cpus", "2", "--include-dashboard", "false",
                      "--temp-dir", temp], ["--address", f"127.0.0.1:{port}", "--num-cpus", "1"]):
            before = _raylet_groups(temp)
            start = subprocess.run([RAY, "start", "--node-ip-address", "127.0.0.1", "--disable-usage-stats", *args],
                                   env=env, capture_output=True, text=True, timeout=240, start_new_session=True)
            groups += sorted(_raylet_groups(temp) - before)
            assert start.returncode == 0 and len(groups) == (1 if "--head" in args else 2), start.stderr[-2000:]
        second = groups[1]  # the joined node's processes: their own session, as on another machine
        killed: list[int] = []

        def kill_second_node(ev: mimica.corpus.BatchProgress) -> None:
            if ev.path and not ev.resumed and not killed:
                killed.append(second)
                _stop_group(second, signal.SIGKILL)

        s = mimica.batch([src], tmp_path / "out", engine="ray", address=f"127.0.0.1:{port}", frames=8,
                         start_timeout=30, progress=kill_second_node)
    finally:
        if "ray" in sys.modules and sys.modules["ray"].is_initialized():
            sys.modules["ray"].shutdown()
        for g in reversed(groups):
            _stop_group(g, signal.SIGKILL)
        shutil.rmtree(temp, ignore_errors=True)
    assert killed and s.workers == 3
    assert s.counts == {"no-face": 8}, s.errors  # no file lost, none an error
    # the kill can land while the second node's actor is between files: then nothing was in flight to resend;
    # when something was, it was resent and its actor replaced
    assert s.run.requeued == 0 or s.workers_replaced >= 1
    assert len(records(tmp_path / "out")) == 8


def _raylet_groups(temp: str) -> set[int]:
    """Process groups of the raylets of this cluster (one per node)."""
    found = set()
    for cmd in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmd.read_bytes().split(b"\0")
            if b"raylet" in argv[0] and any(temp.encode() in a for a in argv):
                found.add(os.getpgid(int(cmd.parent.name)))
        except (OSError, ProcessLookupError):
            continue
    return found
