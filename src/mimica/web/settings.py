"""What one `mimica serve` is configured with (no web framework imported here)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mimica.models import DEFAULT_MODEL

MB = 1 << 20
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def default_data_dir() -> Path:
    """$MIMICA_DATA_DIR, else the platform's per-user data folder."""
    env = os.environ.get("MIMICA_DATA_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "mimica" / "web"


@dataclass
class Settings:
    """data_dir: the database, uploads and reports. workers: scans at once (each loads its own model and uses
    `threads` cores; one per two cores). max_*: uploads above these are refused (413). max_queue: jobs waiting
    before uploads are refused (503). auth: require a token or a signed-in session. keep_uploads: keep the
    media after its scan (the report holds thumbnails either way). max_attempts: times a job may be cut off
    by a restart before it is failed instead of re-queued."""

    data_dir: Path
    model: str = DEFAULT_MODEL
    frames: int = 32
    workers: int = 1
    threads: int = 2
    max_upload_bytes: int = 500 * MB
    max_duration_s: float = 3600.0
    max_pixels: int = 50_000_000
    max_queue: int = 100
    auth: bool = True
    keep_uploads: bool = False
    max_attempts: int = 2
    secure_cookies: bool = False
    session_max_age_s: int = 7 * 24 * 3600

    def __post_init__(self) -> None:
        self.data_dir = Path(self.data_dir)

    @property
    def uploads(self) -> Path:
        return self.data_dir / "uploads"

    @property
    def reports(self) -> Path:
        return self.data_dir / "reports"
