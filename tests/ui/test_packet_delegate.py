"""The Events tab's cell painter: the selection, the row colours and the text, from the
model's rows (not through data())."""

from __future__ import annotations

import time

from PySide6.QtGui import QColor, QPalette

from ui.models.packets import COL_ARGS, COL_DIR, COL_EVENT, PacketTableModel
from ui.widgets.events import EventsTab
from ui.widgets.packet_delegate import PacketDelegate


def _packet(i: int, direction: str = "in", kind: str = "EVENT", args=None) -> dict:
    return {"seq": i, "ts": time.time(), "direction": direction, "namespace": "/",
            "kind": kind, "event": "tick", "args": args if args is not None else [{"i": i}],
            "ack_id": None, "latency_ms": None, "size": 20}


def _near(a: QColor, b: QColor, tol: int = 60) -> bool:
    return abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue()) \
        <= tol


def _cell_pixels(tab: EventsTab, img, row: int, col: int) -> list[QColor]:
    rect = tab.table.visualRect(tab.table.model().index(row, col))
    dpr = img.devicePixelRatio()
    return [img.pixelColor(int(x * dpr), int(y * dpr))
            for x in range(rect.left(), rect.right()) for y in range(rect.top(), rect.bottom())]


def test_cells_are_painted_from_the_rows_with_their_colours_and_the_selection(qtbot):
    model = PacketTableModel()
    tab = EventsTab(model)
    qtbot.addWidget(tab)
    tab.resize(1100, 500)
    tab.show()
    qtbot.waitExposed(tab)
    assert isinstance(tab.table.itemDelegate(), PacketDelegate)
    model.add(_packet(0))
    model.add(_packet(1, "out"))
    model.add(_packet(2, kind="DISCONNECT", args=[{"reason": "transport close"}]))
    model.add(_packet(3, args=["y" * 2000]))
    model.flush()
    tab.table.selectRow(1)
    qtbot.waitUntil(lambda: tab.table.selectionModel().hasSelection())
    img = tab.table.viewport().grab().toImage()
    pal = tab.table.palette()
    green, blue = model.dir_colors["in"], model.dir_colors["out"]
    red = model.note_colors["DISCONNECT"]
    # the direction in its colour, the selected row on the highlight
    assert any(_near(c, green) for c in _cell_pixels(tab, img, 0, COL_DIR))
    assert not any(_near(c, green, 30) for c in _cell_pixels(tab, img, 0, COL_EVENT))
    selected = _cell_pixels(tab, img, 1, COL_EVENT)
    assert any(_near(c, pal.color(g, QPalette.ColorRole.Highlight), 8) for c in selected
               for g in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive))
    assert not any(_near(c, blue, 30) for c in _cell_pixels(tab, img, 1, COL_DIR))
    # a disconnect's row in its colour; a long argument stays inside its cell
    assert any(_near(c, red) for c in _cell_pixels(tab, img, 2, COL_EVENT))
    args = _cell_pixels(tab, img, 3, COL_ARGS)
    assert args and any(c != args[0] for c in args)
    # the same through the filter (the view then shows the filter model)
    tab.search.setText("transport")
    tab.apply_filters()
    assert tab.shown_model().rowCount() == 1
    img = tab.table.viewport().grab().toImage()
    assert any(_near(c, red) for c in _cell_pixels(tab, img, 0, COL_EVENT))
