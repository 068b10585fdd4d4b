"""Lesson 4: acknowledgements, the answer that travels back on the same emit."""

from __future__ import annotations

from collections import Counter
from typing import Any

from app.outbox import OutboxState
from app.scenarios.engine import (
    Checks,
    EndState,
    Scenario,
    ScenarioRun,
    Step,
    acked,
    packets_of,
    received,
)

CHAT = "/chat"


class AcksScenario(Scenario):
    key = "acks"
    number = 4
    title = "Acks: the answer to an emit"
    short = "Acks"
    summary = "An emit can ask for an answer. The ack says what happened."
    explanation = (
        "Emitting an event is like posting a letter: on its own you never learn whether it "
        "arrived. An ack is a reply slip: the sender attaches a number to the emit, and "
        "the receiver answers that number once. Our server acks every event, with "
        "{ok: true, ...} when it worked and {ok: false, error} when it did not. SockDesk's "
        "outbox keeps a message until its ack arrives: that is how it knows nothing was "
        "lost.")
    users = ("alice", "bob")
    steps = (
        Step("alice and bob connect", "Both open /lab; alice also opens /chat."),
        Step("An emit with an ack",
             "alice emits 'echo' and waits. The ack comes back with her own data, and the "
             "time it took (the round trip) is shown on the dashed arrow."),
        Step("The ack reports what happened",
             "alice emits 'shout' on /lab. The server passes it to bob and acks alice with "
             "'delivered: 1': now she knows one socket got it."),
        Step("The outbox waits for the ack",
             "alice writes in a chat room. The message sits in her outbox (queued, then "
             "sent) until the server's ack arrives with the message's place in the room "
             "(its offset). Only then is it marked acked."),
        Step("An ack can say no",
             "alice tries to write in a room she never joined. The server still answers, "
             "but with ok: false and a reason (not_found). An ack is an answer, not always "
             "a yes."),
    )

    async def play(self, run: ScenarioRun) -> None:
        lab, room = run.namespace("lab"), run.name("acks")
        run.memo.update(lab=lab, room=room)
        await run.step(0)
        alice = await run.user("alice", [lab, CHAT])
        await run.user("bob", [lab])

        await run.step(1)
        question = {"text": "are you there?"}
        run.memo["echo"] = (question, await alice.call(lab, "echo", question,
                                                       timeout=run.wait))

        await run.step(2)
        shout = alice.emit(lab, "shout", {"text": "hello everyone"})
        await run.until(lambda: acked(alice, shout.id),
                        "the ack of alice's shout")
        run.memo["shout"] = shout.id

        await run.step(3)
        states: list[str] = []
        ids: list[str] = []

        def follow(msg: Any) -> None:
            if msg.id in ids:
                states.append(msg.state.value)

        alice.outbox.changed.connect(follow)
        try:
            said = alice.chat.send(room, "first!")
            ids.append(said.id)
            states.append(said.state.value)
            await run.until(lambda: acked(alice, said.id),
                            "the ack of alice's chat message")
        finally:
            alice.outbox.changed.disconnect(follow)
        run.memo["said"] = (said.id, states)

        await run.step(4)
        closed = run.name("closed")
        run.memo["refused"] = await alice.call(CHAT, "message",
                                               {"room": closed, "text": "let me in"},
                                               timeout=run.wait)
        await run.beat()

    async def check(self, run: ScenarioRun) -> EndState:
        m = run.memo
        alice, bob = run.sessions["alice"], run.sessions["bob"]
        c = Checks()
        question, answer = m["echo"]
        c.expect(isinstance(answer, dict) and answer.get("args") == [question],
                 "the 'echo' ack carried alice's own data back")
        shout = alice.outbox.get(m["shout"])
        c.expect(shout is not None and isinstance(shout.reply, dict)
                 and shout.reply.get("delivered") == 1
                 and len(received(bob, m["lab"], "shout")) == 1,
                 "the 'shout' ack said delivered: 1, and bob got it once")
        said_id, states = m["said"]
        said = alice.outbox.get(said_id)
        c.facts["outbox_states"] = states
        c.expect(said is not None and said.state == OutboxState.ACKED
                 and isinstance(said.reply, dict) and isinstance(said.reply.get("offset"), int)
                 and states[0] == "queued" and states[-1] == "acked",
                 "the chat message went queued → sent → acked, and its ack gave an offset")
        refused = m["refused"]
        c.facts["refused"] = refused
        c.expect(isinstance(refused, dict) and refused.get("ok") is False
                 and refused.get("code") == "not_found",
                 "writing to a room alice never joined was answered ok: false (not_found)")
        # every emit that asked for an ack got exactly one
        asked = Counter((p.namespace, p.ack_id) for p in packets_of(run, "alice")
                        if p.direction == "out" and p.kind == "EVENT" and p.ack_id is not None)
        answered = Counter((p.namespace, p.ack_id) for p in packets_of(run, "alice")
                           if p.direction == "in" and p.kind == "ACK")
        c.facts["acks"] = (sum(asked.values()), sum(answered.values()))
        c.expect(bool(asked) and answered == asked,
                 f"each of alice's {sum(asked.values())} emits got exactly one ack")
        latencies = [p.latency_ms for p in packets_of(run, "alice")
                     if p.kind == "ACK" and p.latency_ms is not None]
        c.facts["latency_ms"] = latencies
        return c.end("every emit got exactly one answer")
