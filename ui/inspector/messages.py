"""The bottom half of the Queues tab: the selected queue's messages, and one in full.

Left, the messages of one queue in a lazily fetched, keyset-paged table
(``MessageTableModel``: a million rows are never loaded, scrolling up after "End" fetches
older batches), with a debounced search and the actions that fit the queue (retry and
cancel for an outbox, requeue for dead letters, publish and purge for work queues).
Right, the ``DetailPane``: the selected message as pretty JSON, and the editor to replay
or republish it.

The pane shows what it is given (``set_queue``, ``set_source``) and what is selected;
anything that changes a queue is a signal for the controller (ui/inspector/controller.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from PySide6.QtCore import QItemSelectionModel, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.inspector import PEEK_MAX, QueueRow, base_queue
from app.store import StoredMessage
from ui import theme
from ui.inspector.detail import DetailPane
from ui.inspector.models import (
    M_DIR,
    M_EVENT,
    M_KEY,
    M_PAYLOAD,
    M_STATE,
    M_TIME,
    M_USER,
    MessageRow,
    MessageSource,
    MessageTableModel,
)
from ui.inspector.table import make_table
from ui.text import escape_controls
from ui.widgets.buttons import tool_button
from ui.widgets.elided import ElidedLabel

#: typing pauses this long before a search runs (one query per word, not per key)
SEARCH_DEBOUNCE_MS = 200


class MessagePane(QWidget):
    """The message table of one queue (with its action bar and search) beside the detail."""

    search_changed = Signal()      # the search text settled: load the queue again
    retry_requested = Signal()     # Retry clicked (failed outbox messages)
    cancel_requested = Signal()    # Cancel clicked (queued or failed outbox messages)
    requeue_requested = Signal()   # Requeue clicked (dead letters)
    purge_requested = Signal()     # Purge… clicked (a server queue)
    queue_shown = Signal(object)   # set_queue: the QueueRow shown (or None)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._queue: QueueRow | None = None

        # -- the action bar and the search ---------------------------------------------------
        # elided: a long queue name or count must not widen the window
        self.title = ElidedLabel("No queue selected")
        self.title.setObjectName("sectionTitle")
        self.count_label = ElidedLabel("")
        self.count_label.setObjectName("hint")
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search this queue (every word, as a prefix)…")
        self.search.setClearButtonEnabled(True)
        self.search.addAction(theme.icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.search_timer = QTimer(self)
        self.search_timer.setSingleShot(True)
        self.search_timer.setInterval(SEARCH_DEBOUNCE_MS)
        self.search_timer.timeout.connect(self.search_changed)
        self.search.textChanged.connect(lambda _t: self.search_timer.start())
        self.end_button = tool_button("Jump to the newest messages without loading "
                                      "everything before them", icon="jump-end", text="End")
        self.end_button.clicked.connect(self.jump_to_end)
        self.retry_button = tool_button("Send the selected failed outbox messages again, "
                                        "and those whose ack never came (\"no ack\")",
                                        icon="retry", text="Retry")
        self.retry_button.clicked.connect(self.retry_requested)
        self.cancel_button = tool_button("Cancel the selected queued or failed outbox "
                                         "messages (they are never sent)", icon="x",
                                         text="Cancel")
        self.cancel_button.clicked.connect(self.cancel_requested)
        self.requeue_button = tool_button("Put the selected dead letters back on their "
                                          "queue", icon="requeue", text="Requeue")
        self.requeue_button.clicked.connect(self.requeue_requested)
        self.publish_button = tool_button("Publish a new message to this work queue",
                                          icon="plus", text="Publish…")
        self.publish_button.clicked.connect(self.new_publish)
        self.purge_button = tool_button("Remove every waiting message of this queue (asks "
                                        "first)", icon="trash", text="Purge…")
        self.purge_button.clicked.connect(self.purge_requested)
        # ui/inspector/worker.py drives it: shown for a server work queue
        self.worker_button = tool_button("Consume this work queue with your own session: "
                                         "one job at a time, each acked once done; off to "
                                         "stop", icon="user", text="Be a worker",
                                         checkable=True, name="workerSwitch")
        bar = QHBoxLayout()
        bar.setContentsMargins(12, 8, 10, 4)
        bar.setSpacing(6)
        bar.addWidget(self.title)
        bar.addWidget(self.count_label)
        bar.addStretch(1)
        for b in (self.retry_button, self.cancel_button, self.requeue_button,
                  self.publish_button, self.purge_button, self.worker_button,
                  self.end_button):
            bar.addWidget(b)
        search_row = QHBoxLayout()
        search_row.setContentsMargins(10, 0, 10, 6)
        search_row.addWidget(self.search)

        # -- the table -------------------------------------------------------------------------
        self.model = MessageTableModel(self)
        self.view = make_table("packetTable")
        self.view.setModel(self.model)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        widths = {M_KEY: 70, M_TIME: 96, M_DIR: 52, M_EVENT: 100, M_USER: 70,
                  M_PAYLOAD: 300, M_STATE: 90}
        for col, w in widths.items():
            self.view.setColumnWidth(col, w)
        self.view.horizontalHeader().setSectionResizeMode(
            M_PAYLOAD, QHeaderView.ResizeMode.Stretch)
        self.view.selectionModel().selectionChanged.connect(self._selection_changed)
        self.view.verticalScrollBar().valueChanged.connect(self._scrolled)
        self.model.modelReset.connect(self.update_count)
        self.model.fetched.connect(lambda _n: self.update_count())
        msg_box = QWidget()
        mb = QVBoxLayout(msg_box)
        mb.setContentsMargins(0, 0, 0, 0)
        mb.setSpacing(0)
        mb.addLayout(bar)
        mb.addLayout(search_row)
        mb.addWidget(self.view, 1)

        self.detail = DetailPane()
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("queuesBottomSplitter")
        self.splitter.addWidget(msg_box)
        self.splitter.addWidget(self.detail)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([600, 420])
        self.splitter.setChildrenCollapsible(False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.splitter)
        self.update_actions()

    # -- the queue shown ------------------------------------------------------------------------
    def set_queue(self, queue: QueueRow | None) -> None:
        """The queue the counts, the actions and the detail are about: the same key with
        fresh counters, or another queue (then `reset`, and `set_source` its messages)."""
        self._queue = queue
        self.queue_shown.emit(queue)

    @property
    def queue(self) -> QueueRow | None:
        """The queue shown (as last given to `set_queue`)."""
        return self._queue

    def reset(self) -> None:
        """Another queue: no search, no message in the detail, nothing in the editor."""
        self.search.blockSignals(True)
        self.search.clear()
        self.search.blockSignals(False)
        self.clear_detail()

    def clear_detail(self) -> None:
        """No message in the detail, nothing in the editor."""
        self.detail.clear_message()
        self.detail.set_editor(None)

    def search_text(self) -> str:
        return self.search.text()

    def set_source(self, source: MessageSource, *, title: str | None = None,
                   at_end: bool = False) -> None:
        """Show the first batch of `source` (or its last batch, scrolled to the bottom),
        under `title` (None: the title stays)."""
        if title is not None:
            self.title.setText(escape_controls(title))
        self.model.set_source(source, at_end=at_end)
        if at_end:
            self.view.scrollToBottom()

    def jump_to_end(self) -> None:
        """The newest messages, without loading everything before them."""
        if self._queue is None:
            return
        self.model.jump_to_end()
        self.view.scrollToBottom()

    def _scrolled(self, value: int) -> None:
        bar = self.view.verticalScrollBar()
        if value == bar.minimum() and self.model.more_before:
            added = self.model.fetch_older()
            if added:
                bar.setValue(bar.minimum() + added)

    # -- rows changing under the view -----------------------------------------------------------
    def loaded_rows(self) -> list[MessageRow]:
        """Every row the table holds now (a peek: the whole peek)."""
        return self.model.rows()

    def refresh_tail(self) -> None:
        """Fetch rows that arrived after the last one, if the table is at the end. A
        table scrolled to its bottom with nothing selected follows the newest rows."""
        bar = self.view.verticalScrollBar()
        sel = self.view.selectionModel()
        if bar.value() >= bar.maximum() - 2 and (sel is None or not sel.hasSelection()):
            if self.model.follow_tail():
                self.view.scrollToBottom()
        else:
            self.model.refresh_tail()

    def update_rows(self, changes: Mapping[int, Callable[[MessageRow], None]]) -> int:
        """Apply `changes` by key in one repaint; how many keys were not loaded."""
        return self.model.update_rows(changes)

    def remove_key(self, key: int) -> None:
        self.model.remove_key(key)

    def update_count(self) -> None:
        """"N messages · M loaded" (or matches, or what a peek shows) for the queue."""
        r = self._queue
        if r is None:
            self.count_label.setText("")
            return
        loaded = self.model.rowCount()
        total = self.model.source.count()
        if r.is_server:
            text = f"{loaded:,} waiting shown" if r.kind == "work" else f"{loaded:,} shown"
            if loaded >= PEEK_MAX:
                text += f" (peek shows the first {PEEK_MAX:,})"
        elif total is None:
            more = self.model.more_after or self.model.more_before
            one = loaded == 1 and not more
            text = f"{loaded:,}{'+' if more else ''} {'match' if one else 'matches'}"
        else:
            text = f"{total:,} message{'' if total == 1 else 's'} · {loaded:,} loaded"
        if self.count_label.text() != text:
            self.count_label.setText(text)

    # -- selection ------------------------------------------------------------------------------
    def selected_rows(self) -> list[MessageRow]:
        """The selected messages, top to bottom."""
        sel = self.view.selectionModel()
        if sel is None:
            return []
        out = []
        for idx in sorted(sel.selectedRows(), key=lambda i: i.row()):
            r = self.model.row_at(idx.row())
            if r is not None:
                out.append(r)
        return out

    def select_rows(self, rows: list[int]) -> None:
        """Select message rows by number (tests, keyboard helpers)."""
        sel = self.view.selectionModel()
        sel.clearSelection()
        for i, row in enumerate(rows):
            idx = self.model.index(row, 0)
            flags = QItemSelectionModel.SelectionFlag.Select \
                | QItemSelectionModel.SelectionFlag.Rows
            if i == 0:
                sel.setCurrentIndex(idx, flags)
            else:
                sel.select(idx, flags)

    def reselect(self, keys: set[int]) -> None:
        """Select again the rows with these keys (after a peek replaced the rows)."""
        if not keys:
            return
        sel = self.view.selectionModel()
        for k in keys:
            i = self.model.find(k)
            if i >= 0:
                sel.select(self.model.index(i, 0),
                           QItemSelectionModel.SelectionFlag.Select
                           | QItemSelectionModel.SelectionFlag.Rows)

    def _selection_changed(self, *_a: Any) -> None:
        rows = self.selected_rows()
        self.detail.set_selection_count(len(rows))
        self.update_actions()
        if not rows:
            self.detail.clear_message()
            return
        current = self.view.currentIndex()
        r = self.model.row_at(current.row()) if current.isValid() else None
        if r is None or r not in rows:
            r = rows[0]
        self.show_row(r)

    def show_row(self, r: MessageRow) -> None:
        """One message in the detail, and in the editor as what a replay would send."""
        q = self._queue
        if q is not None and q.is_server:
            meta = f"seq {r.key} · {q.label}" + (f" · {r.extra}" if r.extra else "")
            self.detail.show_message(r.source, meta)
            self.detail.set_editor({"queue": base_queue(q.work_queue or ""),
                                    "payload": r.args},
                                   "publish", "Edit the payload and publish it again "
                                   "(through the outbox).")
            return
        m = r.source
        record = m.to_record() if isinstance(m, StoredMessage) else r.args
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

    def new_publish(self) -> None:
        """A publish template for the work queue shown, in the editor."""
        q = self._queue
        if q is None or not q.is_server:
            return
        self.detail.set_editor({"queue": base_queue(q.work_queue or ""), "payload": {}},
                               "publish", "Write the payload, then publish (through the "
                               "outbox: nothing is lost while offline).")
        self.detail.focus_editor()

    def update_actions(self) -> None:
        """Show the actions that fit the queue; enable those that fit the selection."""
        q = self._queue
        rows = self.selected_rows()
        outbox = q is not None and q.is_outbox
        self.retry_button.setVisible(outbox)
        self.cancel_button.setVisible(outbox)
        self.retry_button.setEnabled(any(r.state in ("failed", "no_ack") for r in rows))
        # "no ack" is not a failure: the message may have arrived; sending it once more
        # is the user's decision, and the button says so
        no_ack_only = bool(rows) and all(r.state == "no_ack" for r in rows
                                         if r.state in ("failed", "no_ack"))
        self.retry_button.setText("Send again" if no_ack_only and any(
            r.state == "no_ack" for r in rows) else "Retry")
        self.cancel_button.setEnabled(any(r.state in ("queued", "failed", "no_ack")
                                          for r in rows))
        server = q is not None and q.is_server
        self.requeue_button.setVisible(q is not None and server and q.kind == "dead")
        self.requeue_button.setEnabled(bool(rows))
        self.publish_button.setVisible(q is not None and server and q.kind == "work")
        self.purge_button.setVisible(server)
        self.end_button.setVisible(q is not None and not server)
        self.search.setEnabled(q is not None)
