"""Teacher pacing of a lesson (app.scenarios.pacing): Pause holds the lesson itself and
its users' outboxes, Next step lets it go exactly one step further, step by step makes
each step wait, Previous step looks back; and the marks that fold setup traffic."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from app.outbox import OutboxState
from app.packets import Packet
from app.scenarios import BroadcastScenario, MissedEventScenario, ScenarioRun
from app.scenarios.missed import PLAIN_EVENT
from app.scenarios.pacing import CHECK, KEY, SETUP, Pacer, SetupTracker
from tests.app.helpers import until

pytestmark = pytest.mark.timeout(90)


def pkt(direction: str, kind: str, event: str | None = None, args: list | None = None,
        ack_id: int | None = None, ns: str = "/chat", seq: int = 1) -> Packet:
    return Packet(seq, time.time(), direction, ns, kind, event, args or [], ack_id, None, 10)


# -- the pure parts ------------------------------------------------------------------------

def test_setup_tracker_folds_seats_but_not_a_recovery_or_the_lesson() -> None:
    t = SetupTracker()
    assert t.role(pkt("out", "CONNECT")) == SETUP
    assert t.role(pkt("in", "CONNECT")) == SETUP
    assert t.role(pkt("in", "EVENT", "welcome", [{"user": "alice"}])) == SETUP
    assert t.role(pkt("in", "EVENT", "presence", [{"user": "bob"}])) == SETUP
    assert t.role(pkt("out", "EVENT", "join", [{"room": "r"}], ack_id=3)) == SETUP
    assert t.role(pkt("in", "ACK", None, [{"ok": True}], ack_id=3)) == SETUP
    # the ack of a lesson's own message is the lesson's, even with the same id later
    assert t.role(pkt("in", "ACK", None, [{"ok": True}], ack_id=3)) == KEY
    assert t.role(pkt("out", "EVENT", "join", [{"room": "r", "since": 3}], ack_id=4)) == KEY
    assert t.role(pkt("in", "ACK", None, [{"ok": True}], ack_id=4)) == KEY
    assert t.role(pkt("out", "EVENT", "message", [{"room": "r", "text": "hi"}])) == KEY
    assert t.role(pkt("in", "CONNECT_ERROR", None, [{"message": "no"}])) == KEY
    assert t.role(pkt("out", "DISCONNECT")) == KEY


async def test_pacer_pause_next_previous_and_step_by_step() -> None:
    current = [-1]
    changes: list[int] = []
    p = Pacer(lambda: current[0], lambda: changes.append(1))
    assert not p.holds(0)                       # Run plays the first step at once
    current[0] = 0
    assert not p.holds() and not p.holds(1)
    p.pause()
    assert p.paused and p.holds() and p.holds(1) and changes
    assert p.next_step() == "advance"           # finish this step and play the next
    assert not p.holds() and not p.holds(1) and p.holds(2)
    current[0] = 1
    assert not p.holds() and p.holds(2)
    p.resume()
    assert not p.holds() and not p.holds(2)
    p.step_by_step = True                       # the step on screen may finish
    assert not p.holds() and p.holds(2)
    assert p.next_step() == "advance"
    assert not p.holds(2) and p.holds(3)
    current[0] = 2
    assert p.previous_step() == 1               # looking back holds the run
    assert p.paused and p.viewing == 1 and p.holds()
    assert p.previous_step() == 0 and p.previous_step() == 0
    assert p.next_step() == "view" and p.viewing == 1
    assert p.next_step() == "view" and p.viewing == -1
    assert p.holds(3)
    assert p.next_step() == "advance" and not p.holds(3) and p.holds(4)
    p.release()                                 # stopped: nothing may wait any more
    assert not p.holds() and not p.holds(9)


async def test_a_held_gate_waits_and_its_time_does_not_count() -> None:
    p = Pacer(lambda: 0, lambda: None)
    p.pause()
    gate = asyncio.ensure_future(p.gate())
    await until(lambda: p.paused_seconds() >= 0.2, what="0.2 s paused")
    assert not gate.done() and p.held
    assert p.paused_seconds() >= 0.2
    p.resume()
    await asyncio.wait_for(gate, 2)
    assert not p.held and p.paused_seconds() >= 0.2


# -- real lessons on the real bundled server -----------------------------------------------

def out_packets(run: ScenarioRun, since: float) -> list[tuple[str, Packet]]:
    return [(lane, p) for lane, p in run.packets if p.direction == "out" and p.ts >= since]


async def test_pause_sends_nothing_then_the_lesson_ends_passed(server, tmp_path: Path):
    run = ScenarioRun(MissedEventScenario(), server.url, tmp_path / "learn", pace=0.05,
                      wait=3.0)
    seen: list[tuple[float, str, Packet]] = []
    run.packet.connect(lambda lane, p: seen.append((time.time(), lane, p)))
    paused_at: list[float] = []

    def pause_with_a_message_queued(msg: Any) -> None:
        # while the others keep talking in the room (the lesson's second half, step 9):
        # alice's message is in her outbox, not yet sent
        if (not paused_at and run.current == 8 and msg.state == OutboxState.QUEUED):
            run.pause()
            paused_at.append(time.time())

    task = run.start()
    try:
        await until(lambda: "alice" in run.sessions)
        run.sessions["alice"].outbox.changed.connect(pause_with_a_message_queued)
        await until(lambda: paused_at and run.held)
        # longer than the lesson's own wait (3 s): no wait times out while paused
        await asyncio.sleep(4.0)
        sent = [(lane, p) for ts, lane, p in seen if ts >= paused_at[0] and p.direction == "out"]
        assert sent == []
        assert run.current == 8 and not task.done() and run.state.value == "running"
        queued = run.sessions["alice"].outbox.list("/chat")
        assert any(m.state in (OutboxState.QUEUED, OutboxState.SENT) for m in queued)
        resumed = time.time()
        run.resume()
        end = await asyncio.wait_for(task, 60)
        assert end.ok, (end.headline, end.details)
        assert any(ts >= resumed and p.direction == "out" and p.event == "message"
                   for ts, _lane, p in seen)
    finally:
        await run.close()


async def test_step_by_step_next_advances_exactly_one_step(server, tmp_path: Path):
    run = ScenarioRun(BroadcastScenario(), server.url, tmp_path / "learn", pace=0.0)
    run.step_by_step = True
    steps: list[int] = []
    run.step_changed.connect(steps.append)
    task = run.start()
    try:
        n = len(BroadcastScenario.steps)
        for i in range(n - 1):
            await until(lambda: run.held)                  # waits before step i + 1
            await asyncio.sleep(0.3)                       # and keeps waiting
            assert steps == list(range(i + 1)) and run.current == i
            assert run.next_step() == "advance"
            await until(lambda i=i: run.current == i + 1)
        assert steps == list(range(n))
        # looking back holds the run; forward again comes back to it first
        assert run.previous_step() == n - 2 and run.paused and run.viewing == n - 2
        assert run.next_step() == "view" and run.viewing == -1
        run.resume()
        end = await asyncio.wait_for(task, 30)
        assert end.ok, (end.headline, end.details)
        assert steps == [*range(n), n]
    finally:
        await run.close()


async def test_marks_key_packets_by_step_and_the_checks_apart(server, tmp_path: Path):
    run = ScenarioRun(MissedEventScenario(), server.url, tmp_path / "learn", pace=0.0)
    checks: list[int] = []
    run.checks_started.connect(lambda: checks.append(run.current))
    try:
        end = await run.run()
        assert end.ok, end.headline
        assert checks == [len(MissedEventScenario.steps) - 1]
        marks = [(lane, p, run.mark(lane, p)) for lane, p in run.packets]
        assert all(m is not None for _l, _p, m in marks)
        first = [m for _lane, _p, m in marks if m and m.step == 0]
        # everyone connects, is welcomed and joins: all of it setup, none of it key
        assert len(first) >= 3 * 5 and all(m and m.setup for m in first)
        # the two halves: the plain chat talks in steps 2, 4 and 6, the room in 7, 9, 11
        plain = [m for _lane, p, m in marks if p.event == PLAIN_EVENT]
        assert plain and all(m and m.key and m.step in (1, 3, 5) for m in plain)
        talk = [m for _lane, p, m in marks if p.event == "message"]
        assert talk and all(m and m.key and m.step in (6, 8, 10) for m in talk)
        back = [(p.event, p.args[0].get("since")) for lane, p, m in marks
                if m and m.step == 10 and m.key and lane == "carol" and p.event == "join"]
        assert back == [("join", 3)]       # carol's recovery is the step's key packet
        # the checks' own requests are marked as such, never as a step of the lesson
        history = [m for lane, p, m in marks if p.event == "history"]
        assert history and all(m and m.role == CHECK for m in history)
        assert not any(p.kind == "NOTE" for _lane, p in run.packets)
        assert "checking the result" not in [n.text for n in run.notes]
    finally:
        await run.close()
