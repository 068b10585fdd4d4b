"""Settings (QSettings, organisation and application "SockDesk") and standard paths.

Set ``SOCKDESK_SETTINGS_DIR`` to keep settings in INI files under that folder instead of
the user's real configuration (the tests do).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QCoreApplication, QSettings, QStandardPaths

ORG = "SockDesk"
APP = "SockDesk"
RECENT_LIMIT = 10


def init_application_names() -> None:
    QCoreApplication.setOrganizationName(ORG)
    QCoreApplication.setApplicationName(APP)
    override = os.environ.get("SOCKDESK_SETTINGS_DIR")
    if override:
        isolate(Path(override))


_format = QSettings.Format.NativeFormat


def isolate(folder: Path) -> None:
    """Keep every SockDesk setting of this process in INI files under ``folder``."""
    global _format
    folder.mkdir(parents=True, exist_ok=True)
    _format = QSettings.Format.IniFormat
    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    for scope in (QSettings.Scope.UserScope, QSettings.Scope.SystemScope):
        QSettings.setPath(QSettings.Format.IniFormat, scope, str(folder))


def default_data_dir() -> Path:
    loc = QStandardPaths.writableLocation(QStandardPaths.StandardLocation.AppDataLocation)
    return Path(loc or Path.home() / ".local" / "share" / APP)


class Settings:
    """Typed access to the few things SockDesk remembers."""

    def __init__(self) -> None:
        # QSettings(ORG, APP) would ignore setDefaultFormat: name the format explicitly
        self.q = QSettings(_format, QSettings.Scope.UserScope, ORG, APP)

    # -- plain values ------------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        value = self.q.value(key, default)
        return default if value is None else value

    def set(self, key: str, value: Any) -> None:
        self.q.setValue(key, value)

    def get_json(self, key: str, default: Any) -> Any:
        raw = self.q.value(key)
        if not raw:
            return default
        try:
            return json.loads(str(raw))
        except ValueError:
            return default

    def set_json(self, key: str, value: Any) -> None:
        self.q.setValue(key, json.dumps(value))

    # -- the user ------------------------------------------------------------------------
    @property
    def user(self) -> str:
        return str(self.get("user", "") or "")

    @user.setter
    def user(self, name: str) -> None:
        self.set("user", name)

    # -- recent connections ---------------------------------------------------------------
    def recent_connections(self) -> list[dict[str, Any]]:
        items = self.get_json("connections/recent", [])
        return [i for i in items if isinstance(i, dict) and i.get("url")]

    def remember_connection(self, entry: dict[str, Any]) -> None:
        items = [i for i in self.recent_connections()
                 if (i.get("url"), i.get("user")) != (entry.get("url"), entry.get("user"))]
        items.insert(0, entry)
        self.set_json("connections/recent", items[:RECENT_LIMIT])

    # -- favourites of the Compose tab ---------------------------------------------------
    def favourites(self) -> list[dict[str, Any]]:
        return [f for f in self.get_json("compose/favourites", []) if isinstance(f, dict)]

    def set_favourites(self, items: list[dict[str, Any]]) -> None:
        self.set_json("compose/favourites", items)

    # -- the view: zoom and theme (View menu) ------------------------------------------------
    def zoom_percent(self, presenting: bool, default: int) -> int:
        """The zoom remembered for normal or presenter mode (each has its own)."""
        try:
            return int(self.get("view/zoom_present" if presenting else "view/zoom", default))
        except (TypeError, ValueError):
            return default

    def set_zoom_percent(self, presenting: bool, percent: int) -> None:
        self.set("view/zoom_present" if presenting else "view/zoom", int(percent))

    @property
    def theme(self) -> str:
        """"system", "light" or "dark"."""
        return str(self.get("view/theme", "system") or "system")

    @theme.setter
    def theme(self, mode: str) -> None:
        self.set("view/theme", mode)

    # -- geometry and splitters --------------------------------------------------------------
    def bytes_value(self, key: str) -> QByteArray | None:
        value = self.q.value(key)
        return value if isinstance(value, QByteArray) else None

    def sync(self) -> None:
        self.q.sync()
