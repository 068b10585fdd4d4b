"""The top half of the Queues tab: the list of queues, and the chart of the selected one.

The list shows every queue (local outboxes and inboxes, the server's work queues and dead
letters) with its counters and a depth sparkline; the chart shows depth and rate of the
selected queue over time. Both read the same ``DepthSampler``, which the controller feeds
once a second. The pane only displays: it is given rows, and says which one is current.

Narrow windows (800 px): the counters are as wide as their headers, the sparkline is
short, and the splitter gives the list what its names need (up to ``NAME_CAP``) before
the chart gets the rest; a name still too long is elided in the middle ("Outbox …/chat"
keeps both ends) and is whole in its tooltip. A splitter the user dragged stays.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, Signal
from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.inspector import DepthSampler, QueueRow
from ui.inspector.chart import DepthChart, SparklineDelegate
from ui.inspector.models import (
    Q_ACKED,
    Q_DEPTH,
    Q_FAILED,
    Q_INFLIGHT,
    Q_NAME,
    Q_TREND,
    QueueListModel,
    SparkRole,
)
from ui.inspector.table import make_table
from ui.text import escape_controls

#: the most the queue names claim from the chart (px); longer ones are elided
NAME_CAP = 240
#: the sparkline column (px)
TREND_WIDTH = 90


class QueueListPane(QWidget):
    """The queues (with sparklines) beside the depth-and-rate chart of the current one."""

    current_changed = Signal(object)   # the QueueRow now current, or None

    def __init__(self, sampler: DepthSampler, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.model = QueueListModel(sampler, self)
        self.view = make_table("packetTable")
        self.view.setModel(self.model)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.setItemDelegateForColumn(Q_TREND, SparklineDelegate(SparkRole, self.view))
        self.view.setIconSize(self.view.iconSize().scaled(
            16, 16, Qt.AspectRatioMode.KeepAspectRatio))
        self.view.setTextElideMode(Qt.TextElideMode.ElideMiddle)
        fm = self.view.fontMetrics()
        for col in (Q_DEPTH, Q_INFLIGHT, Q_ACKED, Q_FAILED):  # as wide as the header says
            head = str(self.model.headerData(col, Qt.Orientation.Horizontal))
            self.view.setColumnWidth(col, max(fm.horizontalAdvance(head),
                                              fm.horizontalAdvance("00,000")) + 20)
        trend_head = str(self.model.headerData(Q_TREND, Qt.Orientation.Horizontal))
        self.view.setColumnWidth(Q_TREND, max(TREND_WIDTH,
                                              fm.horizontalAdvance(trend_head) + 20))
        self.view.setColumnWidth(Q_NAME, 120)
        self.view.horizontalHeader().setSectionResizeMode(
            Q_NAME, QHeaderView.ResizeMode.Stretch)
        self._names_need = 0
        self._user_sized = False
        self.view.selectionModel().currentRowChanged.connect(self._current_row_changed)
        self.chart = DepthChart()
        chart_box = QWidget()
        chart_box.setObjectName("chartBox")
        cl = QVBoxLayout(chart_box)
        cl.setContentsMargins(4, 4, 8, 4)
        cl.addWidget(self.chart)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("queuesTopSplitter")
        self.splitter.addWidget(self.view)
        self.splitter.addWidget(chart_box)
        self.chart_box = chart_box
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([620, 400])
        self.splitter.setChildrenCollapsible(False)
        self.splitter.splitterMoved.connect(self._splitter_moved)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.splitter)

    def set_rows(self, rows: list[QueueRow]) -> None:
        """Show `rows` (in display order), updating in place so the selection stays."""
        self.model.set_rows(rows, trend=True)
        need = min(NAME_CAP, max((self.name_width(r.label) for r in rows), default=0))
        if need != self._names_need:
            self._names_need = need
            self._share()

    def name_width(self, label: str) -> int:
        """What the name cell needs to show ``label`` whole: icon, text, padding."""
        return (self.view.iconSize().width() + 14
                + self.view.fontMetrics().horizontalAdvance(escape_controls(label)))

    def list_need(self) -> int:
        """The list's width with every name whole (up to NAME_CAP) and every column."""
        others = sum(self.view.columnWidth(c) for c in range(self.model.columnCount())
                     if c != Q_NAME)
        return (others + max(self._names_need, 120) + self.view.frameWidth() * 2
                + self.view.verticalScrollBar().sizeHint().width())

    def _share(self) -> None:
        """The list gets what its names need (at least 3/5 of the room), the chart the
        rest, down to its minimum; once the user moves the splitter, theirs stays."""
        total = sum(self.splitter.sizes())
        if self._user_sized or total <= 0:
            return
        chart_least = self.chart_box.minimumSizeHint().width()
        first = min(max(self.list_need(), total * 3 // 5), total - chart_least)
        self.splitter.setSizes([first, total - first])

    def _splitter_moved(self, _pos: int, _index: int) -> None:
        self._user_sized = True

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self._share()

    def clear(self) -> None:
        """No queues (another session): the current row goes, so does the selection."""
        self.model.set_rows([])

    def is_empty(self) -> bool:
        return not self.model.rowCount()

    def select(self, key: str) -> bool:
        """Make the queue `key` current, as a click does; False if it is not listed."""
        row = self.model.row_of(key)
        if row < 0:
            return False
        self.view.selectionModel().setCurrentIndex(
            self.model.index(row, 0),
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)
        return True

    def show_chart(self, row: QueueRow) -> None:
        """Chart the depth and rate history of `row`."""
        self.chart.set_samples(escape_controls(f"{row.label} — depth and rate"),
                               self.model.sampler.history(row.key), _rate_label(row))

    def _current_row_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        self.current_changed.emit(self.model.row_at(current.row()) if current.isValid()
                                  else None)


def _rate_label(row: QueueRow) -> str:
    """What the chart's rate line counts for this kind of queue."""
    return {"outbox": "done", "work": "done", "dead": "dead"}.get(row.kind, "in")
