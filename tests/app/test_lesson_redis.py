"""Lesson 7, the Redis adapter, against a real redis-server and two real server
processes that the lesson starts itself: its end state, checked again from the data."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.scenarios import RedisAdapterScenario, RunState, ScenarioRun
from app.scenarios.engine import first_arg, room_messages
from app.scenarios.hops import Hop
from app.scenarios.servers import REDIS_MISSING, RedisProcess
from tests.support import REDIS_MISSING as NO_REDIS
from tests.support import redis_available

pytestmark = [pytest.mark.timeout(120), pytest.mark.redis]


async def test_redis_lesson_runs_to_its_end(tmp_path: Path) -> None:
    if not redis_available():
        pytest.skip(NO_REDIS)
    # the lesson starts what it needs: the URL of the teacher's server is not used
    run = ScenarioRun(RedisAdapterScenario(), "http://127.0.0.1:9", tmp_path / "learn")
    steps: list[int] = []
    run.step_changed.connect(steps.append)
    try:
        end = await run.run()
        assert end.ok, (end.headline, end.details)
        assert run.state == RunState.PASSED
        assert steps == [*range(len(RedisAdapterScenario.steps)),
                         len(RedisAdapterScenario.steps)]
        m = run.memo
        room, held = m["room"], m["held"]
        bob = run.sessions["bob"]
        texts = [(x.offset, first_arg(x.args).get("text")) for x in room_messages(bob, room)]
        assert sorted(texts) == [(1, "hello from server 1"), (2, "still here, now on server 2")]
        # alice's packets went to server 1 first, then (after the kill) to server 2
        peers = [p.peer for lane, p in run.packets if lane == "alice" and isinstance(p, Hop)]
        assert peers[0] == "server-1" and peers[-1] == "server-2"
        assert "server-2" in peers and peers.index("server-2") > peers.index("server-1")
        # the Redis lane: server 1 published alice's message, Redis copied it to server 2
        redis_hops = [(lane, p.peer, p.caption) for lane, p in run.packets
                      if isinstance(p, Hop) and p.kind in ("PUBSUB", "REDIS")]
        assert ("server-1", "redis", "PUBLISH message “hello from server 1”") in redis_hops
        assert ("redis", "server-2", "pub/sub copy: message “hello from server 1”") \
            in redis_hops
        assert any(lane == "server-2" and "clean up after server-1" in cap
                   for lane, _peer, cap in redis_hops)
        assert any(cap == f"job {held} back in the queue, attempt 2"
                   for _lane, _peer, cap in redis_hops)
        # the job carol held: attempt 1 to carol, attempt 2 to bob, acked by bob only
        held_by = sorted((w, a) for w, s, a in m["deliveries"] if s == held)
        assert held_by == [("bob", 2), ("carol", 1)]
        assert [w for w, s, _r in m["acks"] if s == held] == ["bob"]
        # the processes are gone after the lesson
        assert all(not srv.running for srv in m["servers"].values())
    finally:
        await run.close()


async def test_missing_redis_is_one_clear_sentence(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    with pytest.raises(Exception) as info:
        await RedisProcess(tmp_path / "r").start()
    assert str(info.value) == REDIS_MISSING
    assert "apt-get install redis-server" in REDIS_MISSING
    run = ScenarioRun(RedisAdapterScenario(), "http://127.0.0.1:9", tmp_path / "learn")
    try:
        end = await run.run()
        assert not end.ok and "install redis-server (apt-get install redis-server)" \
            in end.headline
    finally:
        await run.close()
