"""UI test setup: isolated settings, the GUI event loop around the QApplication."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any

import pytest

from ui.eventloop import GuiEventLoop


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, qapp) -> Path:
    """Settings go to INI files in tmp_path, never to the real user configuration; so do
    workspaces and their data, and no secret goes to the user's keyring."""
    from PySide6.QtCore import QCoreApplication

    from ui import settings, theme

    qapp.setQuitOnLastWindowClosed(False)  # as the app does: cleanup awaits after close
    folder = tmp_path / "settings"
    monkeypatch.setenv("SOCKDESK_SETTINGS_DIR", str(folder))
    monkeypatch.setenv("SOCKDESK_CONFIG_DIR", str(tmp_path / "sockdesk-config"))
    monkeypatch.setenv("SOCKDESK_DATA_DIR", str(tmp_path / "sockdesk-data"))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "keyring.backends.fail.Keyring")
    QCoreApplication.setOrganizationName(settings.ORG)
    QCoreApplication.setApplicationName(settings.APP)
    settings.isolate(folder)
    if not getattr(qapp, "_sockdesk_themed", False):
        theme.apply(qapp)
        qapp._sockdesk_themed = True
    return folder


class Runner:
    """Runs coroutines on the GUI event loop (the real Qt event loop spins meanwhile)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    def __call__(self, coro: Coroutine[Any, Any, Any], timeout: float = 30.0) -> Any:
        return self.loop.run_until_complete(asyncio.wait_for(coro, timeout))

    def until(self, check: Callable[[], bool], timeout: float = 10.0) -> None:
        """Wait (running the loop) until ``check()`` is true; fail after ``timeout``."""
        self(until(check, timeout), timeout + 5)


async def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Poll a condition while the loop runs (a condition wait, not a fixed sleep)."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s: {check}")
        await asyncio.sleep(0.02)


@pytest.fixture
def run(qapp) -> Iterator[Runner]:
    loop = GuiEventLoop(qapp)
    asyncio.set_event_loop(loop)
    runner = Runner(loop)
    try:
        yield runner
    finally:
        async def settle() -> None:
            # give background tasks (socket readers) the chance to end by themselves; the
            # ones that would not (an in-process server's ping timers sleep 25 s) are
            # cancelled below, so waiting long only costs time
            me = asyncio.current_task()
            with contextlib.suppress(AssertionError):
                await until(lambda: all(t.done() or t is me for t in asyncio.all_tasks()), 0.5)

        loop.run_until_complete(settle())
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
        for t in pending:
            t.cancel()
        if pending:
            with contextlib.suppress(Exception):
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
        loop.close()
        asyncio.set_event_loop(None)


@pytest.fixture
def make_window(run: Runner, tmp_path: Path, qtbot) -> Iterator[Callable[..., Any]]:
    """Main windows for users on a server; every one is shut down at the end."""
    from ui.window import MainWindow

    made: list[MainWindow] = []

    def make(url: str, user: str, **options: Any) -> MainWindow:
        w = MainWindow({"url": url, "user": user, "namespaces": ["/chat", "/queue", "/"],
                        "delay": 0.1, "delay_max": 0.5, **options},
                       tmp_path / "clients" / user, key=user)
        w.resize(1100, 700)
        w.show()
        made.append(w)
        return w

    yield make
    # our own async shutdown (not qtbot's synchronous close): session closed, then deleted
    for w in made:
        run(w.shutdown())
        w.deleteLater()


def connect(run: Runner, window: Any, timeout: float = 20.0) -> None:
    run(window.open_session(), timeout)
    run.until(lambda: window._state == "connected" and window.session.is_ready("/chat"),
              timeout)
