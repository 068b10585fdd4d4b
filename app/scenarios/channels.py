"""Lesson 3: namespaces are separate channels, and a room is a group inside one namespace
(the same room name on two namespaces would be two rooms); nothing leaks between them."""

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
    title = "Namespaces, and the rooms inside them"
    short = "Rooms vs namespaces"
    summary = "A namespace is a separate channel; a room is a group inside one namespace."
    explanation = (
        "A namespace is like a separate phone line on the same connection: /lab-a and "
        "/lab-b never hear each other, even with the same event names. A room is a group "
        "of sockets inside one namespace, made by the server (socket.join(room)). It "
        "belongs to that namespace: a room called 'red' on /chat and a room called 'red' "
        "on /lab-a would be two different rooms with their own members, and sharing a "
        "namespace with someone does not put you in any of its rooms. Here the rooms are "
        "rooms of /chat: alice and bob are in #red, carol in #blue; alice and carol share "
        "the line /lab-a.")
    users = ("alice", "bob", "carol")
    steps = (
        Step("Three users, two lines, two rooms of /chat",
             "alice: /lab-a, and the room #red of /chat. bob: /lab-b, and #red of /chat. "
             "carol: /lab-a, and the room #blue of /chat. Every user also talks to /chat, "
             "the namespace these rooms live in."),
        Step("Same namespace, different rooms",
             "alice emits 'ping' on /lab-a. carol gets it: same namespace, and rooms of "
             "/chat play no part on /lab-a. bob is in alice's room but not on /lab-a: "
             "nothing."),
        Step("A room lives inside one namespace",
             "alice writes in #red on /chat, and the server calls "
             "socket.to('#red').emit() on /chat. bob gets it: he joined #red of /chat. "
             "carol shares /lab-a with alice, but being on /lab-a puts nobody in a room of "
             "/chat: nothing for her. A room named 'red' on /lab-a would be another room."),
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
        c.expect(red_rows["carol"] == [], "carol, on /lab-a with alice but not in #red "
                 "of /chat, got nothing from it")
        c.expect(all(r.namespace == CHAT for s in (alice, bob)
                     for r in room_messages(s, m["red"])),
                 "#red's traffic stayed on /chat, the namespace the room belongs to")
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
