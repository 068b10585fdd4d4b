"""Every event in or out, kept per queue in SQLite, fast to page and search at 1M rows.

Why it looks like this:
- one `messages` table for all queues with an index on (queue, rowid): paging is a
  keyset scan (`rowid > last`), never OFFSET, so page 10,000 costs what page 1 costs;
- per-queue counters in `queue_counts`, maintained with each write, because COUNT(*)
  over a million-row queue is a full index scan the GUI would pay on every refresh;
- an external-content FTS5 index over (text, args) so search needs no LIKE scan and
  no second copy of the data;
- inbound events are buffered and committed in one transaction per short tick, so a
  flood of 50k events/s is a handful of commits, not 50k.
Outbox rows live in the same table (queue `outbox:<ns>`, with a `state`), so the outbox
is just another queue for the UI, and its counters come for free.

Whatever a server sends is stored, and one odd event never costs the others in its batch:
- `args` keep the payload exactly (JSON; integers beyond 64 bits and nesting orjson
  refuses go through the stdlib). Only a value no JSON encoder can write at all (nesting
  deeper than Python's recursion limit) is replaced by `{"$unstorable": why, "$repr":
  short repr}`;
- the `text` column is a convenience copy for views and search: it is cut to
  TEXT_COLUMN_LIMIT characters (ending in "…"); the full text stays in `args`;
- lone UTF-16 surrogates (valid in JSON escapes, not in UTF-8) are stored as U+FFFD in
  the lifted text columns; `args` keep them as JSON escapes.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import reprlib
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app import db as dbmod
from app import jsonmod
from app.checkpoints import BackgroundCheckpointer
from app.keys import Kind, first_object, is_kind
from app.signals import Signal
from app.store_schema import create_or_upgrade

_COLUMNS = ("id, queue, direction, namespace, event, args, ts, msg_id, room, room_offset, "
            "user, text, recovered, state, error, reply, reply_args, ack_timeout")
_INSERT = ("INSERT OR IGNORE INTO messages(queue, direction, namespace, event, args, ts, "
           "msg_id, room, room_offset, user, text, recovered, state, want_ack, attempts, "
           "error, expires, updated, reply, reply_args, ack_timeout) "
           "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
#: parameters of _INSERT; ready-made tuples from before the ack columns (18 values) are
#: padded with NULLs
_INSERT_PARAMS = 21
COUNTED_STATES = ("queued", "sent", "acked", "failed", "no_ack")
#: Longest `text` column value (characters); the bundled server allows 4000 per message.
TEXT_COLUMN_LIMIT = 16_384
FLUSH_DELAY = 0.01
#: Buffered messages at which the loop drains the buffer right away, not after FLUSH_DELAY.
FLUSH_AT = 2000
#: Most rows one loop tick commits in the background: a bigger backlog is committed
#: over consecutive ticks, so the loop (the GUI) never stalls for a whole backlog at once.
FLUSH_CHUNK = 500
#: Fewest rows per background commit (below this, per-transaction costs dominate).
FLUSH_CHUNK_MIN = 50
#: What one background commit, with the `stored` listeners it runs, may take. The chunk
#: follows the measured cost per row: 500 rows were 3-25 ms under load depending on
#: FTS, contention and what listens (B5), and a 25 ms commit next to a 25 ms repaint is
#: a visible stall.
FLUSH_BUDGET_S = 0.006


def chunk_for(seconds: float, rows: int) -> int:
    """The chunk size that fits FLUSH_BUDGET_S, given that ``rows`` took ``seconds``."""
    if rows <= 0 or seconds <= 0:
        return FLUSH_CHUNK
    return max(FLUSH_CHUNK_MIN, min(FLUSH_CHUNK, int(FLUSH_BUDGET_S * rows / seconds)))


@dataclass(slots=True)
class StoredMessage:
    """One event as kept in a queue (also the NDJSON record, see docs/NDJSON.md)."""

    queue: str
    direction: str
    namespace: str
    event: str
    args: list[Any]
    ts: float = field(default_factory=time.time)
    msg_id: str | None = None
    room: str | None = None
    offset: int | None = None
    user: str | None = None
    text: str | None = None
    recovered: bool = False
    state: str | None = None
    rowid: int = 0
    error: str | None = None
    #: outbox: the arguments of the server's ack, exactly (binary in the notation);
    #: None while no ack came (or none was asked for)
    reply: list[Any] | None = None
    #: outbox: this message's own ack timeout in seconds (None: the session's)
    ack_timeout: float | None = None

    def to_record(self) -> dict[str, Any]:
        """The export form: every field except the database rowid, JSON-ready."""
        rec: dict[str, Any] = {
            "queue": self.queue, "direction": self.direction, "namespace": self.namespace,
            "event": self.event, "args": self.args, "ts": self.ts,
        }
        for key in ("msg_id", "room", "offset", "user", "text", "state", "error", "reply",
                    "ack_timeout"):
            value = getattr(self, key)
            if value is not None:
                rec[key] = value
        if self.recovered:
            rec["recovered"] = True
        return rec


@dataclass(slots=True)
class QueueInfo:
    """Counters of one queue; `depth` is what is waiting (outbox) or stored (others)."""

    queue: str
    total: int
    queued: int = 0
    sent: int = 0
    acked: int = 0
    failed: int = 0
    last_ts: float | None = None
    #: outbox: sent once, never confirmed, waiting for the user's "Send again"
    no_ack: int = 0

    @property
    def depth(self) -> int:
        """Outbox: messages not yet done (queued + sent). Other queues: all messages."""
        if is_kind(self.queue, Kind.OUTBOX):
            return self.queued + self.sent
        return self.total


def describe(namespace: str, event: str, args: list[Any], direction: str, queue: str,
             ts: float | None = None, me: str | None = None) -> StoredMessage:
    """Build a StoredMessage, lifting room/offset/user/text out of known payloads.

    Those columns make room views and search work without parsing JSON per row.
    """
    first = first_object(args)
    room = offset = user = text = msg_id = None
    if first is not None:
        room = first.get("room") if isinstance(first.get("room"), str) else None
        value = first.get("offset")
        # SQLite integers are 64-bit; true/false are not offsets
        if is_kind(queue, Kind.ROOM) and isinstance(value, int) \
                and not isinstance(value, bool) and -(2**63) <= value < 2**63:
            offset = value
        user = first.get("user") if isinstance(first.get("user"), str) else None
        text = first.get("text") if isinstance(first.get("text"), str) else None
        msg_id = first.get("id") if isinstance(first.get("id"), str) else None
    elif args and isinstance(args[0], str):
        text = args[0]
    if direction == "out" and user is None:
        user = me
    return StoredMessage(queue=queue, direction=direction, namespace=namespace, event=event,
                         args=list(args), ts=ts if ts is not None else time.time(),
                         msg_id=msg_id, room=room, offset=offset, user=user,
                         text=clip_text(text))


def clip_text(text: str | None, limit: int = TEXT_COLUMN_LIMIT) -> str | None:
    """`text` cut to `limit` characters, ending in "…" when it was cut."""
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


_SURROGATE = re.compile("[\ud800-\udfff]")


def _storable(value: str | None) -> str | None:
    """A str SQLite can store as UTF-8: lone surrogates become U+FFFD."""
    if value is None or value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", value)
    return value


def encode_args(args: list[Any]) -> str:
    """The args column: exact JSON, or a small placeholder if nothing can encode them."""
    try:
        return jsonmod.dumps(args)
    except (TypeError, ValueError, RecursionError) as exc:
        why = f"{type(exc).__name__}: {exc}"[:300]
        return jsonmod.dumps([{"$unstorable": why,
                               "$repr": reprlib.repr(args)[:TEXT_COLUMN_LIMIT]}])


_TERM = re.compile(r'[^\s"]+')


def fts_query(search: str) -> str | None:
    """Turn what a user types into a safe FTS5 query: every word, as a prefix, ANDed.

    Quoting each term means punctuation and FTS operators in user input cannot cause a
    syntax error; the prefix `*` makes "hel" find "hello" as people expect.
    """
    terms = _TERM.findall(search or "")
    if not terms:
        return None
    return " ".join(f'"{t}"*' for t in terms)


def reply_value(reply: list[Any] | tuple[Any, ...] | None) -> Any:
    """An ack's arguments as one value (`OutboxMessage.reply`, the `reply` column): the
    only argument, a list of several, None for none."""
    if not reply:
        return None
    return reply[0] if len(reply) == 1 else list(reply)


def insert_row(m: StoredMessage, want_ack: int | None = None, expires: float | None = None,
               updated: float | None = None) -> tuple[Any, ...]:
    """One message as the parameters of `_INSERT` (shared by every way rows go in).

    `want_ack` and `expires` are the outbox's columns; an outbox row starts with 0
    attempts, any other row with none.
    """
    value = reply_value(m.reply)
    return (_storable(m.queue), m.direction, _storable(m.namespace), _storable(m.event),
            encode_args(m.args), m.ts, _storable(m.msg_id), _storable(m.room), m.offset,
            _storable(m.user), _storable(clip_text(m.text)), int(m.recovered), m.state,
            want_ack, 0 if m.state else None, _storable(m.error), expires, updated,
            jsonmod.dumps(value) if value is not None else None,
            encode_args(m.reply) if m.reply is not None else None, m.ack_timeout)


def decode_reply(reply: str | None, reply_args: str | None) -> list[Any] | None:
    """The ack arguments of a row: exact when they were kept (`reply_args`); a row from
    before that column kept only the value, taken as the one argument."""
    if reply_args is not None:
        value = jsonmod.loads(reply_args)
        return value if isinstance(value, list) else [value]
    if reply is not None:
        return [jsonmod.loads(reply)]
    return None


def _row(r: tuple[Any, ...]) -> StoredMessage:
    return StoredMessage(rowid=r[0], queue=r[1], direction=r[2], namespace=r[3], event=r[4],
                         args=jsonmod.loads(r[5]), ts=r[6], msg_id=r[7], room=r[8],
                         offset=r[9], user=r[10], text=r[11], recovered=bool(r[12]),
                         state=r[13], error=r[14], reply=decode_reply(r[15], r[16]),
                         ack_timeout=r[17])


class MessageStore:
    """The queues. Owns its SQLite connection; the outbox and chat rooms share it.

    All methods run on the loop thread (SQLite calls here are short; big writes are one
    transaction). `stored` fires with each committed batch of inbound messages (only the
    ones actually inserted: a duplicate room offset is dropped here).
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        create_or_upgrade(conn)
        #: copies the WAL into the database off the loop (app.checkpoints)
        self._checkpoints = BackgroundCheckpointer.start_for(conn)
        self.stored: Signal[list[StoredMessage]] = Signal("stored")
        self._pending: list[StoredMessage] = []
        self._flush_handle: asyncio.Handle | None = None
        self._draining = False  # _flush_handle is a next-turn chunk, not the delayed flush
        self._dirty = False
        self._chunk = FLUSH_CHUNK  # rows per background commit, see chunk_for
        #: called inside the batch transaction; chat rooms persist their offsets here so
        #: an offset is never on disk ahead of the messages it covers
        self.before_commit: list[Callable[[sqlite3.Connection], None]] = []

    @classmethod
    def open(cls, data_dir: Path | str) -> MessageStore:
        """Open the store in a data dir (creates it privately); StorageError if unusable."""
        conn = dbmod.connect(data_dir)
        try:
            return cls(conn)
        except sqlite3.Error as exc:
            conn.close()
            raise dbmod.StorageError(dbmod.explain(dbmod.db_path(data_dir), exc)) from None

    def close(self) -> None:
        """Write what is buffered and close the database."""
        self.flush()
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        with contextlib.suppress(sqlite3.Error):
            self.conn.execute("PRAGMA optimize")
        self.abandon()

    def abandon(self) -> None:
        """Stop the background checkpoints and close the database, writing nothing
        more (`close` writes the buffer first; this is for a store that could not be
        set up, whose thread would otherwise go on looking at the file)."""
        if self._checkpoints is not None:
            self._checkpoints.stop()
            self._checkpoints = None
        self.conn.close()

    # ---- writing -------------------------------------------------------------------

    def add(self, msg: StoredMessage) -> None:
        """Buffer one inbound message; it is committed with others within ~10 ms."""
        self._pending.append(msg)
        if len(self._pending) >= FLUSH_AT:
            self._drain_soon()
            return
        self._schedule()

    def request_commit(self) -> None:
        """Ask for a batch commit soon even without new messages (before_commit state)."""
        self._dirty = True
        self._schedule()

    def _schedule(self) -> None:
        if self._flush_handle is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                self.flush()
                return
            self._flush_handle = loop.call_later(FLUSH_DELAY, self._flush_chunk)

    def _drain_soon(self) -> None:
        """Commit the buffer on the next loop turns (a chunk a turn), without the delay."""
        if self._draining:
            return  # a chunk is already due on the next turn
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.flush()
            return
        self._flush_handle = loop.call_soon(self._flush_chunk)
        self._draining = True

    def _flush_chunk(self) -> None:
        """The loop's own flush: one chunk of rows, the rest on the next turn."""
        self._flush_handle = None
        self._draining = False
        before = len(self._pending)
        started = time.perf_counter()
        self._commit(self._chunk)
        rows = before - len(self._pending)
        if rows >= FLUSH_CHUNK_MIN:  # small batches say little about the cost per row
            self._chunk = chunk_for(time.perf_counter() - started, rows)
        if self._pending:
            self._drain_soon()

    def flush(self) -> list[StoredMessage]:
        """Commit the whole buffer now in one transaction; returns what was actually
        inserted. Readers call this first, so they always see every received row."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
            self._draining = False
        return self._commit(None)

    def _commit(self, limit: int | None) -> list[StoredMessage]:
        """Commit the oldest ``limit`` buffered messages (all if None) in one transaction.

        The before_commit hooks run only in the transaction that empties the buffer: a
        room offset they persist may cover messages still waiting in the buffer.
        """
        if not self._pending and not self._dirty:
            return []
        n = len(self._pending) if limit is None else min(limit, len(self._pending))
        batch = self._pending[:n]
        del self._pending[:n]
        last = not self._pending
        if last:
            self._dirty = False
        try:
            inserted = self.insert(batch, hooks=last)
        except sqlite3.OperationalError:
            # disk full, locked, I/O error: nothing was committed; keep the batch for the
            # next flush instead of dropping what was received
            self._pending[:0] = batch
            self._dirty = True
            raise
        if self._checkpoints is not None and self._checkpoints.rewind_due:
            self._checkpoints.rewind(self.conn)  # between two commits (app.checkpoints)
        if inserted:
            self.stored.emit(inserted)
        return inserted

    def insert(self, msgs: Iterable[StoredMessage], hooks: bool = False,
               outbox: dict[str, Any] | None = None) -> list[StoredMessage]:
        """Insert messages in one transaction, skipping duplicates of (queue, offset).

        Returns the inserted ones with their rowid set. `outbox` adds outbox columns
        (want_ack, expires) to every row; used by the outbox for its enqueues.
        """
        batch = list(msgs)
        now = time.time()
        ob = outbox or {}
        with dbmod.transaction(self.conn) as c:
            start = self._max_id(c)
            # executemany, then one read of what went in: far fewer Python->SQLite calls
            # than a statement per row when thousands of events arrive per second
            c.executemany(_INSERT, [insert_row(m, ob.get("want_ack"), ob.get("expires"), now)
                                    for m in batch])
            out = self._inserted(c, batch, start)
            if out:
                self._index_new(c, start)
            if hooks:
                for hook in list(self.before_commit):
                    hook(c)
        return out

    @staticmethod
    def _inserted(c: sqlite3.Connection, batch: list[StoredMessage],
                  start: int) -> list[StoredMessage]:
        """The messages of ``batch`` that were inserted (not ignored as a duplicate of
        (queue, room_offset)), with their rowids set.

        Rows are inserted in batch order, so the new rows (id > start, in id order) are
        the batch minus the ignored ones: a message without an offset is always
        inserted; one with an offset is inserted iff the next new row has its (queue,
        offset) (a repeat within the batch finds that row taken by its first copy).
        """
        rows = c.execute("SELECT id, queue, room_offset FROM messages WHERE id > ? "
                         "ORDER BY id", (start,)).fetchall()
        out: list[StoredMessage] = []
        i = 0
        for m in batch:
            if i == len(rows):
                break
            rid, queue, offset = rows[i]
            if m.offset is None or (offset == m.offset and queue == _storable(m.queue)):
                m.rowid = rid
                out.append(m)
                i += 1
        return out

    def bulk_insert(self, msgs: Iterable[StoredMessage | tuple[Any, ...]]) -> int:
        """Insert many rows with executemany in one transaction (imports, benchmarks).

        Accepts StoredMessage or ready tuples in `_INSERT` column order. No signal fires:
        callers that need one (import) refresh their views afterwards.
        """
        pad = (None,) * _INSERT_PARAMS
        rows = ((m + pad[len(m):]) if isinstance(m, tuple) else insert_row(m) for m in msgs)
        with dbmod.transaction(self.conn) as c:
            start = self._max_id(c)
            c.executemany(_INSERT, rows)
            end = self._max_id(c)
            self._index_new(c, start)
        return end - start

    @staticmethod
    def _max_id(c: sqlite3.Connection) -> int:
        return int(c.execute("SELECT coalesce(max(id), 0) FROM messages").fetchone()[0])

    @staticmethod
    def _index_new(c: sqlite3.Connection, start: int) -> None:
        """Add rows with id > start to FTS and counters, set-based (one statement each)."""
        c.execute("INSERT INTO messages_fts(rowid, text, args) "
                  "SELECT id, text, args FROM messages WHERE id > ?", (start,))
        # NOT INDEXED: for the GROUP BY, SQLite would rather walk all of messages_queue
        # than the few new rowids, which made every commit O(rows stored)
        rows = c.execute(
            "SELECT queue, state, count(*), max(ts) FROM messages NOT INDEXED WHERE id > ? "
            "GROUP BY queue, state", (start,)).fetchall()
        for queue, state, n, last in rows:
            col = state if state in COUNTED_STATES else None
            extra = f", {col} = {col} + excluded.{col}" if col else ""
            c.execute(
                f"INSERT INTO queue_counts(queue, total{', ' + col if col else ''}, last_ts) "
                f"VALUES (?, ?{', ?' if col else ''}, ?) ON CONFLICT(queue) DO UPDATE SET "
                f"total = total + excluded.total{extra}, "
                f"last_ts = max(coalesce(last_ts, 0), excluded.last_ts)",
                (queue, n, n, last) if col else (queue, n, last))

    def bump_state(self, c: sqlite3.Connection, queue: str, old: str | None,
                   new: str | None, n: int = 1) -> None:
        """Move `n` rows of `queue` between state counters (inside the caller's txn)."""
        if old == new:
            return
        sets = []
        if old in COUNTED_STATES:
            sets.append(f"{old} = max(0, {old} - {int(n)})")
        if new in COUNTED_STATES:
            sets.append(f"{new} = {new} + {int(n)}")
        if sets:
            c.execute(f"UPDATE queue_counts SET {', '.join(sets)} WHERE queue = ?", (queue,))

    def delete_rows(self, c: sqlite3.Connection, rowids: list[int]) -> None:
        """Delete rows (outbox cancel) keeping FTS and counters right (inside a txn)."""
        for rid in rowids:
            r = c.execute("SELECT queue, state, text, args FROM messages WHERE id = ?",
                          (rid,)).fetchone()
            if r is None:
                continue
            c.execute("INSERT INTO messages_fts(messages_fts, rowid, text, args) "
                      "VALUES ('delete', ?, ?, ?)", (rid, r[2], r[3]))
            c.execute("DELETE FROM messages WHERE id = ?", (rid,))
            c.execute("UPDATE queue_counts SET total = max(0, total - 1) WHERE queue = ?",
                      (r[0],))
            self.bump_state(c, r[0], r[1], None)

    def update_args(self, c: sqlite3.Connection, rowid: int, args: list[Any],
                    text: str | None) -> None:
        """Replace a row's args (outbox edit), re-indexing it for search."""
        r = c.execute("SELECT text, args FROM messages WHERE id = ?", (rowid,)).fetchone()
        if r is None:
            return
        new_args = jsonmod.dumps(args)
        c.execute("INSERT INTO messages_fts(messages_fts, rowid, text, args) "
                  "VALUES ('delete', ?, ?, ?)", (rowid, r[0], r[1]))
        c.execute("UPDATE messages SET args = ?, text = ?, updated = ? WHERE id = ?",
                  (new_args, text, time.time(), rowid))
        c.execute("INSERT INTO messages_fts(rowid, text, args) VALUES (?, ?, ?)",
                  (rowid, text, new_args))

    def apply_change(self, queue: str, msg_id: str, text: str | None, *,
                     user: str | None = None, outbox: bool = False) -> int:
        """An edit (`text`) or delete (None) of the message `msg_id` of `user`: rewrite its
        rows in `queue` (room rows, or with `outbox` the outbox row of our own message,
        and on a delete the text of our edits of it done before) to the latest state,
        re-indexed for search. Payload (`args[0]`) and `text`
        column get the new text and `edited: true`; a delete removes the text from both
        and sets `deleted: true`, so it can no longer be found. Returns the rows changed
        (0 when the message is not stored here)."""
        self.flush()
        sql = (f"SELECT id, args FROM messages WHERE queue = ? AND msg_id = ? AND "
               f"event = 'message' AND {'state' if outbox else 'room_offset'} IS NOT NULL")
        params: list[Any] = [queue, msg_id]
        if user is not None and not outbox:
            sql += " AND user = ?"
            params.append(user)
        with dbmod.transaction(self.conn) as c:
            rows = c.execute(sql, params).fetchall()
            for rowid, encoded in rows:
                args = jsonmod.loads(encoded)
                first = dict(args[0]) if args and isinstance(args[0], dict) else {}
                if text is None:
                    first.pop("text", None)
                    first.pop("edited", None)
                    first["deleted"] = True
                else:
                    first["text"] = text
                    first["edited"] = True
                rest = args[1:] if isinstance(args, list) else []
                self.update_args(c, rowid, [first, *rest], _storable(clip_text(text)))
            if outbox and text is None:
                # our earlier edits of it, done and kept in the outbox, hold its text too
                edits = c.execute(
                    "SELECT id, args FROM messages WHERE queue = ? AND event = 'edit' AND "
                    "state IN ('acked', 'failed') AND json_extract(args, '$[0].id') = ?",
                    (queue, msg_id)).fetchall()
                for rowid, encoded in edits:
                    args = jsonmod.loads(encoded)
                    first = {k: v for k, v in args[0].items() if k != "text"}
                    self.update_args(c, rowid, [first, *args[1:]], None)
        return len(rows)

    # ---- reading -------------------------------------------------------------------

    def queues(self) -> list[QueueInfo]:
        """Every queue with its counters, by name."""
        self.flush()
        rows = self.conn.execute(
            "SELECT queue, total, queued, sent, acked, failed, last_ts, no_ack "
            "FROM queue_counts WHERE total > 0 ORDER BY queue").fetchall()
        return [QueueInfo(*r) for r in rows]

    def queue_info(self, queue: str) -> QueueInfo:
        """Counters of one queue (zeros if it does not exist)."""
        self.flush()
        r = self.conn.execute(
            "SELECT queue, total, queued, sent, acked, failed, last_ts, no_ack "
            "FROM queue_counts WHERE queue = ?", (queue,)).fetchone()
        return QueueInfo(*r) if r else QueueInfo(queue, 0)

    def count(self, queue: str, search: str | None = None) -> int:
        """Messages in a queue (from the counter table), or matching `search` in it."""
        q = fts_query(search) if search else None
        if search and q is None:
            search = None
        if not search:
            return self.queue_info(queue).total
        self.flush()
        return int(self.conn.execute(
            "SELECT count(*) FROM messages WHERE queue = ? AND id IN "
            "(SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)",
            (queue, q)).fetchone()[0])

    def page(self, queue: str, after: int = 0, limit: int = 500, search: str | None = None,
             before: int | None = None, committed_only: bool = False) -> list[StoredMessage]:
        """Up to `limit` messages with rowid > `after` (and < `before`), oldest first.
        ``committed_only``: without committing the buffer first (a view that the next
        `stored` batch refreshes anyway), so a reader under a flood adds no commit."""
        return self._select(queue, after, before, search, limit, newest_first=False,
                            committed_only=committed_only)

    def page_end(self, queue: str, limit: int = 500, search: str | None = None,
                 before: int | None = None, committed_only: bool = False
                 ) -> list[StoredMessage]:
        """The last `limit` messages (before rowid `before`), oldest first: jump-to-end."""
        rows = self._select(queue, 0, before, search, limit, newest_first=True,
                            committed_only=committed_only)
        rows.reverse()
        return rows

    def _select(self, queue: str, after: int, before: int | None, search: str | None,
                limit: int, *, newest_first: bool, committed_only: bool = False
                ) -> list[StoredMessage]:
        """Keyset paging over one queue: rowid bounds and an optional FTS filter, so both
        ends of a million-row queue are an index range scan, never an OFFSET."""
        if not committed_only:
            self.flush()
        sql = f"SELECT {_COLUMNS} FROM messages WHERE queue = ? AND id > ?"
        params: list[Any] = [queue, after]
        if before is not None:
            sql += " AND id < ?"
            params.append(before)
        q = fts_query(search) if search else None
        if q:
            sql += " AND id IN (SELECT rowid FROM messages_fts WHERE messages_fts MATCH ?)"
            params.append(q)
        sql += " ORDER BY id DESC LIMIT ?" if newest_first else " ORDER BY id LIMIT ?"
        params.append(limit)
        return [_row(r) for r in self.conn.execute(sql, params)]

    def get(self, rowid: int) -> StoredMessage | None:
        """One message by rowid."""
        self.flush()
        r = self.conn.execute(f"SELECT {_COLUMNS} FROM messages WHERE id = ?",
                              (rowid,)).fetchone()
        return _row(r) if r else None

    def get_many(self, rowids: Iterable[int]) -> list[StoredMessage]:
        """Messages by rowid, in rowid order (a selection in the UI)."""
        out: list[StoredMessage] = []
        for rid in sorted(set(rowids)):
            m = self.get(rid)
            if m is not None:
                out.append(m)
        return out

    def iter_queue(self, queue: str | None = None, batch: int = 2000
                   ) -> Iterator[StoredMessage]:
        """Every message of one queue (or all queues), oldest first, in keyset batches."""
        self.flush()
        after = 0
        while True:
            if queue is None:
                rows = self.conn.execute(
                    f"SELECT {_COLUMNS} FROM messages WHERE id > ? ORDER BY id LIMIT ?",
                    (after, batch)).fetchall()
            else:
                rows = self.conn.execute(
                    f"SELECT {_COLUMNS} FROM messages WHERE queue = ? AND id > ? "
                    "ORDER BY id LIMIT ?", (queue, after, batch)).fetchall()
            if not rows:
                return
            for r in rows:
                yield _row(r)
            after = rows[-1][0]

    def rowids_after(self, after: int, limit: int) -> list[int]:
        """The next `limit` rowids of every queue after `after` (whole-store export)."""
        self.flush()
        return [r[0] for r in self.conn.execute(
            "SELECT id FROM messages WHERE id > ? ORDER BY id LIMIT ?", (after, limit))]

    # ---- small records: remembered rooms and facts about servers ------------------

    def rooms(self, namespace: str) -> list[tuple[str, int | None]]:
        """Remembered rooms of a namespace with their watermarks, oldest joined first."""
        return [(r[0], r[1]) for r in self.conn.execute(
            "SELECT room, last_offset FROM rooms WHERE namespace = ? ORDER BY joined_at",
            (namespace,))]

    def remember_room(self, namespace: str, room: str) -> None:
        """Add a room (committed at once: a room joined must be re-joined after a crash)."""
        self.conn.execute("INSERT OR IGNORE INTO rooms(namespace, room, last_offset, "
                          "joined_at) VALUES (?, ?, NULL, ?)", (namespace, room, time.time()))

    def forget_room(self, namespace: str, room: str) -> None:
        """Drop a room and its watermark."""
        self.conn.execute("DELETE FROM rooms WHERE namespace = ? AND room = ?",
                          (namespace, room))

    @staticmethod
    def save_watermark(c: sqlite3.Connection, namespace: str, room: str,
                       last: int | None) -> None:
        """Write one room's watermark inside the caller's (batch) transaction, so it is
        never on disk ahead of the messages it covers."""
        c.execute("UPDATE rooms SET last_offset = ? WHERE namespace = ? AND room = ?",
                  (last, namespace, room))

    def start_rooms_over(self, namespace: str) -> None:
        """The server's history was replaced (a new database under the same address):
        forget every watermark of the namespace, and let the stored room messages give
        up their offsets, so the new history's offsets 1, 2, ... are not taken for
        copies of old messages. The old messages stay, in their place, as they were."""
        self.flush()
        with dbmod.transaction(self.conn) as c:
            c.execute("UPDATE rooms SET last_offset = NULL WHERE namespace = ?", (namespace,))
            c.execute("UPDATE messages SET room_offset = NULL WHERE namespace = ? AND "
                      "queue >= 'room:' AND queue < 'room;' AND room_offset IS NOT NULL",
                      (namespace,))

    def meta(self, key: str) -> str | None:
        """A remembered fact (e.g. that a URL is a SockDesk server), or None."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Remember a fact (committed at once)."""
        self.conn.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))
