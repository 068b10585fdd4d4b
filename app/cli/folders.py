"""Data folders as the CLI sees them: what waits in one (read without side effects), which
server its outbox belongs to, and which folders exist.

Why a folder remembers its server: a message that could not be delivered waits in the
folder's outbox, and the next run on that folder flushes it. When that run points at a
different server, the message would reach a server it was never written for (a
"STAGING-ONLY" order reached production that way). The CLI's default folders are per
server and user, so this cannot happen by default; a folder chosen with --data-dir
records the server its waiting messages are for (`META_KEY` in the store's meta table),
and a run for another server is refused while they wait.
"""

from __future__ import annotations

import contextlib
import json
import shlex
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app import db as dbmod
from app.cli.common import CliError
from app.keys import Kind, QueueKey, parse_key
from app.paths import CLI_DIR_NAME, db_path, server_key
from app.store import MessageStore
from app.workspace import WorkspaceStore

#: the store meta key holding {"urls": [...], "user": ...}: the server this folder's
#: waiting messages are for
META_KEY = "cli:outbox-server"
BUSY_TIMEOUT_MS = 10_000


@dataclass
class Peek:
    """What one data folder holds, read without changing it. `readable` is False when
    the database could not be read (damaged, foreign): the session that opens it next
    says why in its own words."""

    exists: bool = False
    readable: bool = True
    #: outbox namespace -> (queued, sent, failed)
    outbox: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    server: dict[str, Any] | None = None

    @property
    def queued(self) -> int:
        return sum(q for q, _s, _f in self.outbox.values())

    @property
    def sent(self) -> int:
        return sum(s for _q, s, _f in self.outbox.values())

    @property
    def failed(self) -> int:
        return sum(f for _q, _s, f in self.outbox.values())

    @property
    def waiting(self) -> int:
        """Messages not done yet (queued, or written with no ack recorded yet): what the
        next flush sends."""
        return self.queued + self.sent

    def namespaces_waiting(self) -> list[str]:
        return sorted(ns for ns, (q, s, _f) in self.outbox.items() if q + s)

    @property
    def server_urls(self) -> list[str]:
        urls = (self.server or {}).get("urls")
        return [u for u in urls if isinstance(u, str)] if isinstance(urls, list) else []

    @property
    def server_user(self) -> str | None:
        user = (self.server or {}).get("user")
        return user if isinstance(user, str) else None


def peek(data_dir: Path) -> Peek:
    """The folder's outbox counters and recorded server, without creating or changing
    anything: no folder or database is made, no `sent` message is requeued (opening an
    `Outbox` would). A database locked by another process is an error (StorageError,
    one sentence), because guessing "nothing waits" could send to the wrong server."""
    path = db_path(data_dir)
    if not path.is_file():
        return Peek()
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=rw", uri=True,
                               isolation_level=None)
    except sqlite3.Error:
        return Peek(exists=True, readable=False)
    try:
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        return Peek(exists=True, outbox=_outbox_counts(conn), server=_server(conn))
    except sqlite3.Error as exc:
        if "locked" in str(exc).lower() or "busy" in str(exc).lower():
            raise dbmod.StorageError(dbmod.explain(path, exc)) from None
        return Peek(exists=True, readable=False)
    finally:
        conn.close()


def _outbox_counts(conn: sqlite3.Connection) -> dict[str, tuple[int, int, int]]:
    try:
        rows = conn.execute("SELECT queue, queued, sent, failed FROM queue_counts "
                            "WHERE queue >= 'outbox:' AND queue < 'outbox;'").fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return {}
        raise
    out: dict[str, tuple[int, int, int]] = {}
    for queue, queued, sent, failed in rows:
        key = parse_key(queue)
        if isinstance(key, QueueKey) and key.kind is Kind.OUTBOX:
            out[key.namespace] = (int(queued or 0), int(sent or 0), int(failed or 0))
    return out


def _server(conn: sqlite3.Connection) -> dict[str, Any] | None:
    try:
        row = conn.execute("SELECT value FROM meta WHERE key = ?", (META_KEY,)).fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None
        raise
    if row is None:
        return None
    with contextlib.suppress(ValueError, TypeError):
        value = json.loads(row[0])
        return value if isinstance(value, dict) else None
    return None


def same_server(a: list[str], b: list[str]) -> bool:
    """Two address lists name the same server when they share an address (a fail-over
    list and one of its addresses alone are the same server)."""
    return bool({server_key(u) for u in a} & {server_key(u) for u in b})


def check_outbox_server(data_dir: Path, urls: list[str]) -> Peek:
    """CliError when messages wait in this folder for another server than `urls`.

    A folder from before this record was kept has none: its messages are sent as before,
    and the folder is recorded once its outbox is empty (`record_outbox_server`)."""
    p = peek(data_dir)
    recorded = p.server_urls
    if p.waiting and recorded and not same_server(recorded, urls):
        n = p.waiting
        what, it = ("1 message", "it") if n == 1 else (f"{n} messages", "they")
        raise CliError(
            f"The data folder {data_dir} holds {what} waiting for {recorded[0]}; {it} "
            f"will not be sent to {urls[0]}: use another --data-dir for {urls[0]}, or "
            f"flush {'it' if n == 1 else 'them'} to {recorded[0]} first.")
    return p


def record_outbox_server(store: MessageStore, waiting: int, urls: list[str],
                         user: str | None) -> None:
    """Note which server this folder's outbox is for, before this run queues anything.

    Only an empty outbox is (re)assigned: while messages wait, the record names the
    server they were written for (`check_outbox_server` let this run through because it
    is that server), or, in a folder from before records were kept, nobody knows which
    server they were for, and naming one now would be a guess. Such a folder is
    recorded by the first run that finds it empty."""
    if waiting:
        return
    value = json.dumps({"urls": list(urls), "user": user}, sort_keys=True)
    if store.meta(META_KEY) != value:
        store.set_meta(META_KEY, value)


# ---- which folders exist --------------------------------------------------------------


@dataclass
class Folder:
    """A data folder found on disk, and the options that choose it."""

    path: Path
    options: str
    peek: Peek
    note: str = ""


def known_folders(root: Path, workspaces: WorkspaceStore) -> Iterator[Folder]:
    """Every data folder under the data root: the saved workspaces', the CLI's per-server
    ones, and the shared folder older versions used."""
    for ws in workspaces.saved():
        path = workspaces.data_dir(ws)
        yield Folder(path, f"-w {shlex.quote(ws.name)}", peek(path))
    cli_root = root / CLI_DIR_NAME
    if cli_root.is_dir():
        for path in sorted(cli_root.iterdir()):
            if not db_path(path).is_file():
                continue
            p = peek(path)
            if p.server_urls:
                options = " ".join(f"--url {shlex.quote(u)}" for u in p.server_urls[:1])
                if p.server_user:
                    options += f" --user {shlex.quote(p.server_user)}"
            else:
                options = f"--data-dir {shlex.quote(str(path))}"
            yield Folder(path, options, p)
    if db_path(root).is_file():
        yield Folder(root, f"--data-dir {shlex.quote(str(root))}", peek(root),
                     "the one folder every server shared before per-server folders")


def describe_waiting(p: Peek) -> str:
    """`3 waiting` (`, 1 failed` when some failed): what a person wants to know first."""
    if not p.readable:
        return "cannot be read"
    text = f"{p.waiting} waiting"
    if p.failed:
        text += f", {p.failed} failed"
    return text
