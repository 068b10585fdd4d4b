"""Test setup shared by every package: offscreen Qt, and real servers on loopback."""

from __future__ import annotations

import os

from ui.main import offscreen_platform  # stdlib only at import: Qt is not loaded yet

# Qt tests run headless everywhere, CI included; set before anything imports Qt. The
# screen holds the largest window a test asks for (1920x1080): the offscreen platform's
# own is 800x600, and a window never grows past its screen, so a test of a 1280x720
# projector would otherwise look at an 800 px window.
os.environ["QT_QPA_PLATFORM"] = offscreen_platform(1920, 1080)
os.environ.setdefault("QT_LOGGING_RULES", "qt.qpa.*=false")

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import ServerProcess


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator:
    """Start bundled servers on free ports; every one started is stopped at the end."""
    started: list[ServerProcess] = []

    def start(*extra: str, db: Path | None = None) -> ServerProcess:
        srv = ServerProcess(db or tmp_path / f"server{len(started)}.db", *extra)
        started.append(srv)
        return srv.start()

    yield start
    for srv in started:
        srv.kill()


@pytest.fixture
def server(server_factory) -> ServerProcess:
    """One bundled server with a fresh database."""
    return server_factory()
