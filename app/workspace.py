"""Workspaces: saved connections that own their messages.

A workspace is what a person chooses when they choose a server: its name, where it is
(one URL or several to fail over between), how to talk to it (path, namespaces, auth,
headers, query, transports, TLS, parser, delivery rule), who they are there, and whether
SockDesk runs that server itself (a private one, or one hosted for a team). Everything is
saved, so nothing is typed twice, and each workspace has its own data folder: its outbox,
its message store and its remembered rooms. A message is only ever sent by the session
of the workspace it was written in, so it cannot reach another server.

Files: `<config dir>/workspaces/<id>.json` (mode 0600), `<config dir>/state.json` (which
workspace was used last); data in `<data dir>/workspaces/<id>/`. Secrets go to the OS
keyring when there is one (`app.vault`), otherwise into the workspace file.
"""

from __future__ import annotations

import contextlib
import enum
import json
import os
import re
import secrets
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from app.config import ConnectionConfig, ReconnectPolicy, TlsSettings
from app.errors import check_url
from app.invite import Invite, normalize_fingerprint
from app.paths import db_path, default_data_dir
from app.vault import SecretBackend, system_keyring

FORMAT_VERSION = 1
#: the namespaces of SockDesk's own server (chat, work queues, and the sandbox `/`)
SOCKDESK_NAMESPACES = ["/chat", "/queue", "/"]
#: a fresh name-claim key: 32 random bytes, URL-safe (43 characters, over the 16 minimum)
KEY_BYTES = 32
_SECRET_NAMES = ("token", "key")


class WorkspaceError(Exception):
    """A workspace that cannot be found, saved or used; str() is a sentence."""


class Delivery(enum.StrEnum):
    """What the outbox does when an ack does not come (docs/DESIGN.md, "Delivery")."""

    #: resend until acked where the server says it drops duplicates, else send once
    AUTO = "auto"
    #: send once; a missing ack makes the message "no ack", resent only by the user
    ONCE = "once"
    #: resend until acked whatever the server (socket.io-client's `retries`)
    UNTIL_ACKED = "until_acked"


class ServerKind(enum.StrEnum):
    """Who runs the server."""

    REMOTE = "remote"    # somebody else's (joined, or any Socket.IO server)
    PRIVATE = "private"  # SockDesk's embedded server, on loopback, for this user alone
    HOST = "host"        # SockDesk's embedded server, listening for a team or a class


@dataclass
class HostSettings:
    """How the embedded server runs for a PRIVATE or HOST workspace."""

    interface: str = "127.0.0.1"
    port: int = 0            # 0: a free port each launch (private); hosts keep theirs
    tls: bool = False
    plain_http_ok: bool = False  # HOST beyond loopback without TLS, asked for explicitly
    #: sandbox namespaces relayed to the sender too (``--echo``: the socket.io tutorial's
    #: rule), switched in the Hosting menu and kept across restarts
    echo: list[str] = field(default_factory=list)


@dataclass
class Workspace:
    """One saved connection (see module doc). Secrets are fields too, but are never
    written into the JSON when a keyring holds them."""

    name: str
    urls: list[str] = field(default_factory=list)
    path: str = "/socket.io"
    namespaces: list[str] = field(default_factory=lambda: ["/"])
    user: str | None = None
    auth: dict[str, Any] = field(default_factory=dict)
    secret_auth: list[str] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    query: dict[str, str] = field(default_factory=dict)
    transports: list[str] = field(default_factory=lambda: ["websocket", "polling"])
    reconnect: ReconnectPolicy = field(default_factory=ReconnectPolicy)
    ack_timeout: float = 10.0
    delivery: Delivery = Delivery.AUTO
    parser: str = "default"
    tls: TlsSettings = field(default_factory=TlsSettings)
    server: ServerKind = ServerKind.REMOTE
    host: HostSettings = field(default_factory=HostSettings)
    token: str | None = field(default=None, repr=False)
    key: str | None = field(default=None, repr=False)
    #: send `key` to claim the user name: only towards SockDesk's own server (joined with
    #: an invite, or run by SockDesk); any other server would just be handed a secret
    claims_name: bool = False
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created: float = field(default_factory=time.time)

    @property
    def url(self) -> str:
        """The first URL (what a single-server workspace is known by)."""
        return self.urls[0] if self.urls else ""

    @property
    def embedded(self) -> bool:
        """True when SockDesk runs this workspace's server itself."""
        return self.server in (ServerKind.PRIVATE, ServerKind.HOST)

    def ensure_key(self) -> str:
        """The name-claim key, made on first use (per workspace and user)."""
        if not self.key:
            self.key = secrets.token_urlsafe(KEY_BYTES)
        return self.key

    def validate(self) -> None:
        """WorkspaceError with one sentence if this workspace cannot be used as it is."""
        if not self.name.strip():
            raise WorkspaceError("A workspace needs a name.")
        if not self.embedded and not self.urls:
            raise WorkspaceError(f"Workspace {self.name!r} has no server URL.")
        for url in self.urls:
            bad = check_url(url)
            if bad:
                raise WorkspaceError(bad)
        if self.tls.fingerprint:
            try:
                self.tls.fingerprint = normalize_fingerprint(self.tls.fingerprint)
            except ValueError as exc:
                raise WorkspaceError(str(exc)) from None
        if self.tls.ca_file and not Path(self.tls.ca_file).is_file():
            raise WorkspaceError(f"The CA file {self.tls.ca_file} does not exist.")
        if self.parser not in ("default", "msgpack"):
            raise WorkspaceError(f"Unknown parser {self.parser!r}: use default or msgpack.")

    def connection_config(self, url: str | None = None) -> ConnectionConfig:
        """The session's settings. `url` overrides the saved URLs (an embedded server
        that got a new port this launch)."""
        urls = [url] if url else list(self.urls)
        if not urls:
            raise WorkspaceError(f"Workspace {self.name!r} has no server URL.")
        auth = dict(self.auth)
        if self.key and self.user and (self.claims_name or self.embedded):
            auth["key"] = self.key
        return ConnectionConfig(
            url=urls[0], urls=urls, user=self.user, token=self.token,
            namespaces=list(self.namespaces), auth=auth, headers=dict(self.headers),
            query=dict(self.query), transports=list(self.transports),
            reconnect=ReconnectPolicy(**asdict(self.reconnect)),
            ack_timeout=self.ack_timeout, socketio_path=self.path.strip("/") or "socket.io",
            delivery=self.delivery.value, parser=self.parser,
            tls=TlsSettings(**asdict(self.tls)))

    # ---- (de)serialisation -----------------------------------------------------------

    def to_json(self, with_secrets: bool) -> dict[str, Any]:
        """The file form; secrets only when they are kept in the file."""
        data = asdict(self)
        for name in _SECRET_NAMES:
            data.pop(name, None)
        secret_auth = {k: self.auth[k] for k in self.secret_auth if k in self.auth}
        # a secret field keeps its place as a null: the auth object reaches the server
        # in the order it was written (loading fills the value in at that place)
        data["auth"] = {k: (None if k in self.secret_auth else v)
                        for k, v in self.auth.items()}
        data["version"] = FORMAT_VERSION
        if with_secrets:
            data["secrets"] = {"token": self.token, "key": self.key, "auth": secret_auth}
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Workspace:
        """A workspace from its file (unknown keys are ignored: newer versions may add)."""
        known = {f.name for f in fields(cls)}
        kw = {k: v for k, v in data.items() if k in known}
        kw["reconnect"] = ReconnectPolicy(**_known(ReconnectPolicy, kw.get("reconnect")))
        kw["tls"] = TlsSettings(**_known(TlsSettings, kw.get("tls")))
        kw["host"] = HostSettings(**_known(HostSettings, kw.get("host")))
        kw["delivery"] = Delivery(kw.get("delivery", Delivery.AUTO.value))
        kw["server"] = ServerKind(kw.get("server", ServerKind.REMOTE.value))
        ws = cls(**kw)
        stored = data.get("secrets") or {}
        ws.token = stored.get("token")
        ws.key = stored.get("key")
        ws.auth.update(stored.get("auth") or {})
        return ws

    def drop_unset_secrets(self) -> None:
        """Secret auth fields whose value was not found (their place-holding null)."""
        for k in self.secret_auth:
            if k in self.auth and self.auth[k] is None:
                del self.auth[k]


def _known(cls: type, value: Any) -> dict[str, Any]:
    names = {f.name for f in fields(cls)}
    return {k: v for k, v in (value or {}).items() if k in names}


def from_invite(invite: Invite, user: str, name: str | None = None) -> Workspace:
    """A workspace for a hosted SockDesk server, as its invite describes it."""
    ws = Workspace(name=name or invite.name or _host_of(invite.url), urls=[invite.url],
                   path=invite.path, namespaces=list(SOCKDESK_NAMESPACES), user=user,
                   token=invite.token, tls=TlsSettings(fingerprint=invite.fingerprint),
                   claims_name=True)
    ws.ensure_key()
    return ws


def _host_of(url: str) -> str:
    from urllib.parse import urlsplit

    return urlsplit(url).netloc or url


def default_config_dir() -> Path:
    """$SOCKDESK_CONFIG_DIR, else the platform's config folder (XDG on Linux)."""
    env = os.environ.get("SOCKDESK_CONFIG_DIR")
    if env:
        return Path(env).expanduser()
    if sys.platform in ("darwin", "win32"):
        return default_data_dir() / "config"
    xdg = os.environ.get("XDG_CONFIG_HOME")
    return (Path(xdg).expanduser() if xdg else Path.home() / ".config") / "sockdesk"


def slug(text: str) -> str:
    """A file-system-safe short form of a name or URL."""
    s = re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")
    return s[:60] or "x"


class WorkspaceStore:
    """The saved workspaces of one user (see module doc)."""

    def __init__(self, config_dir: Path | None = None, data_root: Path | None = None,
                 secrets_backend: SecretBackend | bool | None = True) -> None:
        """`secrets_backend`: a backend, None for "keep secrets in the file", or True
        for the OS keyring when one is usable."""
        self.config_dir = Path(config_dir) if config_dir else default_config_dir()
        self.data_root = Path(data_root) if data_root else default_data_dir()
        self.vault: SecretBackend | None = (system_keyring() if secrets_backend is True
                                            else secrets_backend or None)

    @property
    def secrets_where(self) -> str:
        """Where secrets are kept, in words for the dialog."""
        if self.vault is not None:
            return "in the system keyring"
        return f"in the workspace file (readable only by you) under {self.folder}"

    @property
    def folder(self) -> Path:
        return self.config_dir / "workspaces"

    def data_dir(self, ws: Workspace) -> Path:
        """The workspace's own data folder (outbox, store, remembered rooms)."""
        return self.data_root / "workspaces" / ws.id

    def _file(self, ws: Workspace) -> Path:
        return self.folder / f"{ws.id}.json"

    def _iter(self) -> Iterator[Workspace]:
        if not self.folder.is_dir():
            return
        for path in sorted(self.folder.glob("*.json")):
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                ws = Workspace.from_json(data)
            except (OSError, ValueError, TypeError) as exc:
                raise WorkspaceError(f"The workspace file {path} cannot be read: {exc}"
                                     ) from None
            self._load_secrets(ws)
            ws.drop_unset_secrets()
            yield ws

    def saved(self) -> list[Workspace]:
        """Every saved workspace, by name."""
        return sorted(self._iter(), key=lambda w: w.name.lower())

    def find(self, name_or_id: str) -> Workspace | None:
        """The workspace with that name (case-insensitive) or id, or None."""
        wanted = name_or_id.strip().lower()
        for ws in self._iter():
            if ws.id == name_or_id or ws.name.lower() == wanted:
                return ws
        return None

    def get(self, name_or_id: str) -> Workspace:
        """The workspace, or WorkspaceError naming the ones there are."""
        ws = self.find(name_or_id)
        if ws is None:
            names = ", ".join(w.name for w in self.saved()) or "none yet"
            raise WorkspaceError(f"There is no workspace named {name_or_id!r} "
                                 f"(saved: {names}).")
        return ws

    def save(self, ws: Workspace) -> Path:
        """Write the workspace (new or changed); its name must be unique."""
        ws.validate()
        other = self.find(ws.name)
        if other is not None and other.id != ws.id:
            raise WorkspaceError(f"A workspace named {ws.name!r} exists already.")
        in_file = self.vault is None
        if not in_file:
            self._store_secrets(ws)
        # not sort_keys: auth, headers and query keep the order the user wrote them in
        _write_private(self._file(ws), json.dumps(ws.to_json(with_secrets=in_file),
                                                  indent=2))
        return self._file(ws)

    def delete(self, ws: Workspace) -> None:
        """Forget a workspace (its data folder is left for the user to remove)."""
        self._file(ws).unlink(missing_ok=True)
        if self.vault is not None:
            for name in (*_SECRET_NAMES, *(f"auth.{k}" for k in ws.secret_auth)):
                self.vault.delete(f"{ws.id}:{name}")
        if self.last_id() == ws.id:
            self._write_state({})

    # ---- the last one used -----------------------------------------------------------

    def last_id(self) -> str | None:
        try:
            data = json.loads((self.config_dir / "state.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        value = data.get("last") if isinstance(data, dict) else None
        return value if isinstance(value, str) else None

    def last(self) -> Workspace | None:
        """The workspace used last, if it still exists."""
        wid = self.last_id()
        return self.find(wid) if wid else None

    def set_last(self, ws: Workspace) -> None:
        self._write_state({"last": ws.id})

    def _write_state(self, data: dict[str, Any]) -> None:
        _write_private(self.config_dir / "state.json", json.dumps(data))

    # ---- secrets -----------------------------------------------------------------------

    def _store_secrets(self, ws: Workspace) -> None:
        assert self.vault is not None
        values: dict[str, str | None] = {"token": ws.token, "key": ws.key}
        for k in ws.secret_auth:
            v = ws.auth.get(k)
            values[f"auth.{k}"] = None if v is None else json.dumps(v)
        for name, value in values.items():
            account = f"{ws.id}:{name}"
            if value is None:
                self.vault.delete(account)
            else:
                self.vault.set(account, value)

    def _load_secrets(self, ws: Workspace) -> None:
        if self.vault is None:
            return
        ws.token = self.vault.get(f"{ws.id}:token") or ws.token
        ws.key = self.vault.get(f"{ws.id}:key") or ws.key
        for k in ws.secret_auth:
            raw = self.vault.get(f"{ws.id}:auth.{k}")
            if raw is not None:
                with contextlib.suppress(ValueError):
                    ws.auth[k] = json.loads(raw)


def waiting_count(data_dir: Path) -> int | None:
    """How many messages wait in the outbox kept in `data_dir` (queued or sent, as the
    outbox's `depth()` counts), read without changing anything: None when it cannot be
    read, 0 when there is no database yet.

    For a workspace that is not open: opening an `Outbox` would rewrite its `sent` rows
    (requeue or give up), and its store would take the write lock; this only reads the
    per-queue counters, on a read-only connection.
    """
    path = db_path(data_dir)
    if not path.is_file():
        return 0
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=1.0)
    except sqlite3.Error:
        return None
    try:
        if conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                        "name = 'queue_counts'").fetchone() is None:
            return 0  # created, never written
        row = conn.execute("SELECT coalesce(sum(queued + sent), 0) FROM queue_counts "
                           "WHERE queue LIKE 'outbox:%'").fetchone()
        return int(row[0])
    except sqlite3.Error:  # locked beyond the timeout, damaged, not a database
        return None
    finally:
        conn.close()


def _write_private(path: Path, text: str) -> None:
    """Write a file readable only by its owner, atomically (a crash leaves the old one)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
