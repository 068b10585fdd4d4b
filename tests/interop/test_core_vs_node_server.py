"""The client core against the official Node `socket.io` v4 server (interop)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.config import ConnectionConfig, ReconnectPolicy
from app.outbox import OutboxState
from app.session import AckRequest, ConnectionState, Session
from tests.app.helpers import until
from tests.support import free_port, node_available, node_process

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not node_available(),
                       reason="node and npm are not installed; the interop tests need them"),
]

SCRIPT = Path(__file__).parent / "node" / "server_echo.js"


class NodeServer:
    """server_echo.js on a port; its NDJSON lines collected by a reader thread."""

    def __init__(self, port: int, *args: str) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.args = args
        self.lines: list[dict[str, Any]] = []

    def run(self) -> Iterator[NodeServer]:
        with node_process(SCRIPT, str(self.port), *self.args) as proc:
            def read() -> None:
                assert proc.stdout is not None
                for line in proc.stdout:
                    if line.strip():
                        self.lines.append(json.loads(line))
            threading.Thread(target=read, daemon=True).start()
            yield self

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [x for x in self.lines if x["type"] == kind]


@pytest.fixture
async def sessions(tmp_path):
    made: list[Session] = []

    def make(url: str, **kw: Any) -> Session:
        kw.setdefault("namespaces", ["/", "/chat"])
        kw.setdefault("reconnect", ReconnectPolicy(delay=0.1, delay_max=0.5))
        s = Session(ConnectionConfig(url=url, **kw), tmp_path / f"c{len(made)}")
        made.append(s)
        return s

    yield make
    for s in made:
        await s.close()


async def start(srv: NodeServer) -> Iterator[NodeServer]:
    gen = srv.run()
    next(gen)
    await until(lambda: srv.of("listening"), timeout=60, what="the Node server")
    return gen


async def test_auth_catch_all_multi_arg_and_ack_request(sessions):
    srv = NodeServer(free_port(), "--token", "tok-1")
    gen = await start(srv)
    try:
        bad = sessions(srv.url, user="alice", token="nope")
        assert await bad.connect() is False
        assert bad.last_error == (f"The server at {srv.url} refused the connection to /: "
                                  "wrong token.")
        assert bad.state == ConnectionState.OFFLINE
        s = sessions(srv.url, user="alice", token="tok-1", auth={"role": "r"})
        anything: list[Any] = []
        s.on_any(lambda ns, ev, args: anything.append((ns, ev, args)))
        asked: list[AckRequest] = []

        def answer(req: AckRequest) -> None:
            asked.append(req)
            req.answer("yes", {"n": 2})
        s.ack_requested.connect(answer)
        assert await s.connect()
        await until(lambda: len(srv.of("connect")) == 2)
        assert {c["ns"] for c in srv.of("connect")} == {"/", "/chat"}
        assert all(c["user"] == "alice" and c["hasToken"] and c["extra"] == ["role"]
                   for c in srv.of("connect"))
        assert "tok-1" not in json.dumps(srv.lines)
        m = s.emit("/chat", "multi", 1, "two", {"three": [3]}, None)
        assert await s.wait_flushed(timeout=10)
        got = s.outbox.get(m.id)
        assert got.state == OutboxState.ACKED
        assert got.reply == {"ok": True, "args": [1, "two", {"three": [3]}, None]}
        # the Node server prints before it acks, but our reader thread may lag behind
        await until(lambda: any(x["event"] == "multi" for x in srv.of("event")))
        ev = next(x for x in srv.of("event") if x["event"] == "multi")
        assert ev["args"] == [1, "two", {"three": [3]}, None] and ev["hasAck"]
        # no id is invented for a foreign server's payload, even on /chat `message`
        s.emit("/chat", "message", {"room": "r", "text": "t"})
        assert await s.wait_flushed(timeout=10)
        await until(lambda: any(x["event"] == "message" for x in srv.of("event")))
        sent = next(x for x in srv.of("event") if x["event"] == "message")
        assert sent["args"] == [{"room": "r", "text": "t"}]
        assert not s.sockdesk_server
        # catch-all receives what the server emits
        s.emit("/", "broadcast-me", "a", {"b": 1})
        await until(lambda: any(ev == "news" for _, ev, _ in anything))
        assert ("/", "news", ["a", {"b": 1}]) in anything
        # the server asks us for an ack; we answer with our chosen payload
        s.emit("/", "ask-me")
        await until(lambda: srv.of("answer"))
        assert srv.of("answer")[0]["answer"] == ["yes", {"n": 2}]
        assert asked[0].event == "question" and asked[0].args == [{"q": 1}, "second"]
        assert await s.call("/", "direct", 5, timeout=5) == {"ok": True, "args": [5]}
    finally:
        for _ in gen:
            pass


async def test_outbox_flushes_when_the_node_server_starts_late(sessions):
    port = free_port()
    s = sessions(f"http://127.0.0.1:{port}", user="late", namespaces=["/"])
    msgs = [s.emit("/", "queued", i, {"i": i}) for i in range(50)]
    assert await s.connect() is False
    assert s.state == ConnectionState.RECONNECTING
    srv = NodeServer(port)
    gen = await start(srv)
    try:
        assert await s.wait_flushed(timeout=30)
        assert all(s.outbox.get(m.id).state == OutboxState.ACKED for m in msgs)
        def got() -> list[Any]:
            return [x["args"] for x in srv.of("event") if x["event"] == "queued"]
        await until(lambda: len(got()) == 50)
        assert got() == [[i, {"i": i}] for i in range(50)]
    finally:
        for _ in gen:
            pass


async def test_no_ack_mode_with_a_server_that_never_acks(sessions):
    srv = NodeServer(free_port(), "--never-ack")
    gen = await start(srv)
    try:
        s = sessions(srv.url, user="fire", namespaces=["/"], no_ack=True)
        msgs = [s.emit("/", "fire", i) for i in range(20)]
        assert await s.connect()
        assert await s.wait_flushed(timeout=10)
        assert all(s.outbox.get(m.id).state == OutboxState.ACKED for m in msgs)
        await until(lambda: len(srv.of("event")) == 20)
        assert [x["args"] for x in srv.of("event")] == [[i] for i in range(20)]
        assert not any(x["hasAck"] for x in srv.of("event"))
        # with acks requested, a server that never answers fails the message after retries
        s2 = sessions(srv.url, user="acker", namespaces=["/"], ack_timeout=0.3,
                      max_attempts=2)
        m = s2.emit("/", "wants-ack", 1)
        assert await s2.connect()
        assert await s2.wait_flushed(timeout=10)
        failed = s2.outbox.get(m.id)
        assert failed.state == OutboxState.FAILED
        assert "no acknowledgement after 2 attempts" in failed.error
        await until(lambda: len([x for x in srv.of("event") if x["event"] == "wants-ack"]) == 2)
    finally:
        for _ in gen:
            pass


async def test_unknown_namespace_on_the_node_server(sessions):
    srv = NodeServer(free_port())
    gen = await start(srv)
    try:
        s = sessions(srv.url, user="x", namespaces=["/", "/nope"])
        assert await s.connect() is False
        assert s.last_error == f"The server at {srv.url} has no namespace /nope."
    finally:
        for _ in gen:
            pass
