"""A tiny in-process python-socketio server for what the bundled server cannot show:
a fixed set of namespaces (so an unknown one is refused), a server that asks *us* for
acks, and inspection of the headers, query and auth we send."""

from __future__ import annotations

import asyncio
from typing import Any, Self

import socketio
from aiohttp import web


class LoopbackSioServer:
    """A python-socketio server on aiohttp at 127.0.0.1 on a free port, in this process."""

    sio: socketio.AsyncServer
    app: web.Application
    runner: web.AppRunner | None = None
    url = ""

    async def start(self) -> Self:
        self.runner = web.AppRunner(self.app, shutdown_timeout=0.5)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()


class LocalServer(LoopbackSioServer):
    """Namespaces "/" and "/strict" only; records what it receives."""

    def __init__(self, never_ack: bool = False) -> None:
        self.sio = socketio.AsyncServer(async_mode="aiohttp", namespaces=["/", "/strict"])
        self.app = web.Application()
        self.sio.attach(self.app)
        self.runner: web.AppRunner | None = None
        self.url = ""
        self.events: list[tuple[str, str, list[Any]]] = []
        self.environs: list[dict[str, Any]] = []
        self.auths: list[Any] = []
        self.connected: asyncio.Queue[str] = asyncio.Queue()
        self.never_ack = never_ack

        @self.sio.on("connect", namespace="*")
        async def connect(ns: str, sid: str, environ: dict[str, Any], auth: Any = None) -> Any:
            self.environs.append(environ)
            self.auths.append(auth)
            if isinstance(auth, dict) and auth.get("token") == "bad":
                raise socketio.exceptions.ConnectionRefusedError("token rejected")
            await self.connected.put(sid)
            return True

        @self.sio.on("*", namespace="*")
        async def any_event(event: str, ns: str, sid: str, *args: Any) -> Any:
            self.events.append((ns, event, list(args)))
            if self.never_ack:
                return None
            return {"ok": True, "n": len(args)}

    async def ask(self, sid: str, event: str, *args: Any, namespace: str = "/",
                  timeout: float = 5) -> Any:
        """Emit to the client with a callback and wait for its answer."""
        return await self.sio.call(event, args if len(args) != 1 else args[0], to=sid,
                                   namespace=namespace, timeout=timeout)
