"""Lesson 4: acknowledgements, the answer that travels back on the same emit: client to
server, and server to client (`emitWithAck`, answered by the app's ack handling)."""

from __future__ import annotations

from collections import Counter
from typing import Any

from app.acks import AckRequest
from app.outbox import OutboxState
from app.scenarios.engine import (
    Checks,
    EndState,
    Scenario,
    ScenarioError,
    ScenarioRun,
    Step,
    acked,
    first_arg,
    packets_of,
    received,
)

CHAT = "/chat"
#: the server's question to bob (lesson step 6): an event with an ack, from the server
QUIZ = "quiz"
QUESTION: dict[str, Any] = {"question": "What is 6 × 7?", "a": 6, "b": 7}
ASK_MS = 10_000


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
        "lost. It works the other way round too: the server can emit with an ack "
        "(socket.emitWithAck() in Socket.IO 4) and wait for the client's answer.")
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
        Step("The server asks, the client answers",
             "Now the server emits with an ack. bob sends 'ask', and the server calls "
             "socket.timeout(10000).emitWithAck('quiz', {question}) on bob's socket: an "
             "event from the server carrying an ack number. bob's app answers it (here: "
             "{answer: 42}) and the server's await gets that answer, which it reports back "
             "in the ack of 'ask'. A real server asks on its own, e.g. 'are you still "
             "there?'; 'ask' only lets us watch it."),
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

        await run.step(5)
        await self._server_asks(run, lab)
        await run.beat()

    @staticmethod
    async def _server_asks(run: ScenarioRun, lab: str) -> None:
        """bob's app answers the server's question with the product, through app.acks,
        at once: a paused lesson must not outlast the server's timeout."""
        bob = run.sessions["bob"]
        asked: list[AckRequest] = []

        def on_request(req: AckRequest) -> None:
            if req.namespace == lab and req.event == QUIZ and not req.done:
                question = first_arg(req.args)
                req.answer({"answer": question.get("a", 0) * question.get("b", 0)})
                asked.append(req)

        bob.ack_requested.connect(on_request)
        try:
            reply = await bob.call(lab, "ask", {"event": QUIZ, "args": [QUESTION],
                                                "timeout": ASK_MS}, timeout=run.wait)
        finally:
            bob.ack_requested.disconnect(on_request)
        if not asked:
            raise ScenarioError(f"the server never asked bob (its answer to 'ask': {reply})")
        run.memo["server_ack"] = {"asked": asked[0].args, "state": asked[0].state.value,
                                  "answered": asked[0].answer_args, "reply": reply}

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
        self._check_server_ack(run, c)
        return c.end("every emit got exactly one answer, in both directions")

    @staticmethod
    def _check_server_ack(run: ScenarioRun, c: Checks) -> None:
        lab = run.memo["lab"]
        asked = run.memo["server_ack"]
        c.facts["server_ack"] = asked
        want = {"answer": QUESTION["a"] * QUESTION["b"]}
        bob = packets_of(run, "bob")
        quiz = [p for p in bob if p.direction == "in" and p.kind == "EVENT"
                and p.event == QUIZ and p.namespace == lab]
        ours = [p for p in bob if p.direction == "out" and p.kind == "ACK"
                and p.namespace == lab and quiz and p.ack_id == quiz[0].ack_id]
        c.expect(len(quiz) == 1 and quiz[0].ack_id is not None and quiz[0].args == [QUESTION],
                 "the server emitted 'quiz' to bob with an ack id (emitWithAck)")
        c.expect(len(ours) == 1 and ours[0].args == [want] and asked["state"] == "answered",
                 f"bob's app answered it once, with {want}")
        reply = asked["reply"]
        c.expect(isinstance(reply, dict) and reply.get("ok") is True
                 and reply.get("answer") == [want],
                 "the server got bob's answer and reported it in the ack of 'ask'")
