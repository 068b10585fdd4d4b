"""Liveness of the server processes sharing one Redis, and cleanup after a crash.

A process that is killed (SIGKILL, power cut) cannot take its sockets out of the rooms or
give back the queue messages they held. So each process ("node") refreshes a heartbeat
key with a TTL; every node periodically looks at the others, and when a node's heartbeat
has expired, one survivor (the one that takes a short lock) cleans up after it: each of
the dead node's sockets is disconnected in Redis (its users leave their rooms, with a
``left`` presence event, when it was their last socket) and loses its subscriptions (what
it held goes back with attempt + 1), and the room messages it stored but may not have
broadcast yet are broadcast now. Each step is an idempotent Lua script, so two
survivors racing, or a survivor dying half-way, cannot do harm: the lock expires and
someone finishes the job.

A node id is ``<hostname>/<host>:<port>#<random>``. A new process on the same address
knows that any earlier node with that address is dead (it holds the port now), so it
cleans up after its predecessor at once instead of waiting for the heartbeat to expire:
a restarted server behaves like the SQLite one, where what was in flight is back in its
queue as soon as the server is up again.

A node that finds its own heartbeat gone was taken for dead (it stalled longer than the
timeout); its state may have been cleaned up, so it disconnects all its clients (they
reconnect and register again) and registers anew.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import uuid
from collections.abc import Awaitable, Callable

from server_stub.presence.base import Departure
from server_stub.presence.redispresence import RedisPresence
from server_stub.scaleout.redislink import PREFIX, RedisLink, Script
from server_stub.storage.base import ChatMessage, StorageError
from server_stub.storage.redisstore import RedisStorage

log = logging.getLogger(__name__)

#: Called for every socket of a dead node, after its presence was removed.
SocketLost = Callable[[str, list[Departure]], Awaitable[None]]
#: Called with the room messages a dead node stored but may not have broadcast.
MessagesUnsent = Callable[[list[ChatMessage]], Awaitable[None]]

FORGET_NODE = Script("node_forget", """
-- drop a node from the registry once its sockets are cleaned up, unless it came back
local P, node = ARGV[1], ARGV[2]
if redis.call('EXISTS', P .. 'node:' .. node .. ':alive') == 1 then return 0 end
if redis.call('SCARD', P .. 'node:' .. node .. ':socks') > 0 then return 0 end
redis.call('SREM', P .. 'nodes', node)
redis.call('DEL', P .. 'node:' .. node .. ':reaper')
return 1
""")


def node_address(host: str, port: int) -> str:
    return f"{socket.gethostname()}/{host}:{port}"


class NodeWatch:
    """Heartbeat of this node and cleanup after dead ones (see the module docstring)."""

    def __init__(self, link: RedisLink, presence: RedisPresence, storage: RedisStorage, *,
                 timeout: float) -> None:
        self.link = link
        self.presence = presence
        self.storage = storage
        self.timeout_ms = max(100, round(timeout * 1000))
        self.every = timeout / 3
        self.node = ""
        self.listeners: list[SocketLost] = []
        self.unsent_listeners: list[MessagesUnsent] = []
        self.on_presumed_dead: Callable[[], Awaitable[None]] | None = None
        self._task: asyncio.Task[None] | None = None
        link.add_scripts(FORGET_NODE)

    def _key(self, node: str, part: str) -> str:
        return f"{PREFIX}node:{node}:{part}"

    async def start(self, address: str) -> str:
        """Register as a new node at ``address``; clean up after earlier nodes there."""
        self.node = f"{address}#{uuid.uuid4().hex[:12]}"
        self.presence.node = self.storage.node = self.node
        for other in sorted(await self.link.command("SMEMBERS", f"{PREFIX}nodes")):
            if other.rsplit("#", 1)[0] == address:
                log.info("cleaning up after %s, which had this address before", other)
                # It cannot be alive (we hold its port); if it somehow is, it will see
                # its heartbeat gone and reconnect its clients.
                await self.link.command("DEL", self._key(other, "alive"))
                await self.reap(other)
        await self._beat(first=True)
        self._task = asyncio.get_running_loop().create_task(self._loop(),
                                                            name="sockdesk-node-watch")
        return self.node

    async def stop(self) -> None:
        """Leave the cluster: clean up whatever of ours is left, then deregister."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if not self.node:
            return
        await self.link.command("DEL", self._key(self.node, "alive"))
        await self.reap(self.node)

    async def _beat(self, first: bool = False) -> None:
        alive = self._key(self.node, "alive")
        refreshed = await self.link.command("SET", alive, "1", "PX", self.timeout_ms,
                                            *(() if first else ("XX",)))
        if not refreshed:
            log.warning("this server was taken for dead by the others (it stalled for "
                        "more than the node timeout); reconnecting its clients")
            await self.link.command("SET", alive, "1", "PX", self.timeout_ms)
            if self.on_presumed_dead is not None:
                await self.on_presumed_dead()
        await self.link.command("SADD", f"{PREFIX}nodes", self.node)

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            try:
                await self._beat()
                await self.check_others()
            except StorageError as exc:
                log.warning("node heartbeat failed: %s", exc)
            except Exception:
                log.exception("node heartbeat failed")

    async def check_others(self) -> None:
        """Clean up after every node whose heartbeat expired (one survivor per node)."""
        for other in sorted(await self.link.command("SMEMBERS", f"{PREFIX}nodes")):
            if other == self.node or await self.link.command("EXISTS",
                                                             self._key(other, "alive")):
                continue
            locked = await self.link.command("SET", self._key(other, "reaper"), self.node,
                                             "NX", "PX", self.timeout_ms)
            if locked:
                log.warning("server %s stopped answering; cleaning up after it", other)
                await self.reap(other)

    async def reap(self, node: str) -> int:
        """Disconnect (in Redis) every socket ``node`` still has; returns how many."""
        sids = sorted(await self.link.command("SMEMBERS", self._key(node, "socks")))
        for sid in sids:
            departures = await self.presence.disconnected(sid)
            for listener in self.listeners:
                await listener(sid, departures)
        if sids:
            log.info("removed %d socket(s) of %s", len(sids), node)
        unsent = await self.storage.take_unsent(node)
        if unsent:
            log.info("broadcasting %d message(s) %s stored but may not have sent", len(unsent),
                     node)
            for listener in self.unsent_listeners:
                await listener(unsent)
        await self.link.run(FORGET_NODE, (node,))
        return len(sids)
