"""Lesson 2: who gets a broadcast? Three server calls: `socket.broadcast.emit` (everyone
else on the namespace), `socket.to(room).emit` (a room), `io.of(ns).emit` (every socket of
the namespace, the one that caused it included)."""

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
#: the three audiences, by the server call that reaches each
BROADCAST = "socket.broadcast.emit"
TO_ROOM = "socket.to(room).emit"
TO_NAMESPACE = "io.of(ns).emit"


class BroadcastScenario(Scenario):
    key = "broadcast"
    number = 2
    title = "Broadcast: everyone else, a room, a namespace"
    short = "Broadcast"
    summary = "Three Socket.IO calls, three different audiences."
    explanation = (
        "A broadcast is one emit that the server copies to many sockets. Who gets a copy "
        "depends on the call the server makes. socket.broadcast.emit() goes to every "
        "other socket of the sender's namespace: not back to the sender. "
        "socket.to(room).emit() goes only to the sockets in that room, again not to the "
        "sender. io.of(namespace).emit() is the server speaking to a whole namespace: "
        "every socket connected to it gets a copy, in a room or not, whoever caused it, "
        "and nobody outside it. Here alice, bob and carol are on the namespace /lab; "
        "alice, bob and dave are in the room #team of /chat; dave never connected to "
        "/lab.")
    users = ("alice", "bob", "carol", "dave")
    steps = (
        Step("Everyone takes a seat",
             "alice and bob connect to /lab and to /chat and join #team. carol connects to "
             "/lab and /chat but stays out of #team. dave joins #team but is not on /lab."),
        Step("Everyone but the sender: socket.broadcast.emit",
             "alice emits 'news' on /lab. The server's handler calls "
             "socket.broadcast.emit('news', data): every other socket of /lab gets it, bob "
             "and carol. alice gets no copy of her own event, only an ack saying how many "
             "got it (2)."),
        Step("To a room: socket.to(room).emit",
             "alice writes in #team. The server calls socket.to('#team').emit('message', "
             "...): only the room's members get it, bob and dave, and not alice herself. "
             "carol is connected to /chat too, but she is not in the room, so she sees "
             "nothing."),
        Step("To a namespace: io.of('/lab').emit",
             "bob asks the server to 'announce' some news. The server calls "
             "io.of('/lab').emit('news', data): a server emit to every socket of /lab, "
             "whoever asked. alice, carol and bob himself get it; dave shares a room with "
             "bob, but he is not on /lab: nothing for him. The ack counts 3."),
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
        second = bob.emit(lab, "announce", {"event": "news",
                                            "args": [{"text": "pizza is gone"}]})
        run.memo["second"] = second.id
        await run.until(lambda: len(received(carol, lab, "news")) >= 2
                        and len(received(bob, lab, "news")) >= 2
                        and received(alice, lab, "news"),
                        "alice, bob and carol to get the server's news")
        await run.until(lambda: acked(bob, second.id),
                        "the ack of bob's announce")
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

        audiences = {BROADCAST: who_got("free pizza in room 2", "lab"),
                     TO_ROOM: who_got("team meeting at 3", "room"),
                     TO_NAMESPACE: who_got("pizza is gone", "lab")}
        c.facts["audiences"] = audiences
        expected = {BROADCAST: {"bob", "carol"},
                    TO_ROOM: {"bob", "dave"},
                    TO_NAMESPACE: {"alice", "bob", "carol"}}
        for label, want in expected.items():
            got = audiences[label]
            c.expect(got == want, f"{label}: {names(got)} got it once "
                     f"(expected {names(want)})")
        c.expect(len({frozenset(a) for a in audiences.values()}) == 3,
                 "the three calls reached three different audiences")
        alice, bob = run.sessions["alice"], run.sessions["bob"]
        a1 = alice.outbox.get(run.memo["first"])
        b1 = bob.outbox.get(run.memo["second"])
        delivered = (first_arg([a1.reply]).get("delivered") if a1 else None,
                     first_arg([b1.reply]).get("delivered") if b1 else None)
        c.facts["delivered"] = delivered
        c.expect(delivered == (2, 3), "the acks said: socket.broadcast.emit reached 2 "
                 "sockets of /lab, io.of('/lab').emit all 3")
        said = alice.outbox.get(run.memo["said"])
        c.expect(said is not None and said.state == OutboxState.ACKED,
                 "alice's room message was acknowledged")
        return c.end("each broadcast reached exactly its audience, once")

