"""Work queues shared by every server process through Redis (``--redis``).

The queue rules run inside Redis as Lua scripts (:mod:`server_stub.queues.redisqueues_lua`),
on streams with a consumer group, so consumers connected to different processes share
one queue: one round robin, one prefetch count per socket, one visibility timeout. A
script returns the deliveries it decided on; this process then emits them. The socket
may live on another process: the emit goes through the Redis pub/sub client manager.
``deliver`` is therefore sent only after the in-flight state is in Redis.

The visibility timeout is enforced by every process: a sweeper runs the expiry script
(``XAUTOCLAIM``) on the queues that have messages in flight. The scripts are atomic, so
several sweepers cannot hand one message out twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from server_stub import jsonmod
from server_stub.guard import Ack
from server_stub.queues.base import QueueBroker, Send, busy, not_dead, not_held, split_dead
from server_stub.queues.redisqueues_lua import (
    ACK,
    DELETE,
    DROP,
    EXPIRE,
    NACK,
    PEEK,
    PUBLISH,
    PURGE,
    PURGE_DEAD,
    REQUEUE,
    SCRIPTS,
    STATS,
    SUBSCRIBE,
    UNSUBSCRIBE,
)
from server_stub.scaleout.redislink import PREFIX, RedisLink
from server_stub.storage.base import StorageError
from server_stub.timestamps import now_iso

log = logging.getLogger(__name__)


def _peeked(queue: str, row: list[Any]) -> dict[str, Any]:
    seq, msg_id, payload, attempt, ts = row
    return {"queue": queue, "seq": int(seq), "id": msg_id, "payload": jsonmod.loads(payload),
            "attempt": int(attempt), "ts": ts}


class RedisQueueBroker(QueueBroker):
    """:class:`QueueBroker` whose state lives in Redis; see the module docstring."""

    def __init__(self, link: RedisLink, send: Send, *, visibility_timeout: float,
                 max_attempts: int) -> None:
        self.link = link
        self.send = send
        self.visibility_ms = max(1, round(visibility_timeout * 1000))
        self.max_attempts = max_attempts
        #: How often this process looks for expired deliveries: a fraction of the
        #: timeout, so a redelivery is late by at most that much.
        self.sweep_every = min(1.0, max(0.05, visibility_timeout / 5))
        #: sockets of this process with a subscription (dropped together at shutdown)
        self.local: set[str] = set()
        self._sweeper: asyncio.Task[None] | None = None
        link.add_scripts(*SCRIPTS)

    # -- lifecycle ---------------------------------------------------------------------
    async def start(self) -> None:
        self._sweeper = asyncio.get_running_loop().create_task(
            self._sweep_loop(), name="sockdesk-queue-sweeper")

    async def stop(self) -> None:
        """End this process's subscriptions in one step, so what they held goes to
        consumers on other processes instead of to a socket about to close here."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        sids, self.local = sorted(self.local), set()
        if sids:
            try:
                await self._deliver(await self.link.run(DROP, (self.max_attempts, *sids)))
            except StorageError as exc:
                # they come back when the others clean up after this process
                log.warning("could not return the messages held by this process: %s", exc)

    async def _sweep_loop(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_every)
            try:
                await self.sweep()
            except StorageError as exc:
                log.warning("visibility timeout check failed: %s", exc)
            except Exception:
                log.exception("visibility timeout check failed")

    async def sweep(self) -> None:
        """Return deliveries older than the visibility timeout (any process's)."""
        queues = await self.link.command("SMEMBERS", f"{PREFIX}qactive")
        replies = [self.link.run(EXPIRE, (q, self.visibility_ms, self.max_attempts))
                   for q in sorted(queues)]
        for reply in replies:
            await self._deliver(await reply)

    # -- delivery ----------------------------------------------------------------------
    async def _deliver(self, deliveries: list[list[Any]]) -> None:
        """Emit what a script decided (in its order), to sockets here or elsewhere."""
        for queue, sid, seq, msg_id, payload, attempt, ts in deliveries:
            body = {"queue": queue, "seq": int(seq), "id": msg_id,
                    "payload": jsonmod.loads(payload), "attempt": int(attempt), "ts": ts}
            try:
                await self.send(sid, body)
            except Exception:
                # The message stays in flight; the visibility timeout gives it back.
                log.exception("could not send deliver of %s #%s to %s", queue, seq, sid)

    # -- operations --------------------------------------------------------------------
    async def publish(self, queue: str, msg_id: str, payload: Any) -> Ack:
        encoded = jsonmod.dumps(payload)
        _, seq, deliveries = await self.link.run(PUBLISH, (queue, msg_id, encoded, now_iso()))
        await self._deliver(deliveries)
        return {"ok": True, "id": msg_id, "seq": int(seq)}

    async def subscribe(self, sid: str, queue: str, prefetch: int) -> Ack:
        self.local.add(sid)
        depth, deliveries = await self.link.run(SUBSCRIBE, (queue, sid, prefetch))
        ack = {"ok": True, "queue": queue, "depth": int(depth)}
        await self._deliver(deliveries)
        return ack

    async def unsubscribe(self, sid: str, queue: str) -> None:
        await self._deliver(await self.link.run(UNSUBSCRIBE,
                                                (queue, sid, self.max_attempts)))

    async def drop_consumer(self, sid: str) -> None:
        self.local.discard(sid)
        await self._deliver(await self.link.run(DROP, (self.max_attempts, sid)))

    async def ack(self, sid: str, queue: str, seq: int) -> None:
        found, deliveries = await self.link.run(ACK, (queue, sid, seq))
        if not found:
            raise not_held(queue, seq)
        await self._deliver(deliveries)

    async def nack(self, sid: str, queue: str, seq: int, requeue: bool) -> None:
        found, deliveries = await self.link.run(
            NACK, (queue, sid, seq, int(requeue), self.max_attempts))
        if not found:
            raise not_held(queue, seq)
        await self._deliver(deliveries)

    async def requeue(self, queue: str, seq: int) -> None:
        found, deliveries = await self.link.run(REQUEUE, (queue, seq))
        if not found:
            raise not_dead(queue, seq)
        await self._deliver(deliveries)

    async def purge(self, queue: str) -> int:
        base, dead = split_dead(queue)
        return int(await self.link.run(PURGE_DEAD if dead else PURGE, (base,)))

    async def delete(self, queue: str) -> int:
        removed, consumers, inflight = await self.link.run(DELETE, (queue,))
        if int(removed) < 0:
            raise busy(queue, int(consumers), int(inflight))
        return int(removed)

    async def peek(self, queue: str, limit: int) -> list[dict[str, Any]]:
        base, dead = split_dead(queue)
        if not dead:
            return [_peeked(queue, row) for row in await self.link.run(PEEK, (base, limit))]
        entries = await self.link.command("XRANGE", f"{PREFIX}q:{base}:dead", "-", "+",
                                          "COUNT", limit)
        return [_peeked(queue, [f["seq"], f["id"], f["payload"], f["attempt"], f["ts"]])
                for _, f in entries]

    async def stats(self) -> list[dict[str, Any]]:
        rows = await self.link.run(STATS)
        return [{"queue": q, "depth": int(depth), "inflight": int(inflight),
                 "consumers": int(consumers), "acked": int(acked), "dead": int(dead)}
                for q, depth, inflight, consumers, acked, dead in sorted(rows)]
