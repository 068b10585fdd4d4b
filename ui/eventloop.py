"""The asyncio loop of the GUI: qasync's, with one queue for ready callbacks.

qasync turns every ``call_soon`` into a Qt timer of its own: ``startTimer(0)``, a
``timerEvent`` dispatched through PySide into Python, then ``killTimer``. A busy socket
schedules several callbacks per packet (the reader task, futures, the store's flush), so
at a few thousand packets a second that bookkeeping took about a fifth of the GUI
thread (py-spy, B5). Here ready callbacks wait in one FIFO, as in asyncio's own loop,
and one zero-interval timer runs them in slices of at most ``SLICE_S`` seconds, so paint
and input events still get their turn between slices.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import time
from collections.abc import Callable
from typing import Any

import qasync
from PySide6.QtCore import QTimer

#: The longest run of ready callbacks before Qt's own events (paint, input, sockets)
#: get a turn. One callback longer than this still runs whole.
SLICE_S = 0.008


class GuiEventLoop(qasync.QEventLoop):
    """qasync's loop (Qt's event loop drives asyncio) with batched ready callbacks."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._ready: collections.deque[asyncio.Handle] = collections.deque()
        self._armed = False
        self._drain_timer = QTimer()
        self._drain_timer.setSingleShot(True)
        self._drain_timer.setInterval(0)
        self._drain_timer.timeout.connect(self._drain)
        super().__init__(*args, **kwargs)

    def call_soon(self, callback: Callable[..., Any], *args: Any,
                  context: contextvars.Context | None = None) -> asyncio.Handle:
        self._check_closed()
        if self.get_debug():  # as asyncio's own loop: these checks cost on every call
            if asyncio.iscoroutinefunction(callback):
                raise TypeError("coroutines cannot be used with call_soon")
            if not callable(callback):
                raise TypeError(f"callback must be callable: {type(callback).__name__}")
        handle = asyncio.Handle(callback, args, self, context=context)
        self._ready.append(handle)
        if not self._armed:
            self._armed = True
            self._drain_timer.start()
        return handle

    def run_forever(self) -> Any:
        if self._ready and not self._armed:  # left over from a stop: run them now
            self._armed = True
            self._drain_timer.start()
        return super().run_forever()

    def _drain(self) -> None:
        """Run the callbacks that were ready when this slice began (those they schedule
        wait for the next slice, like one iteration of asyncio's loop), until the
        slice's time is up. Nothing runs while the loop is stopped (qasync processes Qt
        events once more after a stop, when asyncio has no running loop): they wait
        for the next run_forever."""
        self._armed = False
        if not self.is_running():
            return
        ready = self._ready
        deadline = time.monotonic() + SLICE_S
        for _ in range(len(ready)):
            handle = ready.popleft()
            if not handle._cancelled:
                handle._run()  # exceptions go to the loop's exception handler
            if time.monotonic() >= deadline:
                break
        if ready and not self.is_closed():
            self._armed = True
            self._drain_timer.start()

    def close(self) -> None:
        if self.is_running():
            raise RuntimeError("Cannot close a running event loop")
        self._drain_timer.stop()
        self._ready.clear()
        self._armed = False
        super().close()
