"""Fixtures for the server tests: one server per module where tests can share it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import ServerProcess

#: The type of the ``server_factory`` fixture from tests/conftest.py.
ServerFactory = Callable[..., ServerProcess]


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server for a whole module; tests isolate themselves with unique names.

    At the end the server must shut down cleanly and must not have logged a traceback:
    every handler failure would show up there, even when the client got an ack.
    """
    db: Path = tmp_path_factory.mktemp("shared") / "server.db"
    srv = ServerProcess(db).start()
    yield srv
    output = srv.stop()
    assert srv.proc is not None and srv.proc.returncode == 0, output
    assert "Traceback" not in output, output


@pytest.fixture
def url(shared_server: ServerProcess) -> str:
    return shared_server.url
