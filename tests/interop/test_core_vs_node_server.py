"""The client core against the official Node `socket.io` v4 server (interop)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from app.config import ConnectionConfig, ReconnectPolicy
from app.outbox import OutboxState
from app.session import AckRequest, ConnectionState, Session
from tests.app.helpers import until
from tests.interop.helpers import NodeServer
from tests.support import free_port, node_available

pytestmark = [
    pytest.mark.interop,
    pytest.mark.skipif(not node_available(),
                       reason="node and npm are not installed; the interop tests need them"),
]

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
        def wanting(event: str) -> int:
            return len([x for x in srv.of("event") if x["event"] == event])

        # by default a server that never answers gets the message exactly once: it
        # cannot drop a second copy, so a missing ack makes the message "no ack"
        once = sessions(srv.url, user="once", namespaces=["/"], ack_timeout=0.3,
                        max_attempts=2)
        m1 = once.emit("/", "wants-ack-once", 1)
        assert await once.connect()
        assert await once.wait_flushed(timeout=10)
        got = once.outbox.get(m1.id)
        assert got.state == OutboxState.NO_ACK and "not sent again" in got.error
        await until(lambda: wanting("wants-ack-once") == 1)
        await once.disconnect()
        assert await once.connect()          # a reconnect does not send it again either
        await until(lambda: once.is_ready("/"))
        assert once.outbox.get(m1.id).state == OutboxState.NO_ACK
        assert wanting("wants-ack-once") == 1
        # the user may send it again, on purpose
        once.outbox.retry(m1.id)
        await until(lambda: wanting("wants-ack-once") == 2)
        # opted into resends (socket.io-client's `retries`), it fails after the retries
        s2 = sessions(srv.url, user="acker", namespaces=["/"], ack_timeout=0.3,
                      max_attempts=2, delivery="until_acked")
        m = s2.emit("/", "wants-ack", 1)
        assert await s2.connect()
        assert await s2.wait_flushed(timeout=10)
        failed = s2.outbox.get(m.id)
        assert failed.state == OutboxState.FAILED
        assert "no acknowledgement after 2 attempts" in failed.error
        await until(lambda: wanting("wants-ack") == 2)
    finally:
        for _ in gen:
            pass


async def test_unknown_namespace_on_the_node_server(sessions):
    srv = NodeServer(free_port())
    gen = await start(srv)
    try:
        alone = sessions(srv.url, user="x", namespaces=["/nope"])
        assert await alone.connect() is False
        assert alone.last_error == f"The server at {srv.url} has no namespace /nope."
        assert alone.state == ConnectionState.OFFLINE
        # with other namespaces, only the unknown one is refused
        s = sessions(srv.url, user="x", namespaces=["/", "/nope"])
        assert await s.connect()
        assert s.last_error == f"The server at {srv.url} has no namespace /nope."
        assert s.namespace_errors == {"/nope": s.last_error}
        assert await s.wait_ready("/", timeout=5)
    finally:
        for _ in gen:
            pass


async def test_one_refused_namespace_leaves_the_others_connected(sessions):
    srv = NodeServer(free_port())
    gen = await start(srv)
    try:
        refused: list[tuple[str, str]] = []
        s = sessions(srv.url, user="dev", namespaces=["/", "/vip", "/orders"])
        s.namespace_refused.connect(lambda ns, why: refused.append((ns, why)))
        assert await s.connect()
        assert s.state == ConnectionState.CONNECTED
        assert await s.wait_ready("/", timeout=5) and await s.wait_ready("/orders", 5)
        assert not s.is_ready("/vip")
        why = (f"The server at {srv.url} refused the connection to /vip: members only "
               '({"hint":"ask for an invite"}).')
        assert refused[0] == ("/vip", why) and s.namespace_errors["/vip"] == why
        # the others work, the refused one is tried again on its own
        m = s.emit("/orders", "order:update", {"id": 7})
        assert await s.wait_flushed(timeout=10, namespaces=["/orders"])
        assert s.outbox.get(m.id).state == OutboxState.ACKED
        await until(lambda: len(refused) >= 2, timeout=10)   # retried, refused again
        assert s.state == ConnectionState.CONNECTED and s.is_ready("/orders")
        s.store.flush()
        assert s.store.count("outbox:/vip") == 0
    finally:
        for _ in gen:
            pass


async def test_a_server_on_a_custom_path(sessions):
    srv = NodeServer(free_port(), "--path", "/ws/socket.io")
    gen = await start(srv)
    try:
        wrong = sessions(srv.url, user="dev", namespaces=["/"],
                         reconnect=ReconnectPolicy(enabled=False))
        assert await wrong.connect() is False
        assert wrong.last_error == (f"Cannot connect to {srv.url}: nothing answers at "
                                    "/socket.io/ on that server (HTTP 404): is the "
                                    "Socket.IO path different?")
        s = sessions(srv.url, user="dev", namespaces=["/"], socketio_path="/ws/socket.io")
        assert await s.connect()
        assert await s.call("/", "where", 1, timeout=5) == {"ok": True, "args": [1]}
    finally:
        for _ in gen:
            pass


async def test_connection_state_recovery_loses_nothing_across_a_drop(sessions):
    """Against socket.io's own connectionStateRecovery: the connection is cut as a
    pulled cable would cut it, stays down for a second while the server keeps
    broadcasting, and every tick arrives exactly once; the missed ones marked."""
    srv = NodeServer(free_port())
    srv_script = Path(__file__).parent / "node" / "server_recovery.js"
    gen = srv.run_script(srv_script)
    next(gen)
    try:
        await until(lambda: srv.of("listening"), timeout=60, what="the Node server")
        s = sessions(srv.url, user="dev", namespaces=["/"],
                     reconnect=ReconnectPolicy(delay=1.0, delay_max=1.0, jitter=0))
        notes: list[tuple[str, bool, int]] = []
        s.recovery.connect(lambda ns, ok, n: notes.append((ns, ok, n)))
        assert await s.connect()

        def ticks() -> list[int]:
            s.store.flush()
            return [m.args[0] for m in s.store.page("event:/:tick", limit=100_000)]

        await until(lambda: len(ticks()) >= 10, what="ticks before the drop")
        await s.abort_transport()
        await until(lambda: s.state != ConnectionState.CONNECTED, what="the drop")
        await until(lambda: notes, timeout=20, what="the recovering reconnect")
        assert srv.of("connect")[-1]["recovered"] is True
        last = srv.of("tick")[-1]["n"]
        await until(lambda: ticks() and ticks()[-1] >= last + 5, what="ticks after")
        got = ticks()
        assert got == list(range(1, got[-1] + 1))          # none lost, none twice
        ns, ok, replayed = notes[0]
        assert (ns, ok) == ("/", True) and replayed >= 10  # ~1 s of 50 ms ticks
        s.store.flush()
        rows = s.store.page("event:/:tick", limit=100_000)
        assert sum(m.recovered for m in rows) == replayed
        kinds = [p.kind for p in s.packet_log]
        assert "DISCONNECT" in kinds and "RECOVERY" in kinds
    finally:
        for _ in gen:
            pass
