"""Opening the SQLite file safely: private permissions, WAL, and explicit transactions.

The outbox promises that an accepted message survives `kill -9`. WAL with
synchronous=NORMAL gives exactly that (a committed transaction survives a process crash;
only an OS crash/power loss may drop the last few) while keeping a small commit cheap
enough to do on the event loop thread. The data may include private chats and a token
in the config, so the folder is 0700 and the files 0600.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from app.errors import SessionError
from app.paths import db_path


class StorageError(SessionError):
    """The data folder or its database cannot be used; str() is one sentence for a user.

    Raised instead of a bare OSError / sqlite3.Error so the CLI can print one line and
    the GUI can show one message, and so nobody is tempted to "fix" the file by
    recreating it: a database we cannot read is left exactly as it is.
    """


def explain(path: Path | str, exc: BaseException) -> str:
    """One sentence for a SQLite or OS error on the database at `path`."""
    text = str(exc).strip() or type(exc).__name__
    low = text.lower()
    if "locked" in low or "busy" in low:
        return (f"The database {path} is locked by another process (is another SockDesk "
                "or sockdesk-cli writing to this data folder?); try again when it is done.")
    if "not a database" in low or "malformed" in low or "corrupt" in low:
        return (f"The database {path} is not a SockDesk database or is corrupt; it was left "
                "untouched. Move it away or use another data folder.")
    if "readonly" in low or "read-only" in low or "permission" in low:
        return f"The database {path} cannot be written ({text})."
    if "full" in low or "too large" in low or "disk i/o" in low:
        return (f"Cannot write to the database {path}: the disk is full or the file size "
                f"limit was reached ({text}); that change was not saved.")
    return f"Cannot use the database {path}: {text}."


def ensure_data_dir(data_dir: Path | str) -> Path:
    """Create the data dir (and parents) with mode 0700; tighten it if it already exists."""
    path = Path(data_dir).expanduser()
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o700)
    return path


def _touch_private(path: Path) -> None:
    """Create `path` as 0600 before SQLite does, so it never exists world-readable.

    SQLite gives the -wal and -shm files the main file's permissions, so this covers them.
    """
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o600)


#: SQLite's page cache per connection (KiB): big for the inspector and the CLI, which
#: read far back in a large store
CACHE_KIB = 32_000
#: a live session's connection: it writes every packet and reads what is recent, and a
#: page cache fills as the file grows (~0.6 KB a received message in the B8 soak), so
#: 32 MB took ~45 min of chat to fill; 8 MB is reached early and then stays
SESSION_CACHE_KIB = 8_000


def connect(data_dir: Path | str, name: str | None = None,
            cache_kib: int = CACHE_KIB) -> sqlite3.Connection:
    """Open (creating if needed) the database in `data_dir`, set up for our use.

    Autocommit mode (isolation_level=None): every write goes through `transaction()`, so
    we decide exactly what one commit covers (one enqueue, or a whole batch).
    """
    try:
        folder = ensure_data_dir(data_dir)
    except OSError as exc:
        raise StorageError(f"Cannot use the data folder {data_dir}: "
                           f"{exc.strerror or exc}.") from None
    path = folder / name if name else db_path(folder)
    try:
        _touch_private(path)
    except OSError as exc:
        raise StorageError(f"Cannot create the database {path}: "
                           f"{exc.strerror or exc}.") from None
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        conn.execute("PRAGMA busy_timeout=10000")
        # The first read: a corrupt or foreign file fails here, before anything is
        # written to it (journal_mode=WAL would otherwise be the first write).
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA temp_store=MEMORY")
        conn.execute(f"PRAGMA cache_size=-{int(cache_kib)}")
    except sqlite3.Error as exc:
        conn.close()
        raise StorageError(explain(path, exc)) from None
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        if side.exists():
            with contextlib.suppress(OSError):
                os.chmod(side, 0o600)
    return conn


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT (ROLLBACK on error).

    IMMEDIATE takes the write lock up front, so two processes on one data dir (GUI and
    CLI) queue up on busy_timeout instead of failing half-way with SQLITE_BUSY.
    Nested use joins the outer transaction.
    """
    if conn.in_transaction:
        yield conn
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
