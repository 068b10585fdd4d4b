"""The store's tables, and how a database made by an older version is brought up to date.

`MessageStore` (``app.store``) calls `create_or_upgrade` when it opens a database: the
tables and indexes are made if missing (``CREATE ... IF NOT EXISTS``), then what was
added after the first release is added in place. Nothing here ever drops or rewrites
a user's rows.
"""

from __future__ import annotations

import sqlite3

from app import db as dbmod

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages(
    id INTEGER PRIMARY KEY,
    queue TEXT NOT NULL,
    direction TEXT NOT NULL,
    namespace TEXT NOT NULL,
    event TEXT NOT NULL,
    args TEXT NOT NULL,
    ts REAL NOT NULL,
    msg_id TEXT,
    room TEXT,
    room_offset INTEGER,
    user TEXT,
    text TEXT,
    recovered INTEGER NOT NULL DEFAULT 0,
    state TEXT,
    want_ack INTEGER,
    attempts INTEGER,
    error TEXT,
    expires REAL,
    reply TEXT,
    updated REAL,
    reply_args TEXT,
    ack_timeout REAL
);
CREATE INDEX IF NOT EXISTS messages_queue ON messages(queue, id);
CREATE UNIQUE INDEX IF NOT EXISTS messages_queue_offset
    ON messages(queue, room_offset) WHERE room_offset IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_pending
    ON messages(queue, id) WHERE state IN ('queued', 'sent');
CREATE INDEX IF NOT EXISTS messages_outbox_id
    ON messages(msg_id) WHERE state IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_room_id
    ON messages(queue, msg_id) WHERE room_offset IS NOT NULL;
CREATE TABLE IF NOT EXISTS queue_counts(
    queue TEXT PRIMARY KEY,
    total INTEGER NOT NULL DEFAULT 0,
    queued INTEGER NOT NULL DEFAULT 0,
    sent INTEGER NOT NULL DEFAULT 0,
    acked INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    last_ts REAL,
    no_ack INTEGER NOT NULL DEFAULT 0
);
CREATE VIRTUAL TABLE IF NOT EXISTS messages_fts USING fts5(
    text, args, content='messages', content_rowid='id'
);
CREATE TABLE IF NOT EXISTS rooms(
    namespace TEXT NOT NULL,
    room TEXT NOT NULL,
    last_offset INTEGER,
    joined_at REAL NOT NULL,
    PRIMARY KEY(namespace, room)
);
CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);
"""
#: columns added after the first release, with their types: a database made before
#: them gets them on open (ALTER TABLE ... ADD COLUMN, which SQLite does in place)
ADDED_COLUMNS = (("reply_args", "TEXT"), ("ack_timeout", "REAL"))


def create_or_upgrade(conn: sqlite3.Connection) -> None:
    """Make the tables if missing; give an older database what was added since."""
    conn.executescript(SCHEMA)
    have = {r[1] for r in conn.execute("PRAGMA table_info(messages)")}
    for name, kind in ADDED_COLUMNS:
        if name not in have:
            conn.execute(f"ALTER TABLE messages ADD COLUMN {name} {kind}")
    if not _has_no_ack_counter(conn):
        # counted since; an older database has them only in its rows: count once (in
        # the write lock: another process opening the same folder may do it first)
        with dbmod.transaction(conn) as c:
            if _has_no_ack_counter(c):
                return
            c.execute("ALTER TABLE queue_counts ADD COLUMN no_ack INTEGER NOT NULL "
                      "DEFAULT 0")
            c.execute("UPDATE queue_counts SET no_ack = (SELECT count(*) FROM messages "
                      "m WHERE m.queue = queue_counts.queue AND m.state = 'no_ack')")


def _has_no_ack_counter(c: sqlite3.Connection) -> bool:
    return any(r[1] == "no_ack" for r in c.execute("PRAGMA table_info(queue_counts)"))
