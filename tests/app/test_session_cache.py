"""A live session's SQLite page cache is small (issue 18, B8): it fills as the store grows
(~0.6 KB a received message), so at 32 MB the app's RSS climbed for ~50 minutes."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import db as dbmod
from app.config import ConnectionConfig
from app.session import Session
from app.store import MessageStore

pytestmark = pytest.mark.timeout(60)


async def test_a_session_store_keeps_a_small_page_cache_and_the_inspector_a_big_one(
        tmp_path: Path) -> None:
    s = Session(ConnectionConfig(url="http://127.0.0.1:9", user="watcher"), tmp_path / "a")
    try:
        kib = -s.store.conn.execute("PRAGMA cache_size").fetchone()[0]
        assert kib == dbmod.SESSION_CACHE_KIB <= 8_000
    finally:
        await s.close()
    store = MessageStore.open(tmp_path / "b")
    try:
        assert -store.conn.execute("PRAGMA cache_size").fetchone()[0] == dbmod.CACHE_KIB
    finally:
        store.close()
