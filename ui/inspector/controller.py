"""The Queues tab's controller: what is listed and shown, kept up to date.

It follows the window's session (and starts over when the window swaps it), refreshes
the list of queues every second (local counters always, the server's ``/queue stats``
only while the tab is visible, and not again for ``STATS_BACKOFF_S`` after a failure),
loads the selected queue's messages (a store page, or a ``/queue peek``), and batches
the session's live changes into one repaint. What the user asks of messages is in
actions.py (outbox edits, replay, work queue admin) and transfer.py (import, export);
both refresh through this controller.

It owns no widget: it drives the views of status.py, queue_list.py and messages.py
through their methods and answers their signals. Everything that talks to the network
is a coroutine started with the host's ``spawn``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import shiboken6
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QWidget

from app.inspector import (
    PEEK_MAX,
    DepthSampler,
    QueueRow,
    WorkQueueError,
    WorkQueues,
    local_rows,
    merge_rows,
    server_rows,
)
from app.store import StoredMessage
from ui.inspector.messages import MessagePane
from ui.inspector.models import EmptySource, ListSource, MessageRow, StoreSource
from ui.inspector.queue_list import QueueListPane
from ui.inspector.status import QueuesHeader

if TYPE_CHECKING:
    from app.outbox import OutboxMessage
    from app.session import Session
    from ui.bridge import SessionBridge
    from ui.inspector.host import InspectorHost
    from ui.settings import Settings

log = logging.getLogger(__name__)

#: the list of queues (and the live line) is refreshed this often
REFRESH_MS = 1000
#: after a failed /queue stats, wait this long before asking again (a refresh button
#: click asks at once)
STATS_BACKOFF_S = 10.0
#: live changes are applied this long after the first one, in one batch
SOON_MS = 150


class InspectorController(QObject):
    """Keeps the Queues tab's views up to date (see the module)."""

    stats_refreshed = Signal()         # a /queue stats answer was applied
    peeked = Signal(str)               # a work queue's messages were (re)loaded

    def __init__(self, host: InspectorHost, view: QWidget, sampler: DepthSampler,
                 header: QueuesHeader, queues: QueueListPane, messages: MessagePane) -> None:
        """`view` is the tab: its visibility gates polling, and it parents this
        controller (so both go away together)."""
        super().__init__(view)
        self.host = host
        self.view = view
        self.sampler = sampler
        self.header = header
        self.queues = queues
        self.messages = messages
        self._session: Session | None = None
        self._server: list[QueueRow] = []
        self._rows: list[QueueRow] = []
        self._server_note = ""
        self._stats_task: asyncio.Task[Any] | None = None
        self._stats_backoff_until = 0.0
        self._current: QueueRow | None = None
        self._peek_gen = 0
        self._tail_wanted = False
        self._outbox_changes: dict[int, OutboxMessage] = {}

        header.refresh_requested.connect(self.refresh_now)
        queues.current_changed.connect(self._queue_changed)
        messages.search_changed.connect(self.apply_search)

        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.tick)
        self.timer.start()
        self._soon = QTimer(self)
        self._soon.setSingleShot(True)
        self._soon.setInterval(SOON_MS)
        self._soon.timeout.connect(self.apply_changes)
        # optional: the perf harness hosts the tab without one (ui/inspector/host.py)
        bridge: SessionBridge | None = getattr(host, "bridge", None)
        if bridge is not None:
            bridge.outbox_changed.connect(self._on_outbox_changed)
            bridge.events_received.connect(self._on_events)
            bridge.state_changed.connect(lambda *_a: self.tick())
            bridge.namespace_ready.connect(lambda *_a: self._update_live())
        self.messages.update_actions()
        self._update_live()

    # -- the session --------------------------------------------------------------------------
    @property
    def session(self) -> Session | None:
        return self.host.session

    def _set_current(self, row: QueueRow | None) -> None:
        """The selected queue (or its latest counters); the message pane shows the same,
        and the actions and transfers read it there."""
        self._current = row
        self.messages.set_queue(row)

    def _follow_session(self) -> Session | None:
        """Reset when the window swapped its session (another user or server)."""
        s = self.session
        if s is not self._session:
            self._session = s
            self._server = []
            self._server_note = ""
            self._stats_backoff_until = 0.0
            self.sampler.clear()
            self._set_current(None)
            self.queues.clear()
            self.messages.set_source(EmptySource())
            self.messages.clear_detail()
            self.messages.update_actions()
        return s

    def work(self) -> WorkQueues | None:
        s = self.session
        return WorkQueues(s) if s is not None else None

    # -- refreshing ---------------------------------------------------------------------------
    def shown(self) -> None:
        """The tab was shown: fresh replay targets, the last rows, and a refresh now."""
        self._fill_servers()
        self._show_rows()
        self.refresh_now()

    def _fill_servers(self) -> None:
        """Recent servers as replay targets (the current one is the empty default)."""
        # optional: the perf harness hosts the tab without settings (ui/inspector/host.py)
        settings: Settings | None = getattr(self.host, "settings", None)
        s = self.session
        here = s.config.url if s is not None else ""
        try:
            urls = [str(r.get("url") or "") for r in settings.recent_connections()] \
                if settings is not None else []
        except Exception:  # settings are a convenience here
            urls = []
        self.messages.detail.set_servers([u for u in dict.fromkeys(urls) if u and u != here])

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
        if (self.view.isVisible() or force) and wq is not None and wq.available() \
                and time.monotonic() >= self._stats_backoff_until \
                and (self._stats_task is None or self._stats_task.done()):
            self._stats_task = self.host.spawn(self.refresh_stats())
        self._update_live()

    def refresh_local(self) -> None:
        s = self.session
        if s is None:
            return
        try:
            local = local_rows(s.store.queues(), s.namespaces)
        except Exception as exc:  # a closed or busy database: say so, keep the last list
            log.debug("queues unavailable: %s", exc)
            return
        server = self._server if self._server_fresh() else []
        rows = merge_rows(local, server)
        self.sampler.record(rows)
        self._rows = rows
        if self.view.isVisible() or self.queues.is_empty():
            self._show_rows()

    def _show_rows(self) -> None:
        """Put the last refresh on screen (only while visible: signals and paints from
        Python are not free, see ui/inspector/chart.py)."""
        rows = self._rows
        self.queues.set_rows(rows)
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
        row = next((r for r in rows if r.key == cur.key), cur)
        self._set_current(row)
        self.queues.show_chart(row)
        self.messages.update_count()

    def _update_live(self) -> None:
        s = self.session
        if s is None:
            text, color = "Not connected: connect to see the server's work queues", "offline"
        elif (state := s.state.value) != "connected":
            text, color = f"{state.capitalize()}: local queues only", state
        elif self._server_note:
            text, color = f"Server work queues unavailable: {self._server_note}", "failed"
        elif "/queue" not in s.namespaces:
            # work queues are a SockDesk server's: somebody else's has none to open
            hint = " (open /queue to see work queues)" if s.extensions_on is True else ""
            text, color = f"Live · local queues{hint}", "connected"
        else:
            text, color = "Live · refreshed every second", "connected"
        self.header.set_live(text, color)

    def store_changed(self) -> None:
        """Rows were added to the store outside the session (an import): show them."""
        self.refresh_local()
        if self._current is not None and not self._current.is_server:
            self.messages.refresh_tail()

    # -- the selected queue -------------------------------------------------------------------
    def select_queue(self, key: str) -> bool:
        """Select a queue by key (``outbox:/chat``, ``room:/chat:general``, ``server:jobs``)."""
        if self.queues.select(key):
            return True
        self.refresh_local()
        self._show_rows()
        return self.queues.select(key)

    def _queue_changed(self, r: QueueRow | None) -> None:
        if r is not None and self._current is not None and r.key == self._current.key:
            self._set_current(r)
            return
        self._set_current(r)
        self.messages.reset()
        self.load_messages()
        self.messages.update_actions()
        if r is not None:
            self.queues.show_chart(r)

    def load_messages(self, at_end: bool = False) -> None:
        r = self._current
        s = self.session
        if r is None or s is None:
            self.messages.set_source(EmptySource(), title="No queue selected")
            return
        if r.is_server:
            self.messages.set_source(EmptySource(), title=r.label)
            self.load_peek()
            return
        self.messages.set_source(StoreSource(s.store, r.key, self.messages.search_text()),
                                 title=r.label, at_end=at_end)

    def load_peek(self) -> None:
        r = self._current
        wq = self.work()
        if r is None or not r.is_server or wq is None:
            return
        # never cancel a call half-way through its write: stale answers are ignored
        self._peek_gen += 1
        self.host.spawn(self.peek(r.work_queue or "", self._peek_gen))

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
            selected = {r.key for r in self.messages.selected_rows()}
            self.messages.set_source(ListSource(rows, self.messages.search_text()))
            self.messages.reselect(selected)
            self.peeked.emit(name)
        return rows

    def apply_search(self) -> None:
        r = self._current
        if r is None:
            return
        if r.is_server:
            self.load_peek()  # peek again and filter what it brings
            return
        self.load_messages()

    # -- live updates from the session --------------------------------------------------------
    def _on_outbox_changed(self, msg: OutboxMessage) -> None:
        """Remember the change; rows are updated in one batch a moment later (a replay of
        10,000 messages is 30,000 state changes: one repaint, not 30,000)."""
        q = self._current
        if q is not None and q.key == msg.queue and msg.rowid:
            self._outbox_changes[msg.rowid] = msg
        if not self._soon.isActive():
            self._soon.start()

    def _apply_outbox_changes(self) -> None:
        changes, self._outbox_changes = self._outbox_changes, {}
        updates: dict[int, Callable[[MessageRow], None]] = {}
        for rowid, msg in changes.items():
            state = msg.state.value
            if state == "cancelled":
                self.messages.remove_key(rowid)
                continue

            def change(r: MessageRow, msg: OutboxMessage = msg, state: str = state) -> None:
                r.state = state
                r.error = msg.error
                r.args = msg.args
                if isinstance(r.source, StoredMessage):
                    r.source.state, r.source.error = state, r.error
                    r.source.args = msg.args

            updates[rowid] = change
        if self.messages.update_rows(updates):
            self._tail_wanted = True

    def _on_events(self, batch: list[StoredMessage]) -> None:
        q = self._current
        if q is not None and any(m.queue == q.key for m in batch):
            self._tail_wanted = True
        if not self._soon.isActive():
            self._soon.start()

    def apply_changes(self) -> None:
        """Apply the session's changes now (not SOON_MS later): after an action."""
        if not shiboken6.isValid(self) or self.session is None:
            return
        if self._outbox_changes:
            self._apply_outbox_changes()
        if self._tail_wanted and self._current is not None and not self._current.is_server:
            self._tail_wanted = False
            self.messages.refresh_tail()
        self.refresh_local()
        self.messages.update_actions()
