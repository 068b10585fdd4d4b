"""Node peers for the interop tests: a script run on a free port, its NDJSON lines
collected by a reader thread, and waits on them (no fixed sleeps)."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

from tests.app.helpers import until
from tests.support import free_port, node_process

NODE = Path(__file__).parent / "node"


class NodeServer:
    """A Node script on a port; its NDJSON lines collected by a reader thread."""

    def __init__(self, port: int, *args: str) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.args = args
        self.lines: list[dict[str, Any]] = []

    def run(self) -> Iterator[NodeServer]:
        return self.run_script(NODE / "server_echo.js")

    def run_script(self, script: Path) -> Iterator[NodeServer]:
        with node_process(script, str(self.port), *self.args) as proc:
            def read() -> None:
                assert proc.stdout is not None
                for line in proc.stdout:
                    if line.strip():
                        self.lines.append(json.loads(line))
            threading.Thread(target=read, daemon=True).start()
            yield self

    def of(self, kind: str) -> list[dict[str, Any]]:
        return [x for x in list(self.lines) if x["type"] == kind]

    def events(self, name: str) -> list[dict[str, Any]]:
        """The `event` lines of one event name, in arrival order."""
        return [x for x in self.of("event") if x.get("event") == name]

    async def wait(self, kind: str, check: Callable[[dict[str, Any]], bool] = lambda x: True,
                   n: int = 1, timeout: float = 15.0) -> list[dict[str, Any]]:
        """The first `n` lines of `kind` that pass `check`, once there are that many."""
        def found() -> list[dict[str, Any]] | None:
            hits = [x for x in self.of(kind) if check(x)]
            return hits[:n] if len(hits) >= n else None
        return await until(found, timeout=timeout, what=f"{n} {kind!r} line(s) from Node")


@contextlib.asynccontextmanager
async def node_server(script: str, *args: str, port: int | None = None
                      ) -> AsyncIterator[NodeServer]:
    """Run tests/interop/node/<script> on a free port until the block ends."""
    srv = NodeServer(port or free_port(), *args)
    gen = srv.run_script(NODE / script)
    next(gen)
    try:
        await until(lambda: srv.of("listening"), timeout=60, what=f"the Node {script}")
        yield srv
    finally:
        for _ in gen:
            pass
