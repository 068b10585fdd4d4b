"""Queue keys and the payload shapes they are read from: the one place that knows both.

Every stored message belongs to a queue named by a key of the form ``kind:namespace:name``
(``work:name`` for the bundled server's work queues, ``outbox:namespace`` for what we
send). Keys are written to disk and exported, so they must read back as what they were
made from. Event and room names may contain ``:`` (``order:update`` is a common event
name), so only the *namespace* is escaped (``%`` and ``:`` as ``%25`` / ``%3A``, which no
real namespace uses): a key is split at its first two colons and the rest is the name,
whatever it holds. Keys written before this rule read back unchanged, because no
namespace seen in practice contains ``%`` or ``:``.

The payload helpers (`first_object`, `parse_ts`, `CLIENT_FIELDS`) live here because keys
are derived from payloads: a `/chat` ``message`` with a ``room`` belongs to ``room:``.
"""

from __future__ import annotations

import enum
import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

#: The bundled server's namespaces (used by its extensions, never by the generic client).
CHAT_NAMESPACE = "/chat"
QUEUE_NAMESPACE = "/queue"

#: Event name under which undecodable packets are stored (queue `event:<ns>:(malformed)`).
MALFORMED_EVENT = "(malformed)"

#: The longest chat message (and edit) the bundled server takes, in characters; the
#: client refuses longer ones before queuing them, and the composer counts against it.
MAX_TEXT_CHARS = 4000

#: /chat events whose payload's `room` puts them in that room's queue: messages, and
#: the edits and deletes that change them (they take offsets of the room too).
ROOM_EVENTS = ("message", "edit", "delete")

#: The fields a client sends for the bundled server's events; received copies carry
#: server-stamped extras (user, offset, ts) that a replay must not send back.
CLIENT_FIELDS: dict[tuple[str, str], tuple[str, ...]] = {
    (CHAT_NAMESPACE, "message"): ("room", "text", "reply_to"),
    (CHAT_NAMESPACE, "edit"): ("room", "id", "text"),
    (CHAT_NAMESPACE, "delete"): ("room", "id"),
    (CHAT_NAMESPACE, "dm"): ("to", "text"),
    (QUEUE_NAMESPACE, "publish"): ("queue", "payload"),
}


class Kind(enum.StrEnum):
    """What a queue holds."""

    OUTBOX = "outbox"   # our own emits to one namespace, with delivery states
    ROOM = "room"       # a /chat room, in the server's offset order
    DM = "dm"           # direct messages with one user
    EVENT = "event"     # every other inbound event, one queue per event name
    WORK = "work"       # deliveries from one of the bundled server's work queues


#: "kind:" of every kind, for `is_kind` (asked for every stored message)
_PREFIX = {k: f"{k.value}:" for k in Kind}


@dataclass(frozen=True, slots=True)
class QueueKey:
    """A parsed queue key. `name` is the room, the other user, the event or the work queue
    (empty for an outbox)."""

    kind: Kind
    namespace: str
    name: str = ""

    def __str__(self) -> str:
        if self.kind is Kind.WORK:
            return f"work:{self.name}"
        if self.kind is Kind.OUTBOX:
            return f"outbox:{_escape(self.namespace)}"
        return f"{self.kind.value}:{_escape(self.namespace)}:{self.name}"


def _escape(namespace: str) -> str:
    return namespace.replace("%", "%25").replace(":", "%3A")


def _unescape(namespace: str) -> str:
    return namespace.replace("%3A", ":").replace("%3a", ":").replace("%25", "%")


def parse_key(key: str) -> QueueKey | None:
    """The parts of a key, or None for a string that is not one of ours."""
    kind_text, sep, rest = key.partition(":")
    if not sep:
        return None
    try:
        kind = Kind(kind_text)
    except ValueError:
        return None
    if kind is Kind.WORK:
        return QueueKey(kind, QUEUE_NAMESPACE, rest)
    if kind is Kind.OUTBOX:
        return QueueKey(kind, _unescape(rest))
    ns, sep, name = rest.partition(":")
    if not sep:
        return None
    return QueueKey(kind, _unescape(ns), name)


def outbox_key(namespace: str) -> str:
    """The outbox queue of a namespace."""
    return str(QueueKey(Kind.OUTBOX, namespace))


def room_key(namespace: str, room: str) -> str:
    """A room's queue."""
    return str(QueueKey(Kind.ROOM, namespace, room))


def dm_key(namespace: str, user: str) -> str:
    """The direct-message queue with one user."""
    return str(QueueKey(Kind.DM, namespace, user))


@functools.lru_cache(maxsize=4096)
def event_key(namespace: str, event: str) -> str:
    """The queue of every other event of that name on that namespace (cached: it is
    asked for every inbound event, and a session sees few distinct names)."""
    return str(QueueKey(Kind.EVENT, namespace, event))


def work_key(queue: str) -> str:
    """Deliveries from one of the bundled server's work queues."""
    return str(QueueKey(Kind.WORK, QUEUE_NAMESPACE, queue))


def is_kind(key: str, kind: Kind) -> bool:
    """True when `key` is a key of that kind (cheap: no full parse)."""
    return key.startswith(_PREFIX[kind])


def first_object(args: Sequence[Any]) -> dict[str, Any] | None:
    """The first argument when it is a JSON object: where every known payload keeps its
    fields (room, text, id, offset, …)."""
    if args and isinstance(args[0], dict):
        return args[0]
    return None


def parse_ts(value: Any) -> float | None:
    """A payload timestamp as epoch seconds, or None when it is not a usable time.

    The bundled server writes ISO 8601 (``2026-12-03T10:00:00.123Z``); other servers
    often send epoch seconds or milliseconds as numbers. Numbers above 10^11 are taken as
    milliseconds (10^11 seconds is the year 5138). NaN, infinities, booleans and
    integers too big for a float are None, so callers fall back to the arrival time
    instead of failing on the row.
    """
    try:
        if isinstance(value, int | float) and not isinstance(value, bool):
            ts = float(value)
            if abs(ts) > 1e11:
                ts /= 1000.0
        elif isinstance(value, str):
            ts = datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        else:
            return None
    except (ValueError, OverflowError):
        return None
    return ts if math.isfinite(ts) else None


def queue_key(namespace: str, event: str, args: Sequence[Any], direction: str = "in",
              me: str | None = None) -> str:
    """The queue of an event by the bundled server's payload shapes.

    A ``message`` (or an ``edit`` / ``delete`` of one) with a ``room`` belongs to that
    room, a ``dm`` to the other user (the
    recipient when we sent it, the sender when we received it), a ``deliver`` to its work
    queue; anything else to its event queue. The session asks this only for namespaces
    whose extension is on (a SockDesk server) and for imported records; a foreign
    server's events all go to their event queues.
    """
    first = first_object(args)
    if first is not None:
        if event in ROOM_EVENTS and isinstance(first.get("room"), str):
            return room_key(namespace, first["room"])
        if event == "dm":
            other = first.get("to") if direction == "out" else first.get("user")
            if direction == "in" and me is not None and other == me:
                other = first.get("to", other)
            if isinstance(other, str):
                return dm_key(namespace, other)
        if event == "deliver" and isinstance(first.get("queue"), str):
            return work_key(first["queue"])
    return event_key(namespace, event)
