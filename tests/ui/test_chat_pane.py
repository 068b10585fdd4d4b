"""The chat pane alone (no server): links, the composer's limit, reply/edit/delete, and
the pane's contract (banner, member list, find bar, scrolling to a message)."""

from __future__ import annotations

import time

import pytest
from PySide6.QtCore import QPoint, Qt, QUrl
from PySide6.QtGui import QFontMetrics, QImage, QPainter
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QLabel, QStyleOptionViewItem

from app.keys import MAX_TEXT_CHARS
from ui.models.chat import DELETED_TEXT, ChatMessageModel
from ui.widgets.chat import ChatPane
from ui.widgets.chat_composer import EDIT_BAR_TEXT
from ui.widgets.chat_delegate import AVATAR, GAP, LEFT, message_text


@pytest.fixture
def pane(qtbot):
    p = ChatPane()
    p.resize(1000, 600)
    qtbot.addWidget(p)
    p.show()
    qtbot.waitExposed(p)
    return p


def room(pane: ChatPane, *messages: dict) -> ChatMessageModel:
    model = ChatMessageModel(order="offset", me="bob")
    now = time.time()
    for n, m in enumerate(messages, 1):
        model.add_message(**{"key": f"k{n}", "user": "alice", "ts": now, "offset": n, **m})
    model.flush()
    pane.show_conversation("room", "general", model)
    return model


def menu_texts(pane: ChatPane, model: ChatMessageModel, key: str) -> list[str]:
    menu = pane.view.message_menu(model.index(model.row_of(key), 0))
    assert menu is not None
    return [a.text() for a in menu.actions()]


def test_a_click_on_a_link_opens_it_and_nothing_else_does(pane, qtbot):
    model = room(pane, {"text": "see https://example.com/a?b=1 now"})
    opened: list[QUrl] = []
    pane.view.open_url = opened.append
    index = model.index(model.row_of("k1"), 0)
    qtbot.waitUntil(lambda: pane.view.visualRect(index).height() > 0)
    rect = pane.view.visualRect(index)
    fm = QFontMetrics(pane.view.font())
    bold = pane.view.font()
    bold.setBold(True)
    x0 = rect.left() + LEFT + AVATAR + GAP
    y = rect.top() + 7 + QFontMetrics(bold).height() + 3 + fm.height() // 2
    on_link = QPoint(x0 + fm.horizontalAdvance("see https://exam"), y)
    on_text = QPoint(x0 + fm.horizontalAdvance("s"), y)
    after = QPoint(x0 + fm.horizontalAdvance("see https://example.com/a?b=1 no"), y)

    assert pane.view.link_at(on_link) == "https://example.com/a?b=1"
    assert pane.view.link_at(on_text) is None and pane.view.link_at(after) is None
    QTest.mouseClick(pane.view.viewport(), Qt.MouseButton.LeftButton, pos=on_text)
    assert opened == []
    QTest.mouseClick(pane.view.viewport(), Qt.MouseButton.LeftButton, pos=on_link)
    assert opened == [QUrl("https://example.com/a?b=1")]
    assert "Copy link" in menu_texts(pane, model, "k1")


def test_counter_warns_near_the_limit_and_send_is_refused_past_it(pane, qtbot):
    room(pane)
    sent: list[tuple] = []
    pane.send_requested.connect(lambda *a: sent.append(a))
    composer = pane.composer
    pane.editor.setPlainText("x" * 3000)
    assert composer.counter.isHidden()
    pane.editor.setPlainText("x" * 3612)
    assert composer.counter.isVisible() and composer.counter.text() == "3,612 / 4,000"
    assert pane.send_button.isEnabled()
    pane.editor.setPlainText("x" * (MAX_TEXT_CHARS + 1))
    assert composer.counter.text() == "4,001 / 4,000"
    assert not pane.send_button.isEnabled()
    assert "limit is 4,000" in pane.send_button.toolTip()
    QTest.keyClick(pane.editor, Qt.Key.Key_Return)       # Enter does not send either
    pane.submit()
    assert sent == [] and len(pane.editor.toPlainText()) == MAX_TEXT_CHARS + 1
    pane.editor.setPlainText("x" * MAX_TEXT_CHARS)       # exactly the limit is fine
    assert pane.send_button.isEnabled()
    QTest.keyClick(pane.editor, Qt.Key.Key_Return)
    assert sent == [("room", "general", "x" * MAX_TEXT_CHARS, "")]


def test_reply_bar_sends_a_reply_and_esc_cancels(pane):
    model = room(pane, {"text": "lunch at noon?\nor later"})
    sent: list[tuple] = []
    pane.send_requested.connect(lambda *a: sent.append(a))
    assert "Reply" in menu_texts(pane, model, "k1")
    pane.view.reply_requested.emit("k1")
    assert pane.composer.bar.isVisible()
    assert pane.composer.bar.label.text() == "Replying to alice: lunch at noon?"
    QTest.keyClick(pane.editor, Qt.Key.Key_Escape)
    assert not pane.composer.bar.isVisible()
    pane.view.reply_requested.emit("k1")
    pane.editor.setPlainText("noon works")
    QTest.keyClick(pane.editor, Qt.Key.Key_Return)
    assert sent == [("room", "general", "noon works", "k1")]
    assert not pane.composer.bar.isVisible()
    pane.editor.setPlainText("plain again")
    pane.submit()
    assert sent[-1] == ("room", "general", "plain again", "")


def test_edit_and_delete_only_for_own_acked_messages(pane):
    model = room(pane, {"text": "theirs"},
                 {"user": "bob", "text": "mine", "own": True, "state": "acked"},
                 {"user": "bob", "text": "queued", "own": True, "state": "queued",
                  "offset": None})
    assert "Edit" not in menu_texts(pane, model, "k1")
    assert "Delete…" not in menu_texts(pane, model, "k1")
    assert {"Reply", "Edit", "Delete…"} <= set(menu_texts(pane, model, "k2"))
    assert "Edit" not in menu_texts(pane, model, "k3")   # not acked: no id on the server

    edits: list[tuple] = []
    deletes: list[tuple] = []
    typing: list[tuple] = []
    pane.edit_requested.connect(lambda *a: edits.append(a))
    pane.delete_requested.connect(lambda *a: deletes.append(a))
    pane.typing_activity.connect(lambda *a: typing.append(a))
    # Up in an empty composer edits the last own acked message
    QTest.keyClick(pane.editor, Qt.Key.Key_Up)
    assert pane.composer.mode == "edit" and pane.editor.toPlainText() == "mine"
    assert pane.composer.bar.label.text() == EDIT_BAR_TEXT
    pane.editor.setPlainText("mine, fixed")
    assert typing == []          # an edit is no new message: the room is not told
    QTest.keyClick(pane.editor, Qt.Key.Key_Return)
    assert edits == [("room", "general", "k2", "mine, fixed")]
    assert pane.editor.toPlainText() == "" and pane.composer.mode == "send"
    # Esc leaves an edit without sending anything
    pane.view.edit_requested.emit("k2")
    QTest.keyClick(pane.editor, Qt.Key.Key_Escape)
    assert pane.editor.toPlainText() == "" and len(edits) == 1
    QTest.keyClicks(pane.editor, "new")  # a new message is typing, as before
    assert typing == [("room", "general")]
    pane.editor.clear()
    # delete asks first
    answers = [False, True]
    pane.view.confirm_delete = lambda: answers.pop(0)
    for _ in range(2):
        menu = pane.view.message_menu(model.index(model.row_of("k2"), 0))
        next(a for a in menu.actions() if a.text() == "Delete…").trigger()
    assert deletes == [("room", "general", "k2")]
    # a DM has no reply/edit/delete (the protocol has them for rooms only)
    pane.show_conversation("dm", "alice", model)
    assert not {"Reply", "Edit", "Delete…"} & set(menu_texts(pane, model, "k2"))


def test_edited_deleted_and_reply_rows_paint_as_plain_text(pane):
    model = room(pane, {"text": "<b>original</b> http://x.example"},
                 {"user": "carol", "text": "answer @bob", "reply_to": "k1"})
    model.apply_edit("k1", "<b>changed</b>")
    for key in ("k1", "k2"):
        index = model.index(model.row_of(key), 0)
        image = QImage(1000, 120, QImage.Format.Format_ARGB32)
        painter = QPainter(image)
        option = QStyleOptionViewItem()
        pane.view.initViewItemOption(option)
        option.rect = pane.view.visualRect(index)
        pane.view.itemDelegate().paint(painter, option, index)
        painter.end()
    assert message_text(model.index(model.row_of("k1"), 0)) == "<b>changed</b> (edited)"
    model.apply_delete("k1")
    index = model.index(model.row_of("k1"), 0)
    assert message_text(index) == DELETED_TEXT
    assert "Copy text" not in menu_texts(pane, model, "k1")
    assert "Reply" not in menu_texts(pane, model, "k1")


def test_banner_members_find_bar_and_scroll_to_key(pane, qtbot):
    model = room(pane, *({"text": f"message {n}"} for n in range(400)))
    assert pane.banner.isHidden()
    pane.set_banner("You're offline — messages will be sent when the server is back")
    assert pane.banner.isVisible() and pane.banner.text().startswith("You're offline")
    pane.set_banner(None)
    assert pane.banner.isHidden()

    pane.set_members(["alice", "bob"], [], "bob")
    pane.set_members_offline(True)
    assert pane.members_offline
    pane.set_members_offline(False)
    assert not pane.members_offline

    bar = QLabel("find bar")
    pane.set_find_bar(bar)
    assert bar.isHidden()
    bar.show()
    assert bar.isVisible()
    assert bar.geometry().bottom() <= pane.view.geometry().top()

    qtbot.waitUntil(lambda: pane.view.verticalScrollBar().maximum() > 0)
    assert pane.scroll_to_key("k3")
    index = model.index(model.row_of("k3"), 0)
    assert pane.view.currentIndex() == index
    qtbot.waitUntil(lambda: pane.view.viewport().rect().intersects(pane.view.visualRect(index)))
    assert pane.scroll_to_key("missing") is False


def test_member_list_collapses_by_toggle_and_when_narrow(pane, qtbot):
    room(pane)
    assert pane.members_visible
    pane.members_button.click()
    assert not pane.members_visible
    pane.set_members_visible(True)
    assert pane.members_visible and pane.members_button.isChecked()
    pane.resize(600, 600)
    qtbot.waitUntil(lambda: not pane.members_visible)
    assert not pane.members_button.isChecked()
    pane.resize(1000, 600)
    qtbot.waitUntil(lambda: pane.members_visible)


def test_a_long_subtitle_is_cut_with_an_ellipsis_not_clipped(pane, qtbot):
    pane.resize(420, 400)
    pane.show()
    qtbot.waitExposed(pane)
    pane.subtitle.setText("presence unknown while offline, and a few more words to cut")
    assert pane.subtitle.is_elided()
    qtbot.waitUntil(lambda: pane.subtitle.toolTip() == pane.subtitle.text())  # all of it
    assert pane.subtitle.geometry().right() < pane.leave_button.geometry().left()


def test_the_composers_placeholder_is_one_line_at_any_width(pane, qtbot):
    editor = pane.editor
    pane.resize(1000, 400)
    pane.show()
    qtbot.waitExposed(pane)
    qtbot.waitUntil(lambda: "Shift+Enter" in editor.placeholderText())
    for width in (520, 360, 200):
        pane.resize(width, 400)
        room = editor.viewport().width() - 2 * int(editor.document().documentMargin())
        qtbot.waitUntil(lambda room=room: editor.fontMetrics().horizontalAdvance(
            editor.placeholderText()) <= room or editor.placeholderText() == "Write a message…")
    assert "Shift+Enter" not in editor.placeholderText()       # the short one, narrow


def test_at_and_the_start_of_a_name_completes_it_with_tab_or_enter(pane, qtbot):
    """As in Slack and Element (a reviewer's Tab after "@bo" moved the focus to Send)."""
    model = room(pane, {"text": "hello"})
    pane.show_conversation("room", "general", model)
    pane.set_members(["alice", "bob", "Bonnie", "carol"], [], "carol")
    editor = pane.editor
    completer = editor.mentions.completer
    popup = completer.popup()
    sent: list[bool] = []
    pane.composer.submitted.connect(lambda: sent.append(True))
    editor.setFocus()
    qtbot.waitUntil(editor.hasFocus)
    QTest.keyClicks(editor, "hi @bo")
    qtbot.waitUntil(popup.isVisible)
    assert [completer.completionModel().index(r, 0).data()
            for r in range(completer.completionCount())] == ["bob", "Bonnie"]
    QTest.keyClick(popup, Qt.Key.Key_Down)          # the keys reach the list first
    QTest.keyClick(popup, Qt.Key.Key_Tab)
    assert editor.toPlainText() == "hi @Bonnie " and not popup.isVisible()
    QTest.keyClicks(editor, "and @AL")
    qtbot.waitUntil(popup.isVisible)
    QTest.keyClick(popup, Qt.Key.Key_Return)        # chooses; sends nothing
    assert editor.toPlainText() == "hi @Bonnie and @alice " and sent == []
    QTest.keyClicks(editor, "@ca")                  # yourself: not offered
    assert not popup.isVisible()
    QTest.keyClick(editor, Qt.Key.Key_Return)       # no list open: Enter sends
    assert sent == [True]
