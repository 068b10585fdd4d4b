"""What the window's controllers may ask of the window that holds them.

The main window (``ui.window.MainWindow``) is the one implementation. Controllers type
their host with these protocols rather than ``Any``, so the seam between the shell and
what it holds is written down and checked by mypy, and a test can stand in for the window
with any object that has these members.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from app.session import Session


class WindowHost(Protocol):
    """The session of the moment, the window's task runner and its status bar."""

    @property
    def session(self) -> Session | None:
        """None before the first connect and after closing."""

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run on the loop; a failure becomes a sentence in the status bar."""

    def show_error(self, text: str) -> None: ...

    def show_info(self, text: str, ms: int = ...) -> None: ...

    def refresh_depth(self) -> None:
        """Show the outbox depth now (not at the next outbox change)."""
