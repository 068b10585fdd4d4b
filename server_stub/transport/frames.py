"""Engine.IO packets the Node server closes a session for, on either transport.

engine.io-parser decodes a text packet whose first character is not a packet type
(``0``-``6``), or an empty one, as an ``error`` packet, and the Node server closes the
session on it ("parse error"); it also closes a v4 session whose client sends a PING
("invalid heartbeat direction": in v4 only the server pings). python-engineio instead
ignores unknown types and client pings, answers a polling POST it cannot decode with
200 and keeps the session, and lets a websocket frame it cannot decode escape its
receive loop, which leaves the session half-open until the ping timeout.

:func:`violation` is the one rule; the polling POST handler (``longpoll``) and the
websocket wrapper here apply it. A websocket frame that breaks it ends the receive loop
as if the client had closed: the disconnect handlers run at once and the socket closes.
"""

from __future__ import annotations

import logging
from typing import Any

import engineio
from engineio import packet as eio_packet

log = logging.getLogger(__name__)

PARSE_ERROR = "parse error"
HEARTBEAT_DIRECTION = "invalid heartbeat direction"
#: The upgrade probe: the one PING a v4 client sends (on the new websocket).
PROBE = "2probe"


def violation(frame: str | bytes) -> str | None:
    """Why the Node server would close a session that sent this packet, or None."""
    if not isinstance(frame, str):
        return None  # a binary frame is a binary MESSAGE
    if frame == "" or frame[0] not in "0123456b":
        return PARSE_ERROR
    if frame[0] == "2" and frame != PROBE:
        return HEARTBEAT_DIRECTION
    try:
        eio_packet.Packet(encoded_packet=frame)
    except ValueError:  # e.g. "b" followed by broken base64
        return PARSE_ERROR
    return None


def check_websocket_frames(eio: engineio.AsyncServer) -> None:
    """Make this server's websocket wrapper end the session on a :func:`violation`.

    Wraps whatever websocket class the engine uses now (call it after the other
    adjustments to that class); ``_async`` is the per-instance driver table."""
    base: Any = eio._async["websocket"]
    if getattr(base, "checks_frames", False):
        return

    class CheckedWebSocket(base):  # type: ignore[misc, valid-type]
        checks_frames = True

        async def wait(self) -> Any:
            frame = await super().wait()
            if frame is not None and (reason := violation(frame)) is not None:
                log.info("closing a websocket session: %s", reason)
                return None  # engine.io's "the client closed the connection"
            return frame

    CheckedWebSocket.__name__ = f"Checked{base.__name__}"
    eio._async = {**eio._async, "websocket": CheckedWebSocket}
