"""The workspaces of one app run: the saved ones, the servers SockDesk runs for them, and
the words the switcher shows for each.

A window shows one workspace at a time (``MainWindow.open_workspace``). What the windows
of a process share is here: the ``WorkspaceStore`` (``app.workspace``), the server of each
private or hosted workspace that was opened (a ``ui.hosting.HostedServer``, started only
then, and kept until the app quits, so switching back does not wait for it again), and
the last state each workspace was seen in, so the switcher can say "Team — 3 waiting,
server unreachable" about a workspace that is no longer open. What waits in a closed
workspace's outbox is read from its database read-only (``app.workspace.waiting_count``):
opening its outbox would rewrite its rows.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from PySide6.QtCore import QObject, Signal

from app.config import ConnectionConfig, ReconnectPolicy
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
    from ui.hosting import HostedServer, HostInfo
    from ui.server import EmbeddedServer
    from ui.settings import Settings

log = logging.getLogger(__name__)

#: the name of the workspace made on the first run (SockDesk's own server, for one user)
FIRST_RUN_NAME = "On this computer"
#: QSettings key set once the old connection settings were turned into workspaces
MIGRATED_KEY = "workspaces/migrated"
#: the bundled server's database in the data folder of versions before workspaces
OLD_SERVER_DB = "server.db"

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


# -- joining a hosted workspace ---------------------------------------------------------------

def joined_before(store: WorkspaceStore, url: str, user: str | None,
                  name: str | None = None) -> Workspace | None:
    """A saved workspace for somebody else's server at ``url`` as ``user`` (any user
    when None; named ``name`` when given), preferring the one used last: an invite used
    twice (a link clicked again) opens what the first use made."""
    found = [ws for ws in store.saved() if ws.server == ServerKind.REMOTE and url in ws.urls
             and (user is None or ws.user == user)
             and (name is None or ws.name.lower() == name.strip().lower())]
    last = store.last_id()
    return next((ws for ws in found if ws.id == last), found[0] if found else None)


def take_over(ws: Workspace, token: str | None, fingerprint: str | None, path: str) -> bool:
    """Take over what a newer invite says about the same server (a new token, a new
    certificate, another Socket.IO path); True when something changed."""
    changed = False
    if token and token != ws.token:
        ws.token, changed = token, True
    if fingerprint and fingerprint != ws.tls.fingerprint:
        ws.tls = dataclasses.replace(ws.tls, fingerprint=fingerprint)
        changed = True
    if path != ws.path:
        ws.path, changed = path, True
    return changed


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
        self._servers: dict[str, HostedServer] = {}
        self._starting: dict[str, asyncio.Task[HostInfo]] = {}
        self._states: dict[str, str] = {}
        #: hosted workspaces whose server started for the first time ever (it made its
        #: database) and whose window has not shown the invite yet
        self._first_starts: set[str] = set()
        #: team workspaces just made (hosted, or joined with an invite) whose window has
        #: not taken them into the team's first room yet
        self._new_teams: set[str] = set()

    # -- saved workspaces ---------------------------------------------------------------------
    def saved(self) -> list[Workspace]:
        return self.store.saved()

    def is_saved(self, ws: Workspace) -> bool:
        return self.store.find(ws.id) is not None

    def save(self, ws: Workspace) -> None:
        """Save (WorkspaceError with a sentence if it cannot be) and tell the switchers."""
        self.store.save(ws)
        self.changed.emit()

    async def delete(self, ws: Workspace) -> None:
        """Forget ``ws`` (its data folder stays on disk), stopping the server SockDesk
        runs for it first; the switchers are told."""
        task = self._starting.pop(ws.id, None)
        if task is not None:
            task.cancel()
        hosted = self._servers.pop(ws.id, None)
        if hosted is not None:
            with contextlib.suppress(Exception):
                await hosted.stop()
        self._states.pop(ws.id, None)
        self.store.delete(ws)
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

    def summary(self, ws: Workspace, waiting: int | None, state: str | None = None,
                with_user: bool = False) -> str:
        """"Team — 3 waiting, server unreachable", "Orders API — connected"; with
        ``with_user`` the name it connects as first ("Team (2) — as alice, offline")."""
        parts: list[str] = [f"as {ws.user}"] if with_user and ws.user else []
        if waiting is None:
            parts.append("outbox unreadable")
        elif waiting:
            parts.append(f"{waiting} waiting")
        state = state if state is not None else self.last_state(ws)
        if state:
            parts.append(state_words(state))
        return ws.name + (" — " + ", ".join(parts) if parts else "")

    # -- the servers SockDesk runs ---------------------------------------------------------
    # ``ui.hosting.HostedServer`` runs each one as its workspace wants it (a private one on
    # loopback; a hosted one on its interface and port, with its token and TLS); this
    # keeps one per workspace for the whole app run.

    def hosted(self, ws: Workspace) -> HostedServer | None:
        """The server of a private or hosted workspace, once it was opened."""
        return self._servers.get(ws.id)

    def server(self, ws: Workspace) -> EmbeddedServer | None:
        """Its process (the Learn tab stops and starts it to show reconnection)."""
        hosted = self._servers.get(ws.id)
        return hosted.server if hosted is not None else None

    def servers(self) -> list[HostedServer]:
        return list(self._servers.values())

    def host_info(self, ws: Workspace) -> HostInfo | None:
        """Where its server listens (and its certificate's fingerprint), while it runs."""
        hosted = self._servers.get(ws.id)
        return hosted.info if hosted is not None and hosted.running else None

    def launch(self, ws: Workspace, loop: asyncio.AbstractEventLoop) -> None:
        """Have ``ws``'s server start as soon as the loop runs, ahead of the rest of
        start-up (the app calls this before importing the GUI: the server needs about
        0.6 s to listen); ``server_url`` then waits for that start."""
        if ws.embedded and ws.id not in self._starting:
            self._starting[ws.id] = loop.create_task(self._start(ws))

    async def server_url(self, ws: Workspace) -> str:
        """Where this computer connects to ``ws``'s server, starting it (once) if need
        be; HostingError (a RuntimeError) with a sentence if it cannot start. Windows of
        one workspace share the one start."""
        hosted = self._servers.get(ws.id)
        if hosted is not None and hosted.running and hosted.info is not None:
            return hosted.info.url
        task = self._starting.get(ws.id)
        if task is None or task.done():
            task = asyncio.ensure_future(self._start(ws))
            self._starting[ws.id] = task
        return (await asyncio.shield(task)).url

    async def _start(self, ws: Workspace) -> HostInfo:
        from ui.hosting import HostedServer, server_db

        hosted = self._servers.get(ws.id)
        if hosted is None:
            hosted = self._servers[ws.id] = HostedServer(ws, self.data_dir(ws), self)
        else:
            hosted.ws = ws  # as last edited (name, token, port)
        # never hosted before: its server has no database yet (the New-workspace
        # dialog gives the workspace its token, so that says nothing)
        first = ws.server == ServerKind.HOST and not server_db(self.data_dir(ws)).exists()
        info = await hosted.start()
        if first:
            self._first_starts.add(ws.id)
        if ws.server == ServerKind.HOST and self.is_saved(ws):
            # a first start gives a hosted workspace its port and token: kept, so the
            # invites handed out stay valid
            with contextlib.suppress(WorkspaceError):
                self.save(hosted.ws)
        return info

    def made_for_a_team(self, ws: Workspace) -> None:
        """``ws`` was just made to host a team or to join one with an invite: its first
        opening takes the user into the team's room (``take_new_team``)."""
        self._new_teams.add(ws.id)

    def take_new_team(self, ws: Workspace) -> bool:
        """Whether ``ws`` is such a new team workspace (asked once)."""
        return _take_once(self._new_teams, ws.id)

    def first_start(self, ws: Workspace) -> bool:
        """Whether ``ws`` was just hosted for the first time (asked once: the window that
        shows it then offers the invite, as a new Slack workspace asks who to invite)."""
        return _take_once(self._first_starts, ws.id)

    async def stop_servers(self) -> None:
        for task in self._starting.values():
            task.cancel()
        for hosted in self._servers.values():
            with contextlib.suppress(Exception):
                await hosted.stop()

    def kill_servers(self) -> None:
        """Last resort at exit: never leave a child behind."""
        for hosted in self._servers.values():
            hosted.kill_now()


def _take_once(ids: set[str], wid: str) -> bool:
    """Whether ``wid`` is in ``ids``, taking it out: each is answered yes once."""
    if wid in ids:
        ids.discard(wid)
        return True
    return False


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
        if server_db and (old_root / OLD_SERVER_DB).is_file():
            from ui.hosting import server_db as hosted_db

            new = hosted_db(folder)
            new.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            for suffix in ("", "-wal", "-shm"):
                src = old_root / (OLD_SERVER_DB + suffix)
                dst = new.with_name(new.name + suffix)
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


def build_config(options: dict[str, Any]) -> ConnectionConfig:
    """An app.config.ConnectionConfig from an option dict (tests, the perf harness and
    the screenshot's simulated users build sessions this way)."""
    from ui.widgets.connection import DEFAULT_OPTIONS

    o = {**DEFAULT_OPTIONS, **options}
    return ConnectionConfig(
        url=o["url"], user=o["user"] or None, token=o["token"] or None,
        namespaces=list(o["namespaces"]), auth=dict(o["auth"]), headers=dict(o["headers"]),
        query=dict(o["query"]), transports=list(o["transports"]),
        reconnect=ReconnectPolicy(delay=float(o["delay"]), delay_max=float(o["delay_max"]),
                                  attempts=int(o["attempts"])),
        no_ack=bool(o["no_ack"]), ack_timeout=float(o["ack_timeout"]))


def shared_servers(listed: list[Workspace]) -> set[str]:
    """The addresses more than one of ``listed`` connects to: the switcher names the
    user of those (two workspaces on one server as two people read the same otherwise)."""
    seen: set[str] = set()
    shared: set[str] = set()
    for ws in listed:
        if not ws.embedded and ws.url:
            (shared if ws.url in seen else seen).add(ws.url)
    return shared
