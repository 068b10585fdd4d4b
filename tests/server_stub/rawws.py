"""A bare Engine.IO-over-websocket client that can stop reading its socket.

python-socketio clients (and aiohttp's websocket) always read what arrives, so they can
never be the stalled laptop of a slow-consumer test. This one is a few lines of RFC 6455
over asyncio streams: with a small receive buffer and nobody calling :meth:`recv`, the
stream pauses the transport, the kernel buffers fill and the server's writes block,
exactly as with a peer whose program hangs.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
from typing import Any
from urllib.parse import urlsplit

#: The receive buffer asked for: small, so a stall is felt after little data.
RCVBUF = 16 * 1024


class Closed(Exception):
    """The server closed the websocket (or the TCP connection)."""


class RawWebSocket:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self._ack_id = 0

    @classmethod
    async def open(cls, url: str) -> RawWebSocket:
        parts = urlsplit(url)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, (parts.hostname, parts.port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=RCVBUF)
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                      f"Host: {parts.netloc}\r\nUpgrade: websocket\r\n"
                      f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                      f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise RuntimeError(f"no websocket upgrade: {head[:200]!r}")
        ws = cls(reader, writer)
        opening = await ws.recv()
        if not opening.startswith("0{"):
            raise RuntimeError(f"no Engine.IO open packet: {opening[:200]!r}")
        return ws

    async def send(self, text: str) -> None:
        data = text.encode()
        mask = os.urandom(4)
        n = len(data)
        if n < 126:
            head = struct.pack("!BB", 0x81, 0x80 | n)
        elif n < 1 << 16:
            head = struct.pack("!BBH", 0x81, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.writer.write(head + mask + masked)
        await self.writer.drain()

    async def recv(self) -> str:
        """The next text frame; answers Engine.IO pings on the way; raises Closed."""
        while True:
            try:
                first, second = await self.reader.readexactly(2)
                n = second & 0x7F
                if n == 126:
                    (n,) = struct.unpack("!H", await self.reader.readexactly(2))
                elif n == 127:
                    (n,) = struct.unpack("!Q", await self.reader.readexactly(8))
                payload = await self.reader.readexactly(n)
            except (asyncio.IncompleteReadError, ConnectionError) as exc:
                raise Closed(str(exc)) from None
            opcode = first & 0x0F
            if opcode == 0x8:
                raise Closed("websocket close frame")
            if opcode != 0x1:
                continue
            text = payload.decode()
            if text == "2":
                await self.send("3")  # Engine.IO ping -> pong
                continue
            return text

    async def connect_namespace(self, namespace: str, auth: dict[str, Any]) -> None:
        await self.send(f"40{namespace},{json.dumps(auth)}")
        reply = await self.recv()
        if not reply.startswith(f"40{namespace},"):
            raise RuntimeError(f"namespace refused: {reply[:200]!r}")

    async def call(self, namespace: str, event: str, payload: Any) -> Any:
        """Emit with an ack id and read until that ack comes (other packets are skipped)."""
        self._ack_id += 1
        ack_id = self._ack_id
        await self.send(f"42{namespace},{ack_id}{json.dumps([event, payload])}")
        prefix = f"43{namespace},{ack_id}"
        while True:
            text = await self.recv()
            if text.startswith(prefix):
                return json.loads(text[len(prefix):])[0]

    def close(self) -> None:
        self.writer.transport.abort()


def event_of(text: str, namespace: str) -> tuple[str, Any] | None:
    """(event, first argument) of a Socket.IO EVENT packet on ``namespace``, else None."""
    prefix = f"42{namespace},"
    if not text.startswith(prefix):
        return None
    body = text[len(prefix):]
    name, *args = json.loads(body[body.index("["):])
    return name, args[0] if args else None
