"""Presence shared by every server process through Redis (``--redis``).

Each change is one Lua script, so "is this the user's first socket in the room?" and
"was that the last one?" are decided atomically across processes. Keys (under
:data:`~server_stub.scaleout.redislink.PREFIX`):

``sock:<sid>``         hash: namespace, user and node (server process) of a socket
``sock:<sid>:rooms``   set: the ``/chat`` rooms the socket is in
``node:<node>:socks``  set: the sockets a server process owns (what to clean up if it dies)
``nscount``            hash: namespace -> sockets connected to it
``online:<ns>``        hash: user -> that user's sockets on the namespace
``room:<room>``        hash: user -> that user's sockets in the room (members = the keys)
``rooms``              set: rooms that have members now
"""

from __future__ import annotations

from server_stub import validation as v
from server_stub.presence.base import Departure, Joined, Presence
from server_stub.scaleout.redislink import PREFIX, RedisLink, Script

#: Shared Lua: a socket of ``user`` left ``room`` (already removed from the socket's own
#: room set); returns the members after that if it was the user's last socket, else nil.
_LEAVE_ROOM = """
local function leave_room(P, user, room)
  local key = P .. 'room:' .. room
  if redis.call('HINCRBY', key, user, -1) > 0 then return nil end
  redis.call('HDEL', key, user)
  if redis.call('HLEN', key) == 0 then redis.call('SREM', P .. 'rooms', room) end
  return redis.call('HKEYS', key)
end
"""

CONNECTED = Script("presence_connected", """
local P, sid, ns, user, node = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local sk = P .. 'sock:' .. sid
if redis.call('EXISTS', sk) == 1 then return 0 end
redis.call('HSET', sk, 'ns', ns, 'user', user, 'node', node)
redis.call('SADD', P .. 'node:' .. node .. ':socks', sid)
redis.call('HINCRBY', P .. 'nscount', ns, 1)
redis.call('HINCRBY', P .. 'online:' .. ns, user, 1)
return 1
""")

DISCONNECTED = Script("presence_disconnected", _LEAVE_ROOM + """
local P, sid = ARGV[1], ARGV[2]
local sk = P .. 'sock:' .. sid
local info = redis.call('HMGET', sk, 'ns', 'user', 'node')
local ns, user, node = info[1], info[2], info[3]
local out = {}
if user then
  for _, room in ipairs(redis.call('SMEMBERS', sk .. ':rooms')) do
    local members = leave_room(P, user, room)
    if members then table.insert(out, {room, members}) end
  end
  if redis.call('HINCRBY', P .. 'nscount', ns, -1) <= 0 then
    redis.call('HDEL', P .. 'nscount', ns)
  end
  if redis.call('HINCRBY', P .. 'online:' .. ns, user, -1) <= 0 then
    redis.call('HDEL', P .. 'online:' .. ns, user)
  end
  redis.call('SREM', P .. 'node:' .. node .. ':socks', sid)
end
redis.call('DEL', sk, sk .. ':rooms')
return {user or '', out}
""")

JOIN = Script("presence_join", """
local P, sid, user, room = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local sk = P .. 'sock:' .. sid
if redis.call('EXISTS', sk) == 0 then return {-1, {}} end
local key = P .. 'room:' .. room
local first = 0
if redis.call('SADD', sk .. ':rooms', room) == 1 then
  if redis.call('HINCRBY', key, user, 1) == 1 then first = 1 end
  redis.call('SADD', P .. 'rooms', room)
end
return {first, redis.call('HKEYS', key)}
""")

LEAVE = Script("presence_leave", _LEAVE_ROOM + """
local P, sid, user, room = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
if redis.call('SREM', P .. 'sock:' .. sid .. ':rooms', room) == 0 then return {0, {}} end
local members = leave_room(P, user, room)
if members then return {1, members} end
return {0, {}}
""")

ROOM_SIZES = Script("presence_room_sizes", """
local P = ARGV[1]
local out = {}
for _, room in ipairs(redis.call('SMEMBERS', P .. 'rooms')) do
  table.insert(out, room)
  table.insert(out, redis.call('HLEN', P .. 'room:' .. room))
end
return out
""")

SCRIPTS = (CONNECTED, DISCONNECTED, JOIN, LEAVE, ROOM_SIZES)


class RedisPresence(Presence):
    """:class:`Presence` in Redis; ``node`` names this process (set at start-up)."""

    def __init__(self, link: RedisLink) -> None:
        self.link = link
        self.node = ""
        #: rooms of *this process's* sockets, mirrored for the synchronous membership check
        self.joined: dict[str, set[str]] = {}
        link.add_scripts(*SCRIPTS)

    async def connected(self, sid: str, namespace: str, user: str) -> None:
        if not self.node:
            raise RuntimeError("RedisPresence.node must be set before sockets connect")
        await self.link.run(CONNECTED, (sid, namespace, user, self.node))

    async def disconnected(self, sid: str) -> list[Departure]:
        self.joined.pop(sid, None)
        user, gone = await self.link.run(DISCONNECTED, (sid,))
        return [Departure(room, user, sorted(members)) for room, members in gone]

    async def join(self, sid: str, user: str, room: str) -> Joined:
        first, members = await self.link.run(JOIN, (sid, user, room))
        if first == -1:  # the socket disconnected meanwhile
            raise v.not_found("The connection closed during the join.")
        self.joined.setdefault(sid, set()).add(room)
        return Joined(first == 1, sorted(members))

    async def leave(self, sid: str, user: str, room: str) -> Departure | None:
        rooms = self.joined.get(sid)
        if rooms is not None:
            rooms.discard(room)
        last, members = await self.link.run(LEAVE, (sid, user, room))
        return Departure(room, user, sorted(members)) if last == 1 else None

    def is_member(self, sid: str, room: str) -> bool:
        return room in self.joined.get(sid, ())

    async def room_sizes(self) -> dict[str, int]:
        flat = await self.link.run(ROOM_SIZES)
        return {flat[i]: int(flat[i + 1]) for i in range(0, len(flat), 2)}

    async def count(self, namespace: str) -> int:
        return int(await self.link.command("HGET", f"{PREFIX}nscount", namespace) or 0)

    async def online(self, namespace: str, user: str) -> bool:
        return bool(await self.link.command("HEXISTS", f"{PREFIX}online:{namespace}", user))

    async def online_users(self, namespace: str) -> set[str]:
        return set(await self.link.command("HKEYS", f"{PREFIX}online:{namespace}"))
