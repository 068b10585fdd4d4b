"""Fixtures for the scale-out tests: one fresh redis-server per test and a cluster of
bundled servers on it (``--redis``), each a real ``python -m server_stub`` process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support import REDIS_MISSING, RedisServer, ServerProcess, redis_available

#: For tests that kill a process: short, so it is cleaned up in about two seconds.
FAST_NODE_TIMEOUT = 2.0
#: For the others: the default. A process stalled longer than its node timeout is taken
#: for dead (its clients are dropped and its last messages may be broadcast twice), and
#: a starved two-core CI machine can stall a process for a couple of seconds.
NODE_TIMEOUT = 10.0

Cluster = Callable[..., list[ServerProcess]]


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[RedisServer]:
    if not redis_available():
        pytest.skip(REDIS_MISSING)
    srv = RedisServer(tmp_path / "redis", databases=16).start()
    yield srv
    srv.stop()


@pytest.fixture
def cluster(tmp_path: Path, redis: RedisServer) -> Iterator[Cluster]:
    """``cluster(n, *extra, node_timeout=...)`` starts n servers on one Redis database.
    At the end every server still running must stop cleanly without having logged a
    traceback (a handler failure shows up there even when the client got an ack)."""
    started: list[ServerProcess] = []
    url = redis.url(0)

    def start(n: int, *extra: str, node_timeout: float = NODE_TIMEOUT) -> list[ServerProcess]:
        group = []
        for _ in range(n):
            srv = ServerProcess(tmp_path / f"unused{len(started)}.db", "--redis", url,
                                "--node-timeout", str(node_timeout), *extra)
            started.append(srv)
            group.append(srv.start())
        return group

    yield start
    problems = []
    for srv in started:
        if srv.proc is None or srv.proc.poll() is not None:
            continue  # killed by the test
        output = srv.stop()
        if srv.proc.returncode != 0 or "Traceback" in output:
            problems.append(f"server on port {srv.port} (exit {srv.proc.returncode}):\n"
                            f"{output}")
    assert not problems, "\n".join(problems)
