"""The SQLite storage on its own: background checkpoints keep the WAL bounded, and one
server per database file."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from server_stub.storage import StorageError, sqlite
from server_stub.storage.sqlite import SqliteStorage
from tests.app.helpers import until


async def test_the_wal_is_checkpointed_in_the_background_and_stays_bounded(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite, "CHECKPOINT_EVERY", 100)
    db = tmp_path / "s.db"
    storage = SqliteStorage(db)
    await storage.open()
    sizes = []
    try:
        for n in range(10):
            await asyncio.gather(*(
                storage.append_chat_message("r", "u", f"{n}-{i}", "x" * 300, "ts")
                for i in range(100)))
            await until(lambda n=n: storage.checkpoints >= n + 1, what="a checkpoint")
            sizes.append((tmp_path / "s.db-wal").stat().st_size)
    finally:
        await storage.close()
    # a checkpointed WAL is reused from its start: it does not grow with every write
    assert sizes[-1] <= 2 * sizes[1], sizes
    reopened = SqliteStorage(db)
    await reopened.open()
    try:
        page = await reopened.chat_history("r", 0, 500)
        assert page.last_offset == 1000
    finally:
        await reopened.close()


async def test_one_server_per_database_file(tmp_path: Path) -> None:
    db = tmp_path / "s.db"
    lock = tmp_path / "s.db.lock"
    first = SqliteStorage(db)
    await first.open()
    assert lock.exists()
    second = SqliteStorage(db)
    with pytest.raises(StorageError, match="locked by another process"):
        await second.open()
    await first.close()
    assert not lock.exists()  # a clean stop leaves the folder as it found it
    third = SqliteStorage(db)
    await third.open()
    await third.close()


async def test_the_wal_starts_over_under_steady_writes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No pause for a checkpoint to catch up (the B8 soak): the WAL must still be
    rewound, not grow with every write for as long as the load lasts."""
    monkeypatch.setattr(sqlite, "CHECKPOINT_EVERY", 100)
    monkeypatch.setattr(sqlite, "WAL_RESET_FRAMES", 200)
    monkeypatch.setattr(sqlite, "WAL_SIZE_LIMIT", 0)
    db = tmp_path / "s.db"
    wal = tmp_path / "s.db-wal"
    storage = SqliteStorage(db)
    await storage.open()
    sizes = []
    try:
        for n in range(40):  # each round waits only for its own acks, never for a checkpoint
            await asyncio.gather(*(
                storage.append_chat_message("r", "u", f"{n}-{i}", "x" * 2000, "ts")
                for i in range(50)))
            sizes.append(wal.stat().st_size)
    finally:
        await storage.close()
    # 2,000 messages of 2 KB wrote well over 4 MB of WAL frames; rewound, the file never
    # holds more than a few hundred pages
    assert storage.wal_rewinds >= 1
    assert max(sizes[20:]) < 3 * 1024 * 1024, sizes


async def test_a_failing_operation_sinks_only_itself_in_its_batch(tmp_path: Path) -> None:
    """A batch runs without savepoints until an op fails; then the whole batch runs
    again with one per op: the failing op's own writes are undone, the others' kept."""
    storage = SqliteStorage(tmp_path / "s.db")
    await storage.open()

    def insert(name: str, fail: bool = False) -> Callable[[sqlite3.Connection], str]:
        def op(conn: sqlite3.Connection) -> str:
            conn.execute("INSERT INTO chat_users (name, last_seen) VALUES (?, 'ts')", (name,))
            if fail:
                raise ValueError("broken op")
            return name
        return op

    try:
        # submitted in one go, so that the writer takes them as one batch
        futures = [storage._submit(insert("before")), storage._submit(insert("bad", True)),
                   storage._submit(insert("after"))]
        batches = storage.batches
        results = await asyncio.gather(*futures, return_exceptions=True)
        assert storage.batches == batches + 1
        assert results[0] == "before" and results[2] == "after"
        assert isinstance(results[1], StorageError) and "broken op" in str(results[1])
        assert set(await storage.chat_users()) == {"before", "after"}
    finally:
        await storage.close()
