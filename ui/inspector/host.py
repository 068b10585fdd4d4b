"""What the Queues tab needs from the window that hosts it, as a type.

The tab is built with the main window (``QueuesTab(window)``) but uses only a little of
it: the current session, a way to start coroutines, the status line, and where replays to
another server keep their outbox. Naming that little here keeps the inspector from
reaching into the window, and lets a test or a benchmark host it without one.

Two things are optional and read with ``getattr``: the window's ``bridge`` (live updates
from the session) and ``settings`` (recent servers offered as replay targets). The
headless host of the perf harness (tests/perf/store_child.py) has neither: without them
the tab still lists, pages and searches, it just does not follow the session live.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from app.session import Session


class InspectorHost(Protocol):
    """The window as the Queues tab sees it (ui.window.MainWindow is one)."""

    @property
    def session(self) -> Session | None:
        """The connection shown, or None before the first connect (it may be swapped)."""

    @property
    def options(self) -> dict[str, Any]:
        """The connection options (url, user, ...) the session was built from."""

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any] | None:
        """Run `coro` on the loop; a failure becomes a sentence in the status line."""

    def show_error(self, text: str) -> None:
        """Say what went wrong, in one sentence."""

    def show_info(self, text: str) -> None:
        """Say what was done, in one sentence."""

    def profile_dir(self, options: dict[str, Any] | None = None) -> Path:
        """The data folder of the identity `options` describe (a replay's other server)."""
