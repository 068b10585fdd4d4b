"""No gap and no double when a socket catches up, with one process or many.

Two places where a socket gets what is stored *and* what arrives live: a ``/chat`` join
(room history, then live room messages) and a new ``/chat`` connection (the DM mailbox,
then live DMs). The contract wants each message exactly once there. With one process and
SQLite it was enough to enter the socket.io room right after the read, without
yielding. With Redis that is not: the stored data and a broadcast published by another
process (or by this one, on another connection) reach the event loop on different
connections, in either order, and a broadcast of something stored *before* the read may
arrive *after* it (its process publishes only once its write returned). So:

1. ``hold``: broadcasts of the gated events for this socket are diverted into a buffer;
2. the socket is in the socket.io room, *then* the stored data is read;
3. ``release(covered)``: held broadcasts the read did not cover are sent to the socket;
   from now on broadcasts go straight to it, except those the read covered (late
   broadcasts of stored data), which are dropped for this socket.

``covered`` is "offset <= the history's last offset" for a join (room messages, edits
and deletes all carry the offset they took) and "(sender, id) was in the mailbox" for
DMs. Whatever the timing, an item is either stored before the read
(covered: sent from storage, never live) or after it (the socket is already in the room,
so it arrives live or from the buffer, exactly once).

The diversion happens where python-socketio delivers to the sockets of *this* process:
:meth:`AsyncManager.emit` for the embedded backend, ``_handle_emit`` (local part of every
broadcast, whoever published it) for :class:`socketio.AsyncRedisManager`.

The same place tells the namespace when a broadcast actually reached a socket here
(:meth:`LiveGate.on_delivered`): a DM counts as delivered only when a live process handed
it to one of the recipient's sockets, so a DM whose recipient sat on a process that just
died stays in the mailbox instead of being marked delivered to nobody.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable, Iterable
from typing import Any

import socketio

from server_stub.transport.fanout import DirectFanOut

log = logging.getLogger(__name__)

#: "Was this payload already sent from storage?" for one socket.
Covered = Callable[[Any], bool]


class LiveGate:
    """Per socket.io room and socket: a buffer while catching up, then a floor."""

    def __init__(self, namespace: str, events: Iterable[str]) -> None:
        self.namespace = namespace
        self.events = frozenset(events)
        #: socket.io room -> sid -> (event, payload) held while that socket catches up
        self.buffers: dict[str, dict[str, list[tuple[str, Any]]]] = {}
        #: socket.io room -> sid -> what its catch-up covered
        self.floors: dict[str, dict[str, Covered]] = {}
        #: sid -> rooms it has an entry in (so a disconnect is cheap)
        self.rooms_of: dict[str, set[str]] = {}
        #: event -> called with the payload when a broadcast of it reached a local socket
        self.delivered: dict[str, Callable[[Any], None]] = {}

    def on_delivered(self, event: str, callback: Callable[[Any], None]) -> None:
        """Call ``callback(payload)`` whenever a broadcast of ``event`` in our namespace
        reached at least one socket of this process."""
        self.delivered[event] = callback

    def watches(self, namespace: str | None, event: str | None) -> bool:
        """Whether local deliveries of this event must be reported with :meth:`reached`
        (so the managers count recipients only when someone asked)."""
        return namespace == self.namespace and event in self.delivered

    def reached(self, namespace: str | None, event: str | None, payload: Any,
                recipients: int) -> None:
        """Called by the managers after a local delivery to ``recipients`` sockets."""
        if recipients and self.watches(namespace, event) and event is not None:
            self.delivered[event](payload)

    def hold(self, sid: str, room: str) -> None:
        self.buffers.setdefault(room, {})[sid] = []
        self.rooms_of.setdefault(sid, set()).add(room)

    def release(self, sid: str, room: str, covered: Covered | None) -> list[tuple[str, Any]]:
        """Stop holding; ``covered`` says what the read sent (None: the read failed, drop
        the buffer). Returns the held (event, payload) pairs it did not cover, in
        arrival order."""
        held = _pop(self.buffers, room, sid) or []
        if covered is None:
            if sid not in self.floors.get(room, {}):
                self.rooms_of.get(sid, set()).discard(room)
            return []
        self.floors.setdefault(room, {})[sid] = covered
        return [(event, payload) for event, payload in held if not covered(payload)]

    def forget(self, sid: str, room: str | None = None) -> None:
        """The socket left ``room`` (or, without a room, disconnected)."""
        names = self.rooms_of.pop(sid, set()) if room is None else {room}
        if room is not None:
            self.rooms_of.get(sid, set()).discard(room)
        for name in names:
            _pop(self.buffers, name, sid)
            _pop(self.floors, name, sid)

    def divert(self, namespace: str | None, event: str | None, room: Any, payload: Any,
               skip_sid: Any) -> Any:
        """For a broadcast about to reach this process's sockets: hold a copy for every
        socket catching up in ``room``, leave out sockets that had it from storage, and
        return the skip list extended with both."""
        if namespace != self.namespace or event not in self.events \
                or not isinstance(room, str):
            return skip_sid
        held = self.buffers.get(room)
        floors = self.floors.get(room)
        if not held and not floors:
            return skip_sid
        extra = list(held or ())
        for buffer in (held or {}).values():
            buffer.append((event, payload))
        if floors:
            extra.extend(sid for sid, covered in floors.items() if covered(payload))
        if not extra:
            return skip_sid
        skip = list(skip_sid) if isinstance(skip_sid, list) else [skip_sid]
        return [*skip, *extra]


def _count(manager: socketio.AsyncManager, namespace: str | None, room: Any,
           skip_sid: Any) -> int:
    """How many sockets of this process a broadcast to ``room`` reached."""
    if not namespace or not isinstance(room, str) or namespace not in manager.rooms:
        return 0
    skip = set(skip_sid) if isinstance(skip_sid, list) else {skip_sid}
    return sum(1 for sid, _ in manager.get_participants(namespace, room) if sid not in skip)


def _pop(table: dict[str, dict[str, Any]], room: str, sid: str) -> Any:
    entries = table.get(room)
    if entries is None:
        return None
    value = entries.pop(sid, None)
    if not entries:
        del table[room]
    return value


class GatedManager(DirectFanOut):
    """The in-process client manager, with the :class:`LiveGate`."""

    def __init__(self, gate: LiveGate) -> None:
        super().__init__()
        self.gate = gate

    async def emit(self, event: str, data: Any, namespace: str, room: Any = None,
                   skip_sid: Any = None, callback: Any = None, to: Any = None,
                   **kwargs: Any) -> Any:
        room = to or room
        skip_sid = self.gate.divert(namespace, event, room, data, skip_sid)
        result = await super().emit(event, data, namespace, room=room, skip_sid=skip_sid,
                                    callback=callback, **kwargs)
        if self.gate.watches(namespace, event):
            self.gate.reached(namespace, event, data, _count(self, namespace, room, skip_sid))
        return result


class GatedRedisManager(socketio.AsyncRedisManager, DirectFanOut):
    """python-socketio's Redis pub/sub client manager, with the :class:`LiveGate`, an
    eager start and a way to know the subscription is live. :class:`DirectFanOut` comes
    after the pub/sub manager in the method order, so it is what delivers each broadcast
    to this process's sockets once the message came back from Redis.

    python-socketio subscribes lazily, when the first client connects; a broadcast from
    another process in the first milliseconds after that would be missed. We start the
    listener before serving and wait until it hears a probe we publish ourselves.
    """

    def __init__(self, url: str, channel: str, gate: LiveGate) -> None:
        super().__init__(url, channel=channel,
                         logger=logging.getLogger("socketio.server"))
        self.gate = gate
        self._probe = f"sockdesk-probe-{uuid.uuid4().hex}"
        self._heard = asyncio.Event()

    async def _handle_emit(self, message: dict[str, Any]) -> None:
        data = message.get("data")
        single = isinstance(data, list) and len(data) == 1 and not message.get("binary")
        skip = message.get("skip_sid")
        diverted = self.gate.divert(message.get("namespace"), message.get("event"),
                                    message.get("room"), data[0] if single else data, skip)
        if diverted is not skip:
            # a copy: the same dict is published to the other processes afterwards
            message = {**message, "skip_sid": diverted}
        await super()._handle_emit(message)
        namespace, event = message.get("namespace"), message.get("event")
        if self.gate.watches(namespace, event):
            self.gate.reached(namespace, event, data[0] if single else data,
                              _count(self, namespace, message.get("room"), diverted))

    async def _listen(self) -> Any:  # an async generator, like the parent's
        async for data in super()._listen():
            if data in (self._probe, self._probe.encode()):
                self._heard.set()
                continue
            yield data

    async def start_listening(self, publish: Any, timeout: float = 10.0) -> None:
        """Start the pub/sub listener now and wait until it receives our probe;
        ``publish(channel, text)`` sends it (through the server's own Redis link)."""
        if self.server is not None and not self.server.manager_initialized:
            self.server.manager_initialized = True
            self.initialize()
        deadline = asyncio.get_running_loop().time() + timeout
        while not self._heard.is_set():
            await publish(self.channel, self._probe)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._heard.wait(), 0.05)
            if asyncio.get_running_loop().time() > deadline:
                raise TimeoutError("the Redis pub/sub subscription did not start")

    async def close(self) -> None:
        """Stop listening and close the manager's own Redis connections."""
        thread = getattr(self, "thread", None)
        if thread is not None:
            thread.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await thread
        for resource in (self.pubsub, self.redis):
            if resource is not None:
                with contextlib.suppress(Exception):
                    await resource.aclose()
