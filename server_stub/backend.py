"""The two ways to run the server's state, chosen once at start-up.

A :class:`Backend` bundles what the namespaces share: the :class:`Storage` (durable chat
data), the :class:`Presence` (sockets, rooms, members), the :class:`QueueBroker` (work
queues) and the python-socketio client manager (how a broadcast reaches sockets).

* :class:`EmbeddedBackend` (default): SQLite, presence and queue dispatch in memory, the
  plain in-process client manager. One process.
* :class:`RedisBackend` (``--redis URL``): everything in Redis, broadcasts through
  python-socketio's Redis pub/sub manager, plus a heartbeat so survivors clean up after a
  killed process. Any number of processes on one Redis database.

The namespace code is the same for both; it never asks which one it runs on.
"""

from __future__ import annotations

import abc
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import socketio

from server_stub.presence.base import Presence
from server_stub.presence.local import LocalPresence
from server_stub.presence.redispresence import RedisPresence
from server_stub.queues.base import QueueBroker, Send
from server_stub.queues.dispatcher import Dispatcher
from server_stub.queues.redisqueues import RedisQueueBroker
from server_stub.scaleout.redislink import RedisLink, database_of, redacted
from server_stub.scaleout.redisnodes import MessagesUnsent, NodeWatch, SocketLost, node_address
from server_stub.storage import SqliteStorage, Storage, StorageError
from server_stub.storage.redisstore import RedisStorage
from server_stub.transport.livegate import GatedManager, GatedRedisManager, LiveGate

log = logging.getLogger(__name__)

Spawn = Callable[[Any], Any]


class Backend(abc.ABC):
    """What the namespaces share; see the module docstring."""

    storage: Storage
    presence: Presence
    gate: LiveGate

    def __init__(self) -> None:
        # /chat room messages and changes (vs. a join's history) and DMs (vs. the
        # mailbox read at connect) must reach a socket exactly once
        self.gate = LiveGate("/chat", ("message", "edit", "delete", "dm"))
        self.on_presumed_dead: Callable[[], Awaitable[None]] | None = None

    @abc.abstractmethod
    def client_manager(self) -> socketio.AsyncManager:
        """The python-socketio client manager for the AsyncServer."""

    @abc.abstractmethod
    def queue_broker(self, send: Send, spawn: Spawn, *, visibility_timeout: float,
                     max_attempts: int) -> QueueBroker:
        """The work-queue implementation (created once, by the /queue namespace)."""

    @abc.abstractmethod
    async def open(self) -> None:
        """Open the state; raise StorageError with a sentence for the user."""

    @abc.abstractmethod
    async def join_cluster(self, sio: socketio.AsyncServer, host: str, port: int) -> None:
        """Called once the port is bound and before serving."""

    @abc.abstractmethod
    def on_socket_lost(self, listener: SocketLost) -> None:
        """Run ``listener(sid, departures)`` for each socket of a server process that
        died."""

    @abc.abstractmethod
    def on_unsent_messages(self, listener: MessagesUnsent) -> None:
        """Run ``listener(messages)`` with room messages a dead server process stored but
        may not have broadcast."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Flush and release everything (after every client was disconnected)."""


class EmbeddedBackend(Backend):
    """SQLite plus in-memory presence and dispatch: one self-contained process."""

    def __init__(self, db: Path) -> None:
        super().__init__()
        self.sqlite = SqliteStorage(db)
        self.storage = self.sqlite
        self.presence = LocalPresence()

    def client_manager(self) -> socketio.AsyncManager:
        return GatedManager(self.gate)

    def queue_broker(self, send: Send, spawn: Spawn, *, visibility_timeout: float,
                     max_attempts: int) -> QueueBroker:
        return Dispatcher(self.sqlite, send, visibility_timeout=visibility_timeout,
                          max_attempts=max_attempts, spawn=spawn)

    async def open(self) -> None:
        await self.sqlite.open()

    async def join_cluster(self, sio: socketio.AsyncServer, host: str, port: int) -> None:
        """Nothing to join: this process is alone."""

    def on_socket_lost(self, listener: SocketLost) -> None:
        """Never needed: there are no other processes whose sockets could be lost."""

    def on_unsent_messages(self, listener: MessagesUnsent) -> None:
        """Never needed: a crash of the only process disconnects every client."""

    async def close(self) -> None:
        await self.sqlite.close()


class RedisBackend(Backend):
    """Shared state in one Redis database (see :mod:`server_stub.scaleout.redislink` and the
    ``redis*`` modules for the key layout)."""

    def __init__(self, url: str, *, node_timeout: float) -> None:
        super().__init__()
        self.url = url
        self.link = RedisLink(url)
        self.storage = self.redis_storage = RedisStorage(self.link)
        self.presence = self.redis_presence = RedisPresence(self.link)
        self.watch = NodeWatch(self.link, self.redis_presence, self.redis_storage,
                               timeout=node_timeout)
        # One pub/sub channel per database: clusters in different databases of one
        # Redis server must not hear each other's broadcasts.
        self.manager = GatedRedisManager(url, f"sockdesk:{database_of(url)}", self.gate)

    def client_manager(self) -> socketio.AsyncManager:
        return self.manager

    def queue_broker(self, send: Send, spawn: Spawn, *, visibility_timeout: float,
                     max_attempts: int) -> QueueBroker:
        return RedisQueueBroker(self.link, send, visibility_timeout=visibility_timeout,
                                max_attempts=max_attempts)

    def on_socket_lost(self, listener: SocketLost) -> None:
        self.watch.listeners.append(listener)

    def on_unsent_messages(self, listener: MessagesUnsent) -> None:
        self.watch.unsent_listeners.append(listener)

    async def open(self) -> None:
        await self.link.open()
        await self.redis_storage.open()

    async def join_cluster(self, sio: socketio.AsyncServer, host: str, port: int) -> None:
        self.watch.on_presumed_dead = self.on_presumed_dead
        node = await self.watch.start(node_address(host, port))
        try:
            await self.manager.start_listening(
                lambda channel, text: self.link.command("PUBLISH", channel, text))
        except TimeoutError as exc:
            raise StorageError(f"cannot subscribe to Redis pub/sub at "
                               f"{redacted(self.url)}: {exc}") from exc
        log.info("joined the cluster on %s as %s", redacted(self.url), node)

    async def close(self) -> None:
        try:
            await self.watch.stop()
        except StorageError as exc:
            # the others will clean up after us once our heartbeat expires
            log.warning("could not leave the cluster cleanly: %s", exc)
        await self.manager.close()
        await self.link.close()


def make_backend(db: Path, redis_url: str | None, *, node_timeout: float) -> Backend:
    """The backend the command line asked for."""
    if redis_url:
        return RedisBackend(redis_url, node_timeout=node_timeout)
    return EmbeddedBackend(db)
