"""The log tables that paint whole rows (ui/widgets/row_table.py): the selection, the
alternate rows, the colours and the text come from the model's rows, with no `data()`
call per cell; other models are painted by Qt as before."""

from __future__ import annotations

import time

from PySide6.QtCore import Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QFontMetrics,
    QPalette,
    QStandardItem,
    QStandardItemModel,
)

from app.store import StoredMessage
from ui.inspector.messages import MessagePane
from ui.inspector.models import M_KEY, M_STATE, M_USER, ListSource, MessageRow
from ui.models.packets import COL_ARGS, COL_DIR, COL_EVENT, PacketTableModel
from ui.widgets.events import EventsTab
from ui.widgets.row_table import RowTable, TextFit


def _packet(i: int, direction: str = "in", kind: str = "EVENT", args=None) -> dict:
    return {"seq": i, "ts": time.time(), "direction": direction, "namespace": "/",
            "kind": kind, "event": "tick", "args": args if args is not None else [{"i": i}],
            "ack_id": None, "latency_ms": None, "size": 20}


def _near(a: QColor, b: QColor, tol: int = 60) -> bool:
    return abs(a.red() - b.red()) + abs(a.green() - b.green()) + abs(a.blue() - b.blue()) \
        <= tol


def _cell_pixels(tab: EventsTab, img, row: int, col: int) -> list[QColor]:
    return _cell_pixels_of(tab.table, img, row, col)


def _cell_pixels_of(view, img, row: int, col: int) -> list[QColor]:
    rect = view.visualRect(view.model().index(row, col))
    dpr = img.devicePixelRatio()
    return [img.pixelColor(int(x * dpr), int(y * dpr))
            for x in range(rect.left(), rect.right()) for y in range(rect.top(), rect.bottom())]


def _shown_tab(qtbot, model: PacketTableModel, height: int) -> EventsTab:
    tab = EventsTab(model)
    qtbot.addWidget(tab)
    tab.resize(1100, height)
    tab.show()
    qtbot.waitExposed(tab)
    return tab


def test_cells_are_painted_from_the_rows_with_their_colours_and_the_selection(qtbot):
    model = PacketTableModel()
    tab = _shown_tab(qtbot, model, 500)
    assert isinstance(tab.table, RowTable)
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


class _CountingModel(PacketTableModel):
    """Counts the display texts Qt asks for (a RowTable paints without asking)."""

    def __init__(self) -> None:
        super().__init__()
        self.display_asks = 0

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if role == Qt.ItemDataRole.DisplayRole:
            self.display_asks += 1
        return super().data(index, role)


def test_a_repaint_takes_the_rows_from_the_model_in_one_call_each(qtbot):
    model = _CountingModel()
    tab = _shown_tab(qtbot, model, 400)
    for i in range(200):
        model.add(_packet(i))
    model.flush()
    tab.table.scrollToBottom()
    asked: list[int] = []
    orig = model.look_of
    model.look_of = lambda row: asked.append(row.packet["seq"]) or orig(row)
    model.display_asks = 0
    tab.table.viewport().grab()  # paints now
    shown = tab.table.viewport().height() // tab.table.rowHeight(0)
    # every visible row once (the last, partly visible, too), and no text through data()
    assert shown <= len(asked) <= shown + 2
    assert len(set(asked)) == len(asked) and max(asked) == 199
    assert model.display_asks == 0


def _message(i: int, state: str) -> StoredMessage:
    return StoredMessage(queue="outbox:/chat", direction="out", namespace="/chat",
                         event="message", args=[{"text": f"hello {i}"}], rowid=i + 1,
                         state=state)


def test_the_message_table_paints_states_numbers_and_alternate_rows(qtbot):
    pane = MessagePane()
    qtbot.addWidget(pane)
    pane.resize(1000, 400)
    pane.show()
    qtbot.waitExposed(pane)
    assert isinstance(pane.view, RowTable)
    rows = [MessageRow.from_stored(_message(i, "failed" if i == 1 else "acked"))
            for i in range(6)]
    pane.set_source(ListSource(rows))
    view = pane.view
    qtbot.waitUntil(lambda: view.model().rowCount() == 6)
    img = view.viewport().grab().toImage()
    model = view.model()
    failed = model.colors["failed"]
    assert any(_near(c, failed) for c in _cell_pixels_of(view, img, 1, M_STATE))
    assert not any(_near(c, failed, 30) for c in _cell_pixels_of(view, img, 0, M_STATE))
    # the key is right-aligned: its ink sits in the right half of the cell
    rect = view.visualRect(model.index(0, M_KEY))
    base = img.pixelColor(rect.left() + 1, rect.center().y())
    ink = [x for x in range(rect.left(), rect.right())
           for y in range(rect.top(), rect.bottom()) if img.pixelColor(x, y) != base]
    assert ink and min(ink) > rect.center().x()
    # odd rows on the alternate colour, even rows on the base
    pal = view.palette()
    left = view.visualRect(model.index(1, M_USER)).topLeft()
    odd = img.pixelColor(left.x() + 1, left.y() + 1)
    even = img.pixelColor(left.x() + 1, view.visualRect(model.index(2, M_USER)).top() + 1)
    assert _near(odd, pal.color(QPalette.ColorRole.AlternateBase), 6)
    assert _near(even, pal.color(QPalette.ColorRole.Base), 6)
    assert odd != even


def test_a_model_without_painted_rows_is_painted_by_qt(qtbot):
    view = RowTable()
    qtbot.addWidget(view)
    model = QStandardItemModel(3, 2)
    for r in range(3):
        model.setItem(r, 0, QStandardItem(f"row {r}"))
    view.setModel(model)
    view.resize(300, 200)
    view.show()
    qtbot.waitExposed(view)
    img = view.viewport().grab().toImage()
    cell = _cell_pixels_of(view, img, 0, 0)
    assert cell and any(c != cell[0] for c in cell)  # Qt drew the text


def test_texts_are_cut_to_their_cell_with_an_ellipsis(qapp):
    mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    for font in (mono, QFont()):
        fit = TextFit(font)
        fm = QFontMetrics(font)
        for text in ('{"text": "' + "y" * 300 + '"}', "é" * 200 + " 日本語" * 20):
            for width in (40, 137, 380):
                cut = fit.fitted(text, width, Qt.TextElideMode.ElideRight)
                assert cut.endswith("\u2026") and fm.horizontalAdvance(cut) <= width
                assert text.startswith(cut[:-1])
                # as much as fits: Qt's own cut is no longer
                qt = fm.elidedText(text, Qt.TextElideMode.ElideRight, width)
                assert len(cut) >= len(qt)
        assert fit.fitted("short", 380, Qt.TextElideMode.ElideRight) == "short"
