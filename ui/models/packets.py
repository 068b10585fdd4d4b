"""The packet log as a Qt table: batched inserts, bounded size, O(1) data(), and a filter.

Packets come from the core (``app.packets.Packet``) one by one, possibly thousands per
second. They are queued and inserted with one beginInsertRows per timer tick; every
cell's text is computed once, at insert, so data() is a list lookup.
"""

from __future__ import annotations

import bisect
import contextlib
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QFont

from app import jsonmod
from app.binary import has_binary
from ui import theme
from ui.models.painted import HEADER_TEXT_ROLES, PaintedRow
from ui.text import (
    escape_controls,
    format_time_precise,
    human_latency,
    human_size,
    one_line,
    preview,
    without_base64,
)

COLUMNS = ("Time", "Dir", "Namespace", "Event", "Arguments", "Ack", "Latency", "Size")
COL_TIME, COL_DIR, COL_NS, COL_EVENT, COL_ARGS, COL_ACK, COL_LATENCY, COL_SIZE = range(8)
PacketRole = Qt.ItemDataRole.UserRole + 1
DirectionRole = Qt.ItemDataRole.UserRole + 2
SearchRole = Qt.ItemDataRole.UserRole + 3
#: Rows the live table keeps (the oldest go in chunks of a tenth): ~1 KB of Python
#: objects a row with its packet, so ~20 MB, reached in ~17 min at 20 packets/s. The
#: store keeps every received event (Queues tab, ``event:<ns>:<event>``); the table is
#: a live view, not the record.
LIVE_ROWS = 20_000
#: A batch this big means a flood (~3,000 packets/s at the normal interval): the table
#: then takes new rows every FLOOD_INTERVAL_MS, as each insert repaints the whole view.
FLOOD_ROWS = 100
FLOOD_INTERVAL_MS = 100
#: flags() is called for every painted cell: computed once
_FLAGS = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable | \
    Qt.ItemFlag.ItemNeverHasChildren

_IDX = QModelIndex | QPersistentModelIndex


def _get(packet: Any, name: str, default: Any = None) -> Any:
    if isinstance(packet, dict):
        return packet.get(name, default)
    return getattr(packet, name, default)


#: row colours of the session's own rows (a disconnect, a recovery, a gap)
NOTE_COLORS = {"DISCONNECT": "#e5484d", "RECOVERY": "#2fb36b", "GAP": "#d29922"}


def session_note(kind: str, args: Any) -> str | None:
    """The sentence for a DISCONNECT row (with its reason) or a RECOVERY row ("recovered
    N events" / "gap: …"); None for any other packet."""
    if kind not in ("DISCONNECT", "RECOVERY"):
        return None
    info = args[0] if isinstance(args, list) and args and isinstance(args[0], dict) else {}
    if kind == "DISCONNECT":
        reason = info.get("reason")
        return (one_line(f"disconnected: {reason}", 200) if reason
                else "disconnected (the namespace was closed)")
    note = info.get("note")
    if isinstance(note, str) and note:
        return one_line(note, 200)
    if info.get("recovered"):
        return f"recovered {info.get('events', 0)} events"
    return "gap: the server could not recover the session"


def note_color_key(kind: str, args: Any) -> str | None:
    """Which NOTE_COLORS entry a row takes (None: an ordinary packet)."""
    if kind == "DISCONNECT":
        return "DISCONNECT"
    if kind == "RECOVERY":
        info = args[0] if isinstance(args, list) and args and isinstance(args[0], dict) else {}
        return "RECOVERY" if info.get("recovered") else "GAP"
    return None


class _Row:
    """One packet and its cell texts, made on first use (inserts stay O(1) per packet)."""

    __slots__ = ("_cells", "_search", "direction", "event", "kind", "namespace", "packet")

    def __init__(self, packet: Any) -> None:
        self.packet = packet
        self.direction = str(_get(packet, "direction", "") or "")
        self.kind = str(_get(packet, "kind", "EVENT") or "EVENT")
        event = _get(packet, "event")
        self.event = str(event) if event else self.kind
        self.namespace = str(_get(packet, "namespace", "/") or "/")
        self._cells: list[str] | None = None
        self._search: str | None = None

    @property
    def cells(self) -> list[str]:
        if self._cells is None:
            p = self.packet
            kind = self.kind
            event = _get(p, "event")
            ack_id = _get(p, "ack_id")
            latency = _get(p, "latency_ms")
            args = _get(p, "args")
            event_label = escape_controls(str(event)) if event else kind
            if event and kind not in ("EVENT", "BINARY_EVENT"):
                event_label = f"{kind} {event_label}"
            ts = _get(p, "ts")
            d = self.direction
            note = session_note(kind, args)
            if note is not None:  # our own rows: say what happened, not the raw dict
                event_label = "⏏ DISCONNECT" if kind == "DISCONNECT" else "⟲ RECOVERY"
            self._cells = [
                format_time_precise(float(ts)) if ts is not None else "",
                "↑ out" if d == "out" else "↓ in" if d == "in" else d,
                escape_controls(self.namespace),
                event_label,
                note if note is not None else "" if args is None or args == [] else preview(
                    without_base64(args) if has_binary(args) else args, 140),
                f"#{ack_id}" if ack_id is not None else "",
                human_latency(float(latency)) if latency is not None else "",
                human_size(_get(p, "size")),
            ]
        return self._cells

    @property
    def search(self) -> str:
        """What the text filter looks in (kept once the text filter has been used)."""
        if self._search is None:
            args = _get(self.packet, "args")
            try:
                raw = jsonmod.dumps(args)[:2000] if args else ""
            except (TypeError, ValueError):
                raw = preview(args, 2000)
            self._search = f"{self.namespace}\n{self.kind} {self.event}\n{raw}".lower()
        return self._search


class PacketTableModel(QAbstractTableModel):
    """Rows of packets; newest last. Capacity-bounded: the oldest are dropped in chunks."""

    paused_changed = Signal(bool)
    pending_changed = Signal(int)

    def __init__(self, parent: QObject | None = None, capacity: int = LIVE_ROWS,
                 interval_ms: int = 33) -> None:
        super().__init__(parent)
        self._rows: list[_Row] = []
        #: rows dropped (oldest first, or never inserted) since the last clear
        self.dropped = 0
        self._pending: list[Any] = []
        self._capacity = max(10, capacity)
        self._paused = False
        self._base = 0  # absolute number of the first row still held
        self._out_by_ack: dict[tuple[str, Any], int] = {}  # (ns, ack_id) -> absolute row
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(interval_ms)
        self._interval_ms = interval_ms
        self._timer.timeout.connect(self.flush)
        self.dir_colors = {"in": QColor("#2fb36b"), "out": QColor("#3e8ef7")}
        self.note_colors = {k: QColor(v) for k, v in NOTE_COLORS.items()}
        self._bold = QFont()
        self._bold.setBold(True)

    # -- feeding ---------------------------------------------------------------------------
    def add(self, packet: Any) -> None:
        self.add_many([packet])

    def add_many(self, packets: list[Any]) -> None:
        """Hold packets for the next flush (at most ``capacity``: the oldest go first)."""
        before = len(self._pending)
        self._pending.extend(packets)
        if len(self._pending) > self._capacity:
            extra = len(self._pending) - self._capacity
            del self._pending[:extra]
            self.dropped += extra
        if self._paused:
            # a live count at the 1st, 101st, 201st... packet held: no signal per packet
            if (before - 1) // 100 != (len(self._pending) - 1) // 100:
                self.pending_changed.emit(len(self._pending))
        elif not self._timer.isActive():
            self._timer.start()

    def flush(self) -> None:
        """Insert everything pending in one beginInsertRows (unless paused)."""
        if self._paused or not self._pending:
            return
        batch, self._pending = self._pending, []
        new_rows = [_Row(p) for p in batch]
        overflow = len(self._rows) + len(new_rows) - self._capacity
        if overflow > 0:
            drop = min(len(self._rows), max(overflow, self._capacity // 10))
            if drop:
                self.beginRemoveRows(QModelIndex(), 0, drop - 1)
                del self._rows[:drop]
                self._base += drop
                self.dropped += drop
                self._forget_acks_before(self._base)
                self.endRemoveRows()
            if len(new_rows) > self._capacity:
                self.dropped += len(new_rows) - self._capacity
                new_rows = new_rows[-self._capacity:]
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(new_rows) - 1)
        self._rows.extend(new_rows)
        self.endInsertRows()
        self._link_acks(first)
        self.pending_changed.emit(0)
        # following the bottom of a flood repaints the view on every insert: fewer, bigger
        # inserts keep the GUI responsive, and nobody reads thousands of rows a second
        self._timer.setInterval(FLOOD_INTERVAL_MS if len(new_rows) >= FLOOD_ROWS
                                else self._interval_ms)

    def _forget_acks_before(self, base: int) -> None:
        """Emits whose rows were dropped can no longer show their ack's latency."""
        if self._out_by_ack:
            self._out_by_ack = {k: r for k, r in self._out_by_ack.items() if r >= base}

    def _link_acks(self, first: int) -> None:
        """Show the latency of an answered emit on the emit's row too."""
        changed: list[int] = []
        for i in range(first, len(self._rows)):
            row = self._rows[i]
            ack_id = _get(row.packet, "ack_id")
            if ack_id is None:
                continue
            kind = _get(row.packet, "kind", "EVENT")
            key = (row.namespace, ack_id)
            if kind in ("EVENT", "BINARY_EVENT"):
                self._out_by_ack[key] = self._base + i
                if len(self._out_by_ack) > self._capacity:
                    self._out_by_ack.pop(next(iter(self._out_by_ack)))
            elif kind in ("ACK", "BINARY_ACK"):
                src = self._out_by_ack.pop(key, None)
                if src is None or src < self._base:
                    continue
                lat = _get(row.packet, "latency_ms")
                src_row = self._rows[src - self._base]
                if lat is not None and not src_row.cells[COL_LATENCY]:
                    src_row.cells[COL_LATENCY] = f"{float(lat):.1f} ms"
                    changed.append(src - self._base)
        for r in changed:
            idx = self.index(r, COL_LATENCY)
            self.dataChanged.emit(idx, idx, [Qt.ItemDataRole.DisplayRole])

    def clear(self) -> None:
        self.beginResetModel()
        self._rows.clear()
        self._pending.clear()
        self._out_by_ack.clear()
        self._base = 0
        self.dropped = 0
        self.endResetModel()
        self.pending_changed.emit(0)

    # -- pause ----------------------------------------------------------------------------------
    @property
    def paused(self) -> bool:
        return self._paused

    def set_paused(self, paused: bool) -> None:
        if paused == self._paused:
            return
        self._paused = paused
        self.paused_changed.emit(paused)
        if not paused:
            self.flush()
        else:
            self.pending_changed.emit(len(self._pending))

    @property
    def capacity(self) -> int:
        """Rows kept (the oldest are dropped past it)."""
        return self._capacity

    @property
    def pending(self) -> int:
        return len(self._pending)

    @property
    def first_row_number(self) -> int:
        """How many rows were dropped from the top since the last clear: row ``r`` is
        the ``first_row_number + r``-th packet shown (a counter that only grows, where
        the row count stops at the capacity)."""
        return self._base

    # -- access -----------------------------------------------------------------------------------
    def packet(self, row: int) -> Any:
        return self._rows[row].packet

    def packets(self) -> list[Any]:
        return [r.packet for r in self._rows]

    @property
    def rows(self) -> list[_Row]:
        return self._rows

    def row_info(self, row: int) -> _Row:
        return self._rows[row]

    row_of = row_info  # what PacketFilterModel also has: the row a view's row shows

    right_aligned = frozenset((COL_LATENCY, COL_SIZE))

    def painted_row(self, row: int) -> PaintedRow:
        """Row ``row`` as a RowTable paints it."""
        return self.look_of(self._rows[row])

    def look_of(self, row: _Row) -> PaintedRow:
        """A row's texts with the colours and fonts `data()` gives its cells."""
        cols = range(len(COLUMNS))
        return PaintedRow(row.cells, [self.foreground(row, c) for c in cols],
                          [self.font_for(row, c) for c in cols])

    def foreground(self, row: _Row, col: int) -> QColor | None:
        """The text colour of a cell (None: the palette's)."""
        if row.kind in ("DISCONNECT", "RECOVERY"):
            key = note_color_key(row.kind, _get(row.packet, "args"))
            if key is not None:
                return self.note_colors[key]
        if col == COL_DIR:
            return self.dir_colors.get(row.direction)
        return None

    def font_for(self, row: _Row, col: int) -> QFont | None:
        """The font of a cell (None: the view's)."""
        if col == COL_EVENT and row.kind in ("DISCONNECT", "RECOVERY"):
            return self._bold
        if col in (COL_TIME, COL_ARGS, COL_ACK):
            return theme.mono_font()  # at the zoom in use
        return None

    # -- Qt model -------------------------------------------------------------------------------
    def rowCount(self, parent: _IDX = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _IDX = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: _IDX, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return row.cells[col]
        if role == Qt.ItemDataRole.ToolTipRole and col == COL_ARGS:
            return None  # the detail pane shows the whole packet
        if role == Qt.ItemDataRole.ForegroundRole:
            return self.foreground(row, col)
        if role == Qt.ItemDataRole.FontRole:
            return self.font_for(row, col)
        if role == Qt.ItemDataRole.TextAlignmentRole and col in self.right_aligned:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        if role == PacketRole:
            return row.packet
        if role == DirectionRole:
            return row.direction
        if role == SearchRole:
            return row.search
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if (role in HEADER_TEXT_ROLES and orientation == Qt.Orientation.Horizontal
                and 0 <= section < len(COLUMNS)):  # the tooltip: the label, when it is cut
            return COLUMNS[section]
        if role == Qt.ItemDataRole.FontRole and orientation == Qt.Orientation.Horizontal:
            f = QFont()
            f.setBold(True)
            return f
        return None

    def flags(self, index: _IDX) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return _FLAGS


class PacketFilterModel(QAbstractTableModel):
    """The packet log filtered by text, event, namespace and direction, in log order.

    A table over a sorted list of source row numbers. Refiltering is one Python loop
    over the rows (no per-row call from C++ as with QSortFilterProxyModel), and new
    packets are matched as they are inserted, so it stays quick at 100k+ rows.
    """

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._text = ""
        self._event = ""
        self._namespace = ""
        self._direction = ""
        self._src: PacketTableModel | None = None
        self._rows: list[int] = []
        self._removal: tuple[int, int, int] | None = None

    # -- source -------------------------------------------------------------------------------
    def setSourceModel(self, source: PacketTableModel | None) -> None:
        self.beginResetModel()
        if self._src is not None:
            for sig, slot in self._links():
                with contextlib.suppress(RuntimeError, TypeError):
                    sig.disconnect(slot)
        self._src = source
        if source is not None:
            for sig, slot in self._links():
                sig.connect(slot)
        self._rows = self._match_all()
        self.endResetModel()

    def sourceModel(self) -> PacketTableModel | None:
        return self._src

    def _links(self) -> list[tuple[Any, Any]]:
        src = self._src
        assert src is not None
        return [(src.rowsInserted, self._inserted), (src.rowsAboutToBeRemoved, self._removing),
                (src.rowsRemoved, self._removed),
                (src.modelReset, self._reset), (src.dataChanged, self._changed),
                (src.layoutChanged, self._reset)]

    # -- filters -------------------------------------------------------------------------------
    def set_filters(self, text: str | None = None, event: str | None = None,
                    namespace: str | None = None, direction: str | None = None) -> None:
        if text is not None:
            self._text = text.strip().lower()
        if event is not None:
            self._event = event.strip()
        if namespace is not None:
            self._namespace = namespace.strip()
        if direction is not None:
            self._direction = direction.strip()
        self._reset()

    @property
    def active(self) -> bool:
        return bool(self._text or self._event or self._namespace or self._direction)

    def accepts(self, row: _Row) -> bool:
        if self._direction and row.direction != self._direction:
            return False
        if self._namespace and row.namespace != self._namespace:
            return False
        if self._event and row.event != self._event:
            return False
        return not self._text or self._text in row.search

    def _match_all(self, first: int = 0, last: int | None = None) -> list[int]:
        src = self._src
        if src is None:
            return []
        rows = src.rows
        end = len(rows) if last is None else last + 1
        if not self.active:
            return list(range(first, end))
        accepts = self.accepts
        return [i for i in range(first, end) if accepts(rows[i])]

    # -- following the source --------------------------------------------------------------------
    def _reset(self, *_args: Any) -> None:
        self.beginResetModel()
        self._rows = self._match_all()
        self.endResetModel()

    def _inserted(self, parent: QModelIndex, first: int, last: int) -> None:
        if parent.isValid():
            return
        if self._rows and first <= self._rows[-1]:  # not an append: recompute (never happens)
            self._reset()
            return
        new = self._match_all(first, last)
        if new:
            start = len(self._rows)
            self.beginInsertRows(QModelIndex(), start, start + len(new) - 1)
            self._rows.extend(new)
            self.endInsertRows()

    def _removing(self, parent: QModelIndex, first: int, last: int) -> None:
        """Source rows are about to go: announce ours now, change the mapping after."""
        if parent.isValid():
            return
        lo = bisect.bisect_left(self._rows, first)
        hi = bisect.bisect_right(self._rows, last)
        self._removal = (lo, hi, last - first + 1)
        if hi > lo:
            self.beginRemoveRows(QModelIndex(), lo, hi - 1)

    def _removed(self, parent: QModelIndex, _first: int, _last: int) -> None:
        if parent.isValid() or self._removal is None:
            return
        lo, hi, count = self._removal
        self._removal = None
        del self._rows[lo:hi]
        self._rows[lo:] = [r - count for r in self._rows[lo:]]
        if hi > lo:
            self.endRemoveRows()

    def _changed(self, top_left: QModelIndex, bottom_right: QModelIndex, roles: Any = ()) -> None:
        lo = bisect.bisect_left(self._rows, top_left.row())
        hi = bisect.bisect_right(self._rows, bottom_right.row())
        if hi > lo:
            self.dataChanged.emit(self.index(lo, top_left.column()),
                                  self.index(hi - 1, bottom_right.column()))

    # -- mapping ---------------------------------------------------------------------------------
    def row_of(self, row: int) -> _Row:
        """The source's row that our row ``row`` shows."""
        assert self._src is not None
        return self._src.rows[self._rows[row]]

    right_aligned = PacketTableModel.right_aligned

    def painted_row(self, row: int) -> PaintedRow:
        """Row ``row`` as a RowTable paints it (as the source paints its row)."""
        assert self._src is not None
        return self._src.look_of(self.row_of(row))

    def mapToSource(self, index: _IDX) -> QModelIndex:
        if not index.isValid() or self._src is None:
            return QModelIndex()
        return self._src.index(self._rows[index.row()], index.column())

    def mapFromSource(self, index: _IDX) -> QModelIndex:
        if not index.isValid():
            return QModelIndex()
        i = bisect.bisect_left(self._rows, index.row())
        if i < len(self._rows) and self._rows[i] == index.row():
            return self.index(i, index.column())
        return QModelIndex()

    # -- Qt model ----------------------------------------------------------------------------------
    def rowCount(self, parent: _IDX = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: _IDX = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: _IDX, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or self._src is None:
            return None
        return self._src.data(self._src.index(self._rows[index.row()], index.column()), role)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if self._src is None:
            return None
        return self._src.headerData(section, orientation, role)

    def flags(self, index: _IDX) -> Qt.ItemFlag:
        if not index.isValid():
            return Qt.ItemFlag.NoItemFlags
        return _FLAGS
