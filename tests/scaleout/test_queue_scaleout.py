"""/queue with producers and consumers on different server processes sharing one Redis."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from tests.scaleout.conftest import Cluster
from tests.server_stub.peers import Peer, connected, unique

pytestmark = pytest.mark.redis

NS = "/queue"
WAIT = 20.0


async def consumer(url: str, queue: str, prefetch: int) -> Peer:
    peer = await connected(url, unique("worker"), NS)
    ack = await peer.call("subscribe", {"queue": queue, "prefetch": prefetch}, ns=NS)
    assert ack["ok"] is True
    return peer


async def stats_of(peer: Peer, queue: str) -> dict[str, Any]:
    rows = (await peer.call("stats", ns=NS))["queues"]
    return next(row for row in rows if row["queue"] == queue)


async def test_workers_on_three_processes_ack_every_job_exactly_once(cluster: Cluster) -> None:
    servers = cluster(3)
    queue, jobs = unique("jobs"), 150
    workers = [await consumer(srv.url, queue, prefetch=5) for srv in servers]
    producers = [await connected(srv.url, unique("producer"), NS) for srv in servers[:2]]
    deliveries: list[tuple[int, int, int]] = []  # (worker, seq, attempt)
    acked: list[int] = []
    all_acked = asyncio.Event()

    async def work(index: int, worker: Peer) -> None:
        while True:
            job = await worker.next("deliver", NS, timeout=60)
            deliveries.append((index, job["seq"], job["attempt"]))
            ack = await worker.call("ack", {"queue": queue, "seq": job["seq"]}, ns=NS)
            assert ack == {"ok": True}, ack
            acked.append(job["seq"])
            if len(acked) == jobs:
                all_acked.set()

    tasks = [asyncio.create_task(work(i, w)) for i, w in enumerate(workers)]
    try:
        published = await asyncio.gather(*(
            producers[n % 2].call("publish", {"queue": queue, "payload": {"n": n},
                                              "id": f"job-{n}"}, ns=NS)
            for n in range(jobs)))
        assert sorted(p["seq"] for p in published) == list(range(1, jobs + 1))
        # Resends through the *other* process are recognised: the first ack comes back.
        again = await asyncio.gather(*(
            producers[(n + 1) % 2].call("publish", {"queue": queue, "payload": "dup",
                                                    "id": f"job-{n}"}, ns=NS)
            for n in range(0, jobs, 10)))
        assert again == published[::10]
        await asyncio.wait_for(all_acked.wait(), 90)
        assert sorted(acked) == list(range(1, jobs + 1))  # each job acked exactly once
        assert Counter(seq for _, seq, _ in deliveries) == Counter(range(1, jobs + 1))
        assert {attempt for _, _, attempt in deliveries} == {1}
        assert set(Counter(w for w, _, _ in deliveries)) == {0, 1, 2}  # all three worked
        assert await stats_of(producers[0], queue) == {
            "queue": queue, "depth": 0, "inflight": 0, "consumers": 3, "acked": jobs,
            "dead": 0}
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for peer in (*workers, *producers):
            await peer.close()


async def test_requeue_and_visibility_timeout_cross_processes(cluster: Cluster) -> None:
    a, b = cluster(2, "--visibility-timeout", "1")
    queue = unique("handover")
    producer = await connected(a.url, unique("producer"), NS)
    on_b = await consumer(b.url, queue, prefetch=1)
    on_a = await consumer(a.url, queue, prefetch=1)
    try:
        await producer.call("publish", {"queue": queue, "payload": "one"}, ns=NS)
        first = await on_b.next("deliver", NS, timeout=WAIT)
        assert (first["seq"], first["attempt"]) == (1, 1)
        await producer.call("publish", {"queue": queue, "payload": "two"}, ns=NS)
        second = await on_a.next("deliver", NS, timeout=WAIT)
        assert (second["seq"], second["attempt"]) == (2, 1)

        # B's consumer disconnects: #1 is back at once, ahead of anything newer, and goes
        # to the consumer on A as soon as it has room.
        await on_b.close()
        await producer.call("publish", {"queue": queue, "payload": "three"}, ns=NS)
        assert await on_a.call("ack", {"queue": queue, "seq": 2}, ns=NS) == {"ok": True}
        back = await on_a.next("deliver", NS, timeout=WAIT)
        assert (back["seq"], back["attempt"], back["payload"]) == (1, 2, "one")

        # Not acked within the visibility timeout (swept by either process): handed out
        # again, once, with attempt 3, to a consumer on either process.
        late = await consumer(b.url, queue, prefetch=1)
        try:
            third = await late.next("deliver", NS, timeout=WAIT)  # was waiting behind #1
            assert (third["seq"], third["attempt"]) == (3, 1)
            assert await late.call("ack", {"queue": queue, "seq": 3}, ns=NS) == {"ok": True}
            got = await asyncio.wait_for(_first_delivery(on_a, late), WAIT)
            holder, redelivered = got
            assert (redelivered["seq"], redelivered["attempt"]) == (1, 3)
            assert await holder.call("ack", {"queue": queue, "seq": 1}, ns=NS) == {"ok": True}
            if holder is late:  # the old holder lost it
                stale = await on_a.call("ack", {"queue": queue, "seq": 1}, ns=NS)
                assert stale["code"] == "not_found"
            row = await stats_of(producer, queue)
            assert row["acked"] == 3 and row["dead"] == 0 and row["inflight"] == 0
            attempts_3 = [d for p in (on_a, late) for d in p.received("deliver", NS)
                          if d["seq"] == 1 and d["attempt"] == 3]
            assert len(attempts_3) == 1
        finally:
            await late.close()
    finally:
        await producer.close()
        await on_a.close()


async def _first_delivery(*peers: Peer) -> tuple[Peer, dict[str, Any]]:
    """The first ``deliver`` any of the peers gets, and who got it."""
    waits = {asyncio.create_task(p.next("deliver", NS, timeout=WAIT)): p for p in peers}
    done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    task = next(iter(done))
    return waits[task], task.result()
