"""Qt models of the Queues tab: the list of queues, and the messages of one queue.

``QueueListModel`` holds ``app.inspector.QueueRow`` objects and updates them in place
(rows inserted and removed one by one, counters by dataChanged), so the selection survives
the refresh every second.

``MessageTableModel`` shows one queue that may hold a million rows. It never loads them
all: rows come from a *source* in keyset batches through ``canFetchMore``/``fetchMore``
(a guard flag stops re-entrant fetches), "jump to end" loads only the last batch, and
scrolling back up from there loads older batches (``fetch_older``). At most ``cap`` rows
are held; past that the far end is dropped and fetched again when needed. ``data()`` is a
list lookup plus a cached tuple of cell texts: no SQL and no JSON work per paint.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor, QFont

from app.inspector import KIND_TITLES, DepthSampler, QueueRow
from app.keys import parse_ts
from app.store import StoredMessage
from ui import theme
from ui.inspector.pretty import cell_preview
from ui.models.painted import HEADER_TEXT_ROLES, PaintedRow
from ui.text import escape_controls, format_time_precise

if TYPE_CHECKING:
    from app.store import MessageStore

_IDX = QModelIndex | QPersistentModelIndex

# ---- the list of queues ----------------------------------------------------------------------

Q_COLUMNS = ("Queue", "Depth", "In flight", "Acked", "Failed", "Depth trend")
Q_NAME, Q_DEPTH, Q_INFLIGHT, Q_ACKED, Q_FAILED, Q_TREND = range(6)
QueueRowRole = Qt.ItemDataRole.UserRole + 1
SparkRole = Qt.ItemDataRole.UserRole + 2
KindRole = Qt.ItemDataRole.UserRole + 3
KeyRole = Qt.ItemDataRole.UserRole + 4

#: samples a sparkline shows (one per refresh: the last minute and a half)
SPARK_POINTS = 90

KIND_ICONS = {"outbox": "arrow-out", "room": "hash", "dm": "at", "event": "activity",
              "delivered": "arrow-in", "work": "queues", "dead": "alert"}


class QueueListModel(QAbstractTableModel):
    """Every queue with its counters and a depth sparkline (from a DepthSampler)."""

    def __init__(self, sampler: DepthSampler | None = None,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.sampler = sampler or DepthSampler()
        self._rows: list[QueueRow] = []
        self._index: dict[str, int] = {}
        self._spark_sig: dict[str, tuple[int, ...]] = {}
        self._bold = QFont()
        self._bold.setBold(True)

    # -- reading ------------------------------------------------------------------------------
    def rowCount(self, parent: _IDX = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _IDX = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(Q_COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(Q_COLUMNS):
            if role in HEADER_TEXT_ROLES:  # the tooltip: the whole label, when it is cut
                return Q_COLUMNS[section]
            if role == Qt.ItemDataRole.TextAlignmentRole and Q_DEPTH <= section <= Q_FAILED:
                return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def data(self, index: _IDX, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        r = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            if col == Q_NAME:
                return escape_controls(r.label)
            if col == Q_DEPTH:
                return f"{r.depth:,}"
            if col == Q_INFLIGHT:
                return f"{r.inflight:,}" if r.kind in ("outbox", "work") else "–"
            if col == Q_ACKED:
                return f"{r.acked:,}" if r.kind in ("outbox", "work") else "–"
            if col == Q_FAILED:
                if r.kind not in ("outbox", "work"):
                    return "–"
                # those with no ack need the user too (Send again): "failed + no ack"
                return f"{r.failed:,} + {r.no_ack:,}" if r.no_ack else f"{r.failed:,}"
            return None
        if role == Qt.ItemDataRole.DecorationRole and col == Q_NAME:
            return theme.icon(KIND_ICONS.get(r.kind, "layers"),
                              theme.state_color("failed") if r.kind == "dead" else None)
        if role == Qt.ItemDataRole.ToolTipRole and col == Q_FAILED and r.no_ack:
            return (f"{r.failed:,} failed; {r.no_ack:,} sent once with no ack, never "
                    "confirmed: select them and Send again")
        if role == Qt.ItemDataRole.ToolTipRole and col == Q_NAME:
            extra = f"\n{r.consumers} consumer(s)" if r.consumers is not None else ""
            # the whole name first: the list elides long ones in the middle
            return (escape_controls(r.label) + "\n"
                    + escape_controls(f"{KIND_TITLES.get(r.kind, r.kind)}: {r.key}") + extra)
        if role == Qt.ItemDataRole.TextAlignmentRole and Q_DEPTH <= col <= Q_FAILED:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == Qt.ItemDataRole.ForegroundRole:
            if col == Q_FAILED and (r.failed or r.no_ack) and r.kind in ("outbox", "work"):
                return QColor(theme.STATE_COLORS["failed"])
            if col in (Q_INFLIGHT, Q_ACKED, Q_FAILED) and r.kind not in ("outbox", "work"):
                return theme.muted()
            if col == Q_DEPTH and r.kind == "dead" and r.depth:
                return QColor(theme.STATE_COLORS["failed"])
        if role == Qt.ItemDataRole.FontRole and col == Q_DEPTH and r.depth and \
                r.kind in ("outbox", "work", "dead"):
            return self._bold
        if role == SparkRole:
            return self.sampler.depths(r.key)
        if role == QueueRowRole:
            return r
        if role == KindRole:
            return r.kind
        if role == KeyRole:
            return r.key
        return None

    def row_at(self, row: int) -> QueueRow | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def row_of(self, key: str) -> int:
        return self._index.get(key, -1)

    def rows(self) -> list[QueueRow]:
        return list(self._rows)

    def keys(self) -> list[str]:
        return [r.key for r in self._rows]

    # -- updating ----------------------------------------------------------------------------
    def set_rows(self, rows: Iterable[QueueRow], trend: bool = False) -> None:
        """Make the list equal to ``rows`` (already in display order), in place.

        Counter changes (and, with ``trend``, the sparklines) are announced with ONE
        dataChanged over the changed span, not one per row: this runs every second.
        """
        new = list(rows)
        wanted = {r.key for r in new}
        # removals, bottom up
        for i in range(len(self._rows) - 1, -1, -1):
            if self._rows[i].key not in wanted:
                self.beginRemoveRows(QModelIndex(), i, i)
                del self._rows[i]
                self.endRemoveRows()
        changed: list[int] = []
        # insertions and moves into the wanted order
        for pos, r in enumerate(new):
            cur = self._rows[pos] if pos < len(self._rows) else None
            if cur is not None and cur.key == r.key:
                if cur != r:
                    self._rows[pos] = r
                    changed.append(pos)
                continue
            old = next((i for i in range(pos + 1, len(self._rows))
                        if self._rows[i].key == r.key), -1)
            if old >= 0:
                self.beginMoveRows(QModelIndex(), old, old, QModelIndex(), pos)
                self._rows.insert(pos, self._rows.pop(old))
                self.endMoveRows()
                self._rows[pos] = r
                changed.append(pos)
            else:
                self.beginInsertRows(QModelIndex(), pos, pos)
                self._rows.insert(pos, r)
                self.endInsertRows()
        self._index = {r.key: i for i, r in enumerate(self._rows)}
        if trend:
            # repaint a sparkline only when what it draws changed (an idle queue's line
            # is the same picture every second)
            for i, r in enumerate(self._rows):
                sig = tuple(self.sampler.depths(r.key)[-SPARK_POINTS:])
                if self._spark_sig.get(r.key) != sig:
                    self._spark_sig[r.key] = sig
                    changed.append(i)
            if len(self._spark_sig) > 4 * len(self._rows) + 100:
                self._spark_sig = {k: v for k, v in self._spark_sig.items() if k in wanted}
        if changed:
            self.dataChanged.emit(self.index(min(changed), 0),
                                  self.index(max(changed), len(Q_COLUMNS) - 1))

    def trend_changed(self) -> None:
        """The sampler got new samples: repaint the sparklines."""
        if self._rows:
            self.dataChanged.emit(self.index(0, Q_TREND), self.index(len(self._rows) - 1,
                                                                     Q_TREND), [SparkRole])


# ---- the messages of one queue ------------------------------------------------------------

M_COLUMNS = ("#", "Time", "Dir", "Event", "User", "Payload", "State")
#: no message cell has a font of its own
_NO_FONTS: tuple[QFont | None, ...] = (None,) * len(M_COLUMNS)
M_KEY, M_TIME, M_DIR, M_EVENT, M_USER, M_PAYLOAD, M_STATE = range(7)
MessageRole = Qt.ItemDataRole.UserRole + 11


class MessageRow:
    """One message of any queue (stored message or peeked work item), cells made lazily.

    ``key`` orders the rows (the store rowid, or the work queue seq). ``source`` is what
    the row was made from: the StoredMessage of a store queue, or the dict that
    ``/queue peek`` returned for a server work queue.
    """

    __slots__ = ("_cells", "args", "direction", "error", "event", "extra", "key", "msg_id",
                 "namespace", "source", "state", "ts", "user")

    def __init__(self, key: int, ts: float, direction: str, namespace: str, event: str,
                 args: Any, user: str | None = None, state: str | None = None,
                 msg_id: str | None = None, error: str | None = None, extra: str = "",
                 source: StoredMessage | dict[str, Any] | None = None) -> None:
        self.key = key
        self.ts = ts
        self.direction = direction
        self.namespace = namespace
        self.event = event
        self.args = args
        self.user = user
        self.state = state
        self.msg_id = msg_id
        self.error = error
        self.extra = extra
        self.source = source
        self._cells: tuple[str, ...] | None = None

    @classmethod
    def from_stored(cls, m: StoredMessage) -> MessageRow:
        return cls(m.rowid, m.ts, m.direction, m.namespace, m.event, m.args, m.user,
                   m.state, m.msg_id, m.error, source=m)

    @classmethod
    def from_peek(cls, queue: str, d: dict[str, Any], dead: bool) -> MessageRow:
        seq = d.get("seq")
        attempt = d.get("attempt")
        state = "dead" if dead else "waiting"
        extra = f"try {attempt}" if isinstance(attempt, int) else ""
        return cls(seq if isinstance(seq, int) else 0, parse_ts(d.get("ts")) or 0.0, "in",
                   "/queue", queue, d.get("payload"), None, state,
                   d.get("id") if isinstance(d.get("id"), str) else None, extra=extra,
                   source=d)

    def invalidate(self) -> None:
        self._cells = None

    @property
    def cells(self) -> tuple[str, ...]:
        if self._cells is None:
            d = self.direction
            state = self.state or ""
            if self.extra:
                state = f"{state} · {self.extra}" if state else self.extra
            if self.error and self.state == "failed":
                state = f"failed: {self.error}"
            elif self.state == "no_ack":
                state = "no ack: sent once, never confirmed (Send again to resend)"
            self._cells = (
                f"{self.key:,}",
                format_time_precise(self.ts) if self.ts else "",
                "↑ out" if d == "out" else "↓ in" if d == "in" else d,
                escape_controls(str(self.event))[:200],
                escape_controls(self.user or "")[:64],
                self._payload(),
                escape_controls(state)[:200],
            )
        return self._cells


    def _payload(self) -> str:
        """What a person looks for first: a chat text, else the (single) argument."""
        text = self.source.text if isinstance(self.source, StoredMessage) else None
        if text:
            return escape_controls(text[:400])[:200]
        args = self.args
        if isinstance(args, list) and len(args) == 1:
            args = args[0]
        return cell_preview(args, 200)


class MessageSource(Protocol):
    """Where a message table gets its rows (keyset paging by ``MessageRow.key``).

    ``committed_only``: the rows already in the database will do, without first
    committing what the store still buffers (a few milliseconds of a flood). A table
    following the newest rows reads that way: each commit tells it again, so the
    rest shows a moment later.
    """

    def first(self, limit: int) -> list[MessageRow]: ...
    def after(self, key: int, limit: int, committed_only: bool = False
              ) -> list[MessageRow]: ...
    def before(self, key: int, limit: int) -> list[MessageRow]: ...
    def last(self, limit: int, committed_only: bool = False) -> list[MessageRow]: ...
    def count(self) -> int | None: ...


class StoreSource:
    """A store queue, optionally filtered by a full-text search (app.store FTS5)."""

    def __init__(self, store: MessageStore, queue: str, search: str | None = None) -> None:
        self.store = store
        self.queue = queue
        self.search = (search or "").strip() or None
        self.queries = 0  # SQL pages run (tests check that paint does not add any)

    def _rows(self, msgs: list[StoredMessage]) -> list[MessageRow]:
        self.queries += 1
        return [MessageRow.from_stored(m) for m in msgs]

    def first(self, limit: int) -> list[MessageRow]:
        return self._rows(self.store.page(self.queue, after=0, limit=limit, search=self.search))

    def after(self, key: int, limit: int, committed_only: bool = False) -> list[MessageRow]:
        return self._rows(self.store.page(self.queue, after=key, limit=limit,
                                          search=self.search, committed_only=committed_only))

    def before(self, key: int, limit: int) -> list[MessageRow]:
        return self._rows(self.store.page_end(self.queue, limit=limit, search=self.search,
                                              before=key))

    def last(self, limit: int, committed_only: bool = False) -> list[MessageRow]:
        return self._rows(self.store.page_end(self.queue, limit=limit, search=self.search,
                                              committed_only=committed_only))

    def count(self) -> int | None:
        """The queue's size from the counter table; None while searching (a full count of
        a common word over a million rows is not worth a frozen UI)."""
        return None if self.search else self.store.count(self.queue)


class ListSource:
    """Rows already in memory (a /queue peek); search keeps rows containing every word."""

    def __init__(self, rows: list[MessageRow], search: str | None = None) -> None:
        rows = sorted(rows, key=lambda r: r.key)
        terms = (search or "").lower().split()
        if terms:
            rows = [r for r in rows if all(
                t in r.cells[M_PAYLOAD].lower() or t in (r.msg_id or "").lower()
                for t in terms)]
        self.rows = rows
        self._keys = [r.key for r in rows]

    def first(self, limit: int) -> list[MessageRow]:
        return self.rows[:limit]

    def after(self, key: int, limit: int, committed_only: bool = False) -> list[MessageRow]:
        i = bisect.bisect_right(self._keys, key)
        return self.rows[i:i + limit]

    def before(self, key: int, limit: int) -> list[MessageRow]:
        i = bisect.bisect_left(self._keys, key)
        return self.rows[max(0, i - limit):i]

    def last(self, limit: int, committed_only: bool = False) -> list[MessageRow]:
        return self.rows[-limit:] if limit else []

    def count(self) -> int | None:
        return len(self.rows)


class EmptySource(ListSource):
    def __init__(self) -> None:
        super().__init__([])


#: Rows a table following a flood reads per look (follow_tail): more than the tallest
#: window shows, and reading and wrapping 500 (a batch) ten times a second was a
#: 10-20 ms stall of the Queues tab under 5,000 events/s (B5).
FOLLOW_ROWS = 150


class MessageTableModel(QAbstractTableModel):
    """The messages of one queue; lazily fetched in batches, bounded in memory."""

    fetched = Signal(int)  # rows added by a fetch (either end)

    def __init__(self, parent: QObject | None = None, batch: int = 500,
                 cap: int = 50_000, follow: int = FOLLOW_ROWS) -> None:
        super().__init__(parent)
        self.batch = max(1, batch)
        self.cap = max(self.batch * 2, cap)
        self.follow = max(1, min(follow, self.batch))
        self.source: MessageSource = EmptySource()
        self._rows: list[MessageRow] = []
        self._keys: list[int] = []
        self._more_after = False
        self._more_before = False
        self._fetching = False
        self._flooded = False  # follow_tail: the last look found a batch or more new
        self.fetches = 0
        self.colors = {s: theme.state_color(s) for s in ("queued", "sent", "acked", "failed",
                                                        "no_ack")}
        self.colors["dead"] = theme.state_color("failed")
        self.dir_colors = {"in": QColor("#2fb36b"), "out": QColor("#3e8ef7")}

    # -- the source ------------------------------------------------------------------------------
    def set_source(self, source: MessageSource, at_end: bool = False) -> None:
        """Show another queue (or search): the first (or last) batch only."""
        self._load(source, at_end, self.batch)

    def _load(self, source: MessageSource, at_end: bool, limit: int,
              committed_only: bool = False) -> None:
        self.beginResetModel()
        self.source = source
        self._flooded = False
        self._rows, self._keys = [], []
        self._fetching = True
        try:
            rows = (source.last(limit, committed_only=committed_only) if at_end
                    else source.first(limit))
        finally:
            self._fetching = False
        self.fetches += 1
        self._set(rows)
        full = len(rows) >= limit
        self._more_after = full and not at_end
        self._more_before = full and at_end
        self.endResetModel()
        self.fetched.emit(len(rows))

    def _set(self, rows: list[MessageRow]) -> None:
        self._rows = rows
        self._keys = [r.key for r in rows]

    def jump_to_end(self) -> None:
        self.set_source(self.source, at_end=True)

    @property
    def more_before(self) -> bool:
        return self._more_before

    @property
    def more_after(self) -> bool:
        return self._more_after

    # -- lazy fetching ---------------------------------------------------------------------------
    def canFetchMore(self, parent: _IDX = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and self._more_after and not self._fetching

    def fetchMore(self, parent: _IDX = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid() or self._fetching or not self._more_after:
            return
        self._fetching = True
        try:
            rows = self._read_after()
            self._more_after = len(rows) >= self.batch
            self._append(rows)
        finally:
            self._fetching = False
        self.fetched.emit(len(rows))

    def _read_after(self, limit: int | None = None,
                    committed_only: bool = False) -> list[MessageRow]:
        """The batch after the last row (the first batch of an empty model)."""
        n = limit or self.batch
        rows = (self.source.after(self._keys[-1], n, committed_only=committed_only)
                if self._keys else self.source.first(n))
        self.fetches += 1
        return [r for r in rows if not self._keys or r.key > self._keys[-1]]

    def _append(self, rows: list[MessageRow]) -> None:
        if rows:
            first = len(self._rows)
            self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
            self._rows.extend(rows)
            self._keys.extend(r.key for r in rows)
            self.endInsertRows()
            self._trim_front()

    def fetch_older(self) -> int:
        """Prepend the batch before the first row (after a jump to the end); rows added."""
        if self._fetching or not self._more_before or not self._keys:
            return 0
        self._fetching = True
        try:
            rows = [r for r in self.source.before(self._keys[0], self.batch)
                    if r.key < self._keys[0]]
            self.fetches += 1
            self._more_before = len(rows) >= self.batch
            if rows:
                self.beginInsertRows(QModelIndex(), 0, len(rows) - 1)
                self._rows[:0] = rows
                self._keys[:0] = [r.key for r in rows]
                self.endInsertRows()
                self._trim_back()
        finally:
            self._fetching = False
        self.fetched.emit(len(rows))
        return len(rows)

    def refresh_tail(self) -> int:
        """New messages may have arrived after the last row: fetch them if we are at the
        end (a live queue), keeping the lazy paging otherwise. Returns rows added."""
        if self._more_after:
            return 0  # the view fetches them when it scrolls there
        before = len(self._rows)
        self._more_after = True
        self.fetchMore()
        return len(self._rows) - before

    def follow_tail(self) -> int:
        """`refresh_tail` for a view that follows the newest messages: when ``follow``
        rows or more arrived since the last row (a flood: thousands between two
        refreshes), show the last ``follow`` instead, so the last row is the newest
        message however fast they come (the rows in between load when scrolling up).
        Reads what is committed (see MessageSource). Returns rows added."""
        if self._fetching:
            return 0
        if not self._more_after and not self._flooded:
            self._fetching = True
            try:
                rows = self._read_after(self.follow, committed_only=True)
                if len(rows) < self.follow:
                    self._append(rows)
            finally:
                self._fetching = False
            if len(rows) < self.follow:
                self.fetched.emit(len(rows))
                return len(rows)
        last = self._keys[-1] if self._keys else None
        self._load(self.source, True, self.follow, committed_only=True)
        # still flooding while `follow` rows arrived since the last look: the next look
        # goes straight to the last ones, without first reading those after ours
        self._flooded = last is not None and bool(self._keys) and self._keys[0] > last
        return len(self._rows)

    def _trim_front(self) -> None:
        extra = len(self._rows) - self.cap
        if extra > 0:
            extra = max(extra, self.batch)
            self.beginRemoveRows(QModelIndex(), 0, extra - 1)
            del self._rows[:extra]
            del self._keys[:extra]
            self.endRemoveRows()
            self._more_before = True

    def _trim_back(self) -> None:
        extra = len(self._rows) - self.cap
        if extra > 0:
            extra = max(extra, self.batch)
            n = len(self._rows)
            self.beginRemoveRows(QModelIndex(), n - extra, n - 1)
            del self._rows[n - extra:]
            del self._keys[n - extra:]
            self.endRemoveRows()
            self._more_after = True

    # -- Qt model interface ------------------------------------------------------------------------
    def rowCount(self, parent: _IDX = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _IDX = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(M_COLUMNS)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(M_COLUMNS) and \
                role in HEADER_TEXT_ROLES:
            return M_COLUMNS[section]
        return None

    def data(self, index: _IDX, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        row = index.row()
        if not index.isValid() or not 0 <= row < len(self._rows):
            return None
        r = self._rows[row]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return r.cells[col]
        if role == Qt.ItemDataRole.ForegroundRole:
            return self.foreground(r, col)
        if role == Qt.ItemDataRole.TextAlignmentRole and col in self.right_aligned:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == MessageRole:
            return r
        return None

    def foreground(self, r: MessageRow, col: int) -> QColor | None:
        """A cell's text colour (None: the palette's)."""
        if col == M_STATE and r.state:
            return self.colors.get(r.state)
        if col == M_DIR:
            return self.dir_colors.get(r.direction)
        if col in (M_KEY, M_TIME):
            return theme.muted()
        return None

    right_aligned = frozenset((M_KEY,))

    def painted_row(self, row: int) -> PaintedRow:
        """Row ``row`` as a RowTable paints it: what `data()` gives, in one call."""
        r = self._rows[row]
        cols = range(len(M_COLUMNS))
        return PaintedRow(r.cells, [self.foreground(r, c) for c in cols], _NO_FONTS)

    # -- rows ----------------------------------------------------------------------------------
    def row_at(self, row: int) -> MessageRow | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def rows(self) -> list[MessageRow]:
        return list(self._rows)

    def find(self, key: int) -> int:
        """Row number of ``key`` (binary search: rows are ordered by key), or -1."""
        i = bisect.bisect_left(self._keys, key)
        return i if i < len(self._keys) and self._keys[i] == key else -1

    def update_rows(self, changes: Mapping[int, Callable[[MessageRow], None]]) -> int:
        """Apply many row changes with ONE dataChanged; returns how many keys were not
        loaded (new rows, or rows outside the loaded window)."""
        touched: list[int] = []
        for key, change in changes.items():
            i = self.find(key)
            if i < 0:
                continue
            change(self._rows[i])
            self._rows[i].invalidate()
            touched.append(i)
        if touched:
            self.dataChanged.emit(self.index(min(touched), 0),
                                  self.index(max(touched), len(M_COLUMNS) - 1))
        return len(changes) - len(touched)

    def remove_key(self, key: int) -> bool:
        i = self.find(key)
        if i < 0:
            return False
        self.beginRemoveRows(QModelIndex(), i, i)
        del self._rows[i]
        del self._keys[i]
        self.endRemoveRows()
        return True
