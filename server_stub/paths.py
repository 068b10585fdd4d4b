"""Where the server keeps its database when ``--db`` is not given.

The default lives in the per-user data directory of the platform, never in the current
directory: a server started from a random folder must not scatter databases around, and
another user on the machine must not be able to read the chat history.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_DIR_NAME = "sockdesk"
DB_FILE_NAME = "server.db"


def user_data_dir() -> Path:
    """The per-user application data directory for SockDesk on this platform."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA") or os.environ.get("APPDATA")
        root = Path(base) if base else Path.home() / "AppData" / "Local"
        return root / "SockDesk"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Application Support" / "SockDesk"
    xdg = os.environ.get("XDG_DATA_HOME", "")
    # The XDG spec says relative values are invalid and must be ignored.
    root = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".local" / "share"
    return root / APP_DIR_NAME


def default_db_path() -> Path:
    """``<user data dir>/server.db``; the directory is not created here."""
    return user_data_dir() / DB_FILE_NAME


def ensure_private_dir(path: Path) -> None:
    """Create ``path`` (and parents) if missing; the leaf is made owner-only (0700)."""
    if path.is_dir():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.mkdir(mode=0o700, exist_ok=True)


def user_cache_dir() -> Path:
    """The per-user cache directory for SockDesk: things the server can fetch again (the
    socket.io browser client), kept apart from the data folder so clearing caches never
    touches a database."""
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA")
        root = Path(base) if base else Path.home() / "AppData" / "Local"
        return root / "SockDesk" / "Cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "SockDesk"
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    root = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return root / APP_DIR_NAME
