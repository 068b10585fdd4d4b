"""The main window: the shell around one workspace at a time.

It owns the connection bar and its wiring, the workspace switcher (menu bar and bar
button), the sidebar and the tabs (Chat, Events, Compose, Queues, Learn), the status bar,
the dialogs it opens (packet export) and the window layout it saves. The flows that have
state of their own live in their own modules: the workspace's lifecycle (open, switch,
close, a server that restarts under it or turns out to be foreign) in
``ui.workspace_lifecycle``, the workspace dialogs in ``ui.workspace_editing``, the chat
(rooms, DMs, unread counts, notifications) in ``ui.conversations``, Compose in
``ui.compose_controller``, hosting in ``ui.hosting_controls``.

All core calls go through ``self.session`` (an ``app.session.Session``); every core
notification arrives through ``self.bridge`` (ui.bridge.SessionBridge) as a Qt signal.
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
    QKeySequence,
    QResizeEvent,
    QShortcut,
    QShowEvent,
)
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QMainWindow,
    QMessageBox,
    QSplitter,
    QTabWidget,
    QWidget,
)

from app.keys import outbox_key
from app.workspace import Workspace, WorkspaceStore, slug
from ui import theme
from ui.bridge import SessionBridge
from ui.chat_find import ChatFind
from ui.class_student import StudentClass
from ui.compose_controller import ComposeController
from ui.conversations import Conversations
from ui.hosting_controls import HostingControls
from ui.models.packets import PacketTableModel
from ui.models.sidebar import SidebarModel
from ui.settings import Settings
from ui.text import escape_controls, one_line
from ui.tool_tabs import ToolTabs, build_tool_tabs
from ui.tray import AppTray, app_tray
from ui.view_menu import ViewMenu
from ui.widgets.acks import AckPanel
from ui.widgets.buttons import tool_button
from ui.widgets.chat import ChatPane
from ui.widgets.compose import ComposeTab
from ui.widgets.connection import ConnectionBar, ConnectionDialog
from ui.widgets.elided import ElidedLabel
from ui.widgets.events import EventsTab, packet_dict
from ui.widgets.lazy_tab import LazyTab
from ui.widgets.sidebar import Sidebar
from ui.widgets.switcher import Entry, WorkspaceMenu
from ui.window_shape import SIDEBAR_TIP, WindowShape
from ui.workspace_editing import WorkspaceEditing
from ui.workspace_lifecycle import WorkspaceLifecycle
from ui.workspaces import Workspaces, options_of, shared_servers, workspace_from_options

if TYPE_CHECKING:
    from app.outbox import OutboxMessage
    from app.session import Session
    from ui.hosting import HostInfo
    from ui.inspector import QueuesTab
    from ui.learn import LearnTab
    from ui.server import EmbeddedServer
    from ui.widgets.new_workspace import NewWorkspaceDialog

log = logging.getLogger(__name__)


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
        #: closing asks first when it stops a server others use (not on SIGTERM)
        self.confirm_stop_hosting = True
        self._asking_quit = False
        self._state = "offline"
        self._reason = ""  # why the state is what it is, in words (the status bar)
        self._tasks: set[asyncio.Task[Any]] = set()
        #: the question about waiting messages, while it is open
        self.where_box: QMessageBox | None = None
        self.editing = WorkspaceEditing(self)
        self.lifecycle = WorkspaceLifecycle(self)
        self.update_title()
        self.resize(1180, 760)

        # -- the workspace switcher -------------------------------------------------------------
        self.workspace_menu = WorkspaceMenu(self.workspace_entries, self)
        self.workspace_menu.chosen.connect(self.switch_workspace)
        self.workspace_menu.new_requested.connect(self.new_workspace_dialog)
        self.workspace_menu.edit_requested.connect(self.open_connection_dialog)
        self.workspace_menu.delete_requested.connect(lambda: self.editing.ask_delete())
        self.workspace_menu.quit_requested.connect(self.quit_app)
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
        self.bar.outbox_requested.connect(self.show_outbox)
        self.bar.set_workspace(self.workspace.name, self.workspace.embedded,
                               self.workspace_menu)
        self.fill_bar()

        # -- sidebar and tabs ---------------------------------------------------------------------
        self.sidebar_model = SidebarModel(self)
        self.sidebar = Sidebar(self.sidebar_model)
        self.sidebar.namespace_selected.connect(self._namespace_selected)
        self.sidebar.namespace_retry_requested.connect(self.retry_namespace)
        self.chat = ChatPane()
        self.conversations = Conversations(self, self.bridge, self.chat, self.sidebar, self)
        self.conversations.shown.connect(lambda *_a: self.update_title())
        self.hosting.hosting_stopped.connect(self.conversations.presence.set_hosting_stopped)
        for sig in (self.sidebar_model.dataChanged, self.sidebar_model.rowsRemoved,
                    self.sidebar_model.modelReset):
            sig.connect(lambda *_a: self.update_title())
        # Ctrl+F: find in the conversation in the Chat tab, the packet filter elsewhere
        self.chat_find = ChatFind(self, self.conversations, self.chat, self._focus_filter, self)
        self.menuBar().addMenu(self.chat_find.menu)
        self.menuBar().addMenu(self.conversations.discovery.menu)

        # the packet log is kept from the start; the tabs showing it come later
        self.packets = PacketTableModel(self)
        self._tools: ToolTabs | None = None

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.add_tab(self.chat, "chat", "Chat")
        # Events and Compose (with the ack panel): built right after the first paint
        # (ui.main) or when first needed, as the Queues tab (150 widgets) is: the first
        # window shows the chat
        self._events_tab = LazyTab(self.tabs, "activity", "Events", lambda: self.tools.events)
        self._compose_tab = LazyTab(self.tabs, "terminal", "Compose",
                                    lambda: self.tools.compose)
        self._queues = LazyTab(self.tabs, "queues", "Queues", self._make_queues)
        # the Learn tab imports every lesson (and so the whole Socket.IO client): it is
        # built when first needed
        self._learn = LazyTab(self.tabs, "learn", "Learn", self._make_learn)
        self.tabs.currentChanged.connect(self._tab_changed)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("mainSplitter")
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([230, 950])
        self.splitter.setChildrenCollapsible(False)
        self.setCentralWidget(self.splitter)
        # the sidebar folds away (Ctrl+B, the button left of the tabs), by itself in a
        # window narrower than window_shape.SIDEBAR_AUTO_WIDTH, and comes back when it is wide again
        self.sidebar_button = tool_button(SIDEBAR_TIP, icon="layers",
                                          checkable=True, name="sidebarToggle")
        self.sidebar_button.setChecked(True)
        self.tabs.setCornerWidget(self.sidebar_button, Qt.Corner.TopLeftCorner)
        #: the size, screen fit, folding sidebar and saved layout (ui.window_shape)
        self.shape = WindowShape(self)

        # one-line, elided: an error of 300 characters must not widen the window
        self.error_label = ElidedLabel("")
        self.error_label.setObjectName("errorLabel")
        self.summary_label = ElidedLabel("")
        self.summary_label.setObjectName("hint")
        # a joined student takes part in the teacher's lessons (ui.class_student)
        self.class_seat = StudentClass(self, self)
        self.statusBar().addWidget(self.class_seat.note)
        self.statusBar().addPermanentWidget(self.hosting.status)
        self.statusBar().addPermanentWidget(self.error_label, 1)
        self.statusBar().addPermanentWidget(self.summary_label)
        self.statusBar().setSizeGripEnabled(False)
        # without a size grip the last words touched the window's edge
        self.statusBar().setContentsMargins(6, 0, 10, 0)

        self._depth_timer = QTimer(self)
        self._depth_timer.setSingleShot(True)
        self._depth_timer.setInterval(40)
        self._depth_timer.timeout.connect(self.refresh_depth)

        self._wire_bridge()
        self._shortcuts()
        self.view_menu = ViewMenu(self)  # presenter mode, zoom, theme
        self.menuBar().addMenu(self.view_menu)
        app_tray().add_window(self)
        self.shape.restore()

    # -- structure -----------------------------------------------------------------------------
    def add_tab(self, widget: QWidget, icon: str, title: str) -> int:
        """Tabs are added in order; Ctrl+1..9 follow them (Queues and Learn come later)."""
        return self.tabs.addTab(widget, theme.icon(icon), title)

    def _shortcuts(self) -> None:
        for n in range(1, 10):
            sc = QShortcut(QKeySequence(f"Ctrl+{n}"), self)
            sc.activated.connect(lambda n=n: self._go_tab(n - 1))
        fold = QShortcut(QKeySequence("Ctrl+B"), self)
        fold.activated.connect(self.toggle_sidebar)
        join = QAction(self)
        join.setShortcut(QKeySequence("Ctrl+J"))
        join.triggered.connect(self.sidebar.focus_entry)
        self.addAction(join)

    @property
    def tools(self) -> ToolTabs:
        """The Events and Compose tabs, the ack panel and Compose's controller, built
        now if they were not yet (their tabs show them once asked for, see
        ``events``/``compose``)."""
        if self._tools is None:
            self._tools = build_tool_tabs(self)
        return self._tools

    @property
    def tools_if_built(self) -> ToolTabs | None:
        return self._tools

    @property
    def events(self) -> EventsTab:
        return self._events_tab.get()

    @property
    def compose(self) -> ComposeTab:
        return self._compose_tab.get()

    @property
    def acks(self) -> AckPanel:
        return self.tools.acks

    @property
    def compose_controller(self) -> ComposeController:
        return self.tools.controller

    @property
    def queues(self) -> QueuesTab:
        """The Queues tab (built now if it was not yet)."""
        return self._queues.get()

    @property
    def queues_if_built(self) -> QueuesTab | None:
        return self._queues.page

    def build_deferred_tabs(self) -> None:
        """Build the tabs left out of the first paint (the Queues tab keeps depth
        history from then on); the Learn tab still waits to be opened."""
        if shiboken6.isValid(self) and not self._closing:
            self._events_tab.build()
            self._compose_tab.build()
            self._queues.build()

    def _make_queues(self) -> QueuesTab:
        from ui.inspector import QueuesTab

        return QueuesTab(self)

    @property
    def learn(self) -> LearnTab:
        """The Learn tab, built on first use."""
        return self._learn.get()

    def _make_learn(self) -> LearnTab:
        from ui.learn import LearnTab

        return LearnTab(self)

    def _tab_changed(self, _index: int) -> None:
        if self.chat_in_front():
            self.conversations.seen_again()

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

    def fill_bar(self) -> None:
        """The bar shows this workspace: its addresses (or where its server listens) and
        who you are there."""
        self.bar.url.clear()
        here = self.url or self.workspace.url
        urls = list(dict.fromkeys([u for u in [here, *self.workspace.urls] if u]))
        self.bar.url.addItems(urls)
        self.bar.url.setCurrentText(here)
        edit = self.bar.url.lineEdit()
        if edit is not None:
            edit.setCursorPosition(0)  # "http://…" from its start when cut
        self.bar.user.setText(self.user)

    def update_title(self) -> None:
        """"SockDesk — Team" (with the user when one process shows several); with
        unread messages and a conversation shown "(3) #general — SockDesk — Team", so
        the taskbar tells what waits without a tray."""
        extra = f" · {self.title_suffix}" if self.title_suffix else ""
        title = f"SockDesk — {self.workspace.name}{extra}"
        conversations = getattr(self, "conversations", None)
        if conversations is not None:
            kind, key = conversations.chat.kind, conversations.chat.target
            if key:
                title = (f"#{key}" if kind == "room" else f"@{key}") + " — " + title
            unread = self.sidebar_model.total_unread()
            if unread:
                title = f"({unread}) {title}"
        self.setWindowTitle(title)

    # -- the sidebar folds away (ui.window_shape) -----------------------------------------------
    @property
    def sidebar_visible(self) -> bool:
        return self.shape.sidebar_visible

    def set_sidebar_visible(self, visible: bool) -> None:
        self.shape.set_sidebar_visible(visible)

    def toggle_sidebar(self) -> None:
        """Ctrl+B."""
        self.shape.set_sidebar_visible(not self.sidebar_visible)

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.shape.resized(event.size().width())

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.shape.shown()

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
            self._show_summary()

    def _session_error(self, text: str) -> None:
        """The session's errors go to the error line, except while the user has stopped
        hosting this workspace's server: failing to reach it is what that means, and
        the banner says so (a red "Cannot connect…" every retry said it again)."""
        if self.hosting.stopped_by_user:
            self.show_info(text)
        else:
            self.show_error(text)

    def _show_summary(self) -> None:
        """Who you are and the connection's state, right in the status bar; its reason
        once: a reason the error on the left already gives is not repeated (it was,
        cut off at the window's edge)."""
        state, reason = self._state, self._reason
        error = self.error_label.text()
        said = bool(reason) and state != "connected" and bool(error)
        self.summary_label.setText(f"{self.user or '?'}  ·  "
                                   f"{one_line(reason, 90) if reason and not said else state}")
        self.summary_label.setToolTip(reason)

    def show_info(self, text: str, ms: int = 6000) -> None:
        if shiboken6.isValid(self):
            self.statusBar().showMessage(one_line(text, 300), ms)

    # -- the bridge ----------------------------------------------------------------------------
    def _wire_bridge(self) -> None:
        b = self.bridge
        b.state_changed.connect(self.on_state)
        b.namespace_ready.connect(self._on_namespace_ready)
        b.namespace_refused.connect(self._on_namespace_refused)
        b.packets_logged.connect(self.packets.add_many)
        b.error.connect(self._session_error)
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
    def state(self) -> str:
        """The connection state shown: offline, starting, connecting, connected, ..."""
        return self._state

    @property
    def closing(self) -> bool:
        """The window is closing (or closed): nothing new is opened in it."""
        return self._closing

    @property
    def learn_if_built(self) -> LearnTab | None:
        """The Learn tab if it was opened already (None: not built, nothing to tell)."""
        return self._learn.page

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
        shared = shared_servers(listed)
        for ws in listed:
            named = ws.url in shared
            if ws.id == self.workspace.id:
                text = self.workspaces.summary(ws, self._depth_now(), self._state, named)
                out.append((ws.id, text, True))
            else:
                out.append((ws.id, self.workspaces.summary(
                    ws, self.workspaces.waiting(ws), with_user=named), False))
        return out

    # -- the lifecycle (ui.workspace_lifecycle) -------------------------------------------
    def switch_workspace(self, ws_id: str) -> asyncio.Task[Any] | None:
        """Show another saved workspace in this window (nothing happens for this one)."""
        return self.lifecycle.switch_workspace(ws_id)

    async def open_workspace(self, ws: Workspace) -> None:
        """Show ``ws`` here, its server started when SockDesk runs it, and connect."""
        await self.lifecycle.open_workspace(ws)

    def server_starting(self) -> None:
        """The workspace's server is still starting: the window is up, saying so, and
        connects once ``use_server`` gives it the address."""
        self._state = "starting"
        self.bar.set_state("starting", "Starting this workspace's server…")
        self._reason = "starting the server on this computer…"
        self._show_summary()
        self.workspaces.note_state(self.workspace, "starting")

    def use_server(self, url: str, embedded: EmbeddedServer | None = None) -> None:
        """Connect to ``url`` from now on (``embedded``: the server SockDesk runs there)."""
        self.lifecycle.use_server(url, embedded)

    def server_restarted(self, info: HostInfo) -> None:
        """The workspace's server listens again (Start hosting): connect there now."""
        self.lifecycle.server_restarted(info)

    async def open_session(self) -> None:
        """(Re)create the session of the workspace shown and connect."""
        await self.lifecycle.open_session()

    async def close_session(self) -> None:
        """Close the session shown (its outbox stays on disk)."""
        await self.lifecycle.close_session()

    @property
    def foreign(self) -> bool | None:
        """None: not known yet; True: the server did not introduce itself as SockDesk's."""
        return self.lifecycle.foreign

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
        elif self.hosting.stopped_by_user:  # nothing listens: Connect hosts it again
            self.hosting.toggle()
        else:
            self.spawn(self.session.connect())

    def on_disconnect_clicked(self) -> None:
        if self.session is not None:
            self.conversations.presence.you_disconnected()
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
    def on_state(self, state: str, reason: str) -> None:
        self.show_state(state, reason)
        self.workspaces.note_state(self.workspace, state)
        if state == "connected":
            self.lifecycle.check_server()

    def show_state(self, state: str, reason: str) -> None:
        self._state = state
        self.bar.set_state(state, reason)
        self._reason = reason
        self._show_summary()
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
            if self._tools is not None:  # one the server added (a SockDesk server)
                self._tools.compose.set_namespaces([ns])
            self.lifecycle.check_server()

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

    def show_outbox(self) -> None:
        """The outbox badge was clicked: the Queues tab, on the outbox where most wait
        (the first namespace's when none do)."""
        s = self.session
        self.tabs.setCurrentWidget(self.queues)
        if s is not None and s.namespaces:
            fullest = max(s.namespaces, key=s.outbox.depth)  # the first of equals
            self.queues.select_queue(outbox_key(fullest))

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
        """Closing quits this window (its session closes) unless the desktop has a
        tray: then the window hides, stays connected and keeps notifying; the tray's
        Quit (or the Workspace menu's) closes it for good."""
        if self._closed:
            event.accept()
            return
        tray = app_tray()
        if not self._closing and tray.keeps_running():
            event.ignore()
            self.shape.save()
            self.hide()
            tray.window_hidden()
            return
        if not self._closing and self._ask_before_stopping_server(tray):
            event.ignore()
            return
        if self.session is None and not self._closing:
            # nothing to close asynchronously
            self._closing = self._closed = True
            self.shape.save()
            tray.remove_window(self)
            event.accept()
            self.closed.emit()
            return
        event.ignore()
        if not self._closing:
            self._closing = True
            self.shape.save()
            self.spawn(self._finish_close())

    def _ask_before_stopping_server(self, tray: AppTray) -> bool:
        """Closing this window ends the app and with it the server it hosts for others:
        ask first (``HostingControls.ask_before_quitting``); True while asking."""
        if self._asking_quit:
            return True
        if not self.confirm_stop_hosting or self.hosting.info is None:
            return False
        others_open = any(w is not self and isinstance(w, MainWindow) and not w._closing
                          and not w.is_closed for w in tray.windows)
        if others_open and not tray.quitting:
            return False                      # the app (and its server) keeps running
        self._asking_quit = True

        def proceed() -> None:
            self._asking_quit = False
            self.confirm_stop_hosting = False
            self.close()

        def cancelled() -> None:
            self._asking_quit = False
            tray.quitting = False             # a tray keeps hiding windows again

        self.spawn(self.hosting.ask_before_quitting(proceed, cancelled))
        return True

    async def _finish_close(self) -> None:
        self.lifecycle.cancel_opening()
        try:
            learn = self._learn.page
            if learn is not None:
                await learn.shutdown()  # the Learn tab's simulated users
            await self.class_seat.stop()
            await self.close_session()
        finally:
            app_tray().remove_window(self)
            self._closed = True
            self.hide()
            self.closed.emit()

    def show_from_tray(self) -> None:
        """The tray's "Show SockDesk": back on screen, in front."""
        self.showNormal()
        self.raise_()
        self.activateWindow()

    def quit_app(self) -> None:
        """The Workspace menu's Quit: every window closes for good, tray or not."""
        app_tray().quitting = True
        QApplication.closeAllWindows()

    async def shutdown(self) -> None:
        """Close from code: the same path as the user closing the window."""
        if self._closed:
            return
        if not self._closing:
            self._closing = True
            self.shape.save()
            await self._finish_close()
        else:
            while not self._closed:
                await asyncio.sleep(0.02)
