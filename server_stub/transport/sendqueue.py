"""Bounded per-socket send queues: a socket that stops reading cannot grow the server.

engine.io gives every socket an unbounded ``asyncio.Queue`` of outbound packets, drained
by one writer (the websocket writer task, or the next long-polling GET). A client that
stops reading blocks the writer on the TCP send buffer, and every broadcast to it then
waits in that queue for ever: one stalled member of a busy room held 180 MB of a
server's memory. engine.io asks :meth:`engineio.AsyncServer.create_queue` for each
socket's queue (its public hook for this), so we hand it a :class:`BoundedSendQueue`:

* **the count**: queued packets, plus the batch the writer took out and has not
  finished writing (engine.io's writer empties the queue into a list before writing it,
  so a stalled socket holds that list too). Sizes are what the packets' payloads take in
  memory (about their encoded size; a broadcast shared by several sockets counts for
  each of them);
* **the limit** (``--send-queue-bytes``, ``--send-queue-packets``): a data packet that
  would take the socket over it is not queued; the queue drops what it holds and calls
  its ``on_overflow``, which tells the client why and closes it
  (:mod:`server_stub.transport.slowconsumer`);
* **heartbeats first**: a PING goes to the front of the queue, and a writer takes at
  most :data:`WRITE_BATCH` packets at a time, so a ping never waits behind more than one
  small batch of data, however long the queue (engine.io's queue is FIFO and its writer
  takes everything: pings waited behind seconds of data and timed out under load).

Control packets (open, close, ping, pong, noop) and engine.io's ``None`` "stop" marker
are always accepted: they are tiny, and refusing a CLOSE would keep a socket alive.
"""

from __future__ import annotations

import asyncio
import sys
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engineio import packet as eio_packet

#: Defaults for ``--send-queue-bytes`` / ``--send-queue-packets``: about 2,700 chat
#: messages of 3 KB, or 10,000 short ones; a reading client is never that far behind.
DEFAULT_MAX_BYTES = 8 << 20
DEFAULT_MAX_PACKETS = 10_000
#: Packets a writer takes per turn (engine.io's writer would take the whole queue).
WRITE_BATCH = 64
#: What a packet without a str/bytes payload (open, ping, ...) counts for.
CONTROL_SIZE = 64

_DATA_TYPES = frozenset({eio_packet.MESSAGE})


@dataclass(frozen=True, slots=True)
class SendLimits:
    """How much one socket may have waiting to be written."""

    max_bytes: int = DEFAULT_MAX_BYTES
    max_packets: int = DEFAULT_MAX_PACKETS

    def __post_init__(self) -> None:
        if self.max_bytes < 1 or self.max_packets < 1:
            raise ValueError("send queue limits must be positive")


def size_of(item: Any) -> int:
    """Memory held by one queued packet's payload."""
    data = getattr(item, "data", None)
    if isinstance(data, str | bytes):
        return sys.getsizeof(data)
    return CONTROL_SIZE


def is_data(item: Any) -> bool:
    return getattr(item, "packet_type", None) in _DATA_TYPES


class BoundedSendQueue(asyncio.Queue[Any]):
    """engine.io's per-socket queue with a limit, ping priority and small write batches.

    Only the queue's own extension points are used (``_init``/``_put``/``_get``, as
    :class:`asyncio.PriorityQueue` does) plus ``put_nowait``/``get_nowait``/``get``,
    which every engine.io 4.x code path goes through (``put`` and ``get`` end in them).
    """

    def __init__(self, limits: SendLimits,
                 on_overflow: Callable[[BoundedSendQueue], None]) -> None:
        super().__init__()
        self.limits = limits
        self.on_overflow = on_overflow
        #: bytes / packets queued and not yet taken by the writer
        self.queued_bytes = 0
        self.queued_packets = 0
        #: bytes / packets of the batch the writer is writing now
        self.writing_bytes = 0
        self.writing_packets = 0
        #: set once the limit was hit: data is dropped from then on
        self.overflowed = False
        #: data packets dropped because of the overflow
        self.dropped = 0
        #: the TCP transport of the socket's websocket, once it has one (to cut it)
        self.transport: asyncio.BaseTransport | None = None
        #: that websocket (aiohttp's), for broadcasts written straight into it
        self.websocket: Any = None
        #: (bytes, packets) the socket would have held when it overflowed
        self.report = (0, 0)
        self._batch_left = WRITE_BATCH
        self._insert_at: int | None = None

    # -- asyncio.Queue's storage hooks -------------------------------------------------
    def _init(self, maxsize: int) -> None:
        self._queue: deque[Any] = deque()

    def _put(self, item: Any) -> None:
        if self._insert_at is not None:
            self._queue.insert(self._insert_at, item)
            self._insert_at += 1
        elif getattr(item, "packet_type", None) == eio_packet.PING:
            self._queue.appendleft(item)  # heartbeats never wait behind data
        else:
            self._queue.append(item)

    def _get(self) -> Any:
        return self._queue.popleft()

    def idle(self) -> bool:
        """Nothing waits here and the writer holds no data it took: a frame written
        past the queue now goes out in order."""
        return not self._queue and self.writing_packets == 0 and not self.overflowed

    # -- counting ----------------------------------------------------------------------
    @property
    def held_bytes(self) -> int:
        return self.queued_bytes + self.writing_bytes

    @property
    def held_packets(self) -> int:
        return self.queued_packets + self.writing_packets

    def put_nowait(self, item: Any) -> None:
        if not is_data(item):
            super().put_nowait(item)
            return
        if self.overflowed:
            self.dropped += 1
            return
        size = size_of(item)
        if (self.held_bytes + size > self.limits.max_bytes
                or self.held_packets + 1 > self.limits.max_packets):
            self._overflow(size)
            return
        self.queued_bytes += size
        self.queued_packets += 1
        super().put_nowait(item)

    async def get(self) -> Any:
        # The writer comes back for more: what it took last time is written (websocket)
        # or in the HTTP response (polling).
        self._finish_batch()
        self._batch_left = WRITE_BATCH
        return await super().get()

    def get_nowait(self) -> Any:
        if self._batch_left <= 0:
            raise asyncio.QueueEmpty  # the writer writes this batch first
        item = super().get_nowait()
        if is_data(item):
            size = size_of(item)
            self.queued_bytes -= size
            self.queued_packets -= 1
            self.writing_bytes += size
            self.writing_packets += 1
        self._batch_left -= 1
        return item

    def _finish_batch(self) -> None:
        self.writing_bytes = 0
        self.writing_packets = 0

    # -- overflow ----------------------------------------------------------------------
    def _overflow(self, size: int) -> None:
        """Over the limit: keep nothing more for this socket and have it closed."""
        self.overflowed = True
        self.dropped += 1
        self.report = (self.held_bytes + size, self.held_packets + 1)
        self.discard_data()
        self.on_overflow(self)

    def discard_data(self) -> None:
        """Drop every queued data packet (control packets stay, in order)."""
        kept = deque(item for item in self._queue if not is_data(item))
        removed = len(self._queue) - len(kept)
        self.dropped += removed
        self._queue = kept
        for _ in range(removed):
            self.task_done()  # so engine.io's ``queue.join()`` still ends
        self.queued_bytes = 0
        self.queued_packets = 0

    def put_first(self, items: list[Any]) -> None:
        """Queue ``items`` ahead of everything but a waiting PING, accepted whatever the
        limit (the last words to a slow consumer)."""
        first = self._queue[0] if self._queue else None
        self._insert_at = 1 if getattr(first, "packet_type", None) == eio_packet.PING else 0
        try:
            for item in items:
                asyncio.Queue.put_nowait(self, item)  # no limit for these
        finally:
            self._insert_at = None

    def release(self) -> None:
        """The socket is gone: let go of everything it held."""
        self.discard_data()
        self._finish_batch()
