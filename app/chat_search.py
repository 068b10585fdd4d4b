"""Finding words in chat conversations: one conversation (Ctrl+F) or all of them.

Why a module of its own rather than ``MessageStore.page(search=...)``:
- the store's search matches the whole FTS row, `args` included, so "general" or
  "user" would match every message of #general; chat find matches the `text` column
  only, what people read;
- a conversation is more than its queue: own messages that wait (or failed) live only
  in the outbox, and so do own DMs; they are found too, under the id the chat shows;
- change entries of a room (`event` edit/delete, see docs/PROTOCOL.md) are rows of the
  room queue but not messages, so never hits.
Every query is an FTS lookup plus a bounded read (a LIMIT), so a million-row store
answers as fast as a small one, and bad FTS syntax can never raise (`text_query`).
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from app.keys import CHAT_NAMESPACE, Kind, dm_key, outbox_key, parse_key, room_key

if TYPE_CHECKING:
    from app.store import MessageStore, StoredMessage

ChatKind = Literal["room", "dm"]

#: room-queue rows that record a change to a message, not a message
CHANGE_EVENTS = ("edit", "delete")
#: most hits one conversation lists (next/previous cycle through these)
CONVERSATION_HITS = 10_000
#: most hits the search across all conversations lists
GLOBAL_HITS = 200
#: own room messages that are in the outbox only (acked ones are in the room queue too)
_UNSENT = ("queued", "sent", "failed", "no_ack")

_WORD = re.compile(r'[^\s"]+')


def text_query(search: str) -> str | None:
    """What a user typed as an FTS5 query over the `text` column: every word as a
    prefix, all of them required; None when nothing searchable is left.

    Each word is quoted (FTS operators and punctuation in it are plain characters) and
    a word without any letter or digit (``*``, ``-``, ``"``) is dropped: the tokenizer
    keeps nothing of it, and an empty phrase would make the whole query match nothing.
    """
    words = [w for w in _WORD.findall(search or "") if any(ch.isalnum() for ch in w)]
    if not words:
        return None
    return " AND ".join(f'text : "{w}"*' for w in words)


@dataclass(frozen=True, slots=True)
class ChatHit:
    """One message that matches: where it is, and enough to list it."""

    kind: ChatKind
    #: the room, or the other user of a DM
    target: str
    #: the id the conversation knows the message by (its author's id, or the outbox id)
    key: str
    rowid: int
    queue: str
    user: str
    ts: float
    text: str
    own: bool


def _conversation_where(kind: ChatKind, target: str, namespace: str) -> tuple[str, list[Any]]:
    """SQL condition (and its parameters) for the rows of one conversation."""
    if kind == "room":
        return ("((queue = ? AND event NOT IN (?, ?)) OR (queue = ? AND event = 'message' "
                "AND room = ? AND state IN (?, ?, ?, ?)))",
                [room_key(namespace, target), *CHANGE_EVENTS, outbox_key(namespace), target,
                 *_UNSENT])
    return ("((queue = ? AND event NOT IN (?, ?)) OR (queue = ? AND event = 'dm' "
            "AND json_extract(args, '$[0].to') = ?))",
            [dm_key(namespace, target), *CHANGE_EVENTS, outbox_key(namespace), target])


def _all_where(namespace: str) -> tuple[str, list[Any]]:
    """SQL condition for the rows of every chat conversation of a namespace."""
    rooms, dms = room_key(namespace, ""), dm_key(namespace, "")
    return ("(((queue >= ? AND queue < ?) OR (queue >= ? AND queue < ?)) AND event NOT IN "
            "(?, ?)) OR (queue = ? AND ((event = 'message' AND state IN (?, ?, ?, ?)) OR "
            "event = 'dm'))",
            [rooms, rooms[:-1] + ";", dms, dms[:-1] + ";", *CHANGE_EVENTS,
             outbox_key(namespace), *_UNSENT])


#: what a hit needs of a row, read in the search query itself (no JSON parsed in Python)
_HIT_COLUMNS = ("id, queue, event, direction, coalesce(msg_id, json_extract(args, '$[0].id')), "
                "room, json_extract(args, '$[0].to'), user, text, ts")


def _hit(row: tuple[Any, ...], me: str | None) -> ChatHit | None:
    """The hit a stored row makes (None for a row that is not a chat message)."""
    rowid, queue, event, direction, key, room, to, user, text, ts = row
    if not isinstance(key, str) or not key or text is None:
        return None
    own = direction == "out" or (me is not None and user == me)
    parsed = parse_key(queue)
    if parsed is None:
        return None
    if parsed.kind is Kind.OUTBOX:
        kind: ChatKind = "room" if event == "message" else "dm"
        target = room if event == "message" else to
    elif parsed.kind in (Kind.ROOM, Kind.DM):
        kind, target = ("room" if parsed.kind is Kind.ROOM else "dm"), parsed.name
    else:
        return None
    if not isinstance(target, str) or not target:
        return None
    who = user or ((me or "") if own else "?")
    return ChatHit(kind, target, key, rowid, queue, who, float(ts), text, own)


def _hits(store: MessageStore, where: str, params: list[Any], query: str, order: str,
          limit: int, me: str | None) -> tuple[list[ChatHit], bool]:
    """The hits of one FTS query, at most ``limit``, in ``order``; and whether the
    limit cut the list."""
    store.flush()
    sql = (f"SELECT {_HIT_COLUMNS} FROM messages WHERE ({where}) AND id IN "
           f"(SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?) "
           f"ORDER BY {order} LIMIT ?")
    try:
        rows = store.conn.execute(sql, [*params, query, limit]).fetchall()
    except sqlite3.OperationalError:  # a query FTS still refuses: nothing matches
        return [], False
    out: list[ChatHit] = []
    seen: set[tuple[str, str, str]] = set()
    for row in rows:
        hit = _hit(row, me)
        # an own message can be in the outbox and (echoed) in its queue: list it once
        if hit is not None and (hit.kind, hit.target, hit.key) not in seen:
            seen.add((hit.kind, hit.target, hit.key))
            out.append(hit)
    return out, len(rows) >= limit


def _count(store: MessageStore, where: str, params: list[Any], query: str) -> int:
    store.flush()
    sql = (f"SELECT count(*) FROM messages WHERE ({where}) AND id IN "
           f"(SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)")
    try:
        return int(store.conn.execute(sql, [*params, query]).fetchone()[0])
    except sqlite3.OperationalError:
        return 0


def find_in_conversation(store: MessageStore, kind: ChatKind, target: str, search: str,
                         me: str | None = None, limit: int = CONVERSATION_HITS,
                         namespace: str = CHAT_NAMESPACE) -> list[ChatHit]:
    """Hits in one room or DM, newest first in the conversation's own order: a room by
    the server's offsets (own messages not yet acked are the newest), a DM by time."""
    query = text_query(search)
    if query is None:
        return []
    where, params = _conversation_where(kind, target, namespace)
    order = ("room_offset IS NULL DESC, room_offset DESC, id DESC" if kind == "room"
             else "ts DESC, id DESC")
    return _hits(store, where, params, query, order, limit, me)[0]


def find_everywhere(store: MessageStore, search: str, me: str | None = None,
                    limit: int = GLOBAL_HITS, namespace: str = CHAT_NAMESPACE
                    ) -> tuple[list[ChatHit], int]:
    """Hits in every room and DM, newest (by time) first, at most ``limit``; and how
    many there are in all."""
    query = text_query(search)
    if query is None:
        return [], 0
    where, params = _all_where(namespace)
    hits, cut = _hits(store, where, params, query, "ts DESC, id DESC", limit, me)
    total = _count(store, where, params, query) if cut else len(hits)
    return hits, total


def conversation_rows(store: MessageStore, kind: ChatKind, target: str, ts: float,
                      rowid: int, limit: int, namespace: str = CHAT_NAMESPACE
                      ) -> list[StoredMessage]:
    """Up to ``limit`` rows of a conversation from a position on (that row included),
    oldest first: what a conversation reads to show a hit older than what it holds.

    A room reads its queue from rowid ``rowid`` (its own waiting messages are always
    loaded); a DM reads its queue and own DMs of the outbox together, in time order from
    (``ts``, ``rowid``), as a DM is shown. Keyset paging: the next page starts after the
    last row returned.
    """
    store.flush()
    if kind == "room":
        return store.page(room_key(namespace, target), after=rowid - 1, limit=limit)
    where, params = _conversation_where(kind, target, namespace)
    rowids = [r[0] for r in store.conn.execute(
        f"SELECT id FROM messages WHERE ({where}) AND (ts, id) >= (?, ?) "
        "ORDER BY ts, id LIMIT ?", [*params, ts, rowid, limit])]
    return [m for m in (store.get(rid) for rid in rowids) if m is not None]
