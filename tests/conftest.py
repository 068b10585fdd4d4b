"""Test setup shared by every package: offscreen Qt, and real servers on loopback."""

from __future__ import annotations

import os

# Qt tests run headless everywhere, CI included; set before anything imports Qt.
os.environ["QT_QPA_PLATFORM"] = "offscreen"
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
