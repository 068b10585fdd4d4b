"""The main window: the shell around one connection.

It owns the connection bar and its wiring, the sidebar and the tabs (Chat, Events,
Compose, Queues, Learn), the status bar, the dialogs it opens (connection options, packet
export), the window layout it saves, and the session's lifecycle. The chat itself (rooms,
DMs, unread counts, notifications) is ``ui.conversations.Conversations``.

All core calls go through ``self.session`` (an ``app.session.Session``); every core
notification arrives through ``self.bridge`` (ui.bridge.SessionBridge) as a Qt signal.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Coroutine
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
    QTabWidget,
    QWidget,
)

from ui import theme
from ui.bridge import SessionBridge
from ui.compose_controller import ComposeController
from ui.conversations import Conversations
from ui.inspector import QueuesTab
from ui.models.packets import PacketTableModel
from ui.models.sidebar import SidebarModel
from ui.settings import Settings
from ui.text import escape_controls, one_line
from ui.widgets.acks import AckPanel
from ui.widgets.chat import ChatPane
from ui.widgets.compose import ComposeTab
from ui.widgets.connection import DEFAULT_OPTIONS, ConnectionBar, ConnectionDialog
from ui.widgets.events import EventsTab, packet_dict
from ui.widgets.sidebar import Sidebar

if TYPE_CHECKING:
    from app.config import ConnectionConfig
    from app.outbox import OutboxMessage
    from app.session import Session
    from ui.learn import LearnTab
    from ui.server import EmbeddedServer

log = logging.getLogger(__name__)


def build_config(options: dict[str, Any]) -> ConnectionConfig:
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
        self.embedded_server: EmbeddedServer | None = None  # when this window uses it
        self.key = key
        self.session: Session | None = None
        self.bridge = SessionBridge(self)
        self._closing = False
        self._closed = False
        self._state = "offline"
        self._tasks: set[asyncio.Task[Any]] = set()
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
        self.sidebar.namespace_selected.connect(self._namespace_selected)
        self.chat = ChatPane()
        self.conversations = Conversations(self, self.bridge, self.chat, self.sidebar, self)

        self.packets = PacketTableModel(self)
        self.events = EventsTab(self.packets)
        self.events.export_requested.connect(self.export_packets)

        self.compose = ComposeTab(self.settings)
        self.acks = AckPanel(self.settings)
        self.compose.add_panel(self.acks)
        self.compose_controller = ComposeController(self, self.bridge, self.compose, self.acks,
                                                    self)

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

    def chat_in_front(self) -> bool:
        """The Chat tab is the current one (for ui.conversations: read or unread)."""
        return self.tabs.currentWidget() is self.chat

    def bring_chat_to_front(self) -> None:
        self.tabs.setCurrentWidget(self.chat)

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
    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
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

    # -- session lifecycle ---------------------------------------------------------------------
    @property
    def user(self) -> str:
        return str(self.options.get("user") or "")

    @property
    def is_connected(self) -> bool:
        return self._state == "connected"

    @property
    def is_closed(self) -> bool:
        """Closed for good: the session is closed and ``closed`` was emitted."""
        return self._closed

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

    def use_server(self, url: str, embedded: EmbeddedServer | None = None) -> None:
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
        self._fill_bar()
        self.conversations.session_opened()
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
            with contextlib.suppress(Exception):  # an unreadable store shows 0, not a crash
                depth = self.session.outbox.depth()
        self.bar.set_depth(depth)

    def _on_outbox_changed(self, _msg: OutboxMessage) -> None:
        if not self._depth_timer.isActive():
            self._depth_timer.start()

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
            self.conversations.notifier.hide()
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
            self.conversations.notifier.hide()
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
