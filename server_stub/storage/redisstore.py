"""Redis implementation of :class:`~server_stub.storage.base.Storage` (``--redis``).

Every server process of a cluster reads and writes the same keys, so any process can
answer any client. What must be atomic across processes (the next offset of a room, "was
this (user, id) stored before?") happens inside one Lua script, which Redis runs without
interleaving anything else: two processes can never hand out the same offset, and two
copies of a message arriving at two processes at once are stored once.

Keys (all under :data:`~server_stub.scaleout.redislink.PREFIX`):

``chat:log:<room>``   stream of the room's history; the entry id *is* the offset
                      (``<offset>-0``), so ``since`` is a plain XRANGE start. A message
                      has fields user, id, text, ts (and reply_to); an edit or delete
                      also event (``edit``/``delete``) and target (the offset of the
                      message it changes)
``chat:edits:<room>`` hash: offset of a changed message -> ``<offset of its latest
                      change>\n<e|d>\n<text>`` (``e`` edited to that text, ``d``
                      deleted). Stream entries cannot change, so history reads lay this
                      over them: a message shows its latest text, a deleted one (and its
                      earlier edits) no text. The deleted text stays in the stream but is
                      never served again
``chat:users``        hash user -> ISO time of their last ``/chat`` connect/disconnect
``chat:offsets``      hash room -> latest offset (also the list of rooms with messages)
``chat:ids``          hash ``<user>:<id>`` -> ``<offset>:<room>`` (dedupe, kept until the
                      room is forgotten: ``forget``)
``dm:box:<user>``     stream: the user's DMs not delivered yet (the mailbox)
``dm:ids``            hash ``<sender>:<id>`` -> recipient, mailbox entry, ts and text, so a
                      resend gets the first ack and delivery can remove the entry
``history``           string: the id the first server on this database made (see
                      :attr:`Storage.history_id`); a wiped database gets a new one
``claims``            hash user -> salted hash of the key that claimed the name
``node:<node>:unsent`` set of ``<offset>:<room>`` stored by that server process and not
                      broadcast yet: if the process dies in between, the survivor that
                      cleans up after it broadcasts them (live delivery after a crash is
                      thus at least once, with the same offset, instead of a silent gap
                      for clients of other processes, which do not reconnect)

User names cannot contain ``:``, so ``<user>:<id>`` is unambiguous; room names cannot
either, so ``<offset>:<room>`` splits at the first colon.

Durability is Redis's: an ack is sent once the script returned, i.e. the data is in
Redis. Whether it survives a Redis crash depends on how Redis persists (AOF with
``appendfsync everysec`` or ``always`` is what we recommend).
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable

from server_stub.scaleout.redislink import PREFIX, RedisLink, Script
from server_stub.storage.base import (
    AppendResult,
    ChangeKind,
    ChangeResult,
    ChatMessage,
    DirectMessage,
    DmResult,
    HistoryPage,
    Storage,
)
from server_stub.validation import folded

#: Offsets never get near this; larger ``since`` values are clamped so Redis can parse
#: the stream id (it must fit in 64 bits) while the answer stays the same.
_MAX_SINCE = 2**62

APPEND = Script("chat_append", """
local P, room, user, id, text, ts, node = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5],
                                         ARGV[6], ARGV[7]
local ids = P .. 'chat:ids'
local field = user .. ':' .. id
local prev = redis.call('HGET', ids, field)
if prev then
  local sep = string.find(prev, ':', 1, true)
  local off = string.sub(prev, 1, sep - 1)
  local r = string.sub(prev, sep + 1)
  local e = redis.call('XRANGE', P .. 'chat:log:' .. r, off .. '-0', off .. '-0')
  return {1, r, tonumber(off), e[1][2]}
end
local off = tonumber(redis.call('HGET', P .. 'chat:offsets', room) or '0') + 1
-- the stream entry first: if Redis refuses a write (out of memory), nothing changed
if ARGV[8] ~= '' then
  redis.call('XADD', P .. 'chat:log:' .. room, off .. '-0',
             'user', user, 'id', id, 'text', text, 'ts', ts, 'reply_to', ARGV[8])
else
  redis.call('XADD', P .. 'chat:log:' .. room, off .. '-0',
             'user', user, 'id', id, 'text', text, 'ts', ts)
end
redis.call('HSET', P .. 'chat:offsets', room, off)
redis.call('HSET', ids, field, off .. ':' .. room)
if node ~= '' then redis.call('SADD', P .. 'node:' .. node .. ':unsent', off .. ':' .. room) end
return {0, room, off}
""")

TAKE_UNSENT = Script("chat_take_unsent", """
local P = ARGV[1]
local key = P .. 'node:' .. ARGV[2] .. ':unsent'
local out = {}
for _, item in ipairs(redis.call('SMEMBERS', key)) do
  local sep = string.find(item, ':', 1, true)
  local off = string.sub(item, 1, sep - 1)
  local r = string.sub(item, sep + 1)
  local e = redis.call('XRANGE', P .. 'chat:log:' .. r, off .. '-0', off .. '-0')
  if #e > 0 then table.insert(out, {r, tonumber(off), e[1][2]}) end
end
redis.call('DEL', key)
return out
""")

FIND = Script("chat_find", """
local P = ARGV[1]
local prev = redis.call('HGET', P .. 'chat:ids', ARGV[2] .. ':' .. ARGV[3])
if not prev then return false end
local sep = string.find(prev, ':', 1, true)
local off = string.sub(prev, 1, sep - 1)
local r = string.sub(prev, sep + 1)
local e = redis.call('XRANGE', P .. 'chat:log:' .. r, off .. '-0', off .. '-0')
return {r, tonumber(off), e[1][2]}
""")

#: The page, and for each entry the state of the message it is or changes ('' if none).
HISTORY = Script("chat_history", """
local P, room, start, limit = ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4])
local last = tonumber(redis.call('HGET', P .. 'chat:offsets', room) or '0')
local log = P .. 'chat:log:' .. room
local entries
if start == '' then
  entries = redis.call('XREVRANGE', log, '+', '-', 'COUNT', limit)
else
  entries = redis.call('XRANGE', log, start, '+', 'COUNT', limit + 1)
end
local edits = P .. 'chat:edits:' .. room
local states = {}
for i, e in ipairs(entries) do
  local f = e[2]
  local key = string.match(e[1], '^(%d+)')
  for j = 1, #f, 2 do
    if f[j] == 'target' then key = f[j + 1] end
  end
  states[i] = redis.call('HGET', edits, key) or ''
end
return {last, entries, states}
""")

#: An edit or delete, decided and stored in one step (see ChangeResult). Replies
#: {status, offset, flat fields}: 0 changed (offset), 1 repeated (the earlier change's
#: or the message's offset and fields), 2 forbidden, 3 not found, 4 deleted.
CHANGE = Script("chat_change", """
local P, room, user, id, kind, text, ts, node = ARGV[1], ARGV[2], ARGV[3], ARGV[4],
                                                ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local log = P .. 'chat:log:' .. room
local prev = redis.call('HGET', P .. 'chat:ids', user .. ':' .. id)
local target = nil
if prev then
  local sep = string.find(prev, ':', 1, true)
  if string.sub(prev, sep + 1) == room then target = string.sub(prev, 1, sep - 1) end
end
if not target then
  -- someone else's message of this room? (a rare path: a scan of the room)
  for _, e in ipairs(redis.call('XRANGE', log, '-', '+')) do
    local f, msg, event = e[2], false, false
    for j = 1, #f, 2 do
      if f[j] == 'id' and f[j + 1] == id then msg = true end
      if f[j] == 'event' then event = true end
    end
    if msg and not event then return {2} end
  end
  return {3}
end
local edits = P .. 'chat:edits:' .. room
local state = redis.call('HGET', edits, target)
local earlier, current, deleted = target, nil, false
if state then
  local a = string.find(state, '\\n', 1, true)
  local b = string.find(state, '\\n', a + 1, true)
  earlier = string.sub(state, 1, a - 1)
  deleted = string.sub(state, a + 1, b - 1) == 'd'
  current = string.sub(state, b + 1)
else
  local f = redis.call('XRANGE', log, target .. '-0', target .. '-0')[1][2]
  for j = 1, #f, 2 do
    if f[j] == 'text' then current = f[j + 1] end
  end
end
if deleted and kind == 'edit' then return {4} end
if deleted or (kind == 'edit' and text == current) then
  local e = redis.call('XRANGE', log, earlier .. '-0', earlier .. '-0')
  return {1, tonumber(earlier), e[1][2]}
end
local off = tonumber(redis.call('HGET', P .. 'chat:offsets', room) or '0') + 1
if kind == 'edit' then
  redis.call('XADD', log, off .. '-0', 'user', user, 'id', id, 'text', text, 'ts', ts,
             'event', kind, 'target', target)
  redis.call('HSET', edits, target, off .. '\\n' .. 'e' .. '\\n' .. text)
else
  redis.call('XADD', log, off .. '-0', 'user', user, 'id', id, 'ts', ts,
             'event', kind, 'target', target)
  redis.call('HSET', edits, target, off .. '\\n' .. 'd' .. '\\n')
end
redis.call('HSET', P .. 'chat:offsets', room, off)
if node ~= '' then redis.call('SADD', P .. 'node:' .. node .. ':unsent', off .. ':' .. room) end
return {0, off}
""")

STORE_DM = Script("dm_store", """
local P, sender, to, id, text, ts = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local ids = P .. 'dm:ids'
local field = sender .. ':' .. id
local prev = redis.call('HGET', ids, field)
if prev then return {1, prev} end
local entry = redis.call('XADD', P .. 'dm:box:' .. to, '*',
                         'user', sender, 'id', id, 'text', text, 'ts', ts)
redis.call('HSET', ids, field, to .. '\\n' .. entry .. '\\n' .. ts .. '\\n' .. text)
return {0}
""")

DELIVERED = Script("dm_delivered", """
local P = ARGV[1]
for i = 2, #ARGV, 2 do
  local prev = redis.call('HGET', P .. 'dm:ids', ARGV[i] .. ':' .. ARGV[i + 1])
  if prev then
    local a = string.find(prev, '\\n', 1, true)
    local b = string.find(prev, '\\n', a + 1, true)
    redis.call('XDEL', P .. 'dm:box:' .. string.sub(prev, 1, a - 1), string.sub(prev, a + 1, b - 1))
  end
end
return #ARGV
""")

#: SETNX then GET in one step: of two processes starting on a new database at once, both
#: end up with the id of the one that came first.
HISTORY_ID = Script("history_id", """
local P = ARGV[1]
redis.call('SETNX', P .. 'history', ARGV[2])
return redis.call('GET', P .. 'history')
""")

CLAIM = Script("name_claim", """
local P = ARGV[1]
redis.call('HSETNX', P .. 'claims', ARGV[2], ARGV[3])
return redis.call('HGET', P .. 'claims', ARGV[2])
""")

#: A lesson room deleted for good (see Storage.forget_room): -1 when a message in it is
#: by a user whose name does not end in the marker, else the number of entries removed.
FORGET = Script("chat_forget", """
local P, room, marker = ARGV[1], ARGV[2], ARGV[3]
local log = P .. 'chat:log:' .. room
local entries = redis.call('XRANGE', log, '-', '+')
local ids = {}
for _, e in ipairs(entries) do
  local f, user, id, event = e[2], '', '', false
  for j = 1, #f, 2 do
    if f[j] == 'user' then user = f[j + 1] end
    if f[j] == 'id' then id = f[j + 1] end
    if f[j] == 'event' then event = true end
  end
  if not event then
    if #user < #marker or string.sub(user, -#marker) ~= marker then return -1 end
    table.insert(ids, user .. ':' .. id)
  end
end
for _, field in ipairs(ids) do redis.call('HDEL', P .. 'chat:ids', field) end
redis.call('DEL', log, P .. 'chat:edits:' .. room)
redis.call('HDEL', P .. 'chat:offsets', room)
return #entries
""")

SCRIPTS = (APPEND, CHANGE, FIND, HISTORY, STORE_DM, DELIVERED, TAKE_UNSENT, HISTORY_ID, CLAIM,
           FORGET)


def _fields(flat: list[str] | dict[str, str]) -> dict[str, str]:
    """Entry fields as a dict: scripts return ``[k, v, ...]``, redis-py's own XRANGE
    reply parser already gives a dict."""
    if isinstance(flat, dict):
        return flat
    return dict(zip(flat[::2], flat[1::2], strict=True))


def _chat(room: str, offset: int, flat: list[str] | dict[str, str],
          state: str = "") -> ChatMessage:
    """A stream entry as stored, with ``state`` (its ``chat:edits`` value) laid over."""
    f = _fields(flat)
    event = f.get("event")
    text = f.get("text")
    edited = deleted = False
    if state:
        _, mark, latest = state.split("\n", 2)
        if mark == "d":
            text, deleted = None, event is None
        elif event is None:
            text, edited = latest, True
    return ChatMessage(room=room, offset=int(offset), user=f["user"], id=f["id"],
                       text=text, ts=f["ts"], reply_to=f.get("reply_to"), edited=edited,
                       deleted=deleted,
                       event="edit" if event == "edit" else "delete" if event else None)


def _entry_offset(entry_id: str) -> int:
    return int(entry_id.split("-", 1)[0])


class RedisStorage(Storage):
    """:class:`Storage` on Redis streams and hashes, through the process's :class:`RedisLink`.

    Methods queue their script on the link when called (issue order is kept, see the
    link) and return a coroutine that decodes the reply.
    """

    def __init__(self, link: RedisLink) -> None:
        self.link = link
        #: this server process's node id (set when it joins the cluster)
        self.node = ""
        link.add_scripts(*SCRIPTS)

    async def open(self) -> None:
        """Learn (or make) the history id; the backend has opened the shared link and
        loaded our scripts before."""
        self.history_id = str(await self.link.run(HISTORY_ID, (secrets.token_hex(16),)))

    async def close(self) -> None:
        """Nothing to do: the backend closes the shared link after everyone is done."""

    # -- /chat rooms -------------------------------------------------------------------
    def append_chat_message(self, room: str, user: str, msg_id: str, text: str,
                            ts: str, reply_to: str | None = None) -> Awaitable[AppendResult]:
        reply = self.link.run(APPEND, (room, user, msg_id, text, ts, self.node,
                                       reply_to or ""))

        async def decode() -> AppendResult:
            value = await reply
            if value[0] == 1:
                return AppendResult(_chat(value[1], value[2], value[3]), duplicate=True)
            return AppendResult(ChatMessage(room, int(value[2]), user, msg_id, text, ts,
                                            reply_to=reply_to), duplicate=False)

        return decode()

    def change_chat_message(self, room: str, user: str, msg_id: str, kind: ChangeKind,
                            text: str | None, ts: str) -> Awaitable[ChangeResult]:
        reply = self.link.run(CHANGE, (room, user, msg_id, kind, text or "", ts, self.node))

        async def decode() -> ChangeResult:
            value = await reply
            status = int(value[0])
            if status == 0:
                return ChangeResult("changed", ChatMessage(
                    room, int(value[1]), user, msg_id, text, ts, event=kind))
            if status == 1:
                return ChangeResult("repeated", _chat(room, value[1], value[2]))
            return ChangeResult({2: "forbidden", 3: "not_found"}.get(status, "deleted"))

        return decode()

    def find_chat_message(self, user: str, msg_id: str) -> Awaitable[ChatMessage | None]:
        reply = self.link.run(FIND, (user, msg_id))

        async def decode() -> ChatMessage | None:
            value = await reply
            return _chat(value[0], value[1], value[2]) if value else None

        return decode()

    def chat_history(self, room: str, since: int | None, limit: int) -> Awaitable[HistoryPage]:
        start = "" if since is None else f"{min(since, _MAX_SINCE) + 1}-0"
        reply = self.link.run(HISTORY, (room, start, limit))

        async def decode() -> HistoryPage:
            last, entries, states = await reply
            messages = [_chat(room, _entry_offset(eid), flat, state)
                        for (eid, flat), state in zip(entries, states, strict=True)]
            if since is None:
                messages.reverse()
                return HistoryPage(messages, int(last), more=False)
            return HistoryPage(messages[:limit], int(last), more=len(messages) > limit)

        return decode()

    def room_offsets(self) -> Awaitable[dict[str, int]]:
        reply = self.link.command("HGETALL", f"{PREFIX}chat:offsets")

        async def decode() -> dict[str, int]:
            return {room: int(offset) for room, offset in (await reply).items()}

        return decode()

    def forget_room(self, room: str, marker: str) -> Awaitable[int | None]:
        reply = self.link.run(FORGET, (room, marker))

        async def decode() -> int | None:
            removed = int(await reply)
            return None if removed < 0 else removed

        return decode()

    def mark_broadcast(self, msg: ChatMessage) -> Awaitable[None]:
        return self.link.command("SREM", f"{PREFIX}node:{self.node}:unsent",
                                 f"{msg.offset}:{msg.room}")

    async def take_unsent(self, node: str) -> list[ChatMessage]:
        """Messages a (dead) node stored but may not have broadcast; forgets the list."""
        rows = await self.link.run(TAKE_UNSENT, (node,))
        return sorted((_chat(room, offset, flat) for room, offset, flat in rows),
                      key=lambda m: (m.room, m.offset))

    # -- /chat direct messages ---------------------------------------------------------
    def store_dm(self, user: str, to: str, msg_id: str, text: str,
                 ts: str) -> Awaitable[DmResult]:
        reply = self.link.run(STORE_DM, (user, to, msg_id, text, ts))

        async def decode() -> DmResult:
            value = await reply
            if value[0] == 1:
                first_to, _, first_ts, first_text = value[1].split("\n", 3)
                return DmResult(DirectMessage(user, first_to, msg_id, first_text, first_ts),
                                duplicate=True)
            return DmResult(DirectMessage(user, to, msg_id, text, ts), duplicate=False)

        return decode()

    def pending_dms(self, to: str) -> Awaitable[list[DirectMessage]]:
        reply = self.link.command("XRANGE", f"{PREFIX}dm:box:{to}", "-", "+")

        async def decode() -> list[DirectMessage]:
            out = []
            for _, flat in await reply:
                f = _fields(flat)
                out.append(DirectMessage(f["user"], to, f["id"], f["text"], f["ts"]))
            return out

        return decode()

    # -- /chat users --------------------------------------------------------------------
    def touch_user(self, user: str, ts: str) -> Awaitable[None]:
        reply = self.link.command("HSET", f"{PREFIX}chat:users", user, ts)

        async def decode() -> None:
            await reply

        return decode()

    def chat_users(self) -> Awaitable[dict[str, str | None]]:
        reply = self.link.command("HGETALL", f"{PREFIX}chat:users")

        async def decode() -> dict[str, str | None]:
            return {str(user): str(ts) for user, ts in (await reply).items()}

        return decode()

    # -- claimed user names ------------------------------------------------------------
    def name_claim(self, user: str) -> Awaitable[str | None]:
        return self.link.command("HGET", f"{PREFIX}claims", user)

    def claim_name(self, user: str, secret: str) -> Awaitable[str]:
        return self.link.run(CLAIM, (user, secret))

    def mark_dms_delivered(self, keys: list[tuple[str, str]]) -> Awaitable[None]:
        flat = [part for key in keys for part in key]
        reply = self.link.run(DELIVERED, flat)

        async def decode() -> None:
            await reply

        return decode()


async def release_name(link: RedisLink, user: str) -> bool:
    """Remove the claim on ``user`` (``sockdesk-server release-name --redis``); False if
    it had none. Servers read claims at every connection, so it holds at once."""
    # the folded form (how claims are stored) and the exact one (older claims)
    return bool(await link.command("HDEL", f"{PREFIX}claims", *{user, folded(user)}))
