"""What a client must remember to get back exactly what it missed while offline.

For every joined /chat room we keep a *contiguous* offset watermark: the highest N such
that every message 1..N of the room (since we first joined) is stored. Offsets are
gapless on the bundled server, so "contiguous" is checkable, and using it (not the
maximum seen) means a message whose broadcast we lost in a disconnect race is fetched
again on re-join (the duplicate copies are dropped by the store's (queue, offset) key).
Watermarks are written in the same transaction as the messages they cover.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import sqlite3

    from app.store import MessageStore


@dataclass
class Watermark:
    """Contiguous high-water mark of seen offsets, plus the ones seen above it."""

    last: int | None = None
    above: set[int] = field(default_factory=set)

    def see(self, offset: int) -> bool:
        """Record an offset; returns True if the watermark moved."""
        if self.last is None or offset <= self.last:
            return False
        self.above.add(offset)
        moved = False
        while self.last + 1 in self.above:
            self.above.discard(self.last + 1)
            self.last += 1
            moved = True
        return moved

    def complete_to(self, offset: int) -> bool:
        """Everything up to `offset` is known to be stored (a finished (re)join)."""
        if self.last is not None and offset <= self.last:
            return False
        self.last = offset
        self.above = {o for o in self.above if o > offset}
        while self.last + 1 in self.above:
            self.above.discard(self.last + 1)
            self.last += 1
        return True


class RoomMemory:
    """Remembered rooms of one namespace and their watermarks, kept by the store."""

    def __init__(self, store: MessageStore, namespace: str) -> None:
        self.store = store
        self.namespace = namespace
        self.marks: dict[str, Watermark] = {}
        self._dirty: set[str] = set()
        for room, last in store.rooms(namespace):
            self.marks[room] = Watermark(last)

    def remember(self, room: str) -> Watermark:
        """Add a room (committed at once: a room joined must be re-joined after a crash)."""
        if room not in self.marks:
            self.marks[room] = Watermark(None)
            self.store.remember_room(self.namespace, room)
        return self.marks[room]

    def forget(self, room: str) -> None:
        """Drop a room and its watermark (after leave)."""
        self.marks.pop(room, None)
        self._dirty.discard(room)
        self.store.forget_room(self.namespace, room)

    def start_over(self) -> None:
        """Every room from scratch (the server's history was replaced); the store has
        already written the NULL watermarks."""
        self.marks = {room: Watermark(None) for room in self.marks}
        self._dirty.clear()

    def touch(self, room: str) -> None:
        """The room's watermark changed; write it with the next batch."""
        self._dirty.add(room)

    def persist(self, c: sqlite3.Connection) -> None:
        """Write changed watermarks (called inside the store's batch transaction)."""
        for room in list(self._dirty):
            mark = self.marks.get(room)
            if mark is not None:
                self.store.save_watermark(c, self.namespace, room, mark.last)
        self._dirty.clear()
