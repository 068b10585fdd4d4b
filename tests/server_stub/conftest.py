"""Fixtures for the server tests: one server per module where tests can share it, and
every protocol test run against both backends.

``backend`` is a module-scoped parameter, ``sqlite`` (the embedded default) or ``redis``
(``--redis`` on a real redis-server started for the session). Each server or group of
servers gets a Redis database of its own, so tests never see each other's state or
broadcasts. Tests that are about SQLite itself (file permissions, corrupt or locked
databases, a full disk) do not use these fixtures and run once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import REDIS_MISSING, RedisServer, ServerProcess, redis_available

#: The type of the ``server_factory`` fixture.
ServerFactory = Callable[..., ServerProcess]

BACKENDS = ["sqlite", pytest.param("redis", marks=pytest.mark.redis)]


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for the whole session (servers use separate databases)."""
    if not redis_available():
        pytest.skip(REDIS_MISSING)
    srv = RedisServer(tmp_path_factory.mktemp("redis")).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="module", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _args_for(backend: str, request: pytest.FixtureRequest) -> list[str]:
    if backend != "redis":
        return []
    redis: RedisServer = request.getfixturevalue("redis_server")
    return ["--redis", redis.fresh_url()]


@pytest.fixture(scope="module")
def module_backend_args(backend: str, request: pytest.FixtureRequest) -> list[str]:
    """Command-line options selecting the backend, for a module-wide server."""
    return _args_for(backend, request)


@pytest.fixture
def backend_args(backend: str, request: pytest.FixtureRequest) -> list[str]:
    """Command-line options selecting the backend, fresh for each test."""
    return _args_for(backend, request)


@pytest.fixture
def server_factory(tmp_path: Path, backend_args: list[str]) -> Iterator[ServerFactory]:
    """Like tests/conftest.py's, on the current backend; every server started in one test
    shares that test's state (its database file name or Redis database)."""
    started: list[ServerProcess] = []

    def start(*extra: str, db: Path | None = None) -> ServerProcess:
        srv = ServerProcess(db or tmp_path / f"server{len(started)}.db", *backend_args, *extra)
        started.append(srv)
        return srv.start()

    yield start
    for srv in started:
        srv.kill()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory,
                  module_backend_args: list[str]) -> Iterator[ServerProcess]:
    """A server for a whole module; tests isolate themselves with unique names.

    At the end the server must shut down cleanly and must not have logged a traceback:
    every handler failure would show up there, even when the client got an ack.
    """
    db: Path = tmp_path_factory.mktemp("shared") / "server.db"
    srv = ServerProcess(db, *module_backend_args).start()
    yield srv
    output = srv.stop()
    assert srv.proc is not None and srv.proc.returncode == 0, output
    assert "Traceback" not in output, output


@pytest.fixture
def url(shared_server: ServerProcess) -> str:
    return shared_server.url
