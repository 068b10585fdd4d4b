"""Qt signals for a scenario run (the Learn tab's counterpart of ui.bridge.SessionBridge).

``app.scenarios.ScenarioRun`` notifies through core ``Signal`` callbacks on the loop
thread (the GUI thread under qasync); this bridge re-emits each as a Qt signal so the
widgets never hold core callbacks, and a finished run can be dropped by detaching.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal


class RunBridge(QObject):
    """Qt mirror of one ScenarioRun's signals."""

    state_changed = Signal(str, str)     # RunState value, sentence
    step_changed = Signal(int)           # index; == number of steps when finished
    lane_added = Signal(str)
    packet = Signal(str, object)         # lane, app.packets.Packet
    note = Signal(object)                # app.scenarios.Note
    said = Signal(str)
    finished = Signal(object)            # app.scenarios.EndState
    outbox_depth = Signal(str, int)      # lane, messages waiting in its outbox
    lane_state = Signal(str, str)        # lane, connection state
    pacing_changed = Signal()            # paused, step by step, held, step on view
    checks_started = Signal()            # the lesson is over; its checks run

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.run: Any = None
        self._links: list[tuple[Any, Callable[..., Any]]] = []

    def attach(self, run: Any) -> None:
        self.detach()
        self.run = run
        self._link(run.state_changed, lambda st, why: self.state_changed.emit(
            str(getattr(st, "value", st)), str(why)))
        self._link(run.step_changed, lambda i: self.step_changed.emit(int(i)))
        self._link(run.lane_added, lambda name: self.lane_added.emit(str(name)))
        self._link(run.packet, lambda lane, pkt: self.packet.emit(str(lane), pkt))
        self._link(run.note, self.note.emit)
        self._link(run.said, lambda text: self.said.emit(str(text)))
        self._link(run.finished, self.finished.emit)
        self._link(run.outbox_depth, lambda lane, n: self.outbox_depth.emit(str(lane), int(n)))
        self._link(run.lane_state, lambda lane, st: self.lane_state.emit(str(lane), str(st)))
        self._link(run.pacing_changed, self.pacing_changed.emit)
        self._link(run.checks_started, self.checks_started.emit)

    def detach(self) -> None:
        for sig, cb in self._links:
            sig.disconnect(cb)
        self._links.clear()
        self.run = None

    def _link(self, sig: Any, cb: Callable[..., Any]) -> None:
        sig.connect(cb)
        self._links.append((sig, cb))
