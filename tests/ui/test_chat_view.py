"""The chat view as a user sees it: rows that move never overlap, the composer past the
limit, reply/edit/delete details, an empty room's header."""

from __future__ import annotations

import itertools
import time

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QToolTip

from app.keys import MAX_TEXT_CHARS
from ui.models.chat import ChatMessageModel
from ui.widgets.chat import ChatPane


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
