"""Messages of one conversation (a room or a DM) as a Qt list model.

Rows are messages and day separators. A room is shown in the server's order (its
offsets), so every member sees the same timeline: own messages not yet acked have no
offset and wait at the end, marked pending, and move to their place once the ack gives
them one (``set_offset``); history and recovered messages slot in by offset. A DM has no
offsets and is ordered by the time it was sent. Inserts keep the rows sorted with a
binary search (a model reset only for large out-of-order batches), and day separators and
grouping are repaired around every insert, move and removal.

New messages are coalesced and inserted once per timer tick; own messages are updated in
place as the outbox moves them through queued → sent → acked | failed. Text is kept as
plain text with control characters escaped (line breaks and tabs kept); nothing here is
ever interpreted as markup.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from PySide6.QtCore import (
    QAbstractListModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)

from ui.chat_text import first_line, mentions_user
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
EditedRole = Qt.ItemDataRole.UserRole + 10
DeletedRole = Qt.ItemDataRole.UserRole + 11
#: "alice: first line" of the message this one replies to, "" when it is no reply
ReplyRole = Qt.ItemDataRole.UserRole + 12
#: the text mentions the user of this window (``@me``)
MentionRole = Qt.ItemDataRole.UserRole + 13
#: the search term to highlight ("" for none)
HighlightRole = Qt.ItemDataRole.UserRole + 14
#: a grouped message that shows its own time (its minute differs from the previous one)
ShowTimeRole = Qt.ItemDataRole.UserRole + 15
OffsetRole = Qt.ItemDataRole.UserRole + 16
#: the message is find's current hit (drawn stronger than the other hits)
CurrentHitRole = Qt.ItemDataRole.UserRole + 17
#: the first message after the read marker: the "New" line is drawn above it
NewRole = Qt.ItemDataRole.UserRole + 18
#: a read marker before the first message: every message is new
BEFORE_FIRST = ""

KIND_MESSAGE = "message"
KIND_DAY = "day"
DELETED_TEXT = "This message was deleted"
#: the quote of a reply whose original is not loaded (older than what is shown)
UNKNOWN_QUOTE = "an earlier message"

GROUP_SECONDS = 5 * 60
#: an out-of-order batch larger than this is merged with one model reset
RESET_BATCH = 64

Order = Literal["offset", "ts"]
_SortKey = tuple[int, float, int]


@dataclass(slots=True, eq=False)
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
    seq: int = 0
    reply_to: str | None = None
    edited: bool = False
    deleted: bool = False
    show_time: bool = False
    #: the view's last height of this row and everything it depended on (the delegate's;
    #: kept here so that it goes when the row goes)
    height: tuple[tuple[Any, ...], int] | None = field(default=None, repr=False)


class ChatMessageModel(QAbstractListModel):
    """One conversation. ``add_message`` is cheap; rows appear on the next tick (``flush``).

    ``order="offset"`` (rooms) sorts by the server's offsets, items without one last in
    arrival order; ``order="ts"`` (DMs) sorts by the time a message was sent.
    """

    flushed = Signal(int)  # number of rows inserted

    def __init__(self, parent: QObject | None = None, capacity: int = 20_000,
                 interval_ms: int = 25, *, order: Order = "ts", me: str = "") -> None:
        super().__init__(parent)
        if order not in ("offset", "ts"):
            raise ValueError(f"order must be 'offset' or 'ts', not {order!r}")
        self.order: Order = order
        self.me = me
        self._items: list[ChatItem] = []
        self._by_key: dict[str, ChatItem] = {}
        self._pending: list[ChatItem] = []
        self._capacity = capacity
        self._highlight = ""
        self._current_hit = ""
        #: the key of the last message read when the conversation was opened (the "New"
        #: line goes above the message after it); None: no line
        self._read_upto: str | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self.flush)
        self._seq = 0

    # -- feeding ----------------------------------------------------------------------------
    def add_message(self, *, key: str | None, user: str, text: str, ts: float | None = None,
                    own: bool = False, state: str | None = None, recovered: bool = False,
                    offset: int | None = None, reply_to: str | None = None,
                    edited: bool = False, deleted: bool = False) -> ChatItem:
        """Add a message, or update the one with the same key (ids are unique per room):
        a new state, an offset (which moves it to its place), edited/deleted."""
        if key and key in self._by_key:
            item = self._by_key[key]
            if state is not None and own and item.state != state:
                item.state = state
                self._emit_changed(item, [StateRole])
            if deleted and not item.deleted:
                self.apply_delete(key)
            elif edited and not item.deleted and (text or "") != item.text:
                self.apply_edit(key, text)
            if offset is not None and item.offset != offset:
                self.set_offset(key, offset, ts if own else None)
            return item
        self._seq += 1
        item = ChatItem(KIND_MESSAGE, key or f"local-{self._seq}",
                        "" if deleted else escape_controls(text or "", keep_newlines=True),
                        user or "?", ts if ts is not None else time.time(),
                        state if own else None, recovered, own, offset, seq=self._seq,
                        reply_to=reply_to or None, edited=edited and not deleted,
                        deleted=deleted)
        self._by_key[item.key] = item
        self._pending.append(item)
        if not self._timer.isActive():
            self._timer.start()
        return item

    def prepend_history(self, items: Iterable[Mapping[str, Any]]) -> int:
        """Older messages (keyword arguments of ``add_message`` each), inserted now in
        their place: at the top in one insert when all are older than what is shown."""
        n = 0
        for kw in items:
            if not (kw.get("key") and kw["key"] in self._by_key):
                n += 1
            self.add_message(**kw)
        self.flush()
        return n

    def set_state(self, key: str, state: str, error: str = "") -> bool:
        item = self._by_key.get(key)
        if item is None:
            return False
        if item.state != state or item.error != error:
            item.state = state
            item.error = error
            self._emit_changed(item, [StateRole, ErrorRole])
        return True

    def set_offset(self, key: str, offset: int, ts: float | None = None) -> bool:
        """The server gave a message its offset (and maybe its time): move it to its place
        in the timeline. False when there is no such message."""
        item = self._by_key.get(key)
        if item is None:
            return False
        new_ts = item.ts if ts is None else ts
        if item.offset == offset and new_ts == item.ts:
            return True
        if self._is_pending(item):
            item.offset, item.ts = offset, new_ts
            return True
        row = self._row_of(item)
        old = (item.offset, item.ts)
        item.offset, item.ts = offset, new_ts
        if day_key(new_ts) == day_key(old[1]) and self._fits_at(row, item):
            self._regroup(row)
            self._regroup(row + 1)
            self._emit_changed(item, [OffsetRole, TimeRole])
            return True
        item.offset, item.ts = old     # taken out where it is now, put in where it goes
        self._take_out(item)
        item.offset, item.ts = offset, new_ts
        self._insert(item)
        return True

    def set_ts(self, key: str, ts: float) -> bool:
        """The server's time for a message (a DM's sent time): moves it in a DM."""
        item = self._by_key.get(key)
        if item is None:
            return False
        if item.offset is not None:
            return self.set_offset(key, item.offset, ts)
        if ts == item.ts:
            return True
        if self._is_pending(item):
            item.ts = ts
            return True
        self._take_out(item)
        item.ts = ts
        self._insert(item)
        return True

    def apply_edit(self, key: str, text: str | None) -> bool:
        """Show a message's new text, marked "(edited)"; None: mark it only (a change
        row replayed from the store keeps no text: the message's own row has the new
        one). False when it is not here (or was deleted: a deleted message stays
        deleted)."""
        item = self._by_key.get(key)
        if item is None or item.deleted:
            return False
        if text is not None:
            item.text = escape_controls(text, keep_newlines=True)
        item.edited = True
        self._emit_changed(item, [Qt.ItemDataRole.DisplayRole, EditedRole, MentionRole,
                                  Qt.ItemDataRole.SizeHintRole])
        self._quotes_changed(key)
        return True

    def apply_delete(self, key: str) -> bool:
        """Show a message as deleted: nothing of its text is kept."""
        item = self._by_key.get(key)
        if item is None:
            return False
        item.text = ""
        item.deleted = True
        item.edited = False
        self._emit_changed(item, [Qt.ItemDataRole.DisplayRole, DeletedRole, EditedRole,
                                  MentionRole, Qt.ItemDataRole.SizeHintRole])
        self._quotes_changed(key)
        return True

    def set_highlight(self, term: str) -> None:
        """Occurrences of ``term`` are highlighted (case-insensitive); "" for none."""
        if term == self._highlight:
            return
        self._highlight = term
        if self._items:
            self.dataChanged.emit(self.index(0, 0), self.index(len(self._items) - 1, 0),
                                  [HighlightRole])

    @property
    def highlight(self) -> str:
        return self._highlight

    def set_read_marker(self, key: str | None) -> None:
        """Messages after ``key`` are new (``BEFORE_FIRST``: all of them; None: no line):
        the first of them starts a group of its own, under a "New" line, as in Slack and
        Element, so the eye finds where reading stopped."""
        if key == self._read_upto:
            return
        old = self.first_new()
        self._read_upto = key
        for item in {id(i): i for i in (old, self.first_new()) if i is not None}.values():
            self._emit_changed(item, [GroupedRole, NewRole, Qt.ItemDataRole.SizeHintRole])

    @property
    def read_marker(self) -> str | None:
        return self._read_upto

    def first_new(self) -> ChatItem | None:
        """The message under the "New" line, if there is one now."""
        if self._read_upto is None:
            return None
        start = 0
        if self._read_upto != BEFORE_FIRST:
            marker = self._by_key.get(self._read_upto)
            if marker is None or self._is_pending(marker):
                return None
            try:
                start = self._row_of(marker) + 1
            except ValueError:   # no longer a row (beyond the capacity): no line
                return None
        return next((i for i in self._items[start:] if i.kind == KIND_MESSAGE), None)

    def _is_first_new(self, row: int) -> bool:
        """Whether the message at ``row`` comes right after the read marker."""
        if self._read_upto is None or self._items[row].kind != KIND_MESSAGE:
            return False
        for before in range(row - 1, -1, -1):
            if self._items[before].kind == KIND_MESSAGE:
                return self._items[before].key == self._read_upto
        return self._read_upto == BEFORE_FIRST

    def set_current_hit(self, key: str) -> None:
        """The message that is find's current hit ("" for none): it stands out."""
        if key == self._current_hit:
            return
        old, self._current_hit = self._current_hit, key
        for k in (old, key):
            item = self._by_key.get(k) if k else None
            if item is not None:
                self._emit_changed(item, [CurrentHitRole])

    @property
    def current_hit(self) -> str:
        return self._current_hit

    def set_me(self, user: str) -> None:
        """The user of this window, for mentions."""
        self.me = user

    def remove(self, key: str) -> bool:
        """Drop a message (a cancelled own message), with its day separator if left alone."""
        item = self._by_key.pop(key, None)
        if item is None:
            return False
        if self._is_pending(item):
            self._pending.remove(item)
            return True
        self._take_out(item)
        return True

    def has(self, key: str) -> bool:
        return key in self._by_key

    def item(self, key: str) -> ChatItem | None:
        return self._by_key.get(key)

    def row_of(self, key: str) -> int | None:
        """The row of a message (flushing what waits first), None when it is not here."""
        item = self._by_key.get(key)
        if item is None:
            return None
        self.flush()
        try:
            return self._row_of(item)
        except ValueError:
            return None

    # -- placing rows -----------------------------------------------------------------------
    def flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        batch.sort(key=self._sort_key)
        first, last = self._first_message(), self._last_message()
        if last is None or self._sort_key(batch[0]) >= self._sort_key(last):
            rows = self._with_separators(batch, last)
            start = len(self._items)
            self.beginInsertRows(QModelIndex(), start, start + len(rows) - 1)
            self._items.extend(rows)
            self.endInsertRows()
            self._trim()
        elif first is not None and self._sort_key(batch[-1]) <= self._sort_key(first):
            self._prepend(batch, first)
        elif len(batch) > RESET_BATCH:
            self._merge(batch)
        else:
            for item in batch:
                self._insert(item)
        self.flushed.emit(len(batch))

    def _sort_key(self, item: ChatItem) -> _SortKey:
        if self.order == "offset":
            return (0, float(item.offset), 0) if item.offset is not None else (1, 0.0, item.seq)
        return (0, item.ts, item.seq)

    def _row_key(self, row: int) -> _SortKey:
        """A day row sorts with the message after it (there always is one)."""
        item = self._items[row]
        if item.kind == KIND_DAY:
            item = self._items[row + 1]
        return self._sort_key(item)

    def _bisect(self, item: ChatItem) -> int:
        """The row before which ``item`` goes: the first row sorting after it."""
        k = self._sort_key(item)
        lo, hi = 0, len(self._items)
        while lo < hi:
            mid = (lo + hi) // 2
            if self._row_key(mid) <= k:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def _day_row(self, item: ChatItem) -> ChatItem:
        self._seq += 1
        return ChatItem(KIND_DAY, f"day-{self._seq}", day_label(day_key(item.ts)), ts=item.ts)

    def _insert(self, item: ChatItem) -> None:
        """Insert one message in its place, with the day rows it needs, in one insert."""
        r = self._bisect(item)
        prev = self._items[r - 1] if r > 0 else None
        at = self._items[r] if r < len(self._items) else None
        needs_day = prev is None or day_key(prev.ts) != day_key(item.ts)
        rows: list[ChatItem]
        if at is not None and at.kind == KIND_DAY:
            nxt = self._items[r + 1]
            if needs_day and day_key(nxt.ts) == day_key(item.ts):
                rows, r = [item], r + 1          # the next message's day row is ours too
            else:
                rows = [self._day_row(item), item] if needs_day else [item]
        else:
            rows = [self._day_row(item), item] if needs_day else [item]
            if at is not None and day_key(at.ts) != day_key(item.ts):
                rows.append(self._day_row(at))
        self.beginInsertRows(QModelIndex(), r, r + len(rows) - 1)
        self._items[r:r] = rows
        self.endInsertRows()
        row = r + rows.index(item)
        self._regroup(row)
        self._regroup(row + 1 if rows[-1] is item else row + 2)

    def _take_out(self, item: ChatItem) -> None:
        """Remove a message's row, and its day row when no message of that day is left."""
        row = self._row_of(item)
        first = row
        before = self._items[row - 1] if row > 0 else None
        after = self._items[row + 1] if row + 1 < len(self._items) else None
        if before is not None and before.kind == KIND_DAY and (
                after is None or after.kind == KIND_DAY):
            first = row - 1
        self.beginRemoveRows(QModelIndex(), first, row)
        del self._items[first:row + 1]
        self.endRemoveRows()
        # a day row now following a message of the same day is one too many
        if first < len(self._items) and self._items[first].kind == KIND_DAY and first > 0:
            prev = self._items[first - 1]
            if day_key(prev.ts) == day_key(self._items[first + 1].ts):
                self.beginRemoveRows(QModelIndex(), first, first)
                del self._items[first]
                self.endRemoveRows()
        self._regroup(first)
        self._regroup(first + 1)

    def _fits_at(self, row: int, item: ChatItem) -> bool:
        """Whether the message at ``row`` is still in order with its neighbours."""
        k = self._sort_key(item)
        for r in range(row - 1, -1, -1):
            if self._items[r].kind == KIND_MESSAGE:
                if self._sort_key(self._items[r]) > k:
                    return False
                break
        for r in range(row + 1, len(self._items)):
            if self._items[r].kind == KIND_MESSAGE:
                return self._sort_key(self._items[r]) >= k
        return True

    def _group_of(self, prev: ChatItem | None, item: ChatItem) -> tuple[bool, bool]:
        grouped = (prev is not None and prev.kind == KIND_MESSAGE and prev.user == item.user
                   and abs(item.ts - prev.ts) < GROUP_SECONDS)
        show_time = grouped and prev is not None and int(prev.ts // 60) != int(item.ts // 60)
        return grouped, show_time

    def _regroup(self, row: int) -> None:
        """Recompute grouping of the message at ``row`` from the row before it."""
        if not 0 <= row < len(self._items):
            return
        item = self._items[row]
        if item.kind != KIND_MESSAGE:
            return
        grouped, show_time = self._group_of(self._items[row - 1] if row > 0 else None, item)
        if (grouped, show_time) != (item.grouped, item.show_time):
            item.grouped, item.show_time = grouped, show_time
            idx = self.index(row, 0)
            # a row with a header (or without one now) changes height: say so
            self.dataChanged.emit(idx, idx, [GroupedRole, ShowTimeRole,
                                             Qt.ItemDataRole.SizeHintRole])

    def _prepend(self, batch: list[ChatItem], first: ChatItem) -> None:
        rows = self._with_separators(batch, None)
        if day_key(batch[-1].ts) == day_key(first.ts) and self._items[0].kind == KIND_DAY:
            self.beginRemoveRows(QModelIndex(), 0, 0)
            del self._items[0]
            self.endRemoveRows()
        self.beginInsertRows(QModelIndex(), 0, len(rows) - 1)
        self._items[0:0] = rows
        self.endInsertRows()
        self._regroup(len(rows))

    def _merge(self, batch: list[ChatItem]) -> None:
        messages = [i for i in self._items if i.kind != KIND_DAY] + batch
        messages.sort(key=self._sort_key)
        self.beginResetModel()
        self._items = self._with_separators(messages, None)
        self.endResetModel()
        self._trim()

    def _with_separators(self, batch: list[ChatItem], last: ChatItem | None) -> list[ChatItem]:
        rows: list[ChatItem] = []
        prev = last
        for item in batch:
            if prev is None or day_key(prev.ts) != day_key(item.ts):
                rows.append(self._day_row(item))
                prev = None
            if item.kind == KIND_MESSAGE:
                item.grouped, item.show_time = self._group_of(prev, item)
            rows.append(item)
            prev = item
        return rows

    def _first_message(self) -> ChatItem | None:
        return next((i for i in self._items if i.kind != KIND_DAY), None)

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
        if self._items and self._items[0].kind == KIND_MESSAGE:
            self.beginInsertRows(QModelIndex(), 0, 0)
            self._items.insert(0, self._day_row(self._items[0]))
            self.endInsertRows()
            self._regroup(1)

    def _is_pending(self, item: ChatItem) -> bool:
        return any(p is item for p in self._pending)

    def _emit_changed(self, item: ChatItem, roles: list[int]) -> None:
        if self._is_pending(item):
            return  # it will show the new state when inserted
        try:
            row = self._row_of(item)
        except ValueError:
            return
        idx = self.index(row, 0)
        self.dataChanged.emit(idx, idx, roles)

    def _quotes_changed(self, key: str) -> None:
        """Replies quoting a message that changed show its new first line."""
        for row, it in enumerate(self._items):
            if it.reply_to == key:
                idx = self.index(row, 0)
                self.dataChanged.emit(idx, idx, [ReplyRole])

    def _row_of(self, item: ChatItem) -> int:
        r = self._bisect(item) - 1   # rows are sorted: look where it must be first
        if 0 <= r < len(self._items) and self._items[r] is item:
            return r
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

    def quote_of(self, item: ChatItem) -> str:
        """What a reply shows of the message it answers: "user: first line"."""
        if not item.reply_to:
            return ""
        original = self._by_key.get(item.reply_to)
        if original is None:
            return UNKNOWN_QUOTE
        shown = DELETED_TEXT if original.deleted else first_line(original.text)
        return f"{original.user}: {shown}"

    # -- Qt model -------------------------------------------------------------------------------
    def rowCount(self, parent: _IDX = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._items)

    def data(self, index: _IDX, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        item = self._items[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return DELETED_TEXT if item.deleted else item.text
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
            return item.grouped and not self._is_first_new(index.row())
        if role == NewRole:
            return self._is_first_new(index.row())
        if role == ErrorRole:
            return item.error
        if role == EditedRole:
            return item.edited
        if role == DeletedRole:
            return item.deleted
        if role == ReplyRole:
            return self.quote_of(item)
        if role == MentionRole:
            return (item.kind == KIND_MESSAGE and not item.own and not item.deleted
                    and mentions_user(item.text, self.me))
        if role == HighlightRole:
            return self._highlight
        if role == ShowTimeRole:
            return item.show_time
        if role == OffsetRole:
            return item.offset
        if role == CurrentHitRole:
            return bool(self._current_hit) and item.key == self._current_hit
        if role == Qt.ItemDataRole.AccessibleTextRole:
            if item.kind != KIND_MESSAGE:
                return item.text
            text = DELETED_TEXT if item.deleted else item.text
            return f"{item.user}: {text}" + (" (edited)" if item.edited else "")
        return None

    def flags(self, index: _IDX) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemNeverHasChildren
        if self._items[index.row()].kind == KIND_MESSAGE:
            flags |= Qt.ItemFlag.ItemIsSelectable
        return flags
