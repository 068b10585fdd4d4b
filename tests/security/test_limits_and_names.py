"""Abuse limits and name rules: payload cap, packet cap, rate limit, validated names."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest

from tests.server_stub.peers import connected, refused, unique

CAP = 64 * 1024


def exactly(n: int) -> str:
    """A JSON string whose compact encoding is exactly n bytes (quotes included)."""
    return "a" * (n - 2)


async def test_payload_cap_on_every_namespace(server: Any) -> None:
    peer = await connected(server.url, unique("big"), "/chat", "/queue", "/")
    room = unique("cap")
    try:
        assert (await peer.call("join", {"room": room}))["ok"]
        ok = await peer.call("echo", exactly(CAP), ns="/")
        assert ok["ok"], "exactly 64 KiB is allowed"
        for ns, event, payload in (
                ("/", "echo", exactly(CAP + 1)),
                ("/", "relay", exactly(CAP + 1)),
                ("/queue", "publish", {"queue": "q", "payload": "b" * CAP}),
                ("/chat", "message", {"room": room, "text": "c" * CAP}),
                ("/chat", "message", {"room": room, "text": "d" * 4001}),
                ("/chat", "dm", {"to": "x", "text": "e" * 4001})):
            ack = await peer.call(event, payload, ns=ns)
            assert ack["ok"] is False and ack["code"] == "too_large", (ns, event, ack)
        history = await peer.call("history", {"room": room})
        assert history["messages"] == []
    finally:
        await peer.close()


async def test_packet_over_one_mebibyte_drops_only_that_connection(server: Any) -> None:
    big = await connected(server.url, unique("huge"), "/")
    other = await connected(server.url, unique("other"), "/")
    gone = asyncio.Event()
    big.client.on("disconnect", lambda *_: gone.set(), namespace="/")
    try:
        await big.client.emit("echo", "z" * (1 << 20), namespace="/")
        await asyncio.wait_for(gone.wait(), 20)   # the transport just goes away
        assert (await other.call("echo", 1, ns="/")) == {"ok": True, "args": [1]}
    finally:
        await other.close()
        await big.close()


async def test_rate_limit_is_per_socket_and_limited_events_are_not_processed(
        server_factory: Any) -> None:
    srv = server_factory("--rate-limit", "10")
    room = unique("rl")
    fast = await connected(srv.url, unique("fast"), "/chat")
    calm = await connected(srv.url, unique("calm"), "/chat")
    try:
        assert (await fast.call("join", {"room": room}))["ok"]
        assert (await calm.call("join", {"room": room}))["ok"]
        acks = await asyncio.gather(*(fast.call("message", {"room": room, "text": f"{i}"})
                                      for i in range(60)))
        limited = [a for a in acks if not a["ok"]]
        stored = [a for a in acks if a["ok"]]
        assert limited and {a["code"] for a in limited} == {"rate_limited"}
        assert all(a["error"] for a in limited)
        # the other socket is not affected
        assert (await calm.call("message", {"room": room, "text": "calm"}))["ok"]
        history = (await calm.call("history", {"room": room}))["messages"]
        assert len(history) == len(stored) + 1, "a limited message was stored"
        # the bucket refills: within a few seconds the fast socket is served again
        deadline = time.monotonic() + 10
        while not (await fast.call("rooms"))["ok"]:
            assert time.monotonic() < deadline, "never served again"
            await asyncio.sleep(0.05)  # polling for the refill, not a fixed wait
    finally:
        await fast.close()
        await calm.close()


BAD_NAMES = ["", " " * 65, "r" * 65, "../../etc/passwd", "a/b", "room\x00", "tab\there",
             "new\nline", "ünïcode", "emoji😀", "x'; DROP TABLE chat_messages; --",
             "<script>", "room:other", "user:alice", "%2e%2e", "a\u202eb", "*", "$where"]


async def test_room_and_queue_names_are_validated(server: Any) -> None:
    peer = await connected(server.url, unique("names"), "/chat", "/queue")
    try:
        for name in BAD_NAMES:
            for ns, event, payload in (("/chat", "join", {"room": name}),
                                       ("/chat", "history", {"room": name}),
                                       ("/queue", "publish", {"queue": name, "payload": 1}),
                                       ("/queue", "subscribe", {"queue": name}),
                                       ("/queue", "purge", {"queue": name})):
                ack = await peer.call(event, payload, ns=ns)
                assert ack["ok"] is False and ack["code"] == "invalid", (name, event, ack)
        for good in ("r", "r" * 64, "Room 1.a_b-c", " leading space"):
            assert (await peer.call("join", {"room": good}))["ok"], good
        rooms = (await peer.call("rooms"))["rooms"]
        assert not {r["room"] for r in rooms} & set(BAD_NAMES)
    finally:
        await peer.close()


@pytest.mark.parametrize("user", ["", "a" * 33, "a b", "a/b", "root\x00", "ünï", "a:b",
                                  "<b>", "x'--"])
async def test_user_names_are_validated_at_connect_and_in_dm(server: Any, user: str) -> None:
    data = await refused(server.url, "/chat", {"user": user})
    assert "invalid user name" in data["message"]
    peer = await connected(server.url, unique("sender"), "/chat")
    try:
        ack = await peer.call("dm", {"to": user, "text": "hi"})
        assert ack["ok"] is False and ack["code"] == "invalid", ack
    finally:
        await peer.close()
