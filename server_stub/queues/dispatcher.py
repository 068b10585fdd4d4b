"""Work-queue state and delivery in one process, independent of Socket.IO.

This is the :class:`~server_stub.queues.base.QueueBroker` of the embedded (SQLite) backend.
The :class:`Dispatcher` owns the live state (who holds what, timers, round robin) in
memory and writes every state change through the storage, so after a restart it can
rebuild the queues exactly: waiting and dead messages as they were, in-flight ones back
in their queue with ``attempt + 1`` (their consumers are gone).

Rules worth knowing when reading the code:

* A message becomes deliverable only after its publish is committed.
* ``attempt`` is the number of the current delivery (in flight) or the next one (waiting).
  A failed delivery (consumer gone, unsubscribed, visibility timeout, nack with requeue)
  bumps it, unless it was the last allowed attempt: then the message moves to ``Q.dead``.
* Waiting messages are ordered by ``rank``; a returned message keeps its rank and so goes
  back ahead of newer ones, a message requeued from ``Q.dead`` gets a new one (the tail).
* The deliver event goes out only once the in-flight state is committed.
* Storage writes are *issued* synchronously, in the order the state changed (see
  :mod:`server_stub.storage.base`), even when nobody awaits them.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from server_stub.guard import Ack
from server_stub.queues.base import (
    QueueBroker,
    Send,
    busy,
    deliver_shape,
    not_dead,
    not_held,
    split_dead,
)
from server_stub.storage.base import QueueRecord, QueueStore
from server_stub.timestamps import now_iso

log = logging.getLogger(__name__)


@dataclass(slots=True, eq=False)
class Live:
    """A message plus what only matters while the server runs."""

    rec: QueueRecord
    consumer: str | None = None
    timer: asyncio.TimerHandle | None = None
    #: bumped on every delivery, so a stale visibility timer recognises itself
    delivery: int = 0


@dataclass(slots=True, eq=False)
class Subscription:
    """One socket consuming one queue, holding at most ``prefetch`` unacked messages."""

    sid: str
    prefetch: int
    inflight: dict[int, Live] = field(default_factory=dict)


@dataclass(slots=True, eq=False)
class WorkQueue:
    """The in-memory state of one queue (its dead letters included)."""

    name: str
    #: heap of (rank, seq) of waiting messages
    ready: list[tuple[int, int]] = field(default_factory=list)
    #: waiting and in-flight messages by seq
    messages: dict[int, Live] = field(default_factory=dict)
    dead: dict[int, Live] = field(default_factory=dict)
    #: insertion order is the round-robin order
    consumers: dict[str, Subscription] = field(default_factory=dict)
    next_consumer: int = 0
    next_rank: int = 1
    acked: int = 0

    def take_rank(self) -> int:
        rank = self.next_rank
        self.next_rank += 1
        return rank

    @property
    def inflight(self) -> int:
        return len(self.messages) - len(self.ready)


class Dispatcher(QueueBroker):
    """Queue state and delivery in memory, persisted through a :class:`QueueStore`."""

    def __init__(self, storage: QueueStore, send: Send, *, visibility_timeout: float,
                 max_attempts: int, spawn: Callable[[Any], Any]) -> None:
        self.storage = storage
        self.send = send
        self.visibility_timeout = visibility_timeout
        self.max_attempts = max_attempts
        self.spawn = spawn
        self.queues: dict[str, WorkQueue] = {}
        #: sid -> names of the queues it subscribed to
        self.subscriptions: dict[str, set[str]] = {}
        self.closing = False

    def queue(self, name: str) -> WorkQueue:
        q = self.queues.get(name)
        if q is None:
            q = self.queues[name] = WorkQueue(name)
        return q

    # -- startup / shutdown ------------------------------------------------------------
    async def start(self) -> None:
        """Rebuild from storage; what was in flight goes back at once with attempt + 1."""
        snapshot = await self.storage.load_queues()
        for name, acked in snapshot.acked.items():
            self.queue(name).acked = acked
        for rec in snapshot.messages:
            q = self.queue(rec.queue)
            q.next_rank = max(q.next_rank, rec.rank + 1)
        returned: list[QueueRecord] = []
        for rec in snapshot.messages:
            q = self.queue(rec.queue)
            live = Live(rec)
            if rec.state == "dead":
                q.dead[rec.seq] = live
                continue
            q.messages[rec.seq] = live
            if rec.state == "inflight":
                self._fail_delivery(q, live)
                returned.append(rec)
            else:
                heapq.heappush(q.ready, (rec.rank, rec.seq))
        if returned:
            await self.storage.save_queue_messages(returned)
            log.info("%d message(s) that were in flight went back to their queues",
                     len(returned))

    async def stop(self) -> None:
        """Stop timers; disconnects during shutdown still return messages, but nothing
        new is handed out."""
        self.closing = True
        for q in self.queues.values():
            for live in q.messages.values():
                if live.timer is not None:
                    live.timer.cancel()
                    live.timer = None

    # -- delivery ----------------------------------------------------------------------
    def _pick(self, q: WorkQueue) -> Subscription | None:
        subs = list(q.consumers.values())
        for i in range(len(subs)):
            index = (q.next_consumer + i) % len(subs)
            if len(subs[index].inflight) < subs[index].prefetch:
                q.next_consumer = index + 1
                return subs[index]
        return None

    def pump(self, q: WorkQueue) -> None:
        """Hand waiting messages to consumers with room, round robin."""
        if self.closing:
            return
        while q.ready:
            sub = self._pick(q)
            if sub is None:
                return
            _, seq = heapq.heappop(q.ready)
            live = q.messages[seq]
            live.rec.state = "inflight"
            live.consumer = sub.sid
            live.delivery += 1
            sub.inflight[seq] = live
            live.timer = asyncio.get_running_loop().call_later(
                self.visibility_timeout, self._expire, q.name, seq, live.delivery)
            committed = self.storage.save_queue_messages([live.rec])
            self.spawn(self._deliver(committed, sub.sid, live, live.delivery,
                                     deliver_shape(live.rec)))

    async def _deliver(self, committed: Awaitable[None], sid: str, live: Live,
                       delivery: int, body: dict[str, Any]) -> None:
        """Send ``deliver`` once the in-flight state is committed, unless the message was
        taken back meanwhile (consumer gone, timeout) or handed out again."""
        try:
            await committed
        except Exception:
            # Not sent; the visibility timeout will return the message.
            log.exception("could not record delivery of %s #%s", body["queue"], body["seq"])
            return
        if live.consumer == sid and live.delivery == delivery:
            await self.send(sid, body)

    def _expire(self, queue: str, seq: int, delivery: int) -> None:
        q = self.queues.get(queue)
        live = q.messages.get(seq) if q else None
        if q is None or live is None or live.consumer is None or live.delivery != delivery:
            return
        live.timer = None
        log.info("visibility timeout: %s #%d (attempt %d)", queue, seq, live.rec.attempt)
        self._release(q, live)
        self._persist([live.rec], "visibility timeout")
        self.pump(q)

    def _persist(self, records: list[QueueRecord], what: str) -> None:
        """Queue a state write now (keeping the order of writes) without waiting for it."""
        committed = self.storage.save_queue_messages(records)

        async def wait() -> None:
            try:
                await committed
            except Exception:
                log.exception("could not persist %s", what)
        self.spawn(wait())

    def _detach(self, q: WorkQueue, live: Live) -> None:
        """Forget who holds ``live`` (it is leaving the in-flight state)."""
        if live.timer is not None:
            live.timer.cancel()
            live.timer = None
        sub = q.consumers.get(live.consumer or "")
        if sub is not None:
            sub.inflight.pop(live.rec.seq, None)
        live.consumer = None

    def _fail_delivery(self, q: WorkQueue, live: Live) -> None:
        """A delivery failed: back to the queue with attempt + 1, or dead if that was the
        last attempt."""
        if live.rec.attempt >= self.max_attempts:
            self._bury(q, live)
        else:
            live.rec.attempt += 1
            live.rec.state = "ready"
            heapq.heappush(q.ready, (live.rec.rank, live.rec.seq))

    def _bury(self, q: WorkQueue, live: Live) -> None:
        q.messages.pop(live.rec.seq, None)
        live.rec.state = "dead"
        live.rec.rank = q.take_rank()
        q.dead[live.rec.seq] = live

    def _release(self, q: WorkQueue, live: Live) -> None:
        self._detach(q, live)
        self._fail_delivery(q, live)

    def _holding(self, sid: str, queue: str, seq: int) -> tuple[WorkQueue, Live]:
        q = self.queues.get(queue)
        live = q.messages.get(seq) if q else None
        if q is None or live is None or live.consumer != sid:
            raise not_held(queue, seq)
        return q, live

    # -- operations --------------------------------------------------------------------
    async def publish(self, queue: str, msg_id: str, payload: Any) -> Ack:
        q = self.queue(queue)
        ts = now_iso()
        rank = q.take_rank()
        result = await self.storage.publish(queue, msg_id, payload, ts, rank)
        if not result.duplicate:
            rec = QueueRecord(queue=queue, seq=result.seq, id=msg_id, payload=payload,
                              attempt=1, ts=ts, rank=rank, state="ready")
            q.messages[rec.seq] = Live(rec)
            heapq.heappush(q.ready, (rank, rec.seq))
            self.pump(q)
        return {"ok": True, "id": msg_id, "seq": result.seq}

    async def subscribe(self, sid: str, queue: str, prefetch: int) -> Ack:
        q = self.queue(queue)
        sub = q.consumers.get(sid)
        if sub is None:
            q.consumers[sid] = Subscription(sid, prefetch)
        else:
            sub.prefetch = prefetch
        self.subscriptions.setdefault(sid, set()).add(queue)
        ack = {"ok": True, "queue": queue, "depth": len(q.ready)}
        self.pump(q)
        return ack

    def _remove_consumer(self, q: WorkQueue, sid: str) -> None:
        """Drop a subscription; what it held goes back at once, oldest rank first."""
        sub = q.consumers.pop(sid, None)
        if sub is None:
            return
        held = sorted(sub.inflight.values(), key=lambda live: live.rec.rank)
        sub.inflight.clear()
        for live in held:
            if live.timer is not None:
                live.timer.cancel()
                live.timer = None
            live.consumer = None
            self._fail_delivery(q, live)
        if q.next_consumer >= len(q.consumers):
            q.next_consumer = 0
        if held:
            self._persist([live.rec for live in held], f"return to {q.name}")
        self.pump(q)

    async def unsubscribe(self, sid: str, queue: str) -> None:
        self.subscriptions.get(sid, set()).discard(queue)
        q = self.queues.get(queue)
        if q is not None:
            self._remove_consumer(q, sid)

    async def drop_consumer(self, sid: str) -> None:
        """The socket went away: every message it held goes back at once."""
        for queue in sorted(self.subscriptions.pop(sid, set())):
            q = self.queues.get(queue)
            if q is not None:
                self._remove_consumer(q, sid)

    async def ack(self, sid: str, queue: str, seq: int) -> None:
        q, live = self._holding(sid, queue, seq)
        self._detach(q, live)
        q.messages.pop(seq, None)
        q.acked += 1
        done = self.storage.delete_queue_messages(queue, [seq], acked=1)
        self.pump(q)
        await done

    async def nack(self, sid: str, queue: str, seq: int, requeue: bool) -> None:
        q, live = self._holding(sid, queue, seq)
        self._detach(q, live)
        if requeue:
            self._fail_delivery(q, live)
        else:
            self._bury(q, live)
        done = self.storage.save_queue_messages([live.rec])
        self.pump(q)
        await done

    async def requeue(self, queue: str, seq: int) -> None:
        q = self.queues.get(queue)
        live = q.dead.pop(seq, None) if q else None
        if q is None or live is None:
            raise not_dead(queue, seq)
        live.rec.attempt = 1
        live.rec.state = "ready"
        live.rec.rank = q.take_rank()
        q.messages[seq] = live
        heapq.heappush(q.ready, (live.rec.rank, seq))
        done = self.storage.save_queue_messages([live.rec])
        self.pump(q)
        await done

    async def purge(self, queue: str) -> int:
        """Remove waiting messages (of ``Q``) or dead ones (of ``Q.dead``); in-flight
        messages are left to their consumers."""
        base, dead = split_dead(queue)
        q = self.queues.get(base)
        if q is None:
            return 0
        if dead:
            seqs = list(q.dead)
            q.dead.clear()
        else:
            seqs = [seq for _, seq in q.ready]
            q.ready.clear()
            for seq in seqs:
                q.messages.pop(seq, None)
        if seqs:
            await self.storage.delete_queue_messages(base, seqs)
        return len(seqs)

    async def delete(self, queue: str) -> int:
        q = self.queues.get(queue)
        if q is None:
            await self.storage.delete_queue(queue)  # maybe only its ids are left
            return 0
        if q.consumers or q.inflight:
            raise busy(queue, len(q.consumers), q.inflight)
        removed = len(q.messages) + len(q.dead)
        del self.queues[queue]
        await self.storage.delete_queue(queue)
        return removed

    async def peek(self, queue: str, limit: int) -> list[dict[str, Any]]:
        base, dead = split_dead(queue)
        q = self.queues.get(base)
        if q is None:
            return []
        if dead:
            ordered = sorted(q.dead.values(), key=lambda live: live.rec.rank)[:limit]
            return [deliver_shape(live.rec, queue) for live in ordered]
        return [deliver_shape(q.messages[seq].rec) for _, seq in heapq.nsmallest(limit, q.ready)]

    async def stats(self) -> list[dict[str, Any]]:
        return [{"queue": q.name, "depth": len(q.ready), "inflight": q.inflight,
                 "consumers": len(q.consumers), "acked": q.acked, "dead": len(q.dead)}
                for q in sorted(self.queues.values(), key=lambda q: q.name)]

