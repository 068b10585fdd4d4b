"""``edit`` and ``delete`` of ``/chat``: changing a message after it was sent.

A change is an entry of the room's history like a message: it takes the room's next
offset, so a client that was away recovers it with ``since`` exactly as it recovers
messages, and the "no gap, no double" rule of a join covers it (the live gate holds
``edit``/``delete`` broadcasts as it holds ``message``). Same order of work as
``message``: validate, store (the storage decides, atomically, whether the change
applies: the message exists in that room, it is the sender's own, it is not deleted),
then broadcast, then ack.

A change that changes nothing is a resend: an edit to the text the message already has,
a delete of a deleted message. It is neither stored nor broadcast, and gets the ack of
the change that made the message what it is, so an outbox may resend edits and deletes
until acked, as it does messages.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from server_stub import validation as v
from server_stub.guard import Ack, guarded
from server_stub.storage.base import ChangeKind, ChatMessage
from server_stub.timestamps import now_iso

if TYPE_CHECKING:
    from server_stub.namespaces.chat import ChatNamespace


def change_ack(entry: ChatMessage) -> Ack:
    """The success ack of an edit or delete: the message's id, the change's place."""
    return {"ok": True, "id": entry.id, "offset": entry.offset, "ts": entry.ts}


class MessageChanges:
    """The ``edit`` and ``delete`` handlers of a :class:`ChatNamespace`."""

    def __init__(self, chat: ChatNamespace) -> None:
        self.chat = chat
        self.limiter = chat.limiter  # for the guard's rate limit

    @guarded
    async def edit(self, sid: str, event: str, *args: Any) -> Ack:
        payload = v.one_object(event, args)
        room = v.name(payload, "room")
        msg_id = self._target(payload)
        text = v.text(payload)
        return await self._change(sid, room, msg_id, "edit", text)

    @guarded
    async def delete(self, sid: str, event: str, *args: Any) -> Ack:
        payload = v.one_object(event, args)
        room = v.name(payload, "room")
        msg_id = self._target(payload)
        return await self._change(sid, room, msg_id, "delete", None)

    @staticmethod
    def _target(payload: dict[str, Any]) -> str:
        msg_id = v.msg_id(payload)
        if msg_id is None:
            raise v.RequestError("The field 'id' is missing: name the message to change "
                                 "by the id it was sent with.")
        return msg_id

    async def _change(self, sid: str, room: str, msg_id: str, kind: ChangeKind,
                      text: str | None) -> Ack:
        chat = self.chat
        user = chat.user_of(sid)
        chat.require_member(sid, room)
        result = await chat.storage.change_chat_message(room, user, msg_id, kind, text,
                                                        now_iso())
        verb = "edit" if kind == "edit" else "delete"
        if result.status == "forbidden":
            raise v.RequestError(f"The message '{msg_id}' in '{room}' is someone else's; "
                                 f"only its author may {verb} it.", "forbidden")
        if result.status == "not_found":
            raise v.not_found(f"There is no message of yours with the id '{msg_id}' in "
                              f"'{room}'.")
        if result.status == "deleted":
            raise v.not_found(f"The message '{msg_id}' in '{room}' was deleted; it cannot "
                              "be edited any more.")
        entry = result.entry
        if entry is None:  # "changed" and "repeated" always carry one
            raise v.RequestError(f"The {verb} could not be stored.", "internal")
        if result.status == "changed":
            await chat.broadcast_entry(entry, skip=sid)
        return change_ack(entry)
