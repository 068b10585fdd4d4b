"""Socket.IO peers for the server tests: real python-socketio clients that record events.

Tests never sleep a fixed time: they wait for a specific event with a timeout, or prove
that nothing else arrived by sending a marker afterwards and checking it is the next
thing received (the server keeps per-connection order).
"""

from __future__ import annotations

import asyncio
import functools
import uuid
from collections import defaultdict
from typing import Any

import socketio

TIMEOUT = 5.0
_NOTHING = object()


def unique(prefix: str) -> str:
    """A room / queue / user name no other test uses."""
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


class Peer:
    """An AsyncClient on one or more namespaces, with an inbox per (namespace, event)."""

    def __init__(self, url: str, user: str, *namespaces: str, token: str | None = None,
                 auth: Any = _NOTHING) -> None:
        self.url = url
        self.user = user
        self.namespaces = list(namespaces or ("/chat",))
        self.auth = {"user": user, **({"token": token} if token else {})} \
            if auth is _NOTHING else auth
        self.client = socketio.AsyncClient(reconnection=False)
        self.inbox: defaultdict[tuple[str, str], asyncio.Queue[Any]] = defaultdict(
            asyncio.Queue)
        self.events: list[tuple[str, str, Any]] = []
        self.connect_errors: dict[str, Any] = {}
        for ns in self.namespaces:
            self.client.on("*", functools.partial(self._record, ns), namespace=ns)
            self.client.on("connect_error", functools.partial(self._refused, ns),
                           namespace=ns)

    def _record(self, ns: str, event: str, *args: Any) -> None:
        data = args[0] if len(args) == 1 else list(args)
        self.events.append((ns, event, data))
        self.inbox[(ns, event)].put_nowait(data)

    def _refused(self, ns: str, data: Any = None) -> None:
        self.connect_errors[ns] = data

    async def connect(self, transport: str = "websocket") -> Peer:
        """Connect every namespace and wait for each ``welcome``."""
        await self.client.connect(self.url, namespaces=self.namespaces, auth=self.auth,
                                  transports=[transport], wait_timeout=TIMEOUT)
        for ns in self.namespaces:
            welcome = await self.next("welcome", ns)
            assert welcome["user"] == self.user and welcome["namespace"] == ns
        return self

    async def call(self, event: str, *args: Any, ns: str = "/chat") -> Any:
        """Emit with an ack and return the ack (one object)."""
        return await self.client.call(event, tuple(args), namespace=ns, timeout=TIMEOUT)

    async def next(self, event: str, ns: str = "/chat", timeout: float = TIMEOUT) -> Any:
        return await asyncio.wait_for(self.inbox[(ns, event)].get(), timeout)

    def received(self, event: str, ns: str = "/chat") -> list[Any]:
        """Everything of ``event`` received so far, without waiting."""
        return [data for n, e, data in self.events if n == ns and e == event]

    async def close(self) -> None:
        await self.client.disconnect()
        # give aiohttp a turn to close the transport, silencing "unclosed session" noise
        await asyncio.sleep(0)


async def connected(url: str, user: str, *namespaces: str, transport: str = "websocket",
                    **kwargs: Any) -> Peer:
    return await Peer(url, user, *namespaces, **kwargs).connect(transport)


async def refused(url: str, ns: str, auth: Any) -> Any:
    """Try to connect; return the connect_error data the server sent."""
    peer = Peer(url, "x", ns, auth=auth)
    try:
        await peer.client.connect(url, namespaces=[ns], auth=auth, transports=["websocket"],
                                  wait_timeout=TIMEOUT)
    except socketio.exceptions.ConnectionError:
        pass
    else:
        await peer.close()
        raise AssertionError(f"connection to {ns} with {auth!r} was accepted")
    finally:
        # A refused namespace can leave the Engine.IO connection open; close it.
        if peer.client.eio.state == "connected":
            await peer.client.eio.disconnect()
    return peer.connect_errors.get(ns)
