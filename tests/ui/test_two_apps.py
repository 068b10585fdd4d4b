"""Two real SockDesk apps on one machine: one hosts a workspace, the other joins it with
the invite, they chat, and after both are stopped and started again with no arguments
each reopens its workspace connected, nothing typed.

Each app is ``python -m ui`` (what ``sockdesk`` runs) in a process of its own, with its
own HOME, configuration, data and settings folders, offscreen. 127.0.0.1 stands in for
the LAN: the host's server listens there with TLS and a token, and the joiner pins its
certificate from the invite. The apps write their chat lines through the
``SOCKDESK_TEST_SAY`` hook (``ui.main.SAY_ENV``: an offscreen process has no keyboard);
that the lines reached the room is read from the host's server by a separate
python-socketio client with the token.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import signal
import socket
import ssl
import subprocess
import sys
from pathlib import Path

import pytest
import socketio

from app.config import ReconnectPolicy
from app.invite import Invite
from app.workspace import SOCKDESK_NAMESPACES, HostSettings, ServerKind, Workspace, WorkspaceStore
from tests.support import REPO, free_port, wait_for

pytestmark = pytest.mark.timeout(300)

TOKEN = "class-token-0123456789"
NAME = "Networks 101"


class AppProcess:
    """``python -m ui ARGS`` as one user of this machine (its own HOME and folders)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.config = root / "config"
        self.data = root / "data"
        (root / "home").mkdir(parents=True, exist_ok=True)
        self.proc: subprocess.Popen[str] | None = None

    def env(self, say: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "SOCKDESK_"))}
        env.update(HOME=str(self.root / "home"), SOCKDESK_CONFIG_DIR=str(self.config),
                   SOCKDESK_DATA_DIR=str(self.data),
                   SOCKDESK_SETTINGS_DIR=str(self.root / "settings"),
                   QT_QPA_PLATFORM="offscreen",
                   PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
                   SOCKDESK_TEST_SAY=say)
        return env

    def start(self, *args: str, say: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "ui", *args], cwd=REPO,
                                     env=self.env(say), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True)

    def stop(self) -> tuple[int, str]:
        """SIGTERM, as a desktop's logout does; the exit status and stderr."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        _out, err = self.proc.communicate(timeout=60)
        return self.proc.returncode, err

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def cleanup(self) -> None:
        if self.running():
            assert self.proc is not None
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.communicate(timeout=10)

    def store(self) -> WorkspaceStore:
        return WorkspaceStore(self.config, self.data, secrets_backend=None)


def served_fingerprint(host: str, port: int) -> str | None:
    """SHA-256 of the certificate served at host:port; None while nothing answers."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with socket.create_connection((host, port), timeout=2) as raw, \
                context.wrap_socket(raw, server_hostname=host) as tls:
            cert = tls.getpeercert(binary_form=True)
    except OSError:
        return None
    return hashlib.sha256(cert).hexdigest() if cert else None


def room_lines(url: str, room: str = "general") -> list[tuple[str, str]]:
    """(user, text) of the room's history on the server, read with the token; [] while
    the server does not answer."""
    async def read() -> list[tuple[str, str]]:
        client = socketio.AsyncClient(ssl_verify=False)
        await client.connect(url, namespaces=["/chat"], transports=["websocket"],
                             auth={"user": "checker", "token": TOKEN}, wait_timeout=10)
        try:
            ack = await client.call("history", {"room": room}, namespace="/chat", timeout=10)
        finally:
            await client.disconnect()
        return [(m["user"], m["text"]) for m in ack["messages"]]

    try:
        return asyncio.run(read())
    except (socketio.exceptions.SocketIOError, OSError):
        return []


def server_children(data: Path) -> list[int]:
    """Bundled server processes whose database is under ``data``."""
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


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads /proc to find children")
def test_one_app_hosts_another_joins_they_chat_and_both_come_back_by_themselves(
        tmp_path: Path) -> None:
    host, guest = AppProcess(tmp_path / "teacher"), AppProcess(tmp_path / "student")
    port = free_port()
    url = f"https://127.0.0.1:{port}"
    # the host's workspace, as "New workspace → Host for my team or class" saves it
    ws = Workspace(name=NAME, server=ServerKind.HOST, user="teacher",
                   namespaces=list(SOCKDESK_NAMESPACES), token=TOKEN,
                   host=HostSettings(interface="127.0.0.1", port=port, tls=True),
                   reconnect=ReconnectPolicy(delay=0.2, delay_max=1.0))
    ws.ensure_key()
    host.store().save(ws)
    host.store().set_last(ws)
    try:
        host.start(say="general:hello from the front")
        assert wait_for(lambda: not host.running() or served_fingerprint("127.0.0.1", port),
                        60) and host.running(), "the host's server did not start"
        fingerprint = served_fingerprint("127.0.0.1", port)
        assert fingerprint is not None
        invite = Invite(url=url, token=TOKEN, name=NAME, fingerprint=fingerprint).to_text()

        guest.start("--join", invite, "--user", "bob", say="general:hello from the back row")
        wanted = {("teacher", "hello from the front"), ("bob", "hello from the back row")}
        assert wait_for(lambda: wanted <= set(room_lines(url)), 90), room_lines(url)

        for app in (host, guest):
            rc, err = app.stop()
            assert rc == 0 and "Traceback" not in err, err
        assert server_children(host.data) == []           # the host's server went with it

        # what each saved: the guest's workspace pins the host's certificate
        (joined,) = guest.store().saved()
        assert (joined.name, joined.server, joined.urls, joined.user) == (
            NAME, ServerKind.REMOTE, [url], "bob")
        assert joined.tls.fingerprint == fingerprint and joined.token == TOKEN
        (hosted,) = host.store().saved()
        assert hosted.host.port == port and hosted.token == TOKEN

        # both again, with no arguments at all: each reopens its workspace and connects
        host.start(say="general:the front is back")
        guest.start(say="general:the back row is back")
        wanted |= {("teacher", "the front is back"), ("bob", "the back row is back")}
        assert wait_for(lambda: wanted <= set(room_lines(url)), 90), room_lines(url)
        lines = room_lines(url)
        assert len(lines) == len(set(lines)) == 4          # each line once
        assert served_fingerprint("127.0.0.1", port) == fingerprint   # same certificate
        for app in (guest, host):
            rc, err = app.stop()
            assert rc == 0 and "Traceback" not in err, err
        assert len(guest.store().saved()) == 1             # no second workspace was made
    finally:
        for app in (guest, host):
            app.cleanup()
    assert server_children(host.data) == []
