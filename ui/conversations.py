"""The conversations of one window: rooms and direct messages behind the Chat tab.

The main window is the shell (tabs, connection bar, status bar, dialogs); everything about
chatting lives here, in one QObject the window creates once and hands its chat pane and
sidebar to. It owns:

- one message model per conversation (a room or a DM), filled from the store's history,
  the outbox (own messages, in any state) and live core notifications;
- own messages followed through the outbox (queued → sent → acked | failed, cancelled);
- unread counts in the sidebar and tray notifications while the window is not active;
- which conversation the chat pane shows, its typing line and its member list.

Room members are not kept here: the core (``session.chat.members(room)``) keeps them up to
date from ``presence`` events and join acks, and this only reads them again whenever they
may have changed. What is kept is who was *seen* in a room (authors, presence), shown as
offline members.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QWidget

from app.keys import Kind, is_kind, parse_ts
from ui.chat_actions import ChatActions, apply_change, change_of
from ui.chat_attention import MutedRooms, MuteFollower, attention, mentions, mute_key
from ui.chat_discovery import Discovery
from ui.chat_presence import HonestPresence
from ui.chat_unread import UnreadMarks
from ui.host import WindowHost
from ui.models.chat import BEFORE_FIRST, ChatMessageModel
from ui.text import one_line
from ui.tray import app_tray

if TYPE_CHECKING:
    from app.outbox import OutboxMessage
    from app.session import Session
    from app.store import StoredMessage
    from app.workspace import Workspace
    from ui.bridge import SessionBridge
    from ui.settings import Settings
    from ui.widgets.chat import ChatPane
    from ui.widgets.sidebar import Sidebar

log = logging.getLogger(__name__)

CHAT_NS = "/chat"
#: own messages read back from the outbox when a conversation is opened
OWN_HISTORY = 500
#: messages read back from the store when a conversation is opened
HISTORY = 300
#: a message younger than this (or recovered) counts as news: unread mark, notification
FRESH_SECONDS = 60
#: the settings group of the conversation shown last (one per workspace and user)
LAST_GROUP = "chat/last"


class ChatHost(WindowHost, Protocol):
    """What the conversations need from the window that holds them, besides a host's."""

    @property
    def user(self) -> str: ...

    @property
    def is_connected(self) -> bool: ...

    def isActiveWindow(self) -> bool: ...

    def chat_in_front(self) -> bool:
        """The Chat tab is the current one."""

    def bring_chat_to_front(self) -> None: ...

    settings: Settings
    #: where the session connects (the banner names its host)
    url: str
    workspace: Workspace
    #: the user of a ``--clients`` window (its own muted rooms)
    as_user: str | None


def _arg0(args: list[Any]) -> dict[str, Any]:
    if args and isinstance(args[0], dict):
        return args[0]
    return {}


class Notifier:
    """Desktop notifications of one window's chat, through the app's one tray icon
    (``ui.tray``), only where a tray exists; ``sent`` keeps this window's.

    What asks *you* (a mention, a direct message) also alerts the window itself
    (``QApplication.alert``: the taskbar entry flashes, the window manager's urgency
    hint), tray or not; ``alerts`` counts them."""

    def __init__(self, parent: QObject) -> None:
        self.parent = parent
        self.sent: list[tuple[str, str]] = []
        self.alerts = 0

    def alert(self, window: QWidget) -> None:
        """Flash the window's taskbar entry until it is activated."""
        self.alerts += 1
        QApplication.alert(window.window())

    def notify(self, title: str, text: str) -> bool:
        if not app_tray().notify(title, text):
            return False
        self.sent.append((title, text))
        return True


class Conversations(QObject):
    """Rooms and DMs of one window; drives its chat pane and the sidebar's chat entries."""

    #: the conversation shown changed (kind, key; both "" when none is)
    shown = Signal(str, str)

    def __init__(self, host: ChatHost, bridge: SessionBridge, chat: ChatPane, sidebar: Sidebar,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.host = host
        self.chat = chat
        self.sidebar = sidebar
        self.sidebar_model = sidebar.model
        self.notifier = Notifier(self)
        self._models: dict[tuple[str, str], ChatMessageModel] = {}
        self._seen: dict[str, set[str]] = {}              # room -> users seen in it
        self._own_ids: dict[str, tuple[str, str]] = {}    # outbox id -> conversation
        #: None while chat works; the sentence why when it is off (a foreign server)
        self.off_reason: str | None = None
        #: muted rooms (per workspace), the offline banner, the directory and people
        self.muted = MutedRooms(host.settings,
                                lambda: mute_key(host.workspace.id, host.as_user), self)
        self.mute_follower = MuteFollower(self.muted, sidebar, self)
        #: unread counts kept across restarts (per workspace and user, ui.chat_unread)
        self.unread_marks = UnreadMarks(host.settings, self.sidebar_model,
                                        lambda: mute_key(host.workspace.id, host.as_user))
        self.presence = HonestPresence(chat, sidebar, lambda: host.url, self)
        self.discovery = Discovery(
            host, parent if isinstance(parent, QWidget) else None, me=lambda: host.user,
            off_reason=lambda: self.off_reason, connected=lambda: host.is_connected,
            join=lambda room: host.spawn(self.join_room(room)), open_dm=self.open_dm,
            known_dm=self._knows, parent=self)

        sidebar.join_requested.connect(lambda room: host.spawn(self.join_room(room)))
        sidebar.leave_requested.connect(lambda room: host.spawn(self.leave_room(room)))
        sidebar.dm_requested.connect(self.discovery.start_dm)  # a typed name: asked first
        sidebar.browse_requested.connect(self.discovery.open_directory)
        sidebar.people_requested.connect(self.discovery.open_people)
        sidebar.conversation_selected.connect(self.show_conversation)
        chat.send_requested.connect(self.send_chat)
        chat.typing_activity.connect(self._typing_activity)
        chat.retry_requested.connect(self.retry_message)
        chat.cancel_requested.connect(self.cancel_message)
        chat.leave_requested.connect(lambda room: host.spawn(self.leave_room(room)))
        chat.dm_requested.connect(self.open_dm)
        chat.clear_conversation()
        self.actions = ChatActions(host, self, chat, bridge, self)

        bridge.room_joined.connect(self._on_room_joined)
        bridge.presence.connect(self._on_presence)
        bridge.typing.connect(self._on_typing)
        bridge.chat_message.connect(self._on_chat_message)
        bridge.dm.connect(self._on_dm)
        bridge.recovered.connect(self._on_recovered)
        bridge.outbox_changed.connect(self._on_outbox_changed)
        bridge.connection_changed.connect(self.presence.on_change)
        bridge.namespace_ready.connect(self.presence.on_namespace_ready)
        bridge.dm_typing.connect(self._on_dm_typing)

    # -- the conversations ------------------------------------------------------------------------
    def conversation(self, kind: str, key: str) -> ChatMessageModel:
        """The message model of a room or DM (made empty on first use)."""
        model = self._models.get((kind, key))
        if model is None:
            # rooms in the server's order (offsets), DMs by the time they were sent
            model = ChatMessageModel(self, order="offset" if kind == "room" else "ts",
                                     me=self.host.user)
            self._models[(kind, key)] = model
        return model

    def existing(self, kind: str, key: str) -> ChatMessageModel | None:
        """The message model of a conversation if it was made."""
        return self._models.get((kind, key))

    def reset(self) -> None:
        """Another workspace is shown: forget every conversation of the last one (its
        store keeps them; they come back with ``session_opened`` when it is shown)."""
        # removing the selected row would select (and show, and remember as the one to
        # reopen) its neighbour: a reviewer renamed themselves in #general and got #random
        self.sidebar.clear_current()
        for kind in ("room", "dm"):
            for key in self.sidebar_model.keys(kind):
                self.sidebar_model.remove(kind, key)
        self._models.clear()
        self._seen.clear()
        self._own_ids.clear()
        self.actions.reset()
        self.chat.members.set_members([], [])
        self._clear_shown()
        self.set_chat_available(None)
        self.presence.reset()
        self.mute_follower.refresh()

    def _clear_shown(self) -> None:
        """No conversation shown in the chat pane."""
        self.chat.clear_conversation()
        self.shown.emit("", "")

    def _knows(self, user: str) -> bool:
        """Somebody we have a DM with or saw in a room (no need to ask the server)."""
        return ("dm", user) in self._models or any(user in seen for seen in
                                                   self._seen.values())

    def set_chat_available(self, off_reason: str | None) -> None:
        """Chat on (None), or off with the sentence why, shown in the sidebar and the
        chat pane; joining, sending and DMs are disabled meanwhile."""
        if off_reason == self.off_reason:
            return
        self.off_reason = off_reason
        self.presence.set_chat_off(off_reason is not None)
        self.sidebar.set_notice(off_reason or "")
        self.sidebar.set_chat_enabled(off_reason is None)
        if off_reason is not None or not self.chat.kind:
            self._clear_shown()
        if off_reason is not None:
            self.chat.subtitle.setText(off_reason)

    def session_opened(self) -> None:
        """A new session: remembered rooms and past DMs, with what the store holds for each."""
        session = self.host.session
        if session is None:
            return
        self.chat.members.me = self.host.user
        for model in self._models.values():
            model.set_me(self.host.user)
        for room in session.chat.rooms:
            self._add_room(room)
            self._load_history("room", room)
        prefix = f"dm:{CHAT_NS}:"
        # an unreadable store (locked, damaged) leaves out past DMs; connecting goes on
        with contextlib.suppress(Exception):
            for info in session.store.queues():
                if info.queue.startswith(prefix):
                    peer = info.queue[len(prefix):]
                    self.sidebar_model.add("dm", peer)
                    self._load_history("dm", peer)
        with contextlib.suppress(Exception):
            for msg in session.outbox.list(CHAT_NS):
                if msg.event == "dm":
                    peer = str(_arg0(msg.args).get("to") or "")
                    if peer and ("dm", peer) not in self._models:
                        self.sidebar_model.add("dm", peer)
                        self._load_history("dm", peer)
        self.unread_marks.restore()  # what was unread when the app last ran still is
        self.reopen_last()

    def _add_room(self, room: str) -> None:
        self.sidebar_model.add("room", room)
        self.conversation("room", room)

    async def join_room(self, room: str) -> None:
        """Join (or remember, while offline) a room and show it."""
        session = self.host.session
        if session is None:
            self.host.show_error("Connect first, then join a room")
            return
        if self.off_reason is not None:
            self.host.show_error(self.off_reason)
            return
        self._add_room(room)
        self.sidebar.select("room", room)
        ack = await session.chat.join(room)
        if ack.get("ok") is False:
            self.host.show_error(f"Could not join #{room}: {ack.get('error', 'refused')}")
        elif ack.get("pending"):
            self.host.show_info(f"#{room} will be joined once connected")

    async def leave_room(self, room: str) -> None:
        """Leave and forget a room; its conversation goes with it."""
        session = self.host.session
        if session is not None:
            await session.chat.leave(room)
        self.sidebar_model.remove("room", room)
        self._models.pop(("room", room), None)
        if self.chat.kind == "room" and self.chat.target == room:
            self._clear_shown()

    def open_dm(self, user: str) -> None:
        """Show the direct messages with ``user`` (started if new)."""
        if not user or user == self.host.user or self.off_reason is not None:
            return
        new = ("dm", user) not in self._models
        self.sidebar_model.add("dm", user)
        self.conversation("dm", user)
        if new:
            self._load_history("dm", user)
        self.sidebar.select("dm", user)
        self.host.bring_chat_to_front()

    def show_conversation(self, kind: str, key: str) -> None:
        """Show a room or DM in the chat pane (and the Chat tab); it is read now."""
        if self.off_reason is not None:
            return
        model = self.conversation(kind, key)
        model.flush()
        self._mark_where_reading_stopped(kind, key, model)
        self.sidebar.select(kind, key)
        self.chat.show_conversation(kind, key, model)
        self.sidebar_model.set_unread(kind, key, 0)
        self.unread_marks.save()
        if kind == "room":
            self._refresh_members(key)
        else:
            self.chat.subtitle.setText("direct message")
        self.host.bring_chat_to_front()
        self.host.settings.set_json(self._last_setting(), [kind, key])
        self.shown.emit(kind, key)

    def _mark_where_reading_stopped(self, kind: str, key: str,
                                    model: ChatMessageModel) -> None:
        """The "New" line: above this conversation's unread messages (none: no line);
        the conversation left loses its line, read now."""
        before = self.chat.model
        if before is not None and before is not model:
            before.set_read_marker(None)
        unread = self.sidebar_model.unread(kind, key)
        messages = model.messages()
        if not unread or not messages:
            model.set_read_marker(None)
        else:
            model.set_read_marker(messages[-unread - 1].key if unread < len(messages)
                                  else BEFORE_FIRST)

    def _last_setting(self) -> str:
        """Where the conversation shown last is kept (per workspace and user)."""
        return f"{LAST_GROUP}/{mute_key(self.host.workspace.id, self.host.as_user)}"

    def reopen_last(self) -> bool:
        """Show the conversation shown last time in this workspace (a restarted app
        opens where it was), when nothing is shown yet and it is still listed."""
        last = self.host.settings.get_json(self._last_setting(), None)
        if self.chat.kind or not (isinstance(last, list) and len(last) == 2):
            return False
        kind, key = (str(x) for x in last)
        if kind not in ("room", "dm") or key not in self.sidebar_model.keys(kind):
            return False
        self.show_conversation(kind, key)
        model = self.conversation(kind, key)
        if model.read_marker is None and model.messages():
            # what the reconnection recovers next was not read: it comes under the line
            model.set_read_marker(model.messages()[-1].key)
        return True

    def _refresh_members(self, room: str) -> None:
        if self.chat.kind == "room" and self.chat.target == room:
            session = self.host.session
            online = session.chat.members(room) if session is not None else []
            self.chat.set_members(online, sorted(self._seen.get(room, ())), self.host.user)

    def _load_history(self, kind: str, key: str) -> None:
        """What the store already holds for this conversation (survives restarts)."""
        session = self.host.session
        if session is None:
            return
        queue = f"{kind}:{CHAT_NS}:{key}"
        try:
            rows = session.store.page_end(queue, limit=HISTORY)
        except Exception as exc:
            log.debug("history of %s unavailable: %s", queue, exc)
            rows = []
        for m in rows:
            if kind == "room":
                self._add_room_message(m, fresh=False)
            else:
                self._add_dm(m, fresh=False)
        self._load_own(session, kind, key)

    def _load_own(self, session: Session, kind: str, key: str) -> None:
        """Own messages from the outbox for this conversation (any state)."""
        # acked room messages are in the room's queue already; own DMs live only here
        states = ("queued", "sent", "failed", "no_ack") if kind == "room" else None
        try:
            mine = session.outbox.list(CHAT_NS, states=states)
        except Exception:
            return
        for msg in mine[-OWN_HISTORY:]:
            payload = _arg0(msg.args)
            if (kind == "room" and msg.event == "message" and payload.get("room") == key) or (
                    kind == "dm" and msg.event == "dm" and payload.get("to") == key):
                reply_to = payload.get("reply_to")
                self._add_own(kind, key, msg, str(payload.get("text", "")),
                              reply_to if isinstance(reply_to, str) else None)

    def add_stored(self, kind: str, target: str, rows: list[StoredMessage]) -> None:
        """Rows read back from the store beyond the history loaded (find jumping to an
        old message), shown in their place as history; an own message kept only in the
        outbox (waiting, or a DM) comes with its delivery state."""
        session = self.host.session
        for m in rows:
            if is_kind(m.queue, Kind.OUTBOX):
                msg = session.outbox.get(m.msg_id) if session and m.msg_id else None
                if msg is not None:
                    self._add_own(kind, target, msg, str(_arg0(msg.args).get("text", "")))
            elif kind == "room":
                self._add_room_message(m, fresh=False)
            else:
                self._add_dm(m, fresh=False)

    # -- incoming ------------------------------------------------------------------------------
    def _on_chat_message(self, m: StoredMessage) -> None:
        self._add_room_message(m, fresh=None)

    def _on_dm(self, m: StoredMessage) -> None:
        self._add_dm(m, fresh=None)

    @staticmethod
    def _is_fresh(m: StoredMessage) -> bool:
        """Live or recovered (worth an unread mark), as opposed to old history."""
        return m.recovered or time.time() - float(m.ts or 0) < FRESH_SECONDS

    def _add_room_message(self, m: StoredMessage, fresh: bool | None) -> None:
        payload = _arg0(m.args)
        room = str(m.room or payload.get("room") or "")
        if not room:
            return
        model = self.conversation("room", room)
        change = change_of(payload, m.event)
        if change is not None:  # an edit or delete entry: applied, not shown as a row
            model.flush()
            apply_change(model, *change)
            return
        user = str(m.user or payload.get("user") or "?")
        own = m.direction == "out" or user == self.host.user
        msg_id = m.msg_id or payload.get("id")
        self.sidebar_model.add("room", room)
        is_new = not (msg_id and model.has(str(msg_id)))
        text = m.text
        reply_to = payload.get("reply_to")
        model.add_message(key=str(msg_id) if msg_id else None, user=user,
                          text=str(text if text is not None else payload.get("text", "")),
                          ts=m.ts or parse_ts(payload.get("ts")),
                          own=own, state="acked" if own else None,
                          recovered=m.recovered, offset=m.offset,
                          reply_to=reply_to if isinstance(reply_to, str) else None,
                          edited=payload.get("edited") is True,
                          deleted=payload.get("deleted") is True)
        if user not in self._seen.setdefault(room, set()):
            self._seen[room].add(user)
            self._refresh_members(room)
        if own or not is_new:
            return
        self.chat.stopped_typing("room", room, user)
        if fresh is None:
            fresh = self._is_fresh(m)
        if fresh:
            self._unread_and_notify("room", room, user, str(text or ""))

    def _add_dm(self, m: StoredMessage, fresh: bool | None) -> None:
        payload = _arg0(m.args)
        me = self.host.user
        sender = str(m.user or payload.get("user") or "")
        outgoing = m.direction == "out" or sender == me
        peer = str(payload.get("to") or "") if outgoing else sender
        if not peer:
            return
        self.sidebar_model.add("dm", peer)
        model = self.conversation("dm", peer)
        msg_id = m.msg_id or payload.get("id")
        is_new = not (msg_id and model.has(str(msg_id)))
        text = str(m.text if m.text is not None else payload.get("text", ""))
        model.add_message(key=str(msg_id) if msg_id else None,
                          user=me if outgoing else sender, text=text,
                          # when it was sent (the server's ts), not when it arrived
                          ts=parse_ts(payload.get("ts")) or m.ts,
                          own=outgoing, state="acked" if outgoing else None,
                          recovered=m.recovered)
        if outgoing or not is_new:
            return
        self.chat.stopped_typing("dm", peer, sender)
        if fresh is None:
            fresh = self._is_fresh(m)
        if fresh:
            self._unread_and_notify("dm", peer, sender, text)

    def seen_again(self) -> None:
        """The Chat tab came back to front: the conversation it shows is read now (what
        came while another tab was in front counted as unread)."""
        kind, key = self.chat.kind, self.chat.target
        if kind and key:
            self.sidebar_model.set_unread(kind, key, 0)
            self.unread_marks.save()

    def _unread_and_notify(self, kind: str, key: str, user: str, text: str) -> None:
        """Unread mark and notification as ``ui.chat_attention.attention`` decides
        (muted rooms are quiet; a mention of you always gets through)."""
        showing = self.chat.kind == kind and self.chat.target == key and \
            self.host.chat_in_front()
        active = self.host.isActiveWindow()
        bump, notify = attention(kind, key, text, me=self.host.user,
                                 muted=kind == "room" and self.muted.is_muted(key),
                                 showing=showing, active=active)
        mentioned = kind == "room" and mentions(text, self.host.user)
        if bump:
            self.sidebar_model.bump_unread(kind, key, mention=mentioned)
            self.unread_marks.save()
        if notify:
            if mentioned:
                title = f"{user} mentioned you in #{key}"
            else:
                title = f"{user} in " + (f"#{key}" if kind == "room" else "a direct message")
            self.notifier.notify(title, one_line(text, 200))
            # a tray popup is easy to miss and often there is no tray: what asks you
            # flashes the window too
            if not active and (mentioned or kind == "dm") and isinstance(self.host, QWidget):
                self.notifier.alert(self.host)

    def _on_room_joined(self, room: str, _ack: object) -> None:
        self._add_room(room)
        self._refresh_members(room)  # the core took the members from the join ack

    def _on_presence(self, p: dict[str, Any]) -> None:
        room = str(p.get("room") or "")
        if not room:
            return
        user = str(p.get("user") or "")
        if user:
            self._seen.setdefault(room, set()).add(user)
            if p.get("event") == "left":
                self.chat.stopped_typing("room", room, user)
        self._refresh_members(room)  # the core took the members from this event

    def _on_dm_typing(self, user: str) -> None:
        if user and user != self.host.user:
            self.chat.someone_typing("dm", user, user)

    def _on_typing(self, room: str, user: str) -> None:
        if room and user and user != self.host.user:
            self.chat.someone_typing("room", room, user)

    def _on_recovered(self, room: str, count: int) -> None:
        if count:
            self.host.show_info(f"Recovered {count} missed message{'s' if count != 1 else ''} "
                                f"in #{room}")

    # -- outgoing ------------------------------------------------------------------------------
    def send_chat(self, kind: str, target: str, text: str, reply_to: str = "") -> None:
        """Send through the outbox; the message shows at once, in its delivery state (a
        room message at the end, pending, until its ack gives it its place)."""
        session = self.host.session
        if session is None:
            self.host.show_error("Not connected to any server yet: press Connect (Ctrl+K)")
            return
        if self.off_reason is not None:
            self.host.show_error(self.off_reason)
            return
        try:
            if kind == "room":
                msg = session.chat.send(target, text, reply_to or None)
            else:
                msg = session.chat.send_dm(target, text)
        except Exception as exc:
            self.host.show_error(f"Not sent: {exc}")
            return
        self._add_own(kind, target, msg, text, reply_to or None)
        self.conversation(kind, target).set_read_marker(None)   # answered: all read
        self.host.refresh_depth()

    def _add_own(self, kind: str, target: str, msg: OutboxMessage, text: str,
                 reply_to: str | None = None) -> None:
        self._own_ids[msg.id] = (kind, target)
        model = self.conversation(kind, target)
        model.add_message(key=msg.id, user=self.host.user, text=text,
                          ts=msg.created or time.time(), own=True, state=msg.state.value,
                          reply_to=reply_to)
        if msg.error:
            model.set_state(msg.id, msg.state.value, msg.error)

    def _on_outbox_changed(self, msg: OutboxMessage) -> None:
        conv = self._own_ids.get(msg.id)
        model = self._models.get(conv) if conv is not None else None
        if model is None:
            return
        if msg.state.value == "cancelled":
            model.remove(msg.id)
            return
        model.set_state(msg.id, msg.state.value, msg.error or "")
        reply = msg.reply if isinstance(msg.reply, dict) else {}
        ts = parse_ts(reply.get("ts"))
        if msg.state.value == "acked" and isinstance(reply.get("offset"), int):
            model.set_offset(msg.id, reply["offset"], ts)  # its place in the timeline
        elif msg.state.value == "acked" and ts is not None:
            model.set_ts(msg.id, ts)  # a DM: the time the server has for it

    def retry_message(self, msg_id: str) -> None:
        """Send a failed own message again, or one whose ack never came ("no ack": it
        may have arrived, so only the user decides to send it once more)."""
        session = self.host.session
        if session is None:
            return
        try:
            session.outbox.retry(msg_id)
        except Exception as exc:
            self.host.show_error(f"Could not retry: {exc}")

    def cancel_message(self, msg_id: str) -> None:
        """Delete a queued or failed own message (it disappears from the conversation)."""
        session = self.host.session
        if session is None:
            return
        try:
            session.outbox.cancel(msg_id)
        except Exception as exc:
            self.host.show_error(f"Could not cancel: {exc}")

    def _typing_activity(self, kind: str, target: str) -> None:
        session = self.host.session
        if session is None or not self.host.is_connected or self.off_reason is not None:
            return
        with contextlib.suppress(Exception):  # a typing notice is best effort
            if kind == "room":
                session.chat.typing(target)
            elif kind == "dm":
                session.chat.typing_dm(target)
