"""Crash and restart: SIGKILL after acks, start again on the same database and port."""

from __future__ import annotations

from tests.server_stub.conftest import ServerFactory
from tests.server_stub.peers import connected, unique

Q = "/queue"


async def test_everything_acked_survives_sigkill(server_factory: ServerFactory) -> None:
    srv = server_factory()
    room, queue, dave = unique("room"), unique("jobs"), unique("dave")

    alice = await connected(srv.url, "alice", "/chat", Q)
    await alice.call("join", {"room": room})
    acks = [await alice.call("message", {"room": room, "text": f"m{i}", "id": f"id{i}"})
            for i in range(1, 4)]
    assert [a["offset"] for a in acks] == [1, 2, 3]
    dm = await alice.call("dm", {"to": dave, "text": "see you", "id": "dm1"})
    published = [await alice.call("publish", {"queue": queue, "payload": {"n": n},
                                              "id": f"job{n}"}, ns=Q)
                 for n in range(1, 4)]
    assert [p["seq"] for p in published] == [1, 2, 3]
    await alice.call("subscribe", {"queue": queue, "prefetch": 1}, ns=Q)
    held = await alice.next("deliver", Q)
    assert held["seq"] == 1 and held["attempt"] == 1
    await alice.call("publish", {"queue": queue, "payload": "dead", "id": "poison"}, ns=Q)
    await alice.call("ack", {"queue": queue, "seq": 1}, ns=Q)
    second = await alice.next("deliver", Q)
    assert second["seq"] == 2
    await alice.call("unsubscribe", {"queue": queue}, ns=Q)  # seq 2 back, attempt 2
    await alice.call("subscribe", {"queue": queue, "prefetch": 1}, ns=Q)
    inflight = await alice.next("deliver", Q)
    assert (inflight["seq"], inflight["attempt"]) == (2, 2)

    srv.kill()  # nothing flushed, no goodbye
    await alice.client.disconnect()
    srv.restart()

    bob = await connected(srv.url, "bob", "/chat", Q)
    try:
        ack = await bob.call("join", {"room": room, "since": 0})
        assert [(m["offset"], m["text"], m["id"]) for m in ack["history"]] == [
            (1, "m1", "id1"), (2, "m2", "id2"), (3, "m3", "id3")]
        assert ack["offset"] == 3
        nxt = await bob.call("message", {"room": room, "text": "after"})
        assert nxt["offset"] == 4

        rooms = await bob.call("rooms")
        assert {"room": room, "members": 1, "offset": 4} in rooms["rooms"]

        peek = await bob.call("peek", {"queue": queue}, ns=Q)
        assert [(m["seq"], m["id"], m["attempt"]) for m in peek["messages"]] == [
            (2, "job2", 3), (3, "job3", 1), (4, "poison", 1)]
        stats = await bob.call("stats", ns=Q)
        row = next(r for r in stats["queues"] if r["queue"] == queue)
        assert row == {"queue": queue, "depth": 3, "inflight": 0, "consumers": 0,
                       "acked": 1, "dead": 0}
    finally:
        await bob.close()

    # Dedupe ids survived: resends get the first acks, nothing is stored twice.
    alice = await connected(srv.url, "alice", "/chat", Q)
    try:
        resend = await alice.call("message", {"room": room, "text": "m2", "id": "id2"})
        assert resend == acks[1]  # even without joining again
        again = await alice.call("publish", {"queue": queue, "payload": {"n": 1},
                                             "id": "job1"}, ns=Q)
        assert again == published[0]  # acked and gone, but the id is remembered
        dm_again = await alice.call("dm", {"to": dave, "text": "see you", "id": "dm1"})
        assert dm_again == dm
        history = await alice.call("history", {"room": room})
        assert [m["offset"] for m in history["messages"]] == [1, 2, 3, 4]
    finally:
        await alice.close()

    # The DM kept for the offline user is delivered on their first connection.
    peer = await connected(srv.url, dave, "/chat")
    try:
        got = await peer.next("dm")
        assert got["id"] == "dm1" and got["user"] == "alice" and got["text"] == "see you"
    finally:
        await peer.close()


async def test_inflight_on_its_last_attempt_is_dead_after_restart(
        server_factory: ServerFactory) -> None:
    srv = server_factory("--max-attempts", "2")
    queue = unique("last")
    worker = await connected(srv.url, "w", Q)
    await worker.call("publish", {"queue": queue, "payload": 1}, ns=Q)
    await worker.call("subscribe", {"queue": queue}, ns=Q)
    await worker.next("deliver", Q)
    await worker.call("nack", {"queue": queue, "seq": 1}, ns=Q)
    assert (await worker.next("deliver", Q))["attempt"] == 2
    srv.kill()
    await worker.client.disconnect()
    srv.restart()
    peer = await connected(srv.url, "p", Q)
    try:
        dead = await peer.call("peek", {"queue": f"{queue}.dead"}, ns=Q)
        assert [(m["seq"], m["attempt"]) for m in dead["messages"]] == [(1, 2)]
    finally:
        await peer.close()


async def test_clean_shutdown_flushes_and_restarts(server_factory: ServerFactory) -> None:
    srv = server_factory()
    room = unique("room")
    peer = await connected(srv.url, "u", "/chat")
    await peer.call("join", {"room": room})
    await peer.call("message", {"room": room, "text": "kept"})
    await peer.client.disconnect()
    srv.stop()
    assert srv.proc is not None and srv.proc.returncode == 0
    srv.restart()
    again = await connected(srv.url, "u", "/chat")
    try:
        ack = await again.call("join", {"room": room, "since": 0})
        assert [m["text"] for m in ack["history"]] == ["kept"]
    finally:
        await again.close()
