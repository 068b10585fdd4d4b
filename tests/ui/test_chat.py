"""Chat between two windows on the real bundled server."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QImage, QPainter
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QStyleOptionViewItem

from tests.ui.conftest import connect


def texts(window, room: str = "general") -> list[str]:
    model = window.conversations.conversation("room", room)
    model.flush()
    return [i.text for i in model.messages()]


def own_states(window, room: str = "general") -> dict[str, str | None]:
    model = window.conversations.conversation("room", room)
    return {i.text: i.state for i in model.messages() if i.own}


def two_in_general(run, server, make_window):
    a = make_window(server.url, "alice")
    b = make_window(server.url, "bob")
    connect(run, a)
    connect(run, b)
    run(a.conversations.join_room("general"))
    run(b.conversations.join_room("general"))
    a.conversations.show_conversation("room", "general")
    b.conversations.show_conversation("room", "general")
    return a, b


def test_message_typed_in_a_appears_in_b(run, server, make_window):
    a, b = two_in_general(run, server, make_window)
    a.chat.editor.setPlainText("hello from alice")
    QTest.keyClick(a.chat.editor, Qt.Key.Key_Return)  # Enter sends
    assert a.chat.editor.toPlainText() == ""
    run.until(lambda: "hello from alice" in texts(b))
    run.until(lambda: own_states(a).get("hello from alice") == "acked")
    item = next(i for i in b.conversations.conversation("room", "general").messages()
                if i.text == "hello from alice")
    assert item.user == "alice" and not item.own
    # presence: both see each other as members
    run.until(lambda: set(a.chat.members.online()) >= {"alice", "bob"})


def test_shift_enter_makes_a_new_line(run, server, make_window):
    a = make_window(server.url, "alice")
    a.conversations.show_conversation("room", "general")
    a.chat.editor.setPlainText("line 1")
    a.chat.editor.moveCursor(a.chat.editor.textCursor().MoveOperation.End)
    QTest.keyClick(a.chat.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ShiftModifier)
    assert a.chat.editor.toPlainText() == "line 1\n"


def test_offline_messages_are_queued_then_delivered_once_in_order(run, server, make_window):
    a, b = two_in_general(run, server, make_window)
    a.on_disconnect_clicked()
    run.until(lambda: a._state == "offline")
    assert not a.bar.disconnect_action.isEnabled()
    sent = ["first while offline", "second while offline", "third while offline"]
    for text in sent:
        a.chat.editor.setPlainText(text)
        a.chat.submit()
    a.conversations.conversation("room", "general").flush()
    assert [own_states(a)[t] for t in sent] == ["queued"] * 3
    run.until(lambda: a.bar.depth_text == "Outbox 3")

    a.on_connect_clicked()
    run.until(lambda: [own_states(a).get(t) for t in sent] == ["acked"] * 3, 20)
    run.until(lambda: a.bar.depth_text == "Outbox 0")
    run.until(lambda: all(t in texts(b) for t in sent))
    got = [t for t in texts(b) if t in sent]
    assert got == sent  # once each, in order
    assert [t for t in texts(a) if t in sent] == sent  # no duplicates on the sender either


def test_markup_is_shown_as_literal_text(run, server, make_window):
    a, b = two_in_general(run, server, make_window)
    markup = '<b>x</b><img src="http://example.invalid/x.png">'
    a.conversations.send_chat("room", "general", markup)
    run.until(lambda: markup in texts(b))
    model = b.conversations.conversation("room", "general")
    row = next(r for r in range(model.rowCount()) if model.item_at(r).text == markup)
    index = model.index(row, 0)
    assert index.data(Qt.ItemDataRole.DisplayRole) == markup
    # painting goes through QTextLayout (plain text): it must not fetch or bold anything,
    # and must lay out the full literal string
    from ui.widgets.chat_delegate import _layout_text

    layout, _h = _layout_text(markup, b.chat.font(), 2000)
    assert layout.text() == markup
    assert layout.lineCount() == 1
    image = QImage(800, 80, QImage.Format.Format_ARGB32)
    painter = QPainter(image)
    view = b.chat.view
    option = QStyleOptionViewItem()
    view.initViewItemOption(option)
    option.rect = view.visualRect(index)
    view.itemDelegate().paint(painter, option, index)
    painter.end()


def test_typing_indicator_and_unread_count(run, server, make_window):
    a, b = two_in_general(run, server, make_window)
    run(a.conversations.join_room("random"))
    run(b.conversations.join_room("random"))
    b.conversations.show_conversation("room", "general")
    a.chat.editor.setPlainText("")  # typing in #general from alice
    a.conversations.show_conversation("room", "general")
    a.chat.editor.insertPlainText("h")
    run.until(lambda: "alice is typing" in b.chat.typing_label.text())
    a.conversations.send_chat("room", "random", "psst in random")
    run.until(lambda: b.sidebar_model.unread("room", "random") == 1)
    b.conversations.show_conversation("room", "random")
    assert b.sidebar_model.unread("room", "random") == 0
    # while another tab is in front the open room counts what comes; it is read as soon
    # as the Chat tab is back in front
    b.tabs.setCurrentWidget(b.events)
    a.conversations.send_chat("room", "random", "while you look at the packets")
    run.until(lambda: b.sidebar_model.unread("room", "random") == 1)
    b.tabs.setCurrentWidget(b.chat)
    assert b.sidebar_model.unread("room", "random") == 0


def test_direct_message(run, server, make_window):
    a, b = two_in_general(run, server, make_window)
    a.conversations.open_dm("bob")
    assert a.chat.kind == "dm" and a.chat.target == "bob"
    a.chat.editor.setPlainText("just for you")
    a.chat.submit()
    run.until(lambda: [i.text for i in b.conversations.conversation("dm", "alice").messages()] ==
              ["just for you"])
    run.until(lambda: b.sidebar_model.unread("dm", "alice") == 1)
    run.until(lambda: [i.state for i in a.conversations.conversation("dm", "bob").messages()]
              == ["acked"])


def test_notification_when_window_is_not_active(run, server, make_window, monkeypatch):
    from PySide6.QtWidgets import QSystemTrayIcon

    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: True))
    monkeypatch.setattr(QSystemTrayIcon, "showMessage",
                        lambda self, title, text, *a: shown.append((title, text)))
    a, b = two_in_general(run, server, make_window)
    monkeypatch.setattr(b, "isActiveWindow", lambda: False)
    a.conversations.send_chat("room", "general", "<i>ping</i>")
    run.until(lambda: bool(shown))
    assert shown[0] == ("alice in #general", "<i>ping</i>")


def test_no_tray_no_notification(monkeypatch, qtbot):
    from PySide6.QtWidgets import QSystemTrayIcon, QWidget

    from ui.conversations import Notifier

    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: False))
    w = QWidget()
    qtbot.addWidget(w)
    assert Notifier(w).notify("t", "x") is False


def test_failed_message_can_be_retried(run, server, make_window):
    a = make_window(server.url, "alice")
    connect(run, a)
    run(a.conversations.join_room("general"))
    a.conversations.show_conversation("room", "general")
    too_long = "x" * 4001  # the server refuses (over 4000 characters)
    a.conversations.send_chat("room", "general", too_long)
    model = a.conversations.conversation("room", "general")
    run.until(lambda: model.flush() or any(i.state == "failed" for i in model.messages()))
    failed = next(i for i in model.messages() if i.state == "failed")
    assert failed.error
    a.chat.view.retry_requested.emit(failed.key)
    run.until(lambda: model.item(failed.key).state in ("queued", "sent", "failed"))


def test_outbox_survives_closing_the_window(run, server, make_window):
    a, b = two_in_general(run, server, make_window)
    a.on_disconnect_clicked()
    run.until(lambda: a._state == "offline")
    a.conversations.send_chat("room", "general", "written before closing")
    run(a.shutdown())  # closed while offline: the message stays in the outbox

    again = make_window(server.url, "alice")
    run(again.open_session())
    model = again.conversations.conversation("room", "general")
    assert "general" in again.sidebar_model.keys("room")  # the room is remembered
    run.until(lambda: model.flush() or any(
        i.text == "written before closing" and i.state == "acked" for i in model.messages()),
        20)
    run.until(lambda: "written before closing" in texts(b))
    assert texts(b).count("written before closing") == 1


def test_queued_message_can_be_cancelled(run, server, make_window, qtmodeltester):
    a = make_window(server.url, "alice")
    connect(run, a)
    run(a.conversations.join_room("general"))
    a.on_disconnect_clicked()
    run.until(lambda: a._state == "offline")
    a.conversations.send_chat("room", "general", "never mind")
    model = a.conversations.conversation("room", "general")
    model.flush()
    item = next(i for i in model.messages() if i.text == "never mind")
    assert item.state == "queued"
    a.chat.view.cancel_requested.emit(item.key)
    run.until(lambda: not model.has(item.key))
    run.until(lambda: a.bar.depth_text == "Outbox 0")
    qtmodeltester.check(model)


def test_missed_messages_come_back_marked_recovered(run, server, make_window):
    a, b = two_in_general(run, server, make_window)
    a.conversations.send_chat("room", "general", "before the drop")
    run.until(lambda: "before the drop" in texts(b))
    b.on_disconnect_clicked()
    run.until(lambda: b._state == "offline")
    a.conversations.send_chat("room", "general", "missed one")
    a.conversations.send_chat("room", "general", "missed two")
    run.until(lambda: [own_states(a).get(t) for t in ("missed one", "missed two")] ==
              ["acked", "acked"])
    b.on_connect_clicked()
    run.until(lambda: "missed two" in texts(b), 20)
    items = {i.text: i for i in b.conversations.conversation("room", "general").messages()}
    assert items["missed one"].recovered and items["missed two"].recovered
    assert not items["before the drop"].recovered
    assert texts(b).count("missed one") == 1
