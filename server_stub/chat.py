"""The ``/chat`` namespace: rooms with durable history, presence, typing and DMs.

Order of work in ``message``: validate, store (the storage assigns the offset and drops
duplicates by (user, id)), and only then broadcast and ack, so nobody ever sees a message
the server could still lose. Presence is tracked per *user*: a user with two sockets in a
room is one member; ``joined``/``left`` fire on the first socket in / last socket out.
Presence is in memory on purpose: it describes live connections, which do not survive a
restart anyway.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from server_stub import validation as v
from server_stub.connections import Context, Namespace
from server_stub.guard import Ack, guarded, guarded_connect, logged
from server_stub.storage.base import ChatMessage
from server_stub.timestamps import now_iso

log = logging.getLogger(__name__)

NAMESPACE = "/chat"
JOIN_SINCE_LIMIT = 500
JOIN_RECENT = 50
HISTORY_LIMIT = 500
KNOWN_EVENTS = ("join", "history", "leave", "message", "typing", "rooms", "dm")


def room_key(room: str) -> str:
    """socketio room for a chat room; prefixed so it can never collide with a sid room."""
    return f"room:{room}"


def user_key(user: str) -> str:
    """socketio room holding every /chat socket of one user (DM delivery)."""
    return f"user:{user}"


def message_ack(msg: ChatMessage) -> Ack:
    return {"ok": True, "id": msg.id, "offset": msg.offset, "ts": msg.ts}


class ChatNamespace(Namespace):
    """Handlers for ``/chat``."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        #: room -> user -> that user's sockets in the room
        self.members: dict[str, dict[str, set[str]]] = {}
        #: sid -> rooms it joined
        self.joined: dict[str, set[str]] = {}
        #: user -> that user's /chat sockets (is a DM recipient online?)
        self.sockets_of: dict[str, set[str]] = {}
        self.sio.on("connect", self.on_connect, namespace=NAMESPACE)
        self.sio.on("disconnect", self.on_disconnect, namespace=NAMESPACE)
        self.register(NAMESPACE, {
            "join": self.join, "history": self.history, "leave": self.leave,
            "message": self.message, "typing": self.typing, "rooms": self.rooms,
            "dm": self.dm, "*": self.unknown,
        })

    # -- connection --------------------------------------------------------------------
    @guarded_connect
    async def on_connect(self, sid: str, environ: Any, auth: Any = None) -> None:
        user = self.accept(sid, NAMESPACE, auth)
        if user is None:
            return
        self.joined[sid] = set()
        self.sockets_of.setdefault(user, set()).add(sid)
        await self.sio.enter_room(sid, user_key(user), namespace=NAMESPACE)

    def forget(self, sid: str) -> None:
        user = self.users.get(sid)
        if user is not None:
            sockets = self.sockets_of.get(user, set())
            sockets.discard(sid)
            if not sockets:
                self.sockets_of.pop(user, None)
        self.joined.pop(sid, None)
        super().forget(sid)

    async def after_welcome(self, sid: str, namespace: str, user: str) -> None:
        """Deliver DMs kept while the user was offline (at least once: a DM that was being
        delivered when the server died is sent again)."""
        pending = await self.storage.pending_dms(user)
        if not pending or sid not in self.users:
            return
        for dm in pending:
            await self.sio.emit("dm", dm.wire(), to=sid, namespace=NAMESPACE)
        await self.storage.mark_dms_delivered([(dm.user, dm.id) for dm in pending])

    @logged
    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        if self.is_forged_disconnect(sid, NAMESPACE):
            return
        user = self.users.get(sid)
        for room in sorted(self.joined.pop(sid, set())):
            await self._remove_member(sid, user or "", room)
        self.forget(sid)

    # -- membership --------------------------------------------------------------------
    def member_list(self, room: str) -> list[str]:
        return sorted(self.members.get(room, {}))

    def _add_member(self, sid: str, user: str, room: str) -> bool:
        """Record membership; True when this is the user's first socket in the room."""
        users = self.members.setdefault(room, {})
        first = user not in users
        users.setdefault(user, set()).add(sid)
        self.joined.setdefault(sid, set()).add(room)
        return first

    async def _remove_member(self, sid: str, user: str, room: str) -> None:
        users = self.members.get(room, {})
        sockets = users.get(user, set())
        sockets.discard(sid)
        self.joined.get(sid, set()).discard(room)
        await self.sio.leave_room(sid, room_key(room), namespace=NAMESPACE)
        if sockets:
            return
        users.pop(user, None)
        if not users:
            self.members.pop(room, None)
        await self._presence(room, user, "left", skip=sid)

    async def _presence(self, room: str, user: str, event: str, skip: str) -> None:
        await self.sio.emit("presence", {
            "room": room, "user": user, "event": event, "members": self.member_list(room),
        }, room=room_key(room), skip_sid=skip, namespace=NAMESPACE)

    def _require_member(self, sid: str, room: str) -> None:
        if room not in self.joined.get(sid, ()):
            raise v.not_found(f"You have not joined the room '{room}'; join it first.")

    # -- events ------------------------------------------------------------------------
    @guarded
    async def join(self, sid: str, event: str, *args: Any) -> Ack:
        payload = v.one_object(event, args)
        room = v.name(payload, "room")
        since = v.integer(payload, "since", low=0)
        user = self.users[sid]
        limit = JOIN_RECENT if since is None else JOIN_SINCE_LIMIT
        page = await self.storage.chat_history(room, since, limit)
        if sid not in self.users:  # disconnected while we read
            raise v.not_found("The connection closed during the join.")
        # Enter the room right after the read, before yielding to the loop: every message
        # committed before the read is in `history`, every later one arrives live.
        await self.sio.enter_room(sid, room_key(room), namespace=NAMESPACE)
        first = self._add_member(sid, user, room)
        if first:
            await self._presence(room, user, "joined", skip=sid)
        return {"ok": True, "room": room, "members": self.member_list(room),
                "history": [m.wire() for m in page.messages], "offset": page.last_offset,
                "more": page.more}

    @guarded
    async def history(self, sid: str, event: str, *args: Any) -> Ack:
        payload = v.one_object(event, args)
        room = v.name(payload, "room")
        since = v.integer(payload, "since", low=0, default=0)
        limit = v.integer(payload, "limit", low=1, high=HISTORY_LIMIT, default=HISTORY_LIMIT)
        page = await self.storage.chat_history(room, since, limit or HISTORY_LIMIT)
        return {"ok": True, "room": room, "messages": [m.wire() for m in page.messages],
                "offset": page.last_offset, "more": page.more}

    @guarded
    async def leave(self, sid: str, event: str, *args: Any) -> Ack:
        payload = v.one_object(event, args)
        room = v.name(payload, "room")
        if room in self.joined.get(sid, ()):
            await self._remove_member(sid, self.users[sid], room)
        return {"ok": True}

    @guarded
    async def message(self, sid: str, event: str, *args: Any) -> Ack:
        payload = v.one_object(event, args)
        room = v.name(payload, "room")
        text = v.text(payload)
        msg_id = v.msg_id(payload)
        user = self.users[sid]
        if room not in self.joined.get(sid, ()):
            # A resend of something already stored still gets its first ack, even after
            # leaving the room: the client only wants to know it was kept.
            if msg_id is not None:
                earlier = await self.storage.find_chat_message(user, msg_id)
                if earlier is not None:
                    return message_ack(earlier)
            self._require_member(sid, room)
        result = await self.storage.append_chat_message(
            room, user, msg_id or uuid.uuid4().hex, text, now_iso())
        if not result.duplicate:
            await self.sio.emit("message", result.message.wire(), room=room_key(room),
                                skip_sid=sid, namespace=NAMESPACE)
        return message_ack(result.message)

    @guarded
    async def typing(self, sid: str, event: str, *args: Any) -> Ack:
        payload = v.one_object(event, args)
        room = v.name(payload, "room")
        self._require_member(sid, room)
        await self.sio.emit("typing", {"room": room, "user": self.users[sid]},
                            room=room_key(room), skip_sid=sid, namespace=NAMESPACE)
        return {"ok": True}

    @guarded
    async def rooms(self, sid: str, event: str, *args: Any) -> Ack:
        v.one_object(event, args, optional=True)
        offsets = await self.storage.room_offsets()
        names = sorted(set(offsets) | set(self.members))
        return {"ok": True, "rooms": [
            {"room": r, "members": len(self.members.get(r, {})), "offset": offsets.get(r, 0)}
            for r in names]}

    @guarded
    async def dm(self, sid: str, event: str, *args: Any) -> Ack:
        payload = v.one_object(event, args)
        to = v.user(payload, "to")
        text = v.text(payload)
        msg_id = v.msg_id(payload) or uuid.uuid4().hex
        result = await self.storage.store_dm(self.users[sid], to, msg_id, text, now_iso())
        dm = result.message
        if not result.duplicate and self.sockets_of.get(to):
            await self.sio.emit("dm", dm.wire(), room=user_key(to), namespace=NAMESPACE)
            self.watch(self.storage.mark_dms_delivered([(dm.user, dm.id)]), "mark DM delivered")
        return {"ok": True, "id": dm.id, "ts": dm.ts}

    @guarded
    async def unknown(self, sid: str, event: str, *args: Any) -> Ack:
        raise v.RequestError(f"'{event}' is not an event of {NAMESPACE}; use one of: "
                             f"{', '.join(KNOWN_EVENTS)}.")
