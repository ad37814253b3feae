"""Jobs, results and API tokens in one SQLite file under the data dir (stdlib sqlite3, no web framework).

WAL mode lets the page handlers read while a worker writes. The schema evolves through `MIGRATIONS`: entry i
takes the database from version i to i + 1, and `PRAGMA user_version` records how far a file has come, so an
old data dir is upgraded in place and a newer one is refused rather than misread.

    >>> import tempfile, pathlib
    >>> store = Store(pathlib.Path(tempfile.mkdtemp()))
    >>> token_id, token = store.create_token("ci")
    >>> store.verify_token(token) == token_id, store.verify_token("nope")
    (True, None)
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mimica.atomic import write_atomic
from mimica.errors import MimicaError

DB_NAME = "mimica.db"
STATUSES = ("queued", "running", "done", "failed")
#: tokens look like mimica_<43 url-safe characters>; the prefix makes a leaked one easy to grep for
TOKEN_PREFIX = "mimica_"

MIGRATIONS: tuple[str, ...] = (
    # 1: jobs and tokens
    """
    CREATE TABLE jobs (
        id TEXT PRIMARY KEY,
        filename TEXT NOT NULL,
        media_path TEXT,
        kind TEXT,
        size_bytes INTEGER NOT NULL DEFAULT 0,
        status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
        stage TEXT NOT NULL DEFAULT '',
        done INTEGER NOT NULL DEFAULT 0,
        total INTEGER NOT NULL DEFAULT 0,
        verdict TEXT,
        probability REAL,
        result TEXT,
        report_path TEXT,
        error TEXT,
        attempts INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT
    );
    CREATE INDEX jobs_created ON jobs (created_at);
    CREATE INDEX jobs_status ON jobs (status);
    CREATE TABLE tokens (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        prefix TEXT NOT NULL,
        created_at TEXT NOT NULL,
        last_used_at TEXT,
        revoked_at TEXT
    );
    """,
    # 2: a note on a job's history (why it was re-queued), shown on its page
    """
    ALTER TABLE jobs ADD COLUMN note TEXT NOT NULL DEFAULT '';
    """,
)


class StoreError(MimicaError):
    """The data dir's database cannot be used."""


@dataclass(frozen=True)
class Job:
    id: str
    filename: str
    media_path: str | None
    kind: str | None
    size_bytes: int
    status: str
    stage: str
    done: int
    total: int
    verdict: str | None
    probability: float | None
    result: str | None
    report_path: str | None
    error: str | None
    attempts: int
    created_at: str
    started_at: str | None
    finished_at: str | None
    note: str = ""

    def result_dict(self) -> dict[str, Any] | None:
        return json.loads(self.result) if self.result else None

    @property
    def verdict_words(self) -> str:
        """The verdict as the results page and the report say it ("leans fake" for a weak model), for lists."""
        return str((self.result_dict() or {}).get("verdict_text") or self.verdict or "")


@dataclass(frozen=True)
class TokenInfo:
    id: int
    name: str
    prefix: str
    created_at: str
    last_used_at: str | None
    revoked_at: str | None


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Store:
    """The data dir's database. Every call opens its own short-lived connection, so one Store is shared by the
    request handlers and the worker threads."""

    def __init__(self, data_dir: str | Path) -> None:
        self.data_dir = Path(data_dir)
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        except OSError as err:
            raise StoreError(f"{self.data_dir}: cannot create the data dir ({err.strerror}); "
                             "pass a writable --data-dir") from err
        self.path = self.data_dir / DB_NAME
        self.migrate()

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        try:
            con = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        except sqlite3.Error as err:
            raise StoreError(f"{self.path}: cannot open the database ({err}); check the data dir") from err
        con.row_factory = sqlite3.Row
        try:
            con.execute("PRAGMA busy_timeout = 30000")
            con.execute("PRAGMA synchronous = NORMAL")
            yield con
        finally:
            con.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        with self.connect() as con:
            con.execute("BEGIN IMMEDIATE")
            try:
                yield con
            except BaseException:
                con.execute("ROLLBACK")
                raise
            con.execute("COMMIT")

    # --- schema ----------------------------------------------------------------------------------------------

    def version(self) -> int:
        with self.connect() as con:
            return int(con.execute("PRAGMA user_version").fetchone()[0])

    def migrate(self) -> int:
        """Brings the database to the newest schema; returns the version it was at."""
        try:
            with self.connect() as con:
                con.execute("PRAGMA journal_mode = WAL")
                con.execute("BEGIN IMMEDIATE")
                try:
                    start = int(con.execute("PRAGMA user_version").fetchone()[0])
                    if start > len(MIGRATIONS):
                        raise StoreError(
                            f"{self.path}: schema version {start} is newer than this mimica knows "
                            f"({len(MIGRATIONS)}); upgrade mimica or use another --data-dir")
                    for version in range(start, len(MIGRATIONS)):
                        for statement in MIGRATIONS[version].split(";"):
                            if statement.strip():
                                con.execute(statement)
                        con.execute(f"PRAGMA user_version = {version + 1}")
                except BaseException:
                    con.execute("ROLLBACK")
                    raise
                con.execute("COMMIT")
        except sqlite3.DatabaseError as err:
            raise StoreError(f"{self.path}: not a usable mimica database ({err}); move it away or use "
                             "another --data-dir") from err
        return start

    # --- jobs ------------------------------------------------------------------------------------------------

    def create_job(self, job_id: str, filename: str, media_path: str, kind: str, size_bytes: int) -> Job:
        with self.connect() as con:
            con.execute(
                "INSERT INTO jobs (id, filename, media_path, kind, size_bytes, status, stage, created_at) "
                "VALUES (?, ?, ?, ?, ?, 'queued', 'queued', ?)",
                (job_id, filename, media_path, kind, size_bytes, now()),
            )
        job = self.get(job_id)
        assert job is not None
        return job

    def get(self, job_id: str) -> Job | None:
        with self.connect() as con:
            row = con.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return Job(**dict(row)) if row else None

    def search(self, q: str = "", verdict: str | None = None, status: str | None = None,
               limit: int = 50, offset: int = 0) -> tuple[list[Job], int]:
        """Newest first; `q` matches anywhere in the file name, case-insensitively."""
        where, args = [], []
        if q:
            escaped = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            where.append("filename LIKE ? ESCAPE '\\'")
            args.append(f"%{escaped}%")
        if verdict:
            where.append("verdict = ?")
            args.append(verdict)
        if status:
            where.append("status = ?")
            args.append(status)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        with self.connect() as con:
            total = con.execute(f"SELECT COUNT(*) FROM jobs {clause}", args).fetchone()[0]
            rows = con.execute(f"SELECT * FROM jobs {clause} ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
                               [*args, limit, offset]).fetchall()
        return [Job(**dict(r)) for r in rows], int(total)

    def count(self, status: str) -> int:
        with self.connect() as con:
            return int(con.execute("SELECT COUNT(*) FROM jobs WHERE status = ?", (status,)).fetchone()[0])

    def queued_ids(self) -> list[str]:
        with self.connect() as con:
            rows = con.execute("SELECT id FROM jobs WHERE status = 'queued' ORDER BY created_at, id").fetchall()
        return [r[0] for r in rows]

    def media_paths(self) -> set[str]:
        with self.connect() as con:
            return {r[0] for r in con.execute("SELECT media_path FROM jobs WHERE media_path IS NOT NULL")}

    def claim(self, job_id: str) -> Job | None:
        """queued -> running, counting the attempt; None when the job is gone or already taken."""
        with self.connect() as con:
            row = con.execute(
                "UPDATE jobs SET status = 'running', stage = 'starting', done = 0, total = 0, "
                "attempts = attempts + 1, started_at = ?, error = NULL WHERE id = ? AND status = 'queued' "
                "RETURNING *", (now(), job_id)).fetchone()
        return Job(**dict(row)) if row else None

    def progress(self, job_id: str, stage: str, done: int, total: int) -> None:
        with self.connect() as con:
            con.execute("UPDATE jobs SET stage = ?, done = ?, total = ? WHERE id = ? AND status = 'running'",
                        (stage, done, total, job_id))

    def finish(self, job_id: str, result: str, verdict: str, probability: float | None,
               report_path: str | None, error: str | None = None) -> bool:
        with self.connect() as con:
            cur = con.execute(
                "UPDATE jobs SET status = 'done', stage = 'done', done = total, result = ?, verdict = ?, "
                "probability = ?, report_path = ?, error = ?, finished_at = ? WHERE id = ? AND status = 'running'",
                (result, verdict, probability, report_path, error, now(), job_id))
            return cur.rowcount == 1

    def fail(self, job_id: str, error: str) -> bool:
        with self.connect() as con:
            cur = con.execute(
                "UPDATE jobs SET status = 'failed', stage = 'failed', error = ?, finished_at = ? "
                "WHERE id = ? AND status IN ('queued', 'running')", (error, now(), job_id))
            return cur.rowcount == 1

    def requeue(self, job_id: str, note: str, count_attempt: bool = False) -> bool:
        """running -> queued; a clean shutdown does not count as a failed attempt."""
        with self.connect() as con:
            cur = con.execute(
                "UPDATE jobs SET status = 'queued', stage = 'queued', done = 0, total = 0, note = ?, "
                f"attempts = attempts - {0 if count_attempt else 1} WHERE id = ? AND status = 'running'",
                (note, job_id))
            return cur.rowcount == 1

    def forget_media(self, job_id: str) -> None:
        with self.connect() as con:
            con.execute("UPDATE jobs SET media_path = NULL WHERE id = ?", (job_id,))

    def delete(self, job_id: str) -> Job | None:
        with self.connect() as con:
            row = con.execute("DELETE FROM jobs WHERE id = ? RETURNING *", (job_id,)).fetchone()
        return Job(**dict(row)) if row else None

    def recover(self, max_attempts: int) -> tuple[list[str], list[str]]:
        """After a restart: jobs left `running` were cut off. Each goes back to the queue, or fails with the
        reason once it has been cut off `max_attempts` times (the file itself may be what kills the server).
        Returns (re-queued ids, failed ids)."""
        requeued, failed = [], []
        with self.transaction() as con:
            for row in con.execute("SELECT id, attempts FROM jobs WHERE status = 'running'").fetchall():
                if row["attempts"] >= max_attempts:
                    con.execute(
                        "UPDATE jobs SET status = 'failed', stage = 'failed', finished_at = ?, error = ? "
                        "WHERE id = ?",
                        (now(), f"interrupted {row['attempts']} time(s) by a server restart or crash while "
                                "scanning; not retried (the file may be what crashes the scanner)", row["id"]))
                    failed.append(row["id"])
                else:
                    con.execute(
                        "UPDATE jobs SET status = 'queued', stage = 'queued', done = 0, total = 0, note = ? "
                        "WHERE id = ?",
                        (f"re-queued at {now()}: the server stopped while scanning it", row["id"]))
                    requeued.append(row["id"])
        return requeued, failed

    # --- tokens ----------------------------------------------------------------------------------------------

    def create_token(self, name: str = "") -> tuple[int, str]:
        """A new API token: (its id, the token). Only its sha256 is stored; the token is shown once."""
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self.connect() as con:
            cur = con.execute("INSERT INTO tokens (name, hash, prefix, created_at) VALUES (?, ?, ?, ?)",
                              (name, hash_token(token), token[: len(TOKEN_PREFIX) + 4], now()))
        assert cur.lastrowid is not None
        return int(cur.lastrowid), token

    def verify_token(self, token: str) -> int | None:
        """The id of the active token, or None. Looked up by hash: a timing difference reveals nothing about
        the token itself."""
        with self.connect() as con:
            row = con.execute("SELECT id FROM tokens WHERE hash = ? AND revoked_at IS NULL",
                              (hash_token(token),)).fetchone()
            if row is None:
                return None
            con.execute("UPDATE tokens SET last_used_at = ? WHERE id = ?", (now(), row[0]))
        return int(row[0])

    def token_active(self, token_id: int, check: str | None = None) -> bool:
        """Whether token `token_id` is still active; `check`, the start of its hash (`session_check`), guards
        against a session outliving its database (a new token with a recycled id)."""
        with self.connect() as con:
            row = con.execute("SELECT hash FROM tokens WHERE id = ? AND revoked_at IS NULL", (token_id,)).fetchone()
        return row is not None and (check is None or row[0][:16] == check)

    def session_check(self, token_id: int) -> str:
        with self.connect() as con:
            row = con.execute("SELECT hash FROM tokens WHERE id = ?", (token_id,)).fetchone()
        return row[0][:16] if row else ""

    def list_tokens(self) -> list[TokenInfo]:
        with self.connect() as con:
            rows = con.execute("SELECT id, name, prefix, created_at, last_used_at, revoked_at FROM tokens "
                               "ORDER BY id").fetchall()
        return [TokenInfo(**dict(r)) for r in rows]

    def revoke_token(self, token_id: int) -> bool:
        with self.connect() as con:
            cur = con.execute("UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                              (now(), token_id))
            return cur.rowcount == 1

    def active_tokens(self) -> int:
        with self.connect() as con:
            return int(con.execute("SELECT COUNT(*) FROM tokens WHERE revoked_at IS NULL").fetchone()[0])

    # --- the session signing key -----------------------------------------------------------------------------

    def session_secret(self) -> str:
        """The key that signs browser sessions, kept in the data dir (mode 600) so sessions survive a restart.
        Deleting the file signs everyone out."""
        p = self.data_dir / "session.key"
        try:
            if not p.is_file():
                write_atomic(p, secrets.token_hex(32), mode=0o600)
            return p.read_text().strip()
        except OSError as err:
            raise StoreError(f"{p}: cannot read or create the session key ({err.strerror})") from err
