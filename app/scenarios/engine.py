"""The scenario engine: simulated users (core Sessions in this process) acting out a
lesson step by step against a server, with an explicit check of the end state.

A `Scenario` describes a lesson: its users, its steps in plain words, `play` (what the
users do) and `check` (what must be true afterwards, computed from the data the users'
stores, outboxes and packet logs hold, and from the server's own answers). A
`ScenarioRun` is one performance of it: it makes the sessions, tells observers which
step is current and which packets went by, and ends with an `EndState`.

Qt-free on purpose (plain asyncio and `app.signals.Signal`): the Learn tab only shows
a run, and tests drive the same runs without a GUI.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import logging
import secrets
import shutil
import time
from collections import deque
from collections.abc import Callable, Sized
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from app.config import ConnectionConfig, ReconnectPolicy, TlsSettings
from app.keys import CHAT_NAMESPACE, event_key, first_object, room_key
from app.outbox import OutboxState
from app.packets import Packet
from app.scenarios.classroom import PARTS, Classroom, tidy_up
from app.scenarios.hops import Hop
from app.scenarios.pacing import CHECK, Pacer, PacketMark, SetupTracker
from app.session import ConnectionState, Session
from app.signals import Signal, cancel_and_wait

log = logging.getLogger(__name__)

#: How long one wait inside a scenario may take before the run fails (seconds).
DEFAULT_WAIT = 20.0
#: Packets a run keeps for inspection (the UI keeps its own, smaller window).
KEEP_PACKETS = 5000


class ScenarioError(Exception):
    """Something the scenario needed did not happen; the message is for a student."""


class RunState(enum.StrEnum):
    """Where a run is."""

    IDLE = "idle"
    RUNNING = "running"
    PASSED = "passed"
    FAILED = "failed"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class Step:
    """One step of a lesson: a short title and a sentence or two in plain words."""

    title: str
    text: str


@dataclass(slots=True)
class EndState:
    """The verdict of a run: `ok`, a one-line headline ("✓ every message exactly
    once"), the individual findings, and the numbers behind them (`facts`)."""

    ok: bool
    headline: str
    details: list[str] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Note:
    """A remark on a lane that is not a packet (went offline, crashed, ...)."""

    lane: str
    text: str
    ts: float
    kind: str = "info"          # "info" | "offline" | "online" | "crash"


class Checks:
    """Collects findings for an EndState: each `expect` is one line, ✓ or ✗."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.failed: list[str] = []
        self.facts: dict[str, Any] = {}

    def expect(self, ok: bool, text: str) -> bool:
        self.lines.append(("✓ " if ok else "✗ ") + text)
        if not ok:
            self.failed.append(text)
        return ok

    def end(self, headline: str) -> EndState:
        if self.failed:
            return EndState(False, "✗ " + self.failed[0], self.lines, self.facts)
        return EndState(True, "✓ " + headline, self.lines, self.facts)


class Scenario:
    """A lesson. Subclasses set the class attributes and write `play` and `check`."""

    key: ClassVar[str] = ""
    number: ClassVar[int] = 0
    title: ClassVar[str] = ""
    short: ClassVar[str] = ""          # for a narrow list
    summary: ClassVar[str] = ""
    explanation: ClassVar[str] = ""
    users: ClassVar[tuple[str, ...]] = ()
    steps: ClassVar[tuple[Step, ...]] = ()
    #: The diagram's columns left to right, for a lesson that runs servers of its own
    #: (server processes, Redis); empty: the users on either side of the one server.
    columns: ClassVar[tuple[str, ...]] = ()
    #: Which of `columns` are servers (drawn as boxes, at the far end of users' arrows).
    server_lanes: ClassVar[tuple[str, ...]] = ()

    async def play(self, run: ScenarioRun) -> None:
        """Act the lesson out (call `run.step(i)` as it advances)."""
        raise NotImplementedError

    async def check(self, run: ScenarioRun) -> EndState:
        """Look at the data and say whether the lesson's promise held."""
        raise NotImplementedError


class ScenarioRun:
    """One run of a scenario against `url`, its users' data under `data_dir`.

    Signals (all called on the loop thread):
      `state_changed(RunState, sentence)`, `step_changed(index)` (index == number of
      steps once finished), `lane_added(name)`, `packet(lane, Packet)`, `note(Note)`,
      `said(text)` (narration for a log), `finished(EndState)`, `outbox_depth(lane, n)`
      (a user's outbox changed), `lane_state(lane, "connected"|"offline"|...)`,
      `pacing_changed()` (paused, step by step, held or the step on view changed: read
      them from the run), `checks_started()` (the lesson is over; its checks run).

    Teacher pacing (see app.scenarios.pacing): `pause()`, `resume()`, `next_step()`,
    `previous_step()`, `step_by_step`; `mark(lane, pkt)` says which step a packet
    belongs to and whether it was setup, a step's own (key) or the checks'.
    """

    def __init__(self, scenario: Scenario, url: str, data_dir: Path | str, *,
                 pace: float = 0.0, token: str | None = None, run_id: str | None = None,
                 wait: float = DEFAULT_WAIT, tls: TlsSettings | None = None,
                 socketio_path: str = "socket.io") -> None:
        self.scenario = scenario
        self.url = url
        self.token = token or None
        #: how the server is reached besides its URL: the simulated users check its
        #: certificate (a hosted workspace's is self-signed, pinned by fingerprint) and
        #: use its Socket.IO path as the window's own connection does
        self.tls = tls or TlsSettings()
        self.socketio_path = socketio_path
        self.run_id = run_id or secrets.token_hex(3)
        self.data_dir = Path(data_dir) / f"{scenario.key}-{self.run_id}"
        self.pace = max(0.0, pace)
        self.wait = wait
        self.state = RunState.IDLE
        self.current = -1
        self.end: EndState | None = None
        self.sessions: dict[str, Session] = {}
        self.lanes: list[str] = []
        self.packets: deque[tuple[str, Packet]] = deque(maxlen=KEEP_PACKETS)
        self.notes: list[Note] = []
        self.narration: list[str] = []
        self.memo: dict[str, Any] = {}          # what play() wants check() to know
        self.state_changed: Signal[Any] = Signal("state_changed")
        self.step_changed: Signal[int] = Signal("step_changed")
        self.lane_added: Signal[str] = Signal("lane_added")
        self.packet: Signal[Any] = Signal("packet")
        self.note: Signal[Note] = Signal("note")
        self.said: Signal[str] = Signal("said")
        self.finished: Signal[EndState] = Signal("finished")
        self.outbox_depth: Signal[Any] = Signal("outbox_depth")   # (lane, depth)
        self.lane_state: Signal[Any] = Signal("lane_state")       # (lane, state value)
        self.pacing_changed: Signal[Any] = Signal("pacing_changed")
        self.checks_started: Signal[Any] = Signal("checks_started")
        self.pacer = Pacer(lambda: self.current, self.pacing_changed.emit)
        self.checking = False
        self.marks: dict[tuple[str, int], PacketMark] = {}
        self._trackers: dict[str, SetupTracker] = {}
        self._task: asyncio.Task[EndState] | None = None
        self._links: list[tuple[Signal[Any], Callable[..., Any]]] = []
        self._closed = False
        #: lane -> the server lane its packets go to, for lessons with several servers
        self.routes: dict[str, Callable[[], str]] = {}
        # students and cleanup (app.scenarios.classroom): set by the Learn tab
        #: invite the students' apps on /class (when the teacher hosts the workspace)
        self.invite_students = False
        #: delete the run's queues as soon as the lesson ends (else when it is closed)
        self.tidy_when_done = False
        #: every room, queue and namespace name this run made (name(), namespace())
        self.made: list[str] = []
        self.classroom: Classroom | None = None
        self.tidied: list[str] | None = None

    # ---- names -----------------------------------------------------------------------

    def name(self, base: str) -> str:
        """A room or queue name unique to this run, so a lesson can be re-run (and its
        leftovers found and removed afterwards: ``tidy``)."""
        made = f"{base}-{self.run_id}"
        if made not in self.made:
            self.made.append(made)
        return made

    def namespace(self, base: str) -> str:
        """A sandbox namespace unique to this run (no other socket is on it)."""
        made = f"/{base}-{self.run_id}"
        if made not in self.made:
            self.made.append(made)
        return made

    # ---- users -----------------------------------------------------------------------

    def add_lane(self, name: str) -> None:
        if name not in self.lanes:
            self.lanes.append(name)
            self.lane_added.emit(name)

    def wire_name(self, lane: str) -> str:
        """The user name a lane's simulated user has on the server: ``alice-3f9a0c``
        for the lane ``alice``. Unique to the run, so a lesson never collides with a
        real person called alice (whose name may be claimed), and ending in the run
        marker the server's ``forget`` of the run's rooms asks for."""
        return f"{lane}-{self.run_id}"

    def lane_of(self, user: Any) -> Any:
        """The lane of a user name seen in a payload (``alice-3f9a0c`` -> ``alice``);
        anything else unchanged."""
        suffix = f"-{self.run_id}"
        if isinstance(user, str) and user.endswith(suffix) and user != suffix:
            return user.removesuffix(suffix)
        return user

    def make_user(self, name: str, namespaces: list[str], *, user: str | None = None
                  ) -> Session:
        """A simulated user's session (not connected yet); its packets feed the run. On
        the wire it is ``wire_name(name)`` unless `user` says otherwise, connects
        `transient` (no ``users`` entry on the server) and with no name-claim key."""
        if name in self.sessions:
            raise ScenarioError(f"{name} is already in this lesson")
        cfg = ConnectionConfig(
            url=self.url, user=user or self.wire_name(name), token=self.token,
            tls=dataclasses.replace(self.tls), socketio_path=self.socketio_path,
            namespaces=list(namespaces), auth={"transient": True},
            transports=["websocket"],
            # slow enough that a deliberate drop is over before any retry starts
            reconnect=ReconnectPolicy(delay=0.5, delay_max=2.0, jitter=0.1),
            ack_timeout=10.0, connect_timeout=10.0)
        session = Session(cfg, self.data_dir / name)
        self.sessions[name] = session
        self.add_lane(name)

        def on_packet(pkt: Packet, lane: str = name) -> None:
            pkt = self.routed(lane, pkt)
            self.mark_packet(lane, pkt)
            self.packets.append((lane, pkt))
            self.packet.emit(lane, pkt)

        def on_outbox(_msg: Any, lane: str = name, s: Session = session) -> None:
            with contextlib.suppress(Exception):  # a closed store has no depth
                self.outbox_depth.emit(lane, s.outbox.depth())

        def on_state(change: Any, lane: str = name) -> None:
            self.lane_state.emit(lane, change.state.value)

        self._link(session.packet_log.packet_logged, on_packet)
        self._link(session.outbox.changed, on_outbox)
        self._link(session.state_changed, on_state)
        session.send_gate = self._send_gate
        return session

    # ---- lessons with servers of their own (app.scenarios.hops) -----------------------

    def serve_from(self, name: str, urls: list[str]) -> None:
        """Give a user (made, not connected yet) its own server addresses, tried in
        order: the workspace's address list, which is how a client fails over."""
        session = self.sessions[name]
        session.config.url = urls[0]
        session.config.urls = list(urls[1:])
        session.manager.current_url = urls[0]

    def route(self, lane: str, peer: Callable[[], str]) -> None:
        """Draw this lane's packets to and from `peer()` (the server lane it is on now)
        instead of the one server."""
        self.routes[lane] = peer

    def routed(self, lane: str, pkt: Packet) -> Packet:
        """The packet as the diagram draws it: a Hop towards the lane's current server
        when the lane has a route, else unchanged."""
        peer = self.routes.get(lane)
        if peer is None or getattr(pkt, "peer", None):
            return pkt
        return Hop(pkt.seq, pkt.ts, pkt.direction, pkt.namespace, pkt.kind, pkt.event,
                   pkt.args, pkt.ack_id, pkt.latency_ms, pkt.size, peer=peer())

    def hop(self, lane: str, pkt: Packet) -> None:
        """An arrow that is no simulated user's packet (Engine.IO, Redis): kept with the
        run's packets and shown like them."""
        self.mark_packet(lane, pkt)
        self.packets.append((lane, pkt))
        self.packet.emit(lane, pkt)

    async def user(self, name: str, namespaces: list[str]) -> Session:
        """Make a user, connect it and wait until every namespace is ready."""
        session = self.make_user(name, namespaces)
        await self.connect(name)
        return session

    async def connect(self, name: str) -> None:
        """(Re)connect a user and wait for all its namespaces to be ready."""
        session = self.sessions[name]
        await self.pacer.gate()
        ok = await asyncio.wait_for(session.connect(), self.wait)
        if not ok:
            raise ScenarioError(f"{name} could not connect to {self.url}: "
                                f"{session.last_error or 'no reason given'}")
        for ns in session.namespaces:
            if not await session.wait_ready(ns, self.wait):
                raise ScenarioError(f"{name}'s {ns} did not become ready in time")

    async def go_offline(self, name: str, why: str = "went offline") -> None:
        """A polite disconnect: the user's outbox keeps what it writes meanwhile."""
        await self.pacer.gate()
        await self.sessions[name].disconnect(reason=why)
        self.remark(name, why, "offline")

    async def drop_abruptly(self, name: str) -> None:
        """Kill a user's connection as a crash would: the TCP connection is cut, no
        Socket.IO or Engine.IO goodbye is sent, and the user does not come back."""
        session = self.sessions[name]
        self.remark(name, "crashed", "crash")
        await session.abort_transport()
        await self.until(lambda: session.state != ConnectionState.CONNECTED,
                         f"{name}'s connection to drop")
        await session.disconnect(reason="crashed")

    def reconnect_now(self) -> None:
        """Skip every user's back-off wait (the server is back)."""
        for s in self.sessions.values():
            if s.state == ConnectionState.RECONNECTING:
                s.reconnect_now()

    # ---- narration -------------------------------------------------------------------

    async def step(self, index: int) -> None:
        """Make step `index` the current one (and give the class a moment to read); a
        paused or step-by-step run waits here for the teacher."""
        if self.current >= 0:
            await self.beat()
        await self.pacer.gate(index)
        self.current = index
        self.say(f"Step {index + 1}: {self.scenario.steps[index].title}")
        self.step_changed.emit(index)
        await self.beat(0.5)

    def say(self, text: str) -> None:
        self.narration.append(text)
        self.said.emit(text)

    def remark(self, lane: str, text: str, kind: str = "info") -> None:
        note = Note(lane, text, time.time(), kind)
        self.notes.append(note)
        self.note.emit(note)

    async def beat(self, factor: float = 1.0) -> None:
        """A pause for the audience in live runs (no pause at all with pace 0). A gate:
        a paused run holds here, and the time paused does not count."""
        await self.pacer.gate()
        left = self.pace * factor
        while left > 0:
            slept = min(left, 0.05)
            await asyncio.sleep(slept)
            left -= slept
            await self.pacer.gate()

    async def until(self, check: Callable[[], Any], what: str,
                    timeout: float | None = None) -> Any:
        """Wait for a condition (re-checked every 20 ms); ScenarioError after timeout.
        A paused run holds between the checks, and the time paused does not count."""
        limit = self.wait if timeout is None else timeout
        deadline = time.monotonic() + limit
        paused_before = self.pacer.paused_seconds()
        while True:
            await self.pacer.gate()
            value = check()
            if value:
                return value
            if time.monotonic() > deadline + self.pacer.paused_seconds() - paused_before:
                raise ScenarioError(f"waited {limit:g} s for {what}")
            await asyncio.sleep(0.02)

    # ---- running ---------------------------------------------------------------------

    def _set_state(self, state: RunState, sentence: str) -> None:
        self.state = state
        self.state_changed.emit(state, sentence)

    def start(self) -> asyncio.Task[EndState]:
        """Run in the background; the task's result is the EndState."""
        if self._task is None:
            self._task = asyncio.ensure_future(self.run())
        return self._task

    async def run(self) -> EndState:
        """Play the lesson, then check the end state (never raises, except cancel)."""
        if self.state != RunState.IDLE:
            raise ScenarioError("a run can be played once; start a new run")
        self._set_state(RunState.RUNNING, f"{self.scenario.title}: running")
        for name in self.scenario.users:
            self.add_lane(name)
        try:
            await self._seat_students()
            await self.scenario.play(self)
            self._start_checks()
            for s in self.sessions.values():
                s.store.flush()
            end = await self.scenario.check(self)
            end = await self._students_take_part(end)
        except asyncio.CancelledError:
            self.end = EndState(False, "Stopped before the end.")
            self._set_state(RunState.STOPPED, "stopped")
            raise
        except ScenarioError as exc:
            end = EndState(False, f"✗ {exc}")
        except Exception as exc:  # a bug or an odd server: say it, never crash the UI
            log.exception("scenario %s failed", self.scenario.key)
            end = EndState(False, f"✗ {type(exc).__name__}: {exc}")
        self.end = end
        self.current = len(self.scenario.steps) if end.ok else self.current
        if end.ok:
            self.step_changed.emit(self.current)
        self._set_state(RunState.PASSED if end.ok else RunState.FAILED, end.headline)
        self.say(end.headline)
        self.finished.emit(end)
        if self.tidy_when_done:
            await self.tidy()
        return end

    async def stop(self) -> None:
        """Stop a run that is still playing (its sessions stay until `close`)."""
        self.pacer.release()
        task = self._task
        if task is not None and not task.done():
            await cancel_and_wait(task)
        elif self.state == RunState.RUNNING:
            self._set_state(RunState.STOPPED, "stopped")

    async def close(self, remove: bool = True) -> None:
        """Stop, close every user's session, and remove the run's data (by default)."""
        if self._closed:
            return
        self._closed = True
        await self.stop()
        with contextlib.suppress(Exception):   # the server may be gone: close anyway
            await asyncio.wait_for(self.tidy(), 15)
        if self.classroom is not None:
            await self.classroom.close()
        for sig, cb in self._links:
            sig.disconnect(cb)
        self._links.clear()
        for name, s in list(self.sessions.items()):
            try:
                await s.close()
            except Exception as exc:  # closing must go on for the others
                log.debug("closing %s failed: %s", name, exc)
        if remove:
            await asyncio.get_running_loop().run_in_executor(
                None, lambda: shutil.rmtree(self.data_dir, ignore_errors=True))

    # ---- students and cleanup (app.scenarios.classroom) --------------------------------

    async def _seat_students(self) -> None:
        """Invite the students' apps (lessons they take part in, when asked to)."""
        part = PARTS.get(self.scenario.key)
        if self.invite_students and part is not None and self.classroom is None:
            self.classroom = Classroom(self, part)
            await self.classroom.open()

    async def _students_take_part(self, end: EndState) -> EndState:
        """After the simulated users' check: the class's own part, and its lines."""
        room = self.classroom
        if room is None or not room.students:
            return end
        try:
            await room.take_part()
        except ScenarioError as exc:
            room.expect(False, str(exc))
        return room.verdict(end)

    @property
    def students(self) -> dict[str, str]:
        """Student user names -> their lanes (empty without students)."""
        return dict(self.classroom.students) if self.classroom is not None else {}

    async def tidy(self) -> list[str]:
        """Dismiss the students, then delete the queues this run made (once); the names
        deleted. Never raises: a lesson that cannot clean up says so in the narration."""
        if self.tidied is not None:
            return self.tidied
        self.tidied = []
        try:
            if self.classroom is not None:
                await self.classroom.dismiss()
            self.tidied = await tidy_up(self, self.made)
        except Exception as exc:  # a stopped server: nothing to clean up there now
            log.info("cleaning up after %s failed: %s", self.scenario.key, exc)
            self.say(f"Could not clean up on the server: {exc}")
        if self.tidied:
            self.say("Cleaned up: " + ", ".join(self.tidied))
        return self.tidied

    def _link(self, sig: Signal[Any], cb: Callable[..., Any]) -> None:
        sig.connect(cb)
        self._links.append((sig, cb))

    # ---- teacher pacing (app.scenarios.pacing) -----------------------------------------

    def pause(self) -> None:
        """Hold the lesson at its next gate; its users send nothing until `resume`."""
        self.pacer.pause()

    def resume(self) -> None:
        """Go on (step by step: the step on screen finishes, the next one waits)."""
        self.pacer.resume()

    def next_step(self) -> str:
        """Exactly one step further: "view" (forward through steps looked back at) or
        "advance" (a held run plays one more step, then holds again)."""
        return self.pacer.next_step()

    def previous_step(self) -> int:
        """Look back at the step before the one on view; the run holds meanwhile, since
        packets cannot be un-sent. Returns the step now on view (-1: none)."""
        return self.pacer.previous_step()

    @property
    def step_by_step(self) -> bool:
        """When on, each step waits for `next_step` before it starts."""
        return self.pacer.step_by_step

    @step_by_step.setter
    def step_by_step(self, on: bool) -> None:
        self.pacer.step_by_step = on

    @property
    def paused(self) -> bool:
        return self.pacer.paused

    @property
    def held(self) -> bool:
        """The lesson waits for the teacher right now (paused, or between steps)."""
        return self.pacer.held

    @property
    def viewing(self) -> int:
        """The step looked back at with `previous_step`; -1 while following the run."""
        return self.pacer.viewing

    def mark_packet(self, lane: str, pkt: Packet) -> PacketMark:
        """Record what a packet of `lane` was for (its step; setup, key or check)."""
        if self.checking:
            mark = PacketMark(len(self.scenario.steps), CHECK)
        else:
            tracker = self._trackers.setdefault(lane, SetupTracker())
            mark = PacketMark(max(0, self.current), tracker.role(pkt))
        self.marks[(lane, pkt.seq)] = mark
        return mark

    def mark(self, lane: str, pkt: Packet) -> PacketMark | None:
        """The mark recorded for a packet of `lane` (None for one the run never saw)."""
        return self.marks.get((lane, pkt.seq))

    async def _send_gate(self) -> None:
        await self.pacer.gate(lesson=False)

    def _start_checks(self) -> None:
        """The lesson is over: what follows is its checks, off the diagram."""
        self.checking = True
        self.say("Checking the result…")
        self.checks_started.emit()


# ---- helpers the scenarios share ---------------------------------------------------------

def received(session: Session, namespace: str, event: str) -> list[list[Any]]:
    """The argument lists of every `event` this user's store holds from `namespace`."""
    session.store.flush()
    queue = event_key(namespace, event)
    return [m.args for m in session.store.page(queue, limit=10_000)]


def first_arg(args: list[Any]) -> dict[str, Any]:
    """The payload object of an event (empty when it has none)."""
    return first_object(args) or {}


def longer_than(items: Sized, n: int) -> bool:
    """For waits in a loop: has the list grown past what it held before?"""
    return len(items) > n


def holds_at_least(session: Session, room: str, n: int) -> bool:
    """Does this user's store hold at least `n` messages of the room?"""
    return len(room_messages(session, room)) >= n


def acked(session: Session, msg_id: str) -> bool:
    """Whether this user's message has been acknowledged by the server."""
    msg = session.outbox.get(msg_id)
    return msg is not None and msg.state == OutboxState.ACKED


def packets_of(run: ScenarioRun, lane: str) -> list[Packet]:
    return [p for name, p in run.packets if name == lane]


def names(items: list[str] | set[str]) -> str:
    """alice, bob and carol"""
    seq = sorted(items)
    if not seq:
        return "nobody"
    return seq[0] if len(seq) == 1 else ", ".join(seq[:-1]) + " and " + seq[-1]


def room_messages(session: Session, room: str, direction: str | None = None) -> list[Any]:
    """The StoredMessages of a /chat room this user holds (oldest first)."""
    session.store.flush()
    rows = session.store.page(room_key(CHAT_NAMESPACE, room), limit=100_000)
    return [m for m in rows if direction is None or m.direction == direction]
