"""The durable outbox: every non-volatile emit is committed here before it is sent.

Rows live in the store's `messages` table under queue `outbox:<ns>` with a `state`:

    queued --send--> sent --ack--> acked
      ^               |  \\--ack {ok: false} / no ack after max_attempts--> failed
      |               |                                                       |
      +--disconnect---+  (python-socketio forgets ack callbacks)              |
      +-------------------------------retry-----------------------------------+
    queued --ttl--> failed("expired")        queued|failed --cancel--> (deleted)

Decisions (documented for users in docs/DESIGN.md):
- Ack timeout while still connected: the message is sent again with the same id (the
  bundled server drops the copy and re-acks), up to `max_attempts` sends; then it is
  `failed` with "no acknowledgement ...". A disconnect puts every `sent` row back to
  `queued` without counting an attempt, and they go out again in rowid (FIFO) order.
- A failed message does not block the ones after it: FIFO is the order of *sending*;
  a failure is reported and can be retried, keeping its original position.
- On open, `sent` rows left by a crash are `queued` again: nothing accepted is lost.
- The stable id is kept in the row (`msg_id`) and put into the payload only on the wire,
  and only towards the bundled server (see `with_id`); stored args are what the user gave.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from app import db as dbmod
from app import jsonmod
from app.signals import Signal
from app.store import MessageStore, StoredMessage, describe

log = logging.getLogger(__name__)

#: Acks are written in batches: after this many seconds, or at once when this many wait.
ACK_BATCH_DELAY = 0.005
ACK_BATCH_MAX = 64

#: (namespace, event) pairs of the bundled server that dedupe on a payload `id`.
ID_FIELD_EVENTS = {("/chat", "message"), ("/chat", "dm"), ("/queue", "publish")}


class OutboxState(enum.StrEnum):
    """Where a message is in its life; CANCELLED is only ever seen in `changed`."""

    QUEUED = "queued"
    SENT = "sent"
    ACKED = "acked"
    FAILED = "failed"
    CANCELLED = "cancelled"


class OutboxFull(Exception):
    """The outbox holds `outbox_limit` unsent messages; nothing more is accepted."""


class OutboxError(Exception):
    """An outbox operation that does not apply (e.g. editing a message already sent)."""


@dataclass
class OutboxMessage:
    """One outbound message and its delivery state."""

    id: str
    namespace: str
    event: str
    args: list[Any]
    state: OutboxState = OutboxState.QUEUED
    ack: bool = True
    rowid: int = 0
    error: str | None = None
    attempts: int = 0
    created: float = field(default_factory=time.time)
    expires: float | None = None
    reply: Any = None
    volatile: bool = False

    @property
    def queue(self) -> str:
        """The store queue this message is kept in."""
        return f"outbox:{self.namespace}"


def with_id(namespace: str, event: str, args: list[Any], msg_id: str) -> list[Any]:
    """Put the stable id into the payload where the bundled server looks for it.

    Only for its /chat message|dm and /queue publish, only when the first argument is an
    object that has no id yet; the session calls this only for a server that introduced
    itself as the bundled one (`welcome`), so other servers get payloads as given.
    """
    if (namespace, event) in ID_FIELD_EVENTS and args and isinstance(args[0], dict) \
            and "id" not in args[0]:
        first = dict(args[0])
        first["id"] = msg_id
        return [first, *args[1:]]
    return list(args)


def new_id() -> str:
    """A fresh message id (uuid4 hex)."""
    return uuid.uuid4().hex


_SELECT = ("SELECT id, msg_id, namespace, event, args, state, want_ack, error, attempts, ts, "
           "expires, reply FROM messages")


def _msg(r: Sequence[Any]) -> OutboxMessage:
    return OutboxMessage(rowid=r[0], id=r[1], namespace=r[2], event=r[3],
                         args=jsonmod.loads(r[4]), state=OutboxState(r[5]),
                         ack=bool(r[6]), error=r[7], attempts=r[8] or 0, created=r[9],
                         expires=r[10], reply=jsonmod.loads(r[11]) if r[11] else None)


class Outbox:
    """Durable FIFO of outbound messages per namespace, sharing the store's database.

    Synchronous by design: an enqueue is one small committed transaction, so `emit()`
    can return an already-durable message without awaiting anything.
    """

    def __init__(self, store: MessageStore, limit: int = 100_000, ttl: float | None = None,
                 user: str | None = None) -> None:
        self.store = store
        self.conn = store.conn
        self.limit = limit
        self.ttl = ttl
        self.user = user
        self.changed: Signal[OutboxMessage] = Signal("outbox.changed")
        #: fires with a namespace whenever it has new work (enqueue, retry, requeue)
        self.wakeup: Signal[str] = Signal("outbox.wakeup")
        self._expiry_handle: asyncio.TimerHandle | None = None
        self._acks: list[tuple[OutboxMessage, OutboxState, Any, str | None]] = []
        self._acks_handle: asyncio.TimerHandle | None = None
        self.requeue_sent(None)

    # ---- accepting -----------------------------------------------------------------

    def enqueue(self, namespace: str, event: str, *args: Any, ack: bool = True,
                ttl: float | None = None, msg_id: str | None = None) -> OutboxMessage:
        """Accept one message; it is committed to disk when this returns."""
        return self.enqueue_many([(namespace, event, list(args))], ack=ack, ttl=ttl,
                                 ids=[msg_id] if msg_id else None)[0]

    def enqueue_many(self, items: Iterable[tuple[str, str, list[Any]]], ack: bool = True,
                     ttl: float | None = None, ids: list[str | None] | None = None
                     ) -> list[OutboxMessage]:
        """Accept many messages in ONE transaction (replay of 10k = one commit)."""
        items = list(items)
        if not items:
            return []
        waiting = self.depth()
        if waiting + len(items) > self.limit:
            raise OutboxFull(
                f"The outbox is full: {waiting} messages are waiting and the limit is "
                f"{self.limit}; send or cancel some first.")
        ttl = self.ttl if ttl is None else ttl
        now = time.time()
        expires = now + ttl if ttl else None
        rows: list[StoredMessage] = []
        msgs: list[OutboxMessage] = []
        for i, (ns, event, args) in enumerate(items):
            given = ids[i] if ids and i < len(ids) else None
            first = args[0] if args and isinstance(args[0], dict) else None
            if given is None and first is not None and (ns, event) in ID_FIELD_EVENTS \
                    and isinstance(first.get("id"), str) and first["id"]:
                given = first["id"]
            mid = given or new_id()
            payload = list(args)
            sm = describe(ns, event, payload, "out", f"outbox:{ns}", ts=now, me=self.user)
            sm.msg_id = mid
            sm.state = OutboxState.QUEUED.value
            sm.offset = None
            rows.append(sm)
            msgs.append(OutboxMessage(id=mid, namespace=ns, event=event, args=payload,
                                      ack=ack, created=now, expires=expires))
        inserted = self.store.insert(rows, outbox={"want_ack": int(ack), "expires": expires})
        for m, sm in zip(msgs, inserted, strict=True):
            m.rowid = sm.rowid
        for m in msgs:
            self.changed.emit(m)
        for ns in dict.fromkeys(m.namespace for m in msgs):
            self.wakeup.emit(ns)
        if expires:
            self._schedule_expiry(expires)
        return msgs

    # ---- reading -------------------------------------------------------------------

    def depth(self, namespace: str | None = None) -> int:
        """Messages not done yet (queued + sent), for one namespace or all."""
        if namespace is not None:
            r = self.conn.execute("SELECT queued + sent FROM queue_counts WHERE queue = ?",
                                  (f"outbox:{namespace}",)).fetchone()
            return int(r[0]) if r else 0
        r = self.conn.execute("SELECT coalesce(sum(queued + sent), 0) FROM queue_counts "
                              "WHERE queue LIKE 'outbox:%'").fetchone()
        return int(r[0])

    def namespaces_pending(self) -> list[str]:
        """Namespaces that have queued or sent messages (what `flush` must connect to)."""
        rows = self.conn.execute("SELECT queue FROM queue_counts WHERE queue LIKE 'outbox:%' "
                                 "AND queued + sent > 0 ORDER BY queue").fetchall()
        return [r[0].split(":", 1)[1] for r in rows]

    def get(self, msg_id: str) -> OutboxMessage | None:
        """A message by its id."""
        self._flush_acks()
        r = self.conn.execute(f"{_SELECT} WHERE msg_id = ? AND state IS NOT NULL "
                              "AND queue LIKE 'outbox:%' ORDER BY id DESC LIMIT 1",
                              (msg_id,)).fetchone()
        return _msg(r) if r else None

    def list(self, namespace: str | None = None,
             states: Iterable[OutboxState | str] | None = None,
             limit: int = 10_000) -> list[OutboxMessage]:
        """Outbox messages, oldest first, optionally filtered by namespace and states."""
        self._flush_acks()
        sql = f"{_SELECT} WHERE state IS NOT NULL"
        params: list[Any] = []
        if namespace is not None:
            sql += " AND queue = ?"
            params.append(f"outbox:{namespace}")
        else:
            sql += " AND queue LIKE 'outbox:%'"
        if states is not None:
            vals = [OutboxState(s).value for s in states]
            sql += f" AND state IN ({','.join('?' * len(vals))})"
            params.extend(vals)
        sql += " ORDER BY id LIMIT ?"
        params.append(limit)
        return [_msg(r) for r in self.conn.execute(sql, params)]

    def next_queued(self, namespace: str, limit: int) -> list[OutboxMessage]:
        """The oldest `limit` queued messages of a namespace (uses the pending index)."""
        rows = self.conn.execute(
            f"{_SELECT} WHERE queue = ? AND state IN ('queued', 'sent') AND state = 'queued' "
            "ORDER BY id LIMIT ?", (f"outbox:{namespace}", limit)).fetchall()
        return [_msg(r) for r in rows]

    # ---- state changes (flusher side) ----------------------------------------------

    def _set_state(self, c: Any, m: OutboxMessage, new: OutboxState,
                   error: str | None = None, reply: Any = None, attempt: bool = False) -> bool:
        """Move one row to `new` if it still exists in the expected state; keeps counters."""
        r = c.execute("SELECT state FROM messages WHERE id = ?", (m.rowid,)).fetchone()
        if r is None or r[0] is None:
            return False
        old = r[0]
        c.execute("UPDATE messages SET state = ?, error = ?, reply = ?, updated = ?, "
                  "attempts = attempts + ? WHERE id = ?",
                  (new.value, error, jsonmod.dumps(reply) if reply is not None else None,
                   time.time(), int(attempt), m.rowid))
        self.store.bump_state(c, m.queue, old, new.value)
        m.state, m.error = new, error
        if reply is not None:
            m.reply = reply
        if attempt:
            m.attempts += 1
        return True

    def mark_sent(self, msgs: list[OutboxMessage]) -> None:
        """queued -> sent for a batch about to be written (one transaction)."""
        with dbmod.transaction(self.conn) as c:
            for m in msgs:
                self._set_state(c, m, OutboxState.SENT, attempt=True)
        for m in msgs:
            self.changed.emit(m)

    def settle(self, m: OutboxMessage, state: OutboxState, reply: Any = None,
               error: str | None = None) -> None:
        """Record an ack / failure. Batched: acks arriving within ACK_BATCH_DELAY share
        one transaction (acks are handled one by one as they are read, so "the same loop
        tick" would mostly batch one); a full batch is written at once.

        Losing this write in a crash is harmless: the row is still `sent`, so it is
        resent on the next start and the bundled server answers the duplicate with the
        original ack. Readers (`get`, `list`) write pending acks first.
        """
        self._acks.append((m, state, reply, error))
        if len(self._acks) >= ACK_BATCH_MAX:
            self._flush_acks()
        elif self._acks_handle is None:
            try:
                self._acks_handle = asyncio.get_running_loop().call_later(
                    ACK_BATCH_DELAY, self._flush_acks)
            except RuntimeError:
                self._flush_acks()

    def _flush_acks(self) -> None:
        if self._acks_handle is not None:
            self._acks_handle.cancel()
            self._acks_handle = None
        if not self._acks:
            return
        batch, self._acks = self._acks, []
        done: list[OutboxMessage] = []
        with dbmod.transaction(self.conn) as c:
            for m, state, reply, error in batch:
                if self._set_state(c, m, state, error=error, reply=reply):
                    done.append(m)
        for m in done:
            self.changed.emit(m)

    def requeue(self, m: OutboxMessage) -> None:
        """sent -> queued for one message (an ack timeout that will be retried)."""
        with dbmod.transaction(self.conn) as c:
            self._set_state(c, m, OutboxState.QUEUED)
        self.changed.emit(m)
        self.wakeup.emit(m.namespace)

    def requeue_sent(self, namespace: str | None) -> int:
        """Every `sent` row (of a namespace, or all) back to `queued`: after a disconnect
        or a crash nobody will deliver their acks any more."""
        self._flush_acks()
        # messages_pending holds only queued and sent rows; SQLite would otherwise walk
        # messages_outbox_id, every outbox message ever acked included
        sql = ("SELECT id, queue FROM messages INDEXED BY messages_pending "
               "WHERE state IN ('queued', 'sent') AND state = 'sent'")
        params: tuple[Any, ...] = ()
        if namespace is not None:
            sql = ("SELECT id, queue FROM messages WHERE queue = ? AND state IN "
                   "('queued', 'sent') AND state = 'sent'")
            params = (f"outbox:{namespace}",)
        with dbmod.transaction(self.conn) as c:
            rows = c.execute(sql, params).fetchall()
            for rid, queue in rows:
                c.execute("UPDATE messages SET state = 'queued', updated = ? WHERE id = ?",
                          (time.time(), rid))
                self.store.bump_state(c, queue, "sent", "queued")
        if rows:
            for ns in {q.split(":", 1)[1] for _, q in rows}:
                self.wakeup.emit(ns)
        return len(rows)

    # ---- user operations -----------------------------------------------------------

    def _require(self, msg_id: str, allowed: tuple[OutboxState, ...], verb: str
                 ) -> OutboxMessage:
        m = self.get(msg_id)
        if m is None:
            raise OutboxError(f"There is no message {msg_id} in the outbox.")
        if m.state not in allowed:
            names = " or ".join(s.value for s in allowed)
            raise OutboxError(f"Cannot {verb} message {msg_id}: it is {m.state.value}, "
                              f"only {names} messages can be changed that way.")
        return m

    def cancel(self, msg_id: str) -> OutboxMessage:
        """Remove a queued or failed message for good (it was never delivered)."""
        m = self._require(msg_id, (OutboxState.QUEUED, OutboxState.FAILED), "cancel")
        with dbmod.transaction(self.conn) as c:
            self.store.delete_rows(c, [m.rowid])
        m.state = OutboxState.CANCELLED
        self.changed.emit(m)
        return m

    def edit(self, msg_id: str, args: list[Any]) -> OutboxMessage:
        """Replace the arguments of a queued or failed message (its id is kept)."""
        m = self._require(msg_id, (OutboxState.QUEUED, OutboxState.FAILED), "edit")
        payload = list(args)
        sm = describe(m.namespace, m.event, payload, "out", m.queue)
        with dbmod.transaction(self.conn) as c:
            self.store.update_args(c, m.rowid, payload, sm.text)
        m.args = payload
        self.changed.emit(m)
        return m

    def retry(self, msg_id: str) -> OutboxMessage:
        """Put a failed message back in the queue, at its original position."""
        m = self._require(msg_id, (OutboxState.FAILED,), "retry")
        expires = time.time() + self.ttl if self.ttl else None
        with dbmod.transaction(self.conn) as c:
            self._set_state(c, m, OutboxState.QUEUED)
            c.execute("UPDATE messages SET expires = ?, attempts = 0 WHERE id = ?",
                      (expires, m.rowid))
        m.expires, m.attempts = expires, 0
        self.changed.emit(m)
        self.wakeup.emit(m.namespace)
        if expires:
            self._schedule_expiry(expires)
        return m

    # ---- expiry --------------------------------------------------------------------

    def expire_due(self, now: float | None = None) -> list[OutboxMessage]:
        """Mark queued messages past their ttl as failed("expired"): never dropped silently."""
        now = time.time() if now is None else now
        rows = self.conn.execute(
            f"{_SELECT} INDEXED BY messages_pending WHERE state IN ('queued', 'sent') "
            "AND state = 'queued' AND expires IS NOT NULL AND expires <= ?", (now,)).fetchall()
        msgs = [_msg(r) for r in rows]
        if msgs:
            with dbmod.transaction(self.conn) as c:
                for m in msgs:
                    self._set_state(c, m, OutboxState.FAILED, error="expired")
            for m in msgs:
                self.changed.emit(m)
        nxt = self.conn.execute("SELECT min(expires) FROM messages INDEXED BY messages_pending "
                                "WHERE state IN ('queued', 'sent') AND state = 'queued' "
                                "AND expires IS NOT NULL").fetchone()[0]
        if nxt:
            self._schedule_expiry(nxt)
        return msgs

    def _schedule_expiry(self, when: float) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._expiry_handle is not None:
            if self._expiry_handle.when() - loop.time() <= when - time.time():
                return
            self._expiry_handle.cancel()
        delay = max(0.0, when - time.time()) + 0.01
        self._expiry_handle = loop.call_later(delay, self._expiry_fired)

    def _expiry_fired(self) -> None:
        self._expiry_handle = None
        self.expire_due()

    def close(self) -> None:
        """Write pending ack states and stop timers (the store closes the database)."""
        self._flush_acks()
        if self._expiry_handle is not None:
            self._expiry_handle.cancel()
            self._expiry_handle = None


class Transport(Protocol):
    """What a flusher needs from the session (kept abstract so it is testable alone)."""

    def is_ready(self, namespace: str) -> bool: ...

    async def write(self, namespace: str, event: str, args: list[Any],
                    callback: Callable[..., None] | None) -> None: ...

    async def before_send(self, msg: OutboxMessage) -> None: ...

    def wire_args(self, msg: OutboxMessage) -> list[Any]: ...


def ack_outcome(reply: tuple[Any, ...]) -> tuple[OutboxState, Any, str | None]:
    """Interpret an ack: {"ok": false, ...} fails the message; anything else acks it."""
    value: Any = reply[0] if len(reply) == 1 else list(reply) if reply else None
    if isinstance(value, dict) and value.get("ok") is False:
        err = value.get("error") or value.get("code") or "the server refused the message"
        return OutboxState.FAILED, value, str(err)
    return OutboxState.ACKED, value, None


class NamespaceFlusher:
    """Sends one namespace's queued messages in FIFO order, at most `window` in flight.

    The session calls `set_ready(True)` when the namespace is ready and `set_ready(False)`
    on a disconnect (which also returns everything in flight to `queued`).
    """

    def __init__(self, outbox: Outbox, namespace: str, transport: Transport, *,
                 window: int = 32, ack_timeout: float = 10.0, no_ack: bool = False,
                 max_attempts: int = 3) -> None:
        self.outbox = outbox
        self.namespace = namespace
        self.transport = transport
        self.window = max(1, window)
        self.refill_at = max(1, self.window // 2)
        self.ack_timeout = ack_timeout
        self.no_ack = no_ack
        self.max_attempts = max(1, max_attempts)
        self._ready = asyncio.Event()
        self._wake = asyncio.Event()
        self._inflight: dict[int, tuple[OutboxMessage, asyncio.TimerHandle | None]] = {}
        self._gen = 0
        self._timeouts: dict[int, int] = {}
        self._task: asyncio.Task[None] | None = None
        self.idle: Signal[str] = Signal("flusher.idle")
        outbox.wakeup.connect(self._on_wakeup)

    def _on_wakeup(self, ns: str) -> None:
        if ns == self.namespace:
            self._wake.set()

    def start(self) -> None:
        """Start the sending task (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"flusher {self.namespace}")

    async def stop(self) -> None:
        """Stop sending; in-flight messages go back to queued."""
        self.outbox.wakeup.disconnect(self._on_wakeup)
        self.set_ready(False)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
            self._task = None

    def set_ready(self, ready: bool) -> None:
        """Namespace became ready (start sending) or was lost (requeue what is in flight)."""
        if ready:
            self._ready.set()
            self._wake.set()
            return
        self._ready.clear()
        self._gen += 1
        for _, timer in self._inflight.values():
            if timer is not None:
                timer.cancel()
        self._inflight.clear()
        self.outbox.requeue_sent(self.namespace)

    @property
    def inflight(self) -> int:
        """How many messages wait for their ack right now."""
        return len(self._inflight)

    async def _run(self) -> None:
        while True:
            await self._ready.wait()
            room = self.window - len(self._inflight)
            # Refill in halves of the window, not one message per ack: one `mark_sent`
            # transaction then covers many messages, while half a window stays in flight.
            wanted = room > 0 and (not self._inflight or room >= self.refill_at)
            batch = self.outbox.next_queued(self.namespace, room) if wanted else []
            if not batch:
                if not self._inflight:
                    self.idle.emit(self.namespace)
                self._wake.clear()
                await self._wake.wait()
                continue
            now = time.time()
            live = []
            for m in batch:
                if m.expires is not None and m.expires <= now:
                    self.outbox.settle(m, OutboxState.FAILED, error="expired")
                else:
                    live.append(m)
            if not live:
                self.outbox._flush_acks()
                continue
            await self._send_batch(live)

    async def _send_batch(self, batch: list[OutboxMessage]) -> None:
        gen = self._gen
        self.outbox.mark_sent(batch)
        for i, m in enumerate(batch):
            if gen != self._gen or not self.transport.is_ready(self.namespace):
                self._requeue_rest(batch[i:], gen)
                return
            try:
                await self.transport.before_send(m)
            except Exception:
                log.debug("before_send failed for %s", m.id, exc_info=True)
            if gen != self._gen:
                self._requeue_rest(batch[i:], gen)
                return
            wants_ack = m.ack and not self.no_ack
            cb = self._make_callback(m, gen) if wants_ack else None
            if wants_ack:
                self._inflight[m.rowid] = (m, None)
            try:
                await self.transport.write(self.namespace, m.event,
                                           self.transport.wire_args(m), cb)
            except Exception as exc:
                log.debug("write failed for %s: %s", m.id, exc)
                self._inflight.pop(m.rowid, None)
                self._requeue_rest(batch[i:], gen)
                return
            if wants_ack:
                if m.rowid in self._inflight:
                    timer = asyncio.get_running_loop().call_later(
                        self.ack_timeout, self._on_timeout, m, gen)
                    self._inflight[m.rowid] = (m, timer)
            else:
                self.outbox.settle(m, OutboxState.ACKED)

    def _requeue_rest(self, rest: list[OutboxMessage], gen: int) -> None:
        """Messages marked sent but never written go back to queued."""
        if gen == self._gen:
            for m in rest:
                self._inflight.pop(m.rowid, None)
                self.outbox.requeue(m)
        # if the generation changed, set_ready(False) already requeued every sent row

    def _make_callback(self, m: OutboxMessage, gen: int) -> Callable[..., None]:
        def on_ack(*reply: Any) -> None:
            if gen != self._gen:
                return
            entry = self._inflight.pop(m.rowid, None)
            if entry is None:
                return
            if entry[1] is not None:
                entry[1].cancel()
            self._timeouts.pop(m.rowid, None)
            state, value, error = ack_outcome(reply)
            self.outbox.settle(m, state, reply=value, error=error)
            self._wake.set()
        return on_ack

    def _on_timeout(self, m: OutboxMessage, gen: int) -> None:
        if gen != self._gen or self._inflight.pop(m.rowid, None) is None:
            return
        n = self._timeouts[m.rowid] = self._timeouts.get(m.rowid, 0) + 1
        if n >= self.max_attempts:
            self._timeouts.pop(m.rowid, None)
            self.outbox.settle(m, OutboxState.FAILED, error=(
                f"no acknowledgement after {n} attempts "
                f"({self.ack_timeout:g} s each)"))
        else:
            self.outbox.requeue(m)
        self._wake.set()


async def wait_until(predicate: Callable[[], bool], signal: Signal[Any],
                     timeout: float | None) -> bool:
    """Wait until `predicate()` holds, re-checking after `signal` fires.

    The check runs once per loop turn however often the signal fired in it: an outbox
    flush fires `changed` for every message, and the predicate may be an SQL query.
    """
    if predicate():
        return True
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[None] = loop.create_future()
    due = False

    def check() -> None:
        nonlocal due
        due = False
        if not fut.done() and predicate():
            fut.set_result(None)

    def soon(*_: Any) -> None:
        nonlocal due
        if not due and not fut.done():
            due = True
            loop.call_soon(check)

    signal.connect(soon)
    try:
        await asyncio.wait_for(fut, timeout)
        return True
    except TimeoutError:
        return predicate()
    finally:
        signal.disconnect(soon)

