"""Where SockDesk keeps its data by default, so the GUI and the CLI share one outbox."""

from __future__ import annotations

import os
import sys
from pathlib import Path

APP_DIR_NAME = "sockdesk"
DB_NAME = "sockdesk.db"


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
