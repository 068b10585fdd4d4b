"""Re-emitting captured messages: one, a selection, or an NDJSON file.

Replays go through the outbox like any emit, with NEW ids: a replay is a new message,
and reusing the captured id would make the bundled server drop it as a duplicate.
Targets can be changed (server via the session you replay into, namespace, event,
room); with `speed` the original spacing is kept, divided by the factor.

Payloads are replayed as captured: binary in the `{"$binary": ...}` notation goes out
as the same bytes, key order and big integers as they were stored.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from app.keys import CHAT_NAMESPACE, CLIENT_FIELDS, first_object
from app.outbox import OutboxMessage
from app.store import StoredMessage

if TYPE_CHECKING:
    from app.base_session import BaseSession


@dataclass
class ReplayItem:
    """What to emit: namespace, event, args, and the capture time for spacing."""

    namespace: str
    event: str
    args: list[Any]
    ts: float = 0.0

    @classmethod
    def from_stored(cls, m: StoredMessage) -> ReplayItem:
        """A stored (or imported) message as captured."""
        return cls(m.namespace, m.event, copy.deepcopy(m.args), m.ts)


def retarget(item: ReplayItem, namespace: str | None = None, event: str | None = None,
             room: str | None = None) -> ReplayItem:
    """A copy aimed elsewhere, with ids stripped and server-stamped fields removed."""
    ns = namespace or item.namespace
    ev = event or item.event
    args = copy.deepcopy(item.args)
    captured = first_object(args)
    if captured is not None:
        first = dict(captured)
        keep = CLIENT_FIELDS.get((ns, ev))
        if keep is not None:
            first = {k: v for k, v in first.items() if k in keep}
        elif (item.namespace, item.event) in CLIENT_FIELDS:
            first.pop("id", None)  # a captured id would make the server drop the replay
        if room is not None and ("room" in first or (ns, ev) == (CHAT_NAMESPACE, "message")):
            first["room"] = room
        args[0] = first
    return ReplayItem(ns, ev, args, item.ts)


class Replayer:
    """Feeds replay items into a session, through `emit` like any other message (so a
    replayed room message is joined first, exactly as a typed one)."""

    def __init__(self, session: BaseSession) -> None:
        self.session = session

    async def replay(self, items: Iterable[ReplayItem | StoredMessage], *,
                     namespace: str | None = None, event: str | None = None,
                     room: str | None = None, speed: float | None = None,
                     edit: Callable[[ReplayItem], ReplayItem | None] | None = None,
                     ack: bool = True, ack_timeout: float | None = None
                     ) -> list[OutboxMessage]:
        """Enqueue the items (optionally edited / retargeted); returns the new messages.

        Without `speed` everything is enqueued in one transaction. With `speed` item i
        is enqueued at start + (ts_i - ts_0) / speed (2.0 = twice as fast): a schedule
        from the first item, so waits do not add up their overshoots. The outbox sends
        a message as soon as it is enqueued when its namespace is ready, so connect
        (and wait until ready) first, or the spacing is lost in the queue.
        `edit` may change an item or return None to skip it. BinaryError (a
        ValueError) when an item's binary is not valid base64 (nothing is enqueued
        without `speed`).
        """
        prepared: list[ReplayItem] = []
        for it in items:
            ri = ReplayItem.from_stored(it) if isinstance(it, StoredMessage) else it
            ri = retarget(ri, namespace, event, room)
            if edit is not None:
                edited = edit(ri)
                if edited is None:
                    continue
                ri = edited
            prepared.append(ri)
        if not speed or speed <= 0:
            return self.session.emit_many(
                [(ri.namespace, ri.event, ri.args) for ri in prepared], ack=ack,
                ack_timeout=ack_timeout)
        out: list[OutboxMessage] = []
        loop = asyncio.get_running_loop()
        start = loop.time()
        first: float | None = None
        for ri in prepared:
            if ri.ts:
                if first is None:
                    first = ri.ts
                delay = start + max(0.0, ri.ts - first) / speed - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
            out.append(self.session.emit(ri.namespace, ri.event, *ri.args, ack=ack,
                                         ack_timeout=ack_timeout))
        return out
