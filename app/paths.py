"""Where SockDesk keeps its data by default.

The data root holds the GUI's workspaces (`workspaces/<id>/`, see `app.workspace`) and the
CLI's per-server folders (`cli/<host_port>-<user>-<hash>/`). Each folder has its own
outbox, so a message written for one server can only ever be flushed to that server.
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
from pathlib import Path
from urllib.parse import urlsplit

APP_DIR_NAME = "sockdesk"
DB_NAME = "sockdesk.db"
#: the CLI's per-server data folders, under the data root
CLI_DIR_NAME = "cli"


def default_data_dir() -> Path:
    """The per-user data dir: $SOCKDESK_DATA_DIR, else the platform's usual place.

    Linux follows XDG ($XDG_DATA_HOME or ~/.local/share); macOS and Windows use their
    conventional application-data folders. Nothing is created here: `db.ensure_data_dir`
    does that with private permissions when something is actually written.
    """
    env = os.environ.get("SOCKDESK_DATA_DIR")
    if env:
        return Path(env).expanduser()
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "SockDesk"
    if sys.platform == "win32":
        base = os.environ.get("APPDATA")
        return (Path(base) if base else Path.home()) / "SockDesk"
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".local" / "share"
    return base / APP_DIR_NAME


def db_path(data_dir: Path | str) -> Path:
    """The one SQLite file holding store, outbox and remembered rooms."""
    return Path(data_dir) / DB_NAME


def server_key(url: str) -> str:
    """One spelling per server address, so `ws://h:80/` and `http://H` count as the same
    server when deciding which outbox a message belongs to (the query is not part of it:
    it is sent along, it does not choose the server)."""
    text = url.strip()
    try:
        parts = urlsplit(text)
        scheme = parts.scheme.lower()
        scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
        host = (parts.hostname or "").lower()
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError:  # a port that is not a number: keep the text, it stays distinct
        return text.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port}{parts.path.rstrip('/')}"


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-.")[:40]


def cli_data_dir(url: str, user: str | None, root: Path | None = None) -> Path:
    """The CLI's data folder for one server and user when no folder was chosen:
    `<root>/cli/<host_port>-<user>-<hash>`. Readable names for people listing the folder;
    the hash of the whole address and user keeps two servers apart even where the names
    alone would clash (same host and port behind different paths, odd characters)."""
    key = server_key(url)
    parts = urlsplit(key)
    host_port = _slug(f"{parts.hostname or 'server'}_{parts.port or ''}".rstrip("_"))
    digest = hashlib.sha256(f"{key}\n{user or ''}".encode()).hexdigest()[:10]
    name = "-".join(p for p in (host_port or "server", _slug(user or ""), digest) if p)
    return (root if root is not None else default_data_dir()) / CLI_DIR_NAME / name
