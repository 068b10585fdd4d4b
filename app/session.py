"""The session the app, the CLI and the lessons use: a plain Socket.IO client session
with the bundled server's namespace extensions registered.

`BaseSession` (app/base_session.py) knows Socket.IO only. This adds what SockDesk's own
server offers, and only once that server has introduced itself (its `welcome` says
`"server": "sockdesk"`) or the user has switched extensions on:
- `/chat` (`ChatRooms`): re-join remembered rooms with `since` before the namespace is
  ready, join a room before sending to it, put our ids where the server drops
  duplicates, rooms and DMs as their own queues;
- `/queue` (`QueueConsumer`): subscriptions that survive reconnects, auto-ack.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app.acks import AckMode, AckRequest, AckRule, AckRules, AckState
from app.base_session import BaseSession, ConnectionState, StateChange
from app.chat import ChatRooms
from app.config import ConnectionConfig
from app.consumer import QueueConsumer
from app.keys import MALFORMED_EVENT, first_object

__all__ = ["MALFORMED_EVENT", "AckMode", "AckRequest", "AckRule", "AckRules", "AckState",
           "ConnectionState", "Session", "StateChange"]

#: what the bundled server's `welcome` says it is
SERVER_NAME = "sockdesk"


class Session(BaseSession):
    """A `BaseSession` that speaks the bundled server's /chat and /queue when it is
    there; against any other server it is exactly a `BaseSession`."""

    def __init__(self, config: ConnectionConfig, data_dir: Path | str) -> None:
        super().__init__(config, data_dir)
        self.chat = ChatRooms(self)
        self.queue = QueueConsumer(self)
        self.register(self.chat)
        self.register(self.queue)

    def introduction(self, namespace: str, event: str, args: list[Any]) -> bool | None:
        """The bundled server greets every namespace with `welcome` right after CONNECT."""
        if event != "welcome":
            return None
        first = first_object(args) or {}
        ours = first.get("server") == SERVER_NAME
        if ours:
            # servers before the `dedupe` field always dropped repeated ids
            self.server_said_dedupe(first.get("dedupe", True) is True)
        return ours

    @property
    def sockdesk_server(self) -> bool:
        """True once the server has said it is SockDesk's own (or extensions are forced)."""
        return bool(self.extensions_on)
