"""The Learn tab's lessons, run headless against the real bundled server: each reaches
its end state, and the test checks that end state again from the data itself."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from app.outbox import OutboxState
from app.packets import Packet
from app.scenarios import (
    SCENARIOS,
    AcksScenario,
    BroadcastScenario,
    ChannelsScenario,
    EmitScenario,
    MissedEventScenario,
    RunState,
    ScenarioRun,
    WorkQueueScenario,
    by_key,
    packet_caption,
)
from app.scenarios.engine import Checks, ScenarioError

pytestmark = pytest.mark.timeout(90)


async def play(cls: type, server: Any, tmp_path: Path, **kw: Any) -> ScenarioRun:
    run = ScenarioRun(cls(), server.url, tmp_path / "learn", **kw)
    steps: list[int] = []
    states: list[RunState] = []
    run.step_changed.connect(steps.append)
    run.state_changed.connect(lambda st, _why: states.append(st))
    end = await run.run()
    assert end.ok, (end.headline, end.details)
    assert end.headline.startswith("✓")
    assert states == [RunState.RUNNING, RunState.PASSED]
    # every step was announced, in order, then "finished" (index == number of steps)
    n = len(cls.steps)
    assert steps == [*range(n), n]
    assert all(line.startswith("✓") for line in end.details)
    return run


def rows(session: Any, queue: str) -> list[Any]:
    session.store.flush()
    return session.store.page(queue, limit=10_000)


def texts_of(session: Any, ns: str, event: str) -> list[str]:
    return [m.args[0].get("text") for m in rows(session, f"event:{ns}:{event}")]


async def test_registry_lists_the_lessons_in_order():
    assert [c.number for c in SCENARIOS] == [1, 2, 3, 4, 5, 6, 7, 8]
    assert [c.key for c in SCENARIOS][6:] == ["redis", "engineio"]
    assert len({c.key for c in SCENARIOS}) == 8
    for cls in SCENARIOS:
        assert by_key(cls.key) is cls
        assert cls.title and cls.explanation and cls.steps and cls.users
        assert all(s.title and s.text for s in cls.steps)
    with pytest.raises(KeyError):
        by_key("nope")


async def test_emit(server, tmp_path):
    run = await play(EmitScenario, server, tmp_path)
    try:
        ns = run.memo["ns"]
        alice, bob = run.sessions["alice"], run.sessions["bob"]
        assert len(rows(alice, f"event:{ns}:welcome")) == 1
        assert len(rows(bob, f"event:{ns}:welcome")) == 1
        assert texts_of(bob, ns, "hello") == ["hello bob!"]
        assert texts_of(alice, ns, "hello") == []
        assert rows(bob, f"event:{ns}:echo") == []
        # the diagram's raw material: each lane's packets, in both directions
        kinds = {(lane, p.direction, p.kind) for lane, p in run.packets}
        assert {("alice", "out", "CONNECT"), ("alice", "in", "CONNECT"),
                ("alice", "out", "EVENT"), ("alice", "in", "ACK"),
                ("bob", "in", "EVENT"), ("guest", "in", "CONNECT_ERROR")} <= kinds
        assert run.lanes == ["alice", "bob", "guest"]
    finally:
        await run.close()
    assert not run.data_dir.exists()


async def test_broadcast(server, tmp_path):
    run = await play(BroadcastScenario, server, tmp_path)
    try:
        lab, room = run.memo["lab"], run.memo["room"]
        news = {n: texts_of(s, lab, "news") for n, s in run.sessions.items()}
        # socket.broadcast.emit skips alice, the sender; io.of('/lab').emit reaches bob,
        # who asked for it, as well as everyone else on /lab
        assert news == {"alice": ["pizza is gone"],
                        "bob": ["free pizza in room 2", "pizza is gone"],
                        "carol": ["free pizza in room 2", "pizza is gone"], "dave": []}
        in_room = {n: [m.text for m in rows(s, f"room:/chat:{room}") if m.direction == "in"]
                   for n, s in run.sessions.items()}
        assert in_room == {"alice": [], "bob": ["team meeting at 3"], "carol": [],
                           "dave": ["team meeting at 3"]}
        audiences = run.end.facts["audiences"]
        assert audiences == {"socket.broadcast.emit": {"bob", "carol"},
                             "socket.to(room).emit": {"bob", "dave"},
                             "io.of(ns).emit": {"alice", "bob", "carol"}}
        assert run.end.facts["delivered"] == (2, 3)
        # the namespace-wide emit was a server emit the client asked for, not a relay
        bob_out = [p for lane, p in run.packets if lane == "bob" and p.direction == "out"
                   and p.kind == "EVENT" and p.namespace == lab]
        assert [p.event for p in bob_out] == ["announce"]
        step = BroadcastScenario.steps
        assert "socket.broadcast.emit" in step[1].text and "socket.to(" in step[2].text
        assert "io.of('/lab').emit" in step[3].text
    finally:
        await run.close()


async def test_channels(server, tmp_path):
    run = await play(ChannelsScenario, server, tmp_path)
    try:
        m = run.memo
        got = {n: texts_of(s, m["lab_a"], "ping") + texts_of(s, m["lab_b"], "ping")
               for n, s in run.sessions.items()}
        assert got == {"alice": [], "bob": [], "carol": ["ping from alice on lab-a"]}
        assert [r.text for r in rows(run.sessions["bob"], f"room:/chat:{m['red']}")] == \
            ["hello #red"]
        assert rows(run.sessions["carol"], f"room:/chat:{m['red']}") == []
        assert run.end is not None and run.end.facts["delivered"] == (1, 0)
        # no step suggests that a room spans namespaces
        titles = [step.title for step in ChannelsScenario.steps]
        assert "Same room, different namespaces" not in titles
        assert "A room lives inside one namespace" in titles
    finally:
        await run.close()


async def test_acks(server, tmp_path):
    run = await play(AcksScenario, server, tmp_path)
    try:
        pk = [p for lane, p in run.packets if lane == "alice"]
        asked = Counter((p.namespace, p.ack_id) for p in pk
                        if p.direction == "out" and p.kind == "EVENT" and p.ack_id is not None)
        answered = Counter((p.namespace, p.ack_id) for p in pk
                           if p.direction == "in" and p.kind == "ACK")
        assert asked and answered == asked
        assert all(p.latency_ms is not None and p.latency_ms >= 0 for p in pk
                   if p.kind == "ACK" and p.direction == "in")
        states = run.end.facts["outbox_states"]
        assert states[0] == "queued" and "sent" in states and states[-1] == "acked"
        assert run.end.facts["refused"]["code"] == "not_found"
        # the server -> client ack: the server's question reached bob with an ack id, his
        # app answered it once, and the server reported that very answer back
        server_ack = run.end.facts["server_ack"]
        assert server_ack["asked"] == [{"question": "What is 6 × 7?", "a": 6, "b": 7}]
        assert server_ack["answered"] == [{"answer": 42}]
        assert server_ack["reply"]["ok"] is True
        assert server_ack["reply"]["answer"] == [{"answer": 42}]
        bob = [p for lane, p in run.packets if lane == "bob"]
        quiz = next(p for p in bob if p.kind == "EVENT" and p.event == "quiz")
        assert quiz.direction == "in" and quiz.ack_id is not None
        answers = [p for p in bob if p.kind == "ACK" and p.direction == "out"]
        assert [(p.ack_id, p.args) for p in answers] == [(quiz.ack_id, [{"answer": 42}])]
    finally:
        await run.close()


async def test_missed_event_recovers_exactly_the_missed_messages(server, tmp_path):
    run = await play(MissedEventScenario, server, tmp_path)
    try:
        room = run.memo["room"]
        carol = run.sessions["carol"]
        history = await carol.chat.history(room, since=0, limit=500)
        server_side = [(m["offset"], m["id"], m["text"]) for m in history["messages"]]
        assert [o for o, _, _ in server_side] == list(range(1, 10))
        for name, s in run.sessions.items():
            mine = sorted((m.offset, m.msg_id, m.text) for m in rows(s, f"room:/chat:{room}"))
            assert mine == server_side, name          # every message exactly once
        carol_rows = rows(carol, f"room:/chat:{room}")
        assert sorted(m.offset for m in carol_rows if m.recovered) == [4, 5, 6, 7]
        assert carol.chat.last_offset(room) == 9
        assert run.memo["since"] == 3
        joins = [p.args[0] for lane, p in run.packets if lane == "carol"
                 and p.kind == "EVENT" and p.event == "join" and p.direction == "out"]
        assert joins[-1] == {"room": room, "since": 3}
        # what she wrote offline: queued while offline, acked after, after the missed ones
        offline = [carol.outbox.get(i) for i in run.memo["offline_ids"]]
        assert run.memo["outbox_while_offline"] == 2
        assert [m.state for m in offline] == [OutboxState.ACKED] * 2
        assert [m.reply["offset"] for m in offline] == [8, 9]
        assert carol.outbox.depth() == 0
        for name in ("alice", "bob"):
            got = [m.text for m in rows(run.sessions[name], f"room:/chat:{room}")
                   if m.user == run.wire_name("carol")]
            assert got == ["Hello, I'm here too.", "Sorry, my wifi dropped.",
                           "What did I miss?"], name
        notes = [(n.lane, n.kind) for n in run.notes]
        assert ("carol", "offline") in notes and ("carol", "online") in notes
    finally:
        await run.close()


async def test_missed_event_without_recovery_loses_exactly_what_was_sent_offline(
        server, tmp_path):
    """The issue's test: the first half (no outbox, no since) loses exactly the messages
    sent while carol was offline; the second half recovers every one, each its own
    arrow. Asserted from the EndState's facts, then against the stores themselves."""
    run = await play(MissedEventScenario, server, tmp_path)
    try:
        facts = run.end.facts
        away = ["Did everyone read chapter 3?", "Yes, the part on acks.",
                "Quiz on Friday then.", "Noted!"]
        offline = ["Sorry, my wifi dropped.", "What did I miss?"]
        # first half: carol missed exactly the four, heard everything else the others
        # said, and her two offline writes were never sent
        assert facts["plain_missed"] == away
        assert facts["plain_carol_heard"] == ["Hi everyone!", "Hi alice.",
                                              "Welcome back, carol!"]
        assert len(facts["plain_delivered_while_away"]) == 4
        assert facts["plain_unsent"] == offline
        assert facts["plain_unsent_reached"] == {"alice": [], "bob": []}
        assert facts["plain_lost"] == away + offline
        plain = run.memo["plain"]
        heard = {n: texts_of(s, plain, "chat message") for n, s in run.sessions.items()}
        assert heard["carol"] == facts["plain_carol_heard"]
        for name in ("alice", "bob"):
            assert not set(offline) & set(heard[name]), name
        # nothing of the offline writes ever went out on /plain
        sent = [p.args[0].get("text") for lane, p in run.packets if lane == "carol"
                and p.direction == "out" and p.kind == "EVENT" and p.namespace == plain]
        assert sent == ["Hello, I'm here too."]
        # second half: every missed message recovered, each drawn as its own arrow
        assert facts["recovered"] == [4, 5, 6, 7]
        assert facts["recovered_texts"] == away
        assert facts["recovered_arrows"] == [4, 5, 6, 7]
        arrows = [p for lane, p in run.packets if lane == "carol" and p.kind == "RECOVERY"]
        assert [(p.direction, p.event, p.args[0]["offset"], p.args[0]["text"])
                for p in arrows] == [("in", "message", o, t)
                                     for o, t in zip([4, 5, 6, 7], away, strict=True)]
        assert packet_caption(arrows[0]) == \
            "recovered “Did everyone read chapter 3?” · offset 4"
        # the arrows come right after the join's ack, before the outbox's resends
        carol = [p for lane, p in run.packets if lane == "carol" and p.namespace == "/chat"]
        first_arrow = carol.index(arrows[0])
        assert carol[first_arrow - 1].kind == "ACK"
        resent = [i for i, p in enumerate(carol) if p.kind == "EVENT" and p.direction == "out"
                  and p.event == "message" and p.args[0].get("text") in offline]
        assert resent and min(resent) > carol.index(arrows[-1])
        # and carol's own packet log holds only real packets
        assert not any(p.kind == "RECOVERY" for p in run.sessions["carol"].packet_log)
        assert facts["outbox_while_offline"] == 2
    finally:
        await run.close()


async def test_missed_event_can_be_run_twice_on_one_server(server, tmp_path):
    first = await play(MissedEventScenario, server, tmp_path)
    second = await play(MissedEventScenario, server, tmp_path)
    try:
        assert first.memo["room"] != second.memo["room"]
        assert second.end.facts["recovered"] == [4, 5, 6, 7]
    finally:
        await first.close()
        await second.close()


async def test_work_queue_redelivers_the_dead_workers_job(server, tmp_path):
    run = await play(WorkQueueScenario, server, tmp_path)
    try:
        queue, held = run.memo["queue"], run.memo["held"]
        deliveries: dict[int, list[tuple[str, int]]] = defaultdict(list)
        for name in ("bob", "carol"):
            for m in rows(run.sessions[name], f"work:{queue}"):
                deliveries[m.args[0]["seq"]].append((name, m.args[0]["attempt"]))
        published = len(run.memo["published"])
        assert sorted(deliveries) == list(range(1, published + 1))
        assert sorted(deliveries[held], key=lambda d: d[1]) == [("carol", 1), ("bob", 2)]
        for seq, got in deliveries.items():
            if seq != held:
                assert len(got) == 1 and got[0][1] == 1, (seq, got)
        acked = Counter(seq for _, seq, reply in run.memo["acks"] if reply.get("ok"))
        assert sorted(acked) == list(range(1, published + 1))
        assert set(acked.values()) == {1}
        assert [w for w, s, _ in run.memo["acks"] if s == held] == ["bob"]
        stats = await run.sessions["alice"].call("/queue", "stats", {})
        row = next(q for q in stats["queues"] if q["queue"] == queue)
        assert (row["acked"], row["depth"], row["inflight"], row["dead"]) == \
            (published, 0, 0, 0)
        # the crash left no goodbye on the wire: carol's last packets are no DISCONNECT
        carol = [p for lane, p in run.packets if lane == "carol"]
        assert not any(p.kind == "DISCONNECT" and p.direction == "out" for p in carol)
        assert ("carol", "crash") in [(n.lane, n.kind) for n in run.notes]
        assert run.sessions["carol"].state.value == "offline"
        # the lesson names the guarantee: at-least-once delivery, one ack, idempotence
        text = " ".join([WorkQueueScenario.summary, WorkQueueScenario.explanation]
                        + [s.text for s in WorkQueueScenario.steps])
        assert "at-least-once" in text.lower() and "idempotent" in text
        assert "done once" not in text and "exactly once" not in text
        assert "delivered at least once" in run.end.headline
    finally:
        await run.close()


async def test_stop_cancels_a_paced_run_and_close_cleans_up(server, tmp_path):
    run = ScenarioRun(MissedEventScenario(), server.url, tmp_path / "learn", pace=5.0)
    task = run.start()
    steps: list[int] = []
    run.step_changed.connect(steps.append)
    from tests.app.helpers import until

    await until(lambda: run.current >= 0 and run.sessions, what="the run to start")
    await run.stop()
    assert task.cancelled()
    assert run.state == RunState.STOPPED
    assert run.end is not None and not run.end.ok
    await run.close()
    assert all(s._closed for s in run.sessions.values())
    assert not run.data_dir.exists()


async def test_unreachable_server_fails_with_a_sentence(tmp_path):
    from tests.support import free_port

    run = ScenarioRun(EmitScenario(), f"http://127.0.0.1:{free_port()}", tmp_path, wait=5)
    end = await run.run()
    try:
        assert not end.ok and end.headline.startswith("✗")
        assert "alice could not connect" in end.headline
        assert run.state == RunState.FAILED
    finally:
        await run.close()
    with pytest.raises(ScenarioError):
        await run.run()


def test_checks_and_captions():
    c = Checks()
    c.expect(True, "one")
    assert c.end("fine").ok
    c.expect(False, "two")
    end = c.end("fine")
    assert not end.ok and end.headline == "✗ two" and end.details == ["✓ one", "✗ two"]

    def pkt(kind: str, direction: str, event: str | None, args: list) -> Packet:
        return Packet(1, 0.0, direction, "/chat", kind, event, args, None, None, 10)

    assert packet_caption(pkt("EVENT", "out", "join", [{"room": "r", "since": 3}])) == \
        "join #r since 3"
    assert packet_caption(pkt("EVENT", "in", "deliver", [{"seq": 5, "attempt": 2}])) == \
        "deliver job 5 · attempt 2"
    assert packet_caption(pkt("EVENT", "out", "message", [{"text": "x" * 100}])).endswith("…”")
    assert packet_caption(pkt("ACK", "in", None, [{"ok": True, "offset": 4}])) == \
        "ack ok · offset 4"
    assert packet_caption(pkt("ACK", "in", None, [{"ok": False, "code": "not_found"}])) == \
        "ack no: not_found"
    assert packet_caption(pkt("CONNECT_ERROR", "in", None, [{"message": "bad user"}])) == \
        "refused: bad user"
    assert packet_caption(pkt("CONNECT", "out", None, [])) == "connect"
