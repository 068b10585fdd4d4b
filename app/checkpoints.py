"""The store's WAL, copied into the database on a thread of its own.

A commit in WAL mode with ``synchronous=NORMAL`` only appends to the WAL file. The
expensive part is the checkpoint, which copies the WAL into the database and syncs it.
SQLite runs one inside whichever commit takes the WAL past 1,000 pages. In a live session
that commit is on the event loop, which is the GUI thread. Under a flood of 20,000
events a second, that was two or three commits a second, each taking 15-18 ms instead
of 4 ms: a dropped frame each time, and about half of all the time spent committing.

So the session's connection never checkpoints (``wal_autocheckpoint=0``). A second
connection does, in ``PASSIVE`` mode, which never blocks the writer. It runs on a daemon
thread, which looks every ``INTERVAL_S`` whether anyone committed since its last copy
(``PRAGMA data_version``, which changes with every other connection's commit: the
outbox's, the chat rooms', a CLI's on the same folder). SQLite releases the GIL while
it copies.

A PASSIVE checkpoint alone never lets the WAL start over under steady load. SQLite
rewinds it only when a write begins with every frame copied, and by the time a
background copy ends the writer has always appended more. Once the WAL holds more than
``REWIND_FRAMES``, ``rewind_due`` tells the writer to copy the few frames left itself,
between two commits, so that its next transaction starts the WAL over. The bundled
server does the same for its own database (``server_stub.storage.sqlite``); the two
cannot share code, because the server imports nothing from the app.

Durability is unchanged: a committed transaction is in the WAL, and a crash before the
copy loses nothing. SQLite replays the WAL when the database is next opened.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from pathlib import Path

log = logging.getLogger(__name__)

#: How often the thread looks for new commits to copy (s): a flood commits every few ms,
#: and a WAL of a quarter of a second of it is a few MB.
INTERVAL_S = 0.25
#: A WAL longer than this (pages) is caught up by the writer and so rewound (docstring).
REWIND_FRAMES = 4096
#: What a rewound WAL file is cut back to (bytes), for the writer's connection.
WAL_SIZE_LIMIT = 16 * 1024 * 1024


def database_file(conn: sqlite3.Connection) -> Path | None:
    """The file of ``conn``'s main database, or None for an in-memory one."""
    for _seq, name, file in conn.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return Path(file) if file else None
    return None


class BackgroundCheckpointer:
    """Checkpoints ``writer``'s database on a thread of its own (see the module doc).

    Takes over from SQLite's automatic checkpoints on ``writer`` when it starts. Call
    `rewind` between two commits when `rewind_due`, and `stop` before closing
    ``writer``.
    """

    def __init__(self, writer: sqlite3.Connection, reader: sqlite3.Connection) -> None:
        """``reader``: the thread's own connection to ``writer``'s database, which only
        this object uses from now on."""
        self._conn = reader
        self._stop = threading.Event()
        self._rewind = False
        #: background checkpoints run so far (tests, benchmarks)
        self.checkpoints = 0
        writer.execute("PRAGMA wal_autocheckpoint=0")
        writer.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
        self._thread = threading.Thread(target=self._run, name="sockdesk-checkpoint",
                                        daemon=True)
        self._thread.start()

    @classmethod
    def start_for(cls, writer: sqlite3.Connection) -> BackgroundCheckpointer | None:
        """One for ``writer``'s database if it is a WAL file, else None. Without one,
        SQLite's automatic checkpoints stay on."""
        path = database_file(writer)
        mode = writer.execute("PRAGMA journal_mode").fetchone()[0]
        if path is None or str(mode).lower() != "wal":
            return None
        try:
            reader = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            reader.execute("PRAGMA busy_timeout=1000")
        except sqlite3.Error as exc:
            log.warning("no background checkpoints for %s: %s", path, exc)
            return None
        return cls(writer, reader)

    @property
    def rewind_due(self) -> bool:
        """The WAL has grown past REWIND_FRAMES: the writer should call `rewind`."""
        return self._rewind

    def rewind(self, writer: sqlite3.Connection) -> None:
        """On the writer's thread, between two transactions: copy what the background
        checkpoint has not, so the next transaction starts the WAL over."""
        self._rewind = False
        try:
            writer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:  # the WAL keeps everything; the next one tries again
            log.warning("could not catch up the WAL: %s", exc)

    def stop(self) -> None:
        """End the thread (after the checkpoint it may be running) and close its
        connection. The writer's own close then copies what is left."""
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        conn = self._conn
        try:
            seen = None
            while not self._stop.wait(INTERVAL_S):
                try:
                    version = conn.execute("PRAGMA data_version").fetchone()[0]
                except sqlite3.Error as exc:  # e.g. the folder went away; retried
                    log.warning("background checkpoint: %s", exc)
                    continue
                if version != seen and self._checkpoint(conn):
                    seen = version  # a copy left unfinished is tried again
        finally:
            conn.close()

    def _checkpoint(self, conn: sqlite3.Connection) -> bool:
        """One PASSIVE checkpoint; False when it could not copy the whole WAL (another
        connection was checkpointing or a reader needed old frames, or an error), so
        that it is tried again even if nobody commits any more."""
        try:
            busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        except sqlite3.Error as exc:  # nothing is lost: the WAL keeps every commit
            log.warning("background checkpoint failed: %s", exc)
            return False
        self.checkpoints += 1
        if frames is not None and frames > REWIND_FRAMES:
            self._rewind = True
        return not busy and copied >= frames
