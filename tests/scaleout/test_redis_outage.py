"""Redis goes away and comes back: the server says ``internal`` meanwhile and recovers."""

from __future__ import annotations

import pytest

from tests.app.helpers import until
from tests.scaleout.conftest import Cluster
from tests.server_stub.peers import connected, unique
from tests.support import RedisServer

pytestmark = pytest.mark.redis


async def test_redis_outage_answers_internal_then_the_server_recovers(
        cluster: Cluster, redis: RedisServer) -> None:
    (srv,) = cluster(1)
    room, queue = unique("room"), unique("jobs")
    peer = await connected(srv.url, "alice", "/chat", "/queue")
    try:
        await peer.call("join", {"room": room})
        assert (await peer.call("message", {"room": room, "text": "before"}))["ok"]
        redis.stop()
        ack = await peer.call("message", {"room": room, "text": "during"})
        assert ack["ok"] is False and ack["code"] == "internal"
        ack = await peer.call("publish", {"queue": queue, "payload": 1}, ns="/queue")
        assert ack["ok"] is False and ack["code"] == "internal"
    finally:
        await peer.close()

    # Same port, empty (no persistence in the tests): the server finds its heartbeat gone,
    # so it takes itself for cleaned up, drops its clients and registers again; it also
    # has to load its Lua scripts again and subscribe again.
    redis.start()
    await until(lambda: "taken for dead" in "".join(srv.output), timeout=30,
                what="the server noticing that Redis lost its state")
    probe = await connected(srv.url, unique("bob"), "/chat", "/queue")
    try:
        assert (await probe.call("join", {"room": room}))["ok"]
        sent = await probe.call("message", {"room": room, "text": "after"})
        assert sent["ok"] and sent["offset"] == 1  # Redis came back empty
        published = await probe.call("publish", {"queue": queue, "payload": 2}, ns="/queue")
        assert published == {"ok": True, "id": published["id"], "seq": 1}
    finally:
        await probe.close()
    assert srv.proc is not None and srv.proc.poll() is None
    assert "forgot our scripts" in "".join(srv.output)  # they were loaded again
    srv.kill()  # it logged the failed requests with tracebacks, by design
