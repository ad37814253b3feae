"""Load on `mimica serve`: N concurrent clients each upload short videos and wait for their verdicts.

    python benchmarks/serve_load.py [--clients 5] [--uploads 2] [--clip 5] [--workers 1] [--frames 32]
    python benchmarks/serve_load.py --url http://host:8000 --token mimica_... [--clients 5]

Without --url it starts `mimica serve` itself on a free port with a temporary data dir and token. The videos
are the first --videos FF++ clips of ../shared/data cut to --clip seconds (stream copy, into a temp folder,
never kept), or, without the research data, a synthesised clip of scikit-image's astronaut.

Prints, per run: uploads, errors, wall time, throughput (scans per minute), and the latency of each upload
from the start of its POST to its verdict (p50, p95), the POST alone (p50, p95) and the queue wait.
"""

from __future__ import annotations

import argparse
import csv
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx

from mimica.models.registry import DEFAULT_MODEL

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


@dataclass
class Outcome:
    ok: bool
    error: str = ""
    post_s: float = 0.0
    total_s: float = 0.0
    queue_s: float = 0.0
    scan_s: float = 0.0
    verdict: str = ""


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    v = sorted(values)
    k = (len(v) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def shared_clips(n: int, seconds: float, folder: Path) -> list[Path]:
    import imageio_ffmpeg

    with (SHARED / "manifest.csv").open() as f:
        rows = [r for r in csv.DictReader(f) if r["compression"] == "c23"][:n]
    out = []
    for r in rows:
        dst = folder / f"{Path(r['path']).stem}.mp4"
        subprocess.run(
            [
                imageio_ffmpeg.get_ffmpeg_exe(),
                "-v",
                "error",
                "-y",
                "-i",
                str(SHARED / r["path"]),
                "-t",
                str(seconds),
                "-c",
                "copy",
                str(dst),
            ],
            check=True,
        )
        out.append(dst)
    return out


def astronaut_clip(seconds: float, folder: Path) -> list[Path]:
    from fractions import Fraction

    import av
    import numpy as np
    from skimage import data

    base = data.astronaut()
    path = folder / "astronaut.mp4"
    with av.open(str(path), "w") as c:
        vs = c.add_stream("libx264", rate=25)
        vs.width = vs.height = 512
        vs.pix_fmt = "yuv420p"
        for i in range(int(seconds * 25)):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(np.roll(base, i, axis=1)), format="rgb24")
            frame.pts, frame.time_base = i, Fraction(1, 25)
            for p in vs.encode(frame):
                c.mux(p)
        for p in vs.encode():
            c.mux(p)
    return [path]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(data_dir: Path, args: argparse.Namespace) -> tuple[subprocess.Popen, str, str]:
    sys.path.insert(0, str(ROOT / "src"))
    from mimica.web.store import Store

    _, token = Store(data_dir).create_token("serve_load")
    port = free_port()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT / "src"), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "mimica",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--model",
            args.model,
            "--workers",
            str(args.workers),
            "--frames",
            str(args.frames),
            "--log-level",
            "warning",
            "--max-queue",
            str(max(100, args.clients * args.uploads)),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"mimica serve exited: {proc.stderr.read().decode()[-2000:] if proc.stderr else ''}")
        try:
            if httpx.get(url + "/healthz", timeout=1).status_code == 200:
                return proc, url, token
        except httpx.HTTPError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("mimica serve did not start in 120 s")


def one_upload(client: httpx.Client, video: Path, timeout: float) -> Outcome:
    t0 = time.perf_counter()
    try:
        with video.open("rb") as f:
            r = client.post("/api/scans", files={"file": (video.name, f, "video/mp4")})
        post = time.perf_counter() - t0
        if r.status_code != 202:
            return Outcome(False, f"POST {r.status_code}: {r.text[:120]}", post)
        scan_id = r.json()["id"]
        while time.perf_counter() - t0 < timeout:
            body = client.get(f"/api/scans/{scan_id}").json()
            if body["status"] in ("done", "failed"):
                total = time.perf_counter() - t0
                if body["status"] == "failed":
                    return Outcome(False, f"failed: {body['error']}", post, total)
                scan = body["result"]["timings_s"].get("total", 0.0)
                from datetime import datetime

                def ts(s: str) -> float:
                    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()

                queue = ts(body["started_at"]) - ts(body["created_at"])
                return Outcome(True, "", post, total, queue, scan, body["verdict"])
            time.sleep(0.2)
        return Outcome(False, "timed out", post, time.perf_counter() - t0)
    except httpx.HTTPError as e:
        return Outcome(False, f"{type(e).__name__}: {e}", time.perf_counter() - t0)


def run(url: str, token: str, videos: list[Path], clients: int, uploads: int, timeout: float) -> None:
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def client_loop(k: int) -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as c:
            for i in range(uploads):
                o = one_upload(c, videos[(k * uploads + i) % len(videos)], timeout)
                with lock:
                    outcomes.append(o)

    t = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client_loop, range(clients)))
    wall = time.perf_counter() - t
    ok = [o for o in outcomes if o.ok]
    errors = [o for o in outcomes if not o.ok]
    print(
        f"uploads {len(outcomes)}  done {len(ok)}  errors {len(errors)}  wall {wall:.1f} s  "
        f"throughput {60 * len(ok) / wall:.1f} scans/min"
    )
    for name, vals in (
        ("upload->verdict", [o.total_s for o in ok]),
        ("POST", [o.post_s for o in outcomes]),
        ("queue wait", [o.queue_s for o in ok]),
        ("scan (server)", [o.scan_s for o in ok]),
    ):
        print(
            f"  {name:16s} p50 {percentile(vals, 0.5):6.2f} s  p95 {percentile(vals, 0.95):6.2f} s  "
            f"max {max(vals, default=float('nan')):6.2f} s"
        )
    verdicts = statistics.multimode([o.verdict for o in ok]) if ok else []
    print(f"  verdicts: {', '.join(sorted({o.verdict for o in ok}))} (most common: {', '.join(verdicts)})")
    for o in errors[:5]:
        print(f"  error: {o.error}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--url", help="an already running server (with --token); default: start one")
    ap.add_argument("--token", default="")
    ap.add_argument("--clients", type=int, default=5)
    ap.add_argument("--uploads", type=int, default=2, help="uploads per client, one after the other")
    ap.add_argument("--videos", type=int, default=5, help="distinct clips from ../shared/data")
    ap.add_argument("--clip", type=float, default=5.0, help="seconds of each clip")
    ap.add_argument("--workers", type=int, default=1, help="scan workers of the started server")
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds an upload may take to its verdict")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        if (SHARED / "manifest.csv").is_file():
            videos = shared_clips(args.videos, args.clip, folder)
        else:
            videos = astronaut_clip(args.clip, folder)
        size = statistics.mean(v.stat().st_size for v in videos) / 1e6
        print(
            f"{len(videos)} clip(s) of {args.clip:g} s, {size:.1f} MB on average; {args.clients} clients x "
            f"{args.uploads} uploads; server: {args.url or f'started here, {args.workers} worker(s)'}, "
            f"{args.frames} frames; {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
        )
        proc = None
        if args.url:
            url, token = args.url, args.token
        else:
            proc, url, token = start_server(folder / "data", args)
        try:
            run(url, token, videos, args.clients, args.uploads, args.timeout)
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(30)


if __name__ == "__main__":
    main()
