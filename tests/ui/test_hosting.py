"""Hosting a workspace's server: the real bundled server as a child process, joined by
real sessions built the way the app builds them (invite → workspace → config).

What must hold for a class: the invite lets people in (and only with the pinned
certificate), the host's own app is connected to what it hosts, the port survives a
restart (handed-out invites stay valid), a claimed name stays its owner's until it is
released. A private server stays what it always was: loopback, a fresh port, no token.
"""

from __future__ import annotations

import hashlib
import os
import socket
import ssl
from pathlib import Path
from typing import Any

import pytest

from app.config import ReconnectPolicy
from app.invite import parse_invite
from app.session import Session
from app.workspace import (
    SOCKDESK_NAMESPACES,
    HostSettings,
    ServerKind,
    Workspace,
    from_invite,
)
from ui.hosting import (
    TOKEN_ENV,
    HostedServer,
    HostingError,
    local_addresses,
    route_address,
    server_db,
    uses_tls,
)

QUICK = ReconnectPolicy(delay=0.1, delay_max=0.5)


def served_fingerprint(url: str) -> str:
    """SHA-256 of the certificate the server at ``url`` actually presents."""
    host, port = url.split("://", 1)[1].rsplit(":", 1)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection((host, int(port)), timeout=5) as raw, \
            context.wrap_socket(raw, server_hostname=host) as tls:
        cert = tls.getpeercert(binary_form=True)
    assert cert
    return hashlib.sha256(cert).hexdigest()


class Sessions:
    """Sessions made in a test; every one is closed at the end."""

    def __init__(self, run: Any, folder: Path) -> None:
        self.run = run
        self.folder = folder
        self.made: list[Session] = []

    def __call__(self, ws: Workspace, config: Any = None) -> Session:
        config = config or ws.connection_config()
        config.reconnect = QUICK
        s = Session(config, self.folder / f"client-{len(self.made)}")
        self.made.append(s)
        return s

    def close(self) -> None:
        for s in self.made:
            self.run(s.close())


@pytest.fixture
def sessions(run, tmp_path: Path):
    made = Sessions(run, tmp_path)
    yield made
    made.close()


@pytest.fixture
def hosted_servers(run):
    """HostedServers made in a test; every one is stopped at the end."""
    made: list[HostedServer] = []

    def make(ws: Workspace, data_dir: Path) -> HostedServer:
        h = HostedServer(ws, data_dir)
        made.append(h)
        return h

    yield make
    for h in made:
        run(h.stop())
        h.kill_now()


def host_workspace(name: str = "Networks 101", **host: Any) -> Workspace:
    ws = Workspace(name=name, server=ServerKind.HOST, user="teacher",
                   namespaces=list(SOCKDESK_NAMESPACES), host=HostSettings(**host))
    ws.ensure_key()
    return ws


def test_hosting_with_tls_invites_pins_and_keeps_its_port(run, tmp_path, qtbot, hosted_servers,
                                                         sessions):
    ws = host_workspace(interface="127.0.0.1", port=0, tls=True)
    hosted = hosted_servers(ws, tmp_path / "teacher")
    with qtbot.waitSignal(hosted.started, timeout=30_000) as started:
        info = run(hosted.start())
    assert started.args == [info] and hosted.running and hosted.info == info
    port = ws.host.port
    assert port and info.url == f"https://127.0.0.1:{port}"   # the port is written back
    assert ws.token                                           # a token was made
    assert info.fingerprint and len(info.fingerprint) == 64
    assert served_fingerprint(info.url) == info.fingerprint
    assert "with TLS" in info.listen and str(port) in info.listen
    assert server_db(tmp_path / "teacher").is_file()
    assert info.invite is not None
    invite = parse_invite(info.invite)
    assert invite.url == info.url and invite.token == ws.token
    assert invite.fingerprint == info.fingerprint and invite.name == "Networks 101"

    # the host's own app: connected to the server it hosts, in the room
    host = sessions(ws, hosted.connection_config(info))
    assert host.config.tls.fingerprint == info.fingerprint
    heard: list[dict[str, Any]] = []
    host.on("/chat", "message", lambda m, *_: heard.append(m))
    assert run(host.connect()), host.last_error
    run(host.wait_ready("/chat", 10))
    run(host.chat.join("lesson"))

    # a student, from the invite alone
    student_ws = from_invite(parse_invite(info.invite), user="student")
    student = sessions(student_ws)
    assert run(student.connect()), student.last_error
    run(student.wait_ready("/chat", 10))
    run(student.chat.join("lesson"))
    student.chat.send("lesson", "hello from the back row")
    run.until(lambda: any(m.get("text") == "hello from the back row" for m in heard), 15)
    assert next(m for m in heard if m.get("text") == "hello from the back row"
                )["user"] == "student"

    # somebody else's certificate at that address: refused before the token is sent
    impostor_ws = from_invite(parse_invite(info.invite), user="eve")
    impostor_ws.tls.fingerprint = "00" * 32
    impostor = sessions(impostor_ws)
    assert not run(impostor.connect())
    assert "not the one in your invite" in (impostor.last_error or "")
    run(impostor.close())

    # the student's name is theirs: another key under it is refused, until released
    copycat_ws = from_invite(parse_invite(info.invite), user="student")
    assert copycat_ws.key != student_ws.key
    copycat = sessions(copycat_ws)
    assert not run(copycat.connect())
    assert "taken" in (copycat.last_error or "")
    run(copycat.close())
    message = run(hosted.release_name("student"))
    assert message.startswith("Released the name student")
    again = sessions(copycat_ws)
    assert run(again.connect()), again.last_error
    with pytest.raises(HostingError, match="nobody has no claim"):
        run(hosted.release_name("nobody"))

    # stop and start again: the same address and certificate, so invites stay valid
    with qtbot.waitSignal(hosted.stopped, timeout=20_000) as stopped:
        run(hosted.stop())
    assert "stopped" in stopped.args[0] and "unexpectedly" not in stopped.args[0]
    assert not hosted.running and hosted.info is None
    info2 = run(hosted.start())
    assert info2.url == info.url and info2.fingerprint == info.fingerprint
    assert info2.invite == info.invite
    run.until(lambda: host.is_ready("/chat"), 20)   # the host's app is back too


def test_plain_http_host_on_loopback_keeps_the_token_off_the_command_line(
        run, tmp_path, hosted_servers, sessions):
    ws = host_workspace(name="-Lab 2 & co", interface="127.0.0.1", port=0)
    ws.token = "a-token-chosen-before"
    hosted = hosted_servers(ws, tmp_path / "lab")
    info = run(hosted.start())
    assert info.url == f"http://127.0.0.1:{ws.host.port}" and info.fingerprint is None
    assert "plain HTTP" in info.listen
    assert info.invite is not None
    invite = parse_invite(info.invite)
    assert (invite.name, invite.token, invite.fingerprint) == ("-Lab 2 & co",
                                                               "a-token-chosen-before", None)
    assert hosted.server is not None
    assert not any("a-token-chosen-before" in a for a in hosted.server.proc.arguments())
    me = sessions(ws, hosted.connection_config(info))
    assert run(me.connect()), me.last_error


def test_private_server_is_loopback_on_a_fresh_port_without_token(
        run, tmp_path, qtbot, hosted_servers, sessions, monkeypatch):
    # a token in the app's environment must not lock the user out of their own server
    monkeypatch.setenv(TOKEN_ENV, "inherited-from-the-shell")
    ws = Workspace(name="Sandbox", server=ServerKind.PRIVATE, user="me",
                   namespaces=list(SOCKDESK_NAMESPACES))
    ws.host.port = 0
    hosted = hosted_servers(ws, tmp_path / "sandbox")
    info = run(hosted.start())
    assert info.url.startswith("http://127.0.0.1:")
    assert info.invite is None and info.fingerprint is None
    assert "this computer only" in info.listen and "plain HTTP" in info.listen
    assert ws.token is None and ws.host.port == 0          # nothing written back
    me = sessions(ws, hosted.connection_config())
    assert run(me.connect()), me.last_error
    run(me.close())
    first_port = int(info.url.rsplit(":", 1)[1])
    run(hosted.stop())

    # keep the old port busy: a fresh port each launch means this cannot matter
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # past TIME_WAIT
        squatter.bind(("127.0.0.1", first_port))
        squatter.listen()
        info2 = run(hosted.start())
    assert info2.url.startswith("http://127.0.0.1:")
    assert int(info2.url.rsplit(":", 1)[1]) != first_port

    # stopped by whoever was handed the process (the Learn tab's server button): no
    # crash; started again that way, a start here takes over cleanly
    direct = hosted.server
    assert direct is not None
    with qtbot.waitSignal(hosted.stopped, timeout=20_000) as stopped:
        run(direct.stop())
    assert "unexpectedly" not in stopped.args[0] and hosted.info is None
    run(direct.start())
    assert hosted.running and hosted.info is None
    old_pid = direct.proc.processId()
    info3 = run(hosted.start())
    assert hosted.server is not direct
    with pytest.raises(ProcessLookupError):                # stopped and reaped
        os.kill(old_pid, 0)
    assert hosted.running and hosted.info == info3

    # a server that dies says so
    assert hosted.server is not None
    with qtbot.waitSignal(hosted.stopped, timeout=20_000) as stopped:
        hosted.server.proc.kill()
    assert "unexpectedly" in stopped.args[0]
    assert not hosted.running and hosted.info is None


def test_a_port_in_use_fails_with_a_sentence(run, tmp_path, qtbot, hosted_servers):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        ws = host_workspace(interface="127.0.0.1", port=port)
        hosted = hosted_servers(ws, tmp_path / "busy")
        with qtbot.waitSignal(hosted.failed, timeout=30_000) as failed, \
                pytest.raises(HostingError) as raised:
            run(hosted.start())
    assert failed.args == [str(raised.value)]
    assert f"port {port}" in str(raised.value) and "Networks 101" in str(raised.value)
    assert not hosted.running and hosted.info is None
    assert ws.host.port == port                            # a fixed port stays fixed


def test_remote_workspaces_are_not_hosted(tmp_path):
    ws = Workspace(name="Theirs", urls=["https://example.com"])
    with pytest.raises(HostingError, match="somebody else's"):
        HostedServer(ws, tmp_path)
    with pytest.raises(HostingError, match="not running"):
        HostedServer(host_workspace(), tmp_path).connection_config()


@pytest.mark.parametrize(("interface", "tls", "plain_ok", "expected"), [
    ("127.0.0.1", False, False, False),   # loopback: nobody else can listen in
    ("127.0.0.1", True, False, True),     # unless asked for
    ("0.0.0.0", False, False, True),      # beyond loopback: always
    ("192.168.1.20", False, False, True),
    ("192.168.1.20", False, True, False),  # unless plain HTTP was asked for explicitly
])
def test_tls_beyond_loopback_unless_plain_http_is_asked_for(interface, tls, plain_ok,
                                                             expected):
    ws = host_workspace(interface=interface, tls=tls, plain_http_ok=plain_ok)
    assert uses_tls(ws) is expected
    ws.server = ServerKind.PRIVATE
    assert uses_tls(ws) is False


def test_local_addresses_for_the_interface_picker():
    addresses = local_addresses()
    names = [a for a, _ in addresses]
    assert addresses[0][0] == "127.0.0.1" and addresses[-1] == ("0.0.0.0", "All networks")
    assert len(names) == len(set(names))
    assert all(label for _, label in addresses)
    for address in names:
        socket.inet_aton(address)                          # IPv4 only
    lan = route_address()
    if lan is not None:
        assert lan in names

