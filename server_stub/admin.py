"""The official Socket.IO Admin UI (admin.socket.io), reporting what Node's would.

python-socketio ships the Admin UI's server side (``socketio.async_admin``), but two of
its reports are wrong for this server, which answers every namespace but ``/chat`` and
``/queue`` through a catch-all ``*`` handler (the sandbox):

- ``server_stats.namespaces`` is the list of registered *handlers*, read once when the
  first client connects: the Namespaces card showed ``*`` instead of ``/`` and never the
  sandbox namespaces in use. Node's ``@socket.io/admin-ui`` lists ``io._nsps``, i.e.
  every namespace that exists, each with its socket count. :class:`AdminInstrumentation`
  lists, at every tick, ``/`` and the namespaces with a handler of their own (they exist
  for as long as the server runs, as in Node) plus every namespace that has sockets now
  (the sandbox ones: gone again once empty, as Node's child namespaces with
  ``cleanupEmptyChildNamespaces``; remembering every name a client ever typed would let
  anyone grow the server).
- "Disconnect this client" (``_disconnect(nsp, close=True, id)``) only left the one
  namespace and kept the transport open. Node's ``socket.disconnect(true)`` disconnects
  every namespace of that client (each gets a DISCONNECT packet, so the client sees
  "io server disconnect" everywhere and does not reconnect) and then closes the
  Engine.IO connection. :meth:`AdminInstrumentation.admin_disconnect` does the same.

A socket is reported (``socket_connected``) once its connect handler has accepted it, as
Node's admin-ui does after the middlewares; the stock instrumentation reported it before,
so every refused connection (a wrong token) stayed in the UI's list for good.

Smaller differences are evened out so the UI reads the same from both servers: the
``clientId`` is the first 12 characters of the Engine.IO id, as Node sends it (the
whole id would let a viewer take over a polling session), the handshake has
``xdomain``, and ``socket_disconnected`` carries Node's reason names ("server namespace
disconnect", not python-socketio's "server disconnect").

The UI's commands (``emit``, ``join``, ``leave``, ``_disconnect``) are checked first: the
UI never asks for an ack, but a script that does gets ``{"ok": true}``, or ``ok: false``
with the reason for arguments of the wrong shape, instead of an exception in a task.

The stock instrumentation also replaces engine.io's ``connect``/``disconnect`` handlers
with python-socketio's own, dropping any wrapper installed before (our long-poll release
on close); here the handlers found at install time are the ones called.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import socketio
from socketio.async_admin import HOSTNAME, PID, InstrumentedAsyncServer

from server_stub.guard import Ack, internal_error
from server_stub.validation import RequestError

log = logging.getLogger(__name__)

ADMIN_NAMESPACE = "/admin"
ADMIN_USER = "admin"

#: python-socketio's server-side disconnect reasons, as Node's socket.io names them.
NODE_REASONS = {
    "server disconnect": "server namespace disconnect",
    "client disconnect": "client namespace disconnect",
}
#: How much of the Engine.IO id the UI gets as ``clientId`` (what Node's admin-ui sends).
CLIENT_ID_CHARS = 12
#: How long "disconnect this client" waits for the client to take its CLOSE packet.
CLOSE_WAIT_SECONDS = 1.0

EioHandler = Callable[..., Awaitable[Any]]


def _arguments(command: str, args: tuple[Any, ...], least: int, most: int) -> list[Any]:
    """``args`` padded with None to ``most``; too few or too many is a RequestError."""
    if not least <= len(args) <= most:
        wanted = str(least) if least == most else f"{least} to {most}"
        raise RequestError(f"{command}: expected {wanted} arguments, got {len(args)}.")
    return [*args, *[None] * (most - len(args))]


def _check_namespace(namespace: Any) -> None:
    if not isinstance(namespace, str) or not namespace.startswith("/"):
        raise RequestError("The namespace must be a string starting with '/'.")


def _check_filter(room_filter: Any) -> None:
    """None (every socket), a room (a socket id is a room), or a non-empty list of rooms."""
    if room_filter is None or isinstance(room_filter, str):
        return
    if (isinstance(room_filter, list) and room_filter
            and all(isinstance(r, str) for r in room_filter)):
        return
    raise RequestError("The filter must be a room name, a list of room names, or null.")


def _room_command(command: str, args: tuple[Any, ...]) -> list[Any]:
    namespace, room, room_filter = _arguments(command, args, 2, 3)
    _check_namespace(namespace)
    _check_filter(room_filter)
    if not isinstance(room, str) or not room:
        raise RequestError(f"{command}: the room must be a non-empty string.")
    return [namespace, room, room_filter]


async def _command(name: str, run: Callable[[], Awaitable[None]]) -> Ack:
    """Run one Admin UI command; its ack says whether it was carried out."""
    try:
        await run()
    except RequestError as exc:
        return exc.ack()
    except Exception as exc:
        log.exception("Admin UI command %r failed", name)
        return internal_error(name, exc)
    return {"ok": True}


def password_check(token: str) -> Callable[[Any], bool]:
    """The Admin UI login: exactly ``{"username": "admin", "password": token}``, the
    password compared in constant time (a timing leak would reveal the server token)."""
    wanted = token.encode("utf-8")

    def check(client_auth: Any) -> bool:
        if not isinstance(client_auth, dict) or set(client_auth) != {"username", "password"}:
            return False
        password = client_auth.get("password")
        return (client_auth.get("username") == ADMIN_USER and isinstance(password, str)
                and hmac.compare_digest(password.encode("utf-8", "surrogatepass"), wanted))

    return check


class AdminInstrumentation(InstrumentedAsyncServer):
    """python-socketio's Admin UI instrumentation, corrected where it differs from Node's
    (see the module docstring)."""

    def __init__(self, sio: socketio.AsyncServer, auth: Any, **kwargs: Any) -> None:
        # Taken before the base class installs its own handlers over them.
        self._eio_connect: EioHandler = (sio.eio.handlers.get("connect")
                                         or sio._handle_eio_connect)
        self._eio_disconnect: EioHandler = (sio.eio.handlers.get("disconnect")
                                            or sio._handle_eio_disconnect)
        self._sio_trigger: EioHandler = sio._trigger_event
        self._closing: set[asyncio.Future[Any]] = set()
        self._stopped = False
        super().__init__(sio, auth=auth, **kwargs)

    # -- what the Namespaces card shows -------------------------------------------------
    def namespaces(self) -> list[dict[str, Any]]:
        """Every namespace that exists now, with how many sockets of this process are in
        it: ``/``, the ones with a handler of their own, and any with sockets."""
        rooms = self.sio.manager.rooms
        names = {"/"} | {n for n in self.sio.handlers if n != "*"} | set(rooms)
        return [{"name": name, "socketsCount": len(rooms.get(name, {}).get(None, ()))}
                for name in sorted(names)]

    def server_stats(self, started: float) -> dict[str, Any]:
        """One ``server_stats`` payload, in the shape Node's admin-ui sends."""
        sockets = self.sio.eio.sockets
        return {
            "serverId": self.server_id,
            "hostname": HOSTNAME,
            "pid": PID,
            "uptime": time.time() - started,
            "clientsCount": len(sockets),
            "pollingClientsCount": sum(1 for s in sockets.values() if not s.upgraded),
            "aggregatedEvents": self.event_buffer.get_and_clear(),
            "namespaces": self.namespaces(),
        }

    async def _emit_server_stats(self) -> None:
        # The base class reads the namespace list once, before the loop; here each tick.
        started = time.time()
        while not self.stop_stats_event.is_set():
            await self.sio.sleep(self.server_stats_interval)
            await self.sio.emit("server_stats", self.server_stats(started),
                                namespace=self.admin_namespace)
            while self.admin_queue:
                event, args = self.admin_queue.pop(0)
                await self.sio.emit(event, args, namespace=self.admin_namespace)

    async def stop(self) -> None:
        """End the ``server_stats`` loop now (the base class's ``shutdown`` waits out the
        loop's sleep, up to a whole interval)."""
        self._stopped = True
        task, self.stats_task = self.stats_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- the UI's commands --------------------------------------------------------------
    # The UI sends them without asking for an ack; a script that asks gets one, and a
    # command with wrong arguments is answered ``ok: false`` instead of failing in a task.
    async def admin_emit(self, sid: str, *args: Any) -> Ack:
        """``emit(nsp, filter, event, ...args)``: emit to the sockets the filter picks."""
        async def run() -> None:
            namespace, room_filter, event = _arguments("emit", args[:3], 3, 3)
            _check_namespace(namespace)
            _check_filter(room_filter)
            if not isinstance(event, str):
                raise RequestError("emit: the event name must be a string.")
            await super(AdminInstrumentation, self).admin_emit(
                sid, namespace, room_filter, event, *args[3:])
        return await _command("emit", run)

    async def admin_enter_room(self, sid: str, *args: Any) -> Ack:
        """``join(nsp, room, filter?)``: the sockets the filter picks join ``room``."""
        async def run() -> None:
            namespace, room, room_filter = _room_command("join", args)
            await super(AdminInstrumentation, self).admin_enter_room(
                sid, namespace, room, room_filter)
        return await _command("join", run)

    async def admin_leave_room(self, sid: str, *args: Any) -> Ack:
        """``leave(nsp, room, filter?)``: the sockets the filter picks leave ``room``."""
        async def run() -> None:
            namespace, room, room_filter = _room_command("leave", args)
            await super(AdminInstrumentation, self).admin_leave_room(
                sid, namespace, room, room_filter)
        return await _command("leave", run)

    async def admin_disconnect(self, sid: str, *args: Any) -> Ack:
        """``_disconnect(nsp, close, filter?)``: the sockets the filter picks leave
        ``nsp``; with ``close``, their whole client goes (every namespace, then the
        transport)."""
        async def run() -> None:
            namespace, close, room_filter = _arguments("_disconnect", args, 2, 3)
            _check_namespace(namespace)
            _check_filter(room_filter)
            if not isinstance(close, bool):
                raise RequestError("_disconnect: close must be true or false.")
            await self.disconnect_sockets(namespace, close, room_filter)
        return await _command("_disconnect", run)

    async def disconnect_sockets(self, namespace: str, close: bool,
                                 room_filter: Any = None) -> None:
        """Node's ``io.of(nsp).in(filter).disconnectSockets(close)``."""
        targets = list(self.sio.manager.get_participants(namespace, room_filter))
        if not close:
            for sid, _eio_sid in targets:
                await self.sio.disconnect(sid, namespace=namespace)
            return
        for eio_sid in dict.fromkeys(eio_sid for _sid, eio_sid in targets):
            await self.close_client(eio_sid)

    async def close_client(self, eio_sid: str) -> None:
        """What Node's ``socket.disconnect(true)`` does: a DISCONNECT on every namespace
        of this Engine.IO connection, then the connection itself is closed."""
        manager = self.sio.manager
        for namespace in list(manager.get_namespaces()):
            sid = manager.sid_from_eio_sid(eio_sid, namespace)
            if sid is not None and manager.is_connected(sid, namespace):
                await self.sio.disconnect(sid, namespace=namespace)
        # engine.io's close waits until the client has taken every queued packet, which
        # a client that stopped reading never does: wait a moment, and let it finish (or
        # engine.io's service task reap the closed socket) in the background.
        closing = asyncio.ensure_future(self.sio.eio.disconnect(eio_sid))
        self._closing.add(closing)
        closing.add_done_callback(self._closing.discard)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(closing), CLOSE_WAIT_SECONDS)

    # -- reports ------------------------------------------------------------------------
    async def _trigger_event(self, event: str, namespace: str, *args: Any) -> Any:
        if event == "connect":
            return await self._connected(namespace, *args)
        if event != "disconnect":
            return await super()._trigger_event(event, namespace, *args)
        sid = args[0]
        reason = args[1] if len(args) > 1 else "client disconnect"
        self.sio.manager._timestamps.pop(sid, None)
        await self.sio.emit("socket_disconnected", (
            namespace, sid, NODE_REASONS.get(reason, reason),
            datetime.now(UTC).isoformat(),
        ), namespace=self.admin_namespace)
        return await self._sio_trigger(event, namespace, *args)

    async def _connected(self, namespace: str, sid: str, *args: Any) -> Any:
        """Report a socket once its connect handler has let it in. The base class
        reports it before, so every refused connection (a wrong token) stayed in the UI's
        list for good, and its timestamp in memory; Node reports after the middlewares."""
        started = time.time()
        accepted = await self._sio_trigger("connect", namespace, sid, *args)
        if accepted is False:
            return accepted
        manager = self.sio.manager
        eio_sid = manager.eio_sid_from_sid(sid, namespace)
        manager._timestamps[sid] = started
        await self.sio.emit("socket_connected", (
            self.serialize_socket(sid, namespace, eio_sid),
            datetime.fromtimestamp(started, UTC).isoformat(),
        ), namespace=self.admin_namespace)
        if not self.sio.eio._get_socket(eio_sid).upgraded:
            self.sio.start_background_task(self._check_for_upgrade, eio_sid, sid, namespace)
        return accepted

    def serialize_socket(self, sid: str, namespace: str,
                         eio_sid: str | None = None) -> dict[str, Any]:
        eio_sid = eio_sid or self.sio.manager.eio_sid_from_sid(sid, namespace)
        serialized: dict[str, Any] = super().serialize_socket(sid, namespace, eio_sid)
        serialized["clientId"] = str(serialized["clientId"])[:CLIENT_ID_CHARS]
        environ = self.sio.environ.get(eio_sid, {})
        serialized["handshake"]["xdomain"] = "HTTP_ORIGIN" in environ
        return serialized

    async def _handle_eio_connect(self, eio_sid: str, environ: dict[str, Any]) -> Any:
        if self.stop_stats_event is None:
            self.stop_stats_event = self.sio.eio.create_event()
        if self.stats_task is None and not self._stopped:
            self.stats_task = self.sio.start_background_task(self._emit_server_stats)
        self.event_buffer.push("rawConnection")
        return await self._eio_connect(eio_sid, environ)

    async def _handle_eio_disconnect(self, eio_sid: str, reason: Any = None) -> Any:
        self.event_buffer.push("rawDisconnection")
        return await self._eio_disconnect(eio_sid, reason)


def instrument(sio: socketio.AsyncServer, token: str) -> AdminInstrumentation:
    """Turn on the Admin UI on ``/admin`` (user "admin", password = the server token).

    Events on ``/admin`` that are not the UI's are refused with an ``ok: false`` ack:
    without that they would reach the sandbox's catch-all relay."""
    admin = AdminInstrumentation(sio, auth=password_check(token), namespace=ADMIN_NAMESPACE)

    async def not_an_admin_event(event: str, sid: str, *args: Any) -> dict[str, Any]:
        return {"ok": False, "code": "invalid",
                "error": f"'{event}' is not an Admin UI event."}

    sio.on("*", not_an_admin_event, namespace=ADMIN_NAMESPACE)
    return admin
