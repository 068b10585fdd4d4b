"""What waits in a workspace's outbox, read without opening it (the switcher's counts)."""

from __future__ import annotations

import os
from pathlib import Path

from app import db as dbmod
from app.outbox import Outbox, OutboxState
from app.paths import db_path
from app.store import MessageStore
from app.workspace import waiting_count


def test_waiting_count_reads_queued_and_sent_without_touching_the_rows(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    assert waiting_count(folder) == 0            # no database yet
    assert not folder.exists()                   # and none was made by asking

    store = MessageStore.open(folder)
    outbox = Outbox(store)
    msgs = [outbox.enqueue("/chat", "message", {"room": "r", "text": str(i)})
            for i in range(4)]
    outbox.mark_sent([msgs[0]])
    outbox.settle(msgs[1], OutboxState.FAILED, error="refused")
    outbox.write_pending_acks()
    assert waiting_count(folder) == 3 == outbox.depth()   # read while the writer is open
    store.close()

    before = db_path(folder).read_bytes()
    mtime = os.stat(db_path(folder)).st_mtime_ns
    assert waiting_count(folder) == 3
    assert db_path(folder).read_bytes() == before and \
        os.stat(db_path(folder)).st_mtime_ns == mtime
    conn = dbmod.connect(folder)
    try:
        states = [r[0] for r in conn.execute(
            "SELECT state FROM messages WHERE queue = 'outbox:/chat' ORDER BY id")]
    finally:
        conn.close()
    assert states == ["sent", "failed", "queued", "queued"]   # `sent` was not requeued


def test_waiting_count_of_an_unreadable_file_is_unknown(tmp_path: Path) -> None:
    folder = tmp_path / "ws"
    folder.mkdir()
    db_path(folder).write_bytes(b"this is not a database at all" * 100)
    assert waiting_count(folder) is None
