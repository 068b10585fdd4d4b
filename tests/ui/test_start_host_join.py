"""Start, host, join (issue 13): the first run's three ways to begin, the Hosting menu of
a hosted workspace, ``sockdesk --join INVITE`` and ``--install-desktop-entry``.

Every server is the real bundled one on 127.0.0.1 (the app's own hosted server as its
child process, or one started here); the app is ``ui.main.App`` as ``sockdesk`` runs it,
or ``python -m ui`` itself where the exit status and output are the point.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import socketio
from PySide6.QtWidgets import QDialog

from app.config import ReconnectPolicy
from app.invite import Invite, parse_invite
from app.workspace import (
    SOCKDESK_NAMESPACES,
    HostSettings,
    ServerKind,
    Workspace,
    WorkspaceError,
    WorkspaceStore,
)
from tests.support import REPO, free_port, wait_for
from tests.ui.conftest import Runner, until
from ui.chat_presence import HOSTING_STOPPED_BANNER

pytestmark = pytest.mark.timeout(180)

NO_KEYRING = "keyring.backends.fail.Keyring"
FAST = ReconnectPolicy(delay=0.1, delay_max=0.5)


@pytest.fixture
def no_signals(monkeypatch: pytest.MonkeyPatch) -> None:
    from ui.main import App

    monkeypatch.setattr(App, "_install_signal_handlers", lambda _self: None)  # pytest's own


@pytest.fixture
def interactive(monkeypatch: pytest.MonkeyPatch) -> None:
    """The app believes somebody sits in front of it (the tests run offscreen)."""
    from ui.main import App

    monkeypatch.setattr(App, "_interactive", staticmethod(lambda: True))


def answer_new_workspace(monkeypatch: pytest.MonkeyPatch,
                         fill: Callable[[Any], None]) -> list[Any]:
    """Answer the new-workspace dialog when it opens: ``fill`` sets the fields, then OK
    is clicked as a user would (only when the dialog lets it be)."""
    from ui.widgets.new_workspace import NewWorkspaceDialog

    opened: list[Any] = []
    original = NewWorkspaceDialog.open

    def open_and_answer(self: Any) -> None:
        original(self)
        opened.append(self)
        fill(self)
        assert self.ok_button.isEnabled(), self.problem.text()
        self.ok_button.click()

    monkeypatch.setattr(NewWorkspaceDialog, "open", open_and_answer)
    return opened


def token_server_invite(server_factory: Any, token: str = "s3cret") -> tuple[Any, str]:
    """A bundled server with a token, and the invite it printed."""
    srv = server_factory("--token", token, "--name", "Design team")
    assert wait_for(lambda: any(line.startswith("Invite: ") for line in srv.output), 10)
    line = next(line for line in srv.output if line.startswith("Invite: "))
    return srv, line.split("Invite: ", 1)[1].strip()


async def run_until_connected(app: Any) -> tuple[asyncio.Future[int], Any]:
    """Start ``app.run()``; the first window once its chat is ready."""
    main = asyncio.ensure_future(app.run())
    await until(lambda: main.done() or (bool(app.windows) and app.windows[0].is_connected
                                        and app.windows[0].session.is_ready("/chat")), 40)
    assert not main.done(), main.result()
    return main, app.windows[0]


async def room_history(url: str, room: str, token: str | None = None,
                       fingerprint_checked: bool = False) -> list[tuple[str, str]]:
    """(user, text) of every message the server at ``url`` keeps for ``room``."""
    client = socketio.AsyncClient(ssl_verify=fingerprint_checked)
    auth: dict[str, Any] = {"user": "checker"}
    if token:
        auth["token"] = token
    await client.connect(url, namespaces=["/chat"], auth=auth, transports=["websocket"],
                         wait_timeout=10)
    try:
        ack = await client.call("history", {"room": room}, namespace="/chat", timeout=10)
    finally:
        await client.disconnect()
    return [(m["user"], m["text"]) for m in ack["messages"]]


# -- the first run ------------------------------------------------------------------------

def test_first_run_without_anybody_to_ask_makes_a_private_workspace(
        run: Runner, no_signals: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """Offscreen (tests, --screenshot) nobody can answer a dialog: the first run makes
    the private workspace it always made, and no dialog is opened."""
    from ui.main import App, parse_args
    from ui.widgets.new_workspace import NewWorkspaceDialog

    opened: list[Any] = []
    monkeypatch.setattr(NewWorkspaceDialog, "open", lambda self: opened.append(self))
    app = App(parse_args(["--user", "zoe"]))

    async def go() -> Any:
        main, w = await run_until_connected(app)
        ws = w.workspace
        app._quit()
        assert await main == 0
        return ws

    ws = run(go(), 60)
    assert opened == []
    assert (ws.name, ws.server, ws.user) == ("On this computer", ServerKind.PRIVATE, "zoe")


def test_clients_in_a_fresh_profile_ask_nothing_and_open_general(
        run: Runner, no_signals: None, interactive: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """``--clients 2`` with nothing saved: no first-run dialog (the names are alice and
    bob), and each window shows #general."""
    from ui.main import App, parse_args
    from ui.widgets.new_workspace import NewWorkspaceDialog

    opened: list[Any] = []
    monkeypatch.setattr(NewWorkspaceDialog, "open", lambda self: opened.append(self))
    app = App(parse_args(["--clients", "2"]))

    async def go() -> list[tuple[str, str, str]]:
        main, _w = await run_until_connected(app)
        await until(lambda: len(app.windows) == 2 and all(
            w.chat.target == "general" for w in app.windows), 30)
        shown = [(w.user, w.chat.kind, w.chat.target) for w in app.windows]
        # and tiled once shown: the tiles are where the windows are
        await until(lambda: app._tiling is not None and app._tiling.done(), 10)
        assert app._tiling is not None
        tiles = app._tiling.result()
        assert [w.frameGeometry() for w in app.windows] == tiles
        assert tiles[0].topLeft() != tiles[1].topLeft()
        app._quit()
        assert await main == 0
        return shown

    assert run(go(), 90) == [("alice", "room", "general"), ("bob", "room", "general")]
    assert opened == []


def test_first_run_try_it_here_opens_a_private_workspace(
        run: Runner, no_signals: None, interactive: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from ui.main import App, parse_args
    from ui.widgets.new_workspace import PAGE_TRY

    def fill(dlg: Any) -> None:
        assert dlg.page() == PAGE_TRY                     # the first choice is preselected
        assert dlg.try_page.user.text() == "zoe"          # --user is filled in
        dlg.try_page.name.setText("Sandbox")

    opened = answer_new_workspace(monkeypatch, fill)
    app = App(parse_args(["--user", "zoe"]))

    async def go() -> Any:
        main, w = await run_until_connected(app)
        snapshot = (w.workspace, w.url, w.hosting.menu.menuAction().isVisible(),
                    app.workspaces.store.last_id())
        app._quit()
        assert await main == 0
        return snapshot

    ws, url, hosting_shown, last = run(go(), 60)
    assert len(opened) == 1
    assert (ws.name, ws.server, ws.user) == ("Sandbox", ServerKind.PRIVATE, "zoe")
    assert url.startswith("http://127.0.0.1:") and not hosting_shown
    saved = WorkspaceStore().get("Sandbox")
    assert saved.id == ws.id == last and saved.server == ServerKind.PRIVATE


def test_first_run_host_opens_the_hosted_workspace_connected_to_its_own_server(
        run: Runner, no_signals: None, interactive: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from ui.main import App, parse_args
    from ui.widgets.new_workspace import PAGE_HOST

    port = free_port()

    def fill(dlg: Any) -> None:
        dlg.set_page(PAGE_HOST)
        page = dlg.host_page
        page.name.setText("Networks 101")
        page.user.setText("teacher")
        page.interface.setCurrentIndex(page.interface.findData("127.0.0.1"))
        page.port.setValue(port)
        assert not page.plain.isChecked()                 # TLS unless asked otherwise

    answer_new_workspace(monkeypatch, fill)
    app = App(parse_args([]))

    async def go() -> Any:
        main, w = await run_until_connected(app)
        info = app.workspaces.host_info(w.workspace)
        snapshot = (w.workspace, w.session.config.url, w.session.config.tls.fingerprint,
                    info, w.hosting.menu.menuAction().isVisible(), w.hosting.status.text())
        app._quit()
        assert await main == 0
        return snapshot

    ws, url, pinned, info, hosting_shown, status = run(go(), 60)
    assert ws.server == ServerKind.HOST and ws.user == "teacher"
    assert url == f"https://127.0.0.1:{port}"
    assert info is not None and pinned == info.fingerprint and len(pinned) == 64
    assert hosting_shown and status == f"Others join at https://127.0.0.1:{port}"
    saved = WorkspaceStore().get("Networks 101")       # port and token kept for next time
    assert saved.host.port == port and saved.token == parse_invite(info.invite).token


def test_first_run_join_opens_the_joined_workspace(
        run: Runner, no_signals: None, interactive: None, server_factory: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from ui.main import App, parse_args
    from ui.widgets.new_workspace import PAGE_JOIN

    srv, invite = token_server_invite(server_factory)

    def fill(dlg: Any) -> None:
        dlg.set_page(PAGE_JOIN)
        dlg.join_page.invite.setText(invite)
        dlg.join_page.user.setText("bob")

    answer_new_workspace(monkeypatch, fill)
    app = App(parse_args([]))

    async def go() -> Any:
        main, w = await run_until_connected(app)
        snapshot = (w.workspace, app.workspaces.servers())
        await w.conversations.join_room("general")
        w.conversations.send_chat("room", "general", "joined from the dialog")
        await until(lambda: w.session.outbox.depth() == 0, 15)
        app._quit()
        assert await main == 0
        return snapshot

    ws, servers = run(go(), 60)
    assert ws.server == ServerKind.REMOTE and ws.name == "Design team"
    assert ws.urls == [srv.url] and ws.user == "bob" and ws.token == "s3cret"
    assert servers == []                                  # joining starts no server
    history = run(room_history(srv.url, "general", "s3cret"))
    assert ("bob", "joined from the dialog") in history


# -- the Hosting menu -------------------------------------------------------------------------

@pytest.fixture
def host_window(run: Runner, tmp_path: Path) -> Iterator[Callable[[Workspace], Any]]:
    """A main window on a saved workspace, through the app's shared registry; its
    window and servers are shut down at the end."""
    from ui.window import MainWindow
    from ui.workspaces import Workspaces

    store = WorkspaceStore(tmp_path / "config", tmp_path / "data", secrets_backend=None)
    made: list[tuple[Any, Workspaces]] = []

    def make(ws: Workspace) -> Any:
        shared = Workspaces(store)
        shared.save(ws)
        w = MainWindow(ws, store.data_root, key="hosting-test", workspaces=shared)
        w.resize(1100, 700)
        w.show()
        made.append((w, shared))
        run(w.open_workspace(ws), 60)
        run.until(lambda: w.is_connected and w.session.is_ready("/chat"), 30)
        return w

    yield make
    for w, shared in made:
        run(w.shutdown())
        run(shared.stop_servers())
        shared.kill_servers()
        w.deleteLater()


def hosted_workspace(port: int) -> Workspace:
    ws = Workspace(name="Networks 101", server=ServerKind.HOST, user="teacher",
                   namespaces=list(SOCKDESK_NAMESPACES), reconnect=ReconnectPolicy(**vars(FAST)),
                   host=HostSettings(interface="127.0.0.1", port=port, tls=True),
                   token="class-token-123")
    ws.ensure_key()
    return ws


def test_a_workspace_hosted_for_the_first_time_shows_its_invite_once(
        run: Runner, host_window: Any) -> None:
    ws = hosted_workspace(free_port())       # a token from the dialog; never hosted
    w = host_window(ws)
    dlg = w.hosting.invite_dialog
    assert dlg is not None and dlg.isVisible()          # shown without asking
    info = w.workspaces.host_info(w.workspace)
    assert info is not None and info.invite and w.workspace.token
    dlg.close()
    run.until(lambda: w.hosting.invite_dialog is None)
    run(w.open_workspace(w.workspaces.store.get(ws.id)))  # opened again: not again
    run.until(lambda: w.is_connected)
    assert w.hosting.invite_dialog is None


def test_a_new_team_workspace_starts_in_general_once(run: Runner, host_window: Any) -> None:
    """Hosted from the New-workspace dialog (or joined with an invite), a workspace
    starts in #general, as a Slack workspace does; reviewers found an empty room list."""
    from ui.workspaces import private_workspace

    w = host_window(private_workspace("teacher"))
    ws = hosted_workspace(free_port())
    run(w.editing._add_and_open(ws), 60)
    run.until(lambda: w.workspace.id == ws.id and w.is_connected
              and w.session.is_ready("/chat"), 30)
    run.until(lambda: w.sidebar_model.keys("room") == ["general"])
    assert (w.chat.kind, w.chat.target) == ("room", "general")
    run(w.conversations.leave_room("general"))       # left on purpose: not again
    run(w.open_workspace(w.workspaces.store.get(ws.id)))
    run.until(lambda: w.is_connected)
    assert w.sidebar_model.keys("room") == []


def test_the_hosting_menu_shows_the_invite_stops_starts_and_releases_names(
        run: Runner, host_window: Any) -> None:
    port = free_port()
    w = host_window(hosted_workspace(port))
    controls = w.hosting
    info = w.workspaces.host_info(w.workspace)
    assert info is not None
    assert controls.menu.menuAction().isVisible() and controls.status.isVisible()
    assert controls.status.text() == f"Others join at https://127.0.0.1:{port}"
    assert w.session.config.tls.fingerprint == info.fingerprint   # pinned to its own server

    # Show invite: the line to copy and the QR code, for this workspace
    controls.invite_action.trigger()
    dlg = controls.invite_dialog
    assert dlg is not None and dlg.isVisible() and not dlg.isModal()
    assert dlg.panel.text == info.invite and dlg.panel.fingerprint == info.fingerprint
    assert dlg.panel.qr.modules > 0 and dlg.windowTitle() == "Invite to Networks 101"
    invite = parse_invite(dlg.panel.text)
    assert (invite.url, invite.token) == (f"https://127.0.0.1:{port}", "class-token-123")
    dlg.close()
    assert controls.invite_dialog is None

    # a student claims a name with a key of their own
    async def claim(user: str, key: str) -> str | None:
        """None when connected as ``user`` with ``key``, else why not."""
        refused: list[Any] = []
        client = socketio.AsyncClient(ssl_verify=False)
        client.on("connect_error", refused.append, namespace="/chat")
        try:
            await client.connect(info.url, namespaces=["/chat"], transports=["websocket"],
                                 auth={"user": user, "key": key, "token": "class-token-123"},
                                 wait_timeout=10)
        except socketio.exceptions.ConnectionError:
            return str(refused)
        await client.disconnect()
        return None

    assert run(claim("student", "k" * 32)) is None
    assert "taken" in (run(claim("student", "another-key-of-somebody-else")) or "")

    # Release a name…: asked, released by the server, its sentence shown
    controls.release_action.trigger()
    ask = controls.release_dialog
    assert ask is not None and ask.isVisible()
    ask.setTextValue("student")
    ask.accept()
    run.until(lambda: controls.result_box is not None, 30)
    assert controls.result_box.text().startswith("Released the name student")
    assert run(claim("student", "another-key-of-somebody-else")) is None  # free again
    controls.result_box.close()
    run(controls.release_name("nobody"))
    assert "nobody has no claim" in controls.result_box.text()
    controls.result_box.close()

    # Stop hosting: the server goes, the host's own app is disconnected and says so
    assert controls.toggle_action.text() == "Stop hosting"
    hosted = w.workspaces.hosted(w.workspace)
    stopped: list[str] = []
    hosted.stopped.connect(stopped.append)
    failures: list[str] = []
    w.bridge.error.connect(failures.append)
    controls.toggle_action.trigger()
    # (the stop runs on the asyncio loop: wait by running it, not in qtbot's Qt loop)
    run.until(lambda: bool(stopped) and not w.is_connected
              and controls.toggle_action.isEnabled(), 20)
    assert stopped == ["The server of 'Networks 101' is stopped."]
    # the host's own banner says what happened, not "Can't reach the server"
    run.until(lambda: w.conversations.presence.banner == HOSTING_STOPPED_BANNER, 20)
    # and it stops retrying against the server it just stopped: offline (not
    # "reconnecting"), the one attempt made as the connection dropped no red error
    run.until(lambda: w._state == "offline", 20)
    assert "connect" not in w.error_label.text() and len(failures) <= 1
    assert not hosted.running and w.workspaces.host_info(w.workspace) is None
    assert controls.toggle_action.text() == "Start hosting"
    assert controls.status.text().startswith("Not hosting")
    assert not controls.invite_action.isEnabled()

    # Start hosting (Connect does it too, nothing else could listen there): same port,
    # same certificate, same invite; the host reconnects
    w.bar.connect_action.trigger()
    run.until(lambda: w.is_connected and w.session.is_ready("/chat"), 30)
    assert w.conversations.presence.banner is None
    again = w.workspaces.host_info(w.workspace)
    assert again is not None and again.url == info.url
    assert again.fingerprint == info.fingerprint and again.invite == info.invite
    assert w.embedded_server is w.workspaces.server(w.workspace)    # the new process
    assert controls.toggle_action.text() == "Stop hosting"
    assert controls.status.text() == f"Others join at https://127.0.0.1:{port}"
    run(w.conversations.join_room("general"))
    w.conversations.send_chat("room", "general", "back after a restart")
    run.until(lambda: w.session.outbox.depth() == 0, 15)
    assert ("teacher", "back after a restart") in run(
        room_history(info.url, "general", "class-token-123"))


def test_quitting_the_host_asks_first_while_others_are_connected(
        run: Runner, host_window: Any) -> None:
    """Closing the window of the app that hosts the workspace stops its server: with a
    student connected it asks ("Cancel" keeps everything running); the Learn tab's
    "Stop server" is not offered for the team's server."""
    from PySide6.QtWidgets import QMessageBox

    from ui.tray import AppTray, install_tray

    port = free_port()
    w = host_window(hosted_workspace(port))
    info = w.workspaces.host_info(w.workspace)
    hosted = w.workspaces.hosted(w.workspace)
    # the Learn tab's server box is for the private embedded server, not this one
    button = w.learn.classroom.server_button
    assert not button.isEnabled() and "Hosting" in button.toolTip()

    student = socketio.AsyncClient(ssl_verify=False, reconnection=False)

    async def join() -> None:
        await student.connect(info.url, namespaces=["/chat"], transports=["websocket"],
                              auth={"user": "student", "key": "s" * 32,
                                    "token": "class-token-123"}, wait_timeout=10)

    run(join())
    install_tray(AppTray(available=False))          # no tray: closing quits
    try:
        # Stop hosting asks the same way (Cancel keeps the server running)
        w.hosting.toggle_action.trigger()
        run.until(lambda: w.hosting.quit_box is not None, 15)
        assert w.hosting.quit_box.text() == ("You host 'Networks 101': stopping "
                                             "disconnects 1 person connected. Stop hosting?")
        w.hosting.quit_box.reject()
        run.until(lambda: w.hosting.quit_box is None)
        assert hosted.running and w.hosting.toggle_action.text() == "Stop hosting"
        w.hosting.toggle_action.trigger()              # asked again, and agreed
        run.until(lambda: w.hosting.quit_box is not None, 15)
        next(b for b in w.hosting.quit_box.buttons() if b.text() == "Stop hosting").click()
        run.until(lambda: not hosted.running and not student.connected, 20)
        w.hosting.toggle_action.trigger()              # nobody left to ask about: starts
        run.until(lambda: w.is_connected, 30)
        run(join())                                    # the student is back
        w.close()
        run.until(lambda: w.hosting.quit_box is not None, 15)
        box = w.hosting.quit_box
        assert box.text() == ("You host 'Networks 101': quitting stops the server for "
                              "1 person connected. Quit anyway?")
        assert "student" in box.informativeText()
        w.close()                                    # asked once, not twice
        box.reject()                                 # Cancel
        assert w.hosting.quit_box is None and not w.is_closed and hosted.running
        w.close()
        run.until(lambda: w.hosting.quit_box is not None, 15)
        quit_button = next(b for b in w.hosting.quit_box.buttons()
                           if w.hosting.quit_box.buttonRole(b)
                           == QMessageBox.ButtonRole.DestructiveRole)
        assert quit_button.text() == "Quit and stop the server"
        quit_button.click()
        run.until(lambda: w.is_closed, 20)
    finally:
        install_tray(None)
        run(student.disconnect())


def test_a_private_workspace_has_no_hosting_menu_and_new_workspace_switches(
        run: Runner, host_window: Any) -> None:
    from ui.widgets.new_workspace import PAGE_HOST
    from ui.workspaces import private_workspace

    w = host_window(private_workspace("alice"))
    assert not w.hosting.menu.menuAction().isVisible() and not w.hosting.status.isVisible()

    # the switcher (menu bar and bar button alike) has "New workspace…"
    w.workspace_menu.rebuild()
    assert w.bar.workspace_button.menu() is w.workspace_menu
    new = next(a for a in w.workspace_menu.actions() if a.text() == "New workspace…")
    new.trigger()
    (dlg,) = [d for d in w.findChildren(QDialog) if d.isVisible()]
    assert dlg.try_page.user.text() == "alice"           # this window's user, filled in
    # a name another workspace has is caught in the dialog, not when saving
    dlg.set_page(PAGE_HOST)
    dlg.host_page.name.setText("On this computer")
    assert not dlg.ok_button.isEnabled() and "exists already" in dlg.problem.text()
    port = free_port()
    dlg.host_page.name.setText("Lab")
    dlg.host_page.interface.setCurrentIndex(dlg.host_page.interface.findData("127.0.0.1"))
    dlg.host_page.port.setValue(port)
    dlg.ok_button.click()
    run.until(lambda: w.workspace.name == "Lab" and w.is_connected, 40)
    assert w.workspace.server == ServerKind.HOST
    assert w.hosting.menu.menuAction().isVisible()
    assert w.hosting.status.text() == f"Others join at https://127.0.0.1:{port}"
    assert {ws.name for ws in w.workspaces.saved()} == {"On this computer", "Lab"}
    assert w.workspaces.store.last_id() == w.workspace.id


def test_new_workspace_join_with_an_invite_used_before_opens_that_workspace(
        run: Runner, host_window: Any, server_factory: Any) -> None:
    from app.workspace import from_invite
    from ui.widgets.new_workspace import PAGE_JOIN

    srv, invite = token_server_invite(server_factory)
    first = from_invite(parse_invite(invite), "bob")
    first.reconnect = ReconnectPolicy(**vars(FAST))
    w = host_window(first)

    def join(user: str) -> None:
        w.workspace_menu.rebuild()
        next(a for a in w.workspace_menu.actions() if a.text() == "New workspace…").trigger()
        (dlg,) = [d for d in w.findChildren(QDialog) if d.isVisible()]
        dlg.set_page(PAGE_JOIN)
        dlg.join_page.invite.setText(invite)
        dlg.join_page.user.setText(user)
        assert dlg.ok_button.isEnabled(), dlg.problem.text()
        dlg.ok_button.click()

    before = w.session
    join("bob")                                   # the same invite, the same user
    run.until(lambda: w.session not in (None, before) and w.is_connected
              and w.session.is_ready("/chat"), 30)
    assert [ws.id for ws in w.workspaces.saved()] == [first.id] and w.workspace.id == first.id
    join("carol")                                 # another user: a workspace of their own
    run.until(lambda: w.workspace.user == "carol" and w.is_connected, 30)
    assert w.workspace.name == "Design team (2)" and w.workspace.urls == [srv.url]
    assert len(w.workspaces.saved()) == 2


# -- sockdesk --join ---------------------------------------------------------------------------

def test_a_first_join_from_the_command_line_starts_in_general(
        tmp_path: Path, server_factory: Any, qapp: Any) -> None:
    from ui.main import App, parse_args

    _srv, invite = token_server_invite(server_factory)
    args = ["--join", invite, "--user", "bob", "--data-dir", str(tmp_path / "app")]
    first = App(parse_args(args))
    first.prepare()
    assert first.workspace is not None and first.workspaces is not None
    assert first.workspaces.take_new_team(first.workspace)      # new: into #general
    again = App(parse_args(args))
    again.prepare()
    assert again.workspace is not None and again.workspaces is not None
    assert again.workspace.id == first.workspace.id
    assert not again.workspaces.take_new_team(again.workspace)  # joined before: as it was


def test_join_saves_once_and_reopens_what_was_joined(tmp_path: Path, server_factory: Any,
                                                     qapp: Any) -> None:
    from ui.main import join_workspace, parse_args

    store = WorkspaceStore(tmp_path / "config", tmp_path / "data", secrets_backend=None)
    srv, invite = token_server_invite(server_factory)
    ws = join_workspace(parse_args(["--join", invite, "--user", "bob"]), store, False)
    assert ws is not None and store.get("Design team").id == ws.id
    assert (ws.urls, ws.user, ws.token, ws.server) == ([srv.url], "bob", "s3cret",
                                                      ServerKind.REMOTE)
    # the same invite again (a link clicked twice): the same workspace, not another
    again = join_workspace(parse_args(["--join", invite, "--user", "bob"]), store, False)
    assert again is not None and again.id == ws.id and len(store.saved()) == 1
    # without --user: the one joined before; a newer invite's token is taken over
    newer = Invite(url=srv.url, token="rotated", name="Design team").to_text()
    same = join_workspace(parse_args(["--join", newer]), store, False)
    assert same is not None and same.id == ws.id and store.get(ws.id).token == "rotated"
    # another user on the same server is another workspace, under a free name
    carol = join_workspace(parse_args(["--join", invite, "--user", "carol"]), store, False)
    assert carol is not None and carol.id != ws.id and carol.name == "Design team (2)"
    named = join_workspace(parse_args(["--join", invite, "--user", "dave", "--workspace",
                                       "Dave's view"]), store, False)
    assert named is not None and named.name == "Dave's view"
    with pytest.raises(WorkspaceError, match="exists already"):
        join_workspace(parse_args(["--join", invite, "--user", "erin", "--workspace",
                                   "Design team"]), store, False)
    # a new server and no --user: asked when somebody can be, a clear error otherwise
    other = Invite(url="http://127.0.0.1:9", token="t", name="Elsewhere").to_text()
    assert join_workspace(parse_args(["--join", other]), store, True) is None
    with pytest.raises(WorkspaceError, match="--join needs --user"):
        join_workspace(parse_args(["--join", other]), store, False)
    with pytest.raises(SystemExit):
        parse_args(["--join", invite, "--url", "http://127.0.0.1:9"])


def test_join_asks_the_name_on_the_join_page_when_interactive(
        run: Runner, no_signals: None, interactive: None, server_factory: Any,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from ui.main import App, parse_args
    from ui.widgets.new_workspace import PAGE_JOIN

    srv, invite = token_server_invite(server_factory)

    def fill(dlg: Any) -> None:
        assert dlg.page() == PAGE_JOIN and dlg.join_page.invite.text() == invite
        assert dlg.join_page.name.text() == "Class"       # --workspace names it
        dlg.join_page.user.setText("bob")

    opened = answer_new_workspace(monkeypatch, fill)

    async def go(app: Any) -> Any:
        main, w = await run_until_connected(app)
        ws = w.workspace
        app._quit()
        assert await main == 0
        return ws

    ws = run(go(App(parse_args(["--join", invite, "--workspace", "Class"]))), 60)
    assert (ws.name, ws.user, ws.urls) == ("Class", "bob", [srv.url]) and len(opened) == 1
    # the link clicked again: nothing asked, the same workspace opens
    again = run(go(App(parse_args(["--join", invite]))), 60)
    assert again.id == ws.id and len(opened) == 1


def test_a_bad_invite_is_a_clear_error(tmp_path: Path, qapp: Any,
                                       capsys: pytest.CaptureFixture[str],
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from PySide6.QtWidgets import QMessageBox

    from ui.main import App, main

    args = ["--data-dir", str(tmp_path / "data"), "--join", "https://example.org/join"]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.strip() == ("sockdesk: --join: This is not a SockDesk invite: it should "
                           "start with sockdesk://join?")
    assert not (tmp_path / "data" / "config" / "workspaces").exists()   # nothing saved
    # started from a desktop (a clicked link), the same sentence in a message box
    shown: list[str] = []
    monkeypatch.setattr(App, "_interactive", staticmethod(lambda: True))
    monkeypatch.setattr(QMessageBox, "critical",
                        staticmethod(lambda _parent, _title, text: shown.append(text)))
    assert main(args) == 2
    assert shown == ["--join: This is not a SockDesk invite: it should start with "
                     "sockdesk://join?"]
    # and without --user where nobody can be asked
    invite = Invite(url="http://127.0.0.1:9", token="t", name="X").to_text()
    monkeypatch.setattr(App, "_interactive", staticmethod(lambda: False))
    capsys.readouterr()
    assert main(["--data-dir", str(tmp_path / "data"), "--join", invite]) == 2
    assert "--join needs --user" in capsys.readouterr().err


# -- sockdesk --install-desktop-entry --------------------------------------------------------

@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="freedesktop entries")
def test_install_desktop_entry_writes_into_home_and_exits(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    tools = tmp_path / "no-tools"          # no xdg-mime: the default is written directly
    tools.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env.update(HOME=str(home), PATH=str(tools), QT_QPA_PLATFORM="offscreen",
               PYTHON_KEYRING_BACKEND=NO_KEYRING)
    proc = subprocess.run([sys.executable, "-m", "ui", "--install-desktop-entry"], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    entry = home / ".local/share/applications/sockdesk.desktop"
    icon = home / ".local/share/icons/hicolor/scalable/apps/sockdesk.svg"
    mimeapps = home / ".config/mimeapps.list"
    assert proc.stdout.splitlines()[1:] == [f"  {entry}", f"  {icon}", f"  {mimeapps}"]
    assert "--join %u" in entry.read_text()
    assert "x-scheme-handler/sockdesk=sockdesk.desktop" in mimeapps.read_text()
    assert not (home / ".local/share/sockdesk").exists()   # no window, no workspace
    assert proc.stderr == ""

    blocked = tmp_path / "blocked"
    blocked.mkdir()
    (blocked / ".local").write_text("a file where a folder should be")
    env["HOME"] = str(blocked)
    proc = subprocess.run([sys.executable, "-m", "ui", "--install-desktop-entry"], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("sockdesk: Cannot write ") and proc.stderr.count("\n") == 1


def test_a_lesson_runs_on_the_hosted_tls_server(run: Runner, host_window: Any) -> None:
    """A teacher hosts (TLS, a self-signed certificate the window pins) and plays a
    lesson: its simulated users reach the same server the same way."""
    from app.scenarios import BroadcastScenario

    w = host_window(hosted_workspace(free_port()))
    assert w.session.config.url.startswith("https://")
    tab = w.learn
    lesson = run(tab.start(BroadcastScenario), 30)
    assert lesson is not None
    run.until(lambda: tab.result.property("state") in ("passed", "failed"), 60)
    assert tab.result.property("state") == "passed", tab.result.text()
