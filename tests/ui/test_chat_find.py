"""Find in chat (Ctrl+F in a conversation, Ctrl+Shift+F across all), on the real server."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from app.chat_search import find_everywhere
from app.keys import room_key
from app.store import MessageStore, describe
from tests.ui.conftest import connect
from ui.models.chat import IdRole

#: messages of the big room; the oldest hit is 5,100 messages back from the newest
ROOM_SIZE = 5200
NEEDLES = (100, 3000, 5150)


def fill_room(folder: Path, room: str = "general", n: int = ROOM_SIZE) -> None:
    """A room of ``n`` messages in a window's store before it opens its session (one
    bulk insert: the way an old, busy room's history lies on disk)."""
    store = MessageStore.open(folder)
    start = time.time() - n * 30
    rows = []
    for i in range(n):
        text = f"zebra crossing number {i}" if i in NEEDLES else f"message number {i}"
        payload = {"room": room, "user": "bob" if i % 2 else "carol", "text": text,
                   "id": f"m{i}", "offset": i + 1}
        rows.append(describe("/chat", "message", [payload], "in", room_key("/chat", room),
                             ts=start + i * 30))
    assert store.bulk_insert(rows) == n
    store.remember_room("/chat", room)
    store.close()


def visible(window, key: str) -> bool:
    """The message is the view's current row and lies inside the viewport."""
    view = window.chat.view
    index = view.currentIndex()
    if not index.isValid() or index.data(IdRole) != key:
        return False
    return view.viewport().rect().intersects(view.visualRect(index))


def big_room(run, server, make_window):
    w = make_window(server.url, "alice")
    fill_room(w.session_dir())
    connect(run, w)
    w.conversations.show_conversation("room", "general")
    model = w.conversations.conversation("room", "general")
    model.flush()
    assert not model.has("m3000")  # only the newest few hundred are loaded
    return w, model


def test_ctrl_f_finds_a_message_5000_back_and_scrolls_to_it(run, server, make_window, qtbot):
    w, model = big_room(run, server, make_window)
    bar = w.chat_find.bar
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    QTest.keyClick(w.chat.editor, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert bar.isVisible() and bar.line.hasFocus()
    QTest.keyClicks(bar.line, "zebra")
    qtbot.waitUntil(lambda: bar.count.text() == "1 of 3")
    qtbot.waitUntil(lambda: visible(w, "m5150"))  # the newest hit first
    assert model.highlight == "zebra"

    QTest.keyClick(bar.line, Qt.Key.Key_Return)  # next: older
    assert bar.count.text() == "2 of 3"
    qtbot.waitUntil(lambda: visible(w, "m3000"))
    QTest.keyClick(bar.line, Qt.Key.Key_F3)
    assert bar.count.text() == "3 of 3"
    qtbot.waitUntil(lambda: visible(w, "m100"))
    # everything from the hit to the newest is there, in order, once: no gap
    assert [i.key for i in model.messages()] == [f"m{i}" for i in range(100, ROOM_SIZE)]

    QTest.keyClick(bar.line, Qt.Key.Key_Return)  # past the oldest: the newest again
    assert bar.count.text() == "1 of 3"
    qtbot.waitUntil(lambda: visible(w, "m5150"))
    QTest.keyClick(bar.line, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert bar.count.text() == "3 of 3"  # previous from the newest wraps to the oldest
    qtbot.waitUntil(lambda: visible(w, "m100"))
    QTest.keyClick(bar.line, Qt.Key.Key_F3, Qt.KeyboardModifier.ShiftModifier)
    assert bar.count.text() == "2 of 3"
    qtbot.waitUntil(lambda: visible(w, "m3000"))

    QTest.keyClick(bar.line, Qt.Key.Key_Escape)
    assert not bar.isVisible()
    assert model.highlight == ""
    assert w.chat.editor.hasFocus()


def test_terms_with_fts_syntax_never_fail(run, server, make_window, qtbot):
    w, _model = big_room(run, server, make_window)
    bar = w.chat_find.bar
    w.chat_find.open_bar()
    for term in ('"', "*", "-", "NEAR(", "AND", "zebra\"", "text:zebra", "'", "(zebra)",
                 "-zebra", "zeb*", "^zebra", "{text}: zebra", "\\", "zebra OR"):
        bar.line.setText(term)
        bar.emit_term()
        QTest.keyClick(bar.line, Qt.Key.Key_Return)
    # punctuation alone finds nothing, and says so
    bar.line.setText('*"-')
    bar.emit_term()
    assert bar.count.text() == "No match"
    # quotes and operators around a word are plain characters: the word is found
    bar.line.setText('"zebra*')
    bar.emit_term()
    assert bar.count.text() == "1 of 3"
    # the room's name and the authors are in the stored JSON, not in what people read
    bar.line.setText("general")
    bar.emit_term()
    assert bar.count.text() == "No match"


def test_ctrl_f_outside_the_chat_is_the_packet_filter(run, server, make_window, qtbot):
    w = make_window(server.url, "alice")
    w.activateWindow()
    qtbot.waitUntil(w.isActiveWindow)
    w.tabs.setCurrentWidget(w.events)
    QTest.keyClick(w.events, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(w.events.search.hasFocus)
    assert not w.chat_find.bar.isVisible()


def test_search_everywhere_lists_rooms_and_a_dm_and_jumps(run, server, make_window, qtbot):
    a = make_window(server.url, "alice")
    b = make_window(server.url, "bob")
    connect(run, a)
    connect(run, b)
    for room in ("general", "random"):
        run(a.conversations.join_room(room))
        run(b.conversations.join_room(room))
    b.session.chat.send("general", "a kiwi in general")
    b.session.chat.send("random", "kiwi fruit in random")
    b.session.chat.send("random", "nothing to see here")
    b.session.chat.send_dm("alice", "a kiwi just for you")
    a.conversations.send_chat("room", "general", "my own kiwi")
    store = a.session.store
    run.until(lambda: len(find_everywhere(store, "kiwi", me="alice")[0]) == 4)

    a.activateWindow()
    qtbot.waitUntil(a.isActiveWindow)
    QTest.keyClick(a.chat.editor, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier
                   | Qt.KeyboardModifier.ShiftModifier)
    dialog = a.chat_find.dialog
    assert dialog is not None and dialog.isVisible()
    QTest.keyClicks(dialog.line, "kiwi")
    qtbot.waitUntil(lambda: dialog.results.topLevelItemCount() == 4)
    hits = [dialog.hit_at(i) for i in range(4)]
    assert {(h.kind, h.target) for h in hits if h} == {("room", "general"),
                                                       ("room", "random"), ("dm", "bob")}
    assert [h.ts for h in hits if h] == sorted((h.ts for h in hits if h), reverse=True)
    assert dialog.summary.text() == "4 matches"
    where = [dialog.results.topLevelItem(i).text(0) for i in range(4)]
    assert "@bob" in where and "#random" in where

    dm_row = next(i for i, h in enumerate(hits) if h and h.kind == "dm")
    item = dialog.results.topLevelItem(dm_row)
    dialog.results.itemActivated.emit(item, 0)
    assert (a.chat.kind, a.chat.target) == ("dm", "bob")
    qtbot.waitUntil(lambda: visible(a, hits[dm_row].key))
    assert a.chat_find.bar.isVisible() and a.chat_find.bar.term == "kiwi"
    assert not dialog.isVisible()  # it steps aside, keeping its list
    assert a.chat_find.open_global() is dialog and dialog.results.topLevelItemCount() == 4

    room_row = next(i for i, h in enumerate(hits) if h and h.target == "random")
    dialog.results.itemActivated.emit(dialog.results.topLevelItem(room_row), 0)
    assert (a.chat.kind, a.chat.target) == ("room", "random")
    qtbot.waitUntil(lambda: visible(a, hits[room_row].key))


def test_a_hit_too_far_back_is_said_not_half_loaded(run, server, make_window, qtbot,
                                                    monkeypatch):
    import ui.chat_find

    monkeypatch.setattr(ui.chat_find, "MAX_LOAD", 2500)
    w, model = big_room(run, server, make_window)
    bar = w.chat_find.bar
    w.chat_find.open_bar()
    bar.line.setText("zebra")
    bar.emit_term()
    bar.next_requested.emit()
    qtbot.waitUntil(lambda: visible(w, "m3000"))  # 1,900 more rows: within the limit
    rows = model.rowCount()
    bar.next_requested.emit()  # 2,900 more: over the limit
    assert bar.count.text().startswith("3 of 3 · too far back to show here")
    assert not model.has("m100") and model.rowCount() == rows  # no gap was made


def test_the_bar_follows_the_conversation_shown(run, server, make_window, qtbot):
    w, model = big_room(run, server, make_window)
    bar = w.chat_find.bar
    w.chat_find.open_bar()
    bar.line.setText("zebra")
    bar.emit_term()
    assert bar.count.text() == "1 of 3"
    w.conversations.open_dm("bob")  # nothing said with bob yet
    qtbot.waitUntil(lambda: bar.count.text() == "No match")
    assert model.highlight == ""  # the room shown before keeps no highlight
    w.sidebar.conversation_selected.emit("room", "general")
    qtbot.waitUntil(lambda: bar.count.text() == "1 of 3")
    qtbot.waitUntil(lambda: visible(w, "m5150"))
