"""Presence in the memory of the one server process: the embedded (SQLite) backend.

Nothing has to be shared or survive a restart (after one, every client reconnects and
registers again), so plain dicts and counters answer every question of
:class:`~server_stub.presence.base.Presence` without a round trip.
"""

from __future__ import annotations

from collections import Counter
from typing import TypeVar

from server_stub.presence.base import Departure, Joined, Presence

K = TypeVar("K")


class LocalPresence(Presence):
    """:class:`Presence` in memory, for a single server process (the SQLite backend)."""

    def __init__(self) -> None:
        #: sid -> (namespace, user)
        self.sockets: dict[str, tuple[str, str]] = {}
        self.per_namespace: Counter[str] = Counter()
        self.per_user: Counter[tuple[str, str]] = Counter()
        #: room -> user -> that user's sockets in the room
        self.members: dict[str, dict[str, set[str]]] = {}
        #: sid -> rooms it joined
        self.joined: dict[str, set[str]] = {}

    async def connected(self, sid: str, namespace: str, user: str) -> None:
        if sid in self.sockets:
            return
        self.sockets[sid] = (namespace, user)
        self.per_namespace[namespace] += 1
        self.per_user[(namespace, user)] += 1

    async def disconnected(self, sid: str) -> list[Departure]:
        departures = []
        known = self.sockets.pop(sid, None)
        for room in sorted(self.joined.pop(sid, set())):
            user = known[1] if known else ""
            gone = self._remove(sid, user, room)
            if gone is not None:
                departures.append(gone)
        if known is not None:
            namespace, user = known
            _decrement(self.per_namespace, namespace)
            _decrement(self.per_user, (namespace, user))
        return departures

    async def join(self, sid: str, user: str, room: str) -> Joined:
        users = self.members.setdefault(room, {})
        first = user not in users
        users.setdefault(user, set()).add(sid)
        self.joined.setdefault(sid, set()).add(room)
        return Joined(first, sorted(users))

    async def leave(self, sid: str, user: str, room: str) -> Departure | None:
        rooms = self.joined.get(sid)
        if rooms is None or room not in rooms:
            return None
        rooms.discard(room)
        return self._remove(sid, user, room)

    def _remove(self, sid: str, user: str, room: str) -> Departure | None:
        users = self.members.get(room, {})
        sockets = users.get(user, set())
        sockets.discard(sid)
        if sockets:
            return None
        users.pop(user, None)
        if not users:
            self.members.pop(room, None)
        return Departure(room, user, sorted(users))

    def is_member(self, sid: str, room: str) -> bool:
        return room in self.joined.get(sid, ())

    async def room_sizes(self) -> dict[str, int]:
        return {room: len(users) for room, users in self.members.items()}

    async def count(self, namespace: str) -> int:
        return self.per_namespace[namespace]

    async def online(self, namespace: str, user: str) -> bool:
        return self.per_user[(namespace, user)] > 0

    async def online_users(self, namespace: str) -> set[str]:
        return {user for ns, user in self.per_user if ns == namespace}


def _decrement(counter: Counter[K], key: K) -> None:
    counter[key] -= 1
    if counter[key] <= 0:
        del counter[key]
