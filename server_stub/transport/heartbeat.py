"""Ping timeouts on time: a session that does not answer a PING within ``ping_timeout``
is closed then, as the Node server does, not up to another ``ping_timeout`` later.

python-engineio notes when it sent a PING (``socket.last_ping``) but only checks the
answer in two places: when something is sent to that socket, and in its service task,
which visits the sockets one after the other spread over ``ping_timeout`` (one socket:
every 20 s). A silent long-polling session therefore expired ~45-65 s after its last
pong (55 s on average, measured) instead of Node's pingInterval + pingTimeout = 45 s,
which the Node server enforces with one timer per socket. Here one task replaces the
service task (``monitor_clients=False``): every :data:`TICK` it closes the sockets
whose PING has waited longer than ``ping_timeout`` (a sweep of plain attribute reads,
so a few thousand sockets cost well under a millisecond) and forgets closed ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

import engineio
from engineio import packet as eio_packet

log = logging.getLogger(__name__)

#: Longest time between sweeps; shorter when ``ping_timeout`` is (tests use ~1 s).
TICK = 0.5
#: A PING unanswered for this share of ``ping_timeout`` marks its client as behind: it
#: reads its socket (the PING is behind the data sent before it) that many seconds late.
BEHIND_SHARE = 0.4


def sweep_interval(ping_timeout: float) -> float:
    return min(TICK, ping_timeout / 8)


async def end_session(eio: engineio.AsyncServer, sock: Any, reason: str) -> None:
    """Close one Engine.IO session from the server side, as the Node server does: the
    disconnect handlers run, a pending or next long-poll gets the CLOSE packet, and a
    websocket writer sends it and then closes the websocket instead of waiting for the
    client to close it."""
    if sock.closed or sock.closing:
        return
    # abort=True, then the CLOSE packet by hand: engine.io's own send() would drop it
    # for a socket whose ping is overdue (it re-checks the ping timeout first).
    await sock.close(wait=False, abort=True, reason=reason)
    sock.queue.put_nowait(eio_packet.Packet(eio_packet.CLOSE))
    sock.queue.put_nowait(None)  # engine.io's end marker: the writer or the poll ends


class Heartbeats:
    """The sweeping task of one engine.io server."""

    def __init__(self, eio: engineio.AsyncServer) -> None:
        self.eio = eio
        self._task: asyncio.Task[None] | None = None
        #: at the last sweep: sockets whose PING waited over BEHIND_SHARE of the timeout,
        #: and sockets open (see :meth:`behind`)
        self.late = 0
        self.open = 0

    def start(self) -> None:
        """Start sweeping (from the event loop; a no-op when already running)."""
        if self._task is None:
            self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        interval = sweep_interval(self.eio.ping_timeout)
        while True:
            await asyncio.sleep(interval)
            try:
                await self.sweep()
            except Exception:  # one broken socket must not end the heartbeats
                log.exception("heartbeat sweep failed")

    def behind(self) -> tuple[int, int]:
        """(clients reading late, clients) at the last sweep. Many clients late at once
        means the server sends more than its clients can read (a room fan-out outruns
        them): the load shedder then refuses new messages until they catch up, before
        their pongs time out."""
        return self.late, self.open

    async def sweep(self) -> None:
        """Close the sockets whose PING is overdue; drop the closed ones."""
        now = time.time()
        limit = self.eio.ping_timeout
        late_after = limit * BEHIND_SHARE
        sockets = self.eio.sockets
        late = 0
        for sid, sock in list(sockets.items()):
            if sock.closed:
                sockets.pop(sid, None)
                continue
            waited = now - sock.last_ping if sock.last_ping else 0.0
            if not sock.closing and waited > limit:
                log.info("%s: no pong within %.1f s, closing", sid, limit)
                await end_session(self.eio, sock, self.eio.reason.PING_TIMEOUT)
            elif waited > late_after:
                late += 1
        self.late, self.open = late, len(sockets)
