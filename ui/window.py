"""The main window: connection bar, sidebar, and the Chat / Events / Compose tabs.

All core calls go through ``self.session`` (an ``app.session.Session``); every core
notification arrives through ``self.bridge`` (ui.bridge.SessionBridge) as a Qt signal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import shiboken6
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QSplitter,
    QSystemTrayIcon,
    QTabWidget,
    QWidget,
)

from ui import theme
from ui.bridge import SessionBridge
from ui.inspector import QueuesTab
from ui.models.chat import ChatMessageModel
from ui.models.packets import PacketTableModel
from ui.models.sidebar import SidebarModel
from ui.settings import Settings
from ui.text import escape_controls, one_line, parse_ts
from ui.widgets.acks import AckPanel
from ui.widgets.chat import ChatPane
from ui.widgets.compose import ComposeTab
from ui.widgets.connection import DEFAULT_OPTIONS, ConnectionBar, ConnectionDialog
from ui.widgets.events import EventsTab, packet_dict
from ui.widgets.sidebar import Sidebar

if TYPE_CHECKING:
    from ui.learn import LearnTab

log = logging.getLogger(__name__)

CHAT_NS = "/chat"


def _state_value(state: Any) -> str:
    value = getattr(state, "value", state)
    return str(value).lower() if value is not None else ""


def _arg0(args: Any) -> dict[str, Any]:
    if isinstance(args, list | tuple) and args and isinstance(args[0], dict):
        return args[0]
    return {}


def build_config(options: dict[str, Any]) -> Any:
    """An app.config.ConnectionConfig from the options the dialog edits."""
    from app.config import ConnectionConfig, ReconnectPolicy

    o = {**DEFAULT_OPTIONS, **options}
    return ConnectionConfig(
        url=o["url"], user=o["user"] or None, token=o["token"] or None,
        namespaces=list(o["namespaces"]), auth=dict(o["auth"]), headers=dict(o["headers"]),
        query=dict(o["query"]), transports=list(o["transports"]),
        reconnect=ReconnectPolicy(delay=float(o["delay"]), delay_max=float(o["delay_max"]),
                                  attempts=int(o["attempts"])),
        no_ack=bool(o["no_ack"]), ack_timeout=float(o["ack_timeout"]))


class Notifier:
    """System-tray notifications, only where a tray exists."""

    def __init__(self, parent: QWidget) -> None:
        self.parent = parent
        self.tray: QSystemTrayIcon | None = None
        self.sent: list[tuple[str, str]] = []

    def notify(self, title: str, text: str) -> bool:
        if not QSystemTrayIcon.isSystemTrayAvailable():
            return False
        if self.tray is None:
            self.tray = QSystemTrayIcon(theme.icon("app"), self.parent)
            self.tray.setToolTip("SockDesk")
            self.tray.show()
        self.tray.showMessage(title, text, QSystemTrayIcon.MessageIcon.Information, 5000)
        self.sent.append((title, text))
        return True

    def hide(self) -> None:
        if self.tray is not None:
            self.tray.hide()


class MainWindow(QMainWindow):
    """One connection, one user. Several can live in one process (``--clients N``)."""

    closed = Signal()
    connected = Signal()  # every time the session gets connected

    def __init__(self, options: dict[str, Any], data_dir: Path, settings: Settings | None = None,
                 *, key: str = "main", title_suffix: str = "",
                 bundled_url: str | None = None) -> None:
        super().__init__()
        self.settings = settings or Settings()
        self.options: dict[str, Any] = {**DEFAULT_OPTIONS, **options}
        self.data_root = Path(data_dir)
        self.bundled_url = bundled_url
        self.embedded_server: Any = None  # the bundled server, when this window uses it
        self.key = key
        self.session: Any = None
        self.bridge = SessionBridge(self)
        self._closing = False
        self._closed = False
        self._state = "offline"
        self._compose_pending: dict[str, str] = {}
        self._conversations: dict[tuple[str, str], ChatMessageModel] = {}
        self._members: dict[str, list[str]] = {}
        self._seen: dict[str, set[str]] = {}
        self._own_ids: dict[str, tuple[str, str]] = {}   # outbox id -> conversation
        self._tasks: set[asyncio.Task[Any]] = set()
        self.notifier = Notifier(self)
        self.setWindowTitle("SockDesk" + (f" — {title_suffix}" if title_suffix else ""))
        self.resize(1180, 760)

        # -- connection bar ------------------------------------------------------------------
        self.bar = ConnectionBar(self)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.bar)
        self.bar.connect_requested.connect(self.on_connect_clicked)
        self.bar.disconnect_requested.connect(self.on_disconnect_clicked)
        self.bar.options_requested.connect(self.open_connection_dialog)
        self._fill_bar()

        # -- sidebar and tabs ---------------------------------------------------------------------
        self.sidebar_model = SidebarModel(self)
        self.sidebar = Sidebar(self.sidebar_model)
        self.sidebar.join_requested.connect(lambda room: self.spawn(self.join_room(room)))
        self.sidebar.leave_requested.connect(lambda room: self.spawn(self.leave_room(room)))
        self.sidebar.dm_requested.connect(self.open_dm)
        self.sidebar.conversation_selected.connect(self.show_conversation)
        self.sidebar.namespace_selected.connect(self._namespace_selected)

        self.chat = ChatPane()
        self.chat.send_requested.connect(self.send_chat)
        self.chat.typing_activity.connect(self._typing_activity)
        self.chat.retry_requested.connect(self.retry_message)
        self.chat.cancel_requested.connect(self.cancel_message)
        self.chat.leave_requested.connect(lambda room: self.spawn(self.leave_room(room)))
        self.chat.dm_requested.connect(self.open_dm)
        self.chat.clear_conversation()

        self.packets = PacketTableModel(self)
        self.events = EventsTab(self.packets)
        self.events.export_requested.connect(self.export_packets)

        self.compose = ComposeTab(self.settings)
        self.compose.send_requested.connect(self.send_compose)
        self.acks = AckPanel(self.settings)
        self.compose.splitter.widget(1).layout().addWidget(self.acks)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.add_tab(self.chat, "chat", "Chat")
        self.add_tab(self.events, "activity", "Events")
        self.add_tab(self.compose, "terminal", "Compose")
        self.queues = QueuesTab(self)
        self.add_tab(self.queues, "queues", "Queues")
        # the Learn tab imports every lesson (and so the whole Socket.IO client): it is
        # built when first needed, not on the way to the first paint
        self._learn: LearnTab | None = None
        self._learn_slot = QWidget()
        self.add_tab(self._learn_slot, "learn", "Learn")
        self.tabs.currentChanged.connect(self._tab_changed)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([230, 950])
        self.splitter.setChildrenCollapsible(False)
        self.setCentralWidget(self.splitter)

        self.error_label = QLabel("")
        self.error_label.setObjectName("errorLabel")
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.summary_label = QLabel("")
        self.summary_label.setObjectName("hint")
        self.summary_label.setTextFormat(Qt.TextFormat.PlainText)
        self.statusBar().addPermanentWidget(self.error_label, 1)
        self.statusBar().addPermanentWidget(self.summary_label)
        self.statusBar().setSizeGripEnabled(False)

        self._depth_timer = QTimer(self)
        self._depth_timer.setSingleShot(True)
        self._depth_timer.setInterval(40)
        self._depth_timer.timeout.connect(self.refresh_depth)

        self._wire_bridge()
        self._shortcuts()
        self._restore_layout()

    # -- structure -----------------------------------------------------------------------------
    def add_tab(self, widget: QWidget, icon: str, title: str) -> int:
        """Tabs are added in order; Ctrl+1..9 follow them (Queues and Learn come later)."""
        return self.tabs.addTab(widget, theme.icon(icon), title)

    def _shortcuts(self) -> None:
        for n in range(1, 10):
            sc = QShortcut(QKeySequence(f"Ctrl+{n}"), self)
            sc.activated.connect(lambda n=n: self._go_tab(n - 1))
        find = QShortcut(QKeySequence.StandardKey.Find, self)
        find.activated.connect(self._focus_filter)
        send = QShortcut(QKeySequence("Ctrl+Return"), self.compose)
        send.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        send.activated.connect(self.compose.send)
        send2 = QShortcut(QKeySequence("Ctrl+Enter"), self.compose)
        send2.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        send2.activated.connect(self.compose.send)
        join = QAction(self)
        join.setShortcut(QKeySequence("Ctrl+J"))
        join.triggered.connect(self.sidebar.focus_entry)
        self.addAction(join)

    @property
    def learn(self) -> LearnTab:
        """The Learn tab, built on first use."""
        return self._learn if self._learn is not None else self._build_learn()

    def _build_learn(self) -> LearnTab:
        """Put the real Learn tab in place of its placeholder page (same index, same
        icon), keeping it the current tab when the user was opening it."""
        from ui.learn import LearnTab

        self._learn = tab = LearnTab(self)
        slot = self._learn_slot
        showing = self.tabs.currentWidget() is slot
        i = self.tabs.indexOf(slot)
        self.tabs.insertTab(i, tab, theme.icon("learn"), "Learn")
        self.tabs.removeTab(i + 1)
        slot.deleteLater()
        if showing:
            self.tabs.setCurrentWidget(tab)
        return tab

    def _tab_changed(self, index: int) -> None:
        if self._learn is None and self.tabs.widget(index) is self._learn_slot:
            self._build_learn()

    def _go_tab(self, i: int) -> None:
        if 0 <= i < self.tabs.count():
            self.tabs.setCurrentIndex(i)

    def _focus_filter(self) -> None:
        self.tabs.setCurrentWidget(self.events)
        self.events.focus_filter()

    def _fill_bar(self) -> None:
        self.bar.url.clear()
        urls = [self.options["url"]] + [r["url"] for r in self.settings.recent_connections()
                                        if r["url"] != self.options["url"]]
        self.bar.url.addItems(urls)
        self.bar.url.setCurrentText(self.options["url"])
        self.bar.user.setText(self.options.get("user") or "")

    def _restore_layout(self) -> None:
        geo = self.settings.bytes_value(f"windows/{self.key}/geometry")
        if geo is not None:
            self.restoreGeometry(geo)
        for name, splitter in self._splitters().items():
            state = self.settings.bytes_value(f"windows/{self.key}/splitters/{name}")
            if state is not None:
                splitter.restoreState(state)

    def _save_layout(self) -> None:
        self.settings.set(f"windows/{self.key}/geometry", self.saveGeometry())
        for name, splitter in self._splitters().items():
            self.settings.set(f"windows/{self.key}/splitters/{name}", splitter.saveState())
        self.settings.sync()

    def _splitters(self) -> dict[str, QSplitter]:
        return {"main": self.splitter, "chat": self.chat.splitter,
                "events": self.events.splitter, "compose": self.compose.splitter}

    # -- async helpers -------------------------------------------------------------------------
    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        """Run a coroutine on the loop; failures become a sentence in the status bar."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            log.debug("task failed", exc_info=exc)
            self.show_error(str(exc) or type(exc).__name__)

    def show_error(self, text: str) -> None:
        if shiboken6.isValid(self.error_label):
            self.error_label.setText(one_line(text, 300))

    def show_info(self, text: str, ms: int = 6000) -> None:
        if shiboken6.isValid(self):
            self.statusBar().showMessage(one_line(text, 300), ms)

    # -- the bridge ----------------------------------------------------------------------------
    def _wire_bridge(self) -> None:
        b = self.bridge
        b.state_changed.connect(self._on_state)
        b.namespace_ready.connect(self._on_namespace_ready)
        b.packet_logged.connect(self.packets.add)
        b.error.connect(self.show_error)
        b.outbox_changed.connect(self._on_outbox_changed)
        b.ack_requested.connect(self._on_ack_requested)
        b.room_joined.connect(self._on_room_joined)
        b.room_left.connect(self._on_room_left)
        b.presence.connect(self._apply_presence)
        b.typing.connect(self._on_typing)
        b.chat_message.connect(self._on_chat_message)
        b.dm.connect(self._on_dm)
        b.recovered.connect(self._on_recovered)

    # -- session lifecycle ---------------------------------------------------------------------
    @property
    def user(self) -> str:
        return str(self.options.get("user") or "")

    def profile_dir(self, options: dict[str, Any] | None = None) -> Path:
        """The core's data dir for one identity (user on a server).

        The outbox and remembered rooms are not keyed by user or server, so each
        identity gets its own folder: switching user or URL never sends what one
        identity queued as another, or to another server. The bundled server is one
        identity per user whatever port it got this time.
        """
        o = options or self.options
        url = str(o.get("url") or "")
        if self.bundled_url and url == self.bundled_url:
            where = "bundled"
        else:
            parts = urlsplit(url)
            where = f"{parts.hostname or 'server'}_{parts.port or 0}"
        name = f"{o.get('user') or 'anonymous'}@{where}"
        return self.data_root / "profiles" / re.sub(r"[^A-Za-z0-9._@-]", "_", name)

    def server_starting(self) -> None:
        """The bundled server is still starting: the window is up, saying so, and
        connects once ``use_server`` gives it the address."""
        self._state = "starting"
        self.bar.set_state("starting", "Starting the bundled server…")
        self.summary_label.setText(f"{self.user or '?'}  ·  starting the bundled server…")

    def use_server(self, url: str, embedded: Any = None) -> None:
        """Connect to ``url`` from now on; ``embedded`` is the bundled server when ``url``
        is its address (the Learn tab can then stop and start it)."""
        self.options["url"] = url
        self.bundled_url = url if embedded is not None else None
        self.embedded_server = embedded
        self.setWindowTitle(f"SockDesk — {self.user} @ {url}")
        self._fill_bar()
        if self._state == "starting":
            self._on_state("offline", "")
        if self._learn is not None:
            self._learn.classroom.refresh_server()

    async def open_session(self, options: dict[str, Any] | None = None) -> None:
        """(Re)create the core session for ``options`` and connect."""
        from app.session import Session

        if options is not None:
            self.options = {**DEFAULT_OPTIONS, **options}
        await self.close_session()
        cfg = build_config(self.options)
        self.error_label.setText("")
        self.session = Session(cfg, self.profile_dir())
        self.bridge.attach(self.session)
        self.sidebar_model.set_namespaces(cfg.normalized_namespaces())
        self.compose.set_namespaces(cfg.normalized_namespaces())
        self.chat.members.me = self.user
        self._fill_bar()
        self._load_known_conversations()
        self.refresh_depth()
        self.settings.remember_connection({"url": self.options["url"], "user": self.user})
        await self.session.connect()

    async def close_session(self) -> None:
        session, self.session = self.session, None
        if session is None:
            return
        self.bridge.detach()
        try:
            await session.close()
        except Exception as exc:  # closing must not stop a shutdown
            log.debug("session close failed: %s", exc)
        self._on_state("offline", "Closed")

    def on_connect_clicked(self) -> None:
        url = self.bar.url.currentText().strip()
        user = self.bar.user.text().strip()
        if not url:
            self.show_error("Type a server URL first, like http://127.0.0.1:5000")
            return
        if url != self.options["url"] or user != self.user or self.session is None:
            self.spawn(self.open_session({**self.options, "url": url, "user": user}))
        else:
            self.spawn(self.session.connect())

    def on_disconnect_clicked(self) -> None:
        if self.session is not None:
            self.spawn(self.session.disconnect(reason="user"))

    def open_connection_dialog(self) -> ConnectionDialog:
        opts = {**self.options, "url": self.bar.url.currentText().strip() or self.options["url"],
                "user": self.bar.user.text().strip()}
        dlg = ConnectionDialog(opts, self)

        def done(result: int) -> None:
            if result == ConnectionDialog.DialogCode.Accepted:
                self.spawn(self.open_session(dlg.options()))
            dlg.deleteLater()

        dlg.finished.connect(done)
        dlg.open()
        return dlg

    # -- state ---------------------------------------------------------------------------------
    def _on_state(self, state: str, reason: str) -> None:
        self._state = state
        self.bar.set_state(state, reason)
        self.summary_label.setText(f"{self.user or '?'}  ·  "
                                   f"{one_line(reason, 90) if reason else state}")
        if state == "connected":
            self.error_label.setText("")
            self.connected.emit()
            self.show_info(f"Connected to {self.options['url']} as {self.user}")
        elif state == "offline" and reason and reason not in ("user", "Closed"):
            self.show_info(f"Offline: {reason}")
        if state != "connected":
            for ns in self.sidebar_model.keys("namespace"):
                self.sidebar_model.set_ready("namespace", ns, False)
        self.refresh_depth()

    def _on_namespace_ready(self, ns: str, ready: bool) -> None:
        self.sidebar_model.add("namespace", ns)
        self.sidebar_model.set_ready("namespace", ns, ready)

    def _namespace_selected(self, ns: str) -> None:
        self.compose.namespace.setCurrentText(ns)

    # -- outbox --------------------------------------------------------------------------------
    def refresh_depth(self) -> None:
        depth = 0
        if self.session is not None:
            with contextlib.suppress(Exception):
                depth = int(self.session.outbox.depth())
        self.bar.set_depth(depth)

    def _on_outbox_changed(self, msg: Any) -> None:
        if not self._depth_timer.isActive():
            self._depth_timer.start()
        state = _state_value(getattr(msg, "state", ""))
        conv = self._own_ids.get(msg.id)
        if conv is not None:
            model = self._conversations.get(conv)
            if model is not None and state == "cancelled":
                model.remove(msg.id)
            elif model is not None:
                model.set_state(msg.id, state, getattr(msg, "error", None) or "")
        if msg.id in self._compose_pending:
            if state in ("acked", "failed"):
                self._compose_pending.pop(msg.id, None)
                if state == "acked":
                    self.compose.show_response(getattr(msg, "reply", None), "acked")
                else:
                    self.compose.show_response(getattr(msg, "reply", None),
                                               f"failed: {getattr(msg, 'error', '') or ''}")
            else:
                self.compose.show_state(state)

    def cancel_message(self, msg_id: str) -> None:
        if self.session is None:
            return
        try:
            self.session.outbox.cancel(msg_id)
        except Exception as exc:
            self.show_error(f"Could not cancel: {exc}")

    def retry_message(self, msg_id: str) -> None:
        if self.session is None:
            return
        try:
            self.session.outbox.retry(msg_id)
        except Exception as exc:
            self.show_error(f"Could not retry: {exc}")

    # -- conversations ---------------------------------------------------------------------------
    def conversation(self, kind: str, key: str) -> ChatMessageModel:
        model = self._conversations.get((kind, key))
        if model is None:
            model = ChatMessageModel(self)
            self._conversations[(kind, key)] = model
        return model

    def _load_known_conversations(self) -> None:
        """Remembered rooms and past DMs, with what the store holds for each."""
        for room in list(getattr(self.session.chat, "rooms", []) or []):
            self._add_room(str(room))
            self._load_history("room", str(room))
        with contextlib.suppress(Exception):
            for info in self.session.store.queues():
                prefix = f"dm:{CHAT_NS}:"
                if info.queue.startswith(prefix):
                    peer = info.queue[len(prefix):]
                    self.sidebar_model.add("dm", peer)
                    self._load_history("dm", peer)
        with contextlib.suppress(Exception):
            for msg in self.session.outbox.list(CHAT_NS):
                if msg.event == "dm":
                    peer = str(_arg0(msg.args).get("to") or "")
                    if peer and ("dm", peer) not in self._conversations:
                        self.sidebar_model.add("dm", peer)
                        self._load_history("dm", peer)

    def _add_room(self, room: str) -> None:
        self.sidebar_model.add("room", room)
        self.conversation("room", room)

    async def join_room(self, room: str) -> None:
        if self.session is None:
            self.show_error("Connect first, then join a room")
            return
        self._add_room(room)
        self.sidebar.select("room", room)
        ack = await self.session.chat.join(room)
        if isinstance(ack, dict) and ack.get("ok") is False:
            self.show_error(f"Could not join #{room}: {ack.get('error', 'refused')}")
        elif isinstance(ack, dict) and ack.get("pending"):
            self.show_info(f"#{room} will be joined once connected")

    def _on_room_joined(self, room: str, ack: Any) -> None:
        self._add_room(room)
        members = ack.get("members") if isinstance(ack, dict) else None
        if isinstance(members, list):
            self._members[room] = [str(m) for m in members]
        self._refresh_members(room)

    def _on_room_left(self, room: str) -> None:
        self._members.pop(room, None)

    def _on_recovered(self, room: str, count: int) -> None:
        if count:
            self.show_info(f"Recovered {count} missed message{'s' if count != 1 else ''} "
                           f"in #{room}")

    async def leave_room(self, room: str) -> None:
        if self.session is not None:
            await self.session.chat.leave(room)
        self.sidebar_model.remove("room", room)
        self._conversations.pop(("room", room), None)
        if self.chat.kind == "room" and self.chat.target == room:
            self.chat.clear_conversation()

    def open_dm(self, user: str) -> None:
        if not user or user == self.user:
            return
        new = ("dm", user) not in self._conversations
        self.sidebar_model.add("dm", user)
        self.conversation("dm", user)
        if new:
            self._load_history("dm", user)
        self.sidebar.select("dm", user)
        self.tabs.setCurrentWidget(self.chat)

    def show_conversation(self, kind: str, key: str) -> None:
        model = self.conversation(kind, key)
        model.flush()
        self.sidebar.select(kind, key)
        self.chat.show_conversation(kind, key, model)
        self.sidebar_model.set_unread(kind, key, 0)
        if kind == "room":
            self._refresh_members(key)
        else:
            self.chat.subtitle.setText("direct message")
        self.tabs.setCurrentWidget(self.chat)

    def _refresh_members(self, room: str) -> None:
        if self.chat.kind == "room" and self.chat.target == room:
            self.chat.set_members(self._members.get(room, []), sorted(self._seen.get(room, ())),
                                  self.user)

    def _load_history(self, kind: str, key: str) -> None:
        """What the store already holds for this conversation (survives restarts)."""
        if self.session is None:
            return
        queue = f"room:{CHAT_NS}:{key}" if kind == "room" else f"dm:{CHAT_NS}:{key}"
        try:
            rows = self.session.store.page_end(queue, limit=300)
        except Exception as exc:
            log.debug("history of %s unavailable: %s", queue, exc)
            rows = []
        for m in rows:
            if kind == "room":
                self._add_room_message(m, fresh=False)
            else:
                self._add_dm(m, fresh=False)
        self._load_own(kind, key)

    def _load_own(self, kind: str, key: str) -> None:
        """Own messages from the outbox for this conversation (any state)."""
        # acked room messages are in the room's queue already; own DMs live only here
        states = ("queued", "sent", "failed") if kind == "room" else None
        try:
            mine = self.session.outbox.list(CHAT_NS, states=states)
        except Exception:
            return
        for msg in mine[-500:]:
            payload = _arg0(msg.args)
            if (kind == "room" and msg.event == "message" and payload.get("room") == key) or (
                    kind == "dm" and msg.event == "dm" and payload.get("to") == key):
                self._add_own(kind, key, msg, str(payload.get("text", "")))

    # -- incoming ------------------------------------------------------------------------------
    def _on_chat_message(self, m: Any) -> None:
        self._add_room_message(m, fresh=None)

    def _on_dm(self, m: Any) -> None:
        self._add_dm(m, fresh=None)

    @staticmethod
    def _is_fresh(m: Any) -> bool:
        """Live or recovered (worth an unread mark), as opposed to old history."""
        return bool(getattr(m, "recovered", False)) or time.time() - float(
            getattr(m, "ts", 0) or 0) < 60

    def _add_room_message(self, m: Any, fresh: bool | None) -> None:
        payload = _arg0(getattr(m, "args", None))
        room = str(getattr(m, "room", None) or payload.get("room") or "")
        if not room:
            return
        user = str(getattr(m, "user", None) or payload.get("user") or "?")
        own = getattr(m, "direction", "in") == "out" or user == self.user
        msg_id = getattr(m, "msg_id", None) or payload.get("id")
        model = self.conversation("room", room)
        self.sidebar_model.add("room", room)
        is_new = not (msg_id and model.has(str(msg_id)))
        text = getattr(m, "text", None)
        model.add_message(key=str(msg_id) if msg_id else None, user=user,
                          text=str(text if text is not None else payload.get("text", "")),
                          ts=getattr(m, "ts", None) or parse_ts(payload.get("ts")),
                          own=own, state="acked" if own else None,
                          recovered=bool(getattr(m, "recovered", False)),
                          offset=getattr(m, "offset", None))
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

    def _add_dm(self, m: Any, fresh: bool | None) -> None:
        payload = _arg0(getattr(m, "args", None))
        sender = str(getattr(m, "user", None) or payload.get("user") or "")
        outgoing = getattr(m, "direction", "in") == "out" or sender == self.user
        peer = str(payload.get("to") or "") if outgoing else sender
        if not peer:
            return
        self.sidebar_model.add("dm", peer)
        model = self.conversation("dm", peer)
        msg_id = getattr(m, "msg_id", None) or payload.get("id")
        is_new = not (msg_id and model.has(str(msg_id)))
        text = getattr(m, "text", None)
        text = str(text if text is not None else payload.get("text", ""))
        model.add_message(key=str(msg_id) if msg_id else None,
                          user=self.user if outgoing else sender, text=text,
                          ts=getattr(m, "ts", None) or parse_ts(payload.get("ts")),
                          own=outgoing, state="acked" if outgoing else None,
                          recovered=bool(getattr(m, "recovered", False)))
        if outgoing or not is_new:
            return
        if fresh is None:
            fresh = self._is_fresh(m)
        if fresh:
            self._unread_and_notify("dm", peer, sender, text)

    def _unread_and_notify(self, kind: str, key: str, user: str, text: str) -> None:
        showing = self.chat.kind == kind and self.chat.target == key and \
            self.tabs.currentWidget() is self.chat
        if not showing:
            self.sidebar_model.bump_unread(kind, key)
        if not self.isActiveWindow():
            where = f"#{key}" if kind == "room" else "a direct message"
            self.notifier.notify(f"{user} in {where}", one_line(text, 200))

    def _apply_presence(self, p: Any) -> None:
        if not isinstance(p, dict):
            return
        room = str(p.get("room") or "")
        if not room:
            return
        members = p.get("members")
        if isinstance(members, list):
            self._members[room] = [str(m) for m in members]
        user = str(p.get("user") or "")
        if user:
            self._seen.setdefault(room, set()).add(user)
            if p.get("event") == "left":
                self.chat.stopped_typing("room", room, user)
        self._refresh_members(room)

    def _on_typing(self, room: str, user: str) -> None:
        if room and user and user != self.user:
            self.chat.someone_typing("room", room, user)

    # -- outgoing chat -------------------------------------------------------------------------
    def send_chat(self, kind: str, target: str, text: str) -> None:
        if self.session is None:
            self.show_error("Not connected to any server yet: press Connect (Ctrl+K)")
            return
        try:
            if kind == "room":
                msg = self.session.chat.send(target, text)
            else:
                msg = self.session.chat.send_dm(target, text)
        except Exception as exc:
            self.show_error(f"Not sent: {exc}")
            return
        self._add_own(kind, target, msg, text)
        self.refresh_depth()

    def _add_own(self, kind: str, target: str, msg: Any, text: str) -> None:
        self._own_ids[msg.id] = (kind, target)
        self.conversation(kind, target).add_message(
            key=msg.id, user=self.user, text=text, ts=getattr(msg, "created", None) or time.time(),
            own=True, state=_state_value(msg.state))
        err = getattr(msg, "error", None)
        if err:
            self.conversation(kind, target).set_state(msg.id, _state_value(msg.state), err)

    def _typing_activity(self, kind: str, target: str) -> None:
        if kind != "room" or self.session is None or self._state != "connected":
            return
        with contextlib.suppress(Exception):
            self.session.chat.typing(target)

    # -- compose -------------------------------------------------------------------------------
    def send_compose(self, ns: str, event: str, args: list, ack: bool, timeout: float,
                     volatile: bool) -> None:
        if self.session is None:
            self.compose.show_state("not connected")
            self.show_error("Not connected to any server yet: press Connect (Ctrl+K)")
            return
        if ack and not volatile and self._ns_ready(ns):
            self.spawn(self._call(ns, event, args, timeout))
            return
        try:
            msg = self.session.emit(ns, event, *args, ack=ack, volatile=volatile)
        except Exception as exc:
            self.compose.show_state(f"not sent: {exc}")
            return
        if volatile or not getattr(msg, "id", ""):
            err = getattr(msg, "error", None)
            self.compose.show_state(f"not sent: {err}" if err else "sent (volatile, no ack)")
            return
        state = _state_value(msg.state)
        if ack:
            self._compose_pending[msg.id] = ns
        self.compose.show_state(state + ("" if self._ns_ready(ns) else
                                         " — will be sent when connected"))
        self.refresh_depth()

    def _ns_ready(self, ns: str) -> bool:
        try:
            return bool(self.session.is_ready(ns))
        except Exception:
            return False

    async def _call(self, ns: str, event: str, args: list, timeout: float) -> None:
        started = time.perf_counter()
        try:
            result = await self.session.call(ns, event, *args, timeout=timeout)
        except Exception as exc:  # timeout, not connected, refused: say it in words
            self.compose.show_response({"error": str(exc) or type(exc).__name__},
                                       "no answer")
            return
        ms = (time.perf_counter() - started) * 1000
        self.compose.show_response(result, f"acked in {ms:.0f} ms")

    # -- acks requested by the server ------------------------------------------------------------
    def _on_ack_requested(self, req: Any) -> None:
        """Answer now (the core sends the ACK as soon as observers return)."""
        answer = self.acks.answer_for(str(getattr(req, "event", "")))
        req.reply = answer
        self.acks.record(str(getattr(req, "namespace", "")), str(getattr(req, "event", "")),
                         getattr(req, "args", []), answer)

    # -- export --------------------------------------------------------------------------------
    def export_packets(self) -> QFileDialog:
        dlg = QFileDialog(self, "Export packets", str(Path.home() / "packets.ndjson"),
                          "NDJSON (*.ndjson *.jsonl);;All files (*)")
        dlg.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dlg.setDefaultSuffix("ndjson")
        dlg.fileSelected.connect(lambda path: self.spawn(self.write_packets(Path(path))))
        dlg.finished.connect(dlg.deleteLater)
        dlg.open()
        return dlg

    async def write_packets(self, path: Path) -> int:
        rows = [packet_dict(p) for p in self.events.shown_packets()]

        def write() -> int:
            from app import jsonmod

            with open(path, "wb") as fh:
                for r in rows:
                    fh.write(jsonmod.dumpb(r) + b"\n")
            return len(rows)

        try:
            n = await asyncio.get_running_loop().run_in_executor(None, write)
        except OSError as exc:
            self.show_error(f"Could not write {path}: {exc.strerror or exc}")
            return 0
        self.show_info(f"Exported {n} packets to {escape_controls(str(path))}")
        return n

    # -- closing -------------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        if self._closed:
            event.accept()
            return
        if self.session is None and not self._closing:
            # nothing to close asynchronously
            self._closing = self._closed = True
            self._save_layout()
            self.notifier.hide()
            event.accept()
            self.closed.emit()
            return
        event.ignore()
        if not self._closing:
            self._closing = True
            self._save_layout()
            self.spawn(self._finish_close())

    async def _finish_close(self) -> None:
        try:
            if self._learn is not None:
                await self._learn.shutdown()  # the Learn tab's simulated users
            await self.close_session()
        finally:
            self.notifier.hide()
            self._closed = True
            self.hide()
            self.closed.emit()

    async def shutdown(self) -> None:
        """Close from code: the same path as the user closing the window."""
        if self._closed:
            return
        if not self._closing:
            self._closing = True
            self._save_layout()
            await self._finish_close()
        else:
            while not self._closed:
                await asyncio.sleep(0.02)
