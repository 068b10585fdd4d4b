"""Workspaces in the window: one shown at a time, each with its own outbox; the switcher,
start-up, a server that is not SockDesk's, and the Connection dialog that edits one.

Every server here is real and on 127.0.0.1: bundled servers as child processes, and a
small python-socketio server (no `welcome`) for the foreign one.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.config import ReconnectPolicy
from app.workspace import SOCKDESK_NAMESPACES, Workspace, WorkspaceStore, waiting_count
from tests.support import _readline_with_timeout, free_port
from tests.ui.conftest import Runner, until

pytestmark = pytest.mark.timeout(180)

FAST = ReconnectPolicy(delay=0.1, delay_max=0.5)
#: nothing listens on the discard port: connecting is refused at once
NOWHERE = "http://127.0.0.1:9"


# -- helpers ---------------------------------------------------------------------------------------

def make_store(tmp_path: Path) -> WorkspaceStore:
    return WorkspaceStore(tmp_path / "config", tmp_path / "data", secrets_backend=None)


def workspace(name: str, url: str, **fields: Any) -> Workspace:
    fields.setdefault("namespaces", list(SOCKDESK_NAMESPACES))
    fields.setdefault("reconnect", ReconnectPolicy(**vars(FAST)))
    return Workspace(name=name, urls=[url], user=fields.pop("user", "alice"), **fields)


@pytest.fixture
def window_on(run: Runner, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """A main window on a shared Workspaces registry over a store in tmp_path."""
    from ui.window import MainWindow
    from ui.workspaces import Workspaces

    made: list[Any] = []

    def make(store: WorkspaceStore, first: Workspace) -> Any:
        w = MainWindow(first, store.data_root, key="workspaces-test",
                       workspaces=Workspaces(store))
        w.resize(1100, 700)
        w.show()
        made.append(w)
        return w

    yield make
    for w in made:
        run(w.shutdown())
        w.deleteLater()


def texts(window: Any, room: str = "general") -> dict[str, str | None]:
    model = window.conversations.conversation("room", room)
    model.flush()
    return {i.text: i.state for i in model.messages()}


def choose(window: Any, name: str) -> None:
    """Pick a workspace in the switcher menu, as a user does."""
    window.workspace_menu.rebuild()
    action = next(a for a in window.workspace_menu.workspace_actions()
                  if a.text().startswith(name))
    action.trigger()


async def claim_name(url: str, user: str) -> None:
    """Claim ``user`` on the server at ``url`` with a key of somebody else's."""
    import socketio

    client = socketio.AsyncClient()
    await client.connect(url, namespaces=["/chat"], transports=["websocket"],
                         auth={"user": user, "key": "k" * 32}, wait_timeout=10)
    await client.disconnect()


async def room_history(url: str, room: str = "general") -> list[tuple[str, str]]:
    """(user, text) of every message a bundled server keeps for ``room``."""
    import socketio

    client = socketio.AsyncClient()
    await client.connect(url, namespaces=["/chat"], auth={"user": "checker"},
                         transports=["websocket"], wait_timeout=10)
    try:
        ack = await client.call("history", {"room": room}, namespace="/chat", timeout=10)
    finally:
        await client.disconnect()
    return [(m["user"], m["text"]) for m in ack["messages"]]


# -- one workspace, one outbox -------------------------------------------------------------------

def test_messages_reach_only_the_server_of_the_workspace_they_were_written_in(
        run: Runner, server_factory: Any, tmp_path: Path, window_on: Any) -> None:
    srv_a = server_factory()
    url_a = srv_a.url
    srv_a.stop()                                       # A's server is down
    srv_b = server_factory()
    store = make_store(tmp_path)
    ws_a = workspace("Team A", url_a)
    ws_b = workspace("Team B", srv_b.url)
    store.save(ws_a)
    store.save(ws_b)

    w = window_on(store, ws_a)
    w.spawn(w.open_workspace(ws_a))
    run.until(lambda: w._state == "reconnecting", 20)
    run(w.conversations.join_room("general"))          # remembered while offline
    w.conversations.send_chat("room", "general", "for A only")
    assert texts(w) == {"for A only": "queued"}
    assert w.bar.depth_text == "Outbox 1"
    assert w.windowTitle().endswith("SockDesk — Team A")  # after the conversation shown
    w.workspace_menu.rebuild()
    assert w.workspace_menu.lines() == ["Team A — 1 waiting, server unreachable", "Team B"]

    choose(w, "Team B")
    run.until(lambda: w.workspace.id == ws_b.id and w._state == "connected"
              and w.session.is_ready("/chat"), 20)
    assert w.windowTitle().endswith("SockDesk — Team B")  # after the conversation shown
    assert w.sidebar_model.keys("room") == [] and w.bar.depth_text == "Outbox 0"
    run(w.conversations.join_room("general"))
    w.conversations.show_conversation("room", "general")
    w.conversations.send_chat("room", "general", "for B only")
    run.until(lambda: texts(w).get("for B only") == "acked", 20)
    assert "for A only" not in texts(w)                 # A's conversation is not in view
    assert waiting_count(store.data_dir(ws_a)) == 1     # still waiting, on disk, for A
    w.workspace_menu.rebuild()
    assert w.workspace_menu.lines() == ["Team A — 1 waiting, server unreachable",
                                        "Team B — connected"]

    srv_a.restart()                                    # same port, same database
    choose(w, "Team A")
    run.until(lambda: w.workspace.id == ws_a.id and w._state == "connected", 20)
    assert w.windowTitle().endswith("SockDesk — Team A")  # after the conversation shown
    assert w.sidebar_model.keys("room") == ["general"]
    run.until(lambda: texts(w).get("for A only") == "acked", 20)
    w.workspace_menu.rebuild()      # B is closed now: no longer "connected"
    assert w.workspace_menu.lines()[1] == "Team B — offline"
    run.until(lambda: w.bar.depth_text == "Outbox 0")
    assert "for B only" not in texts(w)

    assert run(room_history(srv_a.url)) == [("alice", "for A only")]
    assert run(room_history(srv_b.url)) == [("alice", "for B only")]


def test_the_switcher_counts_what_waits_and_switching_swaps_the_whole_view(
        run: Runner, tmp_path: Path, window_on: Any) -> None:
    store = make_store(tmp_path)
    ws_a = workspace("Alpha", NOWHERE)
    ws_b = workspace("Beta", "http://127.0.0.1:10")
    store.save(ws_a)
    store.save(ws_b)
    w = window_on(store, ws_a)
    run(w.open_workspace(ws_a))
    run(w.conversations.join_room("alpha-room"))
    for text in ("one", "two"):
        w.conversations.send_chat("room", "alpha-room", text)
    run.until(lambda: w.bar.depth_text == "Outbox 2")
    w.packets.flush()
    assert w.events.model is w.packets
    learn = w.learn  # a lesson's outcome on Alpha's server
    learn._set_result("failed", "✗ alice could not connect to Alpha")

    choose(w, "Beta")
    run.until(lambda: w.workspace.id == ws_b.id and w.session is not None)
    run.until(lambda: learn.result.property("state") == "idle")  # not shown on Beta
    assert w.windowTitle().endswith("SockDesk — Beta")  # after the conversation shown
    assert w.bar.workspace_button.text() == "Beta"
    assert w.bar.depth_text == "Outbox 0"
    assert w.sidebar_model.keys("room") == []
    assert w.chat.kind == "" and w.chat.members.online() == []
    run(w.conversations.join_room("beta-room"))
    w.conversations.send_chat("room", "beta-room", "three")
    run.until(lambda: w.bar.depth_text == "Outbox 1")
    assert w.sidebar_model.keys("room") == ["beta-room"]
    w.workspace_menu.rebuild()
    lines = w.workspace_menu.lines()
    assert lines[0].startswith("Alpha — 2 waiting") and lines[1].startswith("Beta — 1 waiting")
    assert [a.isChecked() for a in w.workspace_menu.workspace_actions()] == [False, True]
    assert w.bar.workspace_button.menu() is w.workspace_menu

    choose(w, "Alpha")
    run.until(lambda: w.workspace.id == ws_a.id and w.bar.depth_text == "Outbox 2")
    assert w.sidebar_model.keys("room") == ["alpha-room"]
    assert set(texts(w, "alpha-room")) == {"one", "two"}
    assert store.last_id() == ws_a.id                  # what the next start reopens


# -- start-up ----------------------------------------------------------------------------------

@pytest.fixture
def no_signals(monkeypatch: pytest.MonkeyPatch) -> None:
    from ui.main import App

    monkeypatch.setattr(App, "_install_signal_handlers", lambda _self: None)  # pytest's own


def test_a_restart_reopens_the_last_workspace_connected_with_nothing_typed(
        run: Runner, server_factory: Any, no_signals: None, tmp_path: Path) -> None:
    from ui.main import App, parse_args

    srv = server_factory("--token", "s3cret")
    first = App(parse_args([
        "--url", srv.url, "--path", "/socket.io/", "--namespaces", "/chat,/",
        "--auth", '{"team": "blue"}', "--header", "X-Team: blue", "--query", "v=2",
        "--user", "alice", "--token", "s3cret"]))

    async def open_then_quit(app: Any) -> tuple[int, Any]:
        main = asyncio.ensure_future(app.run())
        await until(lambda: bool(app.windows) and app.windows[0].is_connected, 30)
        w = app.windows[0]
        await until(lambda: w.session.is_ready("/chat"), 10)
        snapshot = (w.workspace.id, w.windowTitle(), w.session.config,
                    w.chat.editor.toPlainText(), app.workspaces.servers())
        app._quit()
        return await main, snapshot

    rc, (ws_id, title, cfg, _typed, servers) = run(open_then_quit(first), 60)
    assert rc == 0 and servers == []                   # nothing of ours was started
    host = srv.url.split("//", 1)[1]
    assert title == f"SockDesk — {host}"
    assert cfg.auth_payload()["team"] == "blue" and cfg.headers == {"X-Team": "blue"}

    again = App(parse_args([]))                        # no arguments at all
    rc, (ws_id2, title2, cfg2, typed2, servers2) = run(open_then_quit(again), 60)
    assert rc == 0 and ws_id2 == ws_id and title2 == title and servers2 == []
    assert typed2 == ""
    assert cfg2.url == srv.url and cfg2.namespaces == ["/chat", "/"]
    assert cfg2.socketio_path == "socket.io" and cfg2.query == {"v": "2"}
    assert cfg2.headers == {"X-Team": "blue"} and cfg2.token == "s3cret"
    assert cfg2.auth_payload()["team"] == "blue" and cfg2.user == "alice"


def test_start_up_choices(tmp_path: Path, qapp: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from app.outbox import Outbox
    from app.store import MessageStore
    from app.workspace import WorkspaceError
    from ui.main import choose_workspace, main, parse_args

    store = make_store(tmp_path)
    assert choose_workspace(parse_args([]), store) is None            # the first run
    ws = choose_workspace(parse_args(["--url", "http://127.0.0.1:4000", "--user", "zed"]),
                          store)
    assert ws is not None and ws.name == "127.0.0.1:4000"
    assert ws.namespaces == [] and ws.connection_config().namespaces == []  # `/`, then more
    assert ws.key and store.get("127.0.0.1:4000").user == "zed"
    named = choose_workspace(parse_args(["--url", "http://127.0.0.1:4001",
                                         "--workspace", "Orders", "--namespaces", "/orders",
                                         "--transport", "polling", "--parser", "msgpack"]),
                             store)
    assert named is not None and named.namespaces == ["/orders"]
    assert named.transports == ["polling"] and named.parser == "msgpack"
    assert store.get("Orders").connection_config().parser == "msgpack"
    assert choose_workspace(parse_args(["--workspace", "orders"]), store).id == named.id

    with pytest.raises(WorkspaceError, match=r"'Nope'.*127\.0\.0\.1:4000, Orders"):
        choose_workspace(parse_args(["--workspace", "Nope"]), store)
    args = ["--data-dir", str(tmp_path / "cli"), "--workspace", "Nope"]
    assert main(args) == 2
    assert "no workspace named 'Nope'" in capsys.readouterr().err

    # messages wait for Orders' server: --url does not move them elsewhere silently
    outbox_store = MessageStore.open(store.data_dir(named))
    Outbox(outbox_store).enqueue("/orders", "order", {"n": 1})
    outbox_store.close()
    with pytest.raises(WorkspaceError, match="1 message"):
        choose_workspace(parse_args(["--url", "http://127.0.0.1:4002", "--workspace",
                                     "Orders"]), store)
    assert store.get("Orders").urls == ["http://127.0.0.1:4001"]


def test_old_settings_become_workspaces_once(tmp_path: Path, qapp: Any) -> None:
    from app.workspace import ServerKind
    from ui.settings import Settings
    from ui.workspaces import FIRST_RUN_NAME, migrate_settings

    old_root = tmp_path / "old"
    (old_root / "profiles" / "zoe@bundled").mkdir(parents=True)
    (old_root / "profiles" / "zoe@bundled" / "sockdesk.db").write_bytes(b"old outbox")
    (old_root / "server.db").write_bytes(b"old server")
    settings = Settings()
    settings.user = "zoe"
    settings.remember_connection({"url": "http://127.0.0.1:5123", "user": "zoe"})
    settings.remember_connection({"url": "https://chat.example:8443", "user": "zoe"})
    store = make_store(tmp_path)
    migrate_settings(store, settings, old_root)
    saved = {w.name: w for w in store.saved()}
    assert set(saved) == {FIRST_RUN_NAME, "chat.example:8443"}
    private = saved[FIRST_RUN_NAME]
    assert private.server == ServerKind.PRIVATE and private.user == "zoe"
    assert (store.data_dir(private) / "sockdesk.db").read_bytes() == b"old outbox"
    from ui.hosting import server_db

    assert server_db(store.data_dir(private)).read_bytes() == b"old server"
    assert saved["chat.example:8443"].namespaces == []
    assert store.last_id() == private.id
    store.delete(saved["chat.example:8443"])
    migrate_settings(store, settings, old_root)        # once only
    assert [w.name for w in store.saved()] == [FIRST_RUN_NAME]


# -- a server that is not SockDesk's -----------------------------------------------------------

FOREIGN_SERVER = textwrap.dedent('''
    import sys
    import socketio
    from aiohttp import web

    sio = socketio.AsyncServer(async_mode="aiohttp", namespaces="*")
    app = web.Application()
    sio.attach(app)
    attempts = {"/admin": 0}

    @sio.on("connect", namespace="*")
    async def connect(namespace, sid, environ, auth=None):
        if namespace == "/admin":
            attempts["/admin"] += 1
            print(f"admin attempt {attempts['/admin']}", flush=True)
            if attempts["/admin"] == 1:
                raise socketio.exceptions.ConnectionRefusedError(
                    "admins only", {"need": "role=admin"})

    @sio.on("ping", namespace="*")
    async def ping(namespace, sid, data=None):
        return {"pong": data}

    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=lambda *_a: print(
        "Listening", flush=True))
''')


@pytest.fixture
def foreign_server(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    """A plain python-socketio server: every namespace but /admin (refused once, with
    `err.data`), no `welcome`, no rooms."""
    script = tmp_path / "foreign.py"
    script.write_text(FOREIGN_SERVER)
    port = free_port()
    proc = subprocess.Popen([sys.executable, str(script), str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        line = _readline_with_timeout(proc, 20)
        assert line.startswith("Listening"), line
        yield f"http://127.0.0.1:{port}", proc
    finally:
        proc.kill()
        proc.wait(10)


def test_a_foreign_server_opens_on_events_with_chat_off(
        run: Runner, tmp_path: Path, window_on: Any,
        foreign_server: tuple[str, Any]) -> None:
    from ui.workspace_lifecycle import NOT_SOCKDESK

    url, _proc = foreign_server
    store = make_store(tmp_path)
    ws = workspace("Orders API", url, namespaces=[])   # as --url makes it: `/` only
    store.save(ws)
    w = window_on(store, ws)
    run(w.open_workspace(ws))
    run.until(lambda: w.is_connected and w.foreign is True, 15)
    assert w.tabs.currentWidget() is w.events
    # (isVisibleTo: the offscreen screen is 800 px wide, where the sidebar folds away)
    assert w.sidebar.notice.isVisibleTo(w.sidebar) and w.sidebar.notice.text() == NOT_SOCKDESK
    assert not w.sidebar.entry.isEnabled() and not w.chat.editor.isEnabled()
    assert w.chat.subtitle.text() == NOT_SOCKDESK
    assert w.sidebar_model.keys("namespace") == ["/"]   # no /chat, /queue on this server
    w.conversations.send_chat("room", "general", "nope")
    assert w.bar.depth_text == "Outbox 0" and NOT_SOCKDESK in w.error_label.text()
    w.packets.flush()
    assert w.packets.rowCount() > 0                      # its traffic is in Events
    w.workspace_menu.rebuild()
    assert w.workspace_menu.lines() == ["Orders API — connected"]


def test_a_refused_namespace_shows_its_own_error_while_the_others_work(
        run: Runner, tmp_path: Path, window_on: Any,
        foreign_server: tuple[str, Any]) -> None:
    url, proc = foreign_server
    store = make_store(tmp_path)
    # a long back-off: only Retry asks for /admin again within the test
    ws = workspace("Orders API", url, namespaces=["/", "/admin"],
                   reconnect=ReconnectPolicy(delay=60, delay_max=60))
    store.save(ws)
    w = window_on(store, ws)
    run(w.open_workspace(ws))
    run.until(lambda: w.sidebar.namespace_error("/admin") is not None, 15)
    error = w.sidebar.namespace_error("/admin")
    assert "/admin" in error and "admins only" in error and '"need":"role=admin"' in \
        error.replace(" ", "")
    assert w.sidebar.namespace_error("/") is None
    assert w.is_connected and w.session.is_ready("/")
    run.until(lambda: w.foreign is True)
    assert w.sidebar.ns_errors.isVisibleTo(w.sidebar)

    w.sidebar.retry_button("/admin").click()           # the second attempt is let in
    run.until(lambda: w.session.is_ready("/admin"), 10)
    assert w.sidebar.namespace_error("/admin") is None
    assert not w.sidebar.ns_errors.isVisibleTo(w.sidebar)
    assert proc.stdout.readline().strip() == "admin attempt 1"
    assert proc.stdout.readline().strip() == "admin attempt 2"


# -- "no ack" --------------------------------------------------------------------------------------

def test_a_no_ack_message_can_be_sent_again_from_the_chat_and_the_queues_tab(
        run: Runner, tmp_path: Path, window_on: Any) -> None:
    from app.outbox import OutboxState
    from ui.models.chat import StateRole

    store = make_store(tmp_path)
    ws = workspace("Nowhere", NOWHERE)
    store.save(ws)
    w = window_on(store, ws)
    run(w.open_workspace(ws))
    run(w.conversations.join_room("general"))
    w.conversations.show_conversation("room", "general")
    session = w.session
    msgs = []
    for text in ("maybe arrived", "maybe too"):
        w.conversations.send_chat("room", "general", text)
        msgs.append(session.outbox.get(
            next(k for k, v in w.conversations._own_ids.items() if k not in
                 {m.id for m in msgs})))
    # what the flusher does when a message was written once and its ack never came
    for m in msgs:
        session.outbox.mark_sent([m])
        session.outbox.settle(m, OutboxState.NO_ACK, error="no ack within 10 s")
    session.outbox.write_pending_acks()
    run.until(lambda: texts(w) == {"maybe arrived": "no_ack", "maybe too": "no_ack"})
    run.until(lambda: w.bar.depth_text == "Outbox 0")  # not waiting: done, unconfirmed

    model = w.conversations.conversation("room", "general")
    row = next(r for r in range(model.rowCount())
               if model.index(r).data(StateRole) == "no_ack")
    menu = w.chat.view.message_menu(model.index(row))
    actions = {a.text(): a for a in menu.actions()}
    assert "Send again" in actions and "Retry sending" not in actions
    actions["Send again"].trigger()
    run.until(lambda: list(texts(w).values()).count("queued") == 1)
    assert session.outbox.get(msgs[0].id).state == OutboxState.QUEUED

    tab = w.queues
    w.tabs.setCurrentWidget(tab)
    run.until(lambda: tab.select_queue("outbox:/chat"))
    run.until(lambda: tab.message_model.rowCount() == 2)
    n = next(i for i in range(2) if tab.message_model.row_at(i).state == "no_ack")
    assert "no ack" in tab.message_model.row_at(n).cells[-1]
    tab.select_rows([n])
    assert tab.retry_button.isEnabled() and tab.retry_button.text() == "Send again"
    tab.retry_button.click()
    run.until(lambda: session.outbox.get(msgs[1].id).state == OutboxState.QUEUED)
    run.until(lambda: list(texts(w).values()) == ["queued", "queued"])


# -- the Connection dialog ---------------------------------------------------------------------

def test_the_connection_dialog_round_trips_every_field_through_the_store(
        run: Runner, tmp_path: Path, window_on: Any) -> None:
    from app.workspace import Delivery

    store = make_store(tmp_path)
    ws = workspace("Dev", NOWHERE)
    store.save(ws)
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    w = window_on(store, ws)
    run(w.open_workspace(ws))
    dlg = w.open_connection_dialog()
    assert store.secrets_where in dlg.secrets_label.text()
    dlg.name.setText("Orders API")
    dlg.urls.setPlainText(f"{NOWHERE}\nhttp://127.0.0.1:10")
    dlg.path.setText("/realtime/socket.io")
    dlg.namespaces.setText("/, orders")
    dlg.user.setText("dev")
    dlg.token.setText("tok-1")
    dlg.auth.set_text('{"role": "admin", "password": "p4ss"}')
    dlg.set_secret("password", True)
    dlg.headers.set_text('{"X-Env": "staging"}')
    dlg.query.setVisible(True)
    dlg.query.set_text('{"v": "2"}')
    dlg.websocket.setChecked(False)
    dlg.delay.setValue(1.5)
    dlg.delay_max.setValue(30)
    dlg.attempts.setValue(7)
    dlg.ack_timeout.setValue(3.5)
    dlg.delivery.setCurrentIndex(dlg.delivery.findData("once"))
    assert "no ack" in dlg.delivery_hint.text()
    dlg.parser.setCurrentIndex(dlg.parser.findData("msgpack"))
    dlg.verify.setChecked(False)
    dlg.ca_file.setText(str(ca))
    dlg.fingerprint.setText(("AB:" * 32)[:-1])
    assert dlg.validate(), dlg.error.text()
    dlg.accept()
    run.until(lambda: w.workspace.name == "Orders API" and w.session is not None)

    again = make_store(tmp_path).get("orders api")    # from the file on disk
    assert again.id == ws.id                           # same workspace: same outbox
    assert again.urls == [NOWHERE, "http://127.0.0.1:10"]
    assert again.path == "/realtime/socket.io" and again.namespaces == ["/", "/orders"]
    assert (again.user, again.token) == ("dev", "tok-1")
    assert again.auth == {"role": "admin", "password": "p4ss"}
    assert again.secret_auth == ["password"]
    assert again.headers == {"X-Env": "staging"} and again.query == {"v": "2"}
    assert again.transports == ["polling"]
    assert (again.reconnect.delay, again.reconnect.delay_max, again.reconnect.attempts) == \
        (1.5, 30, 7)
    assert again.ack_timeout == 3.5 and again.delivery == Delivery.ONCE
    assert again.parser == "msgpack"
    assert (again.tls.verify, again.tls.ca_file, again.tls.fingerprint) == \
        (False, str(ca), "ab" * 32)
    assert w.windowTitle().endswith("SockDesk — Orders API")  # after the conversation shown
    raw = json.loads((store.folder / f"{ws.id}.json").read_text())
    assert "p4ss" not in json.dumps(raw["auth"])        # the secret field is kept apart

    # and back: every field shows what is saved
    dlg2 = w.open_connection_dialog()
    assert dlg2.workspace() == again
    dlg2.reject()


def test_changing_the_url_asks_where_waiting_messages_go(
        run: Runner, server_factory: Any, tmp_path: Path, window_on: Any) -> None:
    from PySide6.QtWidgets import QMessageBox

    srv_b = server_factory()
    # another server for the second choice: the first made a workspace that claimed
    # alice's name on B with its own key
    srv_c = server_factory()
    store = make_store(tmp_path)
    ws = workspace("Team", NOWHERE)
    store.save(ws)
    w = window_on(store, ws)
    run(w.open_workspace(ws))
    run(w.conversations.join_room("general"))
    for text in ("first", "second", "third"):
        w.conversations.send_chat("room", "general", text)
    run.until(lambda: w.bar.depth_text == "Outbox 3")

    def ask(url: str) -> QMessageBox:
        dlg = w.open_connection_dialog()
        dlg.urls.setPlainText(url)
        dlg.accept()
        run.until(lambda: w.where_box is not None and w.where_box.isVisible())
        assert isinstance(w.where_box, QMessageBox)
        return w.where_box

    def button(box: QMessageBox, starts: str) -> Any:
        return next(b for b in box.buttons() if b.text().startswith(starts))

    # Keep them for A: the workspace stays, a new one is made for B
    box = ask(srv_b.url)
    assert box.text() == f"3 messages wait for {NOWHERE}. Send them to {srv_b.url} instead?"
    button(box, "Keep them for").click()
    run.until(lambda: w.workspace.id != ws.id and w.is_connected, 20)
    assert store.get("Team").urls == [NOWHERE]
    assert waiting_count(store.data_dir(ws)) == 3
    made = w.workspace
    assert made.urls == [srv_b.url] and made.name == f"Team ({srv_b.url.split('//')[1]})"
    assert w.bar.depth_text == "Outbox 0"

    # Send them to C: the same workspace (and outbox) now points at C, and they arrive
    choose(w, "Team —")
    run.until(lambda: w.workspace.id == ws.id and w.bar.depth_text == "Outbox 3")
    box = ask(srv_c.url)
    button(box, "Send them to").click()
    run.until(lambda: w.workspace.urls == [srv_c.url] and w.is_connected, 20)
    assert w.workspace.id == ws.id and store.get("Team").urls == [srv_c.url]
    run.until(lambda: w.bar.depth_text == "Outbox 0", 20)
    assert [t for _u, t in run(room_history(srv_c.url))] == ["first", "second", "third"]
    assert run(room_history(srv_b.url)) == []

    # without waiting messages nothing is asked
    dlg = w.open_connection_dialog()
    dlg.urls.setPlainText(NOWHERE)
    dlg.accept()
    run.until(lambda: store.get("Team").urls == [NOWHERE])
    assert w.where_box is None


def test_the_switcher_names_the_user_of_workspaces_on_one_server(
        tmp_path: Path, window_on: Any) -> None:
    """Two workspaces on one server as two people read alike ("Team Alpha — offline",
    "Team Alpha (2) — offline", seen by a reviewer): those say who they connect as."""
    store = make_store(tmp_path)
    mine = workspace("Team Alpha", NOWHERE, user="bob")
    store.save(mine)
    store.save(workspace("Team Alpha (2)", NOWHERE, user="alice"))
    store.save(workspace("Other", "http://127.0.0.1:8", user="bob"))
    w = window_on(store, mine)
    w.workspace_menu.rebuild()
    lines = w.workspace_menu.lines()
    assert sorted(line.split(",")[0] for line in lines) == [
        "Other", "Team Alpha (2) — as alice", "Team Alpha — as bob"]


def test_deleting_a_workspace_asks_then_shows_another_and_keeps_its_files(
        run: Runner, server_factory: Any, tmp_path: Path, window_on: Any) -> None:
    from PySide6.QtWidgets import QMessageBox

    srv = server_factory()
    store = make_store(tmp_path)
    gone = workspace("Team Alpha (2)", NOWHERE)
    kept = workspace("Team Alpha", srv.url, user="bob")
    store.save(gone)
    store.save(kept)
    w = window_on(store, gone)
    run(w.open_workspace(gone))
    run(w.conversations.join_room("general"))
    w.conversations.send_chat("room", "general", "never sent")
    run.until(lambda: w.bar.depth_text == "Outbox 1")
    folder = store.data_dir(gone)

    def delete_action() -> Any:
        w.workspace_menu.rebuild()
        return next(a for a in w.workspace_menu.actions()
                    if a.text() == "Delete this workspace…")

    delete_action().trigger()
    box = w.where_box
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert box.text() == "Delete the workspace 'Team Alpha (2)'?"
    assert "1 message waiting in its outbox will not be sent" in box.informativeText()
    assert str(folder) in box.informativeText()
    box.reject()                                          # Cancel: nothing happens
    assert store.find(gone.id) is not None and w.workspace.id == gone.id

    delete_action().trigger()
    next(b for b in w.where_box.buttons() if b.text() == "Delete workspace").click()
    run.until(lambda: store.find(gone.id) is None and w.workspace.id == kept.id
              and w.is_connected, 20)
    assert folder.is_dir() and waiting_count(folder) == 1  # its files stay on disk
    w.workspace_menu.rebuild()
    assert [line.split(" — ")[0] for line in w.workspace_menu.lines()] == ["Team Alpha"]

    delete_action().trigger()                             # the only one left: kept
    run.until(lambda: any("your only workspace" in b.text()
                          for b in w.findChildren(QMessageBox) if b.isVisible()))
    assert store.find(kept.id) is not None


def test_a_taken_new_name_leaves_you_as_you_were_and_connected(
        run: Runner, server_factory: Any, tmp_path: Path, window_on: Any) -> None:
    """Slack refuses a taken name and you stay who you were; a reviewer who tried one
    was left offline under it."""
    srv = server_factory()

    run(claim_name(srv.url, "alice"))
    store = make_store(tmp_path)
    ws = workspace("Team", srv.url, user="bob")
    store.save(ws)
    w = window_on(store, ws)
    run(w.open_workspace(ws))
    run.until(lambda: w.is_connected)
    errors: list[str] = []
    w.show_error = errors.append
    w.bar.user.setText("Alice")                    # somebody else's, in another case
    w.bar.user.returnPressed.emit()
    run.until(lambda: bool(errors) and w.is_connected, 20)
    assert errors[-1] == "The name Alice is taken on this server: you are still bob"
    assert w.user == "bob" and store.get("Team").user == "bob"
    assert w.bar.user.text() == "bob"


def test_a_new_name_keeps_the_conversation_shown(
        run: Runner, server_factory: Any, tmp_path: Path, window_on: Any) -> None:
    """A reviewer renamed themselves in #general and landed in #random."""
    srv = server_factory()
    store = make_store(tmp_path)
    ws = workspace("Team", srv.url)
    store.save(ws)
    w = window_on(store, ws)
    run(w.open_workspace(ws))
    for room in ("general", "random"):
        run(w.conversations.join_room(room))
    w.conversations.show_conversation("room", "general")
    w.bar.user.setText("alicia")
    w.bar.user.returnPressed.emit()
    run.until(lambda: w.is_connected and w.user == "alicia" and w.session.is_ready("/chat"),
              20)
    run.until(lambda: w.sidebar_model.keys("room") == ["general", "random"])
    assert (w.chat.kind, w.chat.target) == ("room", "general")


def test_a_new_name_asks_before_waiting_messages_go_out_under_it(
        run: Runner, server_factory: Any, tmp_path: Path, window_on: Any) -> None:
    """Written as alice while offline, then the name in the bar changed to carol: the
    messages go out as carol only when the user says so; "Stay alice" changes nothing."""
    from PySide6.QtWidgets import QMessageBox

    srv = server_factory()
    store = make_store(tmp_path)
    ws = workspace("Team", srv.url)
    store.save(ws)
    w = window_on(store, ws)
    run(w.open_workspace(ws))
    run(w.conversations.join_room("general"))
    w.on_disconnect_clicked()
    run.until(lambda: not w.is_connected)
    for text in ("one", "two"):
        w.conversations.send_chat("room", "general", text)
    run.until(lambda: w.bar.depth_text == "Outbox 2")

    def ask(name: str) -> QMessageBox:
        w.bar.user.setText(name)
        w.on_connect_clicked()
        run.until(lambda: w.where_box is not None and w.where_box.isVisible())
        assert isinstance(w.where_box, QMessageBox)
        return w.where_box

    box = ask("carol")
    assert box.text() == "2 messages written as alice wait in the outbox. Send them as carol?"
    stay = next(b for b in box.buttons() if b.text() == "Stay alice")
    assert box.defaultButton() is stay
    stay.click()
    run.until(lambda: w.where_box is None)
    assert w.bar.user.text() == "alice" and store.get("Team").user == "alice"
    assert not w.is_connected and w.bar.depth_text == "Outbox 2"
    assert run(room_history(srv.url)) == []             # nothing went out meanwhile

    box = ask("carol")
    next(b for b in box.buttons() if b.text() == "Send them as carol").click()
    run.until(lambda: w.is_connected and w.bar.depth_text == "Outbox 0", 20)
    assert store.get("Team").user == "carol"
    assert run(room_history(srv.url)) == [("carol", "one"), ("carol", "two")]


def test_a_taken_name_says_what_to_do_and_enter_in_the_bar_connects_as_another(
        run: Runner, server_factory: Any, tmp_path: Path, window_on: Any) -> None:
    from ui.chat_presence import name_taken_banner

    srv = server_factory()

    run(claim_name(srv.url, "alice"))                                 # somebody else's name now
    store = make_store(tmp_path)
    ws = workspace("Team", srv.url)
    store.save(ws)
    w = window_on(store, ws)
    w.spawn(w.open_workspace(ws))
    run.until(lambda: w.chat.banner.text() == name_taken_banner("alice"), 20)
    assert not w.chat.banner.isHidden()
    assert "type another name in the bar" in w.chat.banner.text()
    w.bar.user.setText("bob")
    w.bar.user.returnPressed.emit()                     # Enter, as a user presses it
    run.until(lambda: w.is_connected and w.user == "bob", 20)
    assert store.get("Team").user == "bob"


# -- the server SockDesk runs ------------------------------------------------------------------

def test_a_private_workspace_starts_its_own_server_only_when_opened(
        run: Runner, tmp_path: Path) -> None:
    from ui.hosting import server_db
    from ui.workspaces import Workspaces, private_workspace

    store = make_store(tmp_path)
    ws = private_workspace("alice")
    store.save(ws)
    shared = Workspaces(store)
    assert shared.server(ws) is None                   # nothing runs before it is opened
    try:
        url, again = run(asyncio.gather(shared.server_url(ws), shared.server_url(ws)))
        assert url == again and url.startswith("http://127.0.0.1:")  # one start, shared
        srv = shared.server(ws)
        assert srv is not None and srv.running and len(shared.servers()) == 1
        assert srv.db == server_db(store.data_dir(ws))  # in the workspace's own folder
        assert run(shared.server_url(ws)) == url
    finally:
        run(shared.stop_servers())
    assert not srv.running


def test_quit_is_in_the_workspace_menu_with_its_shortcut(qtbot):
    from PySide6.QtGui import QKeySequence

    from ui.widgets.switcher import WorkspaceMenu

    menu = WorkspaceMenu(lambda: [])
    qtbot.addWidget(menu)
    menu.rebuild()
    quit_action = next(a for a in menu.actions() if a.text() == "Quit")
    assert quit_action.shortcut() == QKeySequence("Ctrl+Q")
    with qtbot.waitSignal(menu.quit_requested, timeout=1000):
        quit_action.trigger()
