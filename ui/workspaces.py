"""The workspaces of one app run: the saved ones, the servers SockDesk runs for them, and
the words the switcher shows for each.

A window shows one workspace at a time (``MainWindow.open_workspace``). What the windows
of a process share is here: the ``WorkspaceStore`` (``app.workspace``), the embedded server
of each private or hosted workspace that was opened (started only then, and kept until
the app quits, so switching back does not wait for it again), and the last state each
workspace was seen in, so the switcher can say "Team — 3 waiting, server unreachable"
about a workspace that is no longer open. What waits in a closed workspace's outbox is
read from its database read-only (``app.workspace.waiting_count``): opening its outbox
would rewrite its rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import socket
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from PySide6.QtCore import QObject, Signal

from app.config import ReconnectPolicy
from app.workspace import (
    SOCKDESK_NAMESPACES,
    ServerKind,
    Workspace,
    WorkspaceError,
    WorkspaceStore,
    slug,
    waiting_count,
)

if TYPE_CHECKING:
    from ui.server import EmbeddedServer
    from ui.settings import Settings

log = logging.getLogger(__name__)

#: the name of the workspace made on the first run (SockDesk's own server, for one user)
FIRST_RUN_NAME = "On this computer"
#: the environment variable the bundled server reads its token from (server_stub.cli)
SERVER_TOKEN_ENV = "SOCKDESK_SERVER_TOKEN"
#: QSettings key set once the old connection settings were turned into workspaces
MIGRATED_KEY = "workspaces/migrated"
PORT_FILE = "server.port"
SERVER_DB = "server.db"

STATE_WORDS = {"connected": "connected", "reconnecting": "server unreachable",
               "connecting": "connecting", "starting": "starting its server",
               "offline": "offline"}


def state_words(state: str) -> str:
    """A connection state as the switcher says it."""
    return STATE_WORDS.get(state, state)


def host_port(url: str) -> str:
    """``host:port`` of a URL (what a workspace for a hand-given server is named)."""
    parts = urlsplit(url)
    if not parts.hostname:
        return url
    port = parts.port or (443 if parts.scheme in ("https", "wss") else 80)
    return f"{parts.hostname}:{port}"


def unique_name(store: WorkspaceStore, base: str, own_id: str | None = None) -> str:
    """``base``, or ``base (2)``, ``base (3)``… whichever no other saved workspace has."""
    name, n = base, 1
    while True:
        other = store.find(name)
        if other is None or other.id == own_id:
            return name
        n += 1
        name = f"{base} ({n})"


def new_copy(ws: Workspace, **changes: Any) -> Workspace:
    """Another workspace like ``ws``: a new id (so its own data folder and outbox), a
    new name-claim key (made on first use)."""
    return dataclasses.replace(ws, id=uuid.uuid4().hex, created=time.time(), key=None,
                               **changes)


# -- the window's old option dicts ---------------------------------------------------------

def workspace_from_options(options: dict[str, Any], *, bundled: bool = False) -> Workspace:
    """A workspace (not saved) for the option dict windows were built from before
    workspaces (tests, ``--clients``, the perf harness).

    Its id is made from the user and the server, so the same options find the same data
    folder again (and so the same outbox); ``bundled`` makes it one per user whatever
    port the bundled server got.
    """
    url = str(options.get("url") or "")
    user = str(options.get("user") or "") or None
    where = "bundled" if bundled else host_port(url).replace(":", "_")
    rp = ReconnectPolicy()
    return Workspace(
        name=f"{user or 'anonymous'}@{where}", urls=[url] if url else [],
        namespaces=list(options.get("namespaces") or []), user=user,
        token=str(options.get("token") or "") or None,
        auth=dict(options.get("auth") or {}), headers=dict(options.get("headers") or {}),
        query=dict(options.get("query") or {}),
        transports=list(options.get("transports") or ["websocket", "polling"]),
        reconnect=ReconnectPolicy(delay=float(options.get("delay", rp.delay)),
                                  delay_max=float(options.get("delay_max", rp.delay_max)),
                                  attempts=int(options.get("attempts", rp.attempts))),
        ack_timeout=float(options.get("ack_timeout", 10.0)),
        id=slug(f"{user or 'anonymous'}@{where}"))


def options_of(ws: Workspace, url: str) -> dict[str, Any]:
    """The option dict of a workspace (what the Queues tab and the tests read)."""
    return {"url": url, "user": ws.user or "", "token": ws.token or "",
            "namespaces": list(ws.namespaces), "auth": dict(ws.auth),
            "headers": dict(ws.headers), "query": dict(ws.query),
            "transports": list(ws.transports), "delay": ws.reconnect.delay,
            "delay_max": ws.reconnect.delay_max, "attempts": ws.reconnect.attempts,
            "ack_timeout": ws.ack_timeout, "no_ack": False}


# -- the shared registry ---------------------------------------------------------------------

class Workspaces(QObject):
    """The store, the embedded servers and the last known states (see module doc)."""

    #: a workspace was saved (added or changed)
    changed = Signal()

    def __init__(self, store: WorkspaceStore, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self._servers: dict[str, EmbeddedServer] = {}
        self._starting: dict[str, asyncio.Task[str]] = {}
        self._states: dict[str, str] = {}

    # -- saved workspaces ---------------------------------------------------------------------
    def saved(self) -> list[Workspace]:
        return self.store.saved()

    def is_saved(self, ws: Workspace) -> bool:
        return self.store.find(ws.id) is not None

    def save(self, ws: Workspace) -> None:
        """Save (WorkspaceError with a sentence if it cannot be) and tell the switchers."""
        self.store.save(ws)
        self.changed.emit()

    def data_dir(self, ws: Workspace) -> Path:
        return self.store.data_dir(ws)

    def waiting(self, ws: Workspace) -> int | None:
        """Messages waiting in the outbox of a workspace that is not open (read-only)."""
        return waiting_count(self.data_dir(ws))

    # -- what the switcher says -------------------------------------------------------------
    def note_state(self, ws: Workspace, state: str) -> None:
        """The state a window saw this workspace in last (kept after it is closed)."""
        self._states[ws.id] = state

    def last_state(self, ws: Workspace) -> str | None:
        return self._states.get(ws.id)

    def summary(self, ws: Workspace, waiting: int | None, state: str | None = None) -> str:
        """"Team — 3 waiting, server unreachable", "Orders API — connected"."""
        parts: list[str] = []
        if waiting is None:
            parts.append("outbox unreadable")
        elif waiting:
            parts.append(f"{waiting} waiting")
        state = state if state is not None else self.last_state(ws)
        if state:
            parts.append(state_words(state))
        return ws.name + (" — " + ", ".join(parts) if parts else "")

    # -- the servers SockDesk runs ---------------------------------------------------------
    def server(self, ws: Workspace) -> EmbeddedServer | None:
        """The embedded server of a private or hosted workspace, once it was opened."""
        return self._servers.get(ws.id)

    def servers(self) -> list[EmbeddedServer]:
        return list(self._servers.values())

    def _make_server(self, ws: Workspace, port: int | None = None) -> EmbeddedServer:
        """The process for ``ws``'s server. A private one listens on loopback, on the port
        it had last time when that is free (the session remembers what it learnt about
        a server by its URL); a hosted one where its settings say.

        (A hosted workspace's TLS and invitations are ``ui.hosting``'s; this is the plain
        process, for the day that one takes over here.)
        """
        from ui.server import EmbeddedServer

        folder = self.data_dir(ws)
        extra: list[str] = []
        env: dict[str, str] = {}
        if ws.server == ServerKind.HOST:
            extra = ["--host", ws.host.interface, "--port", str(ws.host.port)]
            if ws.token:
                env[SERVER_TOKEN_ENV] = ws.token
        else:
            if port is None:
                port = self._last_port(ws)
            if port:
                extra = ["--port", str(port)]
        srv = EmbeddedServer(folder / SERVER_DB, self, *extra, env=env)
        self._servers[ws.id] = srv
        return srv

    def _last_port(self, ws: Workspace) -> int:
        try:
            port = int((self.data_dir(ws) / PORT_FILE).read_text().strip())
        except (OSError, ValueError):
            return 0
        return port if 0 < port < 65536 and port_free(port) else 0

    def launch(self, ws: Workspace, loop: asyncio.AbstractEventLoop) -> None:
        """Start the process of ``ws``'s server now, before the loop runs (the app does
        this before importing the rest of the GUI); ``server_url`` then waits for it."""
        if not ws.embedded or ws.id in self._servers:
            return
        srv = self._make_server(ws)
        try:
            srv.launch(loop)
        except OSError:
            log.debug("early launch of the server failed", exc_info=True)

    async def server_url(self, ws: Workspace) -> str:
        """Where ``ws``'s server listens, starting it (once) if need be; RuntimeError with
        a sentence if it cannot start. Windows of one workspace share the one task."""
        srv = self._servers.get(ws.id)
        if srv is not None and srv.running and srv.url:
            return self._client_url(ws, srv.url)
        task = self._starting.get(ws.id)
        if task is None or task.done():
            task = asyncio.ensure_future(self._start(ws))
            self._starting[ws.id] = task
        return self._client_url(ws, await asyncio.shield(task))

    async def _start(self, ws: Workspace) -> str:
        srv = self._servers.get(ws.id) or self._make_server(ws)
        try:
            url = await srv.start()
        except RuntimeError:
            if ws.server == ServerKind.HOST or "--port" not in srv.extra:
                raise
            # the remembered port was taken meanwhile: any free one will do
            self._servers.pop(ws.id, None)
            srv.deleteLater()
            srv = self._make_server(ws, port=0)
            url = await srv.start()
        port = urlsplit(url).port
        if port:
            with contextlib.suppress(OSError):
                folder = self.data_dir(ws)
                folder.mkdir(parents=True, exist_ok=True, mode=0o700)
                (folder / PORT_FILE).write_text(str(port))
        return url

    @staticmethod
    def _client_url(ws: Workspace, url: str) -> str:
        """Where this computer connects: loopback when the server listens everywhere."""
        parts = urlsplit(url)
        if parts.hostname in ("0.0.0.0", "::", "") and parts.port:
            return urlunsplit((parts.scheme, f"127.0.0.1:{parts.port}", parts.path, "", ""))
        return url

    async def stop_servers(self) -> None:
        for task in self._starting.values():
            task.cancel()
        for srv in self._servers.values():
            with contextlib.suppress(Exception):
                await srv.stop()

    def kill_servers(self) -> None:
        """Last resort at exit: never leave a child behind."""
        for srv in self._servers.values():
            srv.kill_now()


def port_free(port: int) -> bool:
    """Nothing listens on 127.0.0.1:``port`` right now (so a server may take it)."""
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# -- the first run and the settings of old versions -----------------------------------------

def private_workspace(user: str | None, name: str = FIRST_RUN_NAME) -> Workspace:
    """A workspace whose server SockDesk runs on this computer, for this user alone."""
    ws = Workspace(name=name, server=ServerKind.PRIVATE, user=user,
                   namespaces=list(SOCKDESK_NAMESPACES))
    if user:
        ws.ensure_key()
    return ws


def migrate_settings(store: WorkspaceStore, settings: Settings, old_root: Path) -> None:
    """Turn what versions before workspaces remembered into workspaces, once.

    They remembered a user name (for the bundled server) and recent URLs in QSettings,
    and kept each identity's outbox in ``<data>/profiles/<user>@<host>_<port>`` and the
    bundled server's database in ``<data>/server.db``. The bundled server becomes the
    private workspace (its database and outbox moved into the workspace's folder, so
    history and anything still waiting come along); each remembered server that is not
    on this computer becomes a workspace of its own. (Loopback URLs are left out: they
    were mostly the bundled server on the port of the day.)
    """
    if settings.get(MIGRATED_KEY):
        return
    settings.set(MIGRATED_KEY, "1")
    if store.saved():
        return
    user = settings.user or None
    recent = settings.recent_connections()
    if not user and not recent:
        return
    private = private_workspace(user)
    _move_old_data(old_root, store.data_dir(private), user or "anonymous", "bundled",
                   server_db=True)
    store.save(private)
    for entry in recent:
        url = str(entry.get("url") or "")
        host = urlsplit(url).hostname or ""
        if not url or host in ("127.0.0.1", "localhost", "::1", ""):
            continue
        who = str(entry.get("user") or user or "") or None
        ws = Workspace(name=unique_name(store, host_port(url)), urls=[url], user=who,
                       namespaces=[])
        try:
            ws.validate()
        except WorkspaceError:
            continue
        _move_old_data(old_root, store.data_dir(ws), who or "anonymous",
                       host_port(url).replace(":", "_"), server_db=False)
        store.save(ws)
    store.set_last(private)


def _move_old_data(old_root: Path, folder: Path, user: str, where: str,
                   server_db: bool) -> None:
    """Move an old identity's folder (and the bundled server's database) into a new
    workspace's folder, which does not exist yet; nothing is overwritten."""
    old = old_root / "profiles" / f"{user}@{where}"
    try:
        if old.is_dir() and not folder.exists():
            folder.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.replace(old, folder)
        if server_db and (old_root / SERVER_DB).is_file():
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            for suffix in ("", "-wal", "-shm"):
                src = old_root / (SERVER_DB + suffix)
                dst = folder / (SERVER_DB + suffix)
                if src.exists() and not dst.exists():
                    os.replace(src, dst)
    except OSError as exc:  # the old data stays where it was; the workspace starts empty
        log.warning("could not move %s into %s: %s", old, folder, exc)


def parse_pairs(items: list[str], sep: str, what: str) -> dict[str, str]:
    """``["A:1", "B:2"]`` into ``{"A": "1", "B": "2"}``; ValueError naming ``what``."""
    out: dict[str, str] = {}
    for item in items:
        name, found, value = item.partition(sep)
        if not found or not name.strip():
            raise ValueError(f"{what} must look like NAME{sep}VALUE, not {item!r}")
        out[name.strip()] = value.strip() if sep == ":" else value
    return out


def parse_auth(text: str) -> dict[str, Any]:
    """``--auth`` JSON: an object, or ValueError with a sentence."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"--auth is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise ValueError("--auth must be a JSON object, like {\"role\": \"admin\"}")
    return value
