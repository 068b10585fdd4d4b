"""Lesson 3: rooms and namespaces are separate channels that do not leak into each other."""

from __future__ import annotations

from app.scenarios.engine import (
    Checks,
    EndState,
    Scenario,
    ScenarioRun,
    Step,
    acked,
    first_arg,
    received,
    room_messages,
)

CHAT = "/chat"


class ChannelsScenario(Scenario):
    key = "channels"
    number = 3
    title = "Rooms and namespaces are separate channels"
    short = "Rooms vs namespaces"
    summary = "Sharing a room is not sharing a namespace, and the other way round."
    explanation = (
        "A namespace is like a separate phone line on the same connection: /lab-a and "
        "/lab-b never hear each other, even with the same event names. A room is a group "
        "inside one namespace (here, rooms of /chat). alice and carol share the line "
        "/lab-a; alice and bob share the room #red. Each channel only carries its own "
        "traffic.")
    users = ("alice", "bob", "carol")
    steps = (
        Step("Three users, two lines, two rooms",
             "alice: /lab-a and room #red. bob: /lab-b and room #red. carol: /lab-a and room "
             "#blue. Every user also talks to /chat, where the rooms live."),
        Step("Same namespace, different rooms",
             "alice emits 'ping' on /lab-a. carol gets it (same namespace, even though her "
             "room is #blue). bob is in alice's room but not on /lab-a: nothing."),
        Step("Same room, different namespaces",
             "alice writes in #red. bob gets it (same room). carol shares /lab-a with alice, "
             "but not the room: nothing."),
        Step("Same event name, other namespace",
             "bob emits 'ping' too, but on /lab-b. Nobody else is on /lab-b, so the server "
             "delivers it to 0 sockets: alice and carol hear nothing, although they listen "
             "for 'ping' as well."),
    )

    async def play(self, run: ScenarioRun) -> None:
        lab_a, lab_b = run.namespace("lab-a"), run.namespace("lab-b")
        red, blue = run.name("red"), run.name("blue")
        run.memo.update(lab_a=lab_a, lab_b=lab_b, red=red, blue=blue)
        await run.step(0)
        alice = await run.user("alice", [lab_a, CHAT])
        bob = await run.user("bob", [lab_b, CHAT])
        carol = await run.user("carol", [lab_a, CHAT])
        await alice.chat.join(red)
        await bob.chat.join(red)
        await carol.chat.join(blue)

        await run.step(1)
        ping_a = alice.emit(lab_a, "ping", {"text": "ping from alice on lab-a"})
        await run.until(lambda: received(carol, lab_a, "ping"), "carol to get alice's ping")
        await run.until(lambda: acked(alice, ping_a.id),
                        "the ack of alice's ping")

        await run.step(2)
        alice.chat.send(red, "hello #red")
        await run.until(lambda: room_messages(bob, red), "bob to get the #red message")

        await run.step(3)
        ping_b = bob.emit(lab_b, "ping", {"text": "ping from bob on lab-b"})
        await run.until(lambda: acked(bob, ping_b.id),
                        "the ack of bob's ping")
        run.memo.update(ping_a=ping_a.id, ping_b=ping_b.id)
        await run.beat()

    async def check(self, run: ScenarioRun) -> EndState:
        m = run.memo
        alice, bob, carol = (run.sessions[n] for n in ("alice", "bob", "carol"))
        c = Checks()
        pings = {name: [first_arg(a).get("text") for ns in (m["lab_a"], m["lab_b"])
                        for a in received(s, ns, "ping")]
                 for name, s in run.sessions.items()}
        c.facts["pings"] = pings
        c.expect(pings == {"alice": [], "bob": [], "carol": ["ping from alice on lab-a"]},
                 "only carol heard a 'ping': alice's, once (same namespace)")
        red_rows = {name: [r.text for r in room_messages(s, m["red"])]
                    for name, s in run.sessions.items()}
        c.facts["red"] = red_rows
        c.expect(red_rows["bob"] == ["hello #red"], "bob got the #red message once")
        c.expect(red_rows["carol"] == [], "carol, not in #red, got nothing from it")
        c.expect(room_messages(carol, m["blue"]) == [],
                 "#blue stayed quiet")
        a = alice.outbox.get(m["ping_a"])
        b = bob.outbox.get(m["ping_b"])
        delivered = (first_arg([a.reply]).get("delivered") if a else None,
                     first_arg([b.reply]).get("delivered") if b else None)
        c.facts["delivered"] = delivered
        c.expect(delivered == (1, 0), "the acks said: /lab-a ping to 1 socket, "
                 "/lab-b ping to 0 sockets")
        return c.end("no channel leaked into another")
