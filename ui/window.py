"""The main window: the shell around one workspace at a time.

It owns the connection bar and its wiring, the workspace switcher (menu bar and bar
button), the sidebar and the tabs (Chat, Events, Compose, Queues, Learn), the status bar,
the dialogs it opens (the workspace's connection settings, packet export), the window
layout it saves, and the session's lifecycle. The chat itself (rooms, DMs, unread counts,
notifications) is ``ui.conversations.Conversations``.

A workspace (``app.workspace.Workspace``) is a saved server with its own data folder, so
its own outbox: the session of the workspace shown is
``Session(ws.connection_config(url), <its data folder>)``, and a message is only ever
sent by the session of the workspace it was written in. Switching closes that session
(its outbox stays on disk) and swaps the whole view. Changing a workspace's address
while messages wait for the old one is asked about, never done silently.

All core calls go through ``self.session`` (an ``app.session.Session``); every core
notification arrives through ``self.bridge`` (ui.bridge.SessionBridge) as a Qt signal.

At about 750 lines it is one thing: the lifecycle of the workspace shown (open, switch,
close, a server that restarts under it, a server that turns out to be foreign) and the
signals that follow it, which share the window's state. The flows that are not
(workspace dialogs, conversations, Compose, the Queues tab, hosting) have their own
modules.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import re
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import shiboken6
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QGuiApplication,
    QKeySequence,
    QShortcut,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTabWidget,
    QWidget,
)

from app.workspace import Workspace, WorkspaceStore, slug
from ui import theme
from ui.bridge import SessionBridge
from ui.chat_find import ChatFind
from ui.compose_controller import ComposeController
from ui.conversations import Conversations
from ui.hosting_controls import HostingControls
from ui.inspector import QueuesTab
from ui.models.packets import PacketTableModel
from ui.models.sidebar import SidebarModel
from ui.settings import Settings
from ui.text import escape_controls, one_line
from ui.widgets.acks import AckPanel
from ui.widgets.chat import ChatPane
from ui.widgets.compose import ComposeTab
from ui.widgets.connection import ConnectionBar, ConnectionDialog
from ui.widgets.events import EventsTab, packet_dict
from ui.widgets.sidebar import Sidebar
from ui.widgets.switcher import Entry, WorkspaceMenu
from ui.workspace_editing import WorkspaceEditing
from ui.workspaces import (
    Workspaces,
    options_of,
    workspace_from_options,
)

if TYPE_CHECKING:
    from app.outbox import OutboxMessage
    from app.session import Session
    from ui.hosting import HostInfo
    from ui.learn import LearnTab
    from ui.server import EmbeddedServer
    from ui.widgets.new_workspace import NewWorkspaceDialog

log = logging.getLogger(__name__)

#: what the chat says on a server that is not SockDesk's
NOT_SOCKDESK = ("This server is not a SockDesk server: chat rooms are off. Events and "
                "Queues show its traffic.")


class MainWindow(QMainWindow):
    """One workspace at a time, one user. Several can live in one process
    (``--clients N``: the same workspace as N users, each with its own data folder)."""

    closed = Signal()
    connected = Signal()  # every time the session gets connected

    def __init__(self, workspace: Workspace | dict[str, Any], data_dir: Path | None = None,
                 settings: Settings | None = None, *, key: str = "main",
                 title_suffix: str = "", bundled_url: str | None = None,
                 workspaces: Workspaces | None = None, as_user: str | None = None) -> None:
        """``workspace``: the one to show first (an option dict is turned into one, not
        saved: the tests and the perf harness build windows that way). ``workspaces``:
        the app's shared registry; without one, a store under ``data_dir`` (secrets in
        its files). ``as_user``: this window is that user on every workspace it shows,
        with a data folder of its own (``--clients``)."""
        super().__init__()
        self.settings = settings or Settings()
        if workspaces is None:
            root = Path(data_dir) if data_dir is not None else Path.home() / ".sockdesk"
            workspaces = Workspaces(WorkspaceStore(root / "config", root,
                                                   secrets_backend=None), self)
        self.workspaces = workspaces
        self.data_root = Path(data_dir) if data_dir is not None else workspaces.store.data_root
        if isinstance(workspace, dict):
            url = str(workspace.get("url") or "")
            workspace = workspace_from_options(
                workspace, bundled=bool(bundled_url) and url == bundled_url)
        self.as_user = as_user
        if as_user:
            workspace = dataclasses.replace(workspace, user=as_user)
        self.workspace: Workspace = workspace
        #: where the session connects: the workspace's first address, or where its
        #: embedded server listens this time
        self.url = workspace.url
        self.bundled_url = bundled_url
        self.embedded_server: EmbeddedServer | None = None  # when this window uses it
        self.key = key
        self.title_suffix = title_suffix
        self.session: Session | None = None
        self.bridge = SessionBridge(self)
        self._closing = False
        self._closed = False
        self._state = "offline"
        self._open_gen = 0
        #: None: not known yet; True: the server did not introduce itself as SockDesk's
        self.foreign: bool | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        #: the question about waiting messages, while it is open
        self.where_box: QMessageBox | None = None
        self.editing = WorkspaceEditing(self)
        self._update_title()
        self.resize(1180, 760)

        # -- the workspace switcher -------------------------------------------------------------
        self.workspace_menu = WorkspaceMenu(self.workspace_entries, self)
        self.workspace_menu.chosen.connect(self.switch_workspace)
        self.workspace_menu.new_requested.connect(self.new_workspace_dialog)
        self.workspace_menu.edit_requested.connect(self.open_connection_dialog)
        self.workspace_menu.quit_requested.connect(QApplication.closeAllWindows)
        self.menuBar().addMenu(self.workspace_menu)
        # -- hosting: shown for a workspace hosted for a team or a class --------------------
        self.hosting = HostingControls(self, self)
        self.menuBar().addMenu(self.hosting.menu)

        # -- connection bar ------------------------------------------------------------------
        self.bar = ConnectionBar(self)
        self.addToolBar(Qt.ToolBarArea.TopToolBarArea, self.bar)
        self.bar.connect_requested.connect(self.on_connect_clicked)
        self.bar.disconnect_requested.connect(self.on_disconnect_clicked)
        self.bar.options_requested.connect(self.open_connection_dialog)
        self.bar.set_workspace(self.workspace.name, self.workspace.embedded,
                               self.workspace_menu)
        self._fill_bar()

        # -- sidebar and tabs ---------------------------------------------------------------------
        self.sidebar_model = SidebarModel(self)
        self.sidebar = Sidebar(self.sidebar_model)
        self.sidebar.namespace_selected.connect(self._namespace_selected)
        self.sidebar.namespace_retry_requested.connect(self.retry_namespace)
        self.chat = ChatPane()
        self.conversations = Conversations(self, self.bridge, self.chat, self.sidebar, self)
        # Ctrl+F: find in the conversation in the Chat tab, the packet filter elsewhere
        self.chat_find = ChatFind(self, self.conversations, self.chat, self._focus_filter, self)
        self.menuBar().addMenu(self.chat_find.menu)
        self.menuBar().addMenu(self.conversations.discovery.menu)

        self.packets = PacketTableModel(self)
        self.events = EventsTab(self.packets)
        self.events.export_requested.connect(self.export_packets)

        self.compose = ComposeTab(self.settings)
        self.acks = AckPanel()
        self.events.add_panel(self.acks)
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
        self.statusBar().addPermanentWidget(self.hosting.status)
        self.statusBar().addPermanentWidget(self.error_label, 1)
        self.statusBar().addPermanentWidget(self.summary_label)
        self.statusBar().setSizeGripEnabled(False)

        self._depth_timer = QTimer(self)
        self._depth_timer.setSingleShot(True)
        self._depth_timer.setInterval(40)
        self._depth_timer.timeout.connect(self.refresh_depth)
        # a server that has not introduced itself a while after a namespace got ready is
        # not SockDesk's (its `welcome` comes right after CONNECT; see app.base_session)
        self._intro_timer = QTimer(self)
        self._intro_timer.setSingleShot(True)
        self._intro_timer.timeout.connect(self._introduction_over)

        self._wire_bridge()
        self._shortcuts()
        self._restore_layout()
        self._fitted = False

    # -- structure -----------------------------------------------------------------------------
    def add_tab(self, widget: QWidget, icon: str, title: str) -> int:
        """Tabs are added in order; Ctrl+1..9 follow them (Queues and Learn come later)."""
        return self.tabs.addTab(widget, theme.icon(icon), title)

    def _shortcuts(self) -> None:
        for n in range(1, 10):
            sc = QShortcut(QKeySequence(f"Ctrl+{n}"), self)
            sc.activated.connect(lambda n=n: self._go_tab(n - 1))
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
        """The bar shows this workspace: its addresses (or where its server listens) and
        who you are there."""
        self.bar.url.clear()
        here = self.url or self.workspace.url
        urls = list(dict.fromkeys([u for u in [here, *self.workspace.urls] if u]))
        self.bar.url.addItems(urls)
        self.bar.url.setCurrentText(here)
        self.bar.user.setText(self.user)

    def _update_title(self) -> None:
        """"SockDesk — Team" (with the user when one process shows several)."""
        extra = f" · {self.title_suffix}" if self.title_suffix else ""
        self.setWindowTitle(f"SockDesk — {self.workspace.name}{extra}")

    def _restore_layout(self) -> None:
        geo = self.settings.bytes_value(f"windows/{self.key}/geometry")
        if geo is not None:
            self.restoreGeometry(geo)
        for name, splitter in self._splitters().items():
            state = self.settings.bytes_value(f"windows/{self.key}/splitters/{name}")
            if state is not None:
                splitter.restoreState(state)

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        if not self._fitted:  # once the frame (title bar) is known, on the first show
            self._fitted = True
            QTimer.singleShot(0, self._fit_screen)

    def _fit_screen(self) -> None:
        """Never open larger than the screen (a 1280x720 projector): a saved or default
        size that does not fit is cut to the screen's free area, frame included, and
        moved onto it, so the composer, Send and the status bar, where errors are told,
        are on screen from the start."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        if screen is None or self.isMaximized() or self.isFullScreen():
            return
        free = screen.availableGeometry()
        frame = self.frameGeometry()
        extra_w = frame.width() - self.width()
        extra_h = frame.height() - self.height()
        width = min(self.width(), free.width() - extra_w)
        height = min(self.height(), free.height() - extra_h)
        if (width, height) != (self.width(), self.height()):
            self.resize(max(width, 100), max(height, 100))
        frame = self.frameGeometry()
        x = min(max(frame.x(), free.x()), max(free.x(), free.right() + 1 - frame.width()))
        y = min(max(frame.y(), free.y()), max(free.y(), free.bottom() + 1 - frame.height()))
        if (x, y) != (frame.x(), frame.y()):
            self.move(x, y)

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
        b.namespace_refused.connect(self._on_namespace_refused)
        b.packet_logged.connect(self.packets.add)
        b.error.connect(self.show_error)
        b.outbox_changed.connect(self._on_outbox_changed)

    # -- the workspace ---------------------------------------------------------------------------
    @property
    def options(self) -> dict[str, Any]:
        """The workspace as an option dict (url, user, ...): what the Queues tab's replay
        and the simulated users of tests and screenshots are built from."""
        return options_of(self.workspace, self.url or self.workspace.url)

    @property
    def user(self) -> str:
        return str(self.workspace.user or "")

    @property
    def is_connected(self) -> bool:
        return self._state == "connected"

    @property
    def is_closed(self) -> bool:
        """Closed for good: the session is closed and ``closed`` was emitted."""
        return self._closed

    def session_dir(self) -> Path:
        """The data folder of the workspace shown: its outbox, store and rooms (a
        ``--clients`` window has one of its own inside it)."""
        folder = self.workspaces.data_dir(self.workspace)
        return folder / "clients" / slug(self.as_user) if self.as_user else folder

    def profile_dir(self, options: dict[str, Any] | None = None) -> Path:
        """A data folder for one identity (user on a server) outside any workspace: where
        a replay to another server keeps what it could not deliver yet."""
        o = options or self.options
        url = str(o.get("url") or "")
        if self.bundled_url and url == self.bundled_url:
            where = "bundled"
        else:
            parts = urlsplit(url)
            where = f"{parts.hostname or 'server'}_{parts.port or 0}"
        name = f"{o.get('user') or 'anonymous'}@{where}"
        return self.data_root / "profiles" / re.sub(r"[^A-Za-z0-9._@-]", "_", name)

    def workspace_entries(self) -> list[Entry]:
        """The switcher's lines: every saved workspace (and this one, if it is not saved)
        with what waits in its outbox and the state it is (or was last) in."""
        listed = self.workspaces.saved()
        if not any(w.id == self.workspace.id for w in listed):
            listed.insert(0, self.workspace)
        out: list[Entry] = []
        for ws in listed:
            if ws.id == self.workspace.id:
                text = self.workspaces.summary(ws, self._depth_now(), self._state)
                out.append((ws.id, text, True))
            else:
                out.append((ws.id, self.workspaces.summary(ws, self.workspaces.waiting(ws)),
                            False))
        return out

    def switch_workspace(self, ws_id: str) -> asyncio.Task[Any] | None:
        """Show another saved workspace in this window (nothing happens for this one)."""
        if ws_id == self.workspace.id:
            return None
        ws = self.workspaces.store.find(ws_id)
        if ws is None:
            self.show_error("That workspace is gone (deleted in another window?)")
            return None
        return self.spawn(self.open_workspace(ws))

    async def open_workspace(self, ws: Workspace) -> None:
        """Show ``ws`` here: close the current session (its outbox stays on disk for next
        time), swap the whole view (conversations, members, badge, title, Events and
        Queues), start the workspace's server when SockDesk runs it, and connect."""
        self._open_gen += 1
        gen = self._open_gen
        if self.as_user:
            ws = dataclasses.replace(ws, user=self.as_user)
        await self.close_session()
        if gen != self._open_gen or self._closing:
            return  # another workspace was chosen meanwhile, or the window is closing
        self.workspace = ws
        self.url = ws.url
        self.bundled_url = None
        self.embedded_server = None
        self._reset_view()
        if not self.as_user and self.workspaces.is_saved(ws):
            self.workspaces.store.set_last(ws)
        if ws.embedded:
            self.server_starting()
            try:
                url = await self.workspaces.server_url(ws)
            except Exception as exc:
                if gen == self._open_gen:
                    self._on_state("offline", str(exc))
                    self.show_error(str(exc))
                    # Start hosting (the Hosting menu) tries again, e.g. once the port
                    # is free
                    self.hosting.attach(self.workspaces.hosted(ws))
                    self.hosting.start_failed(str(exc))
                return
            if gen != self._open_gen or self._closing:
                return
            self.use_server(url, self.workspaces.server(ws))
            self.hosting.attach(self.workspaces.hosted(ws))
        else:
            self.use_server(ws.url)
        await self.open_session()

    def _reset_view(self) -> None:
        """Nothing of the last workspace stays in view."""
        self._update_title()
        self.bar.set_workspace(self.workspace.name, self.workspace.embedded,
                               self.workspace_menu)
        self.hosting.show_workspace(self.workspace)
        self.conversations.reset()
        self.events.start_over()
        self.sidebar_model.set_namespaces([])
        self.sidebar.clear_namespace_errors()
        self._set_foreign(None)
        self.error_label.setText("")
        self.bar.set_depth(0)
        self._fill_bar()
        self.queues.refresh_now()  # the Queues tab lets go of the last session's queues

    def server_starting(self) -> None:
        """The workspace's server is still starting: the window is up, saying so, and
        connects once ``use_server`` gives it the address."""
        self._state = "starting"
        self.bar.set_state("starting", "Starting this workspace's server…")
        self.summary_label.setText(f"{self.user or '?'}  ·  starting the server on this "
                                   "computer…")
        self.workspaces.note_state(self.workspace, "starting")

    def use_server(self, url: str, embedded: EmbeddedServer | None = None) -> None:
        """Connect to ``url`` from now on; ``embedded`` is the server SockDesk runs for
        this workspace when ``url`` is its address (the Learn tab can then stop and start
        it)."""
        self.url = url
        self.bundled_url = url if embedded is not None else None
        self.embedded_server = embedded
        self._update_title()
        self._fill_bar()
        if self._state == "starting":
            self._on_state("offline", "")
        if self._learn is not None:
            self._learn.classroom.refresh_server()

    def server_restarted(self, info: HostInfo) -> None:
        """The server SockDesk runs for this workspace listens again (Start hosting):
        use its new process, and connect now rather than after the session's back-off.
        A hosted server keeps its port, so the session only reconnects; one that got
        another address gets a new session."""
        self.use_server(info.url, self.workspaces.server(self.workspace))
        session = self.session
        if session is None:
            return
        if session.config.url == info.url:
            session.reconnect_now()
        else:
            self.spawn(self.open_session())

    async def open_session(self) -> None:
        """(Re)create the session of the workspace shown and connect."""
        from app.session import Session

        await self.close_session()
        ws = self.workspace
        # the workspace's own addresses (all of them, to fail over between), unless its
        # server is SockDesk's own, which listens where it listens this time
        url = self.url if self.url and self.url not in ws.urls else None
        cfg = ws.connection_config(url)
        info = self.workspaces.host_info(ws) if ws.embedded else None
        if info is not None and info.fingerprint:
            # a hosted server with TLS: exactly the certificate it printed, nothing else
            cfg.tls.fingerprint = info.fingerprint
        self.error_label.setText("")
        self.session = session = Session(cfg, self.session_dir())
        self.bridge.attach(session)
        self.compose_controller.refresh_acks()
        self.sidebar_model.set_namespaces(cfg.normalized_namespaces())
        self.compose.set_namespaces(cfg.normalized_namespaces())
        self._fill_bar()
        self.conversations.session_opened()
        for ns, why in session.namespace_errors.items():
            self.sidebar.set_namespace_error(ns, why)
        self._set_foreign(True if session.extensions_on is False else None)
        self.refresh_depth()
        if not ws.embedded:
            self.settings.remember_connection({"url": cfg.url, "user": self.user})
        await session.connect()

    async def close_session(self) -> None:
        session, self.session = self.session, None
        if session is None:
            return
        self.bridge.detach()
        self._intro_timer.stop()
        try:
            await session.close()
        except Exception as exc:  # closing must not stop a shutdown
            log.debug("session close failed: %s", exc)
        self._show_state("offline", "Closed")
        # the switcher must not go on saying "connected" about a workspace nobody shows;
        # "server unreachable" stays, as the last thing known about that server
        if self.workspaces.last_state(self.workspace) in ("connected", "connecting",
                                                          "starting"):
            self.workspaces.note_state(self.workspace, "offline")

    # -- editing the workspace -------------------------------------------------------------------
    def on_connect_clicked(self) -> None:
        url = self.bar.url.currentText().strip()
        user = self.bar.user.text().strip()
        ws = self.workspace
        if not ws.embedded and not url:
            self.show_error("Type a server URL first, like http://127.0.0.1:5000")
            return
        if (not ws.embedded and url != ws.url) or user != self.user:
            urls = ws.urls if ws.embedded else [url, *[u for u in ws.urls[1:] if u != url]]
            self.apply_edit(dataclasses.replace(ws, urls=urls, user=user or None))
        elif self.session is None:
            self.spawn(self.open_session())
        else:
            self.spawn(self.session.connect())

    def on_disconnect_clicked(self) -> None:
        if self.session is not None:
            self.spawn(self.session.disconnect(reason="user"))

    def waiting_here(self) -> int:
        """Messages waiting in the outbox of the workspace shown."""
        if self.session is not None:
            return self._depth_now()
        return self.workspaces.waiting(self.workspace) or 0

    def new_workspace_dialog(self) -> NewWorkspaceDialog:
        """"New workspace…" (see `ui.workspace_editing`)."""
        return self.editing.new_workspace_dialog()

    def open_connection_dialog(self) -> ConnectionDialog:
        """Edit the workspace shown (see `ui.workspace_editing`)."""
        return self.editing.open_connection_dialog()

    def apply_edit(self, new: Workspace) -> QMessageBox | None:
        """Save an edited workspace (see `ui.workspace_editing`)."""
        return self.editing.apply_edit(new)

    # -- state ---------------------------------------------------------------------------------
    def _on_state(self, state: str, reason: str) -> None:
        self._show_state(state, reason)
        self.workspaces.note_state(self.workspace, state)
        if state == "connected":
            self._check_server()

    def _show_state(self, state: str, reason: str) -> None:
        self._state = state
        self.bar.set_state(state, reason)
        self.summary_label.setText(f"{self.user or '?'}  ·  "
                                   f"{one_line(reason, 90) if reason else state}")
        if state == "connected":
            self.error_label.setText("")
            self.connected.emit()
            self.show_info(f"Connected to {self.url} as {self.user}")
        elif state == "offline" and reason and reason not in ("user", "Closed"):
            self.show_info(f"Offline: {reason}")
        if state != "connected":
            for ns in self.sidebar_model.keys("namespace"):
                self.sidebar_model.set_ready("namespace", ns, False)
        self.refresh_depth()

    def _on_namespace_ready(self, ns: str, ready: bool) -> None:
        self.sidebar_model.add("namespace", ns)
        self.sidebar_model.set_ready("namespace", ns, ready)
        if ready:
            self.sidebar.set_namespace_error(ns, None)
            self.compose.set_namespaces([ns])  # one the server added (a SockDesk server)
            self._check_server()

    def _on_namespace_refused(self, ns: str, why: str) -> None:
        """The server refused one namespace: say why next to it; the others go on."""
        self.sidebar_model.add("namespace", ns)
        self.sidebar_model.set_ready("namespace", ns, False)
        self.sidebar.set_namespace_error(ns, why)

    def retry_namespace(self, ns: str) -> None:
        """Ask the server for a refused namespace again, now."""
        if self.session is not None:
            self.session.retry_namespace(ns)
            self.show_info(f"Asking for {ns} again…")

    def _namespace_selected(self, ns: str) -> None:
        self.compose.namespace.setCurrentText(ns)

    # -- a server that is not SockDesk's -------------------------------------------------------
    def _check_server(self) -> None:
        """Has the server said what it is? SockDesk's introduces itself on every
        namespace right after CONNECT; a namespace that is ready without that, for a
        while, means a server of somebody else's."""
        s = self.session
        if s is None or self._state != "connected":
            return
        if s.extensions_on is True:
            self._set_foreign(False)
        elif s.extensions_on is False:
            self._set_foreign(True)
        elif not self._intro_timer.isActive() and self.foreign is None:
            from app.base_session import INTRODUCTION_WAIT

            self._intro_timer.start(int(INTRODUCTION_WAIT * 1000) + 250)

    def _introduction_over(self) -> None:
        s = self.session
        if s is not None and self._state == "connected" and s.extensions_on is not True:
            self._set_foreign(True)

    def _set_foreign(self, foreign: bool | None) -> None:
        """Chat off and the Events tab in front on a foreign server; chat back on when
        the server turns out to be SockDesk's after all."""
        if foreign == self.foreign:
            return
        self.foreign = foreign
        self.conversations.set_chat_available(NOT_SOCKDESK if foreign else None)
        if foreign:
            self.tabs.setCurrentWidget(self.events)

    # -- outbox --------------------------------------------------------------------------------
    def _depth_now(self) -> int:
        if self.session is None:
            return 0
        try:
            return self.session.outbox.depth()
        except Exception:  # an unreadable store shows 0, not a crash
            return 0

    def refresh_depth(self) -> None:
        self.bar.set_depth(self._depth_now())

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
        self._open_gen += 1  # a workspace still being opened is not opened any more
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
