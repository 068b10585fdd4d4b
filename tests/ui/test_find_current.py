"""Find's current hit stands out, and Esc closes the bar after a jump from the
search-everywhere dialog (on the real server)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from app.chat_search import find_everywhere
from tests.ui.conftest import connect
from ui.models.chat import CurrentHitRole


def test_after_a_jump_from_search_everywhere_esc_closes_the_bar(run, server, make_window,
                                                                qtbot):
    a = make_window(server.url, "alice")
    connect(run, a)
    run(a.conversations.join_room("general"))
    run(a.conversations.join_room("random"))
    a.conversations.send_chat("room", "general", "first kiwi")
    a.conversations.send_chat("room", "general", "something else")
    a.conversations.send_chat("room", "general", "second kiwi")
    run.until(lambda: len(find_everywhere(a.session.store, "kiwi", me="alice")[0]) == 2)
    a.conversations.show_conversation("room", "random")

    dialog = a.chat_find.open_global()
    QTest.keyClicks(dialog.line, "kiwi")
    qtbot.waitUntil(lambda: dialog.results.topLevelItemCount() == 2)
    older = next(i for i in range(2) if dialog.hit_at(i).ts == min(
        dialog.hit_at(j).ts for j in range(2)))
    hit = dialog.hit_at(older)
    dialog.results.itemActivated.emit(dialog.results.topLevelItem(older), 0)
    assert (a.chat.kind, a.chat.target) == ("room", "general")
    bar = a.chat_find.bar
    model = a.conversations.conversation("room", "general")
    assert bar.isVisible() and model.current_hit == hit.key
    current = model.index(model.row_of(hit.key), 0)
    assert current.data(CurrentHitRole) is True
    a.activateWindow()
    qtbot.waitUntil(lambda: QApplication.focusWidget() is bar.line)
    QTest.keyClick(QApplication.focusWidget(), Qt.Key.Key_Escape)
    assert not bar.isVisible()
    assert model.current_hit == "" and model.highlight == ""

    # Esc in the message list (clicked after the jump) closes the bar as well
    bar.show()
    a.chat.view.setFocus()
    QTest.keyClick(a.chat.view, Qt.Key.Key_Escape)
    assert not bar.isVisible()
