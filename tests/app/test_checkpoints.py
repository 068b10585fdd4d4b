"""The store's WAL is copied into the database by a thread of its own, never inside one
of the loop's commits, and it still starts over under steady load (app.checkpoints)."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from app import checkpoints
from app.paths import db_path
from app.store import MessageStore
from tests.app.helpers import msg, until


def checkpoint_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "sockdesk-checkpoint"]


async def test_commits_never_checkpoint_the_thread_does(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoints, "INTERVAL_S", 0.02)
    store = MessageStore.open(tmp_path)
    path = db_path(tmp_path)
    assert store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    size = path.stat().st_size
    for i in range(3000):  # some MB of WAL, with its FTS index
        store.add(msg("flood", f"tick {i} " + "x" * 200))
    store.flush()
    # the pages reach the database file, copied by the checkpoint thread alone
    await until(lambda: path.stat().st_size > size + 500_000, what="a background copy")
    assert store._checkpoints is not None and store._checkpoints.checkpoints >= 1
    store.close()
    assert not checkpoint_threads()
    again = MessageStore.open(tmp_path)
    assert again.count("flood") == 3000  # nothing lost
    again.close()


async def test_the_thread_asks_for_a_catch_up_when_the_wal_grows_long(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoints, "INTERVAL_S", 0.02)
    monkeypatch.setattr(checkpoints, "REWIND_FRAMES", 50)
    store = MessageStore.open(tmp_path)
    for i in range(2000):
        store.add(msg("flood", f"{i} " + "y" * 300))
    store.flush()
    ckpt = store._checkpoints
    assert ckpt is not None
    await until(lambda: ckpt.rewind_due, what="the thread to ask for a catch-up")
    store.close()


async def test_a_long_wal_is_caught_up_by_the_writer_and_starts_over(tmp_path, monkeypatch):
    """Under steady load the background copy never finishes first, and SQLite starts
    the WAL over only when a write finds every frame copied. Asked to (here the thread
    is kept idle, and the flag stands in for its finding), the writer copies the rest
    between two commits, and what is written next goes to the WAL's first frames again
    (the file stays as long as it was); without that the file only grows."""
    monkeypatch.setattr(checkpoints, "INTERVAL_S", 3600)
    store = MessageStore.open(tmp_path)
    wal = db_path(tmp_path).with_name(db_path(tmp_path).name + "-wal")

    def flood(tag: str) -> None:
        for i in range(2000):
            store.add(msg("flood", f"{tag} {i} " + "y" * 300))
        store.flush()

    flood("a")
    long_wal = wal.stat().st_size
    ckpt = store._checkpoints
    assert ckpt is not None
    ckpt._rewind = True
    store.add(msg("flood", "one more"))
    store.flush()      # commits, then catches up the WAL
    assert not ckpt.rewind_due
    flood("b")         # from the WAL's start again
    assert wal.stat().st_size < long_wal * 1.2
    store.close()
    again = MessageStore.open(tmp_path)
    assert again.count("flood") == 4001  # nothing lost
    again.close()


async def test_an_in_memory_store_keeps_sqlites_own_checkpoints():
    conn = sqlite3.connect(":memory:", isolation_level=None)
    store = MessageStore(conn)
    assert store._checkpoints is None
    store.add(msg("flood", "one"))
    assert len(store.flush()) == 1
    store.close()


def test_a_session_that_cannot_open_leaves_no_thread_behind(tmp_path, monkeypatch):
    """The store is set up first; when what comes after it fails (here the outbox), the
    store's checkpoint thread is stopped with it, not left looking at the file."""
    from app import base_session
    from app.config import ConnectionConfig
    from app.db import StorageError

    def broken(*_a: object, **_k: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(base_session, "Outbox", broken)
    before = len(checkpoint_threads())
    with pytest.raises(StorageError, match="disk"):
        base_session.BaseSession(ConnectionConfig(url="http://127.0.0.1:9"), tmp_path)
    assert len(checkpoint_threads()) == before
