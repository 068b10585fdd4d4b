"""Queue inspector without a server: the Qt-free helpers, both models, a million rows."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtWidgets import QTableView

from app import db as dbmod
from app.inspector import DepthSampler, QueueRow, local_rows, merge_rows, server_rows
from app.store import MessageStore, QueueInfo, StoredMessage
from ui.inspector.chart import DepthChart, SparklineDelegate
from ui.inspector.models import (
    M_PAYLOAD,
    M_STATE,
    Q_DEPTH,
    Q_FAILED,
    Q_TREND,
    ListSource,
    MessageRow,
    MessageTableModel,
    QueueListModel,
    SparkRole,
    StoreSource,
)
from ui.inspector.pretty import bounded_json, cell_preview

# ---- Qt-free core ------------------------------------------------------------------------------


def test_local_and_server_rows_merge_in_display_order():
    infos = [QueueInfo("room:/chat:general", 5), QueueInfo("event:/:tick", 2),
             QueueInfo("outbox:/chat", 9, queued=2, sent=1, acked=5, failed=1),
             QueueInfo("dm:/chat:bob", 1)]
    local = local_rows(infos, ["/chat", "/"])
    server = server_rows([{"queue": "jobs", "depth": 3, "inflight": 1, "consumers": 2,
                           "acked": 10, "dead": 4}, {"queue": 7}])
    rows = merge_rows(local, server)
    assert [r.key for r in rows] == [
        "outbox:/", "outbox:/chat", "room:/chat:general", "dm:/chat:bob", "event:/:tick",
        "server:jobs", "server:jobs.dead"]
    ob = rows[1]
    assert (ob.depth, ob.inflight, ob.acked, ob.failed) == (2, 1, 5, 1)
    assert rows[2].label == "#general" and rows[2].depth == 5
    jobs, dead = rows[5], rows[6]
    assert (jobs.depth, jobs.inflight, jobs.acked, jobs.failed, jobs.consumers) == \
        (3, 1, 10, 4, 2)
    assert dead.kind == "dead" and dead.depth == 4 and dead.work_queue == "jobs.dead"


def test_sampler_is_bounded_and_computes_rates():
    s = DepthSampler(capacity=5)
    for i in range(20):
        s.record([QueueRow("event:/:x", "event", "x", depth=i, total=i * 10)], now=100.0 + i)
    hist = s.history("event:/:x")
    assert len(hist) == 5
    assert [h.depth for h in hist] == [15, 16, 17, 18, 19]
    assert all(h.rate == pytest.approx(10.0) for h in hist)
    # a purge (counter going down) is not a negative rate
    s.record([QueueRow("event:/:x", "event", "x", depth=0, total=0)], now=200.0)
    assert s.history("event:/:x")[-1].rate == 0.0


def test_bounded_json_cuts_huge_and_deep_values_and_escapes_controls():
    deep: list = []
    cur = deep
    for _ in range(500):
        nxt: list = []
        cur.append(nxt)
        cur = nxt
    value = {"big": "x" * 10_000_000, "deep": deep, "ctl": "a\x07b\u202e<b>c</b>\n"}
    t = time.perf_counter()
    text, truncated = bounded_json(value)
    assert time.perf_counter() - t < 1.0
    assert truncated and len(text) < 100_000
    assert "string of 10,000,000 characters" in text
    assert "nested deeper than" in text
    assert "\x07" not in text and "\u202e" not in text
    assert "\\u0007" in text and "\\u202e" in text and "<b>c</b>" in text
    cell = cell_preview(value, 120)
    assert len(cell) <= 120 and "\n" not in cell


# ---- the models ----------------------------------------------------------------------------------


def test_queue_list_model_passes_modeltester_and_updates_in_place(qtmodeltester):
    sampler = DepthSampler()
    model = QueueListModel(sampler)
    rows = merge_rows(local_rows([QueueInfo("room:/chat:a", 3)], ["/chat"]),
                      server_rows([{"queue": "jobs", "depth": 1, "dead": 2}]))
    sampler.record(rows, now=1.0)
    sampler.record(rows, now=2.0)
    model.set_rows(rows)
    qtmodeltester.check(model)
    assert model.rowCount() == 4
    inserted, removed = [], []
    model.rowsInserted.connect(lambda _p, a, b: inserted.append((a, b)))
    model.rowsRemoved.connect(lambda _p, a, b: removed.append((a, b)))
    rows2 = merge_rows(local_rows([QueueInfo("room:/chat:a", 4), QueueInfo("room:/chat:b", 1)],
                                  ["/chat"]), [])
    model.set_rows(rows2)
    assert model.keys() == ["outbox:/chat", "room:/chat:a", "room:/chat:b"]
    assert inserted == [(2, 2)] and len(removed) == 2
    assert model.index(1, Q_DEPTH).data() == "4"
    assert model.index(0, Q_TREND).data(SparkRole) == [0, 0]
    qtmodeltester.check(model)
    # messages sent once with no ack need the user too: counted beside the failed ones
    model.set_rows(local_rows([QueueInfo("outbox:/chat", 3, acked=1, failed=1, no_ack=1)],
                              ["/chat"]))
    cell = model.index(0, Q_FAILED)
    assert cell.data() == "1 + 1" and "Send again" in cell.data(Qt.ItemDataRole.ToolTipRole)


def _stored_rows(n: int, queue: str = "event:/:tick") -> list[MessageRow]:
    return [MessageRow.from_stored(StoredMessage(queue=queue, direction="in", namespace="/",
                                                 event="tick", args=[{"i": i}], rowid=i + 1))
            for i in range(n)]


def test_message_model_passes_modeltester_with_lazy_fetching(qtmodeltester):
    model = MessageTableModel(batch=10, cap=40)
    model.set_source(ListSource(_stored_rows(95)))
    assert model.rowCount() == 10 and model.canFetchMore(QModelIndex())
    qtmodeltester.check(model)
    while model.canFetchMore(QModelIndex()):
        model.fetchMore(QModelIndex())
    # bounded: the front was dropped, and can be fetched back
    assert model.rowCount() <= 40 and model.more_before
    assert model.row_at(model.rowCount() - 1).key == 95
    assert model.fetch_older() == 10
    assert model.rowCount() <= 40 and model.more_after
    model.jump_to_end()
    assert model.rowCount() == 10 and model.row_at(9).key == 95 and model.more_before
    qtmodeltester.check(model)


def test_message_model_search_over_a_list():
    rows = _stored_rows(30)
    model = MessageTableModel(batch=100)
    model.set_source(ListSource(rows, search="17"))
    assert model.rowCount() == 1
    assert '"i":17' in model.index(0, M_PAYLOAD).data().replace(" ", "")
    model.set_source(ListSource(rows, search="nothing 17"))
    assert model.rowCount() == 0


def _million(store: MessageStore, n: int = 1_000_000, needle_at: int = 765_432) -> None:
    """A million rows of one queue, made by SQLite itself (no million Python tuples), then
    indexed for search and counted by the store's own set-based indexer."""
    with dbmod.transaction(store.conn) as c:
        start = store._max_id(c)
        c.execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) "
            "INSERT INTO messages(queue, direction, namespace, event, args, ts, text, "
            "recovered) SELECT 'event:/:tick', 'in', '/', 'tick', CASE WHEN i = ? THEN "
            "'[\"the needle in the haystack\"]' ELSE '[' || i || ']' END, "
            "1700000000.0 + i * 0.001, NULL, 0 FROM n", (n, needle_at))
        store._index_new(c, start)


@pytest.mark.timeout(240)
def test_a_million_rows_open_lazily_jump_to_end_and_search(tmp_path, qtbot, qtmodeltester):
    store = MessageStore.open(tmp_path)
    _million(store)
    assert store.count("event:/:tick") == 1_000_000
    model = MessageTableModel(batch=500)
    view = QTableView()
    qtbot.addWidget(view)
    view.verticalHeader().setDefaultSectionSize(22)
    view.verticalHeader().setSectionResizeMode(view.verticalHeader().ResizeMode.Fixed)
    view.resize(800, 600)
    view.setModel(model)
    source = StoreSource(store, "event:/:tick")
    t = time.perf_counter()
    model.set_source(source)
    view.show()
    qtbot.waitExposed(view)
    opened = time.perf_counter() - t
    assert model.rowCount() <= 1500, "opening must not load the queue"
    assert opened < 10
    # scrolling to the bottom of what is loaded fetches one more batch, not everything
    view.scrollToBottom()
    qtbot.waitUntil(lambda: model.rowCount() >= 1000, timeout=10_000)
    assert model.rowCount() <= 2000
    # painting runs no SQL: data() is a list lookup
    queries = source.queries
    assert not view.viewport().grab().isNull()
    for r in range(model.rowCount()):
        model.index(r, M_STATE).data()
    assert source.queries == queries
    # jump to end without loading what is before it
    model.jump_to_end()
    assert model.rowCount() == 500
    assert model.row_at(499).args == [1_000_000]
    assert model.fetch_older() == 500 and model.row_at(0).args == [999_001]
    # search (FTS) finds the needle
    model.set_source(StoreSource(store, "event:/:tick", "needle hay"))
    assert model.rowCount() == 1
    assert model.row_at(0).args == ["the needle in the haystack"]
    assert model.index(0, M_PAYLOAD).data(Qt.ItemDataRole.DisplayRole) == \
        '"the needle in the haystack"'
    model.set_source(StoreSource(store, "event:/:tick"))
    qtmodeltester.check(model)
    assert model.rowCount() <= 2000
    store.close()


def test_sparkline_and_chart_paint(qtbot):
    sampler = DepthSampler()
    now = time.time()
    for i in range(60):
        sampler.record([QueueRow("server:jobs", "work", "jobs", depth=(i * 7) % 23,
                                 acked=i * 3)], now=now - 60 + i)
    model = QueueListModel(sampler)
    model.set_rows([QueueRow("server:jobs", "work", "jobs", depth=3)])
    view = QTableView()
    qtbot.addWidget(view)
    view.setModel(model)
    view.setItemDelegateForColumn(Q_TREND, SparklineDelegate(SparkRole, view))
    view.resize(700, 200)
    view.show()
    qtbot.waitExposed(view)
    img = view.grab().toImage()
    assert not img.isNull()
    chart = DepthChart()
    qtbot.addWidget(chart)
    chart.resize(420, 220)
    chart.set_samples("jobs", sampler.history("server:jobs"), "done")
    chart.show()
    qtbot.waitExposed(chart)
    assert not chart.grab().toImage().isNull()


class _GrowingSource(ListSource):
    """A live queue: rows arrive after the model first read it."""

    def arrive(self, rows: list[MessageRow]) -> None:
        self.rows.extend(rows)
        self._keys.extend(r.key for r in rows)


def test_a_followed_tail_shows_the_newest_row_even_when_a_flood_outruns_a_batch(qtbot):
    from ui.inspector.messages import MessagePane

    rows = _stored_rows(3000)
    source = _GrowingSource(rows[:30])
    pane = MessagePane()
    qtbot.addWidget(pane)
    pane.model.batch = pane.model.follow = 100
    pane.resize(900, 300)
    pane.show()
    qtbot.waitExposed(pane)
    pane.set_source(source, at_end=True)
    model, bar = pane.model, pane.view.verticalScrollBar()
    source.arrive(rows[30:40])  # a few: appended after the rows shown
    pane.refresh_tail()
    assert model.rowCount() == 40 and model.row_at(39).key == 40
    source.arrive(rows[40:1500])  # more than a batch: the last batch, scrolled to it
    pane.refresh_tail()
    assert model.row_at(model.rowCount() - 1).key == 1500 and model.more_before
    fetches = model.fetches
    source.arrive(rows[1500:1510])  # the flood is over: a jump, then appends again
    pane.refresh_tail()
    assert model.row_at(model.rowCount() - 1).key == 1510 and model.fetches == fetches + 1
    source.arrive(rows[1510:1520])
    pane.refresh_tail()
    assert model.row_at(model.rowCount() - 1).key == 1520
    assert model.row_at(0).key == 1411  # appended, not reloaded
    qtbot.waitUntil(lambda: bar.maximum() > 0 and bar.value() == bar.maximum(),
                    timeout=2000)
    # scrolled up (reading), the table keeps its rows and waits to be scrolled down
    bar.setValue(bar.maximum() // 2)
    source.arrive(rows[1520:3000])
    pane.refresh_tail()
    assert model.row_at(model.rowCount() - 1).key < 3000
    # back at the bottom with a row selected: no jump that would lose the selection
    pane.view.scrollToBottom()
    pane.view.selectRow(0)
    selected = model.row_at(0).key
    pane.refresh_tail()
    assert model.row_at(0).key == selected


def test_muted_follows_the_palette_it_is_asked_for(qapp):
    from PySide6.QtGui import QColor, QPalette

    from ui import theme

    pal = QPalette(theme.palette())
    first = theme.muted(pal)
    pal.setColor(QPalette.ColorRole.Text, QColor("#ff0000"))
    pal.setColor(QPalette.ColorRole.Base, QColor("#101010"))
    pal.setColor(QPalette.ColorRole.Window, QColor("#202020"))
    second = theme.muted(pal)
    assert second != first
    assert second == theme.readable(theme.mix(QColor("#ff0000"), QColor("#101010"), 0.55),
                                    QColor("#202020"), QColor("#101010"))
    second.setRed(0)  # the caller's copy: the next answer is unchanged
    assert theme.muted(pal) != second
