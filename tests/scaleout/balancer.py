"""A minimal TCP load balancer for the tests: what sits in front of several servers.

Each new client connection goes to the first backend in ``order`` that accepts a TCP
connection; bytes are piped both ways until either side closes, then both are closed.
When a backend dies, its clients' connections drop, they reconnect, and the balancer
sends them to the next live backend. This is the websocket-only setup the README
describes (no sticky sessions needed, because one websocket connection carries a whole
Socket.IO session); Engine.IO long-polling would need stickiness and is not used here.
"""

from __future__ import annotations

import asyncio
import contextlib


class Balancer:
    """``await Balancer(ports).start()``; ``url``; ``order`` may be changed any time."""

    def __init__(self, ports: list[int]) -> None:
        self.order = list(ports)
        self.server: asyncio.Server | None = None
        self.port = 0
        self.routed: list[int] = []
        self._pipes: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> Balancer:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def _client(self, reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        for port in list(self.order):
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                continue
            self.routed.append(port)
            await asyncio.gather(self._pipe(reader, up_writer),
                                 self._pipe(up_reader, writer))
            return
        writer.close()

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        finally:
            # one side is gone: close this direction's writer; the other pipe ends too
            with contextlib.suppress(Exception):
                writer.close()

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 5)
