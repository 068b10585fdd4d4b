"""The Redis lane of the Redis-adapter lesson: what the server processes really send to
Redis, read with Redis's own MONITOR command, and drawn as arrows.

MONITOR streams every command any client runs (and the commands inside Lua scripts,
right after the script call). Most of it is bookkeeping (heartbeats, presence counters),
so only the commands that carry the story are drawn, each from the process that sent
it: a broadcast PUBLISHed on the pub/sub channel (and the copy Redis hands each other
process subscribed to it), a room message or job appended to its stream (XADD), the
reaper's lock on a dead process, a user taken out of a room (HDEL), a job given back
with a higher attempt, a job acked (XACK). The rest is counted, not drawn.

Which process sent a command: Redis tells the client's address; on Linux the lesson
finds which server process owns that TCP port (/proc), and every process also names
itself in its heartbeat key (``sd:node:<host>/127.0.0.1:<port>#…:alive``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import re
from collections.abc import Callable
from typing import Any

from redis import asyncio as aioredis

from app.scenarios.hops import hop

log = logging.getLogger(__name__)

REDIS = "redis"
NODE_PORT = re.compile(r"127\.0\.0\.1:(\d+)#")
CHANNEL = "sockdesk:"


def _clip(text: str, n: int = 24) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"


_ESCAPE = re.compile(r"\\(x[0-9a-fA-F]{2}|.)", re.DOTALL)
_SIMPLE = {"n": b"\n", "r": b"\r", "t": b"\t", "a": b"\a", "b": b"\b"}


def unrepr(text: str) -> str:
    r"""Undo MONITOR's quoting of one argument (\\, \n, \xHH for bytes beyond ASCII):
    the bytes the server sent, decoded as UTF-8."""
    out = bytearray()
    pos = 0
    for m in _ESCAPE.finditer(text):
        out += text[pos:m.start()].encode("utf-8", "replace")
        code = m.group(1)
        if code.startswith("x") and len(code) == 3:
            out.append(int(code[1:], 16))
        else:
            out += _SIMPLE.get(code, code.encode("utf-8", "replace"))
        pos = m.end()
    out += text[pos:].encode("utf-8", "replace")
    return out.decode("utf-8", "replace")


def _socket_inodes(pid: int) -> set[str]:
    found = set()
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    found.add(target[8:-1])
    return found


def _ports_by_inode() -> dict[str, int]:
    ports: dict[str, int] = {}
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError), open(path, encoding="ascii") as f:
            for line in f.readlines()[1:]:
                parts = line.split()
                if len(parts) > 9:
                    ports[parts[9]] = int(parts[1].rsplit(":", 1)[1], 16)
    return ports


class RedisWatch:
    """MONITOR on `url`, turned into hops between server lanes and the Redis lane.

    `servers()` gives the lesson's server lanes: lane -> (pid, HTTP port, running?).
    `emit(lane, hop)` shows one arrow (the run's `hop`).
    """

    def __init__(self, url: str, servers: Callable[[], dict[str, tuple[int | None, int, bool]]],
                 emit: Callable[[str, Any], None]) -> None:
        self.url = url
        self.servers = servers
        self.emit = emit
        self.client: aioredis.Redis | None = None
        self.published: list[dict[str, Any]] = []   # {"by", "event", "data", "room"}
        self.drawn: list[tuple[str, str]] = []      # (lane, caption)
        self.undrawn = 0
        self._lanes: dict[str, str] = {}            # client port -> server lane
        self._last = ""                             # lane of the last top-level command
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        self.client = aioredis.Redis.from_url(self.url, decode_responses=True,
                                              encoding_errors="replace")
        self._task = asyncio.ensure_future(self._listen())
        await asyncio.wait_for(self._ready.wait(), 10.0)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(BaseException):
                await self._task
        if self.client is not None:
            with contextlib.suppress(Exception):
                await self.client.aclose()

    async def _listen(self) -> None:
        assert self.client is not None
        try:
            async with self.client.monitor() as mon:
                self._ready.set()
                async for entry in mon.listen():
                    try:
                        self.take(entry)
                    except Exception:  # one odd line must not end the watch
                        log.debug("monitor line not understood: %r", entry, exc_info=True)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # Redis went away: the lesson's checks will say so
            log.info("redis monitor ended: %s", exc)
        finally:
            self._ready.set()

    # -- who sent it -------------------------------------------------------------------
    def lane_of_port(self, port: str) -> str:
        if port in self._lanes:
            return self._lanes[port]
        by_inode = _ports_by_inode()
        for lane, (pid, _http, _running) in self.servers().items():
            if pid is None:
                continue
            for inode in _socket_inodes(pid):
                if inode in by_inode:
                    self._lanes.setdefault(str(by_inode[inode]), lane)
        return self._lanes.get(port, "")

    def lane_of_node(self, text: str) -> str:
        m = NODE_PORT.search(text)
        if not m:
            return ""
        port = int(m.group(1))
        return next((lane for lane, (_p, http, _r) in self.servers().items() if http == port),
                    "")

    # -- what it was -------------------------------------------------------------------
    def take(self, entry: dict[str, Any]) -> None:
        """One MONITOR line: draw it if it carries the story, else count it."""
        command = str(entry.get("command", ""))
        port = str(entry.get("client_port") or "")
        inner = entry.get("client_type") == "lua" or not port
        if not inner:
            self._last = self.lane_of_port(port)
            if command.startswith("SET sd:node:") and command.split(" ", 2)[1].endswith(
                    ":alive"):
                lane = self.lane_of_node(command)
                if lane:
                    self._lanes.setdefault(port, lane)
                    self._last = lane
        lane = self._last
        caption = self.caption(command, lane) if lane else ""
        if not caption:
            if not inner:
                self.undrawn += 1
            return
        kind = "PUBSUB" if command.startswith("PUBLISH") else "REDIS"
        self.drawn.append((lane, caption))
        self.emit(lane, hop("out", kind, caption, peer=REDIS, args=[command[:400]]))
        if kind == "PUBSUB":
            for other, (_pid, _http, running) in self.servers().items():
                if other != lane and running:
                    self.emit(REDIS, hop("out", "PUBSUB", "pub/sub copy: " + caption[8:],
                                         peer=other))

    def caption(self, command: str, lane: str) -> str:
        """The arrow's words for a command worth drawing; "" for the rest."""
        verb, _, rest = command.partition(" ")
        key, _, tail = rest.partition(" ")
        if verb == "PUBLISH" and key.startswith(CHANNEL):
            return self._published(tail, lane)
        if verb == "XADD" and key.startswith("sd:chat:log:"):
            offset = tail.split("-", 1)[0]
            m = re.search(r" text (.*) ts \S+", command)
            words = f" “{_clip(unrepr(m.group(1)), 30)}”" if m else ""
            return f"XADD #{key[12:]} offset {offset}{words}"
        if verb == "XADD" and key.startswith("sd:q:") and key.endswith(":s"):
            return f"XADD a job to {key[5:-2]}"
        if verb == "SET" and key.startswith("sd:node:") and key.endswith(":reaper"):
            dead = self.lane_of_node(key) or "a dead process"
            return f"SET lock: I clean up after {dead}"
        if verb == "HDEL" and key.startswith("sd:room:"):
            return f"HDEL #{key[8:]} {tail}: {tail} is out of the room"
        if verb == "HSET" and key.startswith("sd:q:") and key.endswith(":att"):
            seq, _, attempt = tail.partition(" ")
            if attempt.isdigit() and int(attempt) > 1:
                return f"job {seq} back in the queue, attempt {attempt}"
        if verb == "XACK" and key.startswith("sd:q:"):
            return f"XACK: a job of {key[5:-2]} is done"
        return ""

    def _published(self, payload: str, lane: str) -> str:
        try:
            msg = json.loads(unrepr(payload))
        except ValueError:
            return ""   # the servers' start-up probe of the channel: not a broadcast
        event = str(msg.get("event", "?"))
        data = msg.get("data") or [{}]
        first = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) \
            else {}
        room = str(msg.get("room") or "")
        self.published.append({"by": lane, "event": event, "data": first, "room": room})
        if event == "message":
            return f"PUBLISH message “{_clip(first.get('text', ''), 30)}”"
        if event == "presence":
            return f"PUBLISH presence: {first.get('user')} {first.get('event')}"
        if event == "deliver":
            return f"PUBLISH deliver job {first.get('seq')} · attempt {first.get('attempt')}"
        return f"PUBLISH {event}"
