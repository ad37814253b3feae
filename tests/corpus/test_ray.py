"""The Ray engine on a real local Ray cluster (`ray start --head` on 127.0.0.1 with two CPUs, started here and
stopped after): the same records as the local engine on the same inputs, reports written by the driver, a
segfaulting actor replaced and its file recorded, and resume through the driver. Skips only when Ray is not
installed (extra `cluster`)."""

from __future__ import annotations

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


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[str]:
    """The address of a fresh one-node cluster; its processes are in their own session, killed at the end."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    temp = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths must fit in 107 bytes
    env = {LOOPBACK_ENV: "0", "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": uuid.uuid4().hex}
    with pytest.MonkeyPatch.context() as mp:
        for k, v in env.items():
            mp.setenv(k, v)  # the driver (this process) needs the same token and loopback setting
        for attempt in range(2):  # Ray gives its raylet 30 s to register: an overloaded machine may need a retry
            start = subprocess.run(
                [str(Path(sys.executable).parent / "ray"), "start", "--head", "--node-ip-address", "127.0.0.1",
                 "--port", str(port), "--num-cpus", "2", "--include-dashboard", "false", "--disable-usage-stats",
                 "--temp-dir", temp],
                env={**os.environ, CRASH_HOOK: "crash_me"}, capture_output=True, text=True, timeout=180,
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
        try:
            yield f"127.0.0.1:{port}"
        finally:
            if "ray" in sys.modules and sys.modules["ray"].is_initialized():
                sys.modules["ray"].shutdown()
            if pgid is not None:
                _stop_group(pgid)
            shutil.rmtree(temp, ignore_errors=True)


def _stop_group(pgid: int) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
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
