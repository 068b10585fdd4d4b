"""Who is connected and who is in which ``/chat`` room: one interface, two implementations.

The namespaces ask these questions: how many sockets does a namespace have (the sandbox's
``delivered`` count), does a user have a ``/chat`` socket (deliver a DM now or keep it),
is this socket in that room, which users are in a room, and did the user's *first* socket
just enter / *last* socket just leave (presence is per user, not per socket).

With one server process the answers live in memory
(:class:`server_stub.presence.local.LocalPresence`). With several
processes on one Redis they must be shared: a user's first socket *anywhere* joins and
the last socket *anywhere* leaves, so the Redis implementation
(:class:`server_stub.presence.redispresence.RedisPresence`) keeps the counts in Redis and decides
"first" and "last" inside Lua scripts. Both answer through this interface, so the
namespace code has no backend branches.

Only the process that owns a socket changes its state, except when that process died:
then a survivor calls :meth:`Presence.disconnected` for it (see
:mod:`server_stub.scaleout.redisnodes`).
"""

from __future__ import annotations

import abc
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Joined:
    """Result of a join: ``first`` when the user was not in the room before (announce it),
    ``members`` the sorted user names after the join."""

    first: bool
    members: list[str]


@dataclass(frozen=True, slots=True)
class Departure:
    """A user's last socket left ``room``; ``members`` is the sorted list after that."""

    room: str
    user: str
    members: list[str]


class Presence(abc.ABC):
    """Sockets, per-user room membership and counts; see the module docstring."""

    @abc.abstractmethod
    async def connected(self, sid: str, namespace: str, user: str) -> None:
        """Register a new socket (before its CONNECT is answered)."""

    @abc.abstractmethod
    async def disconnected(self, sid: str) -> list[Departure]:
        """Forget a socket and take it out of every room; returns the rooms its user has
        now left. Safe to call twice and for sockets of a dead process."""

    @abc.abstractmethod
    async def join(self, sid: str, user: str, room: str) -> Joined:
        """Put a socket into a room (again is harmless: ``first`` is False then)."""

    @abc.abstractmethod
    async def leave(self, sid: str, user: str, room: str) -> Departure | None:
        """Take a socket out of a room; a :class:`Departure` if it was the user's last."""

    @abc.abstractmethod
    def is_member(self, sid: str, room: str) -> bool:
        """Whether a socket *of this process* is in the room (no round trip needed: only
        the owning process changes a socket's rooms)."""

    @abc.abstractmethod
    async def room_sizes(self) -> dict[str, int]:
        """Every room with members, with its number of distinct users."""

    @abc.abstractmethod
    async def count(self, namespace: str) -> int:
        """Sockets connected to a namespace, on every process."""

    @abc.abstractmethod
    async def online(self, namespace: str, user: str) -> bool:
        """Whether the user has at least one socket on the namespace, on any process."""

    @abc.abstractmethod
    async def online_users(self, namespace: str) -> set[str]:
        """Every user with at least one socket on the namespace, on any process."""
