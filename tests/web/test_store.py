from __future__ import annotations

import sqlite3

import pytest

from mimica.web.store import MIGRATIONS, TOKEN_PREFIX, Store, StoreError, hash_token


def test_new_store_is_at_the_newest_schema_in_wal_mode(tmp_path):
    store = Store(tmp_path)
    assert store.version() == len(MIGRATIONS)
    with store.connect() as con:
        assert con.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert Store(tmp_path).migrate() == len(MIGRATIONS)  # reopening applies nothing twice


def test_an_old_database_is_upgraded_in_place(tmp_path):
    """A data dir made by the first release (schema 1) keeps its jobs and gains the new column."""
    con = sqlite3.connect(tmp_path / "mimica.db")
    con.executescript(MIGRATIONS[0])
    con.execute("INSERT INTO jobs (id, filename, status, created_at) VALUES ('a' , 'old.mp4', 'done', 'x')")
    con.execute("PRAGMA user_version = 1")
    con.commit()
    con.close()
    store = Store(tmp_path)
    assert store.version() == len(MIGRATIONS)
    job = store.get("a")
    assert job is not None and job.filename == "old.mp4" and job.note == ""


def test_a_newer_database_is_refused(tmp_path):
    con = sqlite3.connect(tmp_path / "mimica.db")
    con.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    con.close()
    with pytest.raises(StoreError, match="newer than this mimica knows"):
        Store(tmp_path)


def test_a_file_that_is_not_a_database_is_refused(tmp_path):
    (tmp_path / "mimica.db").write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a usable mimica database"):
        Store(tmp_path)


def test_tokens_are_stored_hashed_and_can_be_revoked(tmp_path):
    store = Store(tmp_path)
    token_id, token = store.create_token("ci")
    assert token.startswith(TOKEN_PREFIX) and len(token) > 40
    raw = (tmp_path / "mimica.db").read_bytes()
    assert token.encode() not in raw
    with store.connect() as con:
        assert con.execute("SELECT hash FROM tokens").fetchone()[0] == hash_token(token)
    assert store.verify_token(token) == token_id
    assert store.list_tokens()[0].last_used_at is not None
    assert store.revoke_token(token_id) and not store.revoke_token(token_id)
    assert store.verify_token(token) is None and not store.token_active(token_id)
    assert store.active_tokens() == 0


def _job(store: Store, job_id: str, attempts: int) -> None:
    store.create_job(job_id, f"{job_id}.mp4", f"uploads/{job_id}.mp4", "video", 10)
    for _ in range(attempts):
        assert store.claim(job_id) is not None
        if _ < attempts - 1:
            store.requeue(job_id, "test", count_attempt=True)


def test_recover_requeues_or_fails_with_the_reason(tmp_path):
    store = Store(tmp_path)
    _job(store, "once", 1)
    _job(store, "twice", 2)
    _job(store, "waiting", 0)
    requeued, failed = store.recover(max_attempts=2)
    assert requeued == ["once"] and failed == ["twice"]
    once, twice = store.get("once"), store.get("twice")
    assert once.status == "queued" and "re-queued" in once.note
    assert twice.status == "failed" and "interrupted 2 time(s)" in twice.error and twice.finished_at
    assert store.get("waiting").status == "queued"
    assert store.queued_ids() == ["once", "waiting"]


def test_claim_is_exclusive_and_finish_needs_a_running_job(tmp_path):
    store = Store(tmp_path)
    store.create_job("j", "j.png", "uploads/j.png", "image", 1)
    assert store.claim("j") is not None and store.claim("j") is None
    assert store.finish("j", "{}", "real", 0.1, None)
    assert not store.finish("j", "{}", "real", 0.1, None)
    assert not store.fail("j", "late")
    assert store.get("j").status == "done"


def test_clean_shutdown_does_not_count_as_an_attempt(tmp_path):
    store = Store(tmp_path)
    store.create_job("j", "j.png", "uploads/j.png", "image", 1)
    store.claim("j")
    store.requeue("j", "stopped")
    assert store.get("j").attempts == 0 and store.get("j").status == "queued"
