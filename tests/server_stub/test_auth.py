"""Connect-time auth: user names, tokens, connect_error data, rate limiting."""

from __future__ import annotations

import asyncio

import pytest

from tests.server_stub.conftest import ServerFactory
from tests.server_stub.peers import connected, refused, unique
from tests.support import without_invite


@pytest.mark.parametrize("auth", [
    None, {}, {"user": ""}, {"user": "has space"}, {"user": "x" * 33}, {"user": 42},
    {"user": "ünïcode"}, "alice",
])
async def test_bad_user_names_are_refused_with_a_message(url: str, auth: object) -> None:
    # No auth or no user at all is a guest on a sandbox namespace (test_guests.py).
    guest = auth is None or auth == {}
    for ns in ("/chat", "/queue") if guest else ("/chat", "/queue", "/"):
        data = await refused(url, ns, auth)
        assert isinstance(data, dict) and set(data) == {"message"}, data
        assert isinstance(data["message"], str) and data["message"]


async def test_longest_valid_user_name_is_accepted(url: str) -> None:
    name = "a._-" + "b" * 28
    peer = await connected(url, name, "/chat")
    await peer.close()


async def test_token_is_required_when_configured(server_factory: ServerFactory) -> None:
    srv = server_factory("--token", "s3cret-token")
    for ns in ("/chat", "/queue", "/sandbox"):
        missing = await refused(srv.url, ns, {"user": "alice"})
        assert "token" in missing["message"]
        wrong = await refused(srv.url, ns, {"user": "alice", "token": "nope"})
        assert "token" in wrong["message"]
        not_a_string = await refused(srv.url, ns, {"user": "alice", "token": 123})
        assert not_a_string["message"]
    peer = await connected(srv.url, "alice", "/chat", "/queue", "/", token="s3cret-token")
    await peer.close()
    assert "s3cret-token" not in without_invite(srv.stop())


async def test_rate_limit_answers_rate_limited(server_factory: ServerFactory) -> None:
    srv = server_factory("--rate-limit", "5")
    peer = await connected(srv.url, unique("fast"), "/chat")
    try:
        acks = await asyncio.gather(*(peer.call("rooms") for _ in range(20)))
        codes = [a.get("code") for a in acks if not a["ok"]]
        assert codes and set(codes) == {"rate_limited"}
        assert sum(1 for a in acks if a["ok"]) >= 5
        assert all(isinstance(a.get("error", ""), str) for a in acks)
    finally:
        await peer.close()
