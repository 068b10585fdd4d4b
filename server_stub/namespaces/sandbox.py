"""Every other namespace, including ``/``: the sandbox for learning emit, broadcast, acks.

Registered with python-socketio's catch-all namespace (``"*"``), so any namespace a client
names is accepted. Any event is relayed, arguments untouched, to every *other* socket of
the namespace and acked with how many sockets it went to; ``echo`` is answered with its
own arguments instead of being relayed. Nothing here is stored. With several server
processes the relay reaches the sockets of every process (Redis pub/sub) and the count
comes from the shared :class:`~server_stub.presence.base.Presence`.
"""

from __future__ import annotations

import logging
from typing import Any

from server_stub import validation as v
from server_stub.guard import Ack, guarded, guarded_connect, logged
from server_stub.namespaces.base import Context, Namespace

log = logging.getLogger(__name__)

#: Event names socket.io clients treat as their own lifecycle events; relaying them would
#: make other clients believe they (dis)connected.
RESERVED = frozenset({"connect", "connect_error", "disconnect", "disconnecting",
                      "newListener", "removeListener"})


class SandboxNamespace(Namespace):
    """Relay and echo for any namespace without a dedicated handler."""

    def __init__(self, ctx: Context) -> None:
        super().__init__(ctx)
        self.namespaces: dict[str, str] = {}
        self.sio.on("connect", self._connect_any, namespace="*")
        self.sio.on("disconnect", self._disconnect_any, namespace="*")
        self.sio.on("*", self._event_any, namespace="*")

    # python-socketio passes the namespace right after the event name for "*" handlers.
    async def _connect_any(self, namespace: str, sid: str, environ: Any,
                           auth: Any = None) -> None:
        await self.on_connect(sid, namespace, auth)

    async def _disconnect_any(self, namespace: str, sid: str, reason: Any = None) -> None:
        await self.on_disconnect(sid, namespace)

    async def _event_any(self, event: str, namespace: str, sid: str, *args: Any) -> Ack:
        return await self.on_event(sid, event, namespace, *args)

    @guarded_connect
    async def on_connect(self, sid: str, namespace: str, auth: Any) -> None:
        user = await self.accept(sid, namespace, auth)
        if user is not None:
            self.namespaces[sid] = namespace
            await self.register_socket(sid, namespace, user)

    @logged
    async def on_disconnect(self, sid: str, namespace: str) -> None:
        if self.is_forged_disconnect(sid, namespace):
            return
        self.namespaces.pop(sid, None)
        self.forget(sid)
        await self.presence.disconnected(sid)

    @guarded
    async def on_event(self, sid: str, event: str, namespace: str, *args: Any) -> Ack:
        for index, arg in enumerate(args, start=1):
            v.check_size(arg, f"argument {index}")
        if event == "echo":
            return {"ok": True, "args": list(args)}
        if event in RESERVED:
            raise v.RequestError(f"'{event}' is reserved by socket.io clients and is not "
                                 "relayed.")
        others = max(0, await self.presence.count(namespace) - 1)
        await self.sio.emit(event, tuple(args), namespace=namespace, skip_sid=sid)
        return {"ok": True, "delivered": others}
