"""Arrows of a lesson that are not a simulated user's Socket.IO packets: the Engine.IO
packets of a raw session, or what a server process sends to or gets from Redis.

A `Hop` is an `app.packets.Packet` (so runs, captions and the diagram take it as they
take any packet) with two more fields: `peer`, the lane at the other end of the arrow
("server" when left empty: the one server of the ordinary lessons), and `caption`, the
words drawn on the arrow, because an Engine.IO `open` or a Redis `PUBLISH` has no
Socket.IO event name to show. `direction` keeps its meaning: "out" is lane → peer.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from typing import Any

from app.packets import Packet

_numbers = itertools.count(1)

#: Kinds of hops (the diagram colours them; the Socket.IO kinds keep theirs).
HOP_KINDS = ("HTTP", "OPEN", "CLOSE", "PING", "PONG", "MESSAGE", "UPGRADE", "NOOP",
             "REDIS", "PUBSUB")


@dataclass(slots=True)
class Hop(Packet):
    """One arrow between `lane` and `peer`, with its own caption."""

    peer: str = "server"
    caption: str = ""


def hop(lane_dir: str, kind: str, caption: str, *, peer: str = "server",
        namespace: str = "", args: list[Any] | None = None, size: int = 0,
        event: str | None = None) -> Hop:
    """A Hop stamped now. `lane_dir` is "out" (lane → peer) or "in" (peer → lane)."""
    return Hop(seq=next(_numbers), ts=time.time(), direction=lane_dir, namespace=namespace,
               kind=kind, event=event, args=list(args or []), ack_id=None, latency_ms=None,
               size=size, peer=peer, caption=caption)
