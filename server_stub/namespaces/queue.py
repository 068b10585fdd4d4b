"""The ``/queue`` namespace: durable work queues with acks, retries and dead letters.

This module only turns events into calls on the backend's
:class:`~server_stub.queues.base.QueueBroker` (validation, acks); the queue rules live
there: in :mod:`server_stub.queues.dispatcher` (one process) or
:mod:`server_stub.queues.redisqueues` (shared).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from server_stub import validation as v
from server_stub.guard import Ack, guarded, guarded_connect, logged
from server_stub.namespaces.base import Context, Namespace
from server_stub.presence.base import Departure
from server_stub.queues.base import split_dead

log = logging.getLogger(__name__)

NAMESPACE = "/queue"
DEFAULT_PREFETCH = 10
MAX_PREFETCH = 1000
DEFAULT_PEEK = 10
MAX_PEEK = 1000
KNOWN_EVENTS = ("publish", "subscribe", "unsubscribe", "ack", "nack", "peek", "stats",
                "requeue", "purge", "delete")


def live_queue(payload: dict[str, Any]) -> str:
    """A queue name that is not a dead-letter queue (publish, subscribe, ack, nack)."""
    queue = v.name(payload, "queue")
    if queue.endswith(v.DEAD_SUFFIX):
        raise v.RequestError(f"'{queue}' is a dead-letter queue; it can only be peeked, "
                             "purged, or emptied with 'requeue' on the original queue.")
    return queue


class QueueNamespace(Namespace):
    """Handlers for ``/queue``; the queue logic itself lives in the broker."""

    def __init__(self, ctx: Context, *, visibility_timeout: float, max_attempts: int) -> None:
        super().__init__(ctx)
        self.dispatcher = ctx.backend.queue_broker(
            self._send, self.spawn, visibility_timeout=visibility_timeout,
            max_attempts=max_attempts)
        ctx.backend.on_socket_lost(self.socket_lost)
        self.sio.on("connect", self.on_connect, namespace=NAMESPACE)
        self.sio.on("disconnect", self.on_disconnect, namespace=NAMESPACE)
        self.register(NAMESPACE, {
            "publish": self.publish, "subscribe": self.subscribe,
            "unsubscribe": self.unsubscribe, "ack": self.ack, "nack": self.nack,
            "peek": self.peek, "stats": self.stats, "requeue": self.requeue,
            "purge": self.purge, "delete": self.delete, "*": self.unknown,
        })

    async def _send(self, sid: str, body: dict[str, Any]) -> None:
        # A socket of this process is reached directly; any other one through pub/sub.
        local = self.sio.manager.is_connected(sid, NAMESPACE)
        await self.sio.emit("deliver", body, to=sid, namespace=NAMESPACE, ignore_queue=local)

    @guarded_connect
    async def on_connect(self, sid: str, environ: Any, auth: Any = None) -> None:
        user = await self.accept(sid, NAMESPACE, auth)
        if user is not None:
            await self.register_socket(sid, NAMESPACE, user)

    @logged
    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        if self.is_forged_disconnect(sid, NAMESPACE):
            return
        self.forget(sid)
        await self.dispatcher.drop_consumer(sid)
        await self.presence.disconnected(sid)

    async def socket_lost(self, sid: str, departures: list[Departure]) -> None:
        """A socket of a server process that died: what it held goes back."""
        await self.dispatcher.drop_consumer(sid)

    @guarded
    async def publish(self, sid: str, event: str, *args: Any) -> Ack:
        payload = v.one_object(event, args)
        queue = live_queue(payload)
        body = v.required_value(payload, "payload")
        msg_id = v.msg_id(payload) or uuid.uuid4().hex
        return await self.dispatcher.publish(queue, msg_id, body)

    @guarded
    async def subscribe(self, sid: str, event: str, *args: Any) -> Ack:
        payload = v.one_object(event, args)
        queue = live_queue(payload)
        prefetch = v.integer(payload, "prefetch", low=1, high=MAX_PREFETCH,
                             default=DEFAULT_PREFETCH)
        return await self.dispatcher.subscribe(sid, queue, prefetch or DEFAULT_PREFETCH)

    @guarded
    async def unsubscribe(self, sid: str, event: str, *args: Any) -> Ack:
        payload = v.one_object(event, args)
        await self.dispatcher.unsubscribe(sid, live_queue(payload))
        return {"ok": True}

    @guarded
    async def ack(self, sid: str, event: str, *args: Any) -> Ack:
        payload = v.one_object(event, args)
        queue = live_queue(payload)
        seq = v.integer(payload, "seq", low=1, required=True)
        await self.dispatcher.ack(sid, queue, seq or 0)
        return {"ok": True}

    @guarded
    async def nack(self, sid: str, event: str, *args: Any) -> Ack:
        payload = v.one_object(event, args)
        queue = live_queue(payload)
        seq = v.integer(payload, "seq", low=1, required=True)
        requeue = v.boolean(payload, "requeue", default=True)
        await self.dispatcher.nack(sid, queue, seq or 0, requeue)
        return {"ok": True}

    @guarded
    async def peek(self, sid: str, event: str, *args: Any) -> Ack:
        payload = v.one_object(event, args)
        queue = v.name(payload, "queue", allow_dead=True)
        limit = v.integer(payload, "limit", low=1, high=MAX_PEEK, default=DEFAULT_PEEK)
        return {"ok": True,
                "messages": await self.dispatcher.peek(queue, limit or DEFAULT_PEEK)}

    @guarded
    async def stats(self, sid: str, event: str, *args: Any) -> Ack:
        v.one_object(event, args, optional=True)
        return {"ok": True, "queues": await self.dispatcher.stats()}

    @guarded
    async def requeue(self, sid: str, event: str, *args: Any) -> Ack:
        payload = v.one_object(event, args)
        queue, _ = split_dead(v.name(payload, "queue", allow_dead=True))
        seq = v.integer(payload, "seq", low=1, required=True)
        await self.dispatcher.requeue(queue, seq or 0)
        return {"ok": True}

    @guarded
    async def purge(self, sid: str, event: str, *args: Any) -> Ack:
        payload = v.one_object(event, args)
        queue = v.name(payload, "queue", allow_dead=True)
        return {"ok": True, "removed": await self.dispatcher.purge(queue)}

    @guarded
    async def delete(self, sid: str, event: str, *args: Any) -> Ack:
        """Forget a queue (a lesson's, once it is over): see docs/PROTOCOL.md."""
        payload = v.one_object(event, args)
        queue = live_queue(payload)
        return {"ok": True, "removed": await self.dispatcher.delete(queue)}

    @guarded
    async def unknown(self, sid: str, event: str, *args: Any) -> Ack:
        raise v.RequestError(f"'{event}' is not an event of {NAMESPACE}; use one of: "
                             f"{', '.join(KNOWN_EVENTS)}.")
