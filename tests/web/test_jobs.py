"""Scans through the app in process: upload -> worker -> result and report; restarts and deletion."""

from __future__ import annotations

import shutil
import time

from tests.report.helpers import astronaut_png, astronaut_video
from tests.web.webtools import auth, wait_done

from mimica.scan.result import ScanResult
from mimica.web.store import Store


def _client(make_client, scan_model, **kw):  # type: ignore[no-untyped-def]
    return make_client(**{"model": str(scan_model), "workers": 1, "frames": 8, **kw})


def test_image_scan_end_to_end(make_client, scan_model, tmp_path):
    client, token = _client(make_client, scan_model)
    img = astronaut_png(tmp_path / "astronaut.png")
    r = client.post("/api/scans", files={"file": ("astronaut.png", img.read_bytes())}, headers=auth(token))
    assert r.status_code == 202
    body = wait_done(client, r.json()["id"], token)
    assert body["status"] == "done", body
    result = ScanResult.model_validate(body["result"])  # the scan --json object, as the contract says
    assert result.path == "astronaut.png" and result.verdict == body["verdict"]
    assert result.tracks and result.media.kind == "image"
    assert body["progress"]["stage"] == "done" and body["report_url"].endswith("/report")
    report = client.get(body["report_url"], headers=auth(token))
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/html")
    assert f'data-verdict="{result.verdict}"' in report.text
    assert "default-src 'none'" in report.headers["content-security-policy"]
    download = client.get(body["report_url"], params={"download": 1}, headers=auth(token))
    assert 'filename="astronaut-mimica-report.html"' in download.headers["content-disposition"]
    page = client.get(f"/scans/{body['id']}", headers=auth(token)).text
    assert f'data-verdict="{result.verdict}"' in page and '<iframe class="report"' in page
    # the media is not kept after its scan (by default); the report is
    data_dir = client.app.state.settings.data_dir
    assert not any((data_dir / "uploads").iterdir())
    assert (data_dir / "reports" / f"{body['id']}.html").is_file()


def test_video_scan_reports_frames_and_progress(make_client, scan_model, tmp_path):
    client, token = _client(make_client, scan_model, keep_uploads=True)
    video = astronaut_video(tmp_path / "clip.mp4", seconds=2.0, fps=10, size=256)
    r = client.post("/api/scans", files={"file": ("clip.mp4", video.read_bytes())}, headers=auth(token))
    body = wait_done(client, r.json()["id"], token)
    assert body["status"] == "done", body
    assert body["result"]["frames"]["sampled"] == 8 and body["result"]["media"]["codec"] == "h264"
    assert body["progress"]["done"] == body["progress"]["total"]
    assert (client.app.state.settings.data_dir / "uploads" / f"{body['id']}.mp4").is_file()  # --keep-uploads


def _crashed_job(data_dir, tmp_path, attempts: int) -> str:
    """The state a kill -9 leaves behind: a job `running` with its media on disk."""
    store = Store(data_dir)
    (data_dir / "uploads").mkdir(parents=True, exist_ok=True)
    shutil.copy(astronaut_png(tmp_path / "a.png"), data_dir / "uploads" / ("c" * 32 + ".png"))
    store.create_job("c" * 32, "crashed.png", f"uploads/{'c' * 32}.png", "image", 1)
    for k in range(attempts):
        store.claim("c" * 32)
        if k < attempts - 1:
            store.requeue("c" * 32, "", count_attempt=True)
    assert store.get("c" * 32).status == "running"
    return "c" * 32


def test_a_job_cut_off_by_a_restart_is_resumed(make_client, scan_model, tmp_path):
    job_id = _crashed_job(tmp_path / "data", tmp_path, attempts=1)
    client, token = _client(make_client, scan_model)
    body = wait_done(client, job_id, token)
    assert body["status"] == "done" and "re-queued" in body["note"]
    assert body["result"]["path"] == "crashed.png"


def test_a_job_cut_off_twice_fails_with_its_reason(make_client, scan_model, tmp_path):
    job_id = _crashed_job(tmp_path / "data", tmp_path, attempts=2)
    client, token = _client(make_client, scan_model)
    body = client.get(f"/api/scans/{job_id}", headers=auth(token)).json()
    assert body["status"] == "failed" and "interrupted 2 time(s)" in body["error"]
    assert not any((tmp_path / "data" / "uploads").iterdir())


def test_a_job_whose_media_vanished_fails_with_its_reason(make_client, scan_model, tmp_path):
    job_id = _crashed_job(tmp_path / "data", tmp_path, attempts=1)
    for p in (tmp_path / "data" / "uploads").iterdir():
        p.unlink()
    client, token = _client(make_client, scan_model)
    body = wait_done(client, job_id, token)
    assert body["status"] == "failed" and "gone from the data dir" in body["error"]


def test_stopping_the_app_puts_the_running_job_back(make_client, scan_model, tmp_path):
    """A clean shutdown mid-scan (SIGTERM to `mimica serve`) re-queues the job without counting an attempt."""
    client, token = _client(make_client, scan_model, frames=32)
    video = astronaut_video(tmp_path / "long.mp4", seconds=8.0, fps=25, size=320)
    job_id = client.post("/api/scans", files={"file": ("long.mp4", video.read_bytes())},
                         headers=auth(token)).json()["id"]
    deadline = time.monotonic() + 60
    while client.get(f"/api/scans/{job_id}", headers=auth(token)).json()["status"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    runner = client.app.state.runner
    runner.stop()
    job = client.app.state.store.get(job_id)
    if job.status == "queued":  # stopped mid-scan
        assert job.attempts == 0 and "stopped" in job.note
        assert (tmp_path / "data" / "uploads" / f"{job_id}.mp4").is_file()
    else:  # it finished in the meantime: nothing to resume
        assert job.status == "done"


def test_deleting_a_running_job_stops_it(make_client, scan_model, tmp_path):
    client, token = _client(make_client, scan_model, frames=32)
    video = astronaut_video(tmp_path / "long.mp4", seconds=8.0, fps=25, size=320)
    job_id = client.post("/api/scans", files={"file": ("long.mp4", video.read_bytes())},
                         headers=auth(token)).json()["id"]
    while client.get(f"/api/scans/{job_id}", headers=auth(token)).json()["status"] == "queued":
        time.sleep(0.02)
    assert client.delete(f"/api/scans/{job_id}", headers=auth(token)).status_code == 204
    assert client.get(f"/api/scans/{job_id}", headers=auth(token)).status_code == 404
    data_dir = tmp_path / "data"
    deadline = time.monotonic() + 30  # the worker notices at its next frame and cleans up

    def leftovers():  # type: ignore[no-untyped-def]
        return [*(data_dir / "uploads").glob(f"{job_id}.*"), *(data_dir / "reports").glob(f"{job_id}.*")]

    while leftovers() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not leftovers()


def test_leftover_uploads_are_swept_at_start(make_client, tmp_path):
    uploads = tmp_path / "data" / "uploads"
    uploads.mkdir(parents=True)
    (uploads / ("d" * 32 + ".part")).write_bytes(b"half an upload")
    (uploads / ("e" * 32 + ".mp4")).write_bytes(b"no job refers to me")
    make_client()
    assert not any(uploads.iterdir())
