"""The bridge carries the chat core's edit/delete and DM typing signals to the widgets."""

from __future__ import annotations

from pathlib import Path

from app.chat_changes import MessageChange
from app.config import ConnectionConfig
from app.session import Session
from ui.bridge import SessionBridge


def test_changes_and_dm_typing_reach_the_widgets(tmp_path: Path, qtbot) -> None:
    bridge = SessionBridge()
    session = Session(ConnectionConfig(url="http://127.0.0.1:9", user="a"), tmp_path)
    try:
        changes: list[object] = []
        typing: list[str] = []
        bridge.message_changed.connect(changes.append)
        bridge.dm_typing.connect(typing.append)
        bridge.attach(session)
        change = MessageChange(room="general", id="m1", user="bob", kind="delete",
                               text=None, offset=7, ts=1.0)
        session.chat.changed.emit(change)
        session.chat.dm_typing_seen.emit("bob")
        assert changes == [change] and typing == ["bob"]
        bridge.detach()
        session.chat.changed.emit(change)
        session.chat.dm_typing_seen.emit("bob")
        assert len(changes) == 1 and len(typing) == 1
    finally:
        session.store.close()
