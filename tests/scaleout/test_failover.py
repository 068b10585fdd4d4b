"""A server process is SIGKILLed: the survivors clean up after it and its clients carry on
through another process, with nothing lost and nothing stored twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import redis as redis_py

from app.config import ConnectionConfig, ReconnectPolicy
from app.session import Session
from tests.app.helpers import until
from tests.scaleout.balancer import Balancer
from tests.scaleout.conftest import FAST_NODE_TIMEOUT, Cluster
from tests.server_stub.peers import connected, unique
from tests.support import RedisServer, ServerProcess

pytestmark = pytest.mark.redis

NS = "/queue"
#: The node timeout is 2 s here; cleaning up also needs a heartbeat round on a busy machine.
CLEANUP = 20.0


def node_of(redis: RedisServer, srv: ServerProcess) -> str:
    """The cluster node id of a server process (its address is in the id)."""
    client = redis_py.Redis.from_url(redis.url(0), decode_responses=True)
    try:
        nodes = [n for n in client.smembers("sd:nodes")
                 if n.split("#")[0].endswith(f":{srv.port}")]
    finally:
        client.close()
    assert len(nodes) == 1, nodes
    return nodes[0]


async def test_survivors_clean_up_after_a_killed_process(cluster: Cluster,
                                                         redis: RedisServer) -> None:
    a, b = cluster(2, node_timeout=FAST_NODE_TIMEOUT)
    room, queue = unique("room"), unique("jobs")
    alice = await connected(a.url, "alice", "/chat", NS)
    bob = await connected(b.url, "bob", "/chat", NS)
    try:
        await alice.call("join", {"room": room})
        await bob.call("join", {"room": room})
        assert (await alice.next("presence", timeout=CLEANUP))["event"] == "joined"
        # bob's message, stored and broadcast by B; we pretend B died before the
        # broadcast was marked done, so the survivor must broadcast it again.
        sent = await bob.call("message", {"room": room, "text": "last words", "id": "lw"})
        assert (await alice.next("message", timeout=CLEANUP))["id"] == "lw"
        client = redis_py.Redis.from_url(redis.url(0), decode_responses=True)
        client.sadd(f"sd:node:{node_of(redis, b)}:unsent", f"{sent['offset']}:{room}")
        client.close()

        await bob.call("subscribe", {"queue": queue, "prefetch": 3}, ns=NS)
        for n in range(5):
            await alice.call("publish", {"queue": queue, "payload": n}, ns=NS)
        held = [await bob.next("deliver", NS, timeout=CLEANUP) for _ in range(3)]
        assert [d["seq"] for d in held] == [1, 2, 3]
        await alice.call("subscribe", {"queue": queue, "prefetch": 10}, ns=NS)
        rest = [await alice.next("deliver", NS, timeout=CLEANUP) for _ in range(2)]
        assert [d["seq"] for d in rest] == [4, 5]

        b.kill()
        await bob.client.disconnect()

        assert await alice.next("presence", timeout=CLEANUP) == {
            "room": room, "user": "bob", "event": "left", "members": ["alice"]}
        again = await alice.next("message", timeout=CLEANUP)
        assert (again["id"], again["offset"]) == ("lw", sent["offset"])
        back = [await alice.next("deliver", NS, timeout=CLEANUP) for _ in range(3)]
        assert sorted((d["seq"], d["attempt"]) for d in back) == [(1, 2), (2, 2), (3, 2)]
        for d in rest + back:
            assert await alice.call("ack", {"queue": queue, "seq": d["seq"]}, ns=NS) == {
                "ok": True}
        stats = await alice.call("stats", ns=NS)
        assert next(r for r in stats["queues"] if r["queue"] == queue) == {
            "queue": queue, "depth": 0, "inflight": 0, "consumers": 1, "acked": 5, "dead": 0}
        rooms = await alice.call("rooms")
        assert {"room": room, "members": 1, "offset": sent["offset"]} in rooms["rooms"]
    finally:
        await alice.close()


def make_session(url: str, user: str, folder: Path) -> Session:
    cfg = ConnectionConfig(url=url, user=user, namespaces=["/chat"],
                           transports=["websocket"], window=4, ack_timeout=5.0,
                           reconnect=ReconnectPolicy(delay=0.1, delay_max=0.5))
    return Session(cfg, folder / user)


async def room_history(session: Session, room: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    since = 0
    while True:
        page = await session.call("/chat", "history", {"room": room, "since": since})
        out.extend(page["messages"])
        if not page["more"]:
            return out
        since = page["messages"][-1]["offset"]


@pytest.mark.timeout(180)
async def test_clients_of_a_killed_process_carry_on_elsewhere_exactly_once(
        cluster: Cluster, tmp_path: Path) -> None:
    a, b = cluster(2, node_timeout=FAST_NODE_TIMEOUT)
    balancer = await Balancer([b.port, a.port]).start()  # everyone lands on B first
    room, per_sender = unique("failover"), 250
    watcher = await connected(a.url, "watcher")  # on A the whole time
    senders = [make_session(balancer.url, f"sender{i}", tmp_path) for i in range(2)]
    reader = make_session(balancer.url, "reader", tmp_path)
    sessions = [*senders, reader]
    try:
        await watcher.call("join", {"room": room})
        for s in sessions:
            assert await s.connect()
        await reader.chat.join(room)
        texts = {s.config.user: [f"{s.config.user}-{n}" for n in range(per_sender)]
                 for s in senders}
        for s in senders:
            s.outbox.enqueue_many([("/chat", "message", [{"room": room, "text": t}])
                                   for t in texts[s.config.user]])
        await until(lambda: sum(s.store.queue_info("outbox:/chat").acked
                                for s in senders) >= 60, timeout=60, what="some acks")
        assert all(s.outbox.depth("/chat") > 0 for s in senders), "flushed before the kill"
        b.kill()  # the senders and the reader were all on B

        for s in senders:
            assert await s.wait_flushed(timeout=120)
        total = 2 * per_sender
        history = await room_history(senders[0], room)
        assert [m["offset"] for m in history] == list(range(1, total + 1))
        for user, sent in texts.items():  # each sender's messages once, in order
            assert [m["text"] for m in history if m["user"] == user] == sent
        # The watcher on A never disconnected: every message reached it live (a message
        # B stored but had not broadcast when it died is re-broadcast by A; a copy with
        # the same offset is allowed, a gap is not).
        await until(lambda: {m["offset"] for m in watcher.received("message")}
                    >= set(range(1, total + 1)), timeout=60, what="the watcher's messages")
        by_offset = {m["offset"]: m for m in history}
        for m in watcher.received("message"):
            assert m == by_offset[m["offset"]]
        # The reader was on B: it rejoined through A with `since` and has every message.
        queue = f"room:/chat:{room}"
        await until(lambda: reader.store.count(queue) == total, timeout=60,
                    what="the reader's recovered messages")
        assert reader.chat.last_offset(room) == total
        assert set(balancer.routed) == {a.port, b.port}
    finally:
        for s in sessions:
            await s.close()
        await watcher.close()
        await balancer.close()
