"""Exposure: binding beyond loopback, and the Admin UI.

`--host 0.0.0.0` without a token must shout on stderr (the server is reachable by anyone
who can reach the machine, as any user). The test binds 0.0.0.0 on a free port and
stops at once; no traffic leaves loopback. The Admin UI is off unless asked for, needs
the token, and its password is the token.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import socketio

from tests.server_stub.peers import connected, refused
from tests.support import REPO, _readline_with_timeout, free_port, without_invite

TOKEN = "adm1n-t0ken-value"


def start_and_stop(*args: str, env: dict[str, str] | None = None) -> tuple[str, str, int]:
    """Start the server, read its first line, SIGTERM it; (first line, stderr, code)."""
    proc = subprocess.Popen([sys.executable, "-m", "server_stub", *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONUNBUFFERED="1", **(env or {})))
    first = _readline_with_timeout(proc, 30)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=20)
    return first, err, proc.returncode


@pytest.mark.parametrize("host", ["0.0.0.0", "::"])
def test_public_bind_without_token_warns_loudly(tmp_path: Path, host: str) -> None:
    port = str(free_port())
    first, err, code = start_and_stop("--host", host, "--port", port, "--db",
                                      str(tmp_path / "a.db"))
    if host == "::" and "cannot listen" in err:
        pytest.skip("no IPv6 on this machine")
    assert first.startswith("Listening on http://"), (first, err)
    assert code == 0
    warning = [line for line in err.splitlines() if "WARNING" in line]
    assert len(warning) == 1
    assert "reachable from the network" in warning[0] and "--token" in warning[0]
    assert "anyone" in warning[0]


def test_public_bind_with_token_and_loopback_do_not_warn(tmp_path: Path) -> None:
    first, err, code = start_and_stop("--host", "0.0.0.0", "--port", str(free_port()),
                                      "--db", str(tmp_path / "a.db"),
                                      env={"SOCKDESK_SERVER_TOKEN": TOKEN})
    assert first.startswith("Listening on ") and code == 0
    assert "WARNING" not in err and TOKEN not in err
    first, err, code = start_and_stop("--host", "127.0.0.1", "--port", "0", "--db",
                                      str(tmp_path / "b.db"))
    assert first.startswith("Listening on ") and code == 0 and "WARNING" not in err


def test_admin_needs_a_token(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "server_stub", "--port", "0", "--admin",
                        "--db", str(tmp_path / "a.db")], cwd=REPO, capture_output=True,
                       text=True, timeout=30)
    assert r.returncode == 2 and "--admin needs --token" in r.stderr


async def test_admin_namespace_requires_the_token(server_factory: Any) -> None:
    srv = server_factory("--admin", "--token", TOKEN)
    for auth in (None, {}, {"username": "admin"}, {"username": "admin", "password": ""},
                 {"username": "admin", "password": "wrong"},
                 {"username": "root", "password": TOKEN},
                 {"username": "admin", "password": TOKEN, "extra": 1},
                 {"user": "admin", "token": TOKEN}, "admin", [TOKEN]):
        data = await refused(srv.url, "/admin", auth)
        assert data, auth
    admin = socketio.AsyncClient(reconnection=False)
    await admin.connect(srv.url, namespaces=["/admin"], transports=["websocket"],
                        auth={"username": "admin", "password": TOKEN})
    assert admin.connected
    await admin.disconnect()
    # the Admin UI does not open the other namespaces: they still need the token
    data = await refused(srv.url, "/chat", {"user": "admin"})
    assert data["message"] == "this server requires a token (auth.token)"
    assert TOKEN not in without_invite(srv.stop())


async def test_without_admin_there_is_no_admin_ui(server: Any) -> None:
    """/admin is then just a sandbox namespace: no server config or socket lists."""
    peer = await connected(server.url, "curious", "/admin")
    try:
        assert not peer.received("config", "/admin")
        ack = await peer.call("echo", "x", ns="/admin")
        assert ack == {"ok": True, "args": ["x"]}
        assert {e for ns, e, _ in peer.events} == {"welcome"}
    finally:
        await peer.close()
