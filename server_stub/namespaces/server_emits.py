"""Two sandbox events that make the *server* emit, for what a relay cannot show.

A sandbox relay is ``socket.broadcast.emit``: the sender never gets a copy. Lessons also
need the two server-side calls a class meets next, with nothing but a client to trigger
them:

* ``announce {event, args?}`` is ``io.of(ns).emit(event, ...args)``: the server emits to
  every socket of the namespace, the asking socket included; the ack counts them.
* ``ask {event, args?, timeout?}`` is ``socket.timeout(ms).emitWithAck(event, ...args)``
  on the asking socket: an event *from the server* that wants an ack, whose answer the
  server reports back in the ack of ``ask`` (``{ok, answer: [...]}``), or
  ``code: "timeout"`` when the client does not answer in time.

In a real application the server would do either on its own (a timer, an HTTP request);
the client's request only lets a lesson, or anyone at a REPL, watch it happen.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import socketio

from server_stub import validation as v
from server_stub.guard import Ack
from server_stub.presence.base import Presence

ANNOUNCE = "announce"
ASK = "ask"
#: Events the sandbox answers itself; a server emit under one of these names would be
#: mistaken for a request by the clients that receive it.
OWN_EVENTS = frozenset({"echo", ANNOUNCE, ASK})
MAX_EVENT_CHARS = 64
#: socket.io counts `socket.timeout(ms)` in milliseconds; so does `ask`.
DEFAULT_ASK_MS = 5000
MAX_ASK_MS = 30_000


def _event_name(payload: dict[str, Any], reserved: frozenset[str]) -> str:
    name = payload.get("event")
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_EVENT_CHARS:
        raise v.RequestError(f"'event' must be an event name of 1-{MAX_EVENT_CHARS} "
                             "characters.")
    if name in reserved or name in OWN_EVENTS:
        raise v.RequestError(f"The server will not emit '{name}': it is "
                             + ("reserved by socket.io clients." if name in reserved
                                else "one of the sandbox's own requests."))
    return name


def _event_args(payload: dict[str, Any]) -> list[Any]:
    args = payload.get("args")
    if args is None:
        return []
    if not isinstance(args, list):
        raise v.RequestError("'args' must be an array of the event's arguments.")
    return args


async def announce(sio: socketio.AsyncServer, presence: Presence, namespace: str,
                   args: tuple[Any, ...], reserved: frozenset[str]) -> Ack:
    """``io.of(namespace).emit(event, ...args)``: every socket, the asking one too."""
    payload = v.one_object(ANNOUNCE, args)
    event = _event_name(payload, reserved)
    out = _event_args(payload)
    everyone = await presence.count(namespace)
    await sio.emit(event, tuple(out), namespace=namespace)
    return {"ok": True, "delivered": everyone}


async def ask(sio: socketio.AsyncServer, sid: str, namespace: str, args: tuple[Any, ...],
              reserved: frozenset[str]) -> Ack:
    """``socket.timeout(ms).emitWithAck(event, ...args)`` on the asking socket; the ack
    of ``ask`` carries the client's answer (every argument of its ack) and how long it
    took, in milliseconds."""
    payload = v.one_object(ASK, args)
    event = _event_name(payload, reserved)
    out = _event_args(payload)
    ms = v.integer(payload, "timeout", low=1, high=MAX_ASK_MS, default=DEFAULT_ASK_MS)
    assert ms is not None
    answered: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()

    def on_answer(*answer: Any) -> None:
        if not answered.done():
            answered.set_result(list(answer))

    start = time.monotonic()
    # the asking socket is connected to this very process: no need for the Redis queue
    await sio.emit(event, tuple(out), to=sid, namespace=namespace, callback=on_answer,
                   ignore_queue=True)
    try:
        answer = await asyncio.wait_for(answered, ms / 1000)
    except TimeoutError:
        raise v.RequestError(f"The client did not answer '{event}' within {ms} ms.",
                             "timeout") from None
    took = round((time.monotonic() - start) * 1000, 1)
    return {"ok": True, "answer": answer, "ms": took}
