"""Start-up, dialogs, settings, theme: the application around the tabs."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QPalette

from tests.support import REPO, wait_for
from tests.ui.conftest import connect

NO_KEYRING = "keyring.backends.fail.Keyring"


def run_gui(*args: str, tmp_path: Path, timeout: float = 90) -> subprocess.CompletedProcess:
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
               SOCKDESK_SETTINGS_DIR=str(tmp_path / "gui-settings"),
               PYTHON_KEYRING_BACKEND=NO_KEYRING)
    env.pop("SOCKDESK_DATA_DIR", None)
    return subprocess.run([sys.executable, "-m", "ui", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_screenshot_writes_a_png_and_exits_cleanly(tmp_path):
    out = tmp_path / "shot.png"
    data = tmp_path / "data"
    proc = run_gui("--screenshot", str(out), "--data-dir", str(data), tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 10_000
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Traceback" not in proc.stderr and "Warning" not in proc.stderr, proc.stderr
    assert proc.stderr.strip() == ""
    # the first run made a private workspace; its server and its outbox live in its folder
    from app.workspace import ServerKind, WorkspaceStore

    (ws,) = WorkspaceStore(data / "config", data, secrets_backend=None).saved()
    assert (ws.name, ws.server, ws.user) == ("On this computer", ServerKind.PRIVATE, "alice")
    from ui.hosting import server_db

    assert server_db(data / "workspaces" / ws.id).exists()
    assert (data / "workspaces" / ws.id / "sockdesk.db").exists()


def test_several_clients_in_one_process(tmp_path):
    out = tmp_path / "multi.png"
    data = tmp_path / "data"
    proc = run_gui("--clients", "2", "--screenshot", str(out), "--data-dir", str(data),
                   tmp_path=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert out.stat().st_size > 10_000
    # one workspace, one server; one core data dir per user inside the workspace's
    from ui.hosting import server_db

    (folder,) = (data / "workspaces").iterdir()
    assert server_db(folder).exists()
    assert (folder / "clients" / "alice" / "sockdesk.db").exists()
    assert (folder / "clients" / "bob" / "sockdesk.db").exists()


def test_arguments_and_client_names():
    from ui.main import client_names, parse_args

    assert client_names(4) == ["alice", "bob", "carol", "dave"]
    assert len(set(client_names(40))) == 40
    args = parse_args(["--url", "http://h:1", "--user", "zed", "--token", "t"])
    assert (args.url, args.user, args.token, args.clients) == ("http://h:1", "zed", "t", 1)
    with pytest.raises(SystemExit):
        parse_args(["--clients", "0"])
    with pytest.raises(SystemExit):
        parse_args(["--user", "bad name!"])
    args = parse_args(["--url", "https://h:2", "--path", "/rt/socket.io", "--namespaces",
                       "/,orders", "--auth", '{"role": "admin"}', "--header", "X-A: 1",
                       "--header", "X-B:two", "--query", "v=2", "--transport", "websocket",
                       "--fingerprint", ("AB:" * 32)[:-1]])
    assert args.auth_fields == {"role": "admin"}
    assert args.headers == {"X-A": "1", "X-B": "two"} and args.query_params == {"v": "2"}
    assert args.fingerprint == "ab" * 32
    assert parse_args(["--url", "http://h:1", "--parser", "msgpack"]).parser == "msgpack"
    for bad in (["--path", "/x"],                                  # no --url
                ["--parser", "msgpack"],                           # no --url
                ["--url", "http://h:1", "--parser", "cbor"],
                ["--url", "http://h:1", "--auth", "[1]"],          # not an object
                ["--url", "http://h:1", "--header", "no-colon"],
                ["--url", "http://h:1", "--fingerprint", "abc"],
                ["--url", "ftp://h:1"]):
        with pytest.raises(SystemExit):
            parse_args(bad)


def test_first_run_dialog_asks_once(run, qtbot, monkeypatch):
    from ui import main as main_mod
    from ui.widgets.firstrun import FirstRunDialog

    opened: list[FirstRunDialog] = []
    texts: list[str] = []
    original = FirstRunDialog.open

    def open_and_answer(self):
        original(self)
        opened.append(self)
        texts.append(self.text.text())
        self.edit.setText("not valid!")
        assert not self.buttons.button(self.buttons.StandardButton.Ok).isEnabled()
        self.edit.setText("zoe")
        self.accept()

    monkeypatch.setattr(FirstRunDialog, "open", open_and_answer)
    assert run(main_mod.ask_user_name()) == "zoe"
    assert len(opened) == 1
    # it says SockDesk runs a server only when it will
    assert "server on this computer" in texts[0]
    assert run(main_mod.ask_user_name(server_here=False)) == "zoe"
    assert "server" in texts[1] and "this computer" not in texts[1]


def test_connection_dialog_validates_inline(qtbot):
    from app.workspace import Workspace
    from ui.widgets.connection import ConnectionDialog

    dlg = ConnectionDialog(Workspace(name="Dev", urls=["http://127.0.0.1:5000"], user="alice"))
    qtbot.addWidget(dlg)
    ok = dlg.buttons.button(dlg.buttons.StandardButton.Ok)
    assert ok.isEnabled()
    dlg.auth.set_text('{"room": ')
    assert not ok.isEnabled()
    assert dlg.error.text().startswith("Auth: Line 1, column")
    dlg.auth.set_text('{"room": "x"}')
    dlg.headers.set_text('["not", "an object"]')
    assert not ok.isEnabled() and "object" in dlg.error.text()
    dlg.headers.set_text('{"X-Test": "1"}')
    dlg.websocket.setChecked(False)
    dlg.polling.setChecked(False)
    assert not ok.isEnabled()
    dlg.polling.setChecked(True)
    dlg.urls.setPlainText("http://127.0.0.1:5000\nnot a url")
    assert not ok.isEnabled() and "not a url" in dlg.error.text()
    dlg.urls.setPlainText("")
    assert not ok.isEnabled() and "URL" in dlg.error.text()
    dlg.urls.setPlainText("http://127.0.0.1:5000")
    dlg.fingerprint.setText("12:34")
    assert not ok.isEnabled() and "fingerprint" in dlg.error.text()
    dlg.fingerprint.setText("")
    dlg.name.setText(" ")
    assert not ok.isEnabled() and "name" in dlg.error.text()
    dlg.name.setText("Dev")
    dlg.namespaces.setText("chat, /queue")
    dlg.attempts.setValue(3)
    assert ok.isEnabled()
    ws = dlg.workspace()
    assert ws.auth == {"room": "x"} and ws.headers == {"X-Test": "1"}
    assert ws.namespaces == ["/chat", "/queue"] and ws.transports == ["polling"]
    assert ws.reconnect.attempts == 3
    cfg = ws.connection_config()
    assert cfg.reconnect.attempts == 3 and cfg.transports == ["polling"]


def test_connection_bar_state_and_shortcuts(run, server, make_window):
    a = make_window(server.url, "alice")
    bar = a.bar
    assert bar.light.state == "offline"
    assert bar.connect_action.shortcut().toString() == "Ctrl+K"
    assert bar.disconnect_action.shortcut().toString() == "Ctrl+Shift+K"
    connect(run, a)
    assert bar.light.state == "connected" and "127.0.0.1" in bar.light.toolTip()
    assert not bar.connect_action.isEnabled() and bar.disconnect_action.isEnabled()
    bar.disconnect_action.trigger()
    run.until(lambda: bar.light.state == "offline")
    assert a.sidebar_model.index_of("namespace", "/chat").data(Qt.ItemDataRole.UserRole + 4) \
        is False
    a._go_tab(1)
    assert a.tabs.currentWidget() is a.events
    a._focus_filter()
    assert a.tabs.currentWidget() is a.events


def test_reconnecting_state_when_the_server_goes_away(run, server_factory, make_window):
    srv = server_factory()
    a = make_window(srv.url, "alice")
    connect(run, a)
    states: list[str] = []
    a.bridge.state_changed.connect(lambda s, _r: states.append(s))
    srv.kill()
    run.until(lambda: "reconnecting" in states, 15)
    assert a.bar.light.state in ("reconnecting", "connecting")
    srv.restart()
    run.until(lambda: a._state == "connected", 20)


def test_refused_connection_is_explained_in_words(run, make_window):
    a = make_window("http://127.0.0.1:9", "alice", attempts=1)
    run(a.open_session())
    run.until(lambda: bool(a.error_label.text()))
    text = a.error_label.text()
    assert "Traceback" not in text and len(text) > 10


def test_settings_remember_user_connections_and_layout(run, make_window, isolated_settings):
    from ui.settings import Settings

    s = Settings()
    s.user = "zoe"
    s.remember_connection({"url": "http://a:1", "user": "zoe"})
    s.remember_connection({"url": "http://b:2", "user": "zoe"})
    s.remember_connection({"url": "http://a:1", "user": "zoe"})
    assert [r["url"] for r in Settings().recent_connections()] == ["http://a:1", "http://b:2"]
    a = make_window("http://127.0.0.1:9", "alice")
    a.splitter.setSizes([300, 700])
    run(a.shutdown())
    assert Settings().bytes_value("windows/alice/splitters/main") is not None
    assert Settings().bytes_value("windows/alice/geometry") is not None
    assert list(isolated_settings.rglob("*.ini")), "settings must live in the test folder"
    assert Settings().q.fileName().startswith(str(isolated_settings))


def test_theme_follows_a_dark_palette(qapp):
    from ui import theme

    light = QPalette()
    light.setColor(QPalette.ColorRole.Window, QColor("#f5f5f5"))
    dark = QPalette()
    dark.setColor(QPalette.ColorRole.Window, QColor("#1e1f24"))
    assert not theme.is_dark(light) and theme.is_dark(dark)
    assert theme.author_color("bob", dark).lightnessF() > theme.author_color(
        "bob", light).lightnessF()
    assert theme.author_color("bob", light) == theme.author_color("bob", light)  # stable
    assert theme.author_color("bob", light) != theme.author_color("alice", light)


def test_every_icon_renders(qapp):
    from importlib import resources

    from ui import theme

    names = [p.name[:-4] for p in resources.files("resources").joinpath("icons").iterdir()
             if p.name.endswith(".svg")]
    assert len(names) >= 20
    for name in names:
        assert not theme.icon(name).pixmap(24, 24).isNull(), name
    assert "palette(" in theme.stylesheet()


def test_control_characters_are_escaped():
    from ui.text import escape_controls, json_error, preview, tooltip_text

    assert escape_controls("a\x07b\x1b[31m") == "a\\x07b\\x1b[31m"
    assert escape_controls("line\nnext", keep_newlines=True) == "line\nnext"
    assert escape_controls("evil\u202eexe") == "evil\\u202eexe"
    assert preview({"a": "x" * 500}, 40).endswith("…") and len(preview({"a": "x" * 500}, 40)) == 40
    assert "&lt;b&gt;" in tooltip_text("<b>x</b>")
    assert json_error('{"a": 1}') is None
    assert json_error("[1,\n2,,]").startswith("Line 2, column")


def test_sigterm_closes_cleanly_and_stops_the_server(tmp_path):
    import signal

    data = tmp_path / "data"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
               SOCKDESK_SETTINGS_DIR=str(tmp_path / "gui-settings"),
               PYTHON_KEYRING_BACKEND=NO_KEYRING)
    proc = subprocess.Popen([sys.executable, "-m", "ui", "--user", "alice", "--data-dir",
                             str(data)], cwd=REPO, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)

    def server_pids() -> list[int]:
        pids = []
        for p in Path("/proc").iterdir():
            if p.name.isdigit():
                try:
                    cmd = (p / "cmdline").read_bytes().replace(b"\0", b" ").decode()
                except OSError:
                    continue
                if "server_stub" in cmd and str(data) in cmd:
                    pids.append(int(p.name))
        return pids

    try:
        started = wait_for(lambda: proc.poll() is not None or (
            any((data / "workspaces").glob("*/sockdesk.db")) and bool(server_pids())), 30)
        assert started and proc.poll() is None, "the GUI did not start"
        proc.send_signal(signal.SIGTERM)
        _out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert err.strip() == "", err
    assert server_pids() == []


def test_each_identity_has_its_own_core_data_dir(tmp_path, qtbot):
    from ui.window import MainWindow

    w = MainWindow({"url": "http://127.0.0.1:40000", "user": "alice"}, tmp_path,
                   bundled_url="http://127.0.0.1:40000")
    qtbot.addWidget(w)
    assert w.profile_dir() == tmp_path / "profiles" / "alice@bundled"
    assert w.profile_dir({"url": "http://127.0.0.1:40001", "user": "alice"}) == \
        tmp_path / "profiles" / "alice@127.0.0.1_40001"
    assert w.profile_dir({"url": "http://example.org:80", "user": "bob"}).name == \
        "bob@example.org_80"


def test_the_window_fits_a_720_pixel_high_screen(make_window):
    """A classroom projector is 1280x720: with every tab built, the window's minimum
    height leaves room for a title bar (the Events tab's ack panel scrolls instead of
    adding its own minimum)."""
    w = make_window("http://127.0.0.1:9", "short")
    assert w.learn is not None                      # the Learn tab exists too
    for i in range(w.tabs.count()):
        w.tabs.setCurrentIndex(i)
    assert w.minimumSizeHint().height() <= 720 - 40
    assert w.minimumSizeHint().width() <= 800       # two windows side by side on 1,920 px


def test_the_connection_dialog_opens_whole_and_never_draws_rows_over_each_other(
        qtbot, monkeypatch):
    """On a 720 px screen the dialog opened at two thirds of it (Qt's rule when nobody
    sizes a window) and its form, short of the height its wrapped hints need, drew the
    Server URLs box under the Path field. It opens at the height it asks for, and in a
    dialog made shorter the form scrolls instead."""
    from PySide6.QtCore import QRect
    from PySide6.QtGui import QScreen

    from app.workspace import Workspace
    from ui.widgets.connection import ConnectionDialog

    monkeypatch.setattr(QScreen, "availableGeometry", lambda _self: QRect(0, 0, 1280, 720))
    dlg = ConnectionDialog(Workspace(name="Dev", urls=["http://127.0.0.1:5000"], user="al"))
    qtbot.addWidget(dlg)
    dlg.open()
    qtbot.waitExposed(dlg)
    assert dlg.height() >= dlg.sizeHint().height() and dlg.height() <= 720 - 40
    fields = [dlg.urls, dlg.path, dlg.namespaces, dlg.user, dlg.token]
    for height in (dlg.height(), dlg.minimumSizeHint().height()):
        dlg.resize(dlg.width(), height)
        qtbot.waitUntil(lambda h=height: dlg.height() == h)
        for above, below in itertools.pairwise(fields):
            qtbot.waitUntil(lambda a=above, b=below:
                            a.geometry().bottom() < b.geometry().top())
