"""Every other namespace, including ``/``: the sandbox for learning emit, broadcast, acks.

Registered with python-socketio's catch-all namespace (``"*"``), so any namespace a client
names is accepted. Any event is relayed, arguments untouched, to every *other* socket of
the namespace and acked with how many sockets it went to; ``echo`` is answered with its
own arguments instead of being relayed, and ``announce`` / ``ask`` make the server emit
itself (see :mod:`server_stub.namespaces.server_emits`). Nothing here is stored. With several server
processes the relay reaches the sockets of every process (Redis pub/sub) and the count
comes from the shared :class:`~server_stub.presence.base.Presence`.

Two things make the socket.io tutorial's chat page run here unchanged: a connection
without ``auth.user`` is a guest and gets a made-up name (``guest-4f2a``) instead of a
refusal, and a namespace named with ``--echo`` relays to everyone, the sender included,
as the tutorial's ``io.emit`` does (the default stays "everyone else", which the lessons
teach).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from typing import Any

from socketio.exceptions import ConnectionRefusedError

from server_stub import validation as v
from server_stub.auth import is_guest
from server_stub.guard import Ack, guarded, guarded_connect, logged
from server_stub.namespaces import server_emits
from server_stub.namespaces.base import Context, Namespace

log = logging.getLogger(__name__)

#: Event names socket.io clients treat as their own lifecycle events; relaying them would
#: make other clients believe they (dis)connected.
RESERVED = frozenset({"connect", "connect_error", "disconnect", "disconnecting",
                      "newListener", "removeListener"})
GUEST_PREFIX = "guest-"
#: Tries with 4 hex digits (65,536 names) before going to 8: a class never runs out.
_SHORT_GUEST_TRIES = 8
_GUEST_TRIES = 16


class SandboxNamespace(Namespace):
    """Relay and echo for any namespace without a dedicated handler."""

    def __init__(self, ctx: Context, echo: Iterable[str] = ()) -> None:
        super().__init__(ctx)
        self.namespaces: dict[str, str] = {}
        #: Namespaces whose relay includes the sender (``--echo``).
        self.echo = frozenset(echo)
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

    async def identify(self, namespace: str, auth: Any) -> tuple[str, bool]:
        if not is_guest(auth):
            return await super().identify(namespace, auth)
        self.ctx.authenticator.admit_guest(auth)
        return await self._guest_name(namespace), False

    async def _guest_name(self, namespace: str) -> str:
        """A ``guest-<hex>`` name nobody uses on this namespace (on any process) and
        nobody claimed, so the welcome and the others' view tell guests apart."""
        for attempt in range(_GUEST_TRIES):
            name = GUEST_PREFIX + secrets.token_hex(2 if attempt < _SHORT_GUEST_TRIES else 4)
            if name in self.users.values() or await self.presence.online(namespace, name):
                continue
            try:
                await self.ctx.claims.admit(name, None)
            except ConnectionRefusedError:
                continue  # someone claimed this guest name with a key of theirs
            return name
        raise ConnectionRefusedError("no free guest name; connect with auth.user instead")

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
        if event == server_emits.ANNOUNCE:
            return await server_emits.announce(self.sio, self.presence, namespace, args,
                                               RESERVED)
        if event == server_emits.ASK:
            return await server_emits.ask(self.sio, sid, namespace, args, RESERVED)
        if event in RESERVED:
            raise v.RequestError(f"'{event}' is reserved by socket.io clients and is not "
                                 "relayed.")
        if namespace in self.echo:
            everyone = await self.presence.count(namespace)
            await self.sio.emit(event, tuple(args), namespace=namespace)
            return {"ok": True, "delivered": everyone}
        others = max(0, await self.presence.count(namespace) - 1)
        await self.sio.emit(event, tuple(args), namespace=namespace, skip_sid=sid)
        return {"ok": True, "delivered": others}
