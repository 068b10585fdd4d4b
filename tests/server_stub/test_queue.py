"""/queue against a real server: publish, round robin, prefetch, acks, retries, dead letters."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.server_stub.conftest import ServerFactory
from tests.server_stub.peers import Peer, connected, unique

NS = "/queue"


async def consumer(url: str, queue: str, prefetch: int | None = None) -> Peer:
    peer = await connected(url, unique("worker"), NS)
    payload: dict[str, Any] = {"queue": queue}
    if prefetch is not None:
        payload["prefetch"] = prefetch
    ack = await peer.call("subscribe", payload, ns=NS)
    assert ack["ok"] is True and ack["queue"] == queue
    return peer


async def stats_of(peer: Peer, queue: str) -> dict[str, Any]:
    ack = await peer.call("stats", ns=NS)
    assert ack["ok"] is True
    rows = [row for row in ack["queues"] if row["queue"] == queue]
    assert len(rows) == 1, ack
    return rows[0]


async def test_publish_and_deliver_shape(url: str) -> None:
    queue = unique("q")
    producer = await connected(url, unique("producer"), NS)
    try:
        ack = await producer.call("publish", {"queue": queue, "payload": {"n": 1}, "id": "a"},
                                  ns=NS)
        assert ack == {"ok": True, "id": "a", "seq": 1}
        auto = await producer.call("publish", {"queue": queue, "payload": None}, ns=NS)
        assert auto["ok"] is True and len(auto["id"]) == 32 and auto["seq"] == 2
        worker = await consumer(url, queue)
        try:
            first = await worker.next("deliver", NS)
            assert set(first) == {"queue", "seq", "id", "payload", "attempt", "ts"}
            assert first["queue"] == queue and first["seq"] == 1 and first["id"] == "a"
            assert first["payload"] == {"n": 1} and first["attempt"] == 1
            second = await worker.next("deliver", NS)
            assert second["seq"] == 2 and second["payload"] is None
            assert (await worker.call("ack", {"queue": queue, "seq": 1}, ns=NS)) == {"ok": True}
            assert (await worker.call("ack", {"queue": queue, "seq": 2}, ns=NS)) == {"ok": True}
            again = await worker.call("ack", {"queue": queue, "seq": 2}, ns=NS)
            assert again["ok"] is False and again["code"] == "not_found"
            row = await stats_of(worker, queue)
            assert row == {"queue": queue, "depth": 0, "inflight": 0, "consumers": 1,
                           "acked": 2, "dead": 0}
        finally:
            await worker.close()
    finally:
        await producer.close()


async def test_publish_dedupe_returns_first_ack(url: str) -> None:
    queue = unique("q")
    producer = await connected(url, unique("producer"), NS)
    try:
        first = await producer.call("publish", {"queue": queue, "payload": 1, "id": "x"}, ns=NS)
        again = await producer.call("publish", {"queue": queue, "payload": 2, "id": "x"}, ns=NS)
        assert again == first
        racing = await asyncio.gather(*(producer.call(
            "publish", {"queue": queue, "payload": 3, "id": "y"}, ns=NS) for _ in range(5)))
        assert all(r == racing[0] for r in racing) and racing[0]["seq"] == 2
        # Same id in another queue is a different message.
        other = await producer.call("publish", {"queue": unique("q"), "payload": 1, "id": "x"},
                                    ns=NS)
        assert other["seq"] == 1
        assert (await stats_of(producer, queue))["depth"] == 2
    finally:
        await producer.close()


async def test_round_robin_across_two_consumers(url: str) -> None:
    queue = unique("rr")
    a = await consumer(url, queue)
    b = await consumer(url, queue)
    try:
        for n in range(6):
            await a.call("publish", {"queue": queue, "payload": n}, ns=NS)
        got_a = [(await a.next("deliver", NS))["seq"] for _ in range(3)]
        got_b = [(await b.next("deliver", NS))["seq"] for _ in range(3)]
        assert got_a == [1, 3, 5] and got_b == [2, 4, 6]
        assert (await stats_of(a, queue))["consumers"] == 2
    finally:
        await a.close()
        await b.close()


async def test_prefetch_is_honoured(url: str) -> None:
    queue = unique("prefetch")
    worker = await consumer(url, queue, prefetch=2)
    try:
        for n in range(5):
            await worker.call("publish", {"queue": queue, "payload": n}, ns=NS)
        first = [(await worker.next("deliver", NS))["seq"] for _ in range(2)]
        assert first == [1, 2]
        row = await stats_of(worker, queue)
        assert row["inflight"] == 2 and row["depth"] == 3
        await worker.call("ack", {"queue": queue, "seq": 1}, ns=NS)
        assert (await worker.next("deliver", NS))["seq"] == 3
        row = await stats_of(worker, queue)
        assert row["inflight"] == 2 and row["depth"] == 2
        assert len(worker.received("deliver", NS)) == 3
    finally:
        await worker.close()


async def test_disconnect_requeues_ahead_of_newer_with_attempt_2(url: str) -> None:
    queue = unique("crash")
    producer = await connected(url, unique("producer"), NS)
    try:
        await producer.call("publish", {"queue": queue, "payload": "old"}, ns=NS)
        first = await consumer(url, queue, prefetch=1)
        held = await first.next("deliver", NS)
        assert held["seq"] == 1 and held["attempt"] == 1
        await producer.call("publish", {"queue": queue, "payload": "new"}, ns=NS)
        await first.close()
        second = await consumer(url, queue, prefetch=1)
        try:
            again = await second.next("deliver", NS)
            assert again["seq"] == 1 and again["attempt"] == 2 and again["payload"] == "old"
            await second.call("ack", {"queue": queue, "seq": 1}, ns=NS)
            newer = await second.next("deliver", NS)
            assert newer["seq"] == 2 and newer["attempt"] == 1
        finally:
            await second.close()
    finally:
        await producer.close()


async def test_unsubscribe_requeues_what_was_held(url: str) -> None:
    queue = unique("unsub")
    worker = await consumer(url, queue, prefetch=1)
    try:
        await worker.call("publish", {"queue": queue, "payload": 1}, ns=NS)
        await worker.next("deliver", NS)
        assert (await worker.call("unsubscribe", {"queue": queue}, ns=NS)) == {"ok": True}
        row = await stats_of(worker, queue)
        assert row["depth"] == 1 and row["inflight"] == 0 and row["consumers"] == 0
        peek = await worker.call("peek", {"queue": queue}, ns=NS)
        assert peek["messages"][0]["attempt"] == 2
        assert (await worker.call("unsubscribe", {"queue": queue}, ns=NS)) == {"ok": True}
    finally:
        await worker.close()


async def test_nack_requeues_by_default_and_dead_letters_after_5_attempts(url: str) -> None:
    queue = unique("poison")
    worker = await consumer(url, queue, prefetch=1)
    try:
        await worker.call("publish", {"queue": queue, "payload": "bad", "id": "p"}, ns=NS)
        for attempt in range(1, 6):
            msg = await worker.next("deliver", NS)
            assert msg["seq"] == 1 and msg["attempt"] == attempt
            ack = await worker.call("nack", {"queue": queue, "seq": 1}, ns=NS)
            assert ack == {"ok": True}
        row = await stats_of(worker, queue)
        assert row["dead"] == 1 and row["depth"] == 0 and row["inflight"] == 0
        dead = await worker.call("peek", {"queue": f"{queue}.dead"}, ns=NS)
        assert [(m["seq"], m["id"], m["attempt"]) for m in dead["messages"]] == [(1, "p", 5)]
        assert dead["messages"][0]["queue"] == f"{queue}.dead"
        assert worker.received("deliver", NS)[-1]["attempt"] == 5  # no 6th delivery

        assert (await worker.call("requeue", {"queue": queue, "seq": 1}, ns=NS)) == {"ok": True}
        back = await worker.next("deliver", NS)
        assert back["seq"] == 1 and back["attempt"] == 1 and back["payload"] == "bad"
        missing = await worker.call("requeue", {"queue": queue, "seq": 1}, ns=NS)
        assert missing["ok"] is False and missing["code"] == "not_found"
        await worker.call("ack", {"queue": queue, "seq": 1}, ns=NS)
        row = await stats_of(worker, queue)
        assert row["dead"] == 0 and row["acked"] == 1
    finally:
        await worker.close()


async def test_nack_without_requeue_goes_to_dead_and_requeue_goes_to_tail(url: str) -> None:
    queue = unique("dead")
    producer = await connected(url, unique("producer"), NS)
    try:
        for n in range(3):
            await producer.call("publish", {"queue": queue, "payload": n}, ns=NS)
        worker = await consumer(url, queue, prefetch=1)
        try:
            msg = await worker.next("deliver", NS)
            ack = await worker.call("nack", {"queue": queue, "seq": msg["seq"],
                                             "requeue": False}, ns=NS)
            assert ack == {"ok": True}
            assert (await worker.next("deliver", NS))["seq"] == 2
            await worker.call("unsubscribe", {"queue": queue}, ns=NS)
        finally:
            await worker.close()
        assert (await stats_of(producer, queue))["dead"] == 1
        await producer.call("requeue", {"queue": queue, "seq": 1}, ns=NS)
        peek = await producer.call("peek", {"queue": queue}, ns=NS)
        assert [(m["seq"], m["attempt"]) for m in peek["messages"]] == [(2, 2), (3, 1), (1, 1)]
    finally:
        await producer.close()


async def test_peek_consumes_nothing_and_purge_empties(url: str) -> None:
    queue = unique("peek")
    peer = await connected(url, unique("u"), NS)
    try:
        for n in range(15):
            await peer.call("publish", {"queue": queue, "payload": {"n": n}, "id": f"i{n}"},
                            ns=NS)
        default = await peer.call("peek", {"queue": queue}, ns=NS)
        assert [m["seq"] for m in default["messages"]] == list(range(1, 11))
        three = await peer.call("peek", {"queue": queue, "limit": 3}, ns=NS)
        assert three["messages"][0] == {"queue": queue, "seq": 1, "id": "i0",
                                        "payload": {"n": 0}, "attempt": 1,
                                        "ts": three["messages"][0]["ts"]}
        assert len(three["messages"]) == 3
        assert (await stats_of(peer, queue))["depth"] == 15
        bad = await peer.call("peek", {"queue": queue, "limit": 1001}, ns=NS)
        assert bad["ok"] is False and bad["code"] == "invalid"
        assert (await peer.call("purge", {"queue": queue}, ns=NS)) == {"ok": True,
                                                                      "removed": 15}
        assert (await stats_of(peer, queue))["depth"] == 0
        assert (await peer.call("peek", {"queue": queue}, ns=NS))["messages"] == []
        empty = await peer.call("peek", {"queue": unique("nothing")}, ns=NS)
        assert empty == {"ok": True, "messages": []}
        assert (await peer.call("purge", {"queue": unique("nothing")}, ns=NS))["removed"] == 0
    finally:
        await peer.close()


async def test_purge_dead_and_dead_queue_rules(url: str) -> None:
    queue = unique("purge")
    worker = await consumer(url, queue, prefetch=1)
    try:
        await worker.call("publish", {"queue": queue, "payload": 0}, ns=NS)
        msg = await worker.next("deliver", NS)
        await worker.call("nack", {"queue": queue, "seq": msg["seq"], "requeue": False}, ns=NS)
        for event in ("publish", "subscribe"):
            ack = await worker.call(event, {"queue": f"{queue}.dead", "payload": 1}, ns=NS)
            assert ack["ok"] is False and ack["code"] == "invalid"
        removed = await worker.call("purge", {"queue": f"{queue}.dead"}, ns=NS)
        assert removed == {"ok": True, "removed": 1}
        assert (await stats_of(worker, queue))["dead"] == 0
    finally:
        await worker.close()


async def test_ack_of_message_held_by_someone_else_is_not_found(url: str) -> None:
    queue = unique("owner")
    holder = await consumer(url, queue)
    thief = await connected(url, unique("thief"), NS)
    try:
        await thief.call("publish", {"queue": queue, "payload": 1}, ns=NS)
        msg = await holder.next("deliver", NS)
        ack = await thief.call("ack", {"queue": queue, "seq": msg["seq"]}, ns=NS)
        assert ack["ok"] is False and ack["code"] == "not_found"
        assert (await stats_of(thief, queue))["inflight"] == 1
    finally:
        await holder.close()
        await thief.close()


async def test_stats_accepts_no_payload_and_lists_all_fields(url: str) -> None:
    queue = unique("stats")
    peer = await connected(url, unique("u"), NS)
    try:
        await peer.call("publish", {"queue": queue, "payload": 1}, ns=NS)
        for args in ((), ({},), (None,)):
            ack = await peer.call("stats", *args, ns=NS)
            assert ack["ok"] is True
            row = next(r for r in ack["queues"] if r["queue"] == queue)
            assert row == {"queue": queue, "depth": 1, "inflight": 0, "consumers": 0,
                           "acked": 0, "dead": 0}
    finally:
        await peer.close()


async def test_visibility_timeout_redelivers(server_factory: ServerFactory) -> None:
    srv = server_factory("--visibility-timeout", "0.5")
    queue = unique("slow")
    worker = await consumer(srv.url, queue, prefetch=1)
    try:
        await worker.call("publish", {"queue": queue, "payload": "job"}, ns=NS)
        first = await worker.next("deliver", NS)
        assert first["attempt"] == 1
        second = await worker.next("deliver", NS, timeout=5)  # ~0.5 s later
        assert second["seq"] == first["seq"] and second["attempt"] == 2
        late = await worker.call("ack", {"queue": queue, "seq": first["seq"]}, ns=NS)
        assert late == {"ok": True}  # acks the current delivery, which it holds again
    finally:
        await worker.close()


async def test_delete_forgets_a_queue_once_nobody_consumes_it(url: str) -> None:
    queue = unique("lesson")
    producer = await connected(url, unique("producer"), NS)
    worker = await consumer(url, queue, prefetch=1)
    try:
        for n in range(3):
            ack = await producer.call("publish", {"queue": queue, "payload": n, "id": f"j{n}"},
                                      ns=NS)
            assert ack["ok"] is True
        first = await worker.next("deliver", NS)
        busy = await producer.call("delete", {"queue": queue}, ns=NS)
        assert busy["ok"] is False and busy["code"] == "busy"
        assert "1 consumer(s) and 1 message(s) in flight" in busy["error"]
        nack = await worker.call("nack", {"queue": queue, "seq": first["seq"],
                                          "requeue": False}, ns=NS)
        assert nack == {"ok": True}
        await worker.call("unsubscribe", {"queue": queue}, ns=NS)
        assert (await stats_of(producer, queue))["dead"] == 1
        gone = await producer.call("delete", {"queue": queue}, ns=NS)
        assert gone == {"ok": True, "removed": 3}     # two waiting, one dead
        listed = await producer.call("stats", ns=NS)
        assert queue not in [row["queue"] for row in listed["queues"]]
        assert (await producer.call("peek", {"queue": queue + ".dead"}, ns=NS))["messages"] == []
        # the name starts afresh: seq 1, and an old id is not taken for a repeat
        again = await producer.call("publish", {"queue": queue, "payload": 9, "id": "j0"},
                                    ns=NS)
        assert again == {"ok": True, "id": "j0", "seq": 1}
        assert (await producer.call("delete", {"queue": unique("never")}, ns=NS)) == \
            {"ok": True, "removed": 0}
        dead_name = await producer.call("delete", {"queue": queue + ".dead"}, ns=NS)
        assert dead_name["ok"] is False and dead_name["code"] == "invalid"
    finally:
        await worker.close()
        await producer.close()
