"""One ordered, pipelined channel to Redis per server process.

Why not just call redis-py from every handler: its connection pool runs concurrent
commands on different connections, so two operations issued one after the other by the
event loop could take effect in the other order. The storage contract
(:mod:`server_stub.storage.base`) promises issue order, and the queue code relies on it.
So every command goes through :class:`RedisLink`: calls are queued when they are made, one
writer task sends *all* pending commands as one pipeline (no MULTI: each command or Lua
script is atomic on its own) and resolves the callers' futures in order. It is the Redis
counterpart of SQLite's group commit: under load many operations share one round trip,
with one client nothing waits for a timer.

Lua scripts are loaded once (``SCRIPT LOAD``) and called by SHA. If Redis forgot them
(it restarted, or someone ran ``SCRIPT FLUSH``) they are loaded again and the affected
calls run again: ``NOSCRIPT`` means the script did not run, so this is safe.

Every failure reaches the caller as :class:`StorageError`, which the handler guard turns
into a ``code: internal`` ack, exactly like a failing SQLite write.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from redis import asyncio as aioredis
from redis.exceptions import NoScriptError, RedisError

from server_stub.storage.base import StorageError

log = logging.getLogger(__name__)

#: Every key this server writes starts with this, so a shared Redis stays readable.
PREFIX = "sd:"


@dataclass(frozen=True, slots=True)
class Script:
    """A Lua script, called by SHA through :meth:`RedisLink.run`."""

    name: str
    text: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "sha", hashlib.sha1(self.text.encode("utf-8")).hexdigest())


@dataclass(slots=True)
class _Op:
    args: tuple[Any, ...]
    future: asyncio.Future[Any]
    script: Script | None = None


def redacted(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def database_of(url: str) -> int:
    """The database number in a redis:// URL (``/N`` or ``?db=N``), 0 by default. Servers
    sharing one Redis database form one cluster; the number also names the pub/sub
    channel, so clusters in different databases of one Redis never hear each other."""
    parts = urlsplit(url)
    for item in parts.query.split("&"):
        key, _, value = item.partition("=")
        if key == "db" and value.isdigit():
            return int(value)
    path = parts.path.strip("/")
    return int(path) if path.isdigit() else 0


class RedisLink:
    """Ordered, pipelined access to one Redis database (see the module docstring)."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url
        self.client: aioredis.Redis = aioredis.Redis.from_url(
            url, decode_responses=True, encoding_errors="surrogatepass",
            socket_timeout=timeout, socket_connect_timeout=timeout)
        self._scripts: dict[str, Script] = {}
        self._pending: list[_Op] = []
        self._wakeup = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._closing = False
        #: Counters for logs and the benchmark: round trips and operations sent.
        self.batches = 0
        self.operations = 0

    # -- lifecycle ---------------------------------------------------------------------
    def add_scripts(self, *scripts: Script) -> None:
        """Make scripts known before :meth:`open` (they are loaded there)."""
        for script in scripts:
            self._scripts[script.sha] = script

    async def open(self) -> None:
        """Check that Redis answers and load the scripts; raise StorageError if not."""
        try:
            await self.client.ping()
            await self._load_scripts()
        except (RedisError, OSError) as exc:
            await self.client.aclose()
            raise StorageError(f"cannot use Redis at {redacted(self.url)}: {exc}") from exc
        self._writer = asyncio.get_running_loop().create_task(
            self._write_loop(), name="sockdesk-redis-writer")

    async def close(self) -> None:
        """Send what is pending, then close the connections."""
        if self._closing:
            return
        self._closing = True
        self._wakeup.set()
        if self._writer is not None:
            await self._writer
        await self.client.aclose()
        log.info("redis link closed after %d round trips / %d operations", self.batches,
                 self.operations)

    async def _load_scripts(self) -> None:
        for script in self._scripts.values():
            sha = await self.client.script_load(script.text)
            if sha != script.sha:  # pragma: no cover - would be a Redis bug
                raise StorageError(f"Redis loaded script {script.name} as {sha}")

    # -- calls -------------------------------------------------------------------------
    def command(self, *args: Any) -> asyncio.Future[Any]:
        """Queue one Redis command; the future resolves with its reply."""
        return self._submit(_Op(args, self._future()))

    def run(self, script: Script, args: Sequence[Any] = ()) -> asyncio.Future[Any]:
        """Queue a Lua script call (no KEYS: the scripts build their keys from names, which
        is fine on one Redis server; Redis Cluster is not supported)."""
        if script.sha not in self._scripts:
            raise RuntimeError(f"script {script.name} was not added before open()")
        return self._submit(_Op(("EVALSHA", script.sha, 0, PREFIX, *args), self._future(),
                                script))

    def _future(self) -> asyncio.Future[Any]:
        return asyncio.get_running_loop().create_future()

    def _submit(self, op: _Op) -> asyncio.Future[Any]:
        if self._closing and (self._writer is None or self._writer.done()):
            raise StorageError("the Redis connection is closed")
        self._pending.append(op)
        self._wakeup.set()
        return op.future

    # -- the writer --------------------------------------------------------------------
    async def _write_loop(self) -> None:
        while True:
            if not self._pending:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch, self._pending = self._pending, []
            await self._send(batch)

    async def _send(self, batch: list[_Op]) -> None:
        try:
            replies = await self._pipeline(batch)
        except (TimeoutError, RedisError, OSError) as exc:
            log.error("Redis round trip failed: %s", exc)
            for op in batch:
                _settle(op, StorageError(f"Redis is not reachable: {exc}"))
            return
        except Exception as exc:
            # Anything else is a bug, but the writer must survive it: a dead writer would
            # leave every later caller waiting forever.
            log.exception("Redis round trip failed unexpectedly")
            for op in batch:
                _settle(op, StorageError(f"Redis round trip failed: {exc}"))
            return
        forgotten = [op for op, reply in zip(batch, replies, strict=True)
                     if isinstance(reply, NoScriptError)]
        for op, reply in zip(batch, replies, strict=True):
            if not isinstance(reply, NoScriptError):
                _settle(op, reply)
        if forgotten:
            log.warning("Redis forgot our scripts (restart or SCRIPT FLUSH); loading again")
            try:
                await self._load_scripts()
                replies = await self._pipeline(forgotten)
            except Exception as exc:
                replies = [exc] * len(forgotten)
            for op, reply in zip(forgotten, replies, strict=True):
                _settle(op, reply)

    async def _pipeline(self, batch: list[_Op]) -> list[Any]:
        pipe = self.client.pipeline(transaction=False)
        for op in batch:
            pipe.execute_command(*op.args)
        replies = await pipe.execute(raise_on_error=False)
        self.batches += 1
        self.operations += len(batch)
        return list(replies)


def _settle(op: _Op, reply: Any) -> None:
    """Resolve one caller; a Redis error becomes a StorageError with the reason."""
    if op.future.done():  # the caller gave up (cancelled); the work is done anyway
        return
    if isinstance(reply, BaseException):
        what = op.script.name if op.script else str(op.args[0])
        log.error("Redis operation %s failed: %s", what, reply)
        op.future.set_exception(StorageError(f"Redis operation {what} failed: {reply}"))
    else:
        op.future.set_result(reply)
