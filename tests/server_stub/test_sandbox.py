"""The sandbox (every namespace other than /chat and /queue, "/" included)."""

from __future__ import annotations

import pytest

from tests.server_stub.peers import connected, unique


@pytest.mark.parametrize("ns", ["/", "/sandbox", "/any/thing-else"])
async def test_relay_to_others_with_delivered_count(url: str, ns: str) -> None:
    a = await connected(url, unique("a"), ns)
    b = await connected(url, unique("b"), ns)
    c = await connected(url, unique("c"), ns)
    try:
        ack = await a.call("hello", "text", 2, {"x": [1, None]}, ns=ns)
        assert ack == {"ok": True, "delivered": 2}
        for peer in (b, c):
            assert await peer.next("hello", ns) == ["text", 2, {"x": [1, None]}]
        single = await b.call("one", {"k": "v"}, ns=ns)
        assert single == {"ok": True, "delivered": 2}
        assert await a.next("one", ns) == {"k": "v"}
        none = await c.call("nothing", ns=ns)
        assert none["delivered"] == 2
        assert await a.next("nothing", ns) == []
        # the sender never gets its own event back
        assert a.received("hello", ns) == [] and b.received("one", ns) == []
    finally:
        for peer in (a, b, c):
            await peer.close()


async def test_echo_is_acked_with_its_arguments_and_not_relayed(url: str) -> None:
    ns = f"/{unique('echo')}"
    a = await connected(url, unique("a"), ns)
    b = await connected(url, unique("b"), ns)
    try:
        assert await a.call("echo", 1, "two", [3], {"four": 4}, None, ns=ns) == {
            "ok": True, "args": [1, "two", [3], {"four": 4}, None]}
        assert await a.call("echo", ns=ns) == {"ok": True, "args": []}
        await a.call("marker", ns=ns)
        await b.next("marker", ns)
        assert b.received("echo", ns) == []
    finally:
        await a.close()
        await b.close()


async def test_delivered_counts_only_this_namespace(url: str) -> None:
    ns1, ns2 = f"/{unique('one')}", f"/{unique('two')}"
    a = await connected(url, unique("a"), ns1)
    b = await connected(url, unique("b"), ns2)
    try:
        assert await a.call("ping", ns=ns1) == {"ok": True, "delivered": 0}
    finally:
        await a.close()
        await b.close()


async def test_oversized_argument_is_refused(url: str) -> None:
    ns = f"/{unique('big')}"
    a = await connected(url, unique("a"), ns)
    try:
        ack = await a.call("blob", "x" * 70_000, ns=ns)
        assert ack["ok"] is False and ack["code"] == "too_large"
    finally:
        await a.close()
