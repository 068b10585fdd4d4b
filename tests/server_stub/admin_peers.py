"""The Admin UI's side of its protocol, and a bare Socket.IO client, for the Admin UI tests.

:class:`AdminView` does what the official UI (admin.socket.io) does over its socket:
connect to ``/admin`` with ``{username, password}``, keep ``config``, ``all_sockets``,
``server_stats`` and the socket events, and emit its commands (``_disconnect`` ...).

:class:`BareClient` is a raw Engine.IO connection that speaks Socket.IO packets by hand.
python-socketio's client closes its Engine.IO connection itself once its last namespace
is gone, which would hide whether the *server* closed the transport; this one only
closes when told to, so a transport it sees end was ended by the server.
"""

from __future__ import annotations

import json
from typing import Any

import engineio
import socketio

from tests.app.helpers import until

ADMIN_AUTH_USER = "admin"


class AdminView:
    """What the official Admin UI learns over its socket, and the commands it sends."""

    def __init__(self, url: str, password: str, transport: str = "websocket") -> None:
        self.url = url
        self.auth = {"username": ADMIN_AUTH_USER, "password": password}
        self.transport = transport
        self.sio = socketio.AsyncClient(reconnection=False)
        self.config: dict[str, Any] | None = None
        self.all_sockets: list[dict[str, Any]] | None = None
        self.stats: list[dict[str, Any]] = []
        self.connected: list[dict[str, Any]] = []
        self.disconnected: list[tuple[str, str, str]] = []
        sio = self.sio
        sio.on("config", self._on_config, namespace="/admin")
        sio.on("all_sockets", self._on_all_sockets, namespace="/admin")
        sio.on("server_stats", self._on_stats, namespace="/admin")
        sio.on("socket_connected", self._on_connected, namespace="/admin")
        sio.on("socket_disconnected", self._on_disconnected, namespace="/admin")

    async def _on_config(self, config: dict[str, Any]) -> None:
        self.config = config

    async def _on_all_sockets(self, sockets: list[dict[str, Any]]) -> None:
        self.all_sockets = sockets

    async def _on_stats(self, stats: dict[str, Any]) -> None:
        self.stats.append(stats)

    async def _on_connected(self, sock: dict[str, Any], *_: Any) -> None:
        self.connected.append(sock)

    async def _on_disconnected(self, nsp: str, sid: str, reason: str, *_: Any) -> None:
        self.disconnected.append((nsp, sid, reason))

    async def open(self) -> AdminView:
        await self.sio.connect(self.url, namespaces=["/admin"], transports=[self.transport],
                               auth=self.auth)
        await until(lambda: self.config is not None and self.all_sockets is not None,
                    timeout=10, what="the Admin UI's config and socket list")
        return self

    async def next_stats(self, timeout: float = 10.0) -> dict[str, Any]:
        """The first ``server_stats`` sent after now (the servers send one every 2 s)."""
        seen = len(self.stats)
        await until(lambda: len(self.stats) > seen, timeout=timeout,
                    what="the next server_stats")
        return self.stats[-1]

    async def disconnect_socket(self, nsp: str, sid: str, close: bool) -> None:
        """The UI's "disconnect" buttons: ``close`` is the whole client's."""
        await self.sio.emit("_disconnect", (nsp, close, sid), namespace="/admin")

    async def command(self, event: str, *args: Any) -> Any:
        """A command with an ack asked for (the UI never asks; a script may)."""
        return await self.sio.call(event, args, namespace="/admin", timeout=5)

    async def close(self) -> None:
        await self.sio.disconnect()


class BareClient:
    """One Engine.IO connection joining namespaces with hand-written Socket.IO packets."""

    def __init__(self, url: str, transport: str) -> None:
        self.url = url
        self.transport = transport
        self.eio = engineio.AsyncClient()
        #: Socket.IO packets received, as text, in order.
        self.packets: list[str] = []
        #: namespace -> the socket id the server gave it
        self.sids: dict[str, str] = {}
        #: Why the Engine.IO connection ended (None while it is open).
        self.closed: str | None = None
        self.eio.on("message", self._on_message)
        self.eio.on("disconnect", self._on_close)

    async def _on_message(self, data: Any) -> None:
        text = str(data)
        self.packets.append(text)
        if text.startswith("0"):
            nsp, _, payload = text[1:].partition(",") if text[1:2] == "/" else \
                ("/", "", text[1:])
            self.sids[nsp] = json.loads(payload)["sid"]

    async def _on_close(self, reason: Any = None) -> None:
        self.closed = str(reason)

    async def open(self, namespaces: list[str], auth: dict[str, Any]) -> BareClient:
        """Connect, join ``namespaces`` and wait until each is answered CONNECT."""
        await self.eio.connect(self.url, transports=[self.transport],
                               engineio_path="socket.io")
        for nsp in namespaces:
            await self.join(nsp, auth)
        await until(lambda: set(self.sids) == set(namespaces), timeout=10,
                    what=f"CONNECT answers for {namespaces}")
        return self

    async def join(self, nsp: str, auth: dict[str, Any]) -> None:
        """Send a CONNECT for ``nsp`` (the answer arrives in ``packets``)."""
        await self.eio.send(("0" if nsp == "/" else f"0{nsp},") + json.dumps(auth))

    def refused(self) -> list[str]:
        """The namespaces answered CONNECT_ERROR, in order."""
        return ["/" if p[1:2] != "/" else p[1:].partition(",")[0] for p in self.packets
                if p.startswith("4")]

    def disconnects(self) -> list[str]:
        """The namespaces the server sent a DISCONNECT for, in order."""
        return ["/" if p == "1" else p[1:].rstrip(",") for p in self.packets
                if p.startswith("1")]

    async def close(self) -> None:
        if self.closed is None:
            await self.eio.disconnect()
