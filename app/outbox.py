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
  and only where a namespace extension says where it goes (the bundled server's /chat
  and /queue); stored args are what the user gave.
- The SQL is in `app.outbox_rows`; the sending loop in `app.flusher`.
"""

from __future__ import annotations

import asyncio
import builtins
import logging
import time
import uuid
from collections.abc import Iterable
from typing import Any

from app import binary
from app import db as dbmod
from app.keys import outbox_key
from app.outbox_rows import OutboxMessage, OutboxRows, OutboxState
from app.signals import Signal
from app.store import MessageStore, StoredMessage, describe

__all__ = ["Outbox", "OutboxError", "OutboxFull", "OutboxMessage", "OutboxState", "new_id"]

log = logging.getLogger(__name__)

#: Acks are written in batches: after this many seconds, or at once when this many wait.
ACK_BATCH_DELAY = 0.005
ACK_BATCH_MAX = 64


class OutboxFull(Exception):
    """The outbox holds `outbox_limit` unsent messages; nothing more is accepted."""


class OutboxError(Exception):
    """An outbox operation that does not apply (e.g. editing a message already sent)."""


def new_id() -> str:
    """A fresh message id (uuid4 hex)."""
    return uuid.uuid4().hex


def stored_args(args: Iterable[Any]) -> builtins.list[Any]:
    """Arguments as the outbox keeps them: bytes in the `{"$binary": ...}` notation
    (turned back into bytes only when written, `app.binary.to_wire`). Raises
    `app.binary.BinaryError` (a ValueError) for a notation that is not valid base64,
    so a bad payload is refused when it is given, not when it is sent."""
    payload = list(args)
    binary.to_wire(payload)
    return binary.to_notation(payload)


class Outbox:
    """Durable FIFO of outbound messages per namespace, sharing the store's database.

    Synchronous by design: an enqueue is one small committed transaction, so `emit()`
    can return an already-durable message without awaiting anything.
    """

    def __init__(self, store: MessageStore, limit: int = 100_000, ttl: float | None = None,
                 user: str | None = None, resend_sent: bool = True) -> None:
        """`resend_sent`: what to do with messages a crash left `sent` (written, or about
        to be, with no ack recorded): queue them again (a server that drops
        duplicates), or make them `no_ack` so nothing is sent twice behind the user's
        back."""
        self.store = store
        self.rows = OutboxRows(store)
        self.limit = limit
        self.ttl = ttl
        self.user = user
        self.changed: Signal[OutboxMessage] = Signal("outbox.changed")
        #: fires with a namespace whenever it has new work (enqueue, retry, requeue)
        self.wakeup: Signal[str] = Signal("outbox.wakeup")
        self._expiry_handle: asyncio.TimerHandle | None = None
        self._acks: list[tuple[OutboxMessage, OutboxState, Any, str | None,
                               list[Any] | None]] = []
        self._acks_handle: asyncio.TimerHandle | None = None
        if resend_sent:
            self.requeue_sent(None)
        else:
            self.give_up_sent("SockDesk stopped before the ack came; not sent again, "
                              "because this server may not drop duplicates (resend it "
                              "if it did not arrive)")

    # ---- accepting -----------------------------------------------------------------

    def enqueue(self, namespace: str, event: str, *args: Any, ack: bool = True,
                ttl: float | None = None, msg_id: str | None = None,
                ack_timeout: float | None = None) -> OutboxMessage:
        """Accept one message; it is committed to disk when this returns.

        `msg_id` is the id to keep (the user's own dedupe id, lifted from the payload by
        the namespace's extension); without one a fresh id is made. `ack_timeout` is
        kept with the message (None: the session's).
        """
        return self.enqueue_many([(namespace, event, list(args))], ack=ack, ttl=ttl,
                                 ids=[msg_id] if msg_id else None,
                                 ack_timeout=ack_timeout)[0]

    def enqueue_many(self, items: Iterable[tuple[str, str, list[Any]]], ack: bool = True,
                     ttl: float | None = None, ids: list[str | None] | None = None,
                     ack_timeout: float | None = None) -> list[OutboxMessage]:
        """Accept many messages in ONE transaction (replay of 10k = one commit).

        Binary (bytes or the notation) is kept in the notation; BinaryError (a
        ValueError) for invalid base64, before anything is written."""
        items = [(ns, event, stored_args(args)) for ns, event, args in items]
        if ack_timeout is not None and not ack_timeout > 0:
            raise ValueError(f"ack_timeout must be a number of seconds above 0, got "
                             f"{ack_timeout!r}")
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
            mid = given or new_id()
            payload = list(args)
            sm = describe(ns, event, payload, "out", outbox_key(ns), ts=now, me=self.user)
            sm.msg_id = mid
            sm.state = OutboxState.QUEUED.value
            sm.offset = None
            sm.ack_timeout = ack_timeout
            rows.append(sm)
            msgs.append(OutboxMessage(id=mid, namespace=ns, event=event, args=payload,
                                      ack=ack, created=now, expires=expires,
                                      ack_timeout=ack_timeout))
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
        return self.rows.depth(namespace)

    def namespaces_pending(self) -> list[str]:
        """Namespaces that have queued or sent messages (what `flush` must connect to)."""
        return self.rows.namespaces_pending()

    def get(self, msg_id: str) -> OutboxMessage | None:
        """A message by its id."""
        self.write_pending_acks()
        return self.rows.get(msg_id)

    def list(self, namespace: str | None = None,
             states: Iterable[OutboxState | str] | None = None,
             limit: int = 10_000) -> list[OutboxMessage]:
        """Outbox messages, oldest first, optionally filtered by namespace and states."""
        self.write_pending_acks()
        return self.rows.select(namespace, states, limit)

    def next_queued(self, namespace: str, limit: int) -> builtins.list[OutboxMessage]:
        """The oldest `limit` queued messages of a namespace."""
        return self.rows.next_queued(namespace, limit)

    # ---- state changes (flusher side) ----------------------------------------------

    def mark_sent(self, msgs: builtins.list[OutboxMessage]) -> None:
        """queued -> sent for a batch about to be written (one transaction)."""
        with dbmod.transaction(self.store.conn) as c:
            for m in msgs:
                self.rows.set_state(c, m, OutboxState.SENT, attempt=True)
        for m in msgs:
            self.changed.emit(m)

    def settle(self, m: OutboxMessage, state: OutboxState, reply: Any = None,
               error: str | None = None, reply_args: builtins.list[Any] | None = None
               ) -> None:
        """Record an ack / failure. Batched: acks arriving within ACK_BATCH_DELAY share
        one transaction (acks are handled one by one as they are read, so "the same loop
        tick" would mostly batch one); a full batch is written at once.

        Losing this write in a crash is harmless: the row is still `sent`, so it is
        resent on the next start and the bundled server answers the duplicate with the
        original ack. Readers (`get`, `list`) write pending acks first.
        """
        self._acks.append((m, state, reply, error, reply_args))
        if len(self._acks) >= ACK_BATCH_MAX:
            self.write_pending_acks()
        elif self._acks_handle is None:
            try:
                self._acks_handle = asyncio.get_running_loop().call_later(
                    ACK_BATCH_DELAY, self.write_pending_acks)
            except RuntimeError:
                self.write_pending_acks()

    def write_pending_acks(self) -> None:
        """Write the acks waiting for their batch now (readers call this first)."""
        if self._acks_handle is not None:
            self._acks_handle.cancel()
            self._acks_handle = None
        if not self._acks:
            return
        batch, self._acks = self._acks, []
        done: builtins.list[OutboxMessage] = []
        with dbmod.transaction(self.store.conn) as c:
            for m, state, reply, error, reply_args in batch:
                if self.rows.set_state(c, m, state, error=error, reply=reply,
                                       reply_args=reply_args):
                    done.append(m)
        for m in done:
            self.changed.emit(m)

    def requeue(self, m: OutboxMessage) -> None:
        """sent -> queued for one message (an ack timeout that will be retried)."""
        with dbmod.transaction(self.store.conn) as c:
            self.rows.set_state(c, m, OutboxState.QUEUED)
        self.changed.emit(m)
        self.wakeup.emit(m.namespace)

    def give_up_sent(self, error: str) -> int:
        """Every `sent` row becomes `no_ack` with `error` (see `__init__`)."""
        msgs = self.rows.select(None, [OutboxState.SENT], self.limit + 1)
        if msgs:
            with dbmod.transaction(self.store.conn) as c:
                for m in msgs:
                    self.rows.set_state(c, m, OutboxState.NO_ACK, error=error)
            for m in msgs:
                self.changed.emit(m)
        return len(msgs)

    def requeue_sent(self, namespace: str | None) -> int:
        """Every `sent` row (of a namespace, or all) back to `queued`: after a disconnect
        or a crash nobody will deliver their acks any more."""
        self.write_pending_acks()
        namespaces = self.rows.requeue_sent(namespace)
        for ns in dict.fromkeys(namespaces):
            self.wakeup.emit(ns)
        return len(namespaces)

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
        m = self._require(msg_id, (OutboxState.QUEUED, OutboxState.FAILED,
                                   OutboxState.NO_ACK), "cancel")
        with dbmod.transaction(self.store.conn) as c:
            self.store.delete_rows(c, [m.rowid])
        m.state = OutboxState.CANCELLED
        self.changed.emit(m)
        return m

    def edit(self, msg_id: str, args: builtins.list[Any]) -> OutboxMessage:
        """Replace the arguments of a queued or failed message (its id is kept)."""
        m = self._require(msg_id, (OutboxState.QUEUED, OutboxState.FAILED,
                                   OutboxState.NO_ACK), "edit")
        payload = stored_args(args)
        sm = describe(m.namespace, m.event, payload, "out", m.queue)
        with dbmod.transaction(self.store.conn) as c:
            self.store.update_args(c, m.rowid, payload, sm.text)
        m.args = payload
        self.changed.emit(m)
        return m

    def retry(self, msg_id: str) -> OutboxMessage:
        """Put a failed message back in the queue, at its original position."""
        m = self._require(msg_id, (OutboxState.FAILED, OutboxState.NO_ACK), "retry")
        expires = time.time() + self.ttl if self.ttl else None
        with dbmod.transaction(self.store.conn) as c:
            self.rows.set_state(c, m, OutboxState.QUEUED)
            self.rows.reset_for_retry(c, m, expires)
        m.expires, m.attempts = expires, 0
        self.changed.emit(m)
        self.wakeup.emit(m.namespace)
        if expires:
            self._schedule_expiry(expires)
        return m

    # ---- expiry --------------------------------------------------------------------

    def expire_due(self, now: float | None = None) -> builtins.list[OutboxMessage]:
        """Mark queued messages past their ttl as failed("expired"): never dropped silently."""
        now = time.time() if now is None else now
        msgs = self.rows.due(now)
        if msgs:
            with dbmod.transaction(self.store.conn) as c:
                for m in msgs:
                    self.rows.set_state(c, m, OutboxState.FAILED, error="expired")
            for m in msgs:
                self.changed.emit(m)
        nxt = self.rows.next_expiry()
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
        self.write_pending_acks()
        if self._expiry_handle is not None:
            self._expiry_handle.cancel()
            self._expiry_handle = None
