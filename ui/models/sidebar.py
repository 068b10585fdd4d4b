"""Sidebar models: the namespace / room / DM tree, and the member list of a room.

Plain state for the views (keys, unread counts, readiness, who is online): the main
window and ``ui.conversations`` fill them, the sidebar and the chat pane paint them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, overload

from PySide6.QtCore import (
    QAbstractItemModel,
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
)

from ui.text import escape_controls, tooltip_text

_IDX = QModelIndex | QPersistentModelIndex

KindRole = Qt.ItemDataRole.UserRole + 1
KeyRole = Qt.ItemDataRole.UserRole + 2
UnreadRole = Qt.ItemDataRole.UserRole + 3
ReadyRole = Qt.ItemDataRole.UserRole + 4
OnlineRole = Qt.ItemDataRole.UserRole + 5
IsYouRole = Qt.ItemDataRole.UserRole + 6
MutedRole = Qt.ItemDataRole.UserRole + 7
#: unread messages of a conversation that mention you (``@you``)
MentionsRole = Qt.ItemDataRole.UserRole + 8

SECTION_NAMESPACES, SECTION_ROOMS, SECTION_DMS = range(3)
SECTION_TITLES = ("Namespaces", "Rooms", "Direct messages")
SECTION_KINDS = ("namespace", "room", "dm")


@dataclass(slots=True)
class SidebarEntry:
    kind: str
    key: str
    unread: int = 0
    ready: bool = False
    muted: bool = False
    #: how many of the unread messages mention you
    mentions: int = 0


class SidebarModel(QAbstractItemModel):
    """Three fixed sections; entries are children. internalId: 0 = section, n = section n-1."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._sections: list[list[SidebarEntry]] = [[], [], []]

    # -- editing ------------------------------------------------------------------------------
    def _find(self, section: int, key: str) -> int:
        for i, e in enumerate(self._sections[section]):
            if e.key == key:
                return i
        return -1

    def _section_of(self, kind: str) -> int:
        return SECTION_KINDS.index(kind)

    def add(self, kind: str, key: str, ready: bool = False) -> QModelIndex:
        section = self._section_of(kind)
        row = self._find(section, key)
        if row >= 0:
            return self.index(row, 0, self.index(section, 0))
        entries = self._sections[section]
        row = len(entries)
        # rooms and DMs stay sorted by name; namespaces in the order they were opened
        if kind != "namespace":
            row = next((i for i, e in enumerate(entries) if e.key.lower() > key.lower()), row)
        self.beginInsertRows(self.index(section, 0), row, row)
        entries.insert(row, SidebarEntry(kind, key, 0, ready))
        self.endInsertRows()
        return self.index(row, 0, self.index(section, 0))

    def remove(self, kind: str, key: str) -> None:
        section = self._section_of(kind)
        row = self._find(section, key)
        if row < 0:
            return
        self.beginRemoveRows(self.index(section, 0), row, row)
        del self._sections[section][row]
        self.endRemoveRows()

    def set_namespaces(self, names: list[str]) -> None:
        for name in names:
            self.add("namespace", name)
        for e in list(self._sections[SECTION_NAMESPACES]):
            if e.key not in names:
                self.remove("namespace", e.key)

    def set_ready(self, kind: str, key: str, ready: bool) -> None:
        self._update(kind, key, ready=ready)

    def set_muted(self, kind: str, key: str, muted: bool) -> None:
        """A muted room is drawn dimmed (its unread count is only mentions of you)."""
        self._update(kind, key, muted=muted)

    def set_unread(self, kind: str, key: str, unread: int) -> None:
        """Set the unread count (0: read, its mentions too)."""
        if unread:
            self._update(kind, key, unread=unread)
        else:
            self._update(kind, key, unread=0, mentions=0)

    def bump_unread(self, kind: str, key: str, by: int = 1, *, mention: bool = False) -> None:
        """``by`` more unread messages (``mention``: they mention you)."""
        section = self._section_of(kind)
        row = self._find(section, key)
        if row < 0:
            self.add(kind, key)
            row = self._find(section, key)
        entry = self._sections[section][row]
        self._update(kind, key, unread=entry.unread + by,
                     mentions=entry.mentions + (by if mention else 0))

    def mentions(self, kind: str, key: str) -> int:
        """Unread messages of a conversation that mention you."""
        section = self._section_of(kind)
        row = self._find(section, key)
        return self._sections[section][row].mentions if row >= 0 else 0

    def total_unread(self) -> int:
        """Unread messages of every room and DM (the window title counts them)."""
        return sum(e.unread for sec in self._sections[SECTION_ROOMS:] for e in sec)

    def total_mentions(self) -> int:
        """Unread messages of every room and DM that mention you."""
        return sum(e.mentions for sec in self._sections[SECTION_ROOMS:] for e in sec)

    def direct_unread(self) -> int:
        """Unread direct messages (written to you, so they call for you as mentions do)."""
        return sum(e.unread for e in self._sections[SECTION_DMS])

    def unread(self, kind: str, key: str) -> int:
        section = self._section_of(kind)
        row = self._find(section, key)
        return self._sections[section][row].unread if row >= 0 else 0

    def keys(self, kind: str) -> list[str]:
        return [e.key for e in self._sections[self._section_of(kind)]]

    def index_of(self, kind: str, key: str) -> QModelIndex:
        section = self._section_of(kind)
        row = self._find(section, key)
        if row < 0:
            return QModelIndex()
        return self.index(row, 0, self.index(section, 0))

    def _update(self, kind: str, key: str, **changes: Any) -> None:
        section = self._section_of(kind)
        row = self._find(section, key)
        if row < 0:
            return
        entry = self._sections[section][row]
        if all(getattr(entry, k) == v for k, v in changes.items()):
            return
        for k, v in changes.items():
            setattr(entry, k, v)
        idx = self.index(row, 0, self.index(section, 0))
        self.dataChanged.emit(idx, idx)
        if "unread" in changes:
            sec = self.index(section, 0)
            self.dataChanged.emit(sec, sec)

    # -- Qt model ----------------------------------------------------------------------------------
    def index(self, row: int, column: int, parent: _IDX = QModelIndex()) -> QModelIndex:  # noqa: B008
        if column != 0 or row < 0:
            return QModelIndex()
        if not parent.isValid():
            return self.createIndex(row, 0, 0) if row < len(self._sections) else QModelIndex()
        if parent.internalId() != 0 or parent.column() != 0:
            return QModelIndex()
        section = parent.row()
        if row >= len(self._sections[section]):
            return QModelIndex()
        return self.createIndex(row, 0, section + 1)

    @overload
    def parent(self) -> QObject | None: ...

    @overload
    def parent(self, index: _IDX) -> QModelIndex: ...

    def parent(self, index: _IDX | None = None) -> QObject | QModelIndex | None:
        """The parent item of ``index``; without an index, the QObject parent."""
        if index is None:
            return super().parent()
        if not index.isValid() or index.internalId() == 0:
            return QModelIndex()
        return self.createIndex(index.internalId() - 1, 0, 0)

    def rowCount(self, parent: _IDX = QModelIndex()) -> int:  # noqa: B008
        if not parent.isValid():
            return len(self._sections)
        if parent.column() != 0 or parent.internalId() != 0:
            return 0
        return len(self._sections[parent.row()])

    def columnCount(self, parent: _IDX = QModelIndex()) -> int:  # noqa: B008
        return 1

    def hasChildren(self, parent: _IDX = QModelIndex()) -> bool:  # noqa: B008
        return self.rowCount(parent) > 0

    def data(self, index: _IDX, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        if index.internalId() == 0:
            section = index.row()
            if role == Qt.ItemDataRole.DisplayRole:
                return SECTION_TITLES[section].upper()
            if role == KindRole:
                return "section"
            if role == UnreadRole:
                return sum(e.unread for e in self._sections[section])
            return None
        entry = self._sections[index.internalId() - 1][index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return escape_controls(entry.key)
        if role == Qt.ItemDataRole.ToolTipRole:
            if entry.kind == "namespace":
                return tooltip_text(f"Namespace {escape_controls(entry.key)}: " + (
                    "ready" if entry.ready else "not connected"))
            if entry.unread:
                text = f"{entry.unread} unread"
                if entry.mentions and entry.kind == "room":
                    text += f", {entry.mentions} mention{'s' if entry.mentions != 1 else ''}" \
                        " of you"
                return text
            return None
        if role == KindRole:
            return entry.kind
        if role == KeyRole:
            return entry.key
        if role == UnreadRole:
            return entry.unread
        if role == ReadyRole:
            return entry.ready
        if role == MutedRole:
            return entry.muted
        if role == MentionsRole:
            return entry.mentions
        return None

    def flags(self, index: _IDX) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        if index.internalId() == 0:
            return Qt.ItemFlag.ItemIsEnabled
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | \
            Qt.ItemFlag.ItemNeverHasChildren


@dataclass(slots=True)
class Member:
    user: str
    online: bool


class MemberListModel(QAbstractListModel):
    """Members of the shown room: online first, then people seen in the room's history."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._members: list[Member] = []
        self.me = ""
        #: our connection is down: nobody's presence is known, so nobody shows online
        self.offline = False

    def set_offline(self, offline: bool) -> None:
        """Grey out every member (you included) while our connection is down."""
        if offline == self.offline:
            return
        self.offline = offline
        if self._members:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._members) - 1, 0))

    def set_members(self, online: list[str], seen: list[str] | tuple[str, ...] = ()) -> None:
        on = sorted(set(online), key=str.lower)
        off = sorted(set(seen) - set(on), key=str.lower)
        new = [Member(u, True) for u in on] + [Member(u, False) for u in off]
        if new == self._members:
            return
        self.beginResetModel()
        self._members = new
        self.endResetModel()

    def online(self) -> list[str]:
        return [m.user for m in self._members if m.online]

    def rowCount(self, parent: _IDX = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._members)

    def data(self, index: _IDX, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        m = self._members[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return escape_controls(m.user)
        if role == Qt.ItemDataRole.ToolTipRole:
            if self.offline:
                return "unknown: you are offline"
            return "online" if m.online else "offline"
        if role == OnlineRole:
            return m.online and not self.offline
        if role == KeyRole:
            return m.user
        if role == IsYouRole:
            return m.user == self.me
        return None

    def flags(self, index: _IDX) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | \
            Qt.ItemFlag.ItemNeverHasChildren
