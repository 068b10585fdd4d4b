"""Lesson 7: the Redis adapter. Two server processes share one Redis: a message crosses
from one process to the other through Redis pub/sub; one process is killed, the other
cleans up after it (its users leave, the job it was holding out is handed out again),
and a client that knows both addresses fails over."""

from __future__ import annotations

import asyncio
from functools import partial
from typing import Any

from app.scenarios.engine import (
    Checks,
    EndState,
    Scenario,
    ScenarioError,
    ScenarioRun,
    Step,
    first_arg,
    holds_at_least,
    longer_than,
    packets_of,
    room_messages,
)
from app.scenarios.redis_watch import REDIS, RedisWatch
from app.scenarios.servers import RedisProcess, ServerProcess, stop_all
from app.session import ConnectionState

CHAT, QUEUE = "/chat", "/queue"
S1, S2 = "server-1", "server-2"
#: how old a process's heartbeat may get before the others take it for dead (seconds)
NODE_TIMEOUT = 3.0
FIRST, SECOND = "hello from server 1", "still here, now on server 2"
MAX_JOBS = 5


class RedisAdapterScenario(Scenario):
    key = "redis"
    number = 7
    title = "The Redis adapter: two servers, one Redis"
    short = "Redis adapter"
    summary = "A message crosses processes; one process dies and the other takes over."
    explanation = (
        "One server process holds its sockets in memory, so a second process cannot reach "
        "them. With the Redis adapter every process publishes its broadcasts on a Redis "
        "pub/sub channel and every other process hands them to its own sockets; rooms, "
        "presence and queues live in Redis too. Here the lesson starts redis-server and two "
        "SockDesk servers on it (sockdesk-server --redis URL). alice and carol are on "
        "server 1, bob on server 2. alice's app knows both addresses (the workspace's URL "
        "list), carol's only server 1. The Redis lane shows what the servers send to Redis, "
        "read with Redis's MONITOR command.")
    users = ("alice", "carol", "bob")
    columns = ("alice", "carol", S1, REDIS, S2, "bob")
    server_lanes = (S1, REDIS, S2)
    steps = (
        Step("Redis and two servers start",
             "redis-server on a free port, then two SockDesk servers, both with --redis and "
             f"--node-timeout {NODE_TIMEOUT:g}: each writes a heartbeat into Redis."),
        Step("Everyone connects",
             "alice and carol connect to server 1, bob to server 2. All three join #class; "
             "carol and bob also subscribe to a work queue, one job at a time."),
        Step("A message crosses processes",
             "alice writes on server 1. It stores the message in Redis (XADD) and PUBLISHes "
             "it; Redis copies it to server 2, which hands it to bob."),
        Step("Jobs for two workers",
             "alice publishes jobs. The queue lives in Redis, so the workers on both "
             "processes share it. carol takes a job and is slow: she holds it, unacked."),
        Step("Server 1 is killed",
             "SIGKILL: no goodbye to anyone. alice's app tries her next address and is back "
             "on server 2 in a moment. carol's app knows only server 1 and keeps trying."),
        Step("Server 2 cleans up",
             f"Server 1's heartbeat expires ({NODE_TIMEOUT:g} s). Server 2 takes the cleanup "
             "lock: carol leaves #class (bob sees it), and the job she held goes back to the "
             "queue with attempt 2, to bob."),
        Step("alice carries on",
             "alice writes again, now through server 2. The room's offsets go on from "
             "where they were: the history is in Redis, not in a process."),
    )

    async def play(self, run: ScenarioRun) -> None:
        procs: list[Any] = []
        run.memo["procs"] = procs
        try:
            await self._play(run, procs)
        except BaseException:
            await self._shutdown(run)
            raise

    async def _play(self, run: ScenarioRun, procs: list[Any]) -> None:
        room, queue = run.name("class"), run.name("jobs")
        run.memo.update(room=room, queue=queue, deliveries=[], acks=[], published=[])
        await run.step(0)
        folder = run.data_dir / "servers"
        redis = RedisProcess(folder / "redis")
        await redis.start()
        procs.append(redis)
        run.remark(REDIS, f"redis-server on port {redis.port}", "online")
        servers = {S1: ServerProcess(S1, "--redis", redis.url(), "--node-timeout",
                                     str(NODE_TIMEOUT), "--db", str(folder / "unused.db")),
                   S2: ServerProcess(S2, "--redis", redis.url(), "--node-timeout",
                                     str(NODE_TIMEOUT), "--db", str(folder / "unused.db"))}
        run.memo["servers"] = servers

        def lanes() -> dict[str, tuple[int | None, int, bool]]:
            return {n: (s.pid, s.port, s.running) for n, s in servers.items()}

        watch = RedisWatch(redis.url(), lanes, run.hop)
        run.memo["watch"] = watch
        await watch.start()
        for name, srv in servers.items():
            procs.insert(0, srv)
            await srv.start()
            run.remark(name, f"listening on port {srv.port}, --redis", "online")
        by_url = {srv.url: name for name, srv in servers.items()}

        await run.step(1)
        urls = {"alice": [servers[S1].url, servers[S2].url], "carol": [servers[S1].url],
                "bob": [servers[S2].url, servers[S1].url]}
        deliveries: list[tuple[str, int, int]] = run.memo["deliveries"]
        acks: list[tuple[str, int, Any]] = run.memo["acks"]
        holding: dict[str, int] = {}

        def worker(name: str) -> Any:
            async def handle(d: dict[str, Any]) -> None:
                seq, attempt = int(d["seq"]), int(d.get("attempt", 0))
                deliveries.append((name, seq, attempt))
                if name == "carol":
                    holding[name] = seq
                    await asyncio.Event().wait()      # slow: holds the job, never acks
                await run.beat(0.5)
                acks.append((name, seq, await run.sessions[name].queue.ack(queue, seq)))
            return handle

        for name in ("alice", "carol", "bob"):
            s = run.make_user(name, [CHAT, QUEUE])
            run.serve_from(name, urls[name])
            run.route(name, partial(_server_of, s, by_url))
            if name != "alice":
                await s.queue.subscribe(queue, worker(name), prefetch=1, auto_ack=False)
            await run.connect(name)
            await s.chat.join(room)
        alice, carol, bob = (run.sessions[n] for n in ("alice", "carol", "bob"))

        await run.step(2)
        run.memo["first_from"] = by_url.get(alice.current_url)
        run.memo["bob_on"] = by_url.get(bob.current_url)
        alice.chat.send(room, FIRST)
        await run.until(partial(holds_at_least, bob, room, 1), "bob to get alice's message")

        await run.step(3)
        for i in range(MAX_JOBS):
            got, done = len(deliveries), len(acks)
            msg = alice.emit(QUEUE, "publish", {"queue": queue,
                                                "payload": {"job": f"render slide {i + 1}"}})
            run.memo["published"].append(msg.id)
            await run.until(partial(longer_than, deliveries, got), "the next delivery")
            if deliveries[-1][0] == "bob":
                await run.until(partial(longer_than, acks, done), "bob to finish his job")
            if "carol" in holding and acks:
                break
        if "carol" not in holding or not acks:
            raise ScenarioError(f"after {MAX_JOBS} jobs carol held none, or bob did none")
        run.memo["held"] = holding["carol"]
        await run.beat()

        await run.step(4)
        servers[S1].kill()
        await servers[S1].wait()
        run.remark(S1, "killed (SIGKILL)", "crash")
        run.lane_state.emit(S1, "crash")
        await run.until(lambda: alice.state == ConnectionState.CONNECTED
                        and alice.current_url == servers[S2].url and alice.is_ready(CHAT),
                        "alice to fail over to server 2")
        run.remark("alice", "failed over to server 2", "online")
        run.memo["alice_after"] = by_url.get(alice.current_url)
        await run.until(lambda: carol.state != ConnectionState.CONNECTED,
                        "carol's connection to drop")
        run.remark("carol", "knows only server 1: keeps trying", "offline")

        await run.step(5)
        held = holding["carol"]
        await run.until(lambda: left(run, "bob", "carol"), "bob to see carol leave",
                        timeout=run.wait + NODE_TIMEOUT)
        await run.until(lambda: any(w == "bob" and s == held for w, s, _ in acks),
                        f"bob to finish job {held}", timeout=run.wait + NODE_TIMEOUT)

        await run.step(6)
        alice.chat.send(room, SECOND)
        await run.until(partial(holds_at_least, bob, room, 2), "bob to get alice's second "
                        "message")
        await run.until(lambda: alice.outbox.depth(CHAT) == 0, "the ack of alice's message")
        await run.beat()

    async def _shutdown(self, run: ScenarioRun) -> None:
        watch = run.memo.get("watch")
        if watch is not None:
            await watch.stop()
        await stop_all(run.memo.get("procs", []))

    async def check(self, run: ScenarioRun) -> EndState:
        try:
            return await self._check(run)
        finally:
            await self._shutdown(run)

    async def _check(self, run: ScenarioRun) -> EndState:
        m = run.memo
        room, queue, held = m["room"], m["queue"], m["held"]
        alice, bob = run.sessions["alice"], run.sessions["bob"]
        watch: RedisWatch = m["watch"]
        c = Checks()
        got = [(x.offset, first_arg(x.args).get("text")) for x in room_messages(bob, room)]
        c.facts["bob_room"] = got
        c.expect(m["first_from"] == S1 and m["bob_on"] == S2 and (1, FIRST) in got,
                 "alice wrote on server 1, bob got it on server 2 (offset 1)")
        crossed = [p for p in watch.published if p["by"] == S1 and p["event"] == "message"
                   and p["data"].get("text") == FIRST]
        c.facts["published"] = len(watch.published)
        c.expect(len(crossed) == 1, "it crossed through Redis: server 1 PUBLISHed it once")
        c.expect(m["alice_after"] == S2, "alice failed over to server 2 (her second address)")
        c.expect(sorted(got) == [(1, FIRST), (2, SECOND)],
                 "bob holds both of alice's messages once, offsets 1 and 2")
        gone = [p.args[0] for p in packets_of(run, "bob")
                if is_left(p, run.wire_name("carol"))]
        c.facts["left"] = gone
        members = [run.lane_of(u) for u in gone[-1].get("members", ["carol"])] \
            if gone else ["carol"]
        c.expect(bool(gone) and "carol" not in members,
                 "server 2 cleaned up: bob saw carol leave #class, the members now "
                 f"{', '.join(members) if gone else '?'}")
        reaped = [cap for lane, cap in watch.drawn if lane == S2 and S1 in cap]
        c.expect(bool(reaped), "server 2 took the cleanup lock for server 1 in Redis")
        seen = sorted((w, a) for w, s, a in m["deliveries"] if s == held)
        c.facts["held_deliveries"] = seen
        c.expect(seen == [("bob", 2), ("carol", 1)],
                 f"job {held}: carol held it (attempt 1), bob got it again (attempt 2)")
        acked = [seq for _w, seq, reply in m["acks"] if isinstance(reply, dict)
                 and reply.get("ok")]
        stats = await bob.call(QUEUE, "stats", {}, timeout=run.wait)
        row: dict[str, Any] = next(
            (q for q in stats.get("queues", []) if q.get("queue") == queue), {})
        c.facts["stats"] = row
        n = len(m["published"])
        c.expect(sorted(acked) == sorted(set(acked)) and len(acked) == n
                 and row.get("acked") == n and row.get("depth") == 0
                 and row.get("inflight") == 0,
                 f"all {n} jobs acked once; the queue in Redis is empty")
        c.expect(alice.outbox.depth() == 0, "nothing is left in alice's outbox")
        c.facts["redis_commands_not_drawn"] = watch.undrawn
        return c.end("a message crossed processes; after the kill nothing was lost")


def _server_of(session: Any, by_url: dict[str, str]) -> str:
    """The server lane a user is connected to now (its current address)."""
    return by_url.get(session.current_url, S1)


def is_left(p: Any, user: str) -> bool:
    return (p.direction == "in" and p.kind == "EVENT" and p.event == "presence"
            and bool(p.args) and isinstance(p.args[0], dict)
            and p.args[0].get("user") == user and p.args[0].get("event") == "left")


def left(run: ScenarioRun, lane: str, who: str) -> bool:
    """Has `lane` seen the simulated user `who` (a lane name) leave a room?"""
    user = run.wire_name(who)
    return any(is_left(p, user) for p in packets_of(run, lane))
