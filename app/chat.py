"""/chat on the bundled server: rooms, presence, typing, DMs, and recovery on re-join.

An extension of the plain session (`app.extension`): it is on only for SockDesk's own
server. The rule "a room message needs its room joined" lives here and only here: the
room is remembered when the message is accepted (`on_emit`) and joined just before it
is written (`before_send`), whoever emitted it: Compose, the chat view or a replay.

Rooms are remembered in the data dir, so a restarted GUI or the next CLI run continues
where the last one stopped: on every (re)connect each room is joined again with
`since` = its watermark, and the history the server returns is stored and marked
recovered before the namespace counts as ready (and before the outbox flushes).

Edits and deletes take offsets of their room like messages and are kept and applied
by `app.chat_changes`; `changed` announces them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from app.chat_changes import (
    CHANGE_EVENTS,
    ChangeRecorder,
    MessageChange,
    Person,
    change_of,
    check_id,
    check_text,
    people_of,
    without_text,
)
from app.errors import SessionError
from app.extension import NamespaceExtension
from app.keys import (
    CHAT_NAMESPACE,
    ROOM_EVENTS,
    Kind,
    first_object,
    is_kind,
    parse_ts,
    queue_key,
    room_key,
)
from app.outbox import OutboxMessage, OutboxState
from app.recovery import RoomMemory
from app.signals import Signal
from app.store import StoredMessage, describe

if TYPE_CHECKING:
    from app.base_session import BaseSession

log = logging.getLogger(__name__)

HISTORY_PAGE = 500
#: meta key of the id of the server history the watermarks belong to
HISTORY_META = "server-history:/chat"


#: events whose payload carries the message id the server dedupes on
_ID_EVENTS = ("message", "dm")


class ChatRooms(NamespaceExtension):
    """Helpers for /chat on top of `Session.emit` / `Session.call`, plus room state."""

    NAMESPACE = CHAT_NAMESPACE
    namespace = CHAT_NAMESPACE

    def __init__(self, session: BaseSession) -> None:
        self.session = session
        self.store = session.store
        self.memory = RoomMemory(self.store, self.NAMESPACE)
        self._members: dict[str, list[str]] = {}
        #: room -> the (event, user) presence changes seen while its join is in flight
        self._presence_during_join: dict[str, list[tuple[str, str]]] = {}
        self._joined_now: set[str] = set()
        self._joining: dict[str, asyncio.Future[Any]] = {}
        self.room_joined: Signal[Any] = Signal("room_joined")      # (room, ack dict)
        self.room_left: Signal[str] = Signal("room_left")
        self.presence: Signal[dict[str, Any]] = Signal("presence")
        self.typing_seen: Signal[Any] = Signal("typing")           # (room, user)
        self.message: Signal[StoredMessage] = Signal("message")
        self.dm: Signal[StoredMessage] = Signal("dm")
        self.recovered: Signal[Any] = Signal("recovered")          # (room, count)
        #: the server's history was replaced; rooms were started over (history id)
        self.history_replaced: Signal[str] = Signal("history_replaced")
        #: someone is writing us a direct message (their user name)
        self.dm_typing_seen: Signal[str] = Signal("dm_typing")
        self.changes = ChangeRecorder(self.store, self.NAMESPACE,
                                      lambda: session.config.user, self.saw_offset)
        #: an edit or delete of a room message: live, recovered, or our own once acked
        self.changed: Signal[MessageChange] = self.changes.changed
        self.store.before_commit.append(self.memory.persist)
        self.store.stored.connect(self._on_stored)
        session.outbox.changed.connect(self._on_outbox_changed)

    # ---- state ---------------------------------------------------------------------

    @property
    def rooms(self) -> list[str]:
        """Remembered rooms (joined now, or to be re-joined on the next connect)."""
        return list(self.memory.marks)

    def members(self, room: str) -> list[str]:
        """Users in a room as last reported by the server."""
        return list(self._members.get(room, []))

    def last_offset(self, room: str) -> int | None:
        """The room's watermark (every offset up to it is stored)."""
        mark = self.memory.marks.get(room)
        return mark.last if mark else None

    def is_joined(self, room: str) -> bool:
        """Joined on the current connection."""
        return room in self._joined_now

    def queue(self, room: str) -> str:
        """The store queue of a room."""
        return room_key(self.NAMESPACE, room)

    # ---- commands ------------------------------------------------------------------

    def remember(self, room: str) -> None:
        """Join a room from the next connect on (with recovery), without a round trip."""
        self.memory.remember(room)

    async def join(self, room: str) -> dict[str, Any]:
        """Remember a room and join it now if connected (else on the next connect)."""
        self.memory.remember(room)
        if not self.session.is_connected(self.NAMESPACE):
            return {"ok": True, "room": room, "pending": True}
        return await self._join_now(room)

    async def ensure_joined(self, room: str) -> None:
        """Join a room on this connection unless already done (used before sending)."""
        if room not in self._joined_now:
            await self.join(room)

    async def leave(self, room: str) -> dict[str, Any]:
        """Forget a room and leave it on the server if connected."""
        self.memory.forget(room)
        self._joined_now.discard(room)
        self._members.pop(room, None)
        ack: dict[str, Any] = {"ok": True}
        if self.session.is_connected(self.NAMESPACE):
            ack = await self.session.call(self.NAMESPACE, "leave", {"room": room})
        self.room_left.emit(room)
        return ack

    def send(self, room: str, text: str, reply_to: str | None = None) -> OutboxMessage:
        """A room message, through the outbox (the room is joined before it is sent);
        `reply_to` is the id of the message it answers (ValueError for one that is not
        an id). The text is not checked here: the composer keeps it within
        `MAX_TEXT_CHARS`, and the server's refusal says why."""
        payload: dict[str, Any] = {"room": room, "text": text}
        if reply_to is not None:
            payload["reply_to"] = check_id(reply_to)
        return self.session.emit(self.NAMESPACE, "message", payload)

    def edit(self, room: str, msg_id: str, text: str) -> OutboxMessage:
        """Change the text of our message `msg_id` of `room`, through the outbox like a
        message (resending it is safe: the server acks a repeat with the first change).
        ValueError for an empty or too long text."""
        payload = {"room": room, "id": check_id(msg_id), "text": check_text(text)}
        return self.session.emit(self.NAMESPACE, "edit", payload)

    def delete(self, room: str, msg_id: str) -> OutboxMessage:
        """Delete our message `msg_id` of `room`, through the outbox like a message."""
        return self.session.emit(self.NAMESPACE, "delete",
                                 {"room": room, "id": check_id(msg_id)})

    def send_dm(self, user: str, text: str) -> OutboxMessage:
        """A direct message, through the outbox."""
        return self.session.emit(self.NAMESPACE, "dm", {"to": user, "text": text})

    def typing(self, room: str) -> OutboxMessage:
        """The typing notice: volatile, never queued."""
        return self.session.emit(self.NAMESPACE, "typing", {"room": room}, volatile=True)

    def typing_dm(self, user: str) -> OutboxMessage:
        """The typing notice of a direct message to `user`: volatile, never queued."""
        return self.session.emit(self.NAMESPACE, "typing", {"to": user}, volatile=True)

    async def list_people(self) -> list[Person]:
        """Every user the server has seen on /chat, online or not, sorted by name.
        NotConnected / CallTimeout when it cannot be asked; SessionError with the
        server's sentence when it refuses."""
        ack = await self.session.call(self.NAMESPACE, "users", {})
        if not isinstance(ack, dict) or ack.get("ok") is not True:
            err = ack.get("error") if isinstance(ack, dict) else ack
            raise SessionError(f"The server did not list its users: {err}.")
        return people_of(ack.get("users"))

    async def known_user(self, name: str) -> bool | None:
        """Whether the server has ever seen the user `name` (to ask before a DM to a
        name that may be mistyped); None when it cannot say: not connected, or not
        SockDesk's server."""
        if not self.session.extensions_on or not self.session.is_connected(self.NAMESPACE):
            return None
        try:
            people = await self.list_people()
        except SessionError as exc:
            log.info("could not ask the server about %r: %s", name, exc)
            return None
        return any(p.user == name for p in people)

    async def list_rooms(self) -> list[dict[str, Any]]:
        """The server's rooms (name, members, last offset)."""
        ack = await self.session.call(self.NAMESPACE, "rooms", {})
        return list(ack.get("rooms", [])) if isinstance(ack, dict) else []

    async def history(self, room: str, since: int = 0, limit: int = HISTORY_PAGE
                      ) -> dict[str, Any]:
        """One page of a room's history from the server (not stored)."""
        return await self.session.call(self.NAMESPACE, "history",
                                       {"room": room, "since": since, "limit": limit})

    # ---- recovery ------------------------------------------------------------------

    async def restore(self) -> None:
        """Re-join every remembered room (called when /chat connects, before ready)."""
        for room in self.rooms:
            try:
                await self._join_now(room)
            except Exception as exc:
                log.warning("re-joining %s failed: %s", room, exc)

    async def _join_now(self, room: str) -> dict[str, Any]:
        pending = self._joining.get(room)
        if pending is not None:
            return await asyncio.shield(pending)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._joining[room] = fut
        try:
            ack = await self._do_join(room)
            fut.set_result(ack)
            return ack
        except BaseException as exc:
            fut.set_exception(exc)
            fut.exception()  # mark retrieved
            raise
        finally:
            self._joining.pop(room, None)

    async def _do_join(self, room: str) -> dict[str, Any]:
        mark = self.memory.remember(room)
        payload: dict[str, Any] = {"room": room}
        since = mark.last
        if since is not None:
            payload["since"] = since
        self._presence_during_join[room] = []
        try:
            ack = await self.session.call(self.NAMESPACE, "join", payload)
        finally:
            changes = self._presence_during_join.pop(room)
        if not isinstance(ack, dict) or not ack.get("ok"):
            err = ack.get("error") if isinstance(ack, dict) else ack
            self.session.report_error(f"Could not join room {room!r}: {err}.")
            return ack if isinstance(ack, dict) else {"ok": False, "error": str(ack)}
        self._members[room] = _apply_presence(list(ack.get("members") or []), changes)
        recovered = since is not None
        count = self._store_history(room, ack.get("history") or [], recovered)
        last = max([since or 0] + [m.get("offset", 0) for m in ack.get("history") or []
                                   if isinstance(m, dict) and isinstance(m.get("offset"), int)])
        more = bool(ack.get("more"))
        while more:
            page = await self.history(room, since=last)
            if not isinstance(page, dict) or not page.get("ok"):
                break
            msgs = page.get("messages") or []
            count += self._store_history(room, msgs, recovered)
            offs = [m["offset"] for m in msgs if isinstance(m, dict)
                    and isinstance(m.get("offset"), int)]
            if not offs:
                break
            last = max(offs)
            more = bool(page.get("more"))
        top = ack.get("offset")
        if isinstance(top, int):
            mark.complete_to(max(top, last) if not more else last)
        else:
            mark.complete_to(last)
        self.memory.touch(room)
        self.store.request_commit()
        self._joined_now.add(room)
        self.room_joined.emit(room, ack)
        if recovered:
            self.recovered.emit(room, count)
        return ack

    def _store_history(self, room: str, msgs: list[Any], recovered: bool) -> int:
        """Keep a page of history entries; returns how many were messages. Change
        entries (`event`: edit / delete) are applied once the page's messages are in."""
        n = 0
        me = self.session.config.user
        changes: list[tuple[MessageChange, dict[str, Any]]] = []
        for m in msgs:
            if not isinstance(m, dict):
                continue
            if m.get("event") is not None:
                change = change_of(str(m["event"]), m)
                if change is not None and change.room == room:
                    changes.append((change, m))
                continue
            sm = describe(self.NAMESPACE, "message", [m], "in", self.queue(room),
                          ts=parse_ts(m.get("ts")), me=me)
            sm.recovered = recovered
            if m.get("user") == me and me is not None:
                sm.direction = "out"
            self.store.add(sm)
            n += 1
        for change, payload in changes:
            self.changes.record(change)
            self.store.add(self.changes.row(change, payload, recovered))
        return n

    def saw_offset(self, room: str, offset: int) -> None:
        """An entry of the room at `offset` is (being) stored: move the watermark."""
        mark = self.memory.marks.get(room)
        if mark is not None and mark.see(offset):
            self.memory.touch(room)

    # ---- the extension hooks (app.extension) ---------------------------------------

    @staticmethod
    def _room_of(event: str, args: Sequence[Any]) -> str | None:
        first = first_object(args)
        room = first.get("room") if first is not None and event in ROOM_EVENTS else None
        return room if isinstance(room, str) else None

    def on_emit(self, event: str, args: Sequence[Any]) -> None:
        """A room message (or edit, delete) accepted while offline is re-joined on the
        next connect, even after a restart, so the room is remembered now."""
        room = self._room_of(event, args)
        if room is not None:
            self.memory.remember(room)

    def dedupe_id(self, event: str, args: Sequence[Any]) -> str | None:
        """An `id` the user put in a message or DM is kept as its stable id."""
        first = first_object(args)
        if event in _ID_EVENTS and first is not None:
            given = first.get("id")
            return given if isinstance(given, str) and given else None
        return None

    def with_dedupe_id(self, event: str, args: list[Any], msg_id: str) -> list[Any]:
        """Messages and DMs carry the stable id as `id` (unless they have one), so the
        server answers a resend with the first ack instead of storing it twice."""
        first = first_object(args)
        if event in _ID_EVENTS and first is not None and "id" not in first:
            return [{**first, "id": msg_id}, *args[1:]]
        return args

    async def before_send(self, msg: OutboxMessage) -> None:
        """A room message needs its room joined on this connection."""
        room = self._room_of(msg.event, msg.args)
        if room is not None:
            await self.ensure_joined(room)

    async def prepare(self) -> None:
        """Re-join remembered rooms with `since` before /chat counts as ready."""
        await self.restore()

    def classify(self, event: str, args: Sequence[Any], direction: str,
                 me: str | None) -> str:
        """Room messages to their room, DMs to the other user, the rest by event."""
        return queue_key(self.NAMESPACE, event, args, direction, me)

    def on_disconnected(self) -> None:
        """Nothing is joined on a dead connection."""
        self._joined_now.clear()

    def on_inbound(self, event: str, args: list[Any], sm: StoredMessage) -> None:
        """Live /chat events: move watermarks, track presence."""
        first = first_object(args) or {}
        if event == "welcome":
            self._check_history(first.get("history"))
        ts = parse_ts(first.get("ts"))
        if event in ROOM_EVENTS and sm.room is not None:
            if ts is not None:
                sm.ts = ts
            change = change_of(event, first) if event in CHANGE_EVENTS else None
            if change is not None:
                # recorded before its row is stored and the watermark moves (see record)
                self.changes.record(change)
                sm.args, sm.text = [without_text(first)], None
            if sm.offset is not None:
                self.saw_offset(sm.room, sm.offset)
        elif event == "dm" and ts is not None:
            sm.ts = ts  # when it was sent, also when it waited in the mailbox
        elif event == "presence":
            room = first.get("room")
            if isinstance(room, str) and isinstance(first.get("members"), list):
                self._members[room] = list(first["members"])
                during = self._presence_during_join.get(room)
                if during is not None and isinstance(first.get("user"), str):
                    during.append((str(first.get("event")), first["user"]))
            self.presence.emit(first)
        elif event == "typing":
            if first.get("room") is None and isinstance(first.get("user"), str):
                self.dm_typing_seen.emit(first["user"])
            else:
                self.typing_seen.emit(first.get("room"), first.get("user"))

    def _check_history(self, history: Any) -> None:
        """The welcome names the server's history. Watermarks belong to one history: a
        server replaced under the same address (a fresh database for today's lesson)
        starts at offset 1 again, and asking it for `since` = yesterday's offset would
        silently skip its first messages. So a new history id starts them over. The
        welcome comes before the re-joins (`prepare` waits for it)."""
        if not isinstance(history, str) or not history:
            return
        known = self.store.meta(HISTORY_META)
        if known == history:
            return
        if known is not None:
            log.info("the server's history changed (%s -> %s): rooms start over",
                     known, history)
            self.store.start_rooms_over(self.NAMESPACE)
            self.memory.start_over()
            self.history_replaced.emit(history)
        self.store.set_meta(HISTORY_META, history)

    def _on_stored(self, batch: list[StoredMessage]) -> None:
        for m in batch:
            if m.namespace != self.NAMESPACE:
                continue
            if is_kind(m.queue, Kind.ROOM):
                if m.event == "message":  # changes are announced by `changed`
                    self.message.emit(m)
            elif is_kind(m.queue, Kind.DM):
                self.dm.emit(m)

    def _on_outbox_changed(self, msg: OutboxMessage) -> None:
        """Our own acked room message gets its offset: keep a copy in the room queue.
        Our own acked edit or delete is kept and applied like anybody's."""
        if msg.namespace != self.NAMESPACE or msg.state != OutboxState.ACKED \
                or msg.event not in ROOM_EVENTS or not isinstance(msg.reply, dict):
            return
        if msg.event in CHANGE_EVENTS:
            self.changes.own_acked(msg.event, msg.args, msg.reply)
            return
        first = first_object(msg.args)
        offset = msg.reply.get("offset")
        if first is None or not isinstance(first.get("room"), str) \
                or not isinstance(offset, int):
            return
        room = first["room"]
        payload = {"room": room, "user": self.session.config.user, "text": first.get("text"),
                   "id": msg.id, "offset": offset, "ts": msg.reply.get("ts")}
        if isinstance(first.get("reply_to"), str):
            payload["reply_to"] = first["reply_to"]
        sm = describe(self.NAMESPACE, "message", [payload], "out", self.queue(room),
                      ts=parse_ts(msg.reply.get("ts")), me=self.session.config.user)
        sm.msg_id = msg.id
        self.saw_offset(room, offset)
        self.store.add(sm)


def _apply_presence(members: list[str], changes: list[tuple[str, str]]) -> list[str]:
    """The members of a join ack, with the presence changes that arrived while the join
    was in flight applied in order. Such a change may be older or newer than the ack's
    snapshot (the server counts the joiner a moment after it enters the room, and an
    ack resumes its waiter after events already queued), so neither list may simply
    replace the other; applying joins and leaves on top gives the final state either
    way."""
    for event, user in changes:
        if event == "joined" and user not in members:
            members.append(user)
        elif event == "left" and user in members:
            members.remove(user)
    return members
