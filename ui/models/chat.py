"""Messages of one conversation (a room or a DM) as a Qt list model.

Rows are messages and day separators. New messages are coalesced and inserted once per
timer tick; own messages are updated in place as the outbox moves them through
queued → sent → acked | failed. Text is kept as plain text with control characters
escaped (line breaks and tabs kept); nothing here is ever interpreted as markup.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)

from ui.text import day_key, day_label, escape_controls

_IDX = QModelIndex | QPersistentModelIndex

KindRole = Qt.ItemDataRole.UserRole + 1
AuthorRole = Qt.ItemDataRole.UserRole + 2
TimeRole = Qt.ItemDataRole.UserRole + 3
StateRole = Qt.ItemDataRole.UserRole + 4
RecoveredRole = Qt.ItemDataRole.UserRole + 5
OwnRole = Qt.ItemDataRole.UserRole + 6
IdRole = Qt.ItemDataRole.UserRole + 7
GroupedRole = Qt.ItemDataRole.UserRole + 8
ErrorRole = Qt.ItemDataRole.UserRole + 9

KIND_MESSAGE = "message"
KIND_DAY = "day"

GROUP_SECONDS = 5 * 60


@dataclass(slots=True)
class ChatItem:
    kind: str
    key: str
    text: str = ""
    user: str = ""
    ts: float = field(default_factory=time.time)
    state: str | None = None
    recovered: bool = False
    own: bool = False
    offset: int | None = None
    error: str = ""
    grouped: bool = False


class ChatMessageModel(QAbstractListModel):
    """One conversation. ``add`` is cheap; rows appear on the next tick (``flush``)."""

    flushed = Signal(int)  # number of rows inserted

    def __init__(self, parent: QObject | None = None, capacity: int = 20_000,
                 interval_ms: int = 25) -> None:
        super().__init__(parent)
        self._items: list[ChatItem] = []
        self._by_key: dict[str, ChatItem] = {}
        self._pending: list[ChatItem] = []
        self._capacity = capacity
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.flush)
        self._seq = 0
        #: what find highlights in every message (case-insensitive); "" for nothing
        self.highlight = ""

    # -- feeding ----------------------------------------------------------------------------
    def add_message(self, *, key: str | None, user: str, text: str, ts: float | None = None,
                    own: bool = False, state: str | None = None, recovered: bool = False,
                    offset: int | None = None) -> ChatItem:
        """Add a message, or update the one with the same key (ids are unique per room)."""
        if key and key in self._by_key:
            item = self._by_key[key]
            changed = False
            if state is not None and own and item.state != state:
                item.state = state
                changed = True
            if offset is not None and item.offset != offset:
                item.offset = offset
            if changed:
                self._emit_changed(item)
            return item
        self._seq += 1
        item = ChatItem(KIND_MESSAGE, key or f"local-{self._seq}",
                        escape_controls(text or "", keep_newlines=True), user or "?",
                        ts if ts is not None else time.time(), state if own else None,
                        recovered, own, offset)
        self._by_key[item.key] = item
        self._pending.append(item)
        if not self._timer.isActive():
            self._timer.start()
        return item

    def set_state(self, key: str, state: str, error: str = "") -> bool:
        item = self._by_key.get(key)
        if item is None:
            return False
        if item.state != state or item.error != error:
            item.state = state
            item.error = error
            self._emit_changed(item)
        return True

    def remove(self, key: str) -> bool:
        """Drop a message (a cancelled own message), with its day separator if left alone."""
        item = self._by_key.pop(key, None)
        if item is None:
            return False
        if item in self._pending:
            self._pending.remove(item)
            return True
        row = self._row_of(item)
        first = row
        before = self._items[row - 1] if row > 0 else None
        after = self._items[row + 1] if row + 1 < len(self._items) else None
        if before is not None and before.kind == KIND_DAY and (after is None or
                                                               after.kind == KIND_DAY):
            first = row - 1
        self.beginRemoveRows(QModelIndex(), first, row)
        del self._items[first:row + 1]
        self.endRemoveRows()
        return True

    def has(self, key: str) -> bool:
        return key in self._by_key

    def item(self, key: str) -> ChatItem | None:
        return self._by_key.get(key)

    def row_of(self, key: str) -> int | None:
        """The row of a message shown (None when it is not, or still pending)."""
        item = self._by_key.get(key)
        if item is None:
            return None
        try:
            return self._row_of(item)
        except ValueError:
            return None

    def set_highlight(self, term: str) -> None:
        """Make the delegate highlight ``term`` (each of its words) in every message."""
        if term == self.highlight:
            return
        self.highlight = term
        if self._items:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._items) - 1, 0))

    def flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        last = self._last_message()
        if last is not None and batch[0].kind == KIND_MESSAGE and batch[0].ts < last.ts - 1:
            # older than what is shown (history arriving late): merge in order instead
            self._merge(batch)
            return
        rows = self._with_separators(batch, last)
        first = len(self._items)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self._items.extend(rows)
        self.endInsertRows()
        self._trim()
        self.flushed.emit(len(rows))

    def _merge(self, batch: list[ChatItem]) -> None:
        messages = [i for i in self._items if i.kind != KIND_DAY] + batch
        messages.sort(key=lambda i: i.ts)
        self.beginResetModel()
        self._items = self._with_separators(messages, None)
        self.endResetModel()
        self._trim()
        self.flushed.emit(len(batch))

    def _with_separators(self, batch: list[ChatItem], last: ChatItem | None) -> list[ChatItem]:
        rows: list[ChatItem] = []
        prev = last
        for item in batch:
            if prev is None or day_key(prev.ts) != day_key(item.ts):
                self._seq += 1
                rows.append(ChatItem(KIND_DAY, f"day-{self._seq}", day_label(day_key(item.ts)),
                                     ts=item.ts))
                prev = None
            if item.kind == KIND_MESSAGE:
                item.grouped = (prev is not None and prev.kind == KIND_MESSAGE
                                and prev.user == item.user and item.ts - prev.ts < GROUP_SECONDS)
            rows.append(item)
            prev = item
        return rows

    def _last_message(self) -> ChatItem | None:
        for item in reversed(self._items):
            if item.kind != KIND_DAY:
                return item
        return None

    def _trim(self) -> None:
        extra = len(self._items) - self._capacity
        if extra <= 0:
            return
        extra = max(extra, self._capacity // 10)
        self.beginRemoveRows(QModelIndex(), 0, extra - 1)
        for item in self._items[:extra]:
            self._by_key.pop(item.key, None)
        del self._items[:extra]
        self.endRemoveRows()

    def _emit_changed(self, item: ChatItem) -> None:
        try:
            row = self._row_of(item)
        except ValueError:
            return  # still pending: it will show the new state when inserted
        idx = self.index(row, 0)
        self.dataChanged.emit(idx, idx, [StateRole, ErrorRole])

    def _row_of(self, item: ChatItem) -> int:
        # recent rows change most: search from the end
        for i in range(len(self._items) - 1, -1, -1):
            if self._items[i] is item:
                return i
        raise ValueError(item.key)

    def clear(self) -> None:
        self.beginResetModel()
        self._items.clear()
        self._pending.clear()
        self._by_key.clear()
        self.endResetModel()

    # -- access ---------------------------------------------------------------------------------
    def messages(self) -> list[ChatItem]:
        return [i for i in self._items if i.kind == KIND_MESSAGE]

    def item_at(self, row: int) -> ChatItem:
        return self._items[row]

    # -- Qt model -------------------------------------------------------------------------------
    def rowCount(self, parent: _IDX = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: _IDX, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        item = self._items[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return item.text
        if role == KindRole:
            return item.kind
        if role == AuthorRole:
            return item.user
        if role == TimeRole:
            return item.ts
        if role == StateRole:
            return item.state
        if role == RecoveredRole:
            return item.recovered
        if role == OwnRole:
            return item.own
        if role == IdRole:
            return item.key
        if role == GroupedRole:
            return item.grouped
        if role == ErrorRole:
            return item.error
        if role == Qt.ItemDataRole.AccessibleTextRole:
            return f"{item.user}: {item.text}" if item.kind == KIND_MESSAGE else item.text
        return None

    def flags(self, index: _IDX) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemNeverHasChildren
        if self._items[index.row()].kind == KIND_MESSAGE:
            flags |= Qt.ItemFlag.ItemIsSelectable
        return flags
