"""The packet log: every Socket.IO packet in and out, for the inspector view.

Kept in memory in a bounded ring (a long session must not grow without limit) and
announced through `packet_logged`; the durable record of events is the store (inbound
events and the outbox), which the session feeds from the same packets.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from app.signals import Signal

#: packet kinds, and two rows of our own: RECOVERY (what a reconnect recovered) and
#: DISCONNECT also for a transport that closed
KINDS = ("CONNECT", "DISCONNECT", "EVENT", "ACK", "CONNECT_ERROR", "BINARY_EVENT",
         "BINARY_ACK", "MALFORMED", "RECOVERY")
#: auth fields masked in the log: `key` claims a user name, `pid` resumes a session
SECRET_KEYS = frozenset({"token", "password", "secret", "authorization", "key", "pid"})


@dataclass(slots=True)
class Packet:
    """One logged packet. `latency_ms` is set on an ACK: time since its EVENT went out
    (or, for our answer to a server's ack request, time we took to answer)."""

    seq: int
    ts: float
    direction: str
    namespace: str
    kind: str
    event: str | None
    args: list[Any]
    ack_id: int | None
    latency_ms: float | None
    size: int


def redact(value: Any) -> Any:
    """Replace secrets (token, password, ...) in CONNECT auth data by '***'."""
    if isinstance(value, dict):
        return {k: ("***" if str(k).lower() in SECRET_KEYS and v is not None else redact(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value


class PacketLog:
    """Bounded ring of Packets plus ack-latency bookkeeping."""

    def __init__(self, maxlen: int = 10_000) -> None:
        self.packets: deque[Packet] = deque(maxlen=maxlen)
        self.packet_logged: Signal[Packet] = Signal("packet_logged")
        self._seq = 0
        self._out_acks: dict[tuple[str, int], float] = {}
        self._in_acks: dict[tuple[str, int], float] = {}

    def __len__(self) -> int:
        return len(self.packets)

    def __iter__(self) -> Iterator[Packet]:
        return iter(list(self.packets))

    def clear(self) -> None:
        """Forget everything logged so far (the inspector's clear button)."""
        self.packets.clear()

    def forget_acks(self) -> None:
        """After a disconnect no pending ack will come back; drop their start times."""
        self._out_acks.clear()
        self._in_acks.clear()

    def log(self, direction: str, namespace: str, kind: str, data: Any, ack_id: int | None,
            size: int) -> Packet:
        """Record one packet; `data` is the decoded Socket.IO payload of the packet."""
        now = time.time()
        event: str | None = None
        args: list[Any]
        latency: float | None = None
        if kind in ("EVENT", "BINARY_EVENT") and isinstance(data, list) and data:
            event = str(data[0])
            args = list(data[1:])
            if ack_id is not None:
                book = self._out_acks if direction == "out" else self._in_acks
                book[(namespace, ack_id)] = now
        elif kind in ("ACK", "BINARY_ACK"):
            args = list(data) if isinstance(data, list) else ([] if data is None else [data])
            if ack_id is not None:
                book = self._out_acks if direction == "in" else self._in_acks
                start = book.pop((namespace, ack_id), None)
                if start is not None:
                    latency = (now - start) * 1000.0
        elif kind == "CONNECT":
            args = [] if data is None else [redact(data)]
        else:
            args = [] if data is None else (list(data) if isinstance(data, list) else [data])
        self._seq += 1
        pkt = Packet(self._seq, now, direction, namespace, kind, event, args, ack_id,
                     latency, size)
        self.packets.append(pkt)
        self.packet_logged.emit(pkt)
        return pkt
