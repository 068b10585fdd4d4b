"""Lesson 1: a client emits to the server, and the server emits to a client."""

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
    packets_of,
    received,
)


class EmitScenario(Scenario):
    key = "emit"
    number = 1
    title = "Client emit and server emit"
    short = "Client emit, server emit"
    summary = "Who talks first? Both sides can send an event."
    explanation = (
        "An event is a name plus some data. A client can emit one to the server, and the "
        "server can emit one to a client: the connection works in both directions. Watch "
        "the arrows: an arrow into the server lane is a client emit, an arrow out of it "
        "is a server emit. Our server answers each client emit with an ack (the dashed "
        "arrow back).")
    users = ("alice", "bob", "guest")
    steps = (
        Step("alice and bob connect",
             "Each one opens a connection and asks for the namespace (CONNECT). The server "
             "says yes, and then emits a 'welcome' event on its own: a server emit nobody "
             "asked for."),
        Step("alice emits 'echo'",
             "A client emit: alice sends 'echo' to the server. The server does not pass it "
             "on to anyone: it only answers alice, with her own data, in the ack."),
        Step("alice emits 'hello', the server emits it to bob",
             "alice emits 'hello'. This time the server emits the same event to bob. Two "
             "emits: alice → server, then server → bob."),
        Step("The server can also say no",
             "A guest connects with a name the server does not accept ('guest!'). Instead of "
             "a CONNECT the server answers CONNECT_ERROR, with the reason."),
    )

    async def play(self, run: ScenarioRun) -> None:
        ns = run.namespace("lab")
        run.memo["ns"] = ns
        await run.step(0)
        alice = await run.user("alice", [ns])
        bob = await run.user("bob", [ns])
        await run.until(lambda: received(alice, ns, "welcome") and received(bob, ns, "welcome"),
                        "both welcomes")

        await run.step(1)
        payload = {"text": "is anybody there?"}
        run.memo["echo_sent"] = payload
        run.memo["echo_reply"] = await alice.call(ns, "echo", payload, timeout=run.wait)

        await run.step(2)
        msg = alice.emit(ns, "hello", {"text": "hello bob!"})
        run.memo["hello_id"] = msg.id
        await run.until(lambda: received(bob, ns, "hello"), "bob to get alice's hello")
        await run.until(lambda: acked(alice, msg.id),
                        "the ack of alice's hello")

        await run.step(3)
        guest = run.make_user("guest", [ns], user="guest!")
        run.memo["guest_connected"] = await guest.connect()
        await run.until(lambda: any(p.kind == "CONNECT_ERROR" for p in packets_of(run, "guest")),
                        "the server's refusal")
        await run.beat()

    async def check(self, run: ScenarioRun) -> EndState:
        ns = run.memo["ns"]
        alice, bob = run.sessions["alice"], run.sessions["bob"]
        c = Checks()
        welcomes = {name: len(received(run.sessions[name], ns, "welcome"))
                    for name in ("alice", "bob")}
        c.facts["welcomes"] = welcomes
        c.expect(welcomes == {"alice": 1, "bob": 1},
                 "the server emitted one 'welcome' to each user who connected")
        reply = run.memo.get("echo_reply")
        c.facts["echo_reply"] = reply
        c.expect(isinstance(reply, dict) and reply.get("ok") is True
                 and reply.get("args") == [run.memo["echo_sent"]],
                 "'echo' came back to alice in the ack, with her own data")
        c.expect(not received(bob, ns, "echo"), "bob never saw alice's 'echo'")
        hellos = [first_arg(a).get("text") for a in received(bob, ns, "hello")]
        c.facts["bob_hellos"] = hellos
        c.expect(hellos == ["hello bob!"], "the server emitted 'hello' to bob exactly once")
        c.expect(not received(alice, ns, "hello"), "alice did not get her own 'hello' back")
        sent = alice.outbox.get(run.memo["hello_id"])
        c.expect(sent is not None and sent.state == OutboxState.ACKED
                 and first_arg([sent.reply]).get("delivered") == 1,
                 "alice's ack said the server delivered 'hello' to 1 socket")
        refusals = [p for p in packets_of(run, "guest") if p.kind == "CONNECT_ERROR"]
        c.facts["refusals"] = len(refusals)
        c.expect(run.memo.get("guest_connected") is False and len(refusals) >= 1,
                 "the guest's CONNECT was refused with CONNECT_ERROR")
        return c.end("client emit and server emit, each seen exactly where expected")
