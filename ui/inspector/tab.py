"""The Queues tab: every queue, its messages, depth over time, replay, import and export.

Top: the list of queues (local outboxes and inboxes from the store, the server's work
queues and dead letters from ``/queue stats``) with a depth sparkline each, and a chart of
depth and rate of the selected queue. Bottom: the selected queue's messages (lazy, keyset
paged, searchable) and the selected message in full, with an editor to replay it.

This module only puts the parts together; each has its own file:
- views: status.py (header line, progress strip), queue_list.py (queues and chart),
  messages.py (message table, its actions and search, and detail.py's pane);
- behaviour: controller.py (session, refresh and polling, loading messages, live
  updates), actions.py (outbox edits, replay, work queue admin), transfer.py (import and
  export).
``QueuesTab`` keeps the names the window, the tests and the perf harness use
(``select_queue``, ``message_model``, ``replay``, ``import_file``, the buttons, ...).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QShowEvent
from PySide6.QtWidgets import QSplitter, QVBoxLayout, QWidget

from app.inspector import DepthSampler, QueueRow
from ui.inspector.actions import QueueActions
from ui.inspector.controller import InspectorController
from ui.inspector.messages import MessagePane
from ui.inspector.queue_list import QueueListPane
from ui.inspector.status import ProgressStrip, QueuesHeader
from ui.inspector.transfer import TransferController
from ui.inspector.worker import WorkerSwitch

if TYPE_CHECKING:
    from app.inspector import ElsewhereResult
    from app.ndjson import ExportResult, ImportResult
    from app.outbox import OutboxMessage
    from ui.inspector.host import InspectorHost
    from ui.inspector.models import MessageRow


class QueuesTab(QWidget):
    """The queue inspector. ``host`` is the main window (session, bridge, spawn, ...)."""

    def __init__(self, host: InspectorHost, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.host = host
        self.sampler = DepthSampler()
        self.header = QueuesHeader()
        self.queue_list = QueueListPane(self.sampler)
        self.messages = MessagePane()
        self.progress_box = ProgressStrip()
        self.splitter = QSplitter(Qt.Orientation.Vertical)
        self.splitter.setObjectName("queuesSplitter")
        self.splitter.addWidget(self.queue_list)
        self.splitter.addWidget(self.messages)
        self.splitter.setStretchFactor(0, 2)
        self.splitter.setStretchFactor(1, 3)
        self.splitter.setSizes([250, 430])
        self.splitter.setChildrenCollapsible(False)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.header)
        lay.addWidget(self.splitter, 1)
        lay.addWidget(self.progress_box)

        self.controller = InspectorController(host, self, self.sampler, self.header,
                                              self.queue_list, self.messages)
        self.queue_actions = QueueActions(host, self, self.controller, self.messages)
        self.transfer = TransferController(host, self, self.header, self.messages,
                                           self.progress_box)
        self.transfer.stored.connect(self.controller.store_changed)
        self.worker = WorkerSwitch(host, self.messages.worker_button, self)
        self.messages.queue_shown.connect(self.worker.show_queue)

        # what the window, the tests and the perf harness reach for
        self.stats_refreshed = self.controller.stats_refreshed
        self.peeked = self.controller.peeked
        self.replayed = self.queue_actions.replayed
        self.purged = self.queue_actions.purged
        self.requeued = self.queue_actions.requeued
        self.import_finished = self.transfer.import_finished
        self.export_finished = self.transfer.export_finished
        self.queue_model = self.queue_list.model
        self.queue_view = self.queue_list.view
        self.message_model = self.messages.model
        self.message_view = self.messages.view
        self.detail = self.messages.detail
        self.search = self.messages.search
        self.timer = self.controller.timer                 # the refresh every second
        self._search_timer = self.messages.search_timer   # tests/perf/store_child.py
        self.end_button = self.messages.end_button
        self.retry_button = self.messages.retry_button
        self.cancel_button = self.messages.cancel_button
        self.requeue_button = self.messages.requeue_button
        self.publish_button = self.messages.publish_button
        self.purge_button = self.messages.purge_button
        self.progress_cancel = self.progress_box.cancel_button

    def showEvent(self, event: QShowEvent) -> None:
        super().showEvent(event)
        self.controller.shown()

    # -- queues and messages ------------------------------------------------------------------
    def select_queue(self, key: str) -> bool:
        """Select a queue by key (``outbox:/chat``, ``room:/chat:general``, ``server:jobs``)."""
        return self.controller.select_queue(key)

    def refresh_now(self) -> None:
        self.controller.refresh_now()

    async def refresh_stats(self) -> list[QueueRow]:
        return await self.controller.refresh_stats()

    def load_messages(self, at_end: bool = False) -> None:
        self.controller.load_messages(at_end)

    def apply_search(self) -> None:
        self.controller.apply_search()

    def jump_to_end(self) -> None:
        self.messages.jump_to_end()

    def selected_rows(self) -> list[MessageRow]:
        return self.messages.selected_rows()

    def select_rows(self, rows: list[int]) -> None:
        """Select message rows by number (tests, keyboard helpers)."""
        self.messages.select_rows(rows)

    # -- actions ------------------------------------------------------------------------------
    async def replay(self, edited: bool = False
                     ) -> list[OutboxMessage] | ElsewhereResult | None:
        """Replay the selection (or the editor's message) to the targets of the form."""
        return await self.queue_actions.replay(edited)

    async def import_file(self, path: Path) -> ImportResult | None:
        return await self.transfer.import_file(path)

    async def export_file(self, path: Path, whole_queue: bool | None = None
                          ) -> ExportResult | None:
        return await self.transfer.export_file(path, whole_queue)

    def cancel_work(self) -> None:
        """Stop the running import or export."""
        self.transfer.cancel_work()
