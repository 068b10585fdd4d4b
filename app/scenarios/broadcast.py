"""Lesson 2: who gets a broadcast? Everyone but the sender, a room, a namespace."""

from __future__ import annotations

from app.outbox import OutboxState
from app.scenarios.engine import (
    Checks,
    EndState,
    Scenario,
    ScenarioRun,
    Step,
    acked,
    first_arg,
    names,
    received,
    room_messages,
)

CHAT = "/chat"


class BroadcastScenario(Scenario):
    key = "broadcast"
    number = 2
    title = "Broadcast: everyone, a room, a namespace"
    short = "Broadcast"
    summary = "Three ways to reach many sockets, three different audiences."
    explanation = (
        "A broadcast is one emit that the server copies to many sockets. Who gets a copy "
        "depends on the target. 'Everyone but the sender' means every other socket in the "
        "namespace. 'A room' means only the sockets that joined that room. 'A namespace' "
        "means every socket connected to it, whatever rooms they are in, and nobody "
        "outside it. Here alice, bob and carol are on the namespace /lab; alice, bob and "
        "dave are in the chat room #team; dave never connected to /lab.")
    users = ("alice", "bob", "carol", "dave")
    steps = (
        Step("Everyone takes a seat",
             "alice and bob connect to /lab and to /chat and join #team. carol connects to "
             "/lab and /chat but stays out of #team. dave joins #team but is not on /lab."),
        Step("Everyone but the sender",
             "alice emits 'news' on /lab. The server copies it to every other socket of "
             "/lab: bob and carol. alice gets no copy of her own event, only an ack saying "
             "how many got it."),
        Step("To a room",
             "alice writes in #team. Only the room's members get it: bob and dave. carol is "
             "connected to /chat too, but she is not in the room, so she sees nothing."),
        Step("To a namespace",
             "bob emits 'news' on /lab. Everyone on /lab gets it, in a room or not (alice, "
             "carol). dave shares a room with bob, but he is not on /lab: nothing for him. "
             "(Our server never copies an event back to its sender; a server calling "
             "io.of('/lab').emit() itself would reach bob too.)"),
    )

    async def play(self, run: ScenarioRun) -> None:
        lab, room = run.namespace("lab"), run.name("team")
        run.memo.update(lab=lab, room=room)
        await run.step(0)
        alice = await run.user("alice", [lab, CHAT])
        bob = await run.user("bob", [lab, CHAT])
        carol = await run.user("carol", [lab, CHAT])
        dave = await run.user("dave", [CHAT])
        for s in (alice, bob, dave):
            await s.chat.join(room)

        await run.step(1)
        first = alice.emit(lab, "news", {"text": "free pizza in room 2"})
        run.memo["first"] = first.id
        await run.until(lambda: received(bob, lab, "news") and received(carol, lab, "news"),
                        "bob and carol to get alice's news")
        await run.until(lambda: acked(alice, first.id),
                        "the ack of alice's news")

        await run.step(2)
        said = alice.chat.send(room, "team meeting at 3")
        run.memo["said"] = said.id
        await run.until(lambda: room_messages(bob, room) and room_messages(dave, room),
                        "bob and dave to get the room message")

        await run.step(3)
        second = bob.emit(lab, "news", {"text": "pizza is gone"})
        run.memo["second"] = second.id
        await run.until(lambda: len(received(carol, lab, "news")) >= 2
                        and received(alice, lab, "news"), "alice and carol to get bob's news")
        await run.until(lambda: acked(bob, second.id),
                        "the ack of bob's news")
        await run.beat()

    async def check(self, run: ScenarioRun) -> EndState:
        lab, room = run.memo["lab"], run.memo["room"]
        c = Checks()

        def who_got(text: str, where: str) -> set[str]:
            got = set()
            for name, s in run.sessions.items():
                rows = received(s, lab, "news") if where == "lab" else \
                    [m.args for m in room_messages(s, room, "in")]
                n = sum(1 for a in rows if first_arg(a).get("text") == text)
                if n:
                    got.add(name if n == 1 else f"{name}×{n}")
            return got

        audiences = {"everyone but the sender": who_got("free pizza in room 2", "lab"),
                     "a room": who_got("team meeting at 3", "room"),
                     "a namespace": who_got("pizza is gone", "lab")}
        c.facts["audiences"] = audiences
        expected = {"everyone but the sender": {"bob", "carol"},
                    "a room": {"bob", "dave"},
                    "a namespace": {"alice", "carol"}}
        for label, want in expected.items():
            got = audiences[label]
            c.expect(got == want, f"{label}: {names(got)} got it once "
                     f"(expected {names(want)})")
        alice, bob = run.sessions["alice"], run.sessions["bob"]
        a1 = alice.outbox.get(run.memo["first"])
        b1 = bob.outbox.get(run.memo["second"])
        c.expect(a1 is not None and first_arg([a1.reply]).get("delivered") == 2
                 and b1 is not None and first_arg([b1.reply]).get("delivered") == 2,
                 "each /lab ack said: delivered to 2 sockets")
        said = alice.outbox.get(run.memo["said"])
        c.expect(said is not None and said.state == OutboxState.ACKED,
                 "alice's room message was acknowledged")
        return c.end("each broadcast reached exactly its audience, once")

