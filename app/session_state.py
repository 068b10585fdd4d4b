"""The connection's state as the user sees it, with the reason and the time of each
change: shared by the session and its connection manager, and shown by the UI."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class ConnectionState(enum.StrEnum):
    """The connection as the user sees it."""

    OFFLINE = "offline"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"


@dataclass(frozen=True, slots=True)
class StateChange:
    """A state change with the reason in words and when it happened (epoch seconds)."""

    state: ConnectionState
    reason: str
    at: float
    #: the last attempt to reach the server failed (not merely: the connection dropped);
    #: stays true while retrying, until an attempt succeeds
    unreachable: bool = False
