""""Be a worker on this queue": the Queues tab's switch that makes the user's own session
a consumer of the selected server work queue.

Seeing a work queue from the outside (depth, peek) teaches less than being one of its
workers: with the switch on, the session subscribes to the queue (one job at a time,
``QueueConsumer`` with auto-ack: each delivery is acked once handled) and the button
counts the jobs this app acked; other workers of the queue share the jobs round robin.
Off unsubscribes: a job held at that moment goes back to the queue with attempt + 1,
as the server's rules say. A refusal (not connected, the server's ``ok: false``) is a
sentence in the status line and the switch goes back off.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QToolButton

from app.inspector import QueueRow
from ui.inspector.host import InspectorHost

if TYPE_CHECKING:
    from app.session import Session

#: one job at a time: a slow worker does not hoard jobs the others could do
PREFETCH = 1


class WorkerSwitch(QObject):
    """The switch (``button``, made by the message pane) for the queue shown."""

    #: (queue, jobs acked so far) after each job this app finished
    job_done = Signal(str, int)
    #: (queue, on) once the server answered the (un)subscribe
    switched = Signal(str, bool)

    def __init__(self, host: InspectorHost, button: QToolButton,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.host = host
        self.button = button
        self.queue: str | None = None
        #: queue -> jobs acked by this app while it was a worker there
        self.done: dict[str, int] = {}
        self._session: Session | None = None
        button.toggled.connect(self._toggled)
        self.show_queue(None)

    @property
    def working(self) -> set[str]:
        s = self._follow()
        return {q for q in self.done if s is not None and q in s.queue.subscriptions}

    def _follow(self) -> Session | None:
        """The session shown (a new one starts with no worker switched on)."""
        s = self.host.session
        if s is not self._session:
            if self._session is not None:
                self._session.queue.handled.disconnect(self._handled)
            self._session = s
            self.done.clear()
            if s is not None:
                s.queue.handled.connect(self._handled)
        return s

    def show_queue(self, row: QueueRow | None) -> None:
        """The Queues tab selected ``row``: the switch is for its work queue, if any."""
        self._follow()
        queue = row.work_queue if row is not None and row.kind == "work" else None
        self.queue = queue
        self.button.setVisible(queue is not None)
        self.button.blockSignals(True)
        self.button.setChecked(queue is not None and queue in self.working)
        self.button.blockSignals(False)
        self._label()

    def _label(self) -> None:
        q = self.queue
        if q is not None and q in self.working:
            n = self.done.get(q, 0)
            self.button.setText(f"Worker: {n} job{'' if n == 1 else 's'} done")
        else:
            self.button.setText("Be a worker")

    def _toggled(self, on: bool) -> None:
        queue = self.queue
        if queue is not None:
            self.host.spawn(self.set_worker(queue, on))

    async def set_worker(self, queue: str, on: bool) -> bool:
        """Consume ``queue`` (on) or stop (off); True when the server agreed."""
        s = self._follow()
        try:
            if s is None or not s.is_ready("/queue"):
                raise RuntimeError("connect to SockDesk's server first: work queues live "
                                   "on its /queue namespace")
            if on:
                reply: Any = await s.queue.subscribe(queue, None, prefetch=PREFETCH,
                                                     auto_ack=True)
            else:
                reply = await s.queue.unsubscribe(queue)
            if not (isinstance(reply, dict) and reply.get("ok")):
                error = reply.get("error") if isinstance(reply, dict) else reply
                raise RuntimeError(str(error or "the server said no"))
        except Exception as exc:  # NotConnected, CallTimeout, a refusal
            if s is not None and on:
                s.queue.subscriptions.pop(queue, None)
            self.host.show_error(f"Could not {'start' if on else 'stop'} working on "
                                 f"{queue}: {exc}")
            if queue == self.queue:
                self.button.blockSignals(True)
                self.button.setChecked(not on)
                self.button.blockSignals(False)
            return False
        if on:
            self.done.setdefault(queue, 0)
        self.host.show_info(f"You are a worker on {queue}: each job is acked once done."
                            if on else f"You stopped working on {queue}.")
        self._label()
        self.switched.emit(queue, on)
        return True

    def _handled(self, delivery: Any, ok: bool, _error: Any = None) -> None:
        queue = str(delivery.get("queue")) if isinstance(delivery, dict) else ""
        if ok and queue in self.done:
            self.done[queue] += 1
            if queue == self.queue:
                self._label()
            self.job_done.emit(queue, self.done[queue])
