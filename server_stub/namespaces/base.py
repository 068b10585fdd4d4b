"""What every namespace shares: who is connected, the welcome, and handler registration.

Auth is checked once per namespace connection (token, then the name's claim, see
:mod:`server_stub.claims`) and the user name is remembered per socket id; handlers read
it from here, never from the payload. Every accepted socket is also
registered with the backend's :class:`~server_stub.presence.base.Presence`, so that counts and
"is this user online?" hold across server processes, and a dead process's sockets can be
cleaned up by another. The ``welcome`` event has to go out *after* the CONNECT packet
(python-socketio sends CONNECT only when the connect handler has returned), so it is
emitted from a task that waits for the connection to be fully registered.
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import socketio

import server_stub
from server_stub.auth import Authenticator
from server_stub.claims import NameClaims, key_for
from server_stub.guard import Ack
from server_stub.presence.base import Presence
from server_stub.ratelimit import RateLimiter
from server_stub.storage.base import Storage

if TYPE_CHECKING:
    from server_stub.backend import Backend

log = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[Ack]]

#: Loop turns to wait for python-socketio to finish registering a connection, before
#: switching to short naps; and how long to wait in total.
_CONNECT_SPINS = 100
_CONNECT_NAP = 0.005
_CONNECT_WAIT = 10.0


@dataclass(slots=True)
class Context:
    """The shared objects every namespace needs."""

    sio: socketio.AsyncServer
    backend: Backend
    authenticator: Authenticator
    limiter: RateLimiter
    claims: NameClaims

    @property
    def storage(self) -> Storage:
        return self.backend.storage

    @property
    def presence(self) -> Presence:
        return self.backend.presence


class Namespace:
    """Base of the /chat, /queue and sandbox handlers."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.sio = ctx.sio
        self.storage = ctx.storage
        self.presence = ctx.presence
        self.limiter = ctx.limiter
        self.users: dict[str, str] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- registration ------------------------------------------------------------------
    def register(self, namespace: str, events: dict[str, Handler]) -> None:
        """Attach ``handler(sid, event, *args)`` methods to events of ``namespace``; the
        special event ``*`` receives every other event."""
        for event, method in events.items():
            self.sio.on(event, self._bind(event, method), namespace=namespace)

    @staticmethod
    def _bind(event: str, method: Handler) -> Handler:
        if event == "*":
            async def any_event(name: str, sid: str, *args: Any) -> Ack:
                return await method(sid, name, *args)
            return any_event

        async def handler(sid: str, *args: Any) -> Ack:
            return await method(sid, event, *args)
        return handler

    # -- connection lifecycle ----------------------------------------------------------
    async def accept(self, sid: str, namespace: str, auth: Any) -> str | None:
        """Authenticate a new connection (raises ConnectionRefusedError): user name and
        token, then the name's claim. Schedules its welcome. Returns None when ``sid`` is
        already connected: a client cannot re-run connect by emitting an event named
        "connect"."""
        if sid in self.users:
            return None
        user, claimed = await self.identify(namespace, auth)
        self.users[sid] = user
        self.spawn(self._welcome(sid, namespace, user, claimed))
        log.info("%s connected to %s as %r", sid, namespace, user)
        return user

    async def identify(self, namespace: str, auth: Any) -> tuple[str, bool]:
        """The user name of a new connection and whether it is claimed, or raise
        ConnectionRefusedError. The sandbox overrides this to admit guests."""
        user = self.ctx.authenticator.user_for(auth)
        return user, await self.ctx.claims.admit(user, key_for(auth))

    async def register_socket(self, sid: str, namespace: str, user: str) -> None:
        """Make the socket known to every server process (before CONNECT is answered)."""
        await self.presence.connected(sid, namespace, user)

    def is_forged_disconnect(self, sid: str, namespace: str) -> bool:
        """A real disconnect is flagged as pending by python-socketio before the handler
        runs; an event named "disconnect" sent by a connected client is not."""
        return self.sio.manager.is_connected(sid, namespace) or sid not in self.users

    def forget(self, sid: str) -> None:
        self.users.pop(sid, None)
        self.limiter.forget(sid)

    async def _welcome(self, sid: str, namespace: str, user: str, claimed: bool) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _CONNECT_WAIT
        spins = 0
        while not self.sio.manager.is_connected(sid, namespace):
            if sid not in self.users or loop.time() > deadline:
                return  # refused, gone, or never completed
            spins += 1
            # Usually one turn is enough; naps only if the CONNECT packet is held up.
            await asyncio.sleep(0 if spins < _CONNECT_SPINS else _CONNECT_NAP)
        await self.sio.emit("welcome", {
            "server": "sockdesk", "version": server_stub.__version__, "sid": sid,
            "user": user, "namespace": namespace,
            # which history this server keeps, and that it drops resent message ids
            "history": self.storage.history_id, "dedupe": True,
            "claimed": claimed,
        }, to=sid, namespace=namespace, ignore_queue=True)
        await self.after_welcome(sid, namespace, user)

    async def after_welcome(self, sid: str, namespace: str, user: str) -> None:
        """Hook for work that must follow the welcome (pending DMs in /chat)."""

    # -- background work ---------------------------------------------------------------
    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """Run ``coro`` in the background, keep a reference, log its failure."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("background task failed", exc_info=task.exception())

    def watch(self, fut: Awaitable[Any], what: str) -> None:
        """Log the failure of a storage write nobody waits for. A future needs no task
        of its own to be watched (a task per broadcast message was a measurable share
        of the B1 benchmark's loop, for writes that are mostly done already)."""
        if isinstance(fut, asyncio.Future):
            if fut.done():
                _report_failure(fut, what)
            else:
                fut.add_done_callback(functools.partial(_report_failure, what=what))
            return

        async def wait() -> None:
            try:
                await fut
            except Exception:
                log.exception("background write failed: %s", what)
        self.spawn(wait())


def _report_failure(fut: asyncio.Future[Any], what: str) -> None:
    """Log a watched write's exception (a cancelled one was given up on purpose)."""
    if not fut.cancelled() and fut.exception() is not None:
        log.error("background write failed: %s", what, exc_info=fut.exception())
