"""Broadcasts without a task per recipient, and websockets without compression.

Fan-out is where the server spends its time: one room message to 20 members is 20
Engine.IO packets. Stock python-socketio (:meth:`socketio.AsyncManager.emit`) encodes the
packet once but then creates one asyncio task per recipient, each of which only checks
the socket and puts the packet on that socket's send queue. Profiles of the B1 benchmark
(docs/DESIGN.md, "Where the time goes") showed the task machinery costing more than the
sends. :class:`DirectFanOut` does the same thing inline: encode once, put the same
packet object on every recipient's queue, no task, no await. What it skips per packet is
the ping-timeout check, which engine.io's service task also runs for every socket, and
an INFO log line. Emits with a callback (an ack per recipient) keep the stock path.

The queue is engine.io's own per-socket ``queue`` (an ``asyncio.Queue`` in every 4.x
release); its writer task drains it into the websocket exactly as before, so order per
socket is kept. A socket that closed meanwhile is skipped, as the stock path does.

Even that queue costs, per recipient: the writer task wakes, takes the packet, and
aiohttp frames it in Python before the one ``transport.write`` that matters; profiles
of B1 put a quarter of the loop in the frame write alone. A server-to-client websocket
frame is not masked, so the frame of a broadcast is the same bytes for every member:
:func:`write_direct` builds it once and writes it straight into each member's TCP
transport when that socket has nothing of its own waiting or being written (so its
order is kept), is on a settled websocket, and its connection holds nothing unsent
(the kernel took everything so far, so nothing of this socket waits in the process).
Any other member, a long-polling one, a binary packet, gets the queue as before, and
so does a client that falls behind: what waits is still what the queue holds, so its
limits and the slow-consumer close mean exactly what they did.

:class:`PlainWebSocket`: the aiohttp driver of engine.io builds its ``WebSocketResponse``
with aiohttp's default ``compress=True``, so every frame to a client that offers
permessage-deflate (the official JS client does) is deflated on the event loop: ~10 %
of the server's CPU in B1 for chat lines of a few hundred bytes. The Node socket.io
server has had ``perMessageDeflate: false`` as its default since v3 for the same reason.
It also hands the connection's TCP transport to the socket's bounded send queue
(:mod:`server_stub.transport.sendqueue`), which cuts it when a slow consumer stops
reading altogether.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Any, cast

import socketio
from aiohttp import web
from engineio import packet as eio_packet
from engineio.async_drivers import aiohttp as eio_aiohttp
from socketio import packet

from server_stub.transport.sendqueue import BoundedSendQueue


def websocket_frames(frames: list[eio_packet.Packet]) -> bytes | None:
    """The unmasked websocket text frames of these Engine.IO packets, as a server sends
    them (FIN, no extension bits: compression is off); None if one is binary."""
    out = []
    for frame in frames:
        text = frame.encode()
        if not isinstance(text, str):
            return None
        payload = text.encode()
        n = len(payload)
        if n < 126:
            out.append(bytes((0x81, n)))
        elif n < 1 << 16:
            out.append(struct.pack("!BBH", 0x81, 126, n))
        else:
            out.append(struct.pack("!BBQ", 0x81, 127, n))
        out.append(payload)
    return b"".join(out)


def write_direct(sock: Any, wire: bytes) -> bool:
    """Write a broadcast's frames into the socket's connection now, if that keeps its
    order and nothing of it waits unsent; False: queue them instead."""
    queue = sock.queue
    if not isinstance(queue, BoundedSendQueue) or not queue.idle():
        return False
    ws = queue.websocket
    # uvloop's transports do not derive from asyncio's classes; they have the same API
    transport = cast(asyncio.WriteTransport | None, queue.transport)
    if (ws is None or ws.closed or transport is None
            or not sock.upgraded or sock.upgrading or sock.closing
            or transport.is_closing() or transport.get_write_buffer_size()):
        return False
    transport.write(wire)
    return True


class DirectFanOut(socketio.AsyncManager):
    """A client manager whose broadcasts put one shared packet on each socket's queue,
    or its frame straight into the socket's connection (:func:`write_direct`)."""

    async def emit(self, event: str, data: Any, namespace: str, room: Any = None,
                   skip_sid: Any = None, callback: Any = None, to: Any = None,
                   **kwargs: Any) -> None:
        room = to or room
        if callback is not None or namespace not in self.rooms:
            await super().emit(event, data, namespace, room=room, skip_sid=skip_sid,
                               callback=callback, **kwargs)
            return
        # a tuple is several arguments, None none, anything else one
        args = list(data) if isinstance(data, tuple) else [] if data is None else [data]
        skip = set(skip_sid) if isinstance(skip_sid, list) else {skip_sid}
        encoded = self.server.packet_class(packet.EVENT, namespace=namespace,
                                           data=[event, *args]).encode()
        frames = [eio_packet.Packet(eio_packet.MESSAGE, part)
                  for part in (encoded if isinstance(encoded, list) else [encoded])]
        # None: every frame through the queues (see NodeLikeEngine.direct_writes)
        wire = websocket_frames(frames) if getattr(self.server.eio, "direct_writes", True) \
            else None
        sockets = self.server.eio.sockets
        for sid, eio_sid in self.get_participants(namespace, room):
            sock = sockets.get(eio_sid)
            if sid in skip or sock is None or sock.closed:
                continue
            if wire is not None and write_direct(sock, wire):
                continue
            for frame in frames:
                sock.queue.put_nowait(frame)


class PlainWebSocket(eio_aiohttp.WebSocket):
    """engine.io's aiohttp websocket wrapper, without permessage-deflate."""

    async def __call__(self, environ: dict[str, Any]) -> web.WebSocketResponse:
        request = environ["aiohttp.request"]
        self._sock = web.WebSocketResponse(max_msg_size=self.server.max_http_buffer_size,
                                           compress=False)
        await self._sock.prepare(request)
        # The socket's bounded queue may have to cut this connection (a slow consumer).
        queue = getattr(getattr(self.handler, "__self__", None), "queue", None)
        if isinstance(queue, BoundedSendQueue):
            queue.transport = request.transport
            queue.websocket = self._sock
        self.environ = environ
        await self.handler(self)
        return self._sock


def use_plain_websockets(sio: socketio.AsyncServer) -> None:
    """Make this server's engine.io build :class:`PlainWebSocket` (this instance only:
    ``_async`` is the driver table engine.io looked up for it)."""
    sio.eio._async = {**sio.eio._async, "websocket": PlainWebSocket}
