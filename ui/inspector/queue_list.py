"""The top half of the Queues tab: the list of queues, and the chart of the selected one.

The list shows every queue (local outboxes and inboxes, the server's work queues and dead
letters) with its counters and a depth sparkline; the chart shows depth and rate of the
selected queue over time. Both read the same ``DepthSampler``, which the controller feeds
once a second. The pane only displays: it is given rows, and says which one is current.
"""

from __future__ import annotations

from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, Signal
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
        widths = {Q_NAME: 190, Q_DEPTH: 70, Q_INFLIGHT: 70, Q_ACKED: 70, Q_FAILED: 62,
                  Q_TREND: 130}
        for col, w in widths.items():
            self.view.setColumnWidth(col, w)
        self.view.horizontalHeader().setSectionResizeMode(
            Q_NAME, QHeaderView.ResizeMode.Stretch)
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
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([620, 400])
        self.splitter.setChildrenCollapsible(False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.splitter)

    def set_rows(self, rows: list[QueueRow]) -> None:
        """Show `rows` (in display order), updating in place so the selection stays."""
        self.model.set_rows(rows, trend=True)

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
