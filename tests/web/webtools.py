"""Helpers for the web tests: credentials, polling, and `mimica serve` in a child process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def wait_done(client, scan_id: str, token: str, timeout: float = 120.0) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = client.get(f"/api/scans/{scan_id}", headers=auth(token)).json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.2)
    raise AssertionError(f"scan {scan_id} did not finish in {timeout} s: {body}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mimica(*args: str, **kw) -> subprocess.CompletedProcess:  # type: ignore[no-untyped-def]
    """Runs the `mimica` command of this checkout."""
    return subprocess.run([sys.executable, "-m", "mimica", *args], capture_output=True, text=True, cwd=ROOT,
                          env=_env(), **kw)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT), env.get("PYTHONPATH", "")])
    return env


class Server:
    """`mimica serve` in a child process on a free port."""

    def __init__(self, data_dir: Path, model: Path, *extra: str) -> None:
        self.data_dir, self.model, self.extra = data_dir, model, extra
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.log = data_dir.parent / f"serve-{self.port}.log"

    def start(self, timeout: float = 90.0) -> Server:
        import httpx

        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = self.log.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mimica", "serve", "--port", str(self.port), "--data-dir", str(self.data_dir),
             "--model", str(self.model), "--log-level", "warning", *self.extra],
            cwd=ROOT, env=_env(), stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"mimica serve exited {self.proc.returncode}: {self.log.read_text()[-2000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise AssertionError(f"mimica serve did not come up: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL: the crash case (no shutdown hook runs)."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


def new_token(data_dir: Path) -> str:
    res = mimica("tokens", "create", "--data-dir", str(data_dir), "--name", "test")
    assert res.returncode == 0, res.stderr
    return res.stdout.strip().splitlines()[-1]
