"""Edits and deletes of /chat room messages, and the people the server knows.

A change reaches us three ways: live (`edit` / `delete` from another member), in a
join's or history page's entries (`event: "edit" | "delete"`, when we were away), and as
the ack of our own edit or delete. All three end here, in `ChangeRecorder.record`:

- the change is kept as a row of the room's queue at its offset, like a message, so the
  room's watermark covers it and `since` does not fetch it again. The row keeps no text:
  the text belongs to the message, and a copy in the change row would stay findable
  (search, export) after the message was deleted;
- the message's own rows (the room copy and, for our own message, the outbox row) are
  rewritten to the latest state: the new text and `edited: true`, or no text and
  `deleted: true`. Reloading a conversation, exporting it and searching it therefore
  show what the message says now, and never a deleted text;
- `changed` fires with a `MessageChange`, so an open conversation updates in place.

Kept apart from `app.chat` so that module stays about rooms, joins and recovery.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from app.keys import MAX_TEXT_CHARS, first_object, outbox_key, parse_ts, room_key
from app.signals import Signal
from app.store import MessageStore, StoredMessage, describe

log = logging.getLogger(__name__)

#: The events that change a message.
CHANGE_EVENTS = ("edit", "delete")
#: Longest message id the server accepts.
MAX_ID_CHARS = 128


@dataclass(frozen=True)
class MessageChange:
    """An edit (`text` the new text) or a delete (`text` None) of the message `id` that
    `user` sent to `room`. `offset` and `ts` are where and when the change happened (None
    only when the server did not say)."""

    room: str
    id: str
    user: str
    kind: Literal["edit", "delete"]
    text: str | None
    offset: int | None
    ts: float | None


@dataclass(frozen=True)
class Person:
    """A user name the server has seen on /chat: online now, and when last seen
    (epoch seconds; None when the server does not know)."""

    user: str
    online: bool
    last_seen: float | None


def check_text(text: Any) -> str:
    """The text of a message or edit as the server will take it; ValueError with a
    sentence for the user otherwise (so nothing that cannot succeed is queued)."""
    if not isinstance(text, str) or not text:
        raise ValueError("The message is empty; write something first.")
    if len(text) > MAX_TEXT_CHARS:
        raise ValueError(f"The message has {len(text):,} characters; the limit is "
                         f"{MAX_TEXT_CHARS:,}. Shorten it or split it in two.")
    return text


def check_id(msg_id: Any) -> str:
    """A message id to edit, delete or reply to; ValueError otherwise."""
    if not isinstance(msg_id, str) or not 1 <= len(msg_id) <= MAX_ID_CHARS:
        raise ValueError(f"A message id is a string of 1-{MAX_ID_CHARS} characters, "
                         f"not {msg_id!r}.")
    return msg_id


def change_of(event: str, payload: Any) -> MessageChange | None:
    """The change a live `edit` / `delete` payload or a history change entry describes;
    None when it is not one or lacks what names the message."""
    if event not in CHANGE_EVENTS or not isinstance(payload, dict):
        return None
    room, msg_id, user = payload.get("room"), payload.get("id"), payload.get("user")
    if not (isinstance(room, str) and isinstance(msg_id, str) and isinstance(user, str)):
        return None
    text = payload.get("text") if event == "edit" else None
    offset = payload.get("offset")
    return MessageChange(
        room=room, id=msg_id, user=user, kind="edit" if event == "edit" else "delete",
        text=text if isinstance(text, str) else None,
        offset=offset if isinstance(offset, int) and not isinstance(offset, bool) else None,
        ts=parse_ts(payload.get("ts")))


def people_of(users: Any) -> list[Person]:
    """The `users` list of the server's ack as people (odd entries are skipped)."""
    out: list[Person] = []
    for entry in users if isinstance(users, list) else []:
        if isinstance(entry, dict) and isinstance(entry.get("user"), str):
            out.append(Person(user=entry["user"], online=entry.get("online") is True,
                              last_seen=parse_ts(entry.get("last_seen"))))
    return out


def without_text(payload: dict[str, Any]) -> dict[str, Any]:
    """A change payload as its row keeps it (see the module docstring)."""
    return {k: v for k, v in payload.items() if k != "text"}


class ChangeRecorder:
    """Keeps changes in the store and announces them (see the module docstring).

    Given what it needs rather than the `ChatRooms` it serves: the store, the namespace,
    who we are, and how to move a room's watermark."""

    def __init__(self, store: MessageStore, namespace: str,
                 me: Callable[[], str | None],
                 saw_offset: Callable[[str, int], None]) -> None:
        self.store = store
        self.namespace = namespace
        self.me = me
        self.saw_offset = saw_offset
        #: every change recorded: live, recovered or our own once acked
        self.changed: Signal[MessageChange] = Signal("changed")

    def row(self, change: MessageChange, payload: dict[str, Any],
            recovered: bool = False) -> StoredMessage:
        """The room-queue row of a change (no text; at the change's offset)."""
        me = self.me()
        direction = "out" if me is not None and change.user == me else "in"
        sm = describe(self.namespace, change.kind, [without_text(payload)], direction,
                      room_key(self.namespace, change.room), ts=change.ts, me=me)
        sm.recovered = recovered
        return sm

    def record(self, change: MessageChange) -> None:
        """Bring the message's stored rows to the change's state and announce it.

        The store is flushed first, so a message that arrived a moment before its
        change (still in the write buffer) is updated too. Call this before the change
        row is added and before the room's watermark moves past it: the flush commits
        the watermark as it is, never ahead of a row that is not stored yet."""
        if change.kind == "edit" and change.text is None:
            # an edit of a message deleted later: its delete follows and does the work
            return
        self.store.flush()
        queue = room_key(self.namespace, change.room)
        self.store.apply_change(queue, change.id, change.text, user=change.user)
        if change.user == self.me():
            self.store.apply_change(outbox_key(self.namespace), change.id, change.text,
                                    outbox=True)
        self.changed.emit(change)

    def own_acked(self, event: str, args: list[Any], reply: dict[str, Any]) -> None:
        """Our own edit or delete was acked: keep and announce it like anybody's."""
        first = first_object(args)
        me = self.me()
        if first is None or me is None:
            return
        payload = {"room": first.get("room"), "id": first.get("id"), "user": me,
                   "offset": reply.get("offset"), "ts": reply.get("ts")}
        if event == "edit":
            payload["text"] = first.get("text")
        change = change_of(event, payload)
        if change is None:
            return
        self.record(change)
        if change.offset is not None:
            self.store.add(self.row(change, payload))
            self.saw_offset(change.room, change.offset)
