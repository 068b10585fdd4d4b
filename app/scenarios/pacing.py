"""Teacher pacing for a scenario run, and the marks that tell a diagram what each packet
was for.

Why a module of its own: the engine (`app.scenarios.engine.ScenarioRun`) runs a lesson
as fast as its `pace` allows; a teacher needs to hold it (Pause), let it go exactly one
step further (Next), make every step wait (step by step), and look back (Previous)
without the lesson running on underneath. `Pacer` is that state and its gates; the run
awaits a gate at every `step()`, `beat()`, poll of `until()`, connect, and before each
packet its users write, so a held run sends nothing.

`classify` and `SetupTracker` say which packets are setup traffic (connecting, welcome,
presence, joining a room) so the diagram can fold them, which ones a step's own actions
caused (its key packets), and which ones the end-of-lesson checks caused.

Qt-free like the rest of `app.scenarios`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

#: roles of a packet in a lesson
SETUP = "setup"
KEY = "key"
CHECK = "check"

#: events the server sends on its own when somebody connects or joins
SETUP_EVENTS = frozenset({"welcome", "presence", "typing"})
#: events a client sends to take its seat (a join with `since` is a recovery: key)
SEAT_EVENTS = frozenset({"join", "leave", "subscribe"})


@dataclass(frozen=True, slots=True)
class PacketMark:
    """What a packet was for: the step current when it went by (-1 before the first
    step, len(steps) for the checks) and its role (SETUP, KEY or CHECK)."""

    step: int
    role: str

    @property
    def setup(self) -> bool:
        return self.role == SETUP

    @property
    def key(self) -> bool:
        return self.role == KEY


def _first(args: list[Any]) -> dict[str, Any]:
    return args[0] if args and isinstance(args[0], dict) else {}


class SetupTracker:
    """Decides SETUP or KEY per packet of one lane, remembering which of the lane's
    requests were setup so their ACKs are setup too."""

    def __init__(self) -> None:
        self._seat_acks: set[tuple[str, int]] = set()

    def role(self, pkt: Any) -> str:
        kind = str(getattr(pkt, "kind", ""))
        direction = str(getattr(pkt, "direction", ""))
        ns = str(getattr(pkt, "namespace", "/"))
        ack_id = getattr(pkt, "ack_id", None)
        if kind == "CONNECT":
            return SETUP
        if kind in ("EVENT", "BINARY_EVENT"):
            event = getattr(pkt, "event", None) or ""
            if direction == "in" and event in SETUP_EVENTS:
                return SETUP
            if direction == "out" and event in SEAT_EVENTS \
                    and _first(list(getattr(pkt, "args", []) or [])).get("since") is None:
                if ack_id is not None:
                    self._seat_acks.add((ns, int(ack_id)))
                return SETUP
            return KEY
        if kind in ("ACK", "BINARY_ACK") and direction == "in" and ack_id is not None:
            pair = (ns, int(ack_id))
            if pair in self._seat_acks:
                self._seat_acks.discard(pair)
                return SETUP
        return KEY


class Pacer:
    """Pause, next step, step by step: the gates a run awaits.

    `through` is the last step the run may finish without waiting for the teacher. A
    gate inside the current step holds while paused and the step is past `through`; a
    gate before step i (at `step(i)`) holds while paused or step by step and i is past
    `through`. `next_step` moves `through` one step past what is on screen, so a held
    run goes exactly one step further, then holds again.

    `current` reads the run's current step; `changed` is called whenever something a
    control shows changed (paused, step by step, held, the step on view).
    """

    def __init__(self, current: Callable[[], int], changed: Callable[[], None]) -> None:
        self._current = current
        self._changed = changed
        self.paused = False
        self._step_by_step = False
        self.through = 0            # Run plays the first step; step by step waits after it
        self.held = False           # the lesson itself waits at a gate right now
        self.open_for_good = False  # stopped or closed: nothing may wait any more
        self.viewing = -1           # a step looked back at (Previous); -1: follow the run
        self._wake = asyncio.Event()
        self._paused_since: float | None = None
        self._paused_total = 0.0

    # -- controls --------------------------------------------------------------------------
    @property
    def step_by_step(self) -> bool:
        return self._step_by_step

    @step_by_step.setter
    def step_by_step(self, on: bool) -> None:
        if on == self._step_by_step:
            return
        self._step_by_step = bool(on)
        if on:  # the step on screen may finish; the next one waits
            self.through = max(self.through, self._current())
        self._poke()

    def pause(self) -> None:
        if self.paused or self.open_for_good:
            return
        self.paused = True
        self._paused_since = time.monotonic()
        self.through = min(self.through, self._current() - 1)
        self._poke()

    def resume(self) -> None:
        if not self.paused:
            return
        self.paused = False
        if self._paused_since is not None:
            self._paused_total += time.monotonic() - self._paused_since
            self._paused_since = None
        # step by step: the step on screen finishes, the next one still waits
        self.through = max(self.through, self._current())
        self.viewing = -1
        self._poke()

    def next_step(self) -> str:
        """One step further: forward through steps looked back at first ("view"), then
        let the run play one more step ("advance")."""
        cur = self._current()
        if 0 <= self.viewing < cur:
            self.viewing += 1
            if self.viewing >= cur:
                self.viewing = -1
            self._poke()
            return "view"
        self.viewing = -1
        self.through = max(self.through, cur) + 1
        self._poke()
        return "advance"

    def previous_step(self) -> int:
        """Look back one step (the run holds meanwhile: it cannot un-send packets);
        returns the step now on view, -1 when there is none."""
        cur = self._current()
        if cur <= 0 and self.viewing < 0:
            return -1
        self.pause()
        shown = cur if self.viewing < 0 else self.viewing
        self.viewing = max(0, shown - 1)
        self._poke()
        return self.viewing

    def release(self) -> None:
        """Stopped or closed: every gate opens for good."""
        self.open_for_good = True
        self.paused = False
        self._poke()

    # -- gates -----------------------------------------------------------------------------
    def holds(self, boundary: int | None = None) -> bool:
        """Would a gate hold now? `boundary`: the step about to start, None inside one."""
        if self.open_for_good:
            return False
        if boundary is not None:
            return (self.paused or self._step_by_step) and boundary > self.through
        return self.paused and self._current() > self.through

    async def gate(self, boundary: int | None = None, *, lesson: bool = True) -> None:
        """Wait while the teacher holds the run. `lesson`: the lesson's own code waits
        (shown as "waiting for you"), not a user's packet."""
        if not self.holds(boundary):
            return
        if lesson:
            self.held = True
            self._changed()
        try:
            while self.holds(boundary):
                self._wake.clear()
                await self._wake.wait()
        finally:
            if lesson:
                self.held = False
                self._changed()

    def paused_seconds(self) -> float:
        """How long the run has been paused in all (waits add it to their deadline)."""
        now = self._paused_total
        if self._paused_since is not None:
            now += time.monotonic() - self._paused_since
        return now

    def _poke(self) -> None:
        self._wake.set()
        self._changed()
