"""The work-queue interface ``/queue`` talks to, with two implementations.

:class:`~server_stub.queues.dispatcher.Dispatcher` keeps the live queue state (who holds what,
timers, round robin) in the memory of the one server process and persists it through a
:class:`~server_stub.storage.base.QueueStore` (SQLite). With several processes that state
must be shared, so :class:`~server_stub.queues.redisqueues.RedisQueueBroker` runs the same rules
inside Redis (streams and consumer groups, changed by Lua scripts). The namespace code
only validates input and calls a :class:`QueueBroker`; the rules themselves are in
docs/PROTOCOL.md and must hold identically for both.

``send(sid, body)`` is how a broker hands a ``deliver`` to a socket: the namespace emits
it (through the Redis pub/sub client manager when the socket lives on another process).
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable
from typing import Any

from server_stub import validation as v
from server_stub.guard import Ack
from server_stub.storage.base import QueueRecord

Send = Callable[[str, dict[str, Any]], Awaitable[None]]


def deliver_shape(rec: QueueRecord, queue: str | None = None) -> dict[str, Any]:
    """The ``deliver`` payload (also what ``peek`` lists)."""
    return {"queue": queue or rec.queue, "seq": rec.seq, "id": rec.id, "payload": rec.payload,
            "attempt": rec.attempt, "ts": rec.ts}


def split_dead(queue: str) -> tuple[str, bool]:
    """``("Q", True)`` for ``"Q.dead"``, ``("Q", False)`` for ``"Q"``."""
    if queue.endswith(v.DEAD_SUFFIX):
        return queue[: -len(v.DEAD_SUFFIX)], True
    return queue, False


def not_held(queue: str, seq: int) -> v.RequestError:
    return v.not_found(f"Message #{seq} of queue '{queue}' is not in flight to you "
                       "(already acked, timed out, or never delivered here).")


def busy(queue: str, consumers: int, inflight: int) -> v.RequestError:
    return v.RequestError(
        f"Queue '{queue}' still has {consumers} consumer(s) and {inflight} message(s) in "
        "flight; it can be deleted once nobody consumes it.", "busy")


def not_dead(queue: str, seq: int) -> v.RequestError:
    return v.not_found(f"There is no message #{seq} in '{queue}{v.DEAD_SUFFIX}'.")


class QueueBroker(abc.ABC):
    """Queue state and delivery; knows nothing of sockets except their ids."""

    @abc.abstractmethod
    async def start(self) -> None:
        """Rebuild or attach to the queue state before clients can connect."""

    @abc.abstractmethod
    async def stop(self) -> None:
        """Hand out nothing new to this process's consumers; what they hold goes back."""

    @abc.abstractmethod
    async def publish(self, queue: str, msg_id: str, payload: Any) -> Ack:
        """Store a message (or find the first one with this id); ``{ok, id, seq}``."""

    @abc.abstractmethod
    async def subscribe(self, sid: str, queue: str, prefetch: int) -> Ack:
        """Add or update a consumer; ``{ok, queue, depth}``."""

    @abc.abstractmethod
    async def unsubscribe(self, sid: str, queue: str) -> None:
        """Remove a consumer; what it held goes back with attempt + 1."""

    @abc.abstractmethod
    async def drop_consumer(self, sid: str) -> None:
        """The socket is gone (here or on a dead process): every subscription ends."""

    @abc.abstractmethod
    async def ack(self, sid: str, queue: str, seq: int) -> None:
        """Done with a message held by ``sid``; RequestError ``not_found`` otherwise."""

    @abc.abstractmethod
    async def nack(self, sid: str, queue: str, seq: int, requeue: bool) -> None:
        """Give a held message back (attempt + 1) or, without requeue, to ``Q.dead``."""

    @abc.abstractmethod
    async def requeue(self, queue: str, seq: int) -> None:
        """Move a dead letter to the tail of its queue with attempt 1."""

    @abc.abstractmethod
    async def purge(self, queue: str) -> int:
        """Remove waiting messages of ``Q`` or every dead letter of ``Q.dead``."""

    @abc.abstractmethod
    async def delete(self, queue: str) -> int:
        """Forget a queue entirely (waiting and dead messages, acked counter, seq counter,
        dedupe ids), so it no longer shows in ``stats``; the number of messages removed.
        RequestError ``busy`` while it has consumers or messages in flight: deleting it
        then would pull work out from under somebody."""

    @abc.abstractmethod
    async def peek(self, queue: str, limit: int) -> list[dict[str, Any]]:
        """Waiting messages in delivery order (or dead letters), consuming nothing."""

    @abc.abstractmethod
    async def stats(self) -> list[dict[str, Any]]:
        """One row per known queue, sorted by name."""
