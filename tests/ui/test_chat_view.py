"""The chat view as a user sees it: rows that move never overlap, the composer past the
limit, reply/edit/delete details, an empty room's header."""

from __future__ import annotations

import itertools
import time

import pytest
from PySide6.QtCore import QEvent, QPoint, QRect, Qt
from PySide6.QtGui import (
    QColor,
    QFontMetrics,
    QGuiApplication,
    QHelpEvent,
    QImage,
    QPainter,
    QPalette,
)
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QStyleOptionViewItem, QToolTip

from app.keys import MAX_TEXT_CHARS
from ui import theme
from ui.models.chat import ChatMessageModel
from ui.widgets.chat import ChatPane, delete_box
from ui.widgets.chat_delegate import (
    AVATAR,
    CURRENT_HIT,
    GAP,
    HIGHLIGHT,
    LEFT,
    RECOVERED_NOTE,
    message_formats,
)


@pytest.fixture
def pane(qtbot):
    p = ChatPane()
    p.resize(1000, 600)
    qtbot.addWidget(p)
    p.show()
    qtbot.waitExposed(p)
    return p



def test_own_offline_messages_moved_into_place_by_their_acks_do_not_overlap(pane, qtbot):
    """Bob writes offline, alice and carol post meanwhile, bob's acks move his messages
    after theirs: his first one loses its grouping (gets a header), and every row gets
    the height it needs, with no switching of rooms."""
    model = ChatMessageModel(order="offset", me="bob")
    t0 = time.time() - 600
    model.add_message(key="a1", user="alice", text="hello team", ts=t0, offset=1)
    model.add_message(key="b1", user="bob", text="hi alice", ts=t0 + 1, offset=2, own=True,
                      state="acked")
    model.flush()
    pane.show_conversation("room", "general", model)
    for n in (1, 2, 3):   # offline: no offsets yet, they wait at the end grouped under b1
        model.add_message(key=f"o{n}", user="bob", text=f"bob offline {n}", ts=t0 + 180 + n,
                          own=True, state="queued")
    model.flush()
    view = pane.view
    qtbot.waitUntil(lambda: view.visualRect(model.index(model.rowCount() - 1, 0)).height() > 0)
    # the others' messages come in with their offsets, before bob's pending ones
    model.add_message(key="a2", user="alice", text="alice while bob away", ts=t0 + 185,
                      offset=3)
    model.add_message(key="c1", user="carol", text="carol while bob away", ts=t0 + 186,
                      offset=4)
    model.flush()
    for n in (1, 2, 3):   # the acks give bob's messages their offsets and server times
        model.add_message(key=f"o{n}", user="bob", text=f"bob offline {n}", own=True,
                          state="acked", offset=4 + n, ts=t0 + 187 + n)

    def laid_out() -> bool:
        rects = [view.visualRect(model.index(r, 0)) for r in range(model.rowCount())]
        hints = [view.sizeHintForIndex(model.index(r, 0)).height()
                 for r in range(model.rowCount())]
        return all(a.bottom() < b.top() for a, b in itertools.pairwise(rects)) \
            and [r.height() for r in rects] == hints

    qtbot.waitUntil(laid_out)
    o1 = model.index(model.row_of("o1"), 0)
    o2 = model.index(model.row_of("o2"), 0)
    assert model.item("o1").grouped is False
    assert view.visualRect(o1).bottom() < view.visualRect(o2).top()
    # the header row is as tall as any other first message of a group
    a2 = model.index(model.row_of("a2"), 0)
    assert view.visualRect(o1).height() >= view.visualRect(a2).height()
    # and the grouped ones below it are as tall as their text, with no gap left over
    o3 = model.index(model.row_of("o3"), 0)
    assert model.item("o2").grouped and model.item("o3").grouped
    assert view.visualRect(o2).height() == view.visualRect(o3).height()


def test_a_pasted_text_over_the_limit_grows_the_box_and_enter_says_why_not(pane, qtbot):
    pane.show_conversation("room", "general", ChatMessageModel(order="offset", me="bob"))
    editor = pane.editor
    one_line = editor.height()
    sent: list[tuple] = []
    pane.send_requested.connect(lambda *a: sent.append(a))
    QGuiApplication.clipboard().setText(("lorem ipsum " * 400)[:MAX_TEXT_CHARS + 100])
    editor.setFocus()
    editor.paste()      # laid out after contentsChanged: the box must still grow
    lines = (editor.height() - 8 - 2 * editor.document().documentMargin()) \
        / editor.fontMetrics().lineSpacing()
    assert editor.height() > one_line and round(lines) == 6
    assert editor.verticalScrollBarPolicy() == Qt.ScrollBarPolicy.ScrollBarAsNeeded
    assert pane.composer.counter.text() == "4,100 / 4,000"
    assert pane.composer.over_label.isVisible()
    assert pane.composer.over_label.text() == "100 characters over the limit"
    QTest.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(QToolTip.isVisible)
    assert "100 characters over the limit" in QToolTip.text()
    assert sent == []
    editor.setPlainText("short")
    assert pane.composer.over_label.isHidden()
    assert editor.height() == one_line


def room(pane: ChatPane, *messages: dict) -> ChatMessageModel:
    model = ChatMessageModel(order="offset", me="bob")
    now = time.time()
    for n, m in enumerate(messages, 1):
        model.add_message(**{"key": f"k{n}", "user": "alice", "ts": now, "offset": n, **m})
    model.flush()
    pane.show_conversation("room", "general", model)
    return model


def paint_row(pane: ChatPane, model: ChatMessageModel, key: str,
              group: QPalette.ColorGroup = QPalette.ColorGroup.Active) -> QImage:
    view = pane.view
    index = model.index(model.row_of(key), 0)
    option = QStyleOptionViewItem()
    view.initViewItemOption(option)
    rect = view.visualRect(index)
    option.rect = QRect(0, 0, rect.width(), rect.height())
    option.palette.setCurrentColorGroup(group)
    image = QImage(rect.width(), rect.height(), QImage.Format.Format_ARGB32)
    image.fill(option.palette.color(QPalette.ColorRole.Base))
    painter = QPainter(image)
    view.delegate.paint(painter, option, index)
    painter.end()
    return image


def tip_at(pane: ChatPane, pos: QPoint) -> str:
    """The tooltip the message list shows at ``pos`` (viewport coordinates)."""
    QToolTip.hideText()
    viewport = pane.view.viewport()
    event = QHelpEvent(QEvent.Type.ToolTip, pos, viewport.mapToGlobal(pos))
    QApplication.sendEvent(viewport, event)
    return QToolTip.text() if QToolTip.isVisible() else ""


def test_recovered_is_no_pill_in_the_chat_but_said_by_the_time_tooltip(pane, qtbot):
    model = room(pane, {"text": "missed while away", "recovered": True},
                 {"user": "carol", "text": "live one"})
    view = pane.view
    index = model.index(model.row_of("k1"), 0)
    qtbot.waitUntil(lambda: view.visualRect(index).height() > 0)
    image = paint_row(pane, model, "k1")
    orange = theme.state_color("reconnecting")
    assert not any(QColor(image.pixel(x, y)) == orange
                   for x in range(image.width()) for y in range(image.height()))
    option = QStyleOptionViewItem()
    view.initViewItemOption(option)
    option.rect = view.visualRect(index)
    stamp = view.delegate._time_rect(option, index).center().toPoint()
    assert RECOVERED_NOTE in tip_at(pane, stamp)
    carol = model.index(model.row_of("k2"), 0)
    option.rect = view.visualRect(carol)
    tip = tip_at(pane, view.delegate._time_rect(option, carol).center().toPoint())
    assert tip and RECOVERED_NOTE not in tip


def test_a_mention_of_you_stands_out_focused_or_not_and_a_link_tip_is_one_line(pane, qtbot):
    model = room(pane, {"text": "@bob can you check https://example.com please"},
                 {"text": "nothing for bob"})
    view = pane.view
    index = model.index(model.row_of("k1"), 0)
    qtbot.waitUntil(lambda: view.visualRect(index).height() > 0)
    active = paint_row(pane, model, "k1", QPalette.ColorGroup.Active)
    inactive = paint_row(pane, model, "k1", QPalette.ColorGroup.Inactive)
    base = QColor(view.palette().color(QPalette.ColorRole.Base))
    for image in (active, inactive):
        bar, background = QColor(image.pixel(1, 5)), QColor(image.pixel(image.width() - 5, 5))
        accent = view.palette().color(QPalette.ColorGroup.Active, QPalette.ColorRole.Highlight)
        assert bar == accent
        distance = sum(abs(a - b) for a, b in zip(background.getRgb()[:3], base.getRgb()[:3],
                                                  strict=True))
        assert distance > 60, background.name()
    assert QColor(active.pixel(image.width() - 5, 5)) == QColor(
        inactive.pixel(image.width() - 5, 5))
    # the URL's tooltip keeps it on one line
    rect = view.visualRect(index)
    fm = QFontMetrics(view.font())
    bold = view.font()
    bold.setBold(True)
    x0 = rect.left() + LEFT + AVATAR + GAP
    y = rect.top() + 7 + QFontMetrics(bold).height() + 3 + fm.height() // 2
    on_link = QPoint(x0 + fm.horizontalAdvance("@bob can you check https://exa"), y)
    assert "https://example.com" in tip_at(pane, on_link)
    label = next(w for w in QApplication.topLevelWidgets()
                 if w.metaObject().className() == "QTipLabel")
    assert label.sizeHint().height() < 2 * label.fontMetrics().lineSpacing()


def test_reply_and_edit_leave_no_selection_edit_scrolls_and_delete_says_delete(pane, qtbot):
    model = room(pane, {"user": "bob", "own": True, "state": "acked", "text": "mine"},
                 *({"text": f"message {n}"} for n in range(300)))
    view = pane.view
    qtbot.waitUntil(lambda: view.verticalScrollBar().maximum() > 0)
    first = model.index(model.row_of("k1"), 0)
    last = model.index(model.row_of("k301"), 0)
    # the menu selects the row it was opened on; a reply sent or cancelled clears it
    for finish in ("send", "cancel"):
        view.setCurrentIndex(last)
        assert view.selectionModel().isSelected(last)
        view.reply_requested.emit("k301")
        if finish == "send":
            pane.editor.setPlainText("sure")
            QTest.keyClick(pane.editor, Qt.Key.Key_Return)
        else:
            QTest.keyClick(pane.editor, Qt.Key.Key_Escape)
        assert not view.selectionModel().hasSelection(), finish
    # the quote of a reply is in the message font, not a smaller one
    model.add_message(key="r1", user="carol", text="answer", offset=400, reply_to="k1")
    model.flush()
    option = QStyleOptionViewItem()
    view.initViewItemOption(option)
    assert view.delegate._quote_height(option) >= QFontMetrics(view.font()).height()
    # Up edits the last own message, far up: it is scrolled into view
    qtbot.waitUntil(lambda: not view.viewport().rect().intersects(view.visualRect(first)))
    pane.editor.setFocus()
    QTest.keyClick(pane.editor, Qt.Key.Key_Up)
    assert pane.composer.mode == "edit" and pane.composer.ref == "k1"
    qtbot.waitUntil(lambda: view.viewport().rect().contains(view.visualRect(first)))
    QTest.keyClick(pane.editor, Qt.Key.Key_Escape)
    # deleting asks "Delete" or "Cancel", Cancel by default
    box, delete = delete_box(pane)
    assert sorted(b.text().replace("&", "") for b in box.buttons()) == ["Cancel", "Delete"]
    assert delete.text() == "Delete" and box.defaultButton() is not delete
    box.deleteLater()


def test_find_current_hit_stands_out_from_the_other_hits(pane, qtbot):
    model = room(pane, {"text": "a kiwi here"}, {"text": "another kiwi there"},
                 {"text": "no fruit"})
    view = pane.view
    qtbot.waitUntil(lambda: view.visualRect(model.index(model.rowCount() - 1, 0)).height() > 0)
    model.set_highlight("kiwi")
    model.set_current_hit("k2")

    def hit_colour(key: str) -> QColor:
        index = model.index(model.row_of(key), 0)
        formats = message_formats(index, view.palette())
        return next(f.format.background().color() for f in formats
                    if f.format.background().style() != Qt.BrushStyle.NoBrush)

    assert hit_colour("k2") == CURRENT_HIT and hit_colour("k1") == HIGHLIGHT
    assert CURRENT_HIT.alpha() > HIGHLIGHT.alpha()
    base = QColor(view.palette().color(QPalette.ColorRole.Base))
    current, other = paint_row(pane, model, "k2"), paint_row(pane, model, "k1")
    edge = current.width() - 5
    assert QColor(current.pixel(edge, 5)) != base       # its row is tinted
    assert QColor(other.pixel(edge, 5)) == base          # the others' rows are not
    assert QColor(current.pixel(1, 5)) == CURRENT_HIT.toRgb() or \
        QColor(current.pixel(1, 5)).red() > 200           # with a bar on its left
    model.set_current_hit("")
    assert QColor(paint_row(pane, model, "k2").pixel(edge, 5)) == base


def test_an_empty_room_says_it_is_the_start_of_the_room(pane, qtbot):
    model = room(pane)
    view = pane.view
    assert view.empty_text == "This is the start of #general"
    text = QColor(view.palette().color(QPalette.ColorRole.Text))

    def inked(image: QImage) -> int:
        return sum(1 for x in range(0, min(image.width(), 400))
                   for y in range(0, 70) if QColor(image.pixel(x, y)) == text)

    qtbot.waitUntil(lambda: inked(view.viewport().grab().toImage()) > 20)
    pane.show_conversation("dm", "carol", ChatMessageModel(order="ts", me="bob"))
    assert view.empty_text == "This is the start of your conversation with carol"
    pane.show_conversation("room", "general", model)
    model.add_message(key="m1", user="alice", text="first", offset=1)
    model.flush()
    assert model.rowCount() == 2
    pane.clear_conversation()
    assert view.empty_text == ""
    qtbot.waitUntil(lambda: inked(view.viewport().grab().toImage()) == 0)


def test_member_list_folds_at_800_px_and_the_toggle_choice_sticks(pane, qtbot):
    room(pane)
    assert pane.members_visible
    pane.resize(800, 600)               # an 800 px window's pane: folds by itself
    qtbot.waitUntil(lambda: not pane.members_visible)
    pane.resize(1000, 600)
    qtbot.waitUntil(lambda: pane.members_visible)
    pane.members_button.click()         # hidden on purpose while wide
    pane.resize(700, 600)
    pane.members_button.click()         # shown on purpose while narrow
    assert pane.members_visible
    pane.resize(650, 600)               # still narrow: the choice stays
    qtbot.waitUntil(lambda: pane.width() == 650)
    assert pane.members_visible
    pane.resize(1000, 600)              # wide again: still what was chosen last
    qtbot.waitUntil(lambda: pane.width() == 1000)
    assert pane.members_visible and pane.members_button.isChecked()
