"""The outbox's rows: its message type, its states, and every SQL statement on them.

Outbox rows live in the store's `messages` table (queue `outbox:<ns>`, with a `state`), so
the Queues tab shows the outbox like any queue and its counters come for free. This module
is the storage side of the outbox: `Outbox` decides *what* happens to a message, and says
so through these methods; only here (and in `app.store`) is there SQL.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app import db as dbmod
from app import jsonmod
from app.keys import Kind, outbox_key, parse_key
from app.store import decode_reply, encode_args

if TYPE_CHECKING:
    import sqlite3

    from app.store import MessageStore


class OutboxState(enum.StrEnum):
    """Where a message is in its life; CANCELLED is only ever seen in `changed`."""

    QUEUED = "queued"
    SENT = "sent"
    ACKED = "acked"
    FAILED = "failed"
    #: written once, its ack never came, and the server may not drop a second copy:
    #: done as far as sending goes; the user may send it again (`retry`)
    NO_ACK = "no_ack"
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
    #: the ack as one value: its only argument, a list of several, None for none
    reply: Any = None
    volatile: bool = False
    #: the ack's arguments exactly (binary in the `{"$binary": ...}` notation); None
    #: while no ack came
    reply_args: list[Any] | None = None
    #: this message's own ack timeout in seconds; None: the session's `ack_timeout`
    ack_timeout: float | None = None

    @property
    def queue(self) -> str:
        """The store queue this message is kept in."""
        return outbox_key(self.namespace)


_SELECT = ("SELECT id, msg_id, namespace, event, args, state, want_ack, error, attempts, ts, "
           "expires, reply, reply_args, ack_timeout FROM messages")


def _msg(r: Sequence[Any]) -> OutboxMessage:
    reply_args = decode_reply(r[11], r[12])
    return OutboxMessage(rowid=r[0], id=r[1], namespace=r[2], event=r[3],
                         args=jsonmod.loads(r[4]), state=OutboxState(r[5]),
                         ack=bool(r[6]), error=r[7], attempts=r[8] or 0, created=r[9],
                         expires=r[10], reply=jsonmod.loads(r[11]) if r[11] else None,
                         reply_args=reply_args, ack_timeout=r[13])


def _namespace_of(queue: str) -> str:
    key = parse_key(queue)
    return key.namespace if key is not None else queue.partition(":")[2]


class OutboxRows:
    """SQL over the outbox rows of one store (same connection, same transactions)."""

    def __init__(self, store: MessageStore) -> None:
        self.store = store
        self.conn = store.conn

    # ---- reading -------------------------------------------------------------------

    def depth(self, namespace: str | None = None) -> int:
        """Messages not done yet (queued + sent), for one namespace or all."""
        if namespace is not None:
            r = self.conn.execute("SELECT queued + sent FROM queue_counts WHERE queue = ?",
                                  (outbox_key(namespace),)).fetchone()
            return int(r[0]) if r else 0
        r = self.conn.execute("SELECT coalesce(sum(queued + sent), 0) FROM queue_counts "
                              "WHERE queue LIKE 'outbox:%'").fetchone()
        return int(r[0])

    def namespaces_pending(self) -> list[str]:
        """Namespaces that have queued or sent messages."""
        rows = self.conn.execute("SELECT queue FROM queue_counts WHERE queue LIKE 'outbox:%' "
                                 "AND queued + sent > 0 ORDER BY queue").fetchall()
        return [_namespace_of(r[0]) for r in rows]

    def get(self, msg_id: str) -> OutboxMessage | None:
        """The newest outbox message with this id."""
        r = self.conn.execute(f"{_SELECT} WHERE msg_id = ? AND state IS NOT NULL "
                              "AND queue LIKE 'outbox:%' ORDER BY id DESC LIMIT 1",
                              (msg_id,)).fetchone()
        return _msg(r) if r else None

    def select(self, namespace: str | None, states: Iterable[OutboxState | str] | None,
             limit: int) -> list[OutboxMessage]:
        """Outbox messages, oldest first, optionally filtered by namespace and states."""
        sql = f"{_SELECT} WHERE state IS NOT NULL"
        params: list[Any] = []
        if namespace is not None:
            sql += " AND queue = ?"
            params.append(outbox_key(namespace))
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
            "ORDER BY id LIMIT ?", (outbox_key(namespace), limit)).fetchall()
        return [_msg(r) for r in rows]

    def due(self, now: float) -> list[OutboxMessage]:
        """Queued messages whose time to live has run out."""
        rows = self.conn.execute(
            f"{_SELECT} INDEXED BY messages_pending WHERE state IN ('queued', 'sent') "
            "AND state = 'queued' AND expires IS NOT NULL AND expires <= ?", (now,)).fetchall()
        return [_msg(r) for r in rows]

    def next_expiry(self) -> float | None:
        """When the next queued message expires, if any does."""
        r = self.conn.execute("SELECT min(expires) FROM messages INDEXED BY messages_pending "
                              "WHERE state IN ('queued', 'sent') AND state = 'queued' "
                              "AND expires IS NOT NULL").fetchone()
        return r[0] if r else None

    # ---- writing (each inside the caller's transaction) -----------------------------

    def set_state(self, c: sqlite3.Connection, m: OutboxMessage, new: OutboxState,
                  error: str | None = None, reply: Any = None, attempt: bool = False,
                  reply_args: list[Any] | None = None) -> bool:
        """Move one row to `new` if it still exists in the expected state; keeps counters.
        `reply_args` are the ack's arguments exactly, `reply` the same as one value."""
        r = c.execute("SELECT state FROM messages WHERE id = ?", (m.rowid,)).fetchone()
        if r is None or r[0] is None:
            return False
        old = r[0]
        c.execute("UPDATE messages SET state = ?, error = ?, reply = ?, reply_args = ?, "
                  "updated = ?, attempts = attempts + ? WHERE id = ?",
                  (new.value, error, jsonmod.dumps(reply) if reply is not None else None,
                   encode_args(reply_args) if reply_args is not None else None,
                   time.time(), int(attempt), m.rowid))
        self.store.bump_state(c, m.queue, old, new.value)
        m.state, m.error = new, error
        if reply is not None:
            m.reply = reply
        if reply_args is not None:
            m.reply_args = reply_args
        if attempt:
            m.attempts += 1
        return True

    def requeue_sent(self, namespace: str | None) -> list[str]:
        """Every `sent` row (of a namespace, or all) back to `queued`, in one transaction;
        returns the namespaces that got work back (one entry per row)."""
        # messages_pending holds only queued and sent rows; SQLite would otherwise walk
        # messages_outbox_id, every outbox message ever acked included
        sql = ("SELECT id, queue FROM messages INDEXED BY messages_pending "
               "WHERE state IN ('queued', 'sent') AND state = 'sent'")
        params: tuple[Any, ...] = ()
        if namespace is not None:
            sql = ("SELECT id, queue FROM messages WHERE queue = ? AND state IN "
                   "('queued', 'sent') AND state = 'sent'")
            params = (outbox_key(namespace),)
        with dbmod.transaction(self.conn) as c:
            rows = c.execute(sql, params).fetchall()
            for rid, queue in rows:
                c.execute("UPDATE messages SET state = 'queued', updated = ? WHERE id = ?",
                          (time.time(), rid))
                self.store.bump_state(c, queue, "sent", "queued")
        return [_namespace_of(q) for _, q in rows]

    def reset_for_retry(self, c: sqlite3.Connection, m: OutboxMessage,
                        expires: float | None) -> None:
        """A retried message starts its attempts and its time to live over."""
        c.execute("UPDATE messages SET expires = ?, attempts = 0 WHERE id = ?",
                  (expires, m.rowid))


def is_outbox(queue: str) -> bool:
    """True for an outbox queue key."""
    return queue.startswith(Kind.OUTBOX.value + ":")
