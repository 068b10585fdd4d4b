"""Long-polling as the Node server does it: the end of a client's close, and POSTs.

**A client's close ends its pending GET with a NOOP.** When a client on the polling
transport closes (an Engine.IO CLOSE packet in a POST), python-engineio marks the socket
closed but leaves that client's pending GET waiting for packets until ping_interval +
ping_timeout have passed. python-socketio's client waits for that GET before
``disconnect()`` returns, so closing took 30 s against this server. The Node server's
polling transport answers the pending GET at once with a NOOP packet (body ``6``,
packages/engine.io/lib/transports/polling.ts ``onClose``); so does this one: the socket's
send queue gets a NOOP and then engine.io's end marker (``None``).

**POST bodies are decoded as the Node server decodes them** (:func:`receive_payload`):
packet by packet, in order, without python-engineio's limit of 16 packets per payload
(beyond which it dropped the whole POST, answering 200). A packet the Node server
would close the session for (:func:`server_stub.transport.frames.violation`, e.g. the
body ``abc``) ends the session after the packets before it were handled: the POST is
still answered ``200`` as Node answers it, a pending GET gets the CLOSE packet ``1``,
and later requests on that session get ``400`` "Session ID unknown". Packet types a
client has no business sending (OPEN, NOOP) are ignored, as Node ignores them.
"""

from __future__ import annotations

import contextlib
from typing import Any

import engineio
import socketio
from engineio import exceptions
from engineio import packet as eio_packet

from server_stub.transport.frames import violation
from server_stub.transport.heartbeat import end_session

#: engine.io-parser's record separator between the packets of a polling payload.
SEPARATOR = "\x1e"


def release_polls_on_close(sio: socketio.AsyncServer) -> None:
    """Wrap this server's engine.io disconnect handler (python-socketio's) so a polling
    client's close also answers its pending GET with a NOOP."""
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
                sock.queue.put_nowait(eio_packet.Packet(eio_packet.NOOP))
                sock.queue.put_nowait(None)

    eio.on("disconnect", on_disconnect)


async def receive_payload(eio: engineio.AsyncServer, sock: Any,
                          environ: dict[str, Any]) -> None:
    """Read one polling POST body and hand its packets to the socket, Node's way.

    Raises engine.io's ``ContentTooLongError`` for a body over ``max_http_buffer_size``
    (the caller answers 400 and closes, as python-engineio does)."""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length > eio.max_http_buffer_size:
        raise exceptions.ContentTooLongError()
    raw = await environ["wsgi.input"].read(length)
    try:
        body = raw.decode("utf-8")
    except UnicodeDecodeError:
        await end_session(eio, sock, eio.reason.TRANSPORT_ERROR)
        return
    for frame in body.split(SEPARATOR) if body else []:
        if violation(frame) is not None:
            await end_session(eio, sock, eio.reason.TRANSPORT_ERROR)
            return
        if sock.closed or sock.closing:
            return  # a CLOSE earlier in this payload
        # OPEN or NOOP from a client: nothing to do
        with contextlib.suppress(exceptions.UnknownPacketError):
            await sock.receive(eio_packet.Packet(encoded_packet=frame))
