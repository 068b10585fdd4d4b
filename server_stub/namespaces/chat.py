"""The ``/chat`` namespace: rooms with durable history, presence, typing and DMs; edits
and deletes live in :mod:`server_stub.namespaces.chat_changes`.

Order of work in ``message``: validate, store (the storage assigns the offset and drops
duplicates by (user, id)), and only then broadcast and ack, so nobody ever sees a message
the server could still lose. Presence is tracked per *user*: a user with two sockets in a
room is one member; ``joined``/``left`` fire on the first socket in / last socket out,
counted over every server process (the backend's :class:`Presence` decides "first" and
"last"). A ``join`` holds the socket's live room messages back while it reads the
history (:mod:`server_stub.transport.livegate`), so nothing is missed or sent twice.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from server_stub import validation as v
from server_stub.guard import Ack, guarded, guarded_connect, logged
from server_stub.namespaces.base import Context, Namespace
from server_stub.namespaces.chat_changes import MessageChanges
from server_stub.presence.base import Departure
from server_stub.storage.base import ChatMessage, DirectMessage
from server_stub.timestamps import now_iso
from server_stub.transport.livegate import Covered

log = logging.getLogger(__name__)

NAMESPACE = "/chat"
JOIN_SINCE_LIMIT = 500
JOIN_RECENT = 50
HISTORY_LIMIT = 500
KNOWN_EVENTS = ("join", "history", "leave", "message", "edit", "delete", "typing", "rooms",
                "dm", "users", "forget")
#: the shortest run marker (what follows the last '-' of a user name) ``forget`` accepts
MARKER_MIN = 6


def run_marker(user: str) -> str | None:
    """``-3f9a0c`` for ``alice-3f9a0c``: the suffix a lesson run gives its users and its
    rooms (None when the name has no '-' followed by at least MARKER_MIN characters)."""
    head, dash, tail = user.rpartition("-")
    return f"-{tail}" if dash and head and len(tail) >= MARKER_MIN else None


def room_key(room: str) -> str:
    """socketio room for a chat room; prefixed so it can never collide with a sid room."""
    return f"room:{room}"


def user_key(user: str) -> str:
    """socketio room holding every /chat socket of one user (DM delivery)."""
    return f"user:{user}"


def message_ack(msg: ChatMessage) -> Ack:
    return {"ok": True, "id": msg.id, "offset": msg.offset, "ts": msg.ts}


def offsets_up_to(last: int) -> Covered:
    """What a join's history covered: room messages with offset <= ``last``."""
    def covered(payload: Any) -> bool:
        offset = payload.get("offset") if isinstance(payload, dict) else None
        return isinstance(offset, int) and offset <= last
    return covered


def dm_keys(keys: set[tuple[str, str]]) -> Covered:
    """What a mailbox read covered: DMs with these (sender, id) pairs."""
    def covered(payload: Any) -> bool:
        return isinstance(payload, dict) and (payload.get("user"), payload.get("id")) in keys
    return covered


class ChatNamespace(Namespace):
    """Handlers for ``/chat``."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.gate = ctx.backend.gate
        #: set by the server before a clean stop closes every connection: nobody left
        #: their rooms then, the server went away, so no ``left`` presence is sent
        self.stopping = False
        #: sockets that connected with ``transient: true`` (a lesson's simulated users):
        #: they are online while connected but never recorded in ``users``
        self.transient: set[str] = set()
        changes = MessageChanges(self)
        self.sio.on("connect", self.on_connect, namespace=NAMESPACE)
        self.sio.on("disconnect", self.on_disconnect, namespace=NAMESPACE)
        self.register(NAMESPACE, {
            "join": self.join, "history": self.history, "leave": self.leave,
            "message": self.message, "edit": changes.edit, "delete": changes.delete,
            "typing": self.typing, "rooms": self.rooms, "dm": self.dm,
            "users": self.list_users, "forget": self.forget_room, "*": self.unknown,
        })
        ctx.backend.on_socket_lost(self.socket_lost)
        ctx.backend.on_unsent_messages(self.broadcast_unsent)
        self.gate.on_delivered("dm", self._dm_reached)

    # -- connection --------------------------------------------------------------------
    @guarded_connect
    async def on_connect(self, sid: str, environ: Any, auth: Any = None) -> None:
        user = await self.accept(sid, NAMESPACE, auth)
        if user is None:
            return
        # In the user's room before being counted online: a DM sent once we count is
        # delivered live, one sent before is in the mailbox read after the welcome. Live
        # DMs are held until that read (server_stub.transport.livegate), so none comes twice.
        self.gate.hold(sid, user_key(user))
        await self.sio.enter_room(sid, user_key(user), namespace=NAMESPACE)
        await self.register_socket(sid, NAMESPACE, user)
        if isinstance(auth, dict) and auth.get("transient") is True:
            self.transient.add(sid)
            return
        # Issued now, so a `users` request of this very connection already lists it.
        self.watch(self.storage.touch_user(user, now_iso()), "user seen")

    def forget(self, sid: str) -> None:
        super().forget(sid)
        self.gate.forget(sid)
        self.transient.discard(sid)

    async def after_welcome(self, sid: str, namespace: str, user: str) -> None:
        """Deliver DMs kept while the user was offline, then those that arrived live
        meanwhile (at least once: a DM that was being delivered when the server died is
        sent again)."""
        covered: Covered | None = None
        pending: list[DirectMessage] = []
        try:
            pending = await self.storage.pending_dms(user)
            covered = dm_keys({(dm.user, dm.id) for dm in pending})
        finally:
            live = self.gate.release(sid, user_key(user), covered)
        payloads = [dm.wire() for dm in pending] + [payload for _, payload in live]
        if not payloads or sid not in self.users:
            return
        for payload in payloads:
            await self.sio.emit("dm", payload, to=sid, namespace=NAMESPACE,
                                ignore_queue=True)
        await self.storage.mark_dms_delivered([(p["user"], p["id"]) for p in payloads])

    @logged
    async def on_disconnect(self, sid: str, reason: Any = None) -> None:
        if self.is_forged_disconnect(sid, NAMESPACE):
            return
        user = self.users.get(sid)
        transient = sid in self.transient
        # Forget first: a join still in progress for this socket sees it gone and does
        # not add a membership after the cleanup below was issued.
        self.forget(sid)
        if user is not None and not transient:
            self.watch(self.storage.touch_user(user, now_iso()), "user seen")
        departures = await self.presence.disconnected(sid)
        if not self.stopping:
            await self._announce_left(departures, skip=sid)

    async def socket_lost(self, sid: str, departures: list[Departure]) -> None:
        """A socket of a server process that died: its users' rooms learn they left."""
        await self._announce_left(departures, skip=sid)

    async def broadcast_unsent(self, messages: list[ChatMessage]) -> None:
        """Room messages (and changes) a dead server process stored and may not have
        broadcast: send them now (a client that got them already sees the same offset
        again)."""
        for msg in messages:
            await self.sio.emit(msg.live_event, msg.live(), room=room_key(msg.room),
                                namespace=NAMESPACE)

    async def broadcast_entry(self, entry: ChatMessage, skip: str) -> None:
        """A stored message or change goes to the other sockets of its room; then the
        storage may forget that it still had to go out."""
        await self.sio.emit(entry.live_event, entry.live(), room=room_key(entry.room),
                            skip_sid=skip, namespace=NAMESPACE)
        self.watch(self.storage.mark_broadcast(entry), "mark broadcast")

    async def _announce_left(self, departures: list[Departure], skip: str) -> None:
        for gone in departures:
            await self._presence(gone.room, gone.user, "left", gone.members, skip=skip)

    # -- membership --------------------------------------------------------------------
    async def _presence(self, room: str, user: str, event: str, members: list[str],
                        skip: str) -> None:
        await self.sio.emit("presence", {
            "room": room, "user": user, "event": event, "members": members,
        }, room=room_key(room), skip_sid=skip, namespace=NAMESPACE)

    def require_member(self, sid: str, room: str) -> None:
        if not self.presence.is_member(sid, room):
            raise v.not_found(f"You have not joined the room '{room}'; join it first.")

    def user_of(self, sid: str) -> str:
        user = self.users.get(sid)
        if user is None:  # disconnected while the handler was waiting
            raise v.not_found("The connection closed during the request.")
        return user

    # -- events ------------------------------------------------------------------------
    @guarded
    async def join(self, sid: str, event: str, *args: Any) -> Ack:
        payload = v.one_object(event, args)
        room = v.name(payload, "room")
        since = v.integer(payload, "since", low=0)
        user = self.user_of(sid)
        limit = JOIN_SINCE_LIMIT if since is not None else JOIN_RECENT
        key = room_key(room)
        # Hold live messages, enter the room, *then* read: see server_stub.transport.livegate.
        self.gate.hold(sid, key)
        covered: Covered | None = None
        try:
            await self.sio.enter_room(sid, key, namespace=NAMESPACE)
            page = await self.storage.chat_history(room, since, limit)
            self.user_of(sid)
            joined = await self.presence.join(sid, user, room)
            covered = offsets_up_to(page.last_offset)
        finally:
            missed = self.gate.release(sid, key, covered)
        for event, msg in missed:
            await self.sio.emit(event, msg, to=sid, namespace=NAMESPACE,
                                ignore_queue=True)
        self.user_of(sid)  # gone meanwhile: its disconnect cleaned up (and announced) it
        if joined.first:
            await self._presence(room, user, "joined", joined.members, skip=sid)
        return {"ok": True, "room": room, "members": joined.members,
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
        if self.presence.is_member(sid, room):
            await self.sio.leave_room(sid, room_key(room), namespace=NAMESPACE)
            self.gate.forget(sid, room_key(room))
            gone = await self.presence.leave(sid, self.user_of(sid), room)
            if gone is not None:
                await self._announce_left([gone], skip=sid)
        return {"ok": True}

    @guarded
    async def message(self, sid: str, event: str, *args: Any) -> Ack:
        payload = v.one_object(event, args)
        room = v.name(payload, "room")
        text = v.text(payload)
        msg_id = v.msg_id(payload)
        reply_to = v.msg_id(payload, "reply_to")
        user = self.user_of(sid)
        if not self.presence.is_member(sid, room):
            # A resend of something already stored still gets its first ack, even after
            # leaving the room: the client only wants to know it was kept.
            if msg_id is not None:
                earlier = await self.storage.find_chat_message(user, msg_id)
                if earlier is not None:
                    return message_ack(earlier)
            self.require_member(sid, room)
        result = await self.storage.append_chat_message(
            room, user, msg_id or uuid.uuid4().hex, text, now_iso(), reply_to)
        if not result.duplicate:
            await self.broadcast_entry(result.message, skip=sid)
        return message_ack(result.message)

    @guarded
    async def typing(self, sid: str, event: str, *args: Any) -> Ack:
        payload = v.one_object(event, args)
        if (payload.get("room") is None) == (payload.get("to") is None):
            raise v.RequestError("'typing' takes exactly one of 'room' (a room you "
                                 "joined) or 'to' (a user, for a direct message).")
        user = self.user_of(sid)
        if payload.get("to") is not None:
            to = v.user(payload, "to")
            await self.sio.emit("typing", {"user": user, "to": to}, room=user_key(to),
                                namespace=NAMESPACE)
            return {"ok": True}
        room = v.name(payload, "room")
        self.require_member(sid, room)
        await self.sio.emit("typing", {"room": room, "user": user},
                            room=room_key(room), skip_sid=sid, namespace=NAMESPACE)
        return {"ok": True}

    @guarded
    async def list_users(self, sid: str, event: str, *args: Any) -> Ack:
        v.one_object(event, args, optional=True)
        seen = await self.storage.chat_users()
        online = await self.presence.online_users(NAMESPACE)
        return {"ok": True, "users": [
            {"user": name, "online": name in online, "last_seen": seen.get(name)}
            for name in sorted(set(seen) | online)]}

    @guarded
    async def rooms(self, sid: str, event: str, *args: Any) -> Ack:
        v.one_object(event, args, optional=True)
        offsets = await self.storage.room_offsets()
        sizes = await self.presence.room_sizes()
        names = sorted(set(offsets) | set(sizes))
        return {"ok": True, "rooms": [
            {"room": r, "members": sizes.get(r, 0), "offset": offsets.get(r, 0)}
            for r in names]}

    @guarded
    async def forget_room(self, sid: str, event: str, *args: Any) -> Ack:
        """Delete a lesson's room for good: its history, offsets and dedupe entries. Only
        for a room named with the caller's run marker (``team-3f9a0c`` by
        ``alice-3f9a0c``), nobody in it on any process, and every message in it written
        by a user with that marker (checked by the storage in the same step as the
        delete)."""
        payload = v.one_object(event, args)
        room = v.name(payload, "room")
        user = self.user_of(sid)
        marker = run_marker(user)
        if marker is None or not room.endswith(marker) or room == marker:
            raise v.RequestError(
                f"Only a room named with your own run marker may be forgotten ('{room}' "
                f"does not end in the '-' suffix of your name {user}).", "forbidden")
        if (await self.presence.room_sizes()).get(room):
            raise v.RequestError(f"The room '{room}' still has members.", "busy")
        removed = await self.storage.forget_room(room, marker)
        if removed is None:
            raise v.RequestError(f"The room '{room}' holds messages of users without the "
                                 f"marker '{marker}'.", "forbidden")
        log.info("%s forgot room %r (%d entries)", user, room, removed)
        return {"ok": True, "room": room, "removed": removed}

    @guarded
    async def dm(self, sid: str, event: str, *args: Any) -> Ack:
        payload = v.one_object(event, args)
        to = v.user(payload, "to")
        text = v.text(payload)
        msg_id = v.msg_id(payload) or uuid.uuid4().hex
        result = await self.storage.store_dm(self.user_of(sid), to, msg_id, text, now_iso())
        dm = result.message
        if not result.duplicate and await self.presence.online(NAMESPACE, to):
            # Marked delivered by whichever process hands it to a socket (_dm_reached).
            await self.sio.emit("dm", dm.wire(), room=user_key(to), namespace=NAMESPACE)
        return {"ok": True, "id": dm.id, "ts": dm.ts}

    def _dm_reached(self, payload: Any) -> None:
        """A live DM reached a socket of the recipient here: it leaves the mailbox."""
        if isinstance(payload, dict):
            key = (payload.get("user"), payload.get("id"))
            if all(isinstance(part, str) for part in key):
                self.watch(self.storage.mark_dms_delivered([key]), "mark DM delivered")

    @guarded
    async def unknown(self, sid: str, event: str, *args: Any) -> Ack:
        raise v.RequestError(f"'{event}' is not an event of {NAMESPACE}; use one of: "
                             f"{', '.join(KNOWN_EVENTS)}.")
