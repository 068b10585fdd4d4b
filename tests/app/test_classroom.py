"""Students as lanes: two students' apps (real sessions, as ``ui.class_student`` runs
them) join the teacher's lesson on a real server, appear as lanes, each gets the
broadcast step and works off jobs; afterwards nothing of the lesson is left on the
server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from app.class_protocol import CLASS_NAMESPACE, Invitation
from app.class_student import StudentSeat
from app.config import ConnectionConfig, ReconnectPolicy
from app.scenarios import BroadcastScenario, EmitScenario, ScenarioRun, WorkQueueScenario

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
async def seats(server: Any, tmp_path: Path) -> AsyncIterator[list[StudentSeat]]:
    made: list[StudentSeat] = []
    for user in ("sam", "kim"):
        cfg = ConnectionConfig(url=server.url, user=user, namespaces=["/chat"],
                               reconnect=ReconnectPolicy(delay=0.1, delay_max=0.5))
        seat = StudentSeat(cfg, tmp_path / f"seat-{user}")
        assert await seat.start()
        assert seat.bus is not None and await seat.bus.wait_ready(CLASS_NAMESPACE, 10)
        made.append(seat)
    yield made
    for seat in made:
        await seat.close()


async def server_queues(run: ScenarioRun, url: str, tmp_path: Path) -> list[str]:
    """Ask the server (a fresh connection) which queues it knows."""
    from app.session import Session

    s = Session(ConnectionConfig(url=url, user="auditor", namespaces=["/queue"]),
                tmp_path / "auditor")
    try:
        assert await s.connect() and await s.wait_ready("/queue", 10)
        ack = await s.call("/queue", "stats", {})
        return [q["queue"] for q in ack["queues"]]
    finally:
        await s.close()


async def test_two_students_are_lanes_and_each_gets_the_broadcast(server, seats, tmp_path):
    steps: list[list[dict[str, Any]]] = [[], []]
    invited: list[Invitation] = []
    for seat, seen in zip(seats, steps, strict=True):
        seat.step.connect(seen.append)
        seat.invited.connect(invited.append)
    run = ScenarioRun(BroadcastScenario(), server.url, tmp_path / "learn")
    run.invite_students = True
    run.tidy_when_done = True
    try:
        end = await run.run()
        assert end.ok, (end.headline, end.details)
        assert run.students == {"sam": "sam", "kim": "kim"}
        assert {"sam", "kim"} <= set(run.lanes)
        assert len(invited) == 2 and invited[0].namespace == run.namespace("class")
        ns = run.namespace("class")
        for lane in ("sam", "kim"):
            news = [p for name, p in run.packets if name == lane and p.event == "news"
                    and p.direction == "in" and p.namespace == ns]
            assert [p.args[0]["text"] for p in news] == ["Hello, class!"]
            rooms = [p for name, p in run.packets if name == lane and p.event == "message"
                     and p.direction == "in"]
            assert [p.args[0]["room"] for p in rooms] == [run.name("class")]
        # the teacher's broadcast: its ack counted exactly the two students
        assert any("the broadcast reached every student (2 of 2; the ack said 2)" in line
                   for line in end.details), end.details
        # each student's screen followed the lesson's steps, then the class's own step
        for seen in steps:
            assert [d["index"] for d in seen] == [*range(len(BroadcastScenario.steps)),
                                                   len(BroadcastScenario.steps)]
        # dismissed: both students left, their lesson connections are closed
        assert run.classroom is not None and run.classroom.left == {"sam", "kim"}
        assert all(seat.lesson is None and seat.invitation is None for seat in seats)
        # the students left the class's room, so the run could forget it and its own
        assert run.tidied is not None and run.name("class") in run.tidied
        assert run.memo["room"] in run.tidied
    finally:
        await run.close()


async def test_every_student_is_a_worker_and_no_queue_is_left(server, seats, tmp_path):
    run = ScenarioRun(WorkQueueScenario(), server.url, tmp_path / "learn")
    run.invite_students = True
    run.tidy_when_done = True
    try:
        end = await run.run()
        assert end.ok, (end.headline, end.details)
        per = run.memo["class_jobs"]
        assert set(per) == {"sam", "kim"} and all(n >= 1 for n in per.values())
        assert sum(per.values()) == 4
        assert sum(seat.jobs_done for seat in seats) == 4  # each app acked its own
        for lane in ("sam", "kim"):
            acks = [p for name, p in run.packets if name == lane and p.direction == "out"
                    and p.event == "ack"]
            assert len(acks) == per[lane]
        assert run.tidied is not None
        assert sorted(run.tidied) == sorted([run.name("jobs"), run.name("class-jobs")])
        left = await server_queues(run, server.url, tmp_path)
        assert run.name("jobs") not in left and run.name("class-jobs") not in left
    finally:
        await run.close()


async def test_an_opted_out_student_declines_and_is_not_waited_for(server, seats, tmp_path):
    sam, kim = seats
    await kim.set_taking_part(False)
    run = ScenarioRun(BroadcastScenario(), server.url, tmp_path / "learn")
    run.invite_students = True
    try:
        loop = asyncio.get_running_loop()
        started = loop.time()
        end = await run.run()
        assert end.ok, (end.headline, end.details)
        assert run.students == {"sam": "sam"}
        assert run.classroom is not None and run.classroom.declined == {"kim"}
        assert loop.time() - started < 30
        assert not any(name == "kim" for name, _ in run.packets)
    finally:
        await run.close()
    assert sam.lesson is None      # close() dismissed the class


async def test_lessons_without_a_class_part_invite_nobody(server, seats, tmp_path):
    run = ScenarioRun(EmitScenario(), server.url, tmp_path / "learn")
    run.invite_students = True
    try:
        end = await run.run()
        assert end.ok
        assert run.classroom is None and run.students == {}
        assert all(seat.invitation is None for seat in seats)
    finally:
        await run.close()
