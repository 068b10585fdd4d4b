"""SQLite storage with group commit, checkpointed in the background.

One connection, used from one dedicated thread (a single-worker executor), does all the
work, so the event loop never blocks on disk. Operations queue up on the loop; a writer
task hands *all* pending operations to the thread as one batch, which runs them inside a
single transaction (again, with a savepoint per operation, if one of them failed: it
must not sink the others), commits once and only then resolves every caller's future.
Under load many acks share one commit; with one client nothing waits for a timer.
(Running small batches on the loop itself was tried: lower latency alone, but it
halved fan-out throughput, because SQLite releases the GIL and the thread overlaps with
the loop's work.)

WAL with ``synchronous=NORMAL``: a commit appends to the WAL through the OS cache, no
fsync. The fsyncs happen when the WAL is copied into the database (a checkpoint), and
with SQLite's automatic checkpoints they happened inside a commit every ~1,000 pages:
every message of the batch waited for them, which was most of B2's p99 latency. So the
writer connection never checkpoints (``wal_autocheckpoint=0``); a second connection
does, in a thread of its own, after every CHECKPOINT_EVERY writes, in ``PASSIVE`` mode,
which never blocks the writer (it keeps appending meanwhile).

A PASSIVE checkpoint alone never lets the WAL start over under steady load: SQLite
rewinds it only when a write begins with every frame copied, and the writer has always
appended more by the time the background copy ends, so the file grew for as long as the
load lasted (54 MB in the first 8 minutes of the B8 soak). So once the WAL holds more
than WAL_RESET_FRAMES, the writer thread itself copies the few frames left between two
batches (nothing else writes then), and its next transaction rewinds the WAL, which
``journal_size_limit`` then cuts back.

Durability: a committed transaction survives the process being killed (it may not
survive power loss, which is fine for this server). A second server on the same file
fails fast: the process holds an exclusive lock on ``<db>.lock`` while it runs (and
removes it when it stops). SQLite's own exclusive locking mode would do that too, but
it also shuts out our checkpoint connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import sqlite3
import sys
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from server_stub import jsonmod
from server_stub.storage.base import (
    AppendResult,
    ChangeKind,
    ChangeResult,
    ChatMessage,
    DirectMessage,
    DmResult,
    HistoryPage,
    PublishResult,
    QueueRecord,
    QueueSnapshot,
    QueueStore,
    Storage,
    StorageError,
)
from server_stub.validation import folded

log = logging.getLogger(__name__)

T = TypeVar("T")
Op = Callable[[sqlite3.Connection], Any]

#: Writes between two background checkpoints (a few MB of WAL at chat message sizes).
CHECKPOINT_EVERY = 2000
#: A WAL longer than this (pages) is caught up and rewound by the writer (docstring).
WAL_RESET_FRAMES = 4096
#: What a rewound WAL file is truncated to, bytes.
WAL_SIZE_LIMIT = 16 * 1024 * 1024

#: Marks our files (``PRAGMA application_id``) so we never adopt someone else's database.
APPLICATION_ID = 0x534B4453  # "SKDS"
#: 2 added ``server_meta`` and ``name_claims``. A server that only knows 1 refuses such a
#: file rather than serve it while ignoring the claims people made on it.
#: 3 added edits and deletes (``chat_changes``, ``reply_to``/``edited``/``deleted``) and
#: ``chat_users``: an older server would serve deleted messages as empty ones.
SCHEMA_VERSION = 3

SCHEMA = """
CREATE TABLE IF NOT EXISTS chat_rooms (
    room TEXT PRIMARY KEY,
    last_offset INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS chat_messages (
    room TEXT NOT NULL,
    msg_offset INTEGER NOT NULL,
    sender TEXT NOT NULL,
    msg_id TEXT NOT NULL,
    body TEXT NOT NULL,
    ts TEXT NOT NULL,
    reply_to TEXT,
    edited INTEGER NOT NULL DEFAULT 0,
    deleted INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (room, msg_offset)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS chat_messages_dedupe ON chat_messages (sender, msg_id);
CREATE TABLE IF NOT EXISTS chat_changes (
    room TEXT NOT NULL,
    msg_offset INTEGER NOT NULL,
    sender TEXT NOT NULL,
    msg_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT,
    ts TEXT NOT NULL,
    target INTEGER NOT NULL,
    PRIMARY KEY (room, msg_offset)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS chat_changes_target ON chat_changes (room, target);
CREATE TABLE IF NOT EXISTS chat_users (
    name TEXT PRIMARY KEY,
    last_seen TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS direct_messages (
    n INTEGER PRIMARY KEY,
    sender TEXT NOT NULL,
    msg_id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    body TEXT NOT NULL,
    ts TEXT NOT NULL,
    delivered INTEGER NOT NULL DEFAULT 0,
    UNIQUE (sender, msg_id)
);
CREATE INDEX IF NOT EXISTS direct_messages_pending ON direct_messages (recipient, delivered);
CREATE TABLE IF NOT EXISTS queues (
    queue TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL DEFAULT 0,
    acked INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS queue_messages (
    queue TEXT NOT NULL,
    seq INTEGER NOT NULL,
    msg_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    ts TEXT NOT NULL,
    rank INTEGER NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (queue, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS queue_ids (
    queue TEXT NOT NULL,
    msg_id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    PRIMARY KEY (queue, msg_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS server_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS name_claims (
    name TEXT PRIMARY KEY,
    secret TEXT NOT NULL
) WITHOUT ROWID;
"""

_CHAT_COLUMNS = "room, msg_offset, sender, msg_id, body, ts, reply_to, edited, deleted"
#: chat_changes rows in the shape of _CHAT_COLUMNS plus the kind (NULL for messages)
_CHANGE_COLUMNS = "room, msg_offset, sender, msg_id, body, ts, NULL, 0, 0, kind"
#: columns added to chat_messages by schema 3, added in place to older files
_ADDED_CHAT_COLUMNS = (("reply_to", "TEXT"), ("edited", "INTEGER NOT NULL DEFAULT 0"),
                       ("deleted", "INTEGER NOT NULL DEFAULT 0"))


def _chat(row: tuple[Any, ...]) -> ChatMessage:
    deleted = bool(row[8])
    return ChatMessage(room=row[0], offset=row[1], user=row[2], id=row[3],
                       text=None if deleted else row[4], ts=row[5], reply_to=row[6],
                       edited=bool(row[7]) and not deleted, deleted=deleted,
                       event=row[9] if len(row) > 9 else None)


def _last_offset(conn: sqlite3.Connection, room: str) -> int:
    row = conn.execute("SELECT last_offset FROM chat_rooms WHERE room = ?", (room,)).fetchone()
    return int(row[0]) if row else 0


def _next_offset(conn: sqlite3.Connection, room: str) -> int:
    """Take the room's next offset (messages and changes share the sequence)."""
    offset = _last_offset(conn, room) + 1
    conn.execute("INSERT INTO chat_rooms (room, last_offset) VALUES (?, ?) "
                 "ON CONFLICT (room) DO UPDATE SET last_offset = excluded.last_offset",
                 (room, offset))
    return offset


class SqliteStorage(Storage, QueueStore):
    """:class:`Storage` (and the dispatcher's :class:`QueueStore`) on one SQLite file,
    written by one thread with group commit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sockdesk-db")
        self._checkpoints = ThreadPoolExecutor(max_workers=1,
                                               thread_name_prefix="sockdesk-db-checkpoint")
        self._conn: sqlite3.Connection | None = None
        self._checkpointer: sqlite3.Connection | None = None
        self._checkpoint: asyncio.Future[None] | None = None
        self._writes_since_checkpoint = 0
        #: set by the checkpoint thread when the WAL is long: the writer catches it up
        self._catch_up = False
        self._lock_fd: int | None = None
        self._lock_path: Path | None = None
        self._pending: list[tuple[Op, asyncio.Future[Any]]] = []
        self._wakeup = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._closing = False
        #: Counters for logs and tests: batches and operations committed, checkpoints run.
        self.batches = 0
        self.operations = 0
        self.checkpoints = 0
        self.wal_rewinds = 0

    # -- lifecycle ---------------------------------------------------------------------
    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.run_in_executor(self._executor, self._open_sync)
        except BaseException:
            self._executor.shutdown(wait=False)
            self._checkpoints.shutdown(wait=False)
            raise
        self._writer = loop.create_task(self._write_loop(), name="sockdesk-db-writer")

    async def close(self) -> None:
        if self._closing:
            return
        self._closing = True
        self._wakeup.set()
        if self._writer is not None:
            await self._writer
        if self._checkpoint is not None:
            with contextlib.suppress(Exception):
                await self._checkpoint
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._close_sync)
        self._checkpoints.shutdown(wait=True)
        self._executor.shutdown(wait=True)
        log.info("database closed after %d batches / %d operations", self.batches,
                 self.operations)

    def _open_sync(self) -> None:
        path = self.path
        created = False
        if path.is_dir():
            raise StorageError(f"cannot open database {path}: it is a directory")
        if not path.exists():
            if not path.parent.is_dir():
                raise StorageError(
                    f"cannot create database {path}: folder {path.parent} does not exist")
            try:
                # Owner-only from the first byte; SQLite gives its -wal file the same mode.
                os.close(os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600))
                created = True
            except FileExistsError:
                pass
            except OSError as exc:
                raise StorageError(f"cannot create database {path}: {exc.strerror}") from exc
        try:
            self._lock(path)
            self._conn = self._connect(path)
            self._checkpointer = self._connect_checkpointer(path)
        except StorageError:
            self._close_sync()
            if created:
                path.unlink(missing_ok=True)
            raise

    def _lock(self, path: Path) -> None:
        """Hold ``<db>.lock`` exclusively: one server per database file."""
        lock_path = path.with_name(path.name + ".lock")
        try:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise StorageError(f"cannot create lock file {lock_path}: {exc.strerror}") from exc
        try:
            if sys.platform == "win32":
                import msvcrt
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            else:
                import fcntl
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise StorageError(f"database {path} is locked by another process "
                               "(is another sockdesk-server using it?)") from None
        self._lock_fd = fd
        self._lock_path = lock_path

    @staticmethod
    def _connect_checkpointer(path: Path) -> sqlite3.Connection:
        try:
            # opened here, used only by the checkpoint thread
            return sqlite3.connect(path, isolation_level=None, timeout=5,
                                   check_same_thread=False)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open database {path}: {exc}") from exc

    def _connect(self, path: Path) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(path, isolation_level=None, timeout=0.25)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open database {path}: {exc}") from exc
        try:
            # The first real read: fails on a locked, foreign or corrupt file, and
            # nothing has been written yet, so the file is left exactly as it was.
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if tables and app_id != APPLICATION_ID:
                raise StorageError(
                    f"database {path} was not created by sockdesk-server; refusing to use it")
            if version > SCHEMA_VERSION:
                raise StorageError(
                    f"database {path} was written by a newer sockdesk-server "
                    f"(schema {version}, this one knows {SCHEMA_VERSION})")
            check = conn.execute("PRAGMA quick_check").fetchall()
            if check != [("ok",)]:
                raise StorageError(f"database {path} is corrupt ({check[0][0]}); "
                                   "refusing to use it, the file was left untouched")
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise StorageError(f"database {path}: could not switch to WAL mode ({mode})")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA wal_autocheckpoint=0")  # see the module docstring
            conn.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
            conn.execute("BEGIN IMMEDIATE")
            self._create_schema(conn)
            # Made in the transaction that creates the file (or, for a file from before
            # schema 2, that upgrades it); never changed afterwards.
            conn.execute("INSERT OR IGNORE INTO server_meta (key, value) "
                         "VALUES ('history_id', ?)", (secrets.token_hex(16),))
            self.history_id = conn.execute(
                "SELECT value FROM server_meta WHERE key = 'history_id'").fetchone()[0]
            conn.execute(f"PRAGMA application_id={APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            conn.execute("COMMIT")
        except StorageError:
            conn.close()
            raise
        except sqlite3.Error as exc:
            conn.close()
            raise StorageError(self._explain(path, exc)) from exc
        return conn

    @staticmethod
    def _create_schema(conn: sqlite3.Connection) -> None:
        # executescript() would COMMIT our transaction first; run statement by statement.
        for statement in SCHEMA.split(";"):
            if statement.strip():
                conn.execute(statement)
        have = {r[1] for r in conn.execute("PRAGMA table_info(chat_messages)")}
        for column, kind in _ADDED_CHAT_COLUMNS:
            if column not in have:
                conn.execute(f"ALTER TABLE chat_messages ADD COLUMN {column} {kind}")

    @staticmethod
    def _explain(path: Path, exc: sqlite3.Error) -> str:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return (f"database {path} is locked by another process "
                    "(is another sockdesk-server using it?)")
        if "not a database" in text or "malformed" in text or "corrupt" in text:
            return (f"database {path} is not a valid SQLite database or is corrupt; "
                    "refusing to use it, the file was left untouched")
        if "readonly" in text:
            return f"database {path} is read-only: {text}"
        return f"cannot open database {path}: {text}"

    def _close_sync(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
        if self._conn is not None:
            self._conn.close()  # the last connection: SQLite checkpoints the WAL here
            self._conn = None
        if self._lock_fd is not None:
            # removed while still held, so the folder is left as we found it
            if self._lock_path is not None:
                self._lock_path.unlink(missing_ok=True)
            os.close(self._lock_fd)
            self._lock_fd = None

    # -- group commit ------------------------------------------------------------------
    def _submit(self, op: Callable[[sqlite3.Connection], T]) -> asyncio.Future[T]:
        """Queue ``op`` for the writer thread; the future resolves after the commit."""
        if self._closing and (self._writer is None or self._writer.done()):
            raise StorageError("the database is closed")
        fut: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._pending.append((op, fut))
        self._wakeup.set()
        return fut

    async def _write_loop(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._pending:
                if self._closing:
                    return
                self._wakeup.clear()
                await self._wakeup.wait()
                continue
            batch, self._pending = self._pending, []
            try:
                outcomes = await loop.run_in_executor(
                    self._executor, self._run_batch, [op for op, _ in batch])
            except Exception as exc:  # the thread itself failed; nothing was committed
                log.exception("database batch failed")
                outcomes = [(False, StorageError(f"database write failed: {exc}"))] * len(batch)
            self._writes_since_checkpoint += len(batch)
            if self._writes_since_checkpoint >= CHECKPOINT_EVERY:
                self._start_checkpoint(loop)
            for (_, fut), (ok, value) in zip(batch, outcomes, strict=True):
                if fut.done():  # the caller gave up (cancelled); the work is done anyway
                    continue
                if ok:
                    fut.set_result(value)
                else:
                    fut.set_exception(value)

    def _start_checkpoint(self, loop: asyncio.AbstractEventLoop) -> None:
        """Copy the WAL into the database in the worker thread, unless that is running."""
        if self._checkpoint is not None and not self._checkpoint.done():
            return
        self._writes_since_checkpoint = 0
        self._checkpoint = loop.run_in_executor(self._checkpoints, self._checkpoint_sync)
        self._checkpoint.add_done_callback(self._checkpoint_done)

    def _checkpoint_sync(self) -> None:
        if self._checkpointer is not None:
            row = self._checkpointer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            self.checkpoints += 1
            if row is not None and row[1] is not None and row[1] > WAL_RESET_FRAMES:
                self._catch_up = True

    @staticmethod
    def _checkpoint_done(fut: asyncio.Future[None]) -> None:
        if not fut.cancelled() and fut.exception() is not None:
            # the WAL keeps every write: nothing is lost, the next one will catch up
            log.warning("background checkpoint failed: %s", fut.exception())

    def _run_batch(self, ops: list[Op]) -> list[tuple[bool, Any]]:
        """Writer thread: run every op in one transaction and commit once.

        Operations almost never fail, so the batch first runs them plainly; only if one
        raises is the transaction rolled back and the batch run again with a savepoint
        per op, so that the failing one does not sink the others. (A savepoint and its
        release around every op were a quarter of this thread's time in B1.) Every op
        only reads and writes through ``conn``, so running it again after the rollback
        does exactly what the first run would have done."""
        conn = self._conn
        if conn is None:
            return [(False, StorageError("the database is closed"))] * len(ops)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                results: list[tuple[bool, Any]] = [(True, op(conn)) for op in ops]
            except Exception:
                if conn.in_transaction:  # some errors end the transaction themselves
                    conn.execute("ROLLBACK")
                conn.execute("BEGIN IMMEDIATE")
                results = [self._isolated(conn, op) for op in ops]
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            log.error("database commit failed: %s", exc)
            return [(False, StorageError(f"database commit failed: {exc}"))] * len(ops)
        self.batches += 1
        self.operations += len(ops)
        if self._catch_up:
            self._catch_up = False
            self._rewind_wal(conn)
        return results

    @staticmethod
    def _isolated(conn: sqlite3.Connection, op: Op) -> tuple[bool, Any]:
        """One op in a savepoint of its own: its failure undoes only its own writes."""
        conn.execute("SAVEPOINT op")
        try:
            value = op(conn)
        except Exception as exc:
            conn.execute("ROLLBACK TO op")
            conn.execute("RELEASE op")
            log.error("database operation failed: %s", exc)
            return False, StorageError(f"database operation failed: {exc}")
        conn.execute("RELEASE op")
        return True, value

    def _rewind_wal(self, conn: sqlite3.Connection) -> None:
        """Writer thread, between batches: copy what the background checkpoint left, so
        the next transaction starts the WAL over (module docstring)."""
        try:
            busy, _log, _done = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:  # the next long WAL tries again
            log.warning("WAL catch-up failed: %s", exc)
            return
        if not busy:
            self.wal_rewinds += 1

    # -- /chat rooms -------------------------------------------------------------------
    def append_chat_message(self, room: str, user: str, msg_id: str, text: str,
                            ts: str, reply_to: str | None = None) -> Awaitable[AppendResult]:
        def op(conn: sqlite3.Connection) -> AppendResult:
            row = conn.execute(
                f"SELECT {_CHAT_COLUMNS} FROM chat_messages WHERE sender = ? AND msg_id = ?",
                (user, msg_id)).fetchone()
            if row:
                return AppendResult(_chat(row), duplicate=True)
            offset = _next_offset(conn, room)
            conn.execute(f"INSERT INTO chat_messages ({_CHAT_COLUMNS}) "
                         "VALUES (?, ?, ?, ?, ?, ?, ?, 0, 0)",
                         (room, offset, user, msg_id, text, ts, reply_to))
            return AppendResult(ChatMessage(room, offset, user, msg_id, text, ts,
                                            reply_to=reply_to), False)

        return self._submit(op)

    def change_chat_message(self, room: str, user: str, msg_id: str, kind: ChangeKind,
                            text: str | None, ts: str) -> Awaitable[ChangeResult]:
        def op(conn: sqlite3.Connection) -> ChangeResult:
            row = conn.execute(
                f"SELECT {_CHAT_COLUMNS} FROM chat_messages WHERE sender = ? AND msg_id = ? "
                "AND room = ?", (user, msg_id, room)).fetchone()
            if row is None:
                # Someone else's message of that room (a rare path: a scan of the room).
                other = conn.execute("SELECT 1 FROM chat_messages WHERE room = ?1 AND "
                                     "msg_id = ? LIMIT 1", (room, msg_id)).fetchone()
                return ChangeResult("forbidden" if other else "not_found")
            target = _chat(row)
            latest = conn.execute(
                f"SELECT {_CHANGE_COLUMNS} FROM chat_changes WHERE room = ? AND target = ? "
                "ORDER BY msg_offset DESC LIMIT 1", (room, target.offset)).fetchone()
            earlier = _chat(latest) if latest else target
            if target.deleted:
                return ChangeResult("repeated", earlier) if kind == "delete" \
                    else ChangeResult("deleted")
            if kind == "edit" and text == target.text:
                return ChangeResult("repeated", earlier)
            offset = _next_offset(conn, room)
            conn.execute("INSERT INTO chat_changes (room, msg_offset, sender, msg_id, kind, "
                         "body, ts, target) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         (room, offset, user, msg_id, kind, text, ts, target.offset))
            if kind == "edit":
                conn.execute("UPDATE chat_messages SET body = ?, edited = 1 "
                             "WHERE room = ? AND msg_offset = ?", (text, room, target.offset))
            else:
                # The text leaves the history: the message's and its earlier edits'.
                conn.execute("UPDATE chat_messages SET body = '', deleted = 1 "
                             "WHERE room = ? AND msg_offset = ?", (room, target.offset))
                conn.execute("UPDATE chat_changes SET body = NULL "
                             "WHERE room = ? AND target = ?", (room, target.offset))
            return ChangeResult("changed", ChatMessage(room, offset, user, msg_id, text, ts,
                                                       event=kind))

        return self._submit(op)

    def find_chat_message(self, user: str, msg_id: str) -> Awaitable[ChatMessage | None]:
        def op(conn: sqlite3.Connection) -> ChatMessage | None:
            row = conn.execute(
                f"SELECT {_CHAT_COLUMNS} FROM chat_messages WHERE sender = ? AND msg_id = ?",
                (user, msg_id)).fetchone()
            return _chat(row) if row else None

        return self._submit(op)

    def chat_history(self, room: str, since: int | None, limit: int) -> Awaitable[HistoryPage]:
        both = (f"SELECT {_CHAT_COLUMNS}, NULL FROM chat_messages WHERE room = ?1 AND "
                f"msg_offset > ?2 UNION ALL SELECT {_CHANGE_COLUMNS} FROM chat_changes "
                "WHERE room = ?1 AND msg_offset > ?2 ORDER BY 2")

        def op(conn: sqlite3.Connection) -> HistoryPage:
            last = _last_offset(conn, room)
            if since is None:
                rows = conn.execute(f"{both} DESC LIMIT ?3", (room, 0, limit)).fetchall()
                return HistoryPage([_chat(r) for r in reversed(rows)], last, more=False)
            rows = conn.execute(f"{both} LIMIT ?3", (room, since, limit + 1)).fetchall()
            more = len(rows) > limit
            return HistoryPage([_chat(r) for r in rows[:limit]], last, more=more)

        return self._submit(op)

    def room_offsets(self) -> Awaitable[dict[str, int]]:
        def op(conn: sqlite3.Connection) -> dict[str, int]:
            return dict(conn.execute("SELECT room, last_offset FROM chat_rooms").fetchall())

        return self._submit(op)

    def forget_room(self, room: str, marker: str) -> Awaitable[int | None]:
        def op(conn: sqlite3.Connection) -> int | None:
            foreign = conn.execute(
                "SELECT 1 FROM chat_messages WHERE room = ?1 AND "
                "substr(sender, -length(?2)) != ?2 LIMIT 1", (room, marker)).fetchone()
            if foreign:
                return None
            removed = 0
            for table in ("chat_messages", "chat_changes"):
                removed += conn.execute(f"DELETE FROM {table} WHERE room = ?",
                                        (room,)).rowcount
            conn.execute("DELETE FROM chat_rooms WHERE room = ?", (room,))
            return removed

        return self._submit(op)

    def mark_broadcast(self, msg: ChatMessage) -> Awaitable[None]:
        """Nothing to remember: one process, whose crash disconnects every client."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        done.set_result(None)
        return done

    # -- /chat direct messages ---------------------------------------------------------
    def store_dm(self, user: str, to: str, msg_id: str, text: str,
                 ts: str) -> Awaitable[DmResult]:
        def op(conn: sqlite3.Connection) -> DmResult:
            row = conn.execute(
                "SELECT sender, recipient, msg_id, body, ts FROM direct_messages "
                "WHERE sender = ? AND msg_id = ?", (user, msg_id)).fetchone()
            if row:
                return DmResult(DirectMessage(*row), duplicate=True)
            conn.execute("INSERT INTO direct_messages (sender, msg_id, recipient, body, ts) "
                         "VALUES (?, ?, ?, ?, ?)", (user, msg_id, to, text, ts))
            return DmResult(DirectMessage(user, to, msg_id, text, ts), duplicate=False)

        return self._submit(op)

    def pending_dms(self, to: str) -> Awaitable[list[DirectMessage]]:
        def op(conn: sqlite3.Connection) -> list[DirectMessage]:
            rows = conn.execute(
                "SELECT sender, recipient, msg_id, body, ts FROM direct_messages "
                "WHERE recipient = ? AND delivered = 0 ORDER BY n", (to,)).fetchall()
            return [DirectMessage(*row) for row in rows]

        return self._submit(op)

    def mark_dms_delivered(self, keys: list[tuple[str, str]]) -> Awaitable[None]:
        def op(conn: sqlite3.Connection) -> None:
            conn.executemany("UPDATE direct_messages SET delivered = 1 "
                             "WHERE sender = ? AND msg_id = ?", keys)

        return self._submit(op)

    # -- /chat users --------------------------------------------------------------------
    def touch_user(self, user: str, ts: str) -> Awaitable[None]:
        def op(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO chat_users (name, last_seen) VALUES (?, ?) "
                         "ON CONFLICT (name) DO UPDATE SET last_seen = excluded.last_seen",
                         (user, ts))

        return self._submit(op)

    def chat_users(self) -> Awaitable[dict[str, str | None]]:
        def op(conn: sqlite3.Connection) -> dict[str, str | None]:
            return dict(conn.execute("SELECT name, last_seen FROM chat_users").fetchall())

        return self._submit(op)

    # -- claimed user names ------------------------------------------------------------
    def name_claim(self, user: str) -> Awaitable[str | None]:
        def op(conn: sqlite3.Connection) -> str | None:
            row = conn.execute("SELECT secret FROM name_claims WHERE name = ?",
                               (user,)).fetchone()
            return str(row[0]) if row else None

        return self._submit(op)

    def claim_name(self, user: str, secret: str) -> Awaitable[str]:
        def op(conn: sqlite3.Connection) -> str:
            conn.execute("INSERT OR IGNORE INTO name_claims (name, secret) VALUES (?, ?)",
                         (user, secret))
            return str(conn.execute("SELECT secret FROM name_claims WHERE name = ?",
                                    (user,)).fetchone()[0])

        return self._submit(op)

    # -- /queue ------------------------------------------------------------------------
    def load_queues(self) -> Awaitable[QueueSnapshot]:
        def op(conn: sqlite3.Connection) -> QueueSnapshot:
            snapshot = QueueSnapshot()
            for queue, acked in conn.execute("SELECT queue, acked FROM queues"):
                snapshot.acked[queue] = int(acked)
            rows = conn.execute(
                "SELECT queue, seq, msg_id, payload, attempt, ts, rank, state "
                "FROM queue_messages ORDER BY queue, rank")
            for queue, seq, msg_id, payload, attempt, ts, rank, state in rows:
                snapshot.messages.append(QueueRecord(
                    queue=queue, seq=seq, id=msg_id, payload=jsonmod.loads(payload),
                    attempt=attempt, ts=ts, rank=rank, state=state))
            return snapshot

        return self._submit(op)

    def publish(self, queue: str, msg_id: str, payload: Any, ts: str,
                rank: int) -> Awaitable[PublishResult]:
        encoded = jsonmod.dumps(payload)  # on the loop: fails early, before the batch

        def op(conn: sqlite3.Connection) -> PublishResult:
            row = conn.execute("SELECT seq FROM queue_ids WHERE queue = ? AND msg_id = ?",
                               (queue, msg_id)).fetchone()
            if row:
                return PublishResult(seq=int(row[0]), duplicate=True)
            row = conn.execute("SELECT last_seq FROM queues WHERE queue = ?",
                               (queue,)).fetchone()
            seq = (int(row[0]) if row else 0) + 1
            conn.execute("INSERT INTO queues (queue, last_seq) VALUES (?, ?) ON CONFLICT (queue) "
                         "DO UPDATE SET last_seq = excluded.last_seq", (queue, seq))
            conn.execute("INSERT INTO queue_messages (queue, seq, msg_id, payload, attempt, ts, "
                         "rank, state) VALUES (?, ?, ?, ?, 1, ?, ?, 'ready')",
                         (queue, seq, msg_id, encoded, ts, rank))
            conn.execute("INSERT INTO queue_ids (queue, msg_id, seq) VALUES (?, ?, ?)",
                         (queue, msg_id, seq))
            return PublishResult(seq=seq, duplicate=False)

        return self._submit(op)

    def save_queue_messages(self, records: list[QueueRecord]) -> Awaitable[None]:
        params = [(r.attempt, r.rank, r.state, r.queue, r.seq) for r in records]

        def op(conn: sqlite3.Connection) -> None:
            conn.executemany("UPDATE queue_messages SET attempt = ?, rank = ?, state = ? "
                             "WHERE queue = ? AND seq = ?", params)

        return self._submit(op)

    def delete_queue_messages(self, queue: str, seqs: list[int],
                              acked: int = 0) -> Awaitable[None]:
        params = [(queue, seq) for seq in seqs]

        def op(conn: sqlite3.Connection) -> None:
            conn.executemany("DELETE FROM queue_messages WHERE queue = ? AND seq = ?", params)
            if acked:
                conn.execute("INSERT INTO queues (queue, acked) VALUES (?, ?) ON CONFLICT (queue) "
                             "DO UPDATE SET acked = acked + excluded.acked", (queue, acked))

        return self._submit(op)

    def delete_queue(self, queue: str) -> Awaitable[None]:
        def op(conn: sqlite3.Connection) -> None:
            for table in ("queue_messages", "queue_ids", "queues"):
                conn.execute(f"DELETE FROM {table} WHERE queue = ?", (queue,))

        return self._submit(op)


def release_name(path: Path, user: str) -> bool:
    """Remove the claim on ``user`` from the database at ``path``; False if it had none.

    For ``sockdesk-server release-name``, which may run while a server serves that file:
    it does not take the server's ``<db>.lock`` but opens the file as a second SQLite
    connection (WAL lets it write beside the server's; the busy timeout covers a commit
    in progress). The server reads claims from the database at every connection, so the
    release holds from the next one on. The file must exist and be ours: a mistyped
    path must not create an empty database or touch another program's file.
    """
    if not path.is_file():
        raise StorageError(f"there is no database at {path}")
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True,
                               isolation_level=None, timeout=5)
    except sqlite3.Error as exc:
        raise StorageError(f"cannot open database {path}: {exc}") from exc
    try:
        if conn.execute("PRAGMA application_id").fetchone()[0] != APPLICATION_ID:
            raise StorageError(f"database {path} was not created by sockdesk-server")
        has_claims = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                                  "name = 'name_claims'").fetchone()
        if not has_claims:
            return False
        # the folded form (how claims are stored) and the exact one (older claims)
        return conn.execute("DELETE FROM name_claims WHERE name IN (?, ?)",
                            (user, folded(user))).rowcount > 0
    except sqlite3.Error as exc:
        raise StorageError(SqliteStorage._explain(path, exc)) from exc
    finally:
        conn.close()
