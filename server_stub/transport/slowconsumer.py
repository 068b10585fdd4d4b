"""What happens to a socket whose send queue overflows: it is told why, then closed.

A Socket.IO ``disconnect`` packet carries no reason, so the reason goes first as an
ordinary event on every namespace the client has open, ``slow_consumer {queued_bytes,
queued_packets, max_bytes, max_packets}`` (what it would have held, and the limits),
ahead of anything still queued; then the Engine.IO session is closed (a CLOSE packet
follows the event). Everything that was queued for it is dropped at once, so the
server's memory is back before the client even notices. A client that reads again
within :data:`GRACE_SECONDS` gets the event and the CLOSE; one that does not has its
TCP connection cut then, because a peer that never reads would otherwise keep the
writer (and its last batch) waiting for ever. SockDesk clients show the reason,
reconnect and fetch what they missed with ``since``; the chat contract is unchanged,
since every message is in the room's history.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet

from server_stub.transport.sendqueue import BoundedSendQueue, SendLimits

log = logging.getLogger(__name__)

EVENT = "slow_consumer"
#: Engine.IO disconnect reason our handlers (and the Admin UI) see for such a socket.
REASON = "slow consumer"
#: How long a closed slow consumer may take to read its CLOSE before the TCP
#: connection is cut.
GRACE_SECONDS = 5.0


class SlowConsumers:
    """Gives every engine.io socket of ``sio`` a bounded queue and closes the sockets
    that overflow it."""

    def __init__(self, sio: socketio.AsyncServer, limits: SendLimits) -> None:
        self.sio = sio
        self.limits = limits
        #: sockets closed as slow consumers since the start
        self.closed = 0
        self._tasks: set[asyncio.Task[None]] = set()
        sio.eio.create_queue = self.create_queue  # type: ignore[method-assign]

    def create_queue(self, *args: Any, **kwargs: Any) -> BoundedSendQueue:
        """engine.io's hook for each new socket's outbound queue."""
        return BoundedSendQueue(self.limits, self._overflowed)

    def backlog(self) -> tuple[int, int]:
        """Bytes and packets waiting to be written, over every socket of this process."""
        queues = [s.queue for s in list(self.sio.eio.sockets.values())
                  if isinstance(s.queue, BoundedSendQueue)]
        return sum(q.held_bytes for q in queues), sum(q.held_packets for q in queues)

    def _overflowed(self, queue: BoundedSendQueue) -> None:
        self.closed += 1
        # Called from inside a put: do the work on the next turn, in a task of our own.
        task = asyncio.get_running_loop().create_task(self._close(queue))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _socket_of(self, queue: BoundedSendQueue) -> tuple[str, Any] | None:
        for eio_sid, sock in list(self.sio.eio.sockets.items()):
            if sock.queue is queue:
                return eio_sid, sock
        return None

    async def _close(self, queue: BoundedSendQueue) -> None:
        found = self._socket_of(queue)
        if found is None:
            queue.release()
            return
        eio_sid, sock = found
        queued_bytes, queued_packets = queue.report
        info = {"queued_bytes": queued_bytes, "queued_packets": queued_packets,
                "max_bytes": self.limits.max_bytes, "max_packets": self.limits.max_packets}
        log.warning("closing %s: slow consumer (%d bytes / %d packets waiting)",
                    eio_sid, queued_bytes, queued_packets)
        queue.put_first(self._notices(eio_sid, info))
        try:
            await sock.close(wait=False, abort=False, reason=REASON)
        except Exception:
            log.exception("could not close slow consumer %s", eio_sid)
        if queue.transport is not None:
            await self._cut_later(queue)

    def _notices(self, eio_sid: str, info: dict[str, Any]) -> list[Any]:
        """One ``slow_consumer`` event packet per namespace the client has open."""
        manager = self.sio.manager
        notices = []
        for namespace in list(manager.get_namespaces()):
            if manager.sid_from_eio_sid(eio_sid, namespace) is None:
                continue
            encoded = self.sio.packet_class(packet.EVENT, namespace=namespace,
                                            data=[EVENT, info]).encode()
            notices.append(eio_packet.Packet(eio_packet.MESSAGE, encoded))
        return notices

    async def _cut_later(self, queue: BoundedSendQueue) -> None:
        """Cut the TCP connection if the client has not read its CLOSE in time."""
        transport = queue.transport
        deadline = asyncio.get_running_loop().time() + GRACE_SECONDS
        while transport is not None and not transport.is_closing():
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                log.info("cutting the connection of a slow consumer that stopped reading")
                transport.abort()  # type: ignore[attr-defined]
                break
            await asyncio.sleep(min(0.25, remaining))  # cheap check, bounded by GRACE
        queue.release()
