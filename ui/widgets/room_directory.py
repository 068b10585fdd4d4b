"""The room directory: the server's rooms, with member and message counts, to join.

A widget only: ``ui.chat_discovery`` asks the server (``rooms``) and fills it; the dialog
says what the user picks through ``join_requested``. Typing a name that is not listed
offers "Create #name" (rooms need no creating on SockDesk's server: joining makes one).
Names come from the network, so they are shown as plain text with control characters
made visible, never as markup.
"""

from __future__ import annotations

import re
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QWidget,
)

from ui.text import escape_controls
from ui.widgets.server_list import ServerListDialog

ROOM_RE = re.compile(r"^[A-Za-z0-9 ._-]{1,64}$")
ROOM_ROLE = Qt.ItemDataRole.UserRole + 1


class RoomDirectory(ServerListDialog):
    """List, filter, join; "Create #name" for a name nobody has used yet."""

    join_requested = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Browse rooms", "Filter rooms, or type a new room's name…", parent)
        self.resize(460, 420)
        self._names: set[str] = set()
        self._joined: set[str] = set()

        self.filter.textChanged.connect(self._filter_changed)
        self.filter.returnPressed.connect(self._enter)

        self.table = QTreeWidget()
        self.table.setObjectName("roomDirectory")
        self.table.setColumnCount(3)
        self.table.setHeaderLabels(["Room", "Members", "Messages"])
        self.table.setRootIsDecorated(False)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setToolTip("Double-click a room to join it")
        header = self.table.header()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.table.itemDoubleClicked.connect(lambda item, _col: self._join_item(item))
        self.table.itemSelectionChanged.connect(self._update_buttons)

        self.join_button = QPushButton("Join")
        self.join_button.clicked.connect(self._join_selected)
        self.create_button = QPushButton("")
        self.create_button.clicked.connect(self._create)
        self.create_button.hide()
        self.lay_out(self.table, None, self.create_button, self.join_button)
        self._update_buttons()

    # -- filling ---------------------------------------------------------------------------
    def set_rooms(self, rooms: list[dict[str, Any]], joined: set[str] | None = None) -> None:
        """The server's answer: ``[{room, members, offset}]`` (malformed entries are
        skipped); ``joined``: rooms you are in, marked as such."""
        self._joined = set(joined or ())
        self.table.setSortingEnabled(False)
        self.table.clear()
        self._names = set()
        for entry in rooms:
            name = entry.get("room") if isinstance(entry, dict) else None
            if not isinstance(name, str) or not name:
                continue
            self._names.add(name)
            item = QTreeWidgetItem()
            label = f"# {escape_controls(name)}"
            if name in self._joined:
                label += "  (joined)"
            item.setText(0, label)
            item.setData(0, ROOM_ROLE, name)
            for col, key in ((1, "members"), (2, "offset")):
                value = entry.get(key)
                item.setData(col, Qt.ItemDataRole.DisplayRole,
                             value if isinstance(value, int) else 0)
                item.setTextAlignment(col, Qt.AlignmentFlag.AlignRight
                                      | Qt.AlignmentFlag.AlignVCenter)
            self.table.addTopLevelItem(item)
        self.table.setSortingEnabled(True)
        self.set_message(None if self._names else
                         "No rooms yet: type a name above to create the first one.")
        self._filter_changed(self.filter.text())

    def _items(self) -> list[QTreeWidgetItem]:
        items = (self.table.topLevelItem(i) for i in range(self.table.topLevelItemCount()))
        return [item for item in items if item is not None]

    def rooms(self) -> list[str]:
        """The rooms listed and not filtered out, in the order shown."""
        return [str(item.data(0, ROOM_ROLE)) for item in self._items() if not item.isHidden()]

    def counts(self, room: str) -> tuple[int, int] | None:
        """(members, messages) shown for ``room``."""
        item = self._item(room)
        if item is None:
            return None
        return (int(item.data(1, Qt.ItemDataRole.DisplayRole)),
                int(item.data(2, Qt.ItemDataRole.DisplayRole)))

    def _item(self, room: str) -> QTreeWidgetItem | None:
        return next((item for item in self._items() if item.data(0, ROOM_ROLE) == room), None)

    # -- the user --------------------------------------------------------------------------
    def _wanted(self) -> str:
        return self.filter.text().strip().lstrip("#").strip()

    def _filter_changed(self, _text: str) -> None:
        needle = self._wanted().lower()
        first_visible: QTreeWidgetItem | None = None
        for item in self._items():
            hidden = bool(needle) and needle not in str(item.data(0, ROOM_ROLE)).lower()
            item.setHidden(hidden)
            if not hidden and first_visible is None:
                first_visible = item
        selected = self.table.selectedItems()
        if first_visible is not None and (not selected or selected[0].isHidden()):
            self.table.setCurrentItem(first_visible)
        self._update_buttons()

    def _update_buttons(self) -> None:
        wanted = self._wanted()
        new = bool(wanted) and wanted not in self._names
        valid = bool(ROOM_RE.match(wanted))
        self.create_button.setVisible(new)
        self.create_button.setEnabled(new and valid)
        self.create_button.setText(f"Create #{wanted}".replace("&", "&&") if new else "")
        self.create_button.setToolTip(
            "" if valid or not new else
            "Room names are 1-64 letters, digits, spaces, '.', '_' or '-'")
        selected = self._selected()
        self.join_button.setEnabled(selected is not None)
        # a room you are in is opened, not joined again
        self.join_button.setText("Open" if selected in self._joined else "Join")

    def _selected(self) -> str | None:
        items = [i for i in self.table.selectedItems() if not i.isHidden()]
        return str(items[0].data(0, ROOM_ROLE)) if items else None

    def _enter(self) -> None:
        """Enter joins the room selected among those the filter matches, and creates the
        one typed only when nothing matches."""
        if self._selected() is not None:
            self._join_selected()
        elif self._wanted():
            self._create()

    def _join_item(self, item: QTreeWidgetItem) -> None:
        self._join(str(item.data(0, ROOM_ROLE)))

    def _join_selected(self) -> None:
        room = self._selected()
        if room is not None:
            self._join(room)

    def _create(self) -> None:
        wanted = self._wanted()
        if ROOM_RE.match(wanted):
            self._join(wanted)
        else:
            self.set_message("Room names are 1-64 letters, digits, spaces, '.', '_' or '-'.")

    def _join(self, room: str) -> None:
        self.join_requested.emit(room)
        self.accept()
