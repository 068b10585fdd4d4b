"""The Queues tab: every queue, its messages, depth over time, replay, import and export.

Top: the list of queues (local outboxes and inboxes from the store, the server's work
queues and dead letters from ``/queue stats``) with a depth sparkline each, and a chart of
depth and rate of the selected queue. Bottom: the selected queue's messages (lazy, keyset
paged, searchable) and the selected message in full, with an editor to replay it.

Everything that talks to the network or writes a big file is a coroutine started with the
window's ``spawn``; dialogs are opened with ``open()`` and answered through ``finished``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtCore import QItemSelectionModel, QModelIndex, Qt, QTimer, Signal
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from app.inspector import (
    PEEK_MAX,
    DepthSampler,
    QueueRow,
    WorkQueueError,
    WorkQueues,
    base_queue,
    local_rows,
    merge_rows,
    peek_item,
    server_rows,
)
from ui import theme
from ui.inspector.chart import DepthChart, SparklineDelegate
from ui.inspector.detail import DetailPane, ProblemsDialog
from ui.inspector.models import (
    M_DIR,
    M_EVENT,
    M_KEY,
    M_PAYLOAD,
    M_STATE,
    M_TIME,
    M_USER,
    Q_ACKED,
    Q_DEPTH,
    Q_FAILED,
    Q_INFLIGHT,
    Q_NAME,
    Q_TREND,
    EmptySource,
    ListSource,
    MessageRow,
    MessageTableModel,
    QueueListModel,
    SparkRole,
    StoreSource,
)
from ui.text import escape_controls, human_size, one_line
from ui.widgets.buttons import tool_button

log = logging.getLogger(__name__)

REFRESH_MS = 1000
STATS_BACKOFF_S = 10.0


def _table(name: str) -> QTableView:
    """A table with fixed row heights (never ResizeToContents: quadratic at 1M rows)."""
    t = QTableView()
    t.setObjectName(name)
    t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    t.setShowGrid(False)
    t.setAlternatingRowColors(True)
    t.setWordWrap(False)
    t.setTextElideMode(Qt.TextElideMode.ElideRight)
    t.setHorizontalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
    vh = t.verticalHeader()
    vh.setVisible(False)
    vh.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
    vh.setDefaultSectionSize(t.fontMetrics().height() + 10)
    hh = t.horizontalHeader()
    hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
    hh.setHighlightSections(False)
    hh.setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    return t


class QueuesTab(QWidget):
    """The queue inspector. ``host`` is the main window (session, bridge, spawn, ...)."""

    stats_refreshed = Signal()      # a /queue stats answer was applied
    peeked = Signal(str)            # a work queue's messages were (re)loaded
    import_finished = Signal(object)   # app.ndjson.ImportResult
    export_finished = Signal(object)   # app.ndjson.ExportResult
    replayed = Signal(object)          # list of outbox messages, or ElsewhereResult
    purged = Signal(str, int)          # queue, removed
    requeued = Signal(str, int)        # queue, how many

    def __init__(self, host: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.host = host
        self.sampler = DepthSampler()
        self._session: Any = None
        self._server: list[QueueRow] = []
        self._rows: list[QueueRow] = []
        self._live_shown: tuple[str, str] = ("", "")
        self._server_note = ""
        self._stats_task: asyncio.Task[Any] | None = None
        self._stats_backoff_until = 0.0
        self._stats_at = 0.0
        self._current: QueueRow | None = None
        self._peek_task: asyncio.Task[Any] | None = None
        self._peek_gen = 0
        self._cancel = False
        self._busy = False
        self.last_import: Any = None
        self.last_export: Any = None
        self.problems: ProblemsDialog | None = None

        # -- header ------------------------------------------------------------------------
        self.live_dot = QLabel()
        self.live_label = QLabel("Offline")
        self.live_label.setObjectName("hint")
        self.live_label.setTextFormat(Qt.TextFormat.PlainText)
        self.import_button = tool_button("Import an NDJSON file into the store (bad lines "
                                         "are listed, good ones imported)", icon="import",
                                         text="Import…")
        self.import_button.clicked.connect(self.choose_import)
        self.export_button = tool_button("Export the selected queue (or the selected "
                                         "messages) as NDJSON", icon="export",
                                         text="Export…")
        self.export_button.clicked.connect(self.choose_export)
        self.refresh_button = tool_button("Refresh the queues now", icon="retry", text="Refresh")
        self.refresh_button.clicked.connect(self.refresh_now)
        head = QHBoxLayout()
        head.setContentsMargins(12, 8, 10, 6)
        head.setSpacing(6)
        title = QLabel("Queues")
        title.setObjectName("roomTitle")
        head.addWidget(title)
        head.addSpacing(8)
        head.addWidget(self.live_dot)
        head.addWidget(self.live_label, 1)
        head.addWidget(self.import_button)
        head.addWidget(self.export_button)
        head.addWidget(self.refresh_button)

        # -- list of queues + chart -----------------------------------------------------------
        self.queue_model = QueueListModel(self.sampler, self)
        self.queue_view = _table("packetTable")
        self.queue_view.setModel(self.queue_model)
        self.queue_view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.queue_view.setItemDelegateForColumn(Q_TREND, SparklineDelegate(SparkRole,
                                                                            self.queue_view))
        self.queue_view.setIconSize(self.queue_view.iconSize().scaled(
            16, 16, Qt.AspectRatioMode.KeepAspectRatio))
        widths = {Q_NAME: 190, Q_DEPTH: 70, Q_INFLIGHT: 70, Q_ACKED: 70, Q_FAILED: 62,
                  Q_TREND: 130}
        for col, w in widths.items():
            self.queue_view.setColumnWidth(col, w)
        self.queue_view.horizontalHeader().setSectionResizeMode(
            Q_NAME, QHeaderView.ResizeMode.Stretch)
        self.queue_view.selectionModel().currentRowChanged.connect(self._queue_changed)
        self.chart = DepthChart()
        chart_box = QWidget()
        chart_box.setObjectName("chartBox")
        cl = QVBoxLayout(chart_box)
        cl.setContentsMargins(4, 4, 8, 4)
        cl.addWidget(self.chart)
        self.top = QSplitter(Qt.Orientation.Horizontal)
        self.top.setObjectName("queuesTopSplitter")
        self.top.addWidget(self.queue_view)
        self.top.addWidget(chart_box)
        self.top.setStretchFactor(0, 3)
        self.top.setStretchFactor(1, 2)
        self.top.setSizes([620, 400])
        self.top.setChildrenCollapsible(False)

        # -- messages -------------------------------------------------------------------------
        self.queue_title = QLabel("No queue selected")
        self.queue_title.setObjectName("sectionTitle")
        self.queue_title.setTextFormat(Qt.TextFormat.PlainText)
        self.count_label = QLabel("")
        self.count_label.setObjectName("hint")
        self.count_label.setTextFormat(Qt.TextFormat.PlainText)
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search this queue (every word, as a prefix)…")
        self.search.setClearButtonEnabled(True)
        self.search.addAction(theme.icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self._search_timer = QTimer(self)
        self._search_timer.setSingleShot(True)
        self._search_timer.setInterval(200)
        self._search_timer.timeout.connect(self.apply_search)
        self.search.textChanged.connect(lambda _t: self._search_timer.start())
        self.end_button = tool_button("Jump to the newest messages without loading "
                                      "everything before them", icon="jump-end", text="End")
        self.end_button.clicked.connect(self.jump_to_end)
        self.retry_button = tool_button("Send the selected failed outbox messages again",
                                        icon="retry", text="Retry")
        self.retry_button.clicked.connect(self.retry_selected)
        self.cancel_button = tool_button("Cancel the selected queued or failed outbox "
                                         "messages (they are never sent)", icon="x",
                                         text="Cancel")
        self.cancel_button.clicked.connect(self.cancel_selected)
        self.requeue_button = tool_button("Put the selected dead letters back on their "
                                          "queue", icon="requeue", text="Requeue")
        self.requeue_button.clicked.connect(lambda: self.host.spawn(self.requeue_selected()))
        self.publish_button = tool_button("Publish a new message to this work queue",
                                          icon="plus", text="Publish…")
        self.publish_button.clicked.connect(self.new_publish)
        self.purge_button = tool_button("Remove every waiting message of this queue (asks "
                                        "first)", icon="trash", text="Purge…")
        self.purge_button.clicked.connect(self.confirm_purge)
        bar = QHBoxLayout()
        bar.setContentsMargins(12, 8, 10, 4)
        bar.setSpacing(6)
        bar.addWidget(self.queue_title)
        bar.addWidget(self.count_label)
        bar.addStretch(1)
        for b in (self.retry_button, self.cancel_button, self.requeue_button,
                  self.publish_button, self.purge_button, self.end_button):
            bar.addWidget(b)
        search_row = QHBoxLayout()
        search_row.setContentsMargins(10, 0, 10, 6)
        search_row.addWidget(self.search)

        self.message_model = MessageTableModel(self)
        self.message_view = _table("packetTable")
        self.message_view.setModel(self.message_model)
        self.message_view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        mwidths = {M_KEY: 70, M_TIME: 96, M_DIR: 52, M_EVENT: 100, M_USER: 70,
                   M_PAYLOAD: 300, M_STATE: 90}
        for col, w in mwidths.items():
            self.message_view.setColumnWidth(col, w)
        self.message_view.horizontalHeader().setSectionResizeMode(
            M_PAYLOAD, QHeaderView.ResizeMode.Stretch)
        self.message_view.selectionModel().selectionChanged.connect(self._messages_selected)
        self.message_view.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.message_model.modelReset.connect(self._update_count)
        self.message_model.fetched.connect(lambda _n: self._update_count())
        msg_box = QWidget()
        mb = QVBoxLayout(msg_box)
        mb.setContentsMargins(0, 0, 0, 0)
        mb.setSpacing(0)
        mb.addLayout(bar)
        mb.addLayout(search_row)
        mb.addWidget(self.message_view, 1)

        self.detail = DetailPane()
        self.detail.replay_selected.connect(lambda: self.host.spawn(self.replay(False)))
        self.detail.replay_edited.connect(lambda: self.host.spawn(self.replay(True)))
        self.detail.publish.connect(lambda: self.host.spawn(self.publish_edited()))
        self.detail.save_edit.connect(self.save_outbox_edit)
        self.bottom = QSplitter(Qt.Orientation.Horizontal)
        self.bottom.setObjectName("queuesBottomSplitter")
        self.bottom.addWidget(msg_box)
        self.bottom.addWidget(self.detail)
        self.bottom.setStretchFactor(0, 3)
        self.bottom.setStretchFactor(1, 2)
        self.bottom.setSizes([600, 420])
        self.bottom.setChildrenCollapsible(False)

        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("queuesSplitter")
        self.splitter.addWidget(self.top)
        self.splitter.addWidget(self.bottom)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([250, 430])
        self.splitter.setChildrenCollapsible(False)

        # -- progress of imports and exports --------------------------------------------------
        self.progress_label = QLabel("")
        self.progress_label.setTextFormat(Qt.TextFormat.PlainText)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(10)
        self.progress_cancel = QPushButton("Cancel")
        self.progress_cancel.clicked.connect(self.cancel_work)
        self.progress_box = QWidget()
        pl = QHBoxLayout(self.progress_box)
        pl.setContentsMargins(12, 4, 10, 6)
        pl.addWidget(self.progress_label)
        pl.addWidget(self.progress, 1)
        pl.addWidget(self.progress_cancel)
        self.progress_box.hide()

        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addLayout(head)
        lay.addWidget(self.splitter, 1)
        lay.addWidget(self.progress_box)

        # -- live updates ---------------------------------------------------------------------
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.tick)
        self.timer.start()
        self._soon = QTimer(self)
        self._soon.setSingleShot(True)
        self._soon.setInterval(150)
        self._soon.timeout.connect(self._changed_soon)
        self._tail_wanted = False
        self._outbox_changes: dict[int, Any] = {}
        bridge = getattr(host, "bridge", None)
        if bridge is not None:
            bridge.outbox_changed.connect(self._on_outbox_changed)
            bridge.event_received.connect(self._on_event)
            bridge.state_changed.connect(lambda *_a: self.tick())
            bridge.namespace_ready.connect(lambda *_a: self._update_live())
        self._set_actions()
        self._update_live()

    # -- session ------------------------------------------------------------------------------
    @property
    def session(self) -> Any:
        return getattr(self.host, "session", None)

    def _follow_session(self) -> Any:
        """Reset when the window swapped its session (another user or server)."""
        s = self.session
        if s is not self._session:
            self._session = s
            self._server = []
            self._server_note = ""
            self._stats_backoff_until = 0.0
            self.sampler.clear()
            self._current = None
            self.queue_model.set_rows([])
            self.message_model.set_source(EmptySource())
            self.detail.clear_message()
            self.detail.set_editor(None)
            self._set_actions()
        return s

    def work(self) -> WorkQueues | None:
        s = self.session
        return WorkQueues(s) if s is not None else None

    # -- refreshing ---------------------------------------------------------------------------
    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self._fill_servers()
        self._show_rows()
        self.refresh_now()

    def _fill_servers(self) -> None:
        """Recent servers as replay targets (the current one is the empty default)."""
        settings = getattr(self.host, "settings", None)
        s = self.session
        here = s.config.url if s is not None else ""
        try:
            urls = [str(r.get("url") or "") for r in settings.recent_connections()] \
                if settings is not None else []
        except Exception:  # settings are a convenience here
            urls = []
        urls = [u for u in dict.fromkeys(urls) if u and u != here]
        combo = self.detail.server
        current = combo.currentText()
        if [combo.itemText(i) for i in range(combo.count())] != ["", *urls]:
            combo.clear()
            combo.addItems(["", *urls])
            combo.setEditText(current)

    def refresh_now(self) -> None:
        self._stats_backoff_until = 0.0
        self.tick(force=True)

    def tick(self, force: bool = False) -> None:
        """Every second: local counters (cheap), and /queue stats while visible."""
        if not shiboken6.isValid(self):
            return
        s = self._follow_session()
        if s is None:
            self._update_live()
            return
        self.refresh_local()
        wq = self.work()
        if (self.isVisible() or force) and wq is not None and wq.available() \
                and time.monotonic() >= self._stats_backoff_until \
                and (self._stats_task is None or self._stats_task.done()):
            self._stats_task = self.host.spawn(self.refresh_stats())
        self._update_live()

    def refresh_local(self) -> None:
        s = self.session
        if s is None:
            return
        try:
            local = local_rows(s.store.queues(), getattr(s, "namespaces", ()))
        except Exception as exc:  # a closed or busy database: say so, keep the last list
            log.debug("queues unavailable: %s", exc)
            return
        server = self._server if self._server_fresh() else []
        rows = merge_rows(local, server)
        self.sampler.record(rows)
        self._rows = rows
        if self.isVisible() or not self.queue_model.rowCount():
            self._show_rows()

    def _show_rows(self) -> None:
        """Put the last refresh on screen (only while visible: signals and paints from
        Python are not free, see ui/inspector/chart.py)."""
        rows = self._rows
        self.queue_model.set_rows(rows, trend=True)
        self._refresh_current(rows)

    def _server_fresh(self) -> bool:
        s = self.session
        return s is not None and s.is_ready("/queue")

    async def refresh_stats(self) -> list[QueueRow]:
        wq = self.work()
        if wq is None:
            return []
        try:
            stats = await wq.stats()
        except WorkQueueError as exc:
            self._server_note = str(exc)
            self._stats_backoff_until = time.monotonic() + STATS_BACKOFF_S
            self._update_live()
            return []
        if not shiboken6.isValid(self):
            return []
        old = {r.key: r for r in self._server}
        self._server = server_rows(stats)
        self._server_note = ""
        self._stats_at = time.monotonic()
        self.refresh_local()
        cur = self._current
        if cur is not None and cur.is_server:
            now = next((r for r in self._server if r.key == cur.key), None)
            was = old.get(cur.key)
            if now is not None and (was is None or (was.depth, was.failed, was.acked)
                                    != (now.depth, now.failed, now.acked)):
                self.load_peek()
        self._update_live()
        self.stats_refreshed.emit()
        return self._server

    def _refresh_current(self, rows: list[QueueRow]) -> None:
        cur = self._current
        if cur is None:
            return
        fresh = next((r for r in rows if r.key == cur.key), None)
        if fresh is not None:
            self._current = fresh
        self.chart.set_samples(self._chart_title(), self.sampler.history(cur.key),
                               self._rate_label())
        self._update_count()

    def _update_live(self) -> None:
        s = self.session
        state = str(getattr(getattr(s, "state", None), "value", "offline") or "offline")
        if s is None:
            text, color = "Not connected: connect to see the server's work queues", "offline"
        elif state != "connected":
            text, color = f"{state.capitalize()}: local queues only", state
        elif self._server_note:
            text, color = f"Server work queues unavailable: {self._server_note}", "failed"
        elif not (getattr(s, "namespaces", ()) and "/queue" in s.namespaces):
            text, color = "Live · local queues (open /queue to see work queues)", "connected"
        else:
            text, color = "Live · refreshed every second", "connected"
        if (text, color) != self._live_shown:  # every second: touch Qt only on change
            self._live_shown = (text, color)
            self.live_label.setText(one_line(text, 160))
            self.live_dot.setPixmap(theme.dot_pixmap(theme.state_color(color), 10))

    # -- selecting a queue --------------------------------------------------------------------
    def select_queue(self, key: str) -> bool:
        """Select a queue by key (``outbox:/chat``, ``room:/chat:general``, ``server:jobs``)."""
        row = self.queue_model.row_of(key)
        if row < 0:
            self.refresh_local()
            self._show_rows()
            row = self.queue_model.row_of(key)
        if row < 0:
            return False
        self.queue_view.selectionModel().setCurrentIndex(
            self.queue_model.index(row, 0),
            QItemSelectionModel.SelectionFlag.ClearAndSelect
            | QItemSelectionModel.SelectionFlag.Rows)
        return True

    def _queue_changed(self, current: QModelIndex, _previous: QModelIndex) -> None:
        r = self.queue_model.row_at(current.row()) if current.isValid() else None
        if r is not None and self._current is not None and r.key == self._current.key:
            self._current = r
            return
        self._current = r
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self.detail.clear_message()
        self.detail.set_editor(None)
        self.load_messages()
        self._set_actions()
        if r is not None:
            self.chart.set_samples(self._chart_title(), self.sampler.history(r.key),
                                   self._rate_label())

    def _chart_title(self) -> str:
        r = self._current
        if r is None:
            return ""
        return escape_controls(f"{r.label} — depth and rate")

    def _rate_label(self) -> str:
        r = self._current
        if r is None:
            return "rate"
        return {"outbox": "done", "work": "done", "dead": "dead"}.get(r.kind, "in")

    def load_messages(self, at_end: bool = False) -> None:
        r = self._current
        s = self.session
        if r is None or s is None:
            self.message_model.set_source(EmptySource())
            self.queue_title.setText("No queue selected")
            return
        self.queue_title.setText(escape_controls(f"{r.label}"))
        if r.is_server:
            self.message_model.set_source(EmptySource())
            self.load_peek()
            return
        self.message_model.set_source(StoreSource(s.store, r.key, self.search.text()),
                                      at_end=at_end)
        if at_end:
            self.message_view.scrollToBottom()

    def load_peek(self) -> None:
        r = self._current
        wq = self.work()
        if r is None or not r.is_server or wq is None:
            return
        # never cancel a call half-way through its write: stale answers are ignored
        self._peek_gen += 1
        self._peek_task = self.host.spawn(self.peek(r.work_queue or "", self._peek_gen))

    async def peek(self, name: str, gen: int | None = None) -> list[MessageRow]:
        wq = self.work()
        if wq is None:
            return []
        try:
            msgs = await wq.peek(name, PEEK_MAX)
        except WorkQueueError as exc:
            self.host.show_error(f"Could not peek {name}: {exc}")
            return []
        if not shiboken6.isValid(self):
            return []
        rows = [MessageRow.from_peek(name, m, name.endswith(".dead")) for m in msgs]
        cur = self._current
        stale = gen is not None and gen != self._peek_gen
        if cur is not None and cur.work_queue == name and not stale:
            selected = {r.key for r in self.selected_rows()}
            self.message_model.set_source(ListSource(rows, self.search.text()))
            self._reselect(selected)
            self.peeked.emit(name)
        return rows

    def _reselect(self, keys: set[int]) -> None:
        if not keys:
            return
        sel = self.message_view.selectionModel()
        for k in keys:
            i = self.message_model.find(k)
            if i >= 0:
                sel.select(self.message_model.index(i, 0),
                           QItemSelectionModel.SelectionFlag.Select
                           | QItemSelectionModel.SelectionFlag.Rows)

    def apply_search(self) -> None:
        r = self._current
        if r is None:
            return
        if r.is_server:
            self.load_peek()  # peek again and filter what it brings
            return
        self.load_messages()

    def jump_to_end(self) -> None:
        if self._current is None:
            return
        self.message_model.jump_to_end()
        self.message_view.scrollToBottom()

    def _scrolled(self, value: int) -> None:
        bar = self.message_view.verticalScrollBar()
        if value == bar.minimum() and self.message_model.more_before:
            added = self.message_model.fetch_older()
            if added:
                bar.setValue(bar.minimum() + added)

    def _update_count(self) -> None:
        r = self._current
        if r is None:
            self.count_label.setText("")
            return
        loaded = self.message_model.rowCount()
        total = self.message_model.source.count()
        if r.is_server:
            text = f"{loaded:,} waiting shown" if r.kind == "work" else f"{loaded:,} shown"
            if loaded >= PEEK_MAX:
                text += f" (peek shows the first {PEEK_MAX:,})"
        elif total is None:
            more = self.message_model.more_after or self.message_model.more_before
            text = f"{loaded:,}{'+' if more else ''} matches"
        else:
            text = f"{total:,} messages · {loaded:,} loaded"
        if self.count_label.text() != text:
            self.count_label.setText(text)

    # -- selecting messages -------------------------------------------------------------------
    def selected_rows(self) -> list[MessageRow]:
        sel = self.message_view.selectionModel()
        if sel is None:
            return []
        out = []
        for idx in sorted(sel.selectedRows(), key=lambda i: i.row()):
            r = self.message_model.row_at(idx.row())
            if r is not None:
                out.append(r)
        return out

    def select_rows(self, rows: list[int]) -> None:
        """Select message rows by number (tests, keyboard helpers)."""
        sel = self.message_view.selectionModel()
        sel.clearSelection()
        for i, row in enumerate(rows):
            idx = self.message_model.index(row, 0)
            flags = QItemSelectionModel.SelectionFlag.Select \
                | QItemSelectionModel.SelectionFlag.Rows
            if i == 0:
                sel.setCurrentIndex(idx, flags)
            else:
                sel.select(idx, flags)

    def _messages_selected(self, *_a: Any) -> None:
        rows = self.selected_rows()
        self.detail.set_selection_count(len(rows))
        self._set_actions()
        if not rows:
            self.detail.clear_message()
            return
        current = self.message_view.currentIndex()
        r = self.message_model.row_at(current.row()) if current.isValid() else None
        if r is None or r not in rows:
            r = rows[0]
        self.show_row(r)

    def show_row(self, r: MessageRow) -> None:
        q = self._current
        if q is not None and q.is_server:
            record: Any = r.source
            meta = f"seq {r.key} · {q.label}" + (f" · {r.extra}" if r.extra else "")
            edit: Any = {"queue": base_queue(q.work_queue or ""),
                         "payload": r.args}
            self.detail.show_message(record, meta)
            self.detail.set_editor(edit, "publish", "Edit the payload and publish it again "
                                   "(through the outbox).")
            return
        m = r.source
        record = m.to_record() if hasattr(m, "to_record") else r.args
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.ts)) if r.ts else ""
        meta = f"#{r.key} · {r.event} · {r.namespace} · {when}"
        self.detail.show_message(record, meta)
        from app.replay import ReplayItem, retarget

        item = retarget(ReplayItem(r.namespace, r.event, list(r.args or []), r.ts))
        editable = q is not None and q.is_outbox and r.state in ("queued", "failed")
        value = {"namespace": item.namespace, "event": item.event, "args": item.args}
        if editable:
            value = {"namespace": r.namespace, "event": r.event, "args": r.args}
        self.detail.set_editor(value, "replay",
                               "Edit, then replay (a new message) or save it back to the "
                               "outbox." if editable else
                               "Edit the message, then replay it (a new message with a "
                               "new id, through the outbox).", can_save=editable)

    def _set_actions(self) -> None:
        q = self._current
        rows = self.selected_rows()
        outbox = q is not None and q.is_outbox
        self.retry_button.setVisible(outbox)
        self.cancel_button.setVisible(outbox)
        self.retry_button.setEnabled(any(r.state == "failed" for r in rows))
        self.cancel_button.setEnabled(any(r.state in ("queued", "failed") for r in rows))
        server = q is not None and q.is_server
        self.requeue_button.setVisible(server and q.kind == "dead")
        self.requeue_button.setEnabled(bool(rows))
        self.publish_button.setVisible(server and q.kind == "work")
        self.purge_button.setVisible(server)
        self.end_button.setVisible(q is not None and not server)
        self.search.setEnabled(q is not None)

    # -- live updates from the session --------------------------------------------------------
    def _on_outbox_changed(self, msg: Any) -> None:
        """Remember the change; rows are updated in one batch a moment later (a replay of
        10,000 messages is 30,000 state changes: one repaint, not 30,000)."""
        q = self._current
        if q is not None and q.key == getattr(msg, "queue", None) and msg.rowid:
            self._outbox_changes[msg.rowid] = msg
        if not self._soon.isActive():
            self._soon.start()

    def _apply_outbox_changes(self) -> None:
        changes, self._outbox_changes = self._outbox_changes, {}
        updates = {}
        for rowid, msg in changes.items():
            state = str(getattr(msg.state, "value", msg.state))
            if state == "cancelled":
                self.message_model.remove_key(rowid)
                continue

            def change(r: MessageRow, msg: Any = msg, state: str = state) -> None:
                r.state = state
                r.error = getattr(msg, "error", None)
                r.args = msg.args
                if r.source is not None and hasattr(r.source, "state"):
                    r.source.state, r.source.error = state, r.error
                    r.source.args = msg.args

            updates[rowid] = change
        missing = self.message_model.update_rows(updates)
        if missing:
            self._tail_wanted = True

    def _on_event(self, m: Any) -> None:
        q = self._current
        if q is not None and q.key == getattr(m, "queue", None):
            self._tail_wanted = True
        if not self._soon.isActive():
            self._soon.start()

    def _changed_soon(self) -> None:
        if not shiboken6.isValid(self) or self.session is None:
            return
        if self._outbox_changes:
            self._apply_outbox_changes()
        if self._tail_wanted and self._current is not None and not self._current.is_server:
            self._tail_wanted = False
            self.message_model.refresh_tail()
        self.refresh_local()
        self._set_actions()

    # -- outbox actions -----------------------------------------------------------------------
    def _outbox_op(self, verb: str, states: tuple[str, ...]) -> int:
        s = self.session
        if s is None:
            return 0
        done = 0
        for r in self.selected_rows():
            if r.state not in states or not r.msg_id:
                continue
            try:
                getattr(s.outbox, verb)(r.msg_id)
                done += 1
            except Exception as exc:
                self.host.show_error(f"Could not {verb} message: {exc}")
        self._changed_soon()
        return done

    def retry_selected(self) -> int:
        return self._outbox_op("retry", ("failed",))

    def cancel_selected(self) -> int:
        return self._outbox_op("cancel", ("queued", "failed"))

    def save_outbox_edit(self) -> bool:
        s = self.session
        rows = self.selected_rows()
        if s is None or not rows:
            return False
        r = rows[0]
        try:
            value = self.detail.edited()
            args = value.get("args") if isinstance(value, dict) else None
            if not isinstance(args, list):
                raise ValueError('The editor must hold {"args": [...]} to save it')
            s.outbox.edit(r.msg_id, args)
        except Exception as exc:
            self.host.show_error(f"Not saved: {exc}")
            return False
        self.host.show_info("Saved: the outbox message will be sent with the new arguments")
        return True

    # -- replay -------------------------------------------------------------------------------
    def _items(self, edited: bool) -> list[Any]:
        from app.replay import ReplayItem

        q = self._current
        if edited:
            value = self.detail.edited()
            if not isinstance(value, dict) or not isinstance(value.get("event"), str):
                raise ValueError('The editor must hold {"namespace": ..., "event": ..., '
                                 '"args": [...]}')
            args = value.get("args", [])
            if not isinstance(args, list):
                raise ValueError('"args" must be a JSON array')
            ns = value.get("namespace") or "/"
            return [ReplayItem(str(ns), value["event"], args, 0.0)]
        rows = self.selected_rows()
        if q is not None and q.is_server:
            return [peek_item(q.work_queue or "", r.source) for r in rows]
        return [r.source for r in rows if r.source is not None]

    async def replay(self, edited: bool = False) -> Any:
        """Replay the selection (or the editor's message) to the targets of the form."""
        s = self.session
        if s is None:
            self.host.show_error("Connect first: replays go through a session's outbox")
            return None
        try:
            items = self._items(edited)
        except ValueError as exc:
            self.host.show_error(f"Not replayed: {exc}")
            return None
        if not items:
            self.host.show_error("Select one or more messages to replay")
            return None
        t = self.detail.targets()
        url = t.pop("url")
        if url and url != s.config.url:
            return await self._replay_elsewhere(url, items, t)
        from app.replay import Replayer

        msgs = await Replayer(s).replay(items, **t)
        n = len(msgs)
        self.host.show_info(f"Replayed {n} message{'s' if n != 1 else ''} through the outbox")
        self.replayed.emit(msgs)
        self._changed_soon()
        return msgs

    async def _replay_elsewhere(self, url: str, items: list[Any], t: dict[str, Any]) -> Any:
        from app.inspector import replay_elsewhere

        s = self.session
        cfg = dataclasses.replace(s.config, url=url)
        options = {**getattr(self.host, "options", {}), "url": url}
        profile = self.host.profile_dir(options) if hasattr(self.host, "profile_dir") \
            else Path(s.data_dir) / "replay" / "other"
        self.host.show_info(f"Replaying {len(items)} message(s) to {url}…")
        result = await replay_elsewhere(cfg, profile, items, **t)
        if result.delivered:
            self.host.show_info(f"Replayed {len(result.messages)} message(s) to {url}")
        else:
            self.host.show_error(f"Replay to {url}: {result.error}; the messages are kept "
                                 "in that server's outbox and sent when it is reachable")
        self.replayed.emit(result)
        return result

    # -- work queue actions -------------------------------------------------------------------
    def new_publish(self) -> None:
        q = self._current
        if q is None or not q.is_server:
            return
        self.detail.set_editor({"queue": base_queue(q.work_queue or ""), "payload": {}},
                               "publish", "Write the payload, then publish (through the "
                               "outbox: nothing is lost while offline).")
        self.detail.tabs.setCurrentIndex(1)
        self.detail.editor.edit.setFocus()

    async def publish_edited(self) -> Any:
        wq = self.work()
        if wq is None:
            self.host.show_error("Connect first")
            return None
        try:
            value = self.detail.edited()
            if not isinstance(value, dict) or not isinstance(value.get("queue"), str) \
                    or "payload" not in value:
                raise ValueError('The editor must hold {"queue": "name", "payload": ...}')
        except ValueError as exc:
            self.host.show_error(f"Not published: {exc}")
            return None
        msg = wq.publish(value["queue"], value["payload"],
                         value.get("id") if isinstance(value.get("id"), str) else None)
        self.host.show_info(f"Publishing to {value['queue']} (through the outbox)")
        self._changed_soon()
        return msg

    async def requeue_selected(self) -> int:
        q = self._current
        wq = self.work()
        if q is None or q.kind != "dead" or wq is None:
            return 0
        name = q.work_queue or ""
        done = 0
        for r in self.selected_rows():
            try:
                await wq.requeue(name, r.key)
                done += 1
            except WorkQueueError as exc:
                self.host.show_error(f"Could not requeue seq {r.key}: {exc}")
        if done:
            self.host.show_info(f"Requeued {done} message{'s' if done != 1 else ''} to "
                                f"{base_queue(name)}")
        if shiboken6.isValid(self):
            await self.refresh_stats()
            self.load_peek()
            self.requeued.emit(name, done)
        return done

    def confirm_purge(self) -> QMessageBox | None:
        """Ask first (open() + finished: never exec() under the event loop)."""
        q = self._current
        if q is None or not q.is_server:
            return None
        name = q.work_queue or ""
        what = "all dead letters of" if q.kind == "dead" else "every waiting message of"
        box = QMessageBox(QMessageBox.Icon.Warning, "Purge queue",
                          f"Remove {what} “{name}”?", QMessageBox.StandardButton.Cancel,
                          self)
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setInformativeText(f"{q.depth:,} message(s) will be deleted on the server. "
                               "Messages in flight stay with their consumers. This cannot "
                               "be undone.")
        purge = box.addButton("Purge", QMessageBox.ButtonRole.DestructiveRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)

        def finished(_result: int) -> None:
            if box.clickedButton() is purge:
                self.host.spawn(self.purge(name))
            box.deleteLater()

        box.finished.connect(finished)
        box.open()
        self.purge_box = box
        return box

    async def purge(self, name: str) -> int:
        wq = self.work()
        if wq is None:
            return 0
        try:
            removed = await wq.purge(name)
        except WorkQueueError as exc:
            self.host.show_error(f"Could not purge {name}: {exc}")
            return 0
        self.host.show_info(f"Purged {removed:,} message{'s' if removed != 1 else ''} "
                            f"from {name}")
        if shiboken6.isValid(self):
            await self.refresh_stats()
            self.load_peek()
            self.purged.emit(name, removed)
        return removed

    # -- import / export ----------------------------------------------------------------------
    def choose_import(self) -> QFileDialog:
        dlg = QFileDialog(self, "Import NDJSON", str(Path.home()),
                          "NDJSON (*.ndjson *.jsonl *.json);;All files (*)")
        dlg.setFileMode(QFileDialog.FileMode.ExistingFile)
        dlg.fileSelected.connect(lambda p: self.host.spawn(self.import_file(Path(p))))
        dlg.finished.connect(dlg.deleteLater)
        dlg.open()
        return dlg

    def choose_export(self) -> QFileDialog:
        q = self._current
        name = (q.label if q else "queues").strip("#@ ").replace("/", "_").replace(" ", "_")
        dlg = QFileDialog(self, "Export NDJSON", str(Path.home() / f"{name or 'queue'}.ndjson"),
                          "NDJSON (*.ndjson *.jsonl);;All files (*)")
        dlg.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dlg.setDefaultSuffix("ndjson")
        dlg.fileSelected.connect(lambda p: self.host.spawn(self.export_file(Path(p))))
        dlg.finished.connect(dlg.deleteLater)
        dlg.open()
        return dlg

    def _start_work(self, label: str) -> None:
        self._cancel = False
        self._busy = True
        self.progress_label.setText(label)
        self.progress.setValue(0)
        self.progress_box.show()
        self.import_button.setEnabled(False)
        self.export_button.setEnabled(False)

    def _end_work(self) -> None:
        self._busy = False
        if shiboken6.isValid(self):
            self.progress_box.hide()
            self.import_button.setEnabled(True)
            self.export_button.setEnabled(True)

    def _progress(self, done: int, total: int) -> None:
        if shiboken6.isValid(self.progress):
            self.progress.setValue(int(1000 * done / max(1, total)))

    def cancel_work(self) -> None:
        self._cancel = True

    async def import_file(self, path: Path) -> Any:
        """Import an NDJSON file in small batches; bad lines are listed by number."""
        from app.ndjson import import_ndjson_async

        s = self.session
        if s is None:
            self.host.show_error("Open a connection first: imports go into its store")
            return None
        self._start_work(f"Importing {path.name}…")
        try:
            result = await import_ndjson_async(s.store, path, progress=self._progress,
                                               cancelled=lambda: self._cancel)
        except OSError as exc:
            self.host.show_error(f"Could not read {path}: {exc.strerror or exc}")
            return None
        finally:
            self._end_work()
        self.last_import = result
        summary = (f"Imported {result.imported:,} message(s) from {path.name}"
                   + (f", {result.duplicates:,} duplicate(s) skipped" if result.duplicates
                      else "")
                   + (f"; {len(result.errors):,} bad line(s) skipped" if result.errors
                      else "")
                   + ("; stopped by you" if result.cancelled else "") + ".")
        self.host.show_info(summary)
        if result.errors and shiboken6.isValid(self):
            self.problems = ProblemsDialog("Import: bad lines", summary, result.errors, self,
                                           name=path.name)
            self.problems.finished.connect(self.problems.deleteLater)
            self.problems.open()
        if shiboken6.isValid(self):
            self.refresh_local()
            if self._current is not None and not self._current.is_server:
                self.message_model.refresh_tail()
            self.import_finished.emit(result)
        return result

    async def export_file(self, path: Path, whole_queue: bool | None = None) -> Any:
        """Export the selected messages, or the selected queue, or everything."""
        from app.ndjson import ExportResult, export_ndjson_async

        s = self.session
        if s is None:
            self.host.show_error("Open a connection first")
            return None
        q = self._current
        rows = self.selected_rows()
        use_rows = bool(rows) and len(rows) > 1 if whole_queue is None else not whole_queue
        self._start_work(f"Exporting to {path.name}…")
        try:
            if q is not None and q.is_server:
                result = await self._export_peek(path, rows if use_rows else
                                                 self.message_model.rows())
            else:
                result = await export_ndjson_async(
                    s.store, path, q.key if q is not None else None,
                    rowids=[r.key for r in rows] if use_rows else None,
                    progress=self._progress, cancelled=lambda: self._cancel)
        except OSError as exc:
            self.host.show_error(f"Could not write {path}: {exc.strerror or exc}")
            return ExportResult(path=path)
        finally:
            self._end_work()
        self.last_export = result
        if result.cancelled:
            self.host.show_info("Export cancelled; no file was written")
        else:
            size = human_size(path.stat().st_size) if path.exists() else ""
            self.host.show_info(f"Exported {result.count:,} message(s) to "
                                f"{escape_controls(str(path))} ({size})")
        if shiboken6.isValid(self):
            self.export_finished.emit(result)
        return result

    async def _export_peek(self, path: Path, rows: list[MessageRow]) -> Any:
        from app import jsonmod
        from app.ndjson import ExportResult, peek_record

        q = self._current
        name = q.work_queue or "" if q else ""
        lines = [jsonmod.dumps(peek_record(name, r.source if isinstance(r.source, dict)
                                           else {}, r.ts, r.msg_id)) + "\n" for r in rows]

        def write() -> None:
            with open(path, "w", encoding="utf-8") as fh:
                fh.writelines(lines)

        await asyncio.get_running_loop().run_in_executor(None, write)
        return ExportResult(count=len(lines), path=path)
