"""Students as lanes: the teacher's side of the lesson protocol (``app.class_protocol``).

When the teacher hosts the workspace, a lesson invites the students' apps on ``/class``
before it starts. Each app that takes part connects to the lesson's own namespace,
room and queue, says ``lesson:here``, and from then on reports every packet of that
connection; the run draws those as the student's lane. The students follow the
simulated users' steps on their own screens, and once the simulated users' part is
checked, the class takes its own part: the teacher broadcasts on the lesson's
namespace, writes in its room, or publishes jobs that every student's app works off
("every student who joined is a worker"). What each student's app reported is checked
like any other end state, so a student whose app got nothing shows as a ✗ line.

The class part comes after the simulated users' check on purpose: the lessons'
numbers (an ack saying "delivered to 2 sockets") stay true whoever joined.

Also here: cleaning up after a run (``tidy_up``): every queue whose name the run made
(``ScenarioRun.name``) is deleted on the server once nobody consumes it, so students
find no stray ``jobs-…`` queues, and every ``/chat`` room it made is forgotten (``/chat``
``forget``: the run's users leave it, then one of them, whose name carries the run
marker, forgets it once the students' apps have left too); sandbox namespaces keep
nothing once their sockets are gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from app.class_protocol import (
    CLASS_NAMESPACE,
    DECLINED,
    END,
    HELLO,
    HERE,
    INVITE,
    LEFT,
    PACKET,
    STEP,
    Invitation,
    packet_from_report,
    who,
)
from app.config import ConnectionConfig, ReconnectPolicy
from app.keys import CHAT_NAMESPACE, QUEUE_NAMESPACE, first_object
from app.packets import Packet
from app.session import Session
from app.signals import Signal


class LessonRun(Protocol):
    """What the class needs of a ``ScenarioRun`` (named here, not imported: the engine
    imports this module)."""

    run_id: str
    url: str
    token: str | None
    wait: float
    data_dir: Path
    scenario: Any
    lanes: list[str]
    packets: deque[tuple[str, Packet]]
    packet: Signal[Any]
    step_changed: Signal[int]
    memo: dict[str, Any]
    sessions: dict[str, Session]

    def name(self, base: str) -> str: ...

    def namespace(self, base: str) -> str: ...

    def add_lane(self, name: str) -> None: ...

    def remark(self, lane: str, text: str, kind: str = "info") -> None: ...

    def say(self, text: str) -> None: ...

    async def user(self, name: str, namespaces: list[str]) -> Session: ...


class Verdict(Protocol):
    """An ``EndState`` as the class adds its lines to it."""

    ok: bool
    headline: str
    details: list[str]
    facts: dict[str, Any]


V = TypeVar("V", bound=Verdict)

log = logging.getLogger(__name__)

#: the name the lesson's own connections use on the teacher's side
TEACHER = "teacher"
#: longest wait for the students' answers to an invitation, and for them to leave
GATHER = 5.0
DISMISS = 5.0
#: jobs per student in a work-queue lesson
JOBS_EACH = 2


@dataclass(frozen=True, slots=True)
class ClassPart:
    """What the students do in a lesson: hear a broadcast on a namespace of their own,
    get a message in a room, work off jobs of a queue."""

    broadcast: bool = False
    room: bool = False
    queue: bool = False


#: the lessons students take part in, by lesson key
PARTS: dict[str, ClassPart] = {
    "broadcast": ClassPart(broadcast=True, room=True),
    "channels": ClassPart(broadcast=True, room=True),
    "workqueue": ClassPart(queue=True),
}


class Classroom:
    """The students of one run (see the module doc). ``students`` maps each student's
    user name to their lane."""

    def __init__(self, run: LessonRun, part: ClassPart, gather: float = GATHER) -> None:
        self.run = run
        self.part = part
        self.gather = gather
        self.invitation = Invitation(
            run.run_id, run.scenario.key, run.scenario.title,
            namespace=run.namespace("class") if part.broadcast else None,
            room=run.name("class") if part.room else None,
            queue=run.name("class-jobs") if part.queue else None)
        self.bus: Session | None = None
        self.students: dict[str, str] = {}
        self.declined: set[str] = set()
        self.left: set[str] = set()
        self.reached = 0
        #: (user, Packet) as the students reported them
        self.reports: list[tuple[str, Any]] = []
        self.lines: list[str] = []
        self.failed: list[str] = []
        self.dismissed = False

    # ---- the bus -----------------------------------------------------------------------

    async def open(self) -> None:
        """Connect to /class, invite everyone there and wait for their answers (until
        everyone the invitation reached answered, or ``gather`` seconds)."""
        run = self.run
        cfg = ConnectionConfig(url=run.url, user=f"{TEACHER}-{run.run_id}", token=run.token,
                               namespaces=[CLASS_NAMESPACE], transports=["websocket"],
                               reconnect=ReconnectPolicy(delay=0.5, delay_max=2.0),
                               ack_timeout=10.0, connect_timeout=10.0)
        bus = Session(cfg, run.data_dir / "class-bus")
        self.bus = bus
        bus.on(CLASS_NAMESPACE, HERE, self._here)
        bus.on(CLASS_NAMESPACE, DECLINED, self._declined)
        bus.on(CLASS_NAMESPACE, LEFT, self._left)
        bus.on(CLASS_NAMESPACE, PACKET, self._packet)
        bus.on(CLASS_NAMESPACE, HELLO, self._hello)
        if not await asyncio.wait_for(bus.connect(), run.wait) or \
                not await bus.wait_ready(CLASS_NAMESPACE, run.wait):
            run.say(f"Could not open {CLASS_NAMESPACE}: no student takes part "
                    f"({bus.last_error or 'no reason given'}).")
            return
        ack = await bus.call(CLASS_NAMESPACE, INVITE, self.invitation.wire())
        self.reached = int((first_object([ack]) or {}).get("delivered") or 0)
        run.step_changed.connect(self._step)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.gather
        while len(self.students) + len(self.declined) < self.reached \
                and loop.time() < deadline:
            await asyncio.sleep(0.05)
        if self.students:
            run.say(f"{len(self.students)} student(s) take part: "
                    f"{', '.join(sorted(self.students))}")

    def _hello(self, data: Any = None, *_rest: Any) -> None:
        """A student's app connected to /class while the lesson runs: invite it too."""
        if self.bus is not None and not self.dismissed and who(data) is not None:
            self.bus.spawn(self.bus.call(CLASS_NAMESPACE, INVITE, self.invitation.wire()))

    def _here(self, data: Any = None, *_rest: Any) -> None:
        found = who(data)
        if found is None or found[0] != self.run.run_id or self.dismissed:
            return
        user = found[1]
        if user not in self.students:
            lane = user if user not in self.run.lanes else f"{user} (student)"
            self.students[user] = lane
            self.run.add_lane(lane)
            self.run.remark(lane, "joined the lesson", "online")

    def _declined(self, data: Any = None, *_rest: Any) -> None:
        found = who(data)
        if found is not None and found[0] == self.run.run_id:
            self.declined.add(found[1])

    def _left(self, data: Any = None, *_rest: Any) -> None:
        found = who(data)
        if found is not None and found[0] == self.run.run_id and found[1] in self.students:
            self.left.add(found[1])
            self.run.remark(self.students[found[1]], "left the lesson", "offline")

    def _packet(self, data: Any = None, *_rest: Any) -> None:
        got = packet_from_report(data)
        if got is None or got[0] != self.run.run_id or got[1] not in self.students:
            return
        _, user, pkt = got
        self.reports.append((user, pkt))
        lane = self.students[user]
        self.run.packets.append((lane, pkt))
        self.run.packet.emit(lane, pkt)

    def _step(self, index: int) -> None:
        steps = self.run.scenario.steps
        if self.bus is None or self.dismissed or not 0 <= index < len(steps):
            return
        self.tell_step(index, steps[index].title, steps[index].text)

    def tell_step(self, index: int, title: str, text: str) -> None:
        """Show a step on the students' screens."""
        if self.bus is not None and self.bus.is_ready(CLASS_NAMESPACE):
            self.bus.spawn(self.bus.call(CLASS_NAMESPACE, STEP, {
                "run": self.run.run_id, "index": index,
                "count": len(self.run.scenario.steps), "title": title, "text": text}))

    # ---- the class's part --------------------------------------------------------------

    def got(self, user: str, namespace: str, event: str, direction: str = "in",
            **match: Any) -> list[Any]:
        """The reported packets of ``user`` with this namespace, event and direction
        whose payload has the ``match`` fields."""
        out = []
        for u, pkt in self.reports:
            if u != user or pkt.namespace != namespace or pkt.event != event \
                    or pkt.direction != direction or pkt.kind not in ("EVENT",
                                                                        "BINARY_EVENT"):
                continue
            body = first_object(pkt.args) or {}
            if all(body.get(k) == v for k, v in match.items()):
                out.append(body)
        return out

    def expect(self, ok: bool, text: str) -> None:
        self.lines.append(("✓ " if ok else "✗ ") + text)
        if not ok:
            self.failed.append(text)

    async def take_part(self) -> None:
        """The students' own part of the lesson (after the simulated users' check)."""
        if not self.students:
            return
        run, inv, everyone = self.run, self.invitation, sorted(self.students)
        run.say("The class takes part")
        self.tell_step(len(run.scenario.steps), "The class takes part",
                       "Watch your own screen: the teacher's lesson reaches your app now.")
        teacher = await run.user(TEACHER, inv.namespaces)
        if inv.namespace:
            news = teacher.emit(inv.namespace, "news", {"text": "Hello, class!"})
            await self._wait(lambda: all(self.got(u, inv.namespace or "", "news")
                                         for u in everyone), "every student to get the news")
            await self._wait(lambda: _reply(teacher, news.id) is not None, "the news' ack")
            heard = [u for u in everyone if self.got(u, inv.namespace, "news")]
            delivered = (_reply(teacher, news.id) or {}).get("delivered")
            self.expect(heard == everyone and delivered == len(everyone),
                        f"the broadcast reached every student ({len(heard)} of "
                        f"{len(everyone)}; the ack said {delivered})")
        if inv.room:
            await teacher.chat.join(inv.room)
            teacher.chat.send(inv.room, "Hello from the teacher")
            await self._wait(lambda: all(self.got(u, "/chat", "message", room=inv.room)
                                         for u in everyone), "every student's room message")
            got = [u for u in everyone if self.got(u, "/chat", "message", room=inv.room)]
            self.expect(got == everyone, f"the room message reached every student "
                        f"({len(got)} of {len(everyone)})")
        if inv.queue:
            await self._work(teacher, inv.queue, everyone)

    async def _work(self, teacher: Session, queue: str, everyone: list[str]) -> None:
        """Publish jobs that only the students consume; every one must be acked."""
        total = JOBS_EACH * len(everyone)
        for n in range(total):
            teacher.emit(QUEUE_NAMESPACE, "publish",
                         {"queue": queue, "payload": {"job": f"class job {n + 1}"}})
        row: dict[str, Any] = {}

        async def stats() -> dict[str, Any]:
            ack = await teacher.call(QUEUE_NAMESPACE, "stats", {}, timeout=self.run.wait)
            return next((q for q in (first_object([ack]) or {}).get("queues", [])
                         if q.get("queue") == queue), {})

        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.run.wait
        while loop.time() < deadline:
            row = await stats()
            if row.get("acked", 0) >= total:
                break
            await asyncio.sleep(0.1)
        per = {u: len(self.got(u, QUEUE_NAMESPACE, "deliver", queue=queue)) for u in everyone}
        self.run.memo["class_jobs"] = per
        self.expect(row.get("acked") == total and row.get("depth") == 0
                    and row.get("inflight") == 0,
                    f"the students' apps acked all {total} jobs (the server says "
                    f"{row.get('acked', 0)} acked)")
        self.expect(all(per.values()), "every student who joined was a worker: "
                    + ", ".join(f"{u} {n}" for u, n in per.items()))

    async def _wait(self, check: Any, what: str) -> bool:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.run.wait
        while not check():
            if loop.time() > deadline:
                log.info("waited in vain for %s", what)
                return False
            await asyncio.sleep(0.05)
        return True

    def verdict(self, end: V) -> V:
        """The run's end state with the class's lines added (a failed one fails it)."""
        if not self.lines:
            return end
        end.details = [*end.details, *self.lines]
        end.facts["students"] = sorted(self.students)
        if self.failed and end.ok:
            end.ok = False
            end.headline = "✗ " + self.failed[0]
        return end

    # ---- the end -----------------------------------------------------------------------

    async def dismiss(self) -> None:
        """Tell the class the lesson is over; wait (a little) for them to leave."""
        if self.dismissed or self.bus is None:
            return
        self.dismissed = True
        with contextlib.suppress(Exception):
            self.run.step_changed.disconnect(self._step)
        bus = self.bus
        if bus.is_ready(CLASS_NAMESPACE):
            with contextlib.suppress(Exception):
                await bus.call(CLASS_NAMESPACE, END, {"run": self.run.run_id}, timeout=5)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + DISMISS
            while set(self.students) - self.left and loop.time() < deadline:
                await asyncio.sleep(0.05)

    async def close(self) -> None:
        bus, self.bus = self.bus, None
        if bus is not None:
            await bus.close()


def _reply(session: Session, msg_id: str) -> dict[str, Any] | None:
    msg = session.outbox.get(msg_id)
    if msg is None or msg.reply is None:
        return None
    return first_object([msg.reply])


async def tidy_up(run: LessonRun, made: list[str]) -> list[str]:
    """Delete the queues and forget the /chat rooms whose names the run made, once its
    users stopped using them; the names deleted."""
    return [*await _delete_queues(run, made), *await _forget_rooms(run, made)]


async def _forget_rooms(run: LessonRun, made: list[str]) -> list[str]:
    """Leave and forget the run's /chat rooms. Needs one of the run's sessions still on
    /chat under a name with the run marker (the server's rule for ``forget``)."""
    marker = f"-{run.run_id}"
    sessions = [s for s in run.sessions.values() if s.is_ready(CHAT_NAMESPACE)]
    for s in sessions:
        for room in [r for r in s.chat.rooms if r in made]:
            with contextlib.suppress(Exception):
                await s.chat.leave(room)
    asker = next((s for s in sessions if (s.config.user or "").endswith(marker)), None)
    if asker is None or not made:
        return []
    listed = {r.get("room") for r in await asker.chat.list_rooms()}
    return await _retry_busy(asker, CHAT_NAMESPACE, "forget", "room",
                             [n for n in made if n in listed])


async def _retry_busy(asker: Session, namespace: str, event: str, field: str,
                      names: list[str]) -> list[str]:
    """Ask `event` for each name until it is not `busy` (a student's app may take a
    moment to unsubscribe or leave); the names it succeeded for."""
    done = []
    for name in names:
        for _ in range(50):
            reply = first_object([await asker.call(namespace, event, {field: name},
                                                   timeout=5)]) or {}
            if reply.get("ok"):
                done.append(name)
                break
            if reply.get("code") != "busy":
                log.info("could not %s %s: %s", event, name, reply.get("error"))
                break
            await asyncio.sleep(0.1)
    return done


async def _delete_queues(run: LessonRun, made: list[str]) -> list[str]:
    """Delete the run's queues once nobody consumes them. Needs one of the run's
    sessions still on /queue."""
    sessions = list(run.sessions.values())
    for s in sessions:
        for queue in [q for q in s.queue.subscriptions if q in made]:
            with contextlib.suppress(Exception):
                await s.queue.unsubscribe(queue)
    asker = next((s for s in sessions if s.is_ready(QUEUE_NAMESPACE)), None)
    if asker is None or not made:
        return []
    ack = await asker.call(QUEUE_NAMESPACE, "stats", {}, timeout=5)
    known = {q.get("queue") for q in (first_object([ack]) or {}).get("queues", [])}
    return await _retry_busy(asker, QUEUE_NAMESPACE, "delete", "queue",
                             [n for n in made if n in known])
