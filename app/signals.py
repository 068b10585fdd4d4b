"""A tiny observer type, so the core can notify the GUI, the CLI and tests without Qt.

The UI wraps these in Qt signals in one bridge; the core itself must stay Qt-free, so it
needs its own minimal, synchronous, exception-isolating observer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any, Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class Signal(Generic[T]):
    """Synchronous observer list: `emit` calls every connected callback in order.

    A failing callback is logged and skipped, so one broken observer (say, a widget that
    was closed) can never break message delivery for the others or for the emitter.
    """

    __slots__ = ("_callbacks", "name")

    def __init__(self, name: str = "") -> None:
        self.name = name
        self._callbacks: list[Callable[..., Any]] = []

    def connect(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        """Add an observer (returned, so this also works as a decorator)."""
        if callback not in self._callbacks:
            self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable[..., Any]) -> None:
        """Remove an observer; removing one that is not connected is harmless."""
        with contextlib.suppress(ValueError):
            self._callbacks.remove(callback)

    def emit(self, *args: Any) -> None:
        """Call every observer with `args`; exceptions are logged, never raised."""
        for cb in list(self._callbacks):
            try:
                cb(*args)
            except Exception:
                log.exception("observer of signal %s failed", self.name or "?")

    def __len__(self) -> int:
        return len(self._callbacks)


async def wait_until(predicate: Callable[[], bool], signal: Signal[Any],
                     timeout: float | None) -> bool:
    """Wait until `predicate()` holds, re-checking after `signal` fires.

    The check runs once per loop turn however often the signal fired in it: an outbox
    flush fires `changed` for every message, and the predicate may be an SQL query.
    """
    if predicate():
        return True
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[None] = loop.create_future()
    due = False

    def check() -> None:
        nonlocal due
        due = False
        if not fut.done() and predicate():
            fut.set_result(None)

    def soon(*_: Any) -> None:
        nonlocal due
        if not due and not fut.done():
            due = True
            loop.call_soon(check)

    signal.connect(soon)
    try:
        await asyncio.wait_for(fut, timeout)
        return True
    except TimeoutError:
        return predicate()
    finally:
        signal.disconnect(soon)


async def cancel_and_wait(*tasks: asyncio.Task[Any]) -> None:
    """Cancel tasks and wait until they have ended, without swallowing a cancellation of
    the caller: `with suppress(CancelledError): await task` would also swallow the
    caller's own, when it is cancelled while waiting (a stopped lesson then carried on
    as if nothing happened). Their own errors are logged, not raised."""
    live = {t for t in tasks if not t.done()}
    for t in live:
        t.cancel()
    if live:
        await asyncio.wait(live)
    for t in tasks:
        if t.done() and not t.cancelled() and t.exception() is not None:
            log.debug("task %r ended with %r", t.get_name(), t.exception())
