"""The invite line: its exact format (parsed back with urllib.parse, as any client
would), what a server started with ``--token`` prints, and that a client can join with
nothing but the invite."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import aiohttp
import pytest
import socketio

from server_stub import invite
from tests.server_stub.peers import TIMEOUT
from tests.support import REPO, _readline_with_timeout

FP = "ab" * 32
AWKWARD_TOKEN = "s3cr&t=1 2/3+4%5?#é:"


def parsed(text: str) -> list[tuple[str, str]]:
    parts = urlsplit(text)
    assert (parts.scheme, parts.netloc, parts.path, parts.fragment) == ("sockdesk", "join",
                                                                        "", "")
    return parse_qsl(parts.query, keep_blank_values=True, strict_parsing=True)


def test_invite_round_trips_through_urllib() -> None:
    text = invite.build_invite("https://192.168.1.5:5000", AWKWARD_TOKEN, "Team · room",
                               fingerprint=FP)
    assert text.startswith("sockdesk://join?v=1&url=https%3A%2F%2F192.168.1.5%3A5000&")
    assert parsed(text) == [("v", "1"), ("url", "https://192.168.1.5:5000"),
                            ("token", AWKWARD_TOKEN), ("name", "Team · room"), ("fp", FP)]
    # quote, not quote_plus: a space is %20, and no value leaves a bare / : + or space
    query = urlsplit(text).query
    assert "%20" in query and not any(c in query for c in " /:+#?")


def test_fp_only_with_tls_and_path_only_when_not_the_default() -> None:
    plain = invite.build_invite("http://10.0.0.2:5000", "t", "n")
    assert [k for k, _ in parsed(plain)] == ["v", "url", "token", "name"]
    same = invite.build_invite("http://10.0.0.2:5000", "t", "n", path="/socket.io")
    assert same == plain
    moved = invite.build_invite("http://10.0.0.2:5000", "t", "n", fingerprint=FP,
                                path="/team/socket.io")
    assert parsed(moved)[-2:] == [("fp", FP), ("path", "/team/socket.io")]


def test_every_interface_is_replaced_by_an_address_others_can_use(
        monkeypatch: pytest.MonkeyPatch) -> None:
    assert invite.reachable_host("127.0.0.1") == "127.0.0.1"
    assert invite.reachable_host("192.0.2.4") == "192.0.2.4"
    found = invite.lan_address()          # a routing-table look-up: nothing is sent
    assert found is None or not found.startswith("127.")
    assert invite.reachable_host("0.0.0.0") == (found or socket.gethostname())
    monkeypatch.setattr(invite, "lan_address", lambda: "192.0.2.50")
    assert invite.reachable_host("0.0.0.0") == "192.0.2.50"
    assert invite.reachable_host("::") == "192.0.2.50"
    monkeypatch.setattr(invite, "lan_address", lambda: None)
    assert invite.reachable_host("0.0.0.0") == socket.gethostname()


class Printed:
    """A server started like a user would, stdout and stderr apart; its first lines."""

    def __init__(self, tmp_path: Path, *args: str, lines: int,
                 env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server_stub", "--host", "127.0.0.1", "--port", "0",
             "--db", str(tmp_path / "s.db"), *args], cwd=REPO, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env=dict(os.environ, PYTHONUNBUFFERED="1", **(env or {})))
        self.lines = [_readline_with_timeout(self.proc, 20) for _ in range(lines)]  # type: ignore[arg-type]

    def stop(self) -> tuple[str, str]:
        self.proc.terminate()
        out, err = self.proc.communicate(timeout=15)
        assert self.proc.returncode == 0, err
        return out, err


async def test_printed_invite_is_enough_to_join(tmp_path: Path) -> None:
    srv = Printed(tmp_path, "--tls", "--token", AWKWARD_TOKEN, "--name", "Team room",
                  lines=3)
    try:
        listening, invite_line, cert_line = srv.lines
        assert listening.startswith("Listening on https://127.0.0.1:")
        assert invite_line.startswith("Invite: sockdesk://join?v=1&")
        assert cert_line.startswith("Certificate SHA-256: ")
        fields = dict(parsed(invite_line.removeprefix("Invite: ").rstrip("\n")))
        assert fields == {"v": "1", "url": listening.removeprefix("Listening on ").strip(),
                          "token": AWKWARD_TOKEN, "name": "Team room",
                          "fp": cert_line.split(": ", 1)[1].strip()}
        # a client holding only the invite: URL, token and pinned certificate
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(
            ssl=aiohttp.Fingerprint(bytes.fromhex(fields["fp"]))))
        client = socketio.AsyncClient(reconnection=False, http_session=session)
        welcome: asyncio.Future[dict] = asyncio.get_running_loop().create_future()
        client.on("welcome", welcome.set_result, namespace="/chat")
        try:
            await client.connect(fields["url"], namespaces=["/chat"],
                                 auth={"user": "alice", "token": fields["token"]},
                                 transports=["websocket"], wait_timeout=TIMEOUT)
            assert (await asyncio.wait_for(welcome, TIMEOUT))["user"] == "alice"
        finally:
            await client.disconnect()
            await session.close()
    finally:
        out, _ = srv.stop()
    assert out == ""


def test_invite_defaults_and_no_invite_without_a_token(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with_token = Printed(tmp_path / "a", lines=2, env={"SOCKDESK_SERVER_TOKEN": "from-env"})
    try:
        listening, invite_line = with_token.lines
        fields = dict(parsed(invite_line.removeprefix("Invite: ").rstrip("\n")))
        assert fields == {"v": "1", "url": listening.removeprefix("Listening on ").strip(),
                          "token": "from-env", "name": f"SockDesk on {socket.gethostname()}"}
    finally:
        out, _ = with_token.stop()
    assert out == ""                                  # plain HTTP: no certificate line

    without = Printed(tmp_path / "b", "--name", "unused", lines=1)
    assert without.lines[0].startswith("Listening on http://127.0.0.1:")
    out, _ = without.stop()
    assert out == ""
