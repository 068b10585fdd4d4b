"""The persistence interfaces the server talks to.

:class:`Storage` holds everything of ``/chat`` that must survive a restart: room messages
with their per-room offsets, direct messages waiting for an offline user, and the dedupe
ids; plus what belongs to the server as a whole: its history id and the claimed user
names. It has two implementations, chosen at start-up: SQLite (embedded, the default) and
Redis (``--redis``, shared by several server processes). Identity decisions that must be
atomic across processes (room offsets, dedupe by id) are therefore made *inside* the
storage and never in the namespace code.

:class:`QueueStore` is the persistence the in-process queue dispatcher needs (SQLite
only): with Redis the queues are not dispatched in memory at all, the whole queue state
machine runs in Redis (see :mod:`server_stub.queues.redisqueues`), so there is nothing to persist
separately.

Ordering rule: every data operation is a plain method that *queues* the operation when it
is called and returns an awaitable that completes once the change is durable (committed).
Because queuing happens at call time, not at the first ``await``, operations issued one
after another by the event loop take effect in that order, even when the caller does not
await them immediately (the queue dispatcher relies on that). Callers ack a client only
after awaiting.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Literal


class StorageError(Exception):
    """Opening or using the storage failed; the message is a sentence for the user."""


#: What a change entry does to the message it names.
ChangeKind = Literal["edit", "delete"]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    """One entry of a room's history; ``offset`` counts per room from 1 without gaps.

    Most entries are messages (``event`` None). An edit or a delete is an entry too, at
    the room's next offset (``event`` "edit" / "delete", ``id`` naming the message it
    changes, ``user`` its author), so ``since`` recovers changes like messages. A message
    entry read back from storage carries its latest state: the latest ``text`` and
    ``edited``, or ``deleted`` and no text. An edit entry of a message deleted later has
    no text either: a delete takes the text out of the history for good.
    """

    room: str
    offset: int
    user: str
    id: str
    text: str | None
    ts: str
    reply_to: str | None = None
    edited: bool = False
    deleted: bool = False
    event: ChangeKind | None = None

    def wire(self) -> dict[str, Any]:
        """The history entry: the live payload, plus ``event`` for a change."""
        entry = self.live()
        if self.event is not None:
            entry["event"] = self.event
        return entry

    def live(self) -> dict[str, Any]:
        """The payload of the live ``message`` / ``edit`` / ``delete`` event."""
        entry: dict[str, Any] = {"room": self.room, "user": self.user}
        if self.text is not None:
            entry["text"] = self.text
        entry.update(id=self.id, offset=self.offset, ts=self.ts)
        if self.reply_to is not None:
            entry["reply_to"] = self.reply_to
        if self.edited:
            entry["edited"] = True
        if self.deleted:
            entry["deleted"] = True
        return entry

    @property
    def live_event(self) -> str:
        """The event name this entry is broadcast as."""
        return self.event or "message"


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What an append did: ``duplicate`` means the (user, id) pair was already stored and
    ``message`` is the first one, unchanged."""

    message: ChatMessage
    duplicate: bool


ChangeStatus = Literal["changed", "repeated", "not_found", "forbidden", "deleted"]


@dataclass(frozen=True, slots=True)
class ChangeResult:
    """What an edit or delete did.

    ``changed``: stored as ``entry`` at the room's next offset. ``repeated``: it changes
    nothing (the same text again, or a delete of a deleted message), so nothing was
    stored and ``entry`` is the earlier change that made the message what it is (for an
    edit to the text it never lost, the message itself): a resend gets that ack.
    Otherwise ``entry`` is None: no such message in the room (``not_found``), someone
    else's (``forbidden``), or an edit of a deleted one (``deleted``).
    """

    status: ChangeStatus
    entry: ChatMessage | None = None


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """A slice of a room's history plus the room's latest offset."""

    messages: list[ChatMessage]
    last_offset: int
    more: bool


@dataclass(frozen=True, slots=True)
class DirectMessage:
    """A direct message from ``user`` to ``to``."""

    user: str
    to: str
    id: str
    text: str
    ts: str

    def wire(self) -> dict[str, Any]:
        """The ``dm`` event payload."""
        return {"user": self.user, "to": self.to, "text": self.text, "id": self.id,
                "ts": self.ts}


@dataclass(frozen=True, slots=True)
class DmResult:
    """``duplicate`` means the (user, id) pair was stored before; ``message`` is that one."""

    message: DirectMessage
    duplicate: bool


QueueState = Literal["ready", "inflight", "dead"]


@dataclass(slots=True)
class QueueRecord:
    """One work-queue message as stored.

    ``rank`` orders waiting messages (lower is delivered first); it is separate from
    ``seq`` because a message requeued from the dead letters goes to the tail yet keeps
    its ``seq``. ``attempt`` is the number of the current (in flight) or next (ready)
    delivery, or of the last one for a dead message.
    """

    queue: str
    seq: int
    id: str
    payload: Any
    attempt: int
    ts: str
    rank: int
    state: QueueState


@dataclass(frozen=True, slots=True)
class PublishResult:
    """``duplicate`` means (queue, id) was published before and ``seq`` is the first one."""

    seq: int
    duplicate: bool


@dataclass(slots=True)
class QueueSnapshot:
    """Everything the queue dispatcher needs at startup."""

    messages: list[QueueRecord] = field(default_factory=list)
    acked: dict[str, int] = field(default_factory=dict)


class Storage(abc.ABC):
    """Async persistence used by the namespaces; see the module docstring for ordering."""

    #: Random id (32 hex characters) made once when this store was created, kept for as
    #: long as the store lives. It goes out in every ``welcome``: a client that finds a
    #: different one under the same address knows the history it remembers is gone (the
    #: server was replaced or its data wiped), so its offsets mean nothing any more.
    history_id: str = ""

    @abc.abstractmethod
    async def open(self) -> None:
        """Open or create the store and set :attr:`history_id`; raise
        :class:`StorageError` with a clear reason."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Finish every pending operation, then release the store."""

    # -- /chat rooms -------------------------------------------------------------------
    @abc.abstractmethod
    def append_chat_message(self, room: str, user: str, msg_id: str, text: str,
                            ts: str, reply_to: str | None = None) -> Awaitable[AppendResult]:
        """Store a message at the room's next offset unless (user, id) exists already."""

    @abc.abstractmethod
    def change_chat_message(self, room: str, user: str, msg_id: str, kind: ChangeKind,
                            text: str | None, ts: str) -> Awaitable[ChangeResult]:
        """Edit (``text``) or delete ``user``'s message ``msg_id`` of ``room``, as one
        atomic step: decide whether it applies (see :class:`ChangeResult`), store the
        change entry at the room's next offset and the message's new state."""

    @abc.abstractmethod
    def find_chat_message(self, user: str, msg_id: str) -> Awaitable[ChatMessage | None]:
        """The message stored earlier under (user, id), if any."""

    @abc.abstractmethod
    def chat_history(self, room: str, since: int | None, limit: int) -> Awaitable[HistoryPage]:
        """Entries (messages in their latest state, and changes) with offset > ``since``
        oldest first (at most ``limit``; ``more`` tells whether later ones exist), or with
        ``since`` None the newest ``limit`` ones."""

    @abc.abstractmethod
    def room_offsets(self) -> Awaitable[dict[str, int]]:
        """Every room that has messages, with its latest offset."""

    @abc.abstractmethod
    def forget_room(self, room: str, marker: str) -> Awaitable[int | None]:
        """Delete the room's history, offset and dedupe entries in one step, unless one
        of its messages was written by a user whose name does not end in ``marker``
        (then None, and nothing changed). The number of entries removed (0: there was
        no such room). The caller checks that nobody is in the room."""

    @abc.abstractmethod
    def mark_broadcast(self, msg: ChatMessage) -> Awaitable[None]:
        """The broadcast of a stored message went out. Until then a process that dies
        leaves it to the survivors to broadcast (Redis); alone, a crash disconnects
        every client anyway and they recover with ``since`` (SQLite: nothing to do)."""

    # -- /chat direct messages ---------------------------------------------------------
    @abc.abstractmethod
    def store_dm(self, user: str, to: str, msg_id: str, text: str,
                 ts: str) -> Awaitable[DmResult]:
        """Keep a DM (undelivered) unless (user, id) exists already."""

    @abc.abstractmethod
    def pending_dms(self, to: str) -> Awaitable[list[DirectMessage]]:
        """Undelivered DMs for ``to``, oldest first."""

    @abc.abstractmethod
    def mark_dms_delivered(self, keys: list[tuple[str, str]]) -> Awaitable[None]:
        """Mark DMs, given as (sender, id) pairs, as delivered."""

    # -- /chat users --------------------------------------------------------------------
    @abc.abstractmethod
    def touch_user(self, user: str, ts: str) -> Awaitable[None]:
        """``user`` connected to or disconnected from ``/chat`` at ``ts``: remember the
        name and when it was last seen (the ``users`` event lists them)."""

    @abc.abstractmethod
    def chat_users(self) -> Awaitable[dict[str, str | None]]:
        """Every user name ever seen on ``/chat``, with its last-seen time."""

    # -- claimed user names ------------------------------------------------------------
    @abc.abstractmethod
    def name_claim(self, user: str) -> Awaitable[str | None]:
        """The stored secret (salted hash of the key) of a claimed name, or None."""

    @abc.abstractmethod
    def claim_name(self, user: str, secret: str) -> Awaitable[str]:
        """Store ``secret`` for ``user`` unless the name is claimed already; returns the
        secret that holds now, so of two first connections racing, both learn which
        one won."""


class QueueStore(abc.ABC):
    """Durable queue state for the in-process :class:`~server_stub.queues.dispatcher.Dispatcher`;
    same ordering rule as :class:`Storage`."""

    # -- /queue ------------------------------------------------------------------------
    @abc.abstractmethod
    def load_queues(self) -> Awaitable[QueueSnapshot]:
        """Every message not yet acked (any state) and the acked counters."""

    @abc.abstractmethod
    def publish(self, queue: str, msg_id: str, payload: Any, ts: str,
                rank: int) -> Awaitable[PublishResult]:
        """Store a ready message at the queue's next seq unless (queue, id) exists."""

    @abc.abstractmethod
    def save_queue_messages(self, records: list[QueueRecord]) -> Awaitable[None]:
        """Persist new state, attempt and rank of existing messages."""

    @abc.abstractmethod
    def delete_queue_messages(self, queue: str, seqs: list[int],
                              acked: int = 0) -> Awaitable[None]:
        """Remove messages; ``acked`` is added to the queue's acked counter."""

    @abc.abstractmethod
    def delete_queue(self, queue: str) -> Awaitable[None]:
        """Forget everything about a queue: messages, counters and dedupe ids."""
