"""The Hosting menu and status line of a window showing a HOST workspace.

A host (a teacher, a team lead) needs four things while the app runs the server others
use, and each is a menu item rather than a command to remember:

* **Show invite…**: the invite line to copy and its QR code to put on a projector
  (``ui.widgets.invite.InviteDialog``, not modal: the class keeps chatting meanwhile).
* **Stop hosting / Start hosting**: stop the workspace's server (everyone, the host's
  own app included, is disconnected; their outboxes keep what they write) and start it
  again on the same port with the same certificate and token, so the invites handed
  out stay valid and every app, the host's own too, reconnects by itself.
* **Release a name…**: a student who lost their computer lost the key that claims
  their name; the server's ``release-name`` frees it (``HostedServer.release_name``),
  also while it runs, and its sentence is shown.
* **Relay to the sender too (tutorial rule)**: the socket.io tutorial's chat page expects
  its own message back (its server calls ``io.emit``), while the bundled server's
  sandbox relays to everyone else. The switch restarts the hosted server with
  ``--echo /`` (or without), same port, certificate and token, remembered per
  workspace. A restart rather than a live switch: the server allows no change of the
  rule at run time (anyone with the token could flip it for the whole class).
* A status line saying where others join ("Others join at https://192.168.1.5:5000"),
  or that they cannot because hosting is stopped. (It does not count who is connected:
  the server has no cheap way to say so, and a count of room members would be a
  different number.)
* Quitting the app stops the server for everybody, and so does Stop hosting: when
  others are connected (the server's ``users`` list, asked at that moment), both ask
  first (``ask_before_quitting``, ``stop_when_agreed``).

Only HOST workspaces show any of it: a private server has no invite and nobody to
release a name for, and a remote one is not ours to stop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Protocol

import shiboken6
from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QInputDialog, QLabel, QMenu, QMessageBox, QWidget

from app.invite import InviteError, parse_invite
from app.workspace import ServerKind, Workspace
from ui import theme
from ui.hosting import HostedServer, HostInfo, HostingError
from ui.widgets.invite import InviteDialog

if TYPE_CHECKING:
    from app.session import Session
    from ui.workspaces import Workspaces

log = logging.getLogger(__name__)
#: how long closing waits for the server to list who is connected
PEOPLE_TIMEOUT = 2.0

STOP_TEXT = "Stop hosting"
ECHO_TEXT = "Relay to the sender too (tutorial rule)"
#: the sandbox namespace the tutorial's page (``io()``) uses
ECHO_NAMESPACE = "/"
START_TEXT = "Start hosting"


class HostingHost(Protocol):
    """What the controls need of the window that holds them (``ui.window.MainWindow``)."""

    workspace: Workspace
    workspaces: Workspaces
    session: Session | None

    @property
    def user(self) -> str: ...

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]: ...

    def show_error(self, text: str) -> None: ...

    def show_info(self, text: str, ms: int = ...) -> None: ...

    def server_restarted(self, info: HostInfo) -> None:
        """The workspace's server listens again: connect there (now, not after the
        session's back-off)."""


def join_address(info: HostInfo) -> str:
    """Where others join: the invite's address (the LAN one when listening on every
    network), else the server's own."""
    if info.invite:
        with contextlib.suppress(InviteError):
            return parse_invite(info.invite).url
    return info.url


class HostingControls(QObject):
    """The menu, its actions and the status label (see the module doc). The window puts
    ``menu`` in its menu bar and ``status`` in its status bar, calls ``show_workspace``
    whenever it shows another workspace and ``attach`` once that workspace's server was
    started (or failed to)."""

    #: the user stopped hosting (True) or it runs again (False): the host's own
    #: connection failing is then no news (``ui.chat_presence``)
    hosting_stopped = Signal(bool)

    def __init__(self, host: HostingHost, parent_widget: QWidget) -> None:
        super().__init__(parent_widget)
        self.host = host
        self._parent = parent_widget
        self.hosted: HostedServer | None = None
        #: the user stopped the server (Stop hosting) and has not started it again
        self.stopped_by_user = False
        self.hosting_stopped.connect(self._note_stopped)
        self._busy = False
        self._problem: str | None = None
        self.menu = QMenu("&Hosting", parent_widget)
        self.menu.setObjectName("hostingMenu")
        self.invite_action = QAction(theme.icon("users"), "Show invite…", self.menu)
        self.invite_action.setToolTip("The invite to copy, and its QR code for a projector")
        self.invite_action.triggered.connect(self.show_invite)
        self.toggle_action = QAction(theme.icon("stop"), STOP_TEXT, self.menu)
        self.toggle_action.triggered.connect(self.toggle)
        self.release_action = QAction(theme.icon("user"), "Release a name…", self.menu)
        self.release_action.setToolTip("Let somebody use a name claimed by a lost key")
        self.release_action.triggered.connect(self.ask_release_name)
        self.echo_action = QAction(ECHO_TEXT, self.menu)
        self.echo_action.setCheckable(True)
        self.echo_action.setToolTip("Events relayed on / reach their sender too, as the "
                                    "socket.io tutorial's io.emit does (restarts hosting)")
        self.echo_action.toggled.connect(self._echo_toggled)
        for action in (self.invite_action, self.toggle_action, self.release_action,
                       self.echo_action):
            self.menu.addAction(action)
        self.status = QLabel("")
        self.status.setObjectName("hint")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        #: the invite window, while it is open
        self.invite_dialog: InviteDialog | None = None
        #: the question "which name?", while it is open
        self.release_dialog: QInputDialog | None = None
        #: what the server said about the last release, while it is shown
        self.result_box: QMessageBox | None = None
        #: "quitting stops the server for N people", while it is asked
        self.quit_box: QMessageBox | None = None
        self.show_workspace(host.workspace)

    # -- which workspace ---------------------------------------------------------------
    @property
    def shown(self) -> bool:
        """The window shows a HOST workspace (and so the menu and the status line)."""
        return self.host.workspace.server == ServerKind.HOST

    def show_workspace(self, ws: Workspace) -> None:
        """The window now shows ``ws``: let go of the last one's server (it keeps running
        for the app's life), show the menu only for a hosted workspace."""
        self.attach(None)
        hosting = ws.server == ServerKind.HOST
        self.menu.menuAction().setVisible(hosting)
        self.status.setVisible(hosting)
        dlg, self.invite_dialog = self.invite_dialog, None
        if dlg is not None:
            dlg.close()  # the invite of another workspace
        self.refresh()

    def attach(self, hosted: HostedServer | None) -> None:
        """Follow ``hosted``'s starts and stops (None: no server to follow)."""
        old, self.hosted = self.hosted, hosted
        if old is not None and shiboken6.isValid(old):
            for signal, slot in ((old.started, self._started), (old.stopped, self._stopped),
                                 (old.failed, self.start_failed)):
                with contextlib.suppress(RuntimeError, TypeError):
                    signal.disconnect(slot)
        self._problem = None
        self.stopped_by_user = False  # another server (or none): nothing stopped here yet
        if hosted is not None:
            hosted.started.connect(self._started)
            hosted.stopped.connect(self._stopped)
            hosted.failed.connect(self.start_failed)
        self.refresh()

    @property
    def info(self) -> HostInfo | None:
        """The running server's address, invite and fingerprint (None while stopped)."""
        hosted = self.hosted
        return hosted.info if hosted is not None and hosted.running else None

    # -- what it says ------------------------------------------------------------------
    def refresh(self) -> None:
        """Menu items and status line as the server is now."""
        info = self.info
        running = info is not None
        self.invite_action.setEnabled(running and bool(info and info.invite))
        self.toggle_action.setText(STOP_TEXT if running else START_TEXT)
        self.toggle_action.setIcon(theme.icon("stop" if running else "play"))
        self.toggle_action.setEnabled(not self._busy)
        self.release_action.setEnabled(self.hosted is not None and not self._busy)
        self.echo_action.blockSignals(True)
        self.echo_action.setChecked(ECHO_NAMESPACE in self.host.workspace.host.echo)
        self.echo_action.blockSignals(False)
        self.echo_action.setEnabled(self.shown and not self._busy)
        if not self.shown:
            self.status.setText("")
        elif self._busy:
            self.status.setText("Hosting: one moment…")
        elif info is not None:
            self.status.setText(f"Others join at {join_address(info)}")
        elif self._problem:
            self.status.setText(f"Not hosting: {self._problem}")
        elif self.hosted is None:
            self.status.setText("Hosting: starting the server…")
        else:
            self.status.setText("Not hosting: nobody can join until you start hosting "
                                "again")
        self.status.setToolTip(info.listen if info is not None else "")
        if self.invite_dialog is not None and info is not None:
            self.invite_dialog.set_invite(info.invite, info.fingerprint)

    def _note_stopped(self, stopped: bool) -> None:
        self.stopped_by_user = stopped

    def _started(self, info: HostInfo) -> None:
        self._problem = None
        self.hosting_stopped.emit(False)
        self.refresh()
        self.host.server_restarted(info)

    def _stopped(self, reason: str) -> None:
        self.refresh()
        self.host.show_info(reason)

    def start_failed(self, reason: str) -> None:
        """The server could not start (the port is taken, …): the status line says why,
        and Start hosting tries again."""
        self._problem = reason
        self.refresh()

    # -- the actions -------------------------------------------------------------------
    def show_invite(self) -> InviteDialog | None:
        """Open (or bring forward) the invite window; None when there is no invite
        (the server is stopped)."""
        info = self.info
        if info is None or not info.invite:
            self.host.show_error("There is no invite while hosting is stopped.")
            return None
        dlg = self.invite_dialog
        if dlg is None:
            dlg = InviteDialog(info.invite, info.fingerprint, self._parent,
                               workspace=self.host.workspace.name)
            dlg.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            dlg.finished.connect(lambda _result, d=dlg: self._invite_closed(d))
            self.invite_dialog = dlg
        else:
            dlg.set_invite(info.invite, info.fingerprint)
        dlg.open()
        return dlg

    def _invite_closed(self, dlg: InviteDialog) -> None:
        if self.invite_dialog is dlg:
            self.invite_dialog = None

    def toggle(self) -> asyncio.Task[Any] | None:
        """Stop hosting when it runs, start it when it does not."""
        if self._busy:
            return None
        return self.host.spawn(self.stop_when_agreed() if self.info is not None
                               else self.start())

    async def stop(self) -> None:
        """Stop the server: everyone is disconnected (and retries), invites stay valid."""
        hosted = self.hosted
        if hosted is None:
            return
        self._busy = True
        self.refresh()
        self.hosting_stopped.emit(True)  # before the connection drops
        try:
            await hosted.stop()
        finally:
            self._busy = False
            if hosted.running:                 # it did not stop after all
                self.hosting_stopped.emit(False)
            self.refresh()
        session = self.host.session
        if not hosted.running and session is not None:
            # no retrying against a server the user just stopped (a reviewer saw
            # "Reconnecting…" and a failing attempt after another): offline until they
            # start it again, which reconnects (server_restarted)
            await session.disconnect(reason="you stopped hosting")

    async def start(self) -> HostInfo | None:
        """Start the server again (same port, certificate and token); ``started`` then
        has the window reconnect. A failure is said in the status line and the window."""
        ws = self.host.workspace
        workspaces = self.host.workspaces
        self._busy = True
        self._problem = None
        self.refresh()
        try:
            await workspaces.server_url(ws)
        except Exception as exc:  # HostingError: a sentence (the port is taken, …)
            self._problem = str(exc)
            self.host.show_error(str(exc))
            return None
        finally:
            self._busy = False
            if self.hosted is None:
                self.attach(workspaces.hosted(ws))
            self.refresh()
        return self.info

    def _echo_toggled(self, on: bool) -> None:
        self.host.spawn(self.set_echo(on))

    async def set_echo(self, on: bool) -> HostInfo | None:
        """Relay on ``/`` to the sender too (or not): remembered in the workspace, and
        the server restarted with it when it runs (same port, certificate, token)."""
        ws = self.host.workspace
        echo = [ns for ns in ws.host.echo if ns != ECHO_NAMESPACE]
        ws.host.echo = [*echo, ECHO_NAMESPACE] if on else echo
        self.host.workspaces.save(ws)
        running = self.info is not None
        if running:
            await self.stop()
        info = await self.start() if running else None   # stopped: used at the next start
        if info is not None:
            self.host.show_info("Hosting again: on /, a relayed event now reaches its "
                                "sender too (the tutorial's rule)." if on else
                                "Hosting again: on /, events reach everyone but their "
                                "sender.")
        self.refresh()
        return info

    def ask_release_name(self) -> QInputDialog:
        """Ask which name to release (open(), never exec(): the app keeps running)."""
        dlg = QInputDialog(self._parent)
        dlg.setWindowTitle("Release a name")
        dlg.setLabelText("The name to release (its owner's key will no longer be needed: "
                         "whoever connects with it next claims it):")
        dlg.setInputMode(QInputDialog.InputMode.TextInput)
        dlg.setOkButtonText("Release")
        dlg.textValueSelected.connect(
            lambda text: self.host.spawn(self.release_name(text)) if text.strip() else None)
        dlg.finished.connect(self._release_dialog_closed)
        self.release_dialog = dlg
        dlg.open()
        return dlg

    def _release_dialog_closed(self, _result: int) -> None:
        dlg, self.release_dialog = self.release_dialog, None
        if dlg is not None:
            dlg.deleteLater()

    async def release_name(self, name: str) -> str:
        """Release ``name`` on this workspace's server and show what the server said
        (or why it could not)."""
        hosted = self.hosted
        name = name.strip()
        if hosted is None:
            sentence, ok = "This workspace's server has not been started yet.", False
        else:
            try:
                sentence, ok = await hosted.release_name(name), True
            except HostingError as exc:
                sentence, ok = str(exc), False
        self._show_result(sentence, ok)
        return sentence

    def _show_result(self, sentence: str, ok: bool) -> None:
        if self.result_box is not None:
            self.result_box.close()
        box = QMessageBox(QMessageBox.Icon.Information if ok else QMessageBox.Icon.Warning,
                          "Release a name", sentence, QMessageBox.StandardButton.Ok,
                          self._parent)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)

        def gone(*_args: object) -> None:
            if self.result_box is box:
                self.result_box = None

        box.destroyed.connect(gone)
        self.result_box = box
        box.open()
        (self.host.show_info if ok else self.host.show_error)(sentence)


    # -- quitting stops the server -------------------------------------------------------
    async def others_connected(self) -> list[str]:
        """Who else is connected to the server this app hosts for the workspace shown
        (the server's ``users`` list; the members of the rooms joined when it cannot
        say); [] when it is not hosted here or not running."""
        session = self.host.session
        if not self.shown or self.info is None or session is None:
            return []
        me = self.host.user
        try:
            people = await asyncio.wait_for(session.chat.list_people(), PEOPLE_TIMEOUT)
            return sorted(p.user for p in people if p.online and p.user != me)
        except Exception as exc:  # not connected, timed out, refused
            log.info("closing: the server did not list its users (%s)", exc)
        chat = session.chat
        return sorted({u for room in chat.rooms for u in chat.members(room)} - {me})

    async def ask_before_quitting(self, proceed: Callable[[], None],
                                  cancelled: Callable[[], None]) -> None:
        """Quitting stops the hosted server: with others connected, ask first
        ("Quit anyway?" calls ``proceed``, Cancel ``cancelled``); with nobody, proceed."""
        await self._ask_before_stopping(
            "quitting stops the server for {who}. Quit anyway?", "Quit and stop the server",
            "To keep the server running, minimise the window instead.", proceed, cancelled)

    async def stop_when_agreed(self) -> None:
        """Stop hosting (the menu's Stop hosting): with others connected, ask first, as
        quitting does (a reviewer stopped the team's server with one click, unasked)."""
        if self.quit_box is not None:
            return                           # asked already (a quit, or a second click)
        agreed: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

        def answer(yes: bool) -> None:
            if not agreed.done():
                agreed.set_result(yes)

        await self._ask_before_stopping(
            "stopping disconnects {who}. Stop hosting?", "Stop hosting",
            "They reconnect by themselves when you host again.",
            lambda: answer(True), lambda: answer(False))
        if await agreed:
            await self.stop()

    async def _ask_before_stopping(self, question: str, stop_text: str, advice: str,
                                   proceed: Callable[[], object],
                                   cancelled: Callable[[], object]) -> None:
        """Ask ``question`` ("{who}" filled in) when others are connected, with a
        ``stop_text`` button (``proceed``) and Cancel (``cancelled``); proceed at once
        when nobody else is."""
        if self.quit_box is not None:
            return                           # already asked (a second Quit)
        others = await self.others_connected()
        if not others:
            proceed()
            return
        n = len(others)
        who = f"{n} {'person' if n == 1 else 'people'} connected"
        box = QMessageBox(QMessageBox.Icon.Warning, "Stop the server?",
                          f"You host '{self.host.workspace.name}': "
                          + question.format(who=who), parent=self._parent)
        names = ", ".join(others[:8]) + (", …" if n > 8 else "")
        box.setInformativeText(f"Connected: {names}. Their messages wait in their outboxes "
                               f"until you host again. {advice}")
        stop_button = box.addButton(stop_text, QMessageBox.ButtonRole.DestructiveRole)
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        self.quit_box = box

        def finished(_result: int) -> None:
            self.quit_box = None
            box.deleteLater()
            if box.clickedButton() is stop_button:
                proceed()
            else:
                cancelled()

        box.finished.connect(finished)
        box.open()
