"""Lesson 5: a missed event. carol goes offline, the others keep talking, carol comes
back: `since` recovers exactly what she missed, and her outbox sends what she wrote."""

from __future__ import annotations

from collections import Counter
from functools import partial

from app.outbox import OutboxState
from app.scenarios.engine import (
    Checks,
    EndState,
    Scenario,
    ScenarioError,
    ScenarioRun,
    Step,
    acked,
    holds_at_least,
    packets_of,
    room_messages,
)

CHAT = "/chat"

BEFORE = (("alice", "Hi everyone!"), ("bob", "Hi alice."), ("carol", "Hello, I'm here too."))
WHILE_AWAY = (("alice", "Did everyone read chapter 3?"), ("bob", "Yes, the part on acks."),
              ("alice", "Quiz on Friday then."), ("bob", "Noted!"))
OFFLINE_WRITES = ("Sorry, my wifi dropped.", "What did I miss?")


class MissedEventScenario(Scenario):
    key = "missed"
    number = 5
    title = "A missed event, recovered"
    short = "A missed event"
    summary = "carol drops out; nothing is lost in either direction."
    explanation = (
        "Every message in a room gets a number, its offset: 1, 2, 3, ... with no gaps. "
        "carol's app remembers the highest offset it has seen. When she comes back, it "
        "joins the room again and says 'since 3': the server answers with exactly the "
        "messages after 3, no more, no less. What carol typed while offline waited in her "
        "outbox (a queue on her own disk) and is sent as soon as she is back.")
    users = ("alice", "bob", "carol")
    steps = (
        Step("Everyone joins the room",
             "alice, bob and carol connect to /chat and join the same room."),
        Step("A little chat",
             "Each says something. Every message gets the next offset: 1, 2, 3."),
        Step("carol goes offline",
             "Her connection is gone. Her app still knows the last offset she saw."),
        Step("The others keep talking",
             "alice and bob send 4 more messages (offsets 4 to 7). carol cannot get them "
             "now: they are missed events."),
        Step("carol writes while offline",
             "She types 2 messages. They cannot be sent, so they wait in her outbox: see "
             "the badge under her name."),
        Step("carol comes back",
             "Her app re-joins the room with since = her last offset. The server sends "
             "exactly the 4 missed messages. Then her outbox flushes the 2 she wrote."),
    )

    async def play(self, run: ScenarioRun) -> None:
        room = run.name("lobby")
        run.memo["room"] = room
        await run.step(0)
        users = {name: await run.user(name, [CHAT]) for name in self.users}
        for s in users.values():
            await s.chat.join(room)

        await run.step(1)
        await self._talk(run, users, BEFORE)
        carol = users["carol"]
        await run.until(lambda: carol.chat.last_offset(room) == len(BEFORE),
                        "carol to see the first messages")

        await run.step(2)
        run.memo["since"] = carol.chat.last_offset(room)
        await run.go_offline("carol")

        await run.step(3)
        await self._talk(run, users, WHILE_AWAY)

        await run.step(4)
        run.memo["offline_ids"] = []
        for text in OFFLINE_WRITES:
            run.memo["offline_ids"].append(carol.chat.send(room, text).id)
            await run.beat(0.5)
        run.memo["outbox_while_offline"] = carol.outbox.depth(CHAT)

        await run.step(5)
        recovered: list[int] = []
        carol.chat.recovered.connect(lambda r, n: recovered.append(n) if r == room else None)
        run.remark("carol", "back online", "online")
        await run.connect("carol")
        await run.until(lambda: recovered, "carol's recovery")
        run.memo["recovered_signal"] = recovered[0]
        if not await carol.wait_flushed(timeout=run.wait, namespaces=[CHAT]):
            raise ScenarioError("carol's outbox did not flush")
        total = len(BEFORE) + len(WHILE_AWAY) + len(OFFLINE_WRITES)
        for name in ("alice", "bob", "carol"):
            s = users[name]
            await run.until(partial(holds_at_least, s, room, total),
                            f"{name} to hold all {total} messages")
        await run.beat()

    @staticmethod
    async def _talk(run: ScenarioRun, users: dict, lines: tuple) -> None:
        for name, text in lines:
            msg = users[name].chat.send(run.memo["room"], text)
            s = users[name]
            await run.until(partial(acked, s, msg.id),
                            f"the ack of {name}'s message")
            await run.beat(0.6)

    async def check(self, run: ScenarioRun) -> EndState:
        room = run.memo["room"]
        carol = run.sessions["carol"]
        c = Checks()
        # the server's own record of the room
        history = await carol.chat.history(room, since=0, limit=500)
        server = [(m["offset"], m["id"]) for m in history.get("messages", [])]
        total = len(BEFORE) + len(WHILE_AWAY) + len(OFFLINE_WRITES)
        c.expect(len(server) == total and [o for o, _ in server] == list(range(1, total + 1)),
                 f"the server holds {total} messages with offsets 1..{total}")
        for name, s in run.sessions.items():
            rows = room_messages(s, room)
            offsets = Counter(m.offset for m in rows)
            ids = Counter(m.msg_id for m in rows)
            once = all(n == 1 for n in offsets.values()) and all(n == 1 for n in ids.values())
            same = sorted((m.offset, m.msg_id) for m in rows) == server
            c.facts[f"{name}_offsets"] = sorted(offsets)
            c.expect(once and same, f"{name} holds every message exactly once "
                     f"({len(rows)} of {len(server)}, same ids and offsets as the server)")
        since = run.memo["since"]
        joins = [p.args[0].get("since") for p in packets_of(run, "carol")
                 if p.kind == "EVENT" and p.event == "join" and p.direction == "out"
                 and p.args and isinstance(p.args[0], dict)]
        c.facts["join_since"] = joins
        c.expect(since in joins, f"carol re-joined with since = {since}")
        rows = room_messages(carol, room)
        recovered = sorted(m.offset for m in rows if m.recovered)
        missed = list(range(since + 1, since + 1 + len(WHILE_AWAY)))
        c.facts["recovered"] = recovered
        c.expect(recovered == missed and run.memo["recovered_signal"] == len(WHILE_AWAY),
                 f"exactly the {len(WHILE_AWAY)} missed messages were recovered "
                 f"(offsets {missed[0]}–{missed[-1]})")
        mine = [carol.outbox.get(i) for i in run.memo["offline_ids"]]
        c.facts["outbox_while_offline"] = run.memo["outbox_while_offline"]
        c.expect(run.memo["outbox_while_offline"] == len(OFFLINE_WRITES)
                 and all(m is not None and m.state == OutboxState.ACKED for m in mine)
                 and carol.outbox.depth(CHAT) == 0,
                 f"her {len(OFFLINE_WRITES)} offline messages waited in the outbox, then "
                 "were acked")
        offs = [m.reply.get("offset") for m in mine if m and isinstance(m.reply, dict)]
        c.expect(offs == [total - 1, total], "they came after the missed ones (offsets "
                 f"{total - 1} and {total}), in the order she wrote them")
        return c.end("every message exactly once: "
                     f"{len(WHILE_AWAY)} recovered, {len(OFFLINE_WRITES)} flushed")

