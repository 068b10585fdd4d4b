"""The Events tab: live packet log with filters, pause, clear, NDJSON export, detail pane.

It shows ``ui.models.packets`` (every packet in and out, inserted in batches). The filter
proxy is in use only while a filter is set, so the unfiltered log costs no per-row filter
calls. Export asks the main window, which opens the file dialog and writes the file.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QItemSelection, QModelIndex, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QFontMetrics, QGuiApplication
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.models.packets import (
    COL_ACK,
    COL_ARGS,
    COL_DIR,
    COL_EVENT,
    COL_LATENCY,
    COL_NS,
    COL_SIZE,
    COL_TIME,
    PacketFilterModel,
    PacketTableModel,
)
from ui.text import to_json
from ui.widgets.binaryview import BinaryView
from ui.widgets.buttons import tool_button
from ui.widgets.row_table import RowTable
from ui.zoom import view_state

if TYPE_CHECKING:
    from app.packets import Packet

    #: what the packet model holds: the core's packets (tests feed it plain dicts)
    PacketLike = Packet | dict[str, Any]

#: what the Arguments column keeps in a narrow table (px), and how narrow the columns
#: that give way to it may get
ARGS_LEAST = 130
COLUMN_FLOORS = {COL_NS: 64, COL_EVENT: 76, COL_ACK: 32, COL_SIZE: 48}
#: columns whose floor is a sample of their text (times, directions and latencies are
#: not elided)
TEXT_FLOORS = {COL_TIME: "00:00:00.000", COL_DIR: "↑ out", COL_LATENCY: "000.0 ms"}
#: the columns' widths at 100 %; they grow with the zoom (EventsTab._size_for_font)
COLUMN_WIDTHS = {COL_TIME: 104, COL_DIR: 56, COL_NS: 90, COL_EVENT: 130, COL_ARGS: 380,
                 COL_ACK: 56, COL_LATENCY: 78, COL_SIZE: 70}
#: columns in the fixed-pitch font (ui.models.packets), whose floors it measures
MONO_COLUMNS = frozenset({COL_TIME, COL_ARGS, COL_ACK})

PACKET_FIELDS = ("seq", "ts", "direction", "namespace", "kind", "event", "args", "ack_id",
                 "latency_ms", "size")


def packet_dict(packet: PacketLike) -> dict[str, Any]:
    """A packet as a plain dict (for the detail pane and the export)."""
    if isinstance(packet, dict):
        return dict(packet)
    return {f: getattr(packet, f) for f in PACKET_FIELDS}


class EventsTab(QWidget):
    """Packet log. Export asks the main window for a file (non-blocking dialog)."""

    export_requested = Signal()

    def __init__(self, model: PacketTableModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._fitting = False      # our own column changes (not the user's)
        self.model = model
        # The proxy is only in use while a filter is set: unfiltered, the table shows the
        # model itself, so 100k+ rows cost no per-row Python filter calls at all.
        self.proxy = PacketFilterModel(self)

        self.search = QLineEdit()
        # short enough for an 800 px window; the tooltip says what it searches
        self.search.setPlaceholderText("Filter packets…")
        self.search.setToolTip("Show the packets whose namespace, event or arguments hold "
                               "this text")
        self.search.setClearButtonEnabled(True)
        self.search.addAction(theme.icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(150)
        self._search_timer.timeout.connect(self.apply_filters)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())

        self.event_filter = QComboBox()
        self.event_filter.setEditable(True)
        self.event_filter.setLineEdit(QLineEdit(placeholderText="any event"))
        self.event_filter.setMinimumWidth(130)
        self.event_filter.currentTextChanged.connect(lambda _t: self.apply_filters())
        self.ns_filter = QComboBox()
        self.ns_filter.setEditable(True)
        self.ns_filter.setLineEdit(QLineEdit(placeholderText="any namespace"))
        self.ns_filter.setMinimumWidth(110)
        self.ns_filter.currentTextChanged.connect(lambda _t: self.apply_filters())
        self.dir_filter = QComboBox()
        for label, value in (("in + out", ""), ("↓ in", "in"), ("↑ out", "out")):
            self.dir_filter.addItem(label, value)
        self.dir_filter.currentIndexChanged.connect(lambda _i: self.apply_filters())

        self.pause_button = tool_button("Pause the live log (packets are kept and shown on "
                                        "resume)", icon="pause", text="Pause", checkable=True)
        self.pause_button.toggled.connect(self._toggle_pause)
        self.clear_button = tool_button("Clear the log", icon="trash", text="Clear")
        self.clear_button.clicked.connect(self.clear)
        self.export_button = tool_button("Export the shown packets as NDJSON", icon="export",
                                         text="Export")
        self.export_button.clicked.connect(self.export_requested)
        self.count_label = QLabel("0 packets")
        self.count_label.setObjectName("hint")
        # never what sets the window's minimum width (the text grows with the counts)
        self.count_label.setSizePolicy(QSizePolicy.Policy.Ignored,
                                       QSizePolicy.Policy.Preferred)

        bar = QHBoxLayout()
        bar.setContentsMargins(10, 8, 10, 6)
        bar.setSpacing(6)
        bar.addWidget(self.search, 3)
        bar.addWidget(self.event_filter, 1)
        bar.addWidget(self.ns_filter, 1)
        bar.addWidget(self.dir_filter)
        bar.addSpacing(8)
        bar.addWidget(self.pause_button)
        bar.addWidget(self.clear_button)
        bar.addWidget(self.export_button)

        self.table = RowTable()
        self.table.setObjectName("packetTable")
        self.table.setModel(model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setShowGrid(False)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        self.table.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        vh = self.table.verticalHeader()
        vh.setVisible(False)
        vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setHighlightSections(False)
        hh.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self._widths: dict[int, int] = {}
        self._floors: dict[int, int] = {}
        self._size_for_font()
        for col, w in self._widths.items():
            self.table.setColumnWidth(col, w)
        hh.setSectionResizeMode(COL_ARGS, QHeaderView.ResizeMode.Stretch)
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        self._user_widths = False  # once the user sizes a column, the widths are theirs
        hh.sectionResized.connect(self._section_resized)
        view_state().zoom_changed.connect(self.follow_zoom)
        self.table.viewport().installEventFilter(self)

        self.detail = QPlainTextEdit()
        self.detail.setReadOnly(True)
        theme.use_mono(self.detail)
        self.detail.setPlaceholderText("Select a packet to see it in full")
        self.detail.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.copy_button = tool_button("Copy the packet as JSON", icon="copy", text="Copy")
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self.copy_detail)
        detail_title = QLabel("Packet")
        detail_title.setObjectName("sectionTitle")
        dh = QHBoxLayout()
        dh.setContentsMargins(10, 6, 6, 0)
        dh.addWidget(detail_title)
        dh.addStretch(1)
        dh.addWidget(self.copy_button)
        detail_box = QWidget()
        dl = QVBoxLayout(detail_box)
        dl.setContentsMargins(0, 0, 0, 0)
        dl.addLayout(dh)
        dl.addWidget(self.detail, 1)
        self.binary = BinaryView()  # shown when the packet carries binary
        dl.addWidget(self.binary, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("eventsSplitter")
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(detail_box)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setSizes([760, 300])

        footer = QHBoxLayout()
        footer.setContentsMargins(10, 4, 10, 6)
        # the label takes the line (its size policy ignores its text's width: beside a
        # stretch it was given none and the count never showed)
        footer.addWidget(self.count_label, 1)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addLayout(bar)
        self.vsplit = QSplitter(Qt.Orientation.Vertical)
        self.vsplit.setObjectName("eventsVSplitter")
        self.vsplit.addWidget(self.splitter)
        lay.addWidget(self.vsplit, 1)
        lay.addLayout(footer)

        self._known_events: set[str] = set()
        self._known_ns: set[str] = set()
        self._stick = True
        self._scroll_timer = QTimer(self)
        self._scroll_timer.setSingleShot(True)
        self._scroll_timer.setInterval(0)
        self._scroll_timer.timeout.connect(self.table.scrollToBottom)
        self.table.verticalScrollBar().valueChanged.connect(self._scrolled)
        model.rowsInserted.connect(self._rows_inserted)
        model.modelReset.connect(self._update_count)
        model.rowsRemoved.connect(self._update_count)
        model.pending_changed.connect(lambda _n: self._update_count())
        model.rowsInserted.connect(self._shown_rows_inserted)
        self.proxy.rowsInserted.connect(self._shown_rows_inserted)

    # -- column widths ---------------------------------------------------------------------------
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if obj is self.table.viewport() and event.type() == QEvent.Type.Resize:
            self.fit_columns()
            if self._stick:  # a shorter view (first shown, a panel grew) still ends at
                self._scroll_timer.start()  # the newest packet
        return False

    def _size_for_font(self) -> None:
        """Row height, column widths and the columns' floors for the font in use (the
        zoom's): at 125 % the time no longer fitted its 104 px."""
        mono = QFontMetrics(theme.mono_font())
        plain = self.fontMetrics()
        self.table.verticalHeader().setDefaultSectionSize(
            max(plain.height(), mono.height()) + 8)
        self._widths = {c: round(w * theme.scale()) for c, w in COLUMN_WIDTHS.items()}
        # the floors stay: in a narrow zoomed window Arguments needs every pixel
        self._floors = dict(COLUMN_FLOORS) | {
            col: (mono if col in MONO_COLUMNS else plain).horizontalAdvance(text) + 14
            for col, text in TEXT_FLOORS.items()}

    def follow_zoom(self, _percent: int = 0) -> None:
        """The zoom changed (``ui.zoom``, after the fonts): rows and columns follow."""
        self._size_for_font()
        self.fit_columns()

    def fit_columns(self) -> None:
        """Arguments, the column that says what a packet is, keeps ``ARGS_LEAST`` px in
        a narrow table (an 800 px window): the time, namespace and event columns give
        up what they must, down to their floors; columns the user sized stay."""
        if self._user_widths:
            return
        room = self.table.viewport().width()
        widths = dict(self._widths)
        excess = sum(w for c, w in widths.items() if c != COL_ARGS) + ARGS_LEAST - room
        slack = {c: max(0, widths[c] - floor) for c, floor in self._floors.items()}
        total_slack = sum(slack.values())
        if excess > 0 and total_slack:
            for col, give in slack.items():
                widths[col] -= min(give, -(-excess * give // total_slack))
        self._fitting = True
        for col, w in widths.items():
            if col != COL_ARGS and self.table.columnWidth(col) != w:
                self.table.setColumnWidth(col, w)
        self._fitting = False

    def _section_resized(self, col: int, _old: int, _new: int) -> None:
        if not self._fitting and col != COL_ARGS and self.isVisible():
            self._user_widths = True

    # -- filters -------------------------------------------------------------------------------
    def apply_filters(self) -> None:
        self.proxy.set_filters(text=self.search.text(), event=self.event_filter.currentText(),
                               namespace=self.ns_filter.currentText(),
                               direction=self.dir_filter.currentData() or "")
        if self.proxy.active:
            if self.proxy.sourceModel() is not self.model:
                self.proxy.setSourceModel(self.model)
            self._show(self.proxy)
        else:
            self._show(self.model)
            if self.proxy.sourceModel() is not None:
                self.proxy.setSourceModel(None)
        if self.selected_packet() is None:
            # the selected packet is filtered out, or the view changed: the detail, its
            # hex dump too, no longer shows it (Qt says nothing when a filter hides a row)
            self._clear_detail()
        self._update_count()

    def shown_model(self) -> PacketTableModel | PacketFilterModel:
        """What the table shows: the model itself, or the filter over it."""
        return self.proxy if self.table.model() is self.proxy else self.model

    def _show(self, target: PacketTableModel | PacketFilterModel) -> None:
        if self.table.model() is target:
            return
        widths = [self.table.columnWidth(c) for c in range(len(self._widths))]
        self._fitting = True
        self.table.setModel(target)
        for col, w in enumerate(widths):
            if w > 0:
                self.table.setColumnWidth(col, w)
        self.table.horizontalHeader().setSectionResizeMode(COL_ARGS,
                                                           QHeaderView.ResizeMode.Stretch)
        self.table.horizontalHeader().sectionResized.connect(self._section_resized)
        self._fitting = False
        self.table.selectionModel().selectionChanged.connect(self._selection_changed)
        if self._stick:
            self._scroll_timer.start()

    def selected_packet(self) -> PacketLike | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() \
            else []
        if not rows:
            return None
        return self.model.packet(self._source_row(rows[0]))

    def _source_row(self, index: QModelIndex) -> int:
        if index.model() is self.proxy:
            return self.proxy.mapToSource(index).row()
        return index.row()

    def focus_filter(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def _rows_inserted(self, _parent: QModelIndex, first: int, last: int) -> None:
        for row in range(first, last + 1):
            info = self.model.row_info(row)
            if info.event not in self._known_events and len(self._known_events) < 500:
                self._known_events.add(info.event)
                self._add_sorted(self.event_filter, info.event)
            if info.namespace not in self._known_ns and len(self._known_ns) < 200:
                self._known_ns.add(info.namespace)
                self._add_sorted(self.ns_filter, info.namespace)
        self._update_count()

    def _add_sorted(self, combo: QComboBox, text: str) -> None:
        current = combo.currentText()
        combo.blockSignals(True)
        items = sorted({combo.itemText(i) for i in range(combo.count())} | {text})
        combo.clear()
        combo.addItems(items)
        combo.setCurrentIndex(-1)
        combo.setEditText(current)
        combo.blockSignals(False)

    def _shown_rows_inserted(self, *_args: object) -> None:
        if self._stick and self.sender() is self.table.model():
            self._scroll_timer.start()

    def _scrolled(self, value: int) -> None:
        self._stick = value >= self.table.verticalScrollBar().maximum() - 2

    def _update_count(self, *_args: object) -> None:
        total = self.model.rowCount()
        shown = self.shown_model().rowCount()
        text = f"{total:,} packets" if not self.proxy.active else \
            f"{shown:,} of {total:,} packets"
        tip = ""
        if self.model.dropped:
            text += f"  ·  {self.model.dropped:,} older not shown: Queues tab"
            tip = (f"This live view keeps the newest {self.model.capacity:,} packets; "
                   f"{self.model.dropped:,} older ones are no longer shown here. Every "
                   "received event stays stored: the Queues tab has each room's and "
                   "event's inbox, searchable and exportable.")
        if self.model.paused:
            text += f"  ·  paused, {self.model.pending:,} waiting"
        self.count_label.setText(text)
        self.count_label.setToolTip(tip)

    # -- pause / clear -----------------------------------------------------------------------------
    def _toggle_pause(self, paused: bool) -> None:
        self.model.set_paused(paused)
        self.pause_button.setIcon(theme.icon("play" if paused else "pause"))
        self.pause_button.setText("Resume" if paused else "Pause")
        self._update_count()

    def clear(self) -> None:
        self.model.clear()
        self._clear_detail()
        self._update_count()

    def start_over(self) -> None:
        """Another workspace is shown: none of the last one's packets, and filters that
        offer only the events and namespaces this one sends (the typed filters stay)."""
        self.clear()
        self._known_events.clear()
        self._known_ns.clear()
        for combo in (self.event_filter, self.ns_filter):
            text = combo.currentText()
            combo.blockSignals(True)
            combo.clear()
            combo.setEditText(text)
            combo.blockSignals(False)

    def add_panel(self, panel: QWidget) -> None:
        """Put ``panel`` under the log (the main window adds the server's ack requests).

        In a scroll area: the panel's own minimum (lists, a rule form, a log) would
        otherwise add ~460 px to the window's minimum height, past a 1280x720 screen."""
        scroll = QScrollArea()
        scroll.setWidget(panel)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.vsplit.addWidget(scroll)
        self.vsplit.setStretchFactor(0, 3)
        self.vsplit.setStretchFactor(1, 1)

    # -- detail ----------------------------------------------------------------------------------
    def _clear_detail(self) -> None:
        self.detail.clear()
        self.binary.clear()
        self.copy_button.setEnabled(False)

    def _selection_changed(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        rows = self.table.selectionModel().selectedRows()
        if not rows:
            self._clear_detail()
            return
        packet = self.model.packet(self._source_row(rows[0]))
        shown = packet_dict(packet)
        self.detail.setPlainText(to_json(shown, indent=2))
        self.binary.set_value(shown.get("args"))
        self.copy_button.setEnabled(True)

    def copy_detail(self) -> None:
        QGuiApplication.clipboard().setText(self.detail.toPlainText())

    def shown_packets(self) -> list[PacketLike]:
        """The packets passing the filter, in order (what Export writes)."""
        out = []
        shown = self.shown_model()
        if shown is self.model:
            return self.model.packets()
        for r in range(shown.rowCount()):
            out.append(self.model.packet(self.proxy.mapToSource(self.proxy.index(r, 0)).row()))
        return out
