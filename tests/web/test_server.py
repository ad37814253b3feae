"""`mimica serve` and `mimica tokens` as a user runs them: a real server process on a free port."""

from __future__ import annotations

import sqlite3
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from tests.report.helpers import astronaut_png, astronaut_video
from tests.web.webtools import mimica, new_token


def test_no_auth_is_refused_off_localhost(tmp_path):
    res = mimica("serve", "--no-auth", "--host", "0.0.0.0", "--data-dir", str(tmp_path))
    assert res.returncode == 2
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and "--no-auth is only allowed on localhost" in lines[0]


def test_serve_with_an_unknown_model_fails_in_one_line(tmp_path):
    res = mimica("serve", "--model", "no-such-model", "--data-dir", str(tmp_path))
    assert res.returncode == 1
    assert res.stderr.strip().splitlines() == [res.stderr.strip()] and "unknown model" in res.stderr


def test_tokens_create_list_revoke(tmp_path):
    res = mimica("tokens", "create", "--data-dir", str(tmp_path), "--name", "laptop")
    assert res.returncode == 0, res.stderr
    token = res.stdout.strip().splitlines()[-1]
    assert token.startswith("mimica_") and " " not in token
    listed = mimica("tokens", "list", "--data-dir", str(tmp_path))
    assert "laptop" in listed.stdout and "active" in listed.stdout and token not in listed.stdout
    assert mimica("tokens", "revoke", "1", "--data-dir", str(tmp_path)).returncode == 0
    assert "revoked" in mimica("tokens", "list", "--data-dir", str(tmp_path)).stdout
    again = mimica("tokens", "revoke", "1", "--data-dir", str(tmp_path))
    assert again.returncode == 1 and "no active token 1" in again.stderr


def _upload(url: str, token: str, name: str, data: bytes) -> tuple[str, float]:
    t = time.perf_counter()
    r = httpx.post(f"{url}/api/scans", files={"file": (name, data)},
                   headers={"Authorization": f"Bearer {token}"}, timeout=60)
    assert r.status_code == 202, r.text
    return r.json()["id"], t


def _wait(url: str, token: str, scan_id: str, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = httpx.get(f"{url}/api/scans/{scan_id}", headers={"Authorization": f"Bearer {token}"} if token else {},
                         timeout=30).json()
        if body["status"] in ("done", "failed"):
            return body
        time.sleep(0.25)
    raise AssertionError(f"{scan_id} not finished after {timeout} s")


def test_five_concurrent_uploads(server_factory, tmp_path):
    server = server_factory("--frames", "8")
    token = new_token(server.data_dir)
    server.start()
    clips = [astronaut_video(tmp_path / f"c{i}.mp4", seconds=1.0 + 0.2 * i, fps=10, size=256).read_bytes()
             for i in range(5)]
    with ThreadPoolExecutor(5) as pool:
        ids = [f.result()[0] for f in [pool.submit(_upload, server.url, token, f"clip{i}.mp4", c)
                                       for i, c in enumerate(clips)]]
    assert len(set(ids)) == 5
    bodies = [_wait(server.url, token, i) for i in ids]
    assert [b["status"] for b in bodies] == ["done"] * 5, [b.get("error") for b in bodies]
    assert sorted(b["result"]["path"] for b in bodies) == [f"clip{i}.mp4" for i in range(5)]
    listing = httpx.get(f"{server.url}/api/scans", params={"q": "clip"},
                        headers={"Authorization": f"Bearer {token}"}).json()
    assert listing["total"] == 5


@pytest.mark.parametrize("how", ["kill", "terminate"])
def test_restart_during_a_job(server_factory, tmp_path, how):
    """kill -9 (a crash) or SIGTERM (a clean stop) while a scan runs: after the next start the job is finished
    (re-queued) or failed with its reason, never left `running` or lost."""
    server = server_factory()
    token = new_token(server.data_dir)
    server.start()
    clip = astronaut_video(tmp_path / "long.mp4", seconds=10.0, fps=25, size=320).read_bytes()
    scan_id, _ = _upload(server.url, token, "long.mp4", clip)
    deadline = time.monotonic() + 60
    while True:
        status = httpx.get(f"{server.url}/api/scans/{scan_id}", headers={"Authorization": f"Bearer {token}"}).json()
        if status["status"] == "running" and status["progress"]["done"] > 0:
            break
        assert status["status"] == "queued" or status["status"] == "running", status
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.02)
    server.kill() if how == "kill" else server.stop()
    with sqlite3.connect(server.data_dir / "mimica.db") as con:
        left = con.execute("SELECT status FROM jobs WHERE id = ?", (scan_id,)).fetchone()[0]
    # a scan that raced to its end before the signal is "done"; otherwise it was caught mid-scan
    assert left in ("running" if how == "kill" else "queued", "done")
    server.start()
    body = _wait(server.url, token, scan_id)
    if body["status"] == "done":
        assert "re-queued" in body["note"] and body["result"]["path"] == "long.mp4"
    else:
        assert "interrupted" in body["error"]


def test_image_upload_through_the_server(server_factory, tmp_path):
    server = server_factory("--no-auth")
    server.start()
    r = httpx.post(f"{server.url}/api/scans", files={"file": ("a.png", astronaut_png(tmp_path / "a.png").read_bytes())})
    assert r.status_code == 202
    body = _wait(server.url, "", r.json()["id"])
    assert body["status"] == "done"
    report = httpx.get(f"{server.url}/api/scans/{body['id']}/report")
    assert report.status_code == 200 and f'data-verdict="{body["verdict"]}"' in report.text
