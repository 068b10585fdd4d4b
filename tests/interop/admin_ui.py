"""The Node reference for the Admin UI test: socket.io 4 instrumented with the official
``@socket.io/admin-ui`` (tests/interop/node/server_admin.js), installed by npm into a
cache folder of its own so the shared one is not reinstalled under the other tests."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

from tests.app.helpers import until
from tests.interop.helpers import NODE, NodeServer
from tests.support import NODE_CACHE, ensure_node_packages, free_port, node_process

#: The Admin UI's own cache folder: its packages do not touch the shared one.
ADMIN_UI_CACHE = NODE_CACHE.with_name(NODE_CACHE.name + "-admin-ui")
ADMIN_UI_PACKAGES = ("socket.io@4", "@socket.io/admin-ui@0.5")


class AdminUiNodeServer(NodeServer):
    """tests/interop/node/server_admin.js, run against the Admin UI's own packages."""

    def run_script(self, script: Path) -> Iterator[NodeServer]:
        modules = ensure_node_packages(ADMIN_UI_CACHE, ADMIN_UI_PACKAGES)
        with node_process(script, str(self.port), *self.args, modules=modules) as proc:
            def read() -> None:
                assert proc.stdout is not None
                for line in proc.stdout:
                    if line.strip():
                        self.lines.append(json.loads(line))
            threading.Thread(target=read, daemon=True).start()
            yield self


@contextlib.asynccontextmanager
async def node_admin_server(token: str) -> AsyncIterator[NodeServer]:
    """The Node reference (socket.io 4 + @socket.io/admin-ui) on a free port."""
    srv = AdminUiNodeServer(free_port(), token)
    gen = srv.run_script(NODE / "server_admin.js")
    next(gen)
    try:
        await until(lambda: srv.of("listening"), timeout=60, what="the Node Admin UI server")
        yield srv
    finally:
        for _ in gen:
            pass
