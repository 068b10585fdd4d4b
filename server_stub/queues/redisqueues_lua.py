"""The Lua scripts of :mod:`server_stub.queues.redisqueues` (the queue rules, run inside Redis).

Each script is one atomic step of the queue state machine, so several server processes
can publish, deliver, ack and time out messages of one queue at the same time without
ever handing one delivery to two consumers or losing one. Layout of a queue ``Q`` (keys
under :data:`~server_stub.scaleout.redislink.PREFIX`):

``q:Q:s``        stream of the messages not acked/dead yet (fields seq, id, payload, ts),
                 with the consumer group ``g``; consumer names are socket ids
``q:Q:meta``     hash: last_seq, acked, rr (round-robin cursor), subseq
``q:Q:ids``      hash: message id -> seq (dedupe, kept for good)
``q:Q:msg``      hash: seq -> its current stream entry id
``q:Q:att``      hash: seq -> attempt (of the current delivery, or of the next one)
``q:Q:hold``     hash: seq -> socket id it is in flight to
``q:Q:subs``     hash: socket id -> prefetch
``q:Q:order``    sorted set: consumers in subscription order (the round-robin order)
``q:Q:dead``     stream of dead letters (seq, id, payload, ts, attempt)
``q:Q:deadidx``  hash: seq -> its entry in the dead-letter stream
``queues``       set of every queue name; ``qactive``: queues with messages in flight
``sockq:SID``    set of the queues a socket consumes (for cleanup after a crash)

How the contract maps onto a consumer group:

* waiting = never read by the group (after its last-delivered id) **or** parked in the
  pending list of the pseudo consumer ``~ready`` (a delivery failed and the message came
  back). Parked entries are always older than unread ones, so "stream id order" is the
  delivery order, and a returned message is ahead of newer ones, as the contract wants;
* delivering = ``XCLAIM`` of the oldest parked entry, or ``XREADGROUP ... >`` of the next
  unread one, to the consumer picked by round robin among those under their prefetch
  (per-consumer pending counts come from ``XPENDING``);
* in flight = in the socket's pending list (and in ``hold``); ``XACK`` + ``XDEL`` on ack;
* visibility timeout = ``XAUTOCLAIM`` of entries idle longer than the timeout into
  ``~ready``; those that were in flight count as a failed delivery;
* a failed delivery (disconnect, unsubscribe, timeout, nack) = ``XCLAIM`` into ``~ready``
  with attempt + 1, or, after the last attempt, ``XDEL`` and ``XADD`` to ``q:Q:dead``;
* requeue from ``Q.dead`` = a new entry at the stream's tail with attempt 1.

depth = XLEN - in flight (every entry still in the stream is either in flight, parked,
or unread: acked, purged and dead ones are deleted from it).
"""

from __future__ import annotations

from server_stub.scaleout.redislink import Script

PRELUDE = """
local P = ARGV[1]
local G = 'g'
local READY = '~ready'
local function k(q, part) return P .. 'q:' .. q .. ':' .. part end
local function fields(flat)
  local t = {}
  for i = 1, #flat, 2 do t[flat[i]] = flat[i + 1] end
  return t
end
local function ensure(q)
  if redis.call('EXISTS', k(q, 's')) == 0 then
    redis.call('XGROUP', 'CREATE', k(q, 's'), G, '0', 'MKSTREAM')
  end
  redis.call('SADD', P .. 'queues', q)
end
local function entry(q, eid)
  local e = redis.call('XRANGE', k(q, 's'), eid, eid)
  if #e == 0 then return nil end
  return fields(e[1][2])
end
local function attempt_of(q, seq)
  return tonumber(redis.call('HGET', k(q, 'att'), seq) or '1')
end
-- the message leaves the live stream for good (acked, purged, dead)
local function forget(q, seq, eid)
  redis.call('XACK', k(q, 's'), G, eid)
  redis.call('XDEL', k(q, 's'), eid)
  redis.call('HDEL', k(q, 'msg'), seq)
  redis.call('HDEL', k(q, 'att'), seq)
  redis.call('HDEL', k(q, 'hold'), seq)
end
local function bury(q, seq)
  local eid = redis.call('HGET', k(q, 'msg'), seq)
  local f = entry(q, eid)
  local did = redis.call('XADD', k(q, 'dead'), '*', 'seq', seq, 'id', f.id,
                         'payload', f.payload, 'ts', f.ts, 'attempt', attempt_of(q, seq))
  redis.call('HSET', k(q, 'deadidx'), seq, did)
  forget(q, seq, eid)
end
-- a delivery failed: back at its old place with attempt + 1, or dead after the last one
local function fail(q, seq, max)
  redis.call('HDEL', k(q, 'hold'), seq)
  local attempt = attempt_of(q, seq)
  if attempt >= max then
    bury(q, seq)
    return
  end
  redis.call('HSET', k(q, 'att'), seq, attempt + 1)
  redis.call('XCLAIM', k(q, 's'), G, READY, 0, redis.call('HGET', k(q, 'msg'), seq), 'JUSTID')
end
local function settle_active(q)
  if redis.call('HLEN', k(q, 'hold')) == 0 then
    redis.call('SREM', P .. 'qactive', q)
  else
    redis.call('SADD', P .. 'qactive', q)
  end
end
-- hand waiting messages to consumers with room, round robin; deliveries go to `out`
local function pump(q, out)
  local s = k(q, 's')
  local order = redis.call('ZRANGE', k(q, 'order'), 0, -1)
  local n = #order
  if n == 0 or redis.call('EXISTS', s) == 0 then return end
  local waiting = redis.call('XLEN', s) - redis.call('HLEN', k(q, 'hold'))
  if waiting <= 0 then return end
  local held = {}
  local summary = redis.call('XPENDING', s, G)
  if summary[4] then
    for _, c in ipairs(summary[4]) do held[c[1]] = tonumber(c[2]) end
  end
  local prefetch = {}
  local subs = redis.call('HGETALL', k(q, 'subs'))
  for i = 1, #subs, 2 do prefetch[subs[i]] = tonumber(subs[i + 1]) end
  local rr = tonumber(redis.call('HGET', k(q, 'meta'), 'rr') or '0')
  local moved = false
  while waiting > 0 do
    local pick, after = nil, nil
    for i = 0, n - 1 do
      local idx = (rr + i) % n
      local sid = order[idx + 1]
      if (held[sid] or 0) < (prefetch[sid] or 0) then
        pick, after = sid, idx + 1
        break
      end
    end
    if not pick then break end
    local e = nil
    local parked = redis.call('XPENDING', s, G, '-', '+', 1, READY)
    if #parked > 0 then
      e = redis.call('XCLAIM', s, G, pick, 0, parked[1][1])[1]
    else
      local got = redis.call('XREADGROUP', 'GROUP', G, pick, 'COUNT', 1, 'STREAMS', s, '>')
      if got then e = got[1][2][1] end
    end
    if not e then break end
    local f = fields(e[2])
    redis.call('HSET', k(q, 'hold'), f.seq, pick)
    held[pick] = (held[pick] or 0) + 1
    rr = after
    waiting = waiting - 1
    moved = true
    table.insert(out, {q, pick, tonumber(f.seq), f.id, f.payload, attempt_of(q, f.seq), f.ts})
  end
  if moved then
    redis.call('HSET', k(q, 'meta'), 'rr', rr)
    redis.call('SADD', P .. 'qactive', q)
  end
end
-- end a subscription; what it held goes back (no pump: the caller pumps afterwards)
local function remove_consumer(q, sid, max)
  redis.call('SREM', P .. 'sockq:' .. sid, q)
  if redis.call('HDEL', k(q, 'subs'), sid) == 0 then return false end
  redis.call('ZREM', k(q, 'order'), sid)
  local rr = tonumber(redis.call('HGET', k(q, 'meta'), 'rr') or '0')
  if rr >= redis.call('ZCARD', k(q, 'order')) then redis.call('HSET', k(q, 'meta'), 'rr', 0) end
  local s = k(q, 's')
  if redis.call('EXISTS', s) == 1 then
    for _, p in ipairs(redis.call('XPENDING', s, G, '-', '+', 100000, sid)) do
      local f = entry(q, p[1])
      if f then fail(q, f.seq, max) end
    end
    redis.call('XGROUP', 'DELCONSUMER', s, G, sid)
  end
  settle_active(q)
  return true
end
"""


def _script(name: str, body: str) -> Script:
    return Script(name, PRELUDE + body)


PUBLISH = _script("queue_publish", """
local q, id, payload, ts = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local seen = redis.call('HGET', k(q, 'ids'), id)
if seen then return {1, tonumber(seen), {}} end
ensure(q)
local seq = tonumber(redis.call('HGET', k(q, 'meta'), 'last_seq') or '0') + 1
local eid = redis.call('XADD', k(q, 's'), '*', 'seq', seq, 'id', id, 'payload', payload, 'ts', ts)
redis.call('HSET', k(q, 'meta'), 'last_seq', seq)
redis.call('HSET', k(q, 'msg'), seq, eid)
redis.call('HSET', k(q, 'att'), seq, 1)
redis.call('HSET', k(q, 'ids'), id, seq)
local out = {}
pump(q, out)
return {0, seq, out}
""")

SUBSCRIBE = _script("queue_subscribe", """
local q, sid, prefetch = ARGV[2], ARGV[3], ARGV[4]
ensure(q)
if redis.call('HSET', k(q, 'subs'), sid, prefetch) == 1 then
  redis.call('ZADD', k(q, 'order'), redis.call('HINCRBY', k(q, 'meta'), 'subseq', 1), sid)
  redis.call('SADD', P .. 'sockq:' .. sid, q)
end
local depth = redis.call('XLEN', k(q, 's')) - redis.call('HLEN', k(q, 'hold'))
local out = {}
pump(q, out)
return {depth, out}
""")

UNSUBSCRIBE = _script("queue_unsubscribe", """
local q, sid, max = ARGV[2], ARGV[3], tonumber(ARGV[4])
local out = {}
if remove_consumer(q, sid, max) then pump(q, out) end
return out
""")

DROP = _script("queue_drop", """
-- ARGV[3..]: sockets that are gone; every subscription of all of them ends first, so
-- what they held cannot be handed to one of them again
local max = tonumber(ARGV[2])
local touched, names = {}, {}
for i = 3, #ARGV do
  local sid = ARGV[i]
  for _, q in ipairs(redis.call('SMEMBERS', P .. 'sockq:' .. sid)) do
    remove_consumer(q, sid, max)
    if not touched[q] then
      touched[q] = true
      table.insert(names, q)
    end
  end
  redis.call('DEL', P .. 'sockq:' .. sid)
end
local out = {}
for _, q in ipairs(names) do pump(q, out) end
return out
""")

ACK = _script("queue_ack", """
local q, sid, seq = ARGV[2], ARGV[3], ARGV[4]
if redis.call('HGET', k(q, 'hold'), seq) ~= sid then return {0, {}} end
forget(q, seq, redis.call('HGET', k(q, 'msg'), seq))
redis.call('HINCRBY', k(q, 'meta'), 'acked', 1)
settle_active(q)
local out = {}
pump(q, out)
return {1, out}
""")

NACK = _script("queue_nack", """
local q, sid, seq, requeue, max = ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6])
if redis.call('HGET', k(q, 'hold'), seq) ~= sid then return {0, {}} end
if requeue == '1' then fail(q, seq, max) else bury(q, seq) end
settle_active(q)
local out = {}
pump(q, out)
return {1, out}
""")

REQUEUE = _script("queue_requeue", """
local q, seq = ARGV[2], ARGV[3]
local did = redis.call('HGET', k(q, 'deadidx'), seq)
if not did then return {0, {}} end
local f = fields(redis.call('XRANGE', k(q, 'dead'), did, did)[1][2])
ensure(q)
local eid = redis.call('XADD', k(q, 's'), '*', 'seq', seq, 'id', f.id, 'payload', f.payload,
                       'ts', f.ts)
redis.call('HSET', k(q, 'msg'), seq, eid)
redis.call('HSET', k(q, 'att'), seq, 1)
redis.call('XDEL', k(q, 'dead'), did)
redis.call('HDEL', k(q, 'deadidx'), seq)
local out = {}
pump(q, out)
return {1, out}
""")

PURGE = _script("queue_purge", """
local q = ARGV[2]
local s = k(q, 's')
if redis.call('EXISTS', s) == 0 then return 0 end
local n = 0
for _, p in ipairs(redis.call('XPENDING', s, G, '-', '+', 1000000000, READY)) do
  local f = entry(q, p[1])
  if f then forget(q, f.seq, p[1]) end
  n = n + 1
end
local got = redis.call('XREADGROUP', 'GROUP', G, '~purge', 'STREAMS', s, '>')
if got then
  for _, e in ipairs(got[1][2]) do
    forget(q, fields(e[2]).seq, e[1])
    n = n + 1
  end
end
redis.call('XGROUP', 'DELCONSUMER', s, G, '~purge')
return n
""")

PURGE_DEAD = _script("queue_purge_dead", """
local q = ARGV[2]
local n = redis.call('XLEN', k(q, 'dead'))
redis.call('DEL', k(q, 'dead'), k(q, 'deadidx'))
return n
""")

PEEK = _script("queue_peek", """
local q, limit = ARGV[2], tonumber(ARGV[3])
local s = k(q, 's')
local out = {}
if redis.call('EXISTS', s) == 0 then return out end
local function add(flat)
  local f = fields(flat)
  table.insert(out, {tonumber(f.seq), f.id, f.payload, attempt_of(q, f.seq), f.ts})
end
for _, p in ipairs(redis.call('XPENDING', s, G, '-', '+', limit, READY)) do
  local e = redis.call('XRANGE', s, p[1], p[1])
  if #e > 0 then add(e[1][2]) end
end
if #out < limit then
  local last = '0-0'
  for _, g in ipairs(redis.call('XINFO', 'GROUPS', s)) do
    local t = fields(g)
    if t['name'] == G then last = t['last-delivered-id'] end
  end
  for _, e in ipairs(redis.call('XRANGE', s, '(' .. last, '+', 'COUNT', limit - #out)) do
    add(e[2])
  end
end
return out
""")

DELETE = _script("queue_delete", """
-- forget a queue entirely; refused (-1, consumers, in flight) while anybody consumes it
local q = ARGV[2]
local consumers = redis.call('ZCARD', k(q, 'order'))
local inflight = redis.call('HLEN', k(q, 'hold'))
if consumers > 0 or inflight > 0 then return {-1, consumers, inflight} end
local n = 0
if redis.call('EXISTS', k(q, 's')) == 1 then n = n + redis.call('XLEN', k(q, 's')) end
n = n + redis.call('XLEN', k(q, 'dead'))
redis.call('DEL', k(q, 's'), k(q, 'meta'), k(q, 'ids'), k(q, 'msg'), k(q, 'att'),
           k(q, 'hold'), k(q, 'subs'), k(q, 'order'), k(q, 'dead'), k(q, 'deadidx'))
redis.call('SREM', P .. 'queues', q)
redis.call('SREM', P .. 'qactive', q)
return {n, 0, 0}
""")

STATS = _script("queue_stats", """
local out = {}
for _, q in ipairs(redis.call('SMEMBERS', P .. 'queues')) do
  local inflight = redis.call('HLEN', k(q, 'hold'))
  table.insert(out, {q, redis.call('XLEN', k(q, 's')) - inflight, inflight,
                     redis.call('ZCARD', k(q, 'order')),
                     tonumber(redis.call('HGET', k(q, 'meta'), 'acked') or '0'),
                     redis.call('XLEN', k(q, 'dead'))})
end
return out
""")

EXPIRE = _script("queue_expire", """
-- the visibility timeout: deliveries idle longer than ARGV[3] ms failed
local q, idle, max = ARGV[2], ARGV[3], tonumber(ARGV[4])
local s = k(q, 's')
local out = {}
if redis.call('EXISTS', s) == 0 then
  redis.call('SREM', P .. 'qactive', q)
  return out
end
local start, changed = '0-0', false
for _ = 1, 1000 do
  local r = redis.call('XAUTOCLAIM', s, G, READY, idle, start, 'COUNT', 100)
  for _, e in ipairs(r[2]) do
    if e and e[2] then
      local seq = fields(e[2]).seq
      -- parked entries are claimed again too (harmless); only held ones timed out
      if redis.call('HGET', k(q, 'hold'), seq) then
        fail(q, seq, max)
        changed = true
      end
    end
  end
  start = r[1]
  if start == '0-0' then break end
end
settle_active(q)
if changed then pump(q, out) end
return out
""")

SCRIPTS = (PUBLISH, SUBSCRIBE, UNSUBSCRIBE, DROP, ACK, NACK, REQUEUE, PURGE, PURGE_DEAD,
           PEEK, STATS, EXPIRE, DELETE)
