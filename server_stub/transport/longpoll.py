"""A polling client's own close ends its pending long-poll at once.

When a client on the polling transport closes (an Engine.IO CLOSE packet in a POST),
python-engineio marks the socket closed but leaves that client's pending GET waiting
for packets until ping_interval + ping_timeout have passed. python-socketio's client
waits for that GET before ``disconnect()`` returns, so closing took 30 s against this
server and no time against the Node reference server, whose engine.io answers the
pending GET at once. Here the socket's send queue gets engine.io's own end marker
(``None``) after a client close: ``poll()`` returns no packets and the GET completes.
"""

from __future__ import annotations

from typing import Any

import socketio


def release_polls_on_close(sio: socketio.AsyncServer) -> None:
    """Wrap this server's engine.io disconnect handler (python-socketio's) so a polling
    client's close also completes its pending GET."""
    eio = sio.eio
    handler = eio.handlers.get("disconnect")

    async def on_disconnect(eio_sid: str, reason: Any) -> None:
        try:
            if handler is not None:
                await handler(eio_sid, reason)
        finally:
            sock = eio.sockets.get(eio_sid)
            if (sock is not None and not sock.upgraded
                    and reason == eio.reason.CLIENT_DISCONNECT):
                sock.queue.put_nowait(None)

    eio.on("disconnect", on_disconnect)
