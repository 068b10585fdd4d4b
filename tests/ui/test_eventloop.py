"""The GUI's asyncio loop: ready callbacks in one FIFO, run in slices between Qt events."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from tests.ui.conftest import Runner
from ui.eventloop import GuiEventLoop

pytestmark = pytest.mark.timeout(60)


def busy(seconds: float) -> None:
    """Hold the GUI thread like a costly callback would (a stand-in for real work)."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


async def after_the_queued_callbacks(loop: asyncio.AbstractEventLoop) -> None:
    """Resume once every callback queued so far has had its turn (the queue is FIFO)."""
    done: asyncio.Future[None] = loop.create_future()
    loop.call_soon(done.set_result, None)
    await done


def test_it_is_the_loop_the_tests_run_on(run: Runner) -> None:
    assert isinstance(run.loop, GuiEventLoop)


def test_callbacks_run_in_the_order_scheduled_and_their_own_come_after(run: Runner) -> None:
    order: list[str] = []

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        loop.call_soon(lambda: (order.append("a"), loop.call_soon(order.append, "a2")))
        loop.call_soon(order.append, "b")
        loop.call_soon(order.append, "c")
        loop.call_soon(lambda: loop.call_soon(done.set_result, None))
        await done

    run(scenario())
    assert order == ["a", "b", "c", "a2"]


def test_a_cancelled_callback_does_not_run(run: Runner) -> None:
    ran: list[int] = []

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        loop.call_soon(ran.append, 1).cancel()
        loop.call_soon(ran.append, 2)
        await after_the_queued_callbacks(loop)

    run(scenario())
    assert ran == [2]


def test_a_failing_callback_reaches_the_handler_and_the_rest_still_run(run: Runner) -> None:
    seen: list[Any] = []
    ran: list[int] = []

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda _loop, ctx: seen.append(ctx.get("exception")))
        try:
            loop.call_soon(lambda: 1 / 0)
            loop.call_soon(ran.append, 1)
            await after_the_queued_callbacks(loop)
        finally:
            loop.set_exception_handler(None)

    run(scenario())
    assert ran == [1]
    assert len(seen) == 1 and isinstance(seen[0], ZeroDivisionError)


def test_a_long_run_of_callbacks_lets_qt_events_in_between(run: Runner) -> None:
    """200 callbacks of 1 ms each: Qt's own timer fires after the first slice, not after
    all 200 ms of them."""
    from PySide6.QtCore import QTimer

    n = 200
    done_when_qt_ran: list[int] = []
    count = 0

    def work() -> None:
        nonlocal count
        busy(0.001)
        count += 1

    async def scenario() -> None:
        loop = asyncio.get_running_loop()
        # armed from inside the run, so it is due while the callbacks are still queued
        loop.call_soon(QTimer.singleShot, 0, lambda: done_when_qt_ran.append(count))
        for _ in range(n):
            loop.call_soon(work)
        finished = loop.create_future()
        loop.call_soon(finished.set_result, None)
        await finished

    run(scenario())
    assert count == n
    assert done_when_qt_ran, "the Qt timer never fired"
    # one slice (SLICE_S, 8 ms) is ~8 of them; a quarter of the run is a generous bound
    assert done_when_qt_ran[0] < n // 4, done_when_qt_ran


def test_call_soon_threadsafe_wakes_the_loop_from_another_thread(run: Runner) -> None:
    async def scenario() -> str:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[str] = loop.create_future()
        threading.Thread(target=lambda: loop.call_soon_threadsafe(
            fut.set_result, threading.current_thread().name), name="worker").start()
        return await fut

    assert run(scenario(), timeout=10) == "worker"


def test_tasks_timers_and_executors_work_together(run: Runner) -> None:
    async def child(i: int) -> int:
        await asyncio.sleep(0)
        await asyncio.sleep(0.01 * (i % 3))
        return i

    async def scenario() -> tuple[list[int], int]:
        results = await asyncio.gather(*(child(i) for i in range(50)))
        threaded = await asyncio.to_thread(sum, range(10))
        return list(results), threaded

    assert run(scenario()) == (list(range(50)), 45)


def test_closing_drops_what_was_still_waiting(qapp: Any) -> None:
    loop = GuiEventLoop(qapp)
    ran: list[int] = []
    loop.call_soon(ran.append, 1)
    loop.close()
    qapp.processEvents()
    assert ran == []
    assert loop.is_closed()
    with pytest.raises(RuntimeError):
        loop.call_soon(ran.append, 2)


def test_callbacks_left_at_a_stop_wait_for_the_next_run(run: Runner, qapp: Any) -> None:
    """asyncio runs callbacks only while its loop runs; qasync processes Qt events once
    more after stopping, which must not run them without a running loop."""
    loop = run.loop
    ran: list[bool] = []

    def note() -> None:
        ran.append(asyncio.get_running_loop() is loop)

    loop.call_soon(note)             # scheduled while the loop is not running
    qapp.processEvents()             # Qt events outside run_forever, as after a stop
    qapp.processEvents()
    assert ran == []
    run(asyncio.sleep(0))
    assert ran == [True]
