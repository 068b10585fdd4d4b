"""What the app keeps per received message stays bounded (issue 18, B8: the app's RSS grew
~2 KB per message for 30 minutes). Counts, not timings or RSS: the Events table's live
rows, and the chat view's row heights (once a dict keyed by every text ever shown)."""

from __future__ import annotations

import time

import pytest
from PySide6.QtWidgets import QApplication, QStyleOptionViewItem

from ui.models.chat import ChatMessageModel
from ui.models.packets import PacketTableModel
from ui.widgets.chat import ChatPane
from ui.widgets.events import EventsTab

pytestmark = pytest.mark.timeout(120)


def packet(seq: int) -> dict[str, object]:
    return {"seq": seq, "ts": 1_700_000_000 + seq, "direction": "in", "namespace": "/chat",
            "kind": "EVENT", "event": "message", "ack_id": None, "latency_ms": None,
            "args": [{"room": "room0", "user": f"u{seq % 10}", "text": f"hello {seq}",
                      "id": f"id-{seq}", "offset": seq}], "size": 90}


def test_the_events_table_keeps_a_live_window_not_every_packet(qtbot):
    """60,000 packets through the app's default table: at most 50,000 rows are held (it
    was 200,000: ~0.8 KB of Python objects a row), the newest, and it counts the rest."""
    model = PacketTableModel()
    fed = 60_000
    for start in range(0, fed, 5_000):
        for seq in range(start, start + 5_000):
            model.add(packet(seq))
        model.flush()
    rows = model.rowCount()
    assert rows <= 50_000
    assert model.dropped == fed - rows
    assert model.packet(rows - 1)["seq"] == fed - 1
    assert model.packet(0)["seq"] == fed - rows


def test_the_events_tab_says_that_older_packets_are_not_shown_and_where_they_are(qtbot):
    model = PacketTableModel(capacity=100)
    tab = EventsTab(model)
    qtbot.addWidget(tab)
    for seq in range(60):
        model.add(packet(seq))
    model.flush()
    assert "older" not in tab.count_label.text()
    for seq in range(60, 250):
        model.add(packet(seq))
    model.flush()
    text = tab.count_label.text()
    assert f"{model.rowCount():,} packets" in text
    assert f"{250 - model.rowCount():,} older not shown: Queues tab" in text
    assert "newest 100 packets" in tab.count_label.toolTip()
    model.clear()
    assert "older" not in tab.count_label.text()
    assert tab.count_label.toolTip() == ""


def _cached_heights(pane: ChatPane, model: ChatMessageModel) -> int:
    on_rows = sum(getattr(model.item_at(r), "height", None) is not None
                  for r in range(model.rowCount()))
    return on_rows + len(pane.view.delegate._heights)


def test_row_heights_go_with_the_rows_the_chat_model_drops(qtbot):
    """2,000 distinct messages through a shown room whose model keeps 300 rows: the view
    lays every row out as it arrives, and no more heights are kept than rows held."""
    pane = ChatPane()
    pane.resize(800, 600)
    qtbot.addWidget(pane)
    pane.show()
    qtbot.waitExposed(pane)
    model = ChatMessageModel(capacity=300, order="offset", me="watcher")
    pane.show_conversation("room", "room0", model)
    t0 = time.time() - 3600
    for start in range(0, 2_000, 100):
        for n in range(start, start + 100):
            model.add_message(key=f"m{n}", user=f"u{n % 7}", text=f"message number {n}",
                              ts=t0 + n, offset=n + 1)
        model.flush()
        QApplication.processEvents()  # the view asks every new row's height
    assert model.rowCount() <= 330
    kept = _cached_heights(pane, model)
    assert 0 < kept <= model.rowCount()


def test_a_kept_height_follows_an_edit_and_the_width(qtbot):
    pane = ChatPane()
    pane.resize(800, 600)
    qtbot.addWidget(pane)
    pane.show()
    qtbot.waitExposed(pane)
    model = ChatMessageModel(order="offset")
    model.add_message(key="a", user="alice", text="short", ts=time.time(), offset=1)
    model.flush()
    pane.show_conversation("room", "room0", model)
    view = pane.view
    row = model.row_of("a")
    assert row is not None
    index = model.index(row, 0)
    option = QStyleOptionViewItem()
    view.initViewItemOption(option)
    short = view.delegate.sizeHint(option, index).height()
    model.apply_edit("a", "\n".join(f"line {i}" for i in range(12)))
    tall = view.delegate.sizeHint(option, index).height()
    assert tall > short
    view.delegate.set_width(200)
    model.apply_edit("a", "word " * 200)
    narrow = view.delegate.sizeHint(option, index).height()
    view.delegate.set_width(2000)
    wide = view.delegate.sizeHint(option, index).height()
    assert narrow > wide
