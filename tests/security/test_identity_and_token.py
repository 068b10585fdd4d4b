"""Who you are is decided by the server at connect time, from a checked token.

Identity: a `user` (or `from`, `sender`) field inside a payload never changes who a
message is from; the server stamps the connection's user on everything it stores and
relays. Token: compared with hmac.compare_digest (checked by spying on it, since timing
cannot be measured reliably on a shared two-core machine); every wrong or missing
token is refused with a reason, on every namespace, and the reason never echoes it.
"""

from __future__ import annotations

import hmac
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from socketio.exceptions import ConnectionRefusedError as Refused

from server_stub.auth import Authenticator
from tests.server_stub.peers import connected, refused, unique
from tests.support import REPO, ServerProcess, _readline_with_timeout, without_invite

TOKEN = "correct-horse-battery-staple"


async def test_payload_user_fields_are_ignored(server: Any) -> None:
    room = unique("who")
    alice = await connected(server.url, "alice", "/chat")
    bob = await connected(server.url, "bob", "/chat")
    try:
        for peer in (alice, bob):
            assert (await peer.call("join", {"room": room}))["ok"]
        await alice.next("presence")
        ack = await alice.call("message", {"room": room, "text": "hi", "user": "bob",
                                           "from": "bob", "sender": "bob"})
        assert ack["ok"], ack
        live = await bob.next("message")
        assert live["user"] == "alice" and "from" not in live and "sender" not in live
        history = (await bob.call("history", {"room": room}))["messages"]
        assert [(m["user"], m["text"]) for m in history] == [("alice", "hi")]
        dm = await alice.call("dm", {"to": "bob", "text": "psst", "user": "carol"})
        assert dm["ok"], dm
        got = await bob.next("dm")
        assert got["user"] == "alice" and got["to"] == "bob"
        # presence is stamped too
        await bob.call("leave", {"room": room, "user": "alice"})
        left = await alice.next("presence")
        assert left["user"] == "bob" and left["event"] == "left"
    finally:
        await alice.close()
        await bob.close()


async def test_dedupe_is_per_user_so_nobody_can_claim_anothers_id(server: Any) -> None:
    """Ids are scoped by the stamped user: mallory resending alice's id stores a new
    message of her own instead of getting alice's ack (no id squatting)."""
    room = unique("ids")
    alice = await connected(server.url, "alice", "/chat")
    mallory = await connected(server.url, "mallory", "/chat")
    try:
        for peer in (alice, mallory):
            assert (await peer.call("join", {"room": room}))["ok"]
        first = await alice.call("message", {"room": room, "text": "real", "id": "m-1"})
        fake = await mallory.call("message", {"room": room, "text": "fake", "id": "m-1",
                                              "user": "alice"})
        assert fake["ok"] and fake["offset"] == first["offset"] + 1
        history = (await alice.call("history", {"room": room}))["messages"]
        assert [(m["user"], m["text"]) for m in history] == [("alice", "real"),
                                                             ("mallory", "fake")]
    finally:
        await alice.close()
        await mallory.close()


@pytest.mark.parametrize("token", [
    None, "", "nope-9x", TOKEN[:-1], TOKEN + "x", TOKEN.upper(), " " + TOKEN,
    TOKEN + "\x00", "é" + TOKEN, 12345, ["list"], {"t": TOKEN}, True, "x" * 100_000,
])
async def test_wrong_or_missing_token_is_refused_with_a_reason(
        token_server: ServerProcess, token: Any) -> None:
    srv = token_server
    auth: dict[str, Any] = {"user": "alice"}
    if token is not None:
        auth["token"] = token
    for ns in ("/chat", "/queue", "/", "/any-sandbox"):
        data = await refused(srv.url, ns, auth)
        assert isinstance(data, dict) and set(data) == {"message"}, data
        reason = data["message"]
        assert reason in ("wrong token", "this server requires a token (auth.token)"), reason
        if isinstance(token, str) and token:
            assert token not in reason


async def test_right_token_accepted_everywhere(token_server: ServerProcess) -> None:
    peer = await connected(token_server.url, "alice", "/chat", "/queue", "/", token=TOKEN)
    await peer.close()
    assert TOKEN not in without_invite("".join(token_server.output))


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server with --token for the module (starting one per case costs seconds)."""
    srv = ServerProcess(tmp_path_factory.mktemp("token") / "s.db", "--token", TOKEN,
                        "--log-level", "debug").start()
    yield srv
    output = without_invite(srv.stop())
    assert TOKEN not in output and "nope-9x" not in output


def test_token_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check goes through hmac.compare_digest, with the secret as bytes, for every
    string token (right or wrong), and never through ==."""
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr("server_stub.auth.hmac.compare_digest", spy)
    auth = Authenticator(TOKEN)
    assert auth.user_for({"user": "alice", "token": TOKEN}) == "alice"
    for wrong in ("nope", TOKEN + "!", "\ud800"):
        with pytest.raises(Refused):
            auth.user_for({"user": "alice", "token": wrong})
    assert len(calls) == 4
    assert all(isinstance(a, bytes) and b == TOKEN.encode() for a, b in calls)
    with pytest.raises(Refused):
        auth.user_for({"user": "alice"})
    assert len(calls) == 4  # a missing token is refused before any comparison
    assert Authenticator(None).user_for({"user": "bob", "token": "anything"}) == "bob"


def test_token_from_the_environment_stays_out_of_the_process_list(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "server_stub", "--port", "0", "--db", str(tmp_path / "s.db")],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=dict(os.environ, SOCKDESK_SERVER_TOKEN=TOKEN, PYTHONUNBUFFERED="1"))
    try:
        assert _readline_with_timeout(proc, 30).startswith("Listening on ")
        cmdline = Path(f"/proc/{proc.pid}/cmdline")
        if cmdline.exists():
            assert TOKEN.encode() not in cmdline.read_bytes()
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=15)
    assert TOKEN not in without_invite(out)
