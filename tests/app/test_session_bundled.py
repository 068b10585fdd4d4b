"""The session against the real bundled server on a free port: offline enqueue, crash
of the server mid-flush, reconnect recovery, refusals and the /queue consumer."""

from __future__ import annotations

from typing import Any

import pytest

from app.outbox import OutboxState
from app.session import ConnectionState, Session
from tests.app.helpers import until
from tests.support import ServerProcess, free_port


async def room_history(session: Session, room: str) -> list[dict[str, Any]]:
    """Every message of a room, paged with /chat `history` (the server's truth)."""
    out: list[dict[str, Any]] = []
    since = 0
    while True:
        page = await session.call("/chat", "history", {"room": room, "since": since,
                                                       "limit": 500})
        assert page["ok"], page
        out.extend(page["messages"])
        if not page["more"] or not page["messages"]:
            return out
        since = page["messages"][-1]["offset"]


def assert_exactly_once_in_order(history: list[dict[str, Any]], texts: list[str]) -> None:
    got = [m["text"] for m in history]
    assert len(got) == len(set(got)), "duplicates in the room"
    assert got == texts
    assert [m["offset"] for m in history] == list(range(1, len(texts) + 1))


@pytest.mark.timeout(120)
async def test_offline_enqueue_then_server_starts_late(tmp_path, make_session):
    port = free_port()
    srv = ServerProcess(tmp_path / "late.db", port=port)
    try:
        s = make_session(f"http://127.0.0.1:{port}", window=32)
        texts = [f"offline {i}" for i in range(1000)]
        msgs = [s.chat.send("late", t) for t in texts]
        assert s.outbox.depth("/chat") == 1000
        states: list[ConnectionState] = []
        s.state_changed.connect(lambda ch: states.append(ch.state))
        assert await s.connect() is False          # nothing listens yet
        assert s.state == ConnectionState.RECONNECTING
        assert "nothing is listening" in s.last_error
        srv.start()
        assert await s.wait_flushed(timeout=60)
        assert ConnectionState.CONNECTED in states
        acked = [s.outbox.get(m.id) for m in msgs]
        assert all(m.state == OutboxState.ACKED for m in acked)
        assert [m.reply["offset"] for m in acked] == list(range(1, 1001))
        history = await room_history(s, "late")
        assert_exactly_once_in_order(history, texts)
        # our stable ids travelled in the payload (the server dedupes on them)
        assert [m["id"] for m in history] == [m.id for m in msgs]
        assert s.sockdesk_server
        # our own messages are kept in the room queue too, with their offsets
        await until(lambda: s.store.count("room:/chat:late") == 1000)
    finally:
        srv.kill()


@pytest.mark.timeout(120)
async def test_server_killed_mid_flush_exactly_once_in_order(server, make_session):
    s = make_session(server.url, window=4)
    assert await s.connect()
    texts = [f"m{i}" for i in range(1500)]
    s.outbox.enqueue_many([("/chat", "message", [{"room": "crash", "text": t}])
                           for t in texts])
    await until(lambda: s.store.queue_info("outbox:/chat").acked >= 150, what="some acks")
    server.kill()
    await until(lambda: s.state == ConnectionState.RECONNECTING, what="reconnecting")
    assert s.outbox.depth("/chat") > 0, "the flush finished before the kill"
    assert s.store.queue_info("outbox:/chat").sent == 0  # in-flight went back to queued
    server.restart()
    assert await s.wait_flushed(timeout=60)
    assert_exactly_once_in_order(await room_history(s, "crash"), texts)
    reasons = [c.reason for c in s.state_history]
    assert any("connection lost" in r for r in reasons)
    # a dropped connection is not an unreachable server (the banner tells them apart)
    lost = next(c for c in s.state_history if "connection lost" in c.reason)
    assert not lost.unreachable


@pytest.mark.timeout(60)
async def test_failed_attempts_say_the_server_is_unreachable(make_session):
    s = make_session(f"http://127.0.0.1:{free_port()}")
    assert not await s.connect()  # nothing listens there; it keeps trying
    await until(lambda: any(c.unreachable for c in s.state_history), what="unreachable")
    failed = next(c for c in s.state_history if c.unreachable)
    assert failed.state == ConnectionState.RECONNECTING
    assert not s.state_history[0].unreachable  # the first attempt had not failed yet


@pytest.mark.timeout(60)
async def test_listener_recovers_exactly_what_it_missed(server, make_session):
    bob = make_session(server.url, user="bob")
    alice = make_session(server.url, user="alice")
    assert await bob.connect() and await alice.connect()
    await bob.chat.join("lobby")
    alice.chat.send("lobby", "before")
    live: list[Any] = []
    bob.event_received.connect(lambda m: live.append(m) if m.queue == "room:/chat:lobby" else None)
    await until(lambda: live, what="the live message")
    assert live[0].text == "before" and not live[0].recovered
    await bob.disconnect()
    assert bob.state == ConnectionState.OFFLINE and not bob.is_ready("/chat")
    texts = [f"missed {i}" for i in range(100)]
    for t in texts:
        alice.chat.send("lobby", t)
    assert await alice.wait_flushed(timeout=30)
    live.clear()
    assert await bob.connect()
    await until(lambda: len(live) >= 100, what="100 recovered messages")
    assert await bob.wait_ready("/chat", timeout=10)
    assert [m.text for m in live] == texts
    assert all(m.recovered for m in live)
    assert bob.chat.last_offset("lobby") == 101
    assert [m.text for m in bob.store.page("room:/chat:lobby")] == ["before", *texts]


@pytest.mark.timeout(60)
async def test_recovery_survives_a_new_session_on_the_same_data_dir(server, make_session,
                                                                    tmp_path):
    data = tmp_path / "bob-data"
    bob = make_session(server.url, user="bob", data_dir=data)
    alice = make_session(server.url, user="alice")
    assert await bob.connect() and await alice.connect()
    await bob.chat.join("persist")
    await bob.close()                                 # e.g. the GUI was closed
    for i in range(30):
        alice.chat.send("persist", f"p{i}")
    assert await alice.wait_flushed(timeout=30)
    bob2 = make_session(server.url, user="bob", data_dir=data)
    assert bob2.chat.rooms == ["persist"]
    got: list[Any] = []
    bob2.event_received.connect(
        lambda m: got.append(m) if m.queue == "room:/chat:persist" else None)
    assert await bob2.connect()
    await until(lambda: len(got) == 30)
    assert [m.text for m in got] == [f"p{i}" for i in range(30)]
    assert all(m.recovered for m in got)


async def test_refused_with_the_servers_reason(server_factory, make_session):
    srv = server_factory("--token", "s3cret")
    s = make_session(srv.url, token="guess-123")
    errors: list[str] = []
    s.errors.connect(errors.append)
    assert await s.connect() is False
    assert s.state == ConnectionState.OFFLINE
    assert len(errors) == 1 and "refused" in errors[0] and srv.url in errors[0]
    assert "s3cret" not in errors[0] and "guess-123" not in errors[0]
    # the CONNECT packet is logged with the token hidden
    connects = [p for p in s.packet_log if p.kind == "CONNECT" and p.direction == "out"]
    assert connects and connects[0].args[0]["token"] == "***"
    ok = make_session(srv.url, token="s3cret")
    assert await ok.connect()


async def test_unreachable_and_bad_url(make_session):
    port = free_port()
    s2 = make_session(f"http://127.0.0.1:{port}")
    assert await s2.connect() is False
    assert s2.last_error.startswith(f"Cannot connect to http://127.0.0.1:{port}")
    assert s2.state == ConnectionState.RECONNECTING
    await s2.disconnect()
    s3 = make_session("htp:/oops")
    assert await s3.connect() is False
    assert "not valid" in s3.last_error and s3.state == ConnectionState.OFFLINE
    s4 = make_session("http://no-such-host.invalid:5000")
    assert await s4.connect() is False
    assert "does not resolve" in s4.last_error


async def test_queue_consumer_acks_and_nacks(server, make_session):
    s = make_session(server.url, namespaces=["/queue"])
    assert await s.connect()
    for i in range(5):
        s.emit("/queue", "publish", {"queue": "jobs", "payload": {"n": i}})
    assert await s.wait_flushed(timeout=10)
    seen: list[tuple[int, int]] = []

    def handler(d: dict[str, Any]) -> None:
        seen.append((d["payload"]["n"], d["attempt"]))
        if d["payload"]["n"] == 2 and d["attempt"] == 1:
            raise RuntimeError("first try fails")

    await s.queue.subscribe("jobs", handler)
    handled: list[Any] = []
    s.queue.handled.connect(lambda d, ok, err: handled.append((d["payload"]["n"], ok)))
    await until(lambda: sum(ok for _, ok in handled) == 5, what="5 successful handlings")
    assert (2, False) in handled
    assert sorted(n for n, a in seen if a > 1) == [2]

    async def stats() -> dict[str, Any]:
        return {q["queue"]: q for q in (await s.call("/queue", "stats", {}))["queues"]}

    st = await stats()
    for _ in range(50):
        if st["jobs"]["acked"] == 5:
            break
        st = await stats()
    assert st["jobs"]["acked"] == 5 and st["jobs"]["depth"] == 0
    assert s.store.count("work:jobs") == 6


async def test_packet_log_has_kinds_sizes_and_ack_latency(server, make_session):
    s = make_session(server.url, namespaces=["/"])
    logged: list[Any] = []
    s.packet_log.packet_logged.connect(logged.append)
    assert await s.connect()
    assert await s.call("/", "echo", {"x": 1}, 2) == {"ok": True, "args": [{"x": 1}, 2]}
    kinds = {(p.direction, p.kind) for p in logged}
    assert {("out", "CONNECT"), ("in", "CONNECT"), ("out", "EVENT"), ("in", "ACK"),
            ("in", "EVENT")} <= kinds
    ack = next(p for p in logged if p.kind == "ACK" and p.direction == "in")
    assert ack.latency_ms is not None and ack.latency_ms >= 0 and ack.size > 0
    ev = next(p for p in logged if p.kind == "EVENT" and p.direction == "out")
    assert ev.event == "echo" and ev.args == [{"x": 1}, 2] and ev.ack_id is not None


@pytest.mark.timeout(90)
async def test_recovery_pages_history_when_more_than_one_join_worth(server, make_session):
    """More than 500 missed messages: the join answers `more`, the rest comes by `history`."""
    bob = make_session(server.url, user="bob")
    alice = make_session(server.url, user="alice")
    assert await bob.connect() and await alice.connect()
    await bob.chat.join("big")
    await bob.disconnect()
    texts = [f"b{i}" for i in range(1234)]
    alice.outbox.enqueue_many([("/chat", "message", [{"room": "big", "text": t}])
                               for t in texts])
    assert await alice.wait_flushed(timeout=60)
    recovered: list[Any] = []
    bob.chat.recovered.connect(lambda room, n: recovered.append((room, n)))
    assert await bob.connect()
    assert await bob.wait_ready("/chat", timeout=30)
    assert recovered == [("big", 1234)]
    await until(lambda: bob.store.count("room:/chat:big") == 1234)
    rows = bob.store.page("room:/chat:big", limit=2000)
    assert [m.text for m in rows] == texts and all(m.recovered for m in rows)
    assert bob.chat.last_offset("big") == 1234


@pytest.mark.timeout(120)
async def test_slow_consumer_is_told_reconnects_and_recovers(server_factory, make_session):
    """bob stops reading during a flood of 3 KB messages: once the kernel's buffers and
    his send queue (100 packets) are full, the server closes him as a slow consumer.
    bob reads again, his session says why, reconnects, and his room has every message
    once. (A client that keeps reading is never closed, however small the queue: the
    server writes to a socket with nothing waiting without queueing.)"""
    server = server_factory("--send-queue-packets", "100")
    bob = make_session(server.url, user="bob")
    alice = make_session(server.url, user="alice", window=64)
    assert await bob.connect() and await alice.connect()
    await bob.chat.join("burst")
    connection = bob.manager.client.eio.ws._conn.transport  # aiohttp's, under the websocket
    connection.pause_reading()
    texts = [f"burst {i} " + "x" * 3000 for i in range(1500)]
    alice.outbox.enqueue_many([("/chat", "message", [{"room": "burst", "text": t}])
                               for t in texts])
    await until(lambda: "slow consumer" in "".join(server.output), timeout=60,
                what="the server closing bob as a slow consumer")
    connection.resume_reading()  # within the grace period: he reads the notice
    reason = "disconnected by the server: slow consumer"
    await until(lambda: any(reason in ch.reason for ch in bob.state_history),
                timeout=30, what="bob told he was a slow consumer")
    assert await alice.wait_flushed(timeout=60)
    await until(lambda: bob.store.count("room:/chat:burst") >= 1500, timeout=60,
                what="bob recovered the room")
    got = [m.text for m in bob.store.page("room:/chat:burst", limit=2000)]
    assert sorted(got) == sorted(texts)  # each once (live and recovered may interleave)
