"""The sandbox's `announce` (io.of(ns).emit) and `ask` (emitWithAck to the asking socket)."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.server_stub.peers import connected, unique


async def test_announce_reaches_every_socket_the_sender_included(url: str) -> None:
    ns, other = f"/{unique('ann')}", f"/{unique('elsewhere')}"
    a = await connected(url, unique("a"), ns)
    b = await connected(url, unique("b"), ns)
    c = await connected(url, unique("c"), other)
    try:
        ack = await a.call("announce", {"event": "news", "args": [{"text": "hi"}, 2]}, ns=ns)
        assert ack == {"ok": True, "delivered": 2}
        assert await a.next("news", ns) == [{"text": "hi"}, 2]     # the sender too
        assert await b.next("news", ns) == [{"text": "hi"}, 2]
        # not relayed as "announce", and nothing on another namespace
        assert await c.call("echo", ns=other) == {"ok": True, "args": []}
        assert c.received("news", other) == [] and b.received("announce", ns) == []
        assert await a.call("announce", {"event": "bare"}, ns=ns) == {"ok": True,
                                                                       "delivered": 2}
        assert await b.next("bare", ns) == []
    finally:
        for peer in (a, b, c):
            await peer.close()


async def test_announce_and_ask_refuse_bad_requests(url: str) -> None:
    ns = f"/{unique('bad')}"
    a = await connected(url, unique("a"), ns)
    try:
        for event in ("announce", "ask"):
            for payload in ("news", {"args": []}, {"event": ""}, {"event": "x" * 65},
                            {"event": "connect"}, {"event": "echo"},
                            {"event": "news", "args": {"not": "a list"}}):
                ack = await a.call(event, payload, ns=ns)
                assert ack["ok"] is False and ack["code"] == "invalid", (event, payload, ack)
                assert ack["error"]
        ack = await a.call("ask", {"event": "q", "timeout": 0}, ns=ns)
        assert ack["code"] == "invalid" and "timeout" in ack["error"]
    finally:
        await a.close()


async def test_ask_is_an_emit_with_ack_from_the_server(url: str) -> None:
    ns = f"/{unique('ask')}"
    a = await connected(url, unique("a"), ns)
    b = await connected(url, unique("b"), ns)
    asked: list[Any] = []

    async def quiz(question: dict[str, Any], extra: int) -> tuple[dict[str, Any], str]:
        asked.append((question, extra))
        await asyncio.sleep(0)
        return {"answer": question["a"] * question["b"]}, "sure"

    a.client.on("quiz", quiz, namespace=ns)
    try:
        ack = await a.call("ask", {"event": "quiz", "args": [{"a": 6, "b": 7}, 1]}, ns=ns)
        assert ack["ok"] is True and ack["answer"] == [{"answer": 42}, "sure"]
        assert isinstance(ack["ms"], int | float) and ack["ms"] >= 0
        assert asked == [({"a": 6, "b": 7}, 1)]
        # only the asking socket was asked
        await a.call("marker", ns=ns)
        await b.next("marker", ns)
        assert b.received("quiz", ns) == []
    finally:
        await a.close()
        await b.close()


async def test_ask_without_an_answer_times_out_with_a_sentence(url: str) -> None:
    ns = f"/{unique('silent')}"
    a = await connected(url, unique("a"), ns)
    never = asyncio.Event()

    async def silent(*_args: Any) -> None:
        await never.wait()          # holds the ack, as a client that never answers

    a.client.on("question", silent, namespace=ns)
    try:
        ack = await a.call("ask", {"event": "question", "timeout": 200}, ns=ns)
        assert ack["ok"] is False and ack["code"] == "timeout"
        assert "did not answer 'question' within 200 ms" in ack["error"]
        # the connection is fine afterwards
        assert await a.call("echo", 1, ns=ns) == {"ok": True, "args": [1]}
    finally:
        never.set()
        await a.close()


async def test_the_echo_rule_changes_neither_announce_nor_ask(server_factory: Any) -> None:
    ns = "/tutorial"
    srv = server_factory("--echo", ns)
    a = await connected(srv.url, unique("a"), ns)
    b = await connected(srv.url, unique("b"), ns)
    a.client.on("quiz", lambda q: {"answer": q}, namespace=ns)
    try:
        assert await a.call("announce", {"event": "news", "args": ["x"]}, ns=ns) == {
            "ok": True, "delivered": 2}
        assert await a.next("news", ns) == "x" and await b.next("news", ns) == "x"
        ack = await a.call("ask", {"event": "quiz", "args": [7]}, ns=ns)
        assert ack["ok"] is True and ack["answer"] == [{"answer": 7}]
        # neither request was relayed, to b or (echo rule) back to a
        assert await a.call("marker", ns=ns) == {"ok": True, "delivered": 2}
        await b.next("marker", ns)
        await a.next("marker", ns)
        assert b.received("announce", ns) == [] and b.received("ask", ns) == []
        assert a.received("announce", ns) == [] and b.received("quiz", ns) == []
    finally:
        await a.close()
        await b.close()
