"""Session behaviour that needs a server we control from the test: answering a server's
ack request, catch-all and per-event handlers, multi-arg emits, headers/query/auth,
transports, an unknown namespace, volatile emits and the Qt-free rule's neighbours."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote_plus

import pytest

from app.outbox import OutboxState
from app.session import AckRequest, ConnectionState
from tests.app.helpers import until
from tests.app.localserver import LocalServer


@pytest.fixture
async def local():
    srv = await LocalServer().start()
    yield srv
    await srv.stop()


async def test_answering_a_servers_ack_request(local, make_session):
    s = make_session(local.url, namespaces=["/"])
    asked: list[AckRequest] = []

    def answer(req: AckRequest) -> None:
        asked.append(req)
        if req.event == "question":
            req.reply = {"answer": 42}
        elif req.event == "multi":
            req.answer("a", 2, None)

    s.ack_requested.connect(answer)
    assert await s.connect()
    sid = await local.connected.get()
    assert await local.ask(sid, "ping", {"x": 1}) == {"ok": True}    # default auto-answer
    assert await local.ask(sid, "question", 1) == {"answer": 42}
    assert await local.ask(sid, "multi", 1) == ("a", 2, None)
    assert [r.event for r in asked] == ["ping", "question", "multi"]
    answered = [p for p in s.packet_log if p.kind == "ACK" and p.direction == "out"]
    assert len(answered) == 3 and all(p.latency_ms is not None for p in answered)


async def test_handlers_catch_all_and_multi_arg_emit(local, make_session):
    s = make_session(local.url, namespaces=["/", "/strict"], headers={"X-Test": "yes"},
                     query={"room": "a b"}, auth={"role": "tester"}, token="tok",
                     transports=["polling"])
    named: list[Any] = []
    anything: list[Any] = []
    s.on("/strict", "news", lambda *a: named.append(a))
    s.on_any(lambda ns, ev, args: anything.append((ns, ev, args)))
    assert await s.connect()
    assert s._client.transport() == "polling"
    env = local.environs[-1]
    assert env.get("HTTP_X_TEST") == "yes"
    assert "room=a b" in unquote_plus(env.get("QUERY_STRING", ""))
    assert local.auths[-1] == {"role": "tester", "user": "alice", "token": "tok"}
    await local.sio.emit("news", ("hello", {"n": 1}, [2]), namespace="/strict")
    await local.sio.emit("other", "x", namespace="/")
    await until(lambda: len(anything) == 2 and named)
    assert named == [("hello", {"n": 1}, [2])]
    assert ("/", "other", ["x"]) in anything
    await until(lambda: s.store.count("event:/strict:news") == 1)
    m = s.emit("/strict", "multi", 1, "two", {"three": 3}, [4])
    assert await s.wait_flushed(timeout=10)
    done = s.outbox.get(m.id)
    assert done.state == OutboxState.ACKED and done.reply == {"ok": True, "n": 4}
    assert ("/strict", "multi", [1, "two", {"three": 3}, [4]]) in local.events
    assert "id" not in str(local.events[-1][2])     # no id invented for other servers
    assert await s.call("/", "direct", 1, 2, timeout=5) == {"ok": True, "n": 2}


async def test_unknown_namespace_is_one_sentence(local, make_session):
    s = make_session(local.url, namespaces=["/missing"])
    assert await s.connect() is False
    assert s.last_error == f"The server at {local.url} has no namespace /missing."
    assert s.state == ConnectionState.OFFLINE
    # next to a namespace that exists, only the missing one is refused
    both = make_session(local.url, namespaces=["/", "/missing"])
    assert await both.connect()
    assert both.last_error == f"The server at {local.url} has no namespace /missing."
    assert both.namespace_errors == {"/missing": both.last_error}
    assert both.state == ConnectionState.CONNECTED and await both.wait_ready("/", 5)


async def test_refused_by_a_connect_handler(local, make_session):
    s = make_session(local.url, namespaces=["/"], token="bad")
    assert await s.connect() is False
    assert s.last_error == (f"The server at {local.url} refused the connection to /: "
                            "token rejected.")


async def test_no_ack_mode_and_volatile(make_session):
    srv = await LocalServer(never_ack=True).start()
    try:
        s = make_session(srv.url, namespaces=["/"], no_ack=True)
        offline = s.emit("/", "typing", {"x": 1}, volatile=True)
        assert offline.state == OutboxState.FAILED and "not connected" in offline.error
        msgs = [s.emit("/", "fire", i) for i in range(20)]
        assert await s.connect()
        assert await s.wait_flushed(timeout=10)
        assert all(s.outbox.get(m.id).state == OutboxState.ACKED for m in msgs)
        await until(lambda: len(srv.events) == 20)
        assert [e[2] for e in srv.events] == [[i] for i in range(20)]
        s.emit("/", "typing", {"x": 2}, volatile=True)
        await until(lambda: len(srv.events) == 21)
        assert s.outbox.depth() == 0 and s.store.count("outbox:/") == 20
        await s.close()
    finally:
        await srv.stop()


async def test_state_changes_carry_reason_and_time(local, make_session):
    s = make_session(local.url, namespaces=["/"])
    changes: list[Any] = []
    s.state_changed.connect(changes.append)
    assert await s.connect()
    await s.disconnect(reason="user pressed disconnect")
    assert [c.state for c in changes] == [ConnectionState.CONNECTING,
                                          ConnectionState.CONNECTED,
                                          ConnectionState.OFFLINE]
    assert changes[-1].reason == "disconnected (user pressed disconnect)"
    assert all(c.at > 0 for c in changes)
    assert changes[0].at <= changes[1].at <= changes[2].at


async def test_stored_events_come_one_batch_per_commit(make_session):
    """A GUI takes inbound messages a commit at a time (``events_stored``); per-message
    observers (the CLI, scripts) still get each one (``event_received``)."""
    s = make_session("http://127.0.0.1:9", namespaces=["/"])
    batches: list[list[Any]] = []
    each: list[Any] = []
    s.events_stored.connect(batches.append)
    s.event_received.connect(each.append)
    for i in range(5):
        s.event("/", "tick", [{"i": i}], False)
    s.outbox.enqueue("/", "mine", [1])  # outbound: not an inbound event
    assert batches == [] and each == []  # buffered, not committed yet
    s.store.flush()
    assert len(batches) == 1
    assert [m.args[0]["i"] for m in batches[0]] == [0, 1, 2, 3, 4]
    assert all(m.direction == "in" and m.rowid > 0 for m in batches[0])
    assert each == batches[0]
    s.store.flush()  # nothing new: no empty batch
    assert len(batches) == 1
