"""Which asyncio event loop the server runs on.

uvloop (libuv, in C) runs the same asyncio code with cheaper scheduling, timers and
socket writes; for the fan-out benchmark that is most of what the server does between
our handlers. It is a dependency on Linux and macOS only (there is no Windows build), so
``auto`` falls back to the standard loop wherever it is missing.
"""

from __future__ import annotations

import asyncio
import importlib.util
from collections.abc import Callable

CHOICES = ("auto", "uvloop", "asyncio")

LoopFactory = Callable[[], asyncio.AbstractEventLoop]


class EventLoopError(Exception):
    """The requested loop is not available here; the message is for the user."""


def uvloop_available() -> bool:
    return importlib.util.find_spec("uvloop") is not None


def loop_factory(choice: str) -> tuple[str, LoopFactory]:
    """The loop's name and a factory for ``asyncio.Runner``."""
    if choice not in CHOICES:
        raise EventLoopError(f"unknown event loop {choice!r}; use one of {', '.join(CHOICES)}")
    if choice == "uvloop" or (choice == "auto" and uvloop_available()):
        try:
            import uvloop
        except ImportError as exc:
            raise EventLoopError(f"--event-loop uvloop: uvloop is not installed ({exc}); "
                                 "pip install uvloop, or use --event-loop asyncio") from exc
        return "uvloop", uvloop.new_event_loop
    return "asyncio", asyncio.new_event_loop
