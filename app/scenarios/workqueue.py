"""Lesson 6: a work queue with two consumers; one dies holding a job, which is handed to
the other with attempt 2. Delivery is at least once (that job is delivered twice) and
every job is acked once, which is why a worker's handling must be idempotent."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from functools import partial
from typing import Any

from app.keys import work_key
from app.outbox import OutboxState
from app.scenarios.engine import (
    Checks,
    EndState,
    Scenario,
    ScenarioError,
    ScenarioRun,
    Step,
    first_arg,
    longer_than,
)

QUEUE_NS = "/queue"
FIRST_JOBS = ("resize photo 1", "resize photo 2", "resize photo 3", "resize photo 4")
MAX_EXTRA = 6   # jobs published one by one until carol holds one


class WorkQueueScenario(Scenario):
    key = "workqueue"
    number = 6
    title = "A work queue with two workers"
    short = "Work queue, 2 workers"
    summary = ("At-least-once delivery, one ack per job: a job whose worker dies is "
               "delivered again.")
    explanation = (
        "A work queue hands each job to one worker at a time: never to both at once. The "
        "worker acknowledges the job when it is done; only then does the server forget "
        "it. If a worker dies before acknowledging, the server notices the dropped "
        "connection and hands the same job to another worker, marked attempt 2. That is "
        "at-least-once delivery: no job is lost, but a job can be started twice (the "
        "first worker may have done part of it, or all of it, before dying). So each job "
        "is acked once, and a worker must make doing a job twice harmless: idempotent "
        "handling, e.g. write the result under the job's id and skip a job whose result "
        "exists.")
    users = ("alice", "bob", "carol")
    steps = (
        Step("Two workers subscribe",
             "bob and carol subscribe to the queue, taking one job at a time (prefetch 1)."),
        Step("alice publishes jobs",
             "alice publishes 4 jobs. The server keeps them in the queue, in order."),
        Step("Each job goes to one worker",
             "The server deals the jobs out in turn. Each worker does its job and sends an "
             "ack; the server then forgets that job."),
        Step("carol dies holding a job",
             "carol takes the next job but crashes before she acks it: her connection is "
             "cut, with no goodbye."),
        Step("The job comes back, attempt 2",
             "The server sees carol's connection drop, puts her job back at the front, and "
             "hands it to bob with attempt: 2. bob finishes it and acks. The job was "
             "delivered twice (at least once), acked once; had carol got halfway, bob's "
             "handling would have to cope with that (idempotent)."),
    )

    async def play(self, run: ScenarioRun) -> None:
        queue = run.name("jobs")
        deliveries: list[tuple[str, int, int]] = []      # (worker, seq, attempt)
        acks: list[tuple[str, int, Any]] = []            # (worker, seq, ack reply)
        holding: dict[str, int] = {}
        run.memo.update(queue=queue, deliveries=deliveries, acks=acks, holding=holding,
                        published=[])
        crash = asyncio.Event()

        def worker(name: str) -> Any:
            async def handle(d: dict[str, Any]) -> None:
                seq, attempt = int(d["seq"]), int(d.get("attempt", 0))
                deliveries.append((name, seq, attempt))
                if name == "carol" and crash.is_set():
                    holding[name] = seq
                    await asyncio.Event().wait()      # "working" until she dies
                await run.beat(0.7)                   # doing the job
                reply = await run.sessions[name].queue.ack(queue, seq)
                acks.append((name, seq, reply))
            return handle

        await run.step(0)
        for name in ("bob", "carol"):
            # remembered before connecting: the session subscribes once it is ready
            s = run.make_user(name, [QUEUE_NS])
            await s.queue.subscribe(queue, worker(name), prefetch=1, auto_ack=False)
            await run.connect(name)
            await run.until(partial(subscribed, run, name), f"{name}'s subscription")

        await run.step(1)
        alice = await run.user("alice", [QUEUE_NS])
        for job in FIRST_JOBS:
            self._publish(run, alice, job)
            await run.beat(0.3)

        await run.step(2)
        await run.until(lambda: len(acks) == len(FIRST_JOBS), "the first jobs to be acked",
                        timeout=run.wait + 4 * run.pace)

        await run.step(3)
        crash.set()
        for i in range(MAX_EXTRA):
            delivered, done = len(deliveries), len(acks)
            self._publish(run, alice, f"print report {i + 1}")
            await run.until(partial(longer_than, deliveries, delivered), "the next delivery")
            if "carol" in holding:
                break
            await run.until(partial(longer_than, acks, done), "bob to finish the job")
        if "carol" not in holding:
            raise ScenarioError("carol never got a job to hold")
        run.memo["held"] = holding["carol"]
        await run.beat()
        await run.drop_abruptly("carol")

        await run.step(4)
        held = holding["carol"]
        await run.until(lambda: any(w == "bob" and s == held for w, s, _ in acks),
                        "bob to finish carol's job", timeout=run.wait + 2 * run.pace)
        published = run.memo["published"]
        await run.until(lambda: len(acks) >= len(published), "every job to be acked")
        await run.beat()

    @staticmethod
    def _publish(run: ScenarioRun, alice: Any, job: str) -> None:
        msg = alice.emit(QUEUE_NS, "publish", {"queue": run.memo["queue"],
                                               "payload": {"job": job}})
        run.memo["published"].append(msg.id)

    async def check(self, run: ScenarioRun) -> EndState:
        m = run.memo
        queue, held = m["queue"], m.get("held")
        alice = run.sessions["alice"]
        c = Checks()
        await run.until(lambda: alice.outbox.depth(QUEUE_NS) == 0, "alice's publishes")
        published = [alice.outbox.get(i) for i in m["published"]]
        seqs = sorted(p.reply["seq"] for p in published
                      if p and p.state == OutboxState.ACKED and isinstance(p.reply, dict))
        c.facts["published"] = seqs
        c.expect(len(seqs) == len(published), f"alice published {len(published)} jobs")
        # deliveries as each worker's store recorded them (carol's store outlives her crash)
        seen: dict[int, list[tuple[str, int]]] = defaultdict(list)
        for name in ("bob", "carol"):
            s = run.sessions[name]
            s.store.flush()
            for stored in s.store.page(work_key(queue), limit=10_000):
                d = first_arg(stored.args)
                seen[int(d.get("seq", -1))].append((name, int(d.get("attempt", 0))))
        c.facts["deliveries"] = {k: sorted(v, key=lambda x: x[1]) for k, v in seen.items()}
        acked = Counter(seq for _, seq, reply in m["acks"]
                        if isinstance(reply, dict) and reply.get("ok"))
        c.facts["acks"] = dict(acked)
        c.expect(sorted(acked) == seqs and all(n == 1 for n in acked.values()),
                 f"every one of the {len(seqs)} jobs was acked once")
        others = [s for s in seqs if s != held]
        c.expect(all(len(seen[s]) == 1 and seen[s][0][1] == 1 for s in others),
                 "every other job was delivered once, to one worker, attempt 1")
        c.expect(held is not None and sorted(seen[held], key=lambda x: x[1])
                 == [("carol", 1), ("bob", 2)],
                 f"job {held}: carol got it (attempt 1), died, bob got it again (attempt 2)")
        done_by = {seq: name for name, seq, reply in m["acks"]}
        c.expect(held is not None and done_by.get(held) == "bob",
                 f"job {held} was acked by bob only")
        c.expect({w for w, *_ in m["deliveries"]} == {"bob", "carol"},
                 "both workers got jobs")
        stats = await alice.call(QUEUE_NS, "stats", {}, timeout=run.wait)
        row: dict[str, Any] = next(
            (q for q in stats.get("queues", []) if q.get("queue") == queue), {})
        c.facts["stats"] = row
        c.expect(row.get("acked") == len(seqs) and row.get("depth") == 0
                 and row.get("inflight") == 0 and row.get("dead") == 0,
                 f"the server agrees: {row.get('acked')} acked, nothing waiting, "
                 "in flight or dead")
        return c.end(f"every job acked exactly once, delivered at least once: job {held} "
                     "twice, to carol, then to bob with attempt 2")


def subscribed(run: ScenarioRun, name: str) -> bool:
    """True once the server acked one of this user's `subscribe` emits with ok."""
    asked = {p.ack_id for lane, p in run.packets if lane == name and p.direction == "out"
             and p.kind == "EVENT" and p.event == "subscribe"}
    return any(lane == name and p.direction == "in" and p.kind == "ACK"
               and p.ack_id in asked and p.args and isinstance(p.args[0], dict)
               and p.args[0].get("ok") for lane, p in run.packets)
