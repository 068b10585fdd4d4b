"""The CLI's data-folder bookkeeping, in process: reading what waits without touching
anything, and which server a folder's outbox belongs to."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from app.cli.common import CliError
from app.cli.folders import (
    META_KEY,
    check_outbox_server,
    peek,
    record_outbox_server,
    same_server,
)
from app.outbox import Outbox
from app.paths import cli_data_dir, server_key
from app.store import MessageStore


def rows(db: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(db) as c:
        return c.execute("SELECT msg_id, state FROM messages ORDER BY id").fetchall()


def test_peek_changes_nothing(tmp_path: Path) -> None:
    missing = tmp_path / "none"
    assert peek(missing).waiting == 0 and not missing.exists()
    store = MessageStore.open(tmp_path)
    outbox = Outbox(store)
    a = outbox.enqueue("/chat", "message", {"room": "r", "text": "a"})
    outbox.enqueue("/", "ping", 1)
    outbox.mark_sent([a])   # as a crash would leave it: opening an Outbox requeues it
    store.close()
    before = rows(tmp_path / "sockdesk.db")
    p = peek(tmp_path)
    assert (p.queued, p.sent, p.waiting, p.failed) == (1, 1, 2, 0)
    assert p.namespaces_waiting() == ["/", "/chat"] and p.server is None
    assert rows(tmp_path / "sockdesk.db") == before and ("sent" in dict(before).values())


def test_a_folder_belongs_to_the_server_its_messages_wait_for(tmp_path: Path) -> None:
    store = MessageStore.open(tmp_path)
    outbox = Outbox(store)
    record_outbox_server(store, 0, ["http://a:1"], "alice")
    assert json.loads(store.meta(META_KEY) or "") == {"urls": ["http://a:1"],
                                                      "user": "alice"}
    m = outbox.enqueue("/chat", "message", {"room": "r", "text": "for a"})
    store.close()
    assert check_outbox_server(tmp_path, ["ws://A:1/"]).waiting == 1   # same server
    assert check_outbox_server(tmp_path, ["http://b:2", "http://a:1"]).waiting == 1
    with pytest.raises(CliError, match=r"holds 1 message waiting for http://a:1; it will "
                                       r"not be sent to http://b:2"):
        check_outbox_server(tmp_path, ["http://b:2"])
    store = MessageStore.open(tmp_path)
    record_outbox_server(store, 1, ["http://b:2"], "bob")   # never while messages wait
    assert json.loads(store.meta(META_KEY) or "")["urls"] == ["http://a:1"]
    Outbox(store).cancel(m.id)
    store.close()
    assert check_outbox_server(tmp_path, ["http://b:2"]).waiting == 0   # empty: any server


def test_a_folder_without_a_record_is_recorded_once_empty(tmp_path: Path) -> None:
    """Folders from before the record: nobody knows which server their messages were
    for, so they are sent as before, and no server is named until the outbox is empty."""
    store = MessageStore.open(tmp_path)
    m = Outbox(store).enqueue("/chat", "message", {"room": "r", "text": "old"})
    record_outbox_server(store, 1, ["http://a:1"], None)
    assert store.meta(META_KEY) is None
    store.close()
    assert check_outbox_server(tmp_path, ["http://b:2"]).waiting == 1
    store = MessageStore.open(tmp_path)
    Outbox(store).cancel(m.id)
    record_outbox_server(store, 0, ["http://b:2"], None)
    assert json.loads(store.meta(META_KEY) or "")["urls"] == ["http://b:2"]
    store.close()


def test_server_keys_and_default_folders() -> None:
    assert server_key("ws://Example.COM/") == server_key("http://example.com:80")
    assert server_key("wss://h") == "https://h:443" != server_key("http://h")
    assert same_server(["http://a:1", "http://b:1"], ["http://b:1/"])
    assert not same_server(["http://a:1"], ["http://a:2"])
    root = Path("/r")
    a = cli_data_dir("http://10.0.0.2:5000", "alice", root)
    assert a.parent == root / "cli" and a.name.startswith("10.0.0.2_5000-alice-")
    assert cli_data_dir("http://10.0.0.2:5000/", "alice", root) == a
    assert len({a, cli_data_dir("http://10.0.0.2:5001", "alice", root),
                cli_data_dir("http://10.0.0.2:5000", "bob", root),
                cli_data_dir("http://10.0.0.2:5000", None, root),
                cli_data_dir("https://10.0.0.2:5000", "alice", root)}) == 5
