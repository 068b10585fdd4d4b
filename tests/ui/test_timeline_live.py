"""One timeline against the real bundled server: every window lists a room in the
server's order, and edits, deletes and replies reach the other windows."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from tests.ui.conftest import connect
from ui.models.chat import DELETED_TEXT, GroupedRole, NewRole, ReplyRole


def model_of(window, room: str = "general"):
    model = window.conversations.conversation("room", room)
    model.flush()
    return model


def texts(window, room: str = "general") -> list[str]:
    return [i.text for i in model_of(window, room).messages()]


def acked(window, text: str) -> bool:
    return any(i.text == text and i.state == "acked" for i in model_of(window).messages())


def in_general(run, server, make_window, *users: str):
    windows = [make_window(server.url, u) for u in users]
    for w in windows:
        connect(run, w)
        run(w.conversations.join_room("general"))
        w.conversations.show_conversation("room", "general")
    return windows


def test_everyone_lists_the_room_in_the_servers_order(run, server, make_window):
    """Bob writes 3 messages while disconnected; alice and carol post; bob reconnects.
    The server has bob's after theirs, and so must all three windows, bob's included."""
    a, b, c = in_general(run, server, make_window, "alice", "bob", "carol")
    a.conversations.send_chat("room", "general", "good morning")
    run.until(lambda: all("good morning" in texts(w) for w in (a, b, c)))

    b.on_disconnect_clicked()
    run.until(lambda: b._state == "offline")
    mine = ["bob offline 1", "bob offline 2", "bob offline 3"]
    for text in mine:
        b.chat.editor.setPlainText(text)
        QTest.keyClick(b.chat.editor, Qt.Key.Key_Return)
    # shown at once, pending, at the end
    assert texts(b)[-3:] == mine
    assert [i.state for i in model_of(b).messages()[-3:]] == ["queued"] * 3

    a.conversations.send_chat("room", "general", "alice meanwhile")
    run.until(lambda: acked(a, "alice meanwhile"))
    c.conversations.send_chat("room", "general", "carol meanwhile")
    run.until(lambda: acked(c, "carol meanwhile"))
    run.until(lambda: "carol meanwhile" in texts(a) and "alice meanwhile" in texts(c))
    # bob still has his own last: he has not seen theirs yet
    assert texts(b)[-3:] == mine

    b.on_connect_clicked()
    run.until(lambda: all(acked(b, t) for t in mine), 20)
    run.until(lambda: all(len(texts(w)) == 6 for w in (a, b, c)), 20)
    history = run(a.session.chat.history("general"))
    server_order = [m["text"] for m in history["messages"]]
    assert server_order == ["good morning", "alice meanwhile", "carol meanwhile", *mine]
    for w in (a, b, c):
        assert texts(w) == server_order, w.windowTitle()
        offsets = [i.offset for i in model_of(w).messages()]
        assert offsets == [m["offset"] for m in history["messages"]]


def test_edit_delete_and_reply_reach_another_window_live(run, server, make_window):
    a, b = in_general(run, server, make_window, "alice", "bob")
    a.conversations.send_chat("room", "general", "the meeting is at 3")
    a.conversations.send_chat("room", "general", "wrong room, sorry")
    run.until(lambda: acked(a, "wrong room, sorry") and "wrong room, sorry" in texts(b))
    first = next(i for i in model_of(a).messages() if i.text == "the meeting is at 3")
    second = next(i for i in model_of(a).messages() if i.text == "wrong room, sorry")

    # bob may reply to alice's message, but not edit or delete it
    model_b = model_of(b)
    menu = b.chat.view.message_menu(model_b.index(model_b.row_of(first.key), 0))
    labels = [act.text() for act in menu.actions()]
    assert "Reply" in labels and "Edit" not in labels and "Delete…" not in labels

    # alice edits through the composer: bob sees the new text, marked edited
    a.chat.view.edit_requested.emit(first.key)
    assert a.chat.editor.toPlainText() == "the meeting is at 3"
    a.chat.editor.setPlainText("the meeting is at 4")
    QTest.keyClick(a.chat.editor, Qt.Key.Key_Return)
    run.until(lambda: model_b.item(first.key).text == "the meeting is at 4")
    assert model_b.item(first.key).edited
    run.until(lambda: model_of(a).item(first.key).edited)

    # alice deletes, after confirming: bob keeps the row, without its text
    a.chat.view.confirm_delete = lambda: True
    menu = a.chat.view.message_menu(model_of(a).index(model_of(a).row_of(second.key), 0))
    next(act for act in menu.actions() if act.text() == "Delete…").trigger()
    run.until(lambda: model_b.item(second.key).deleted)
    row = model_b.row_of(second.key)
    assert model_b.index(row, 0).data() == DELETED_TEXT
    assert "wrong room" not in " ".join(texts(b))

    # bob replies quoting alice's (edited) message
    b.chat.view.reply_requested.emit(first.key)
    b.chat.editor.setPlainText("4 works")
    QTest.keyClick(b.chat.editor, Qt.Key.Key_Return)
    run.until(lambda: "4 works" in texts(a))
    reply = next(i for i in model_of(a).messages() if i.text == "4 works")
    assert reply.reply_to == first.key
    assert model_of(a).index(model_of(a).row_of(reply.key), 0).data(ReplyRole) == \
        "alice: the meeting is at 4"


def test_another_users_edit_is_refused_and_shown_as_an_error(run, server, make_window):
    a, b = in_general(run, server, make_window, "alice", "bob")
    a.conversations.send_chat("room", "general", "alice's words")
    run.until(lambda: "alice's words" in texts(b) and acked(a, "alice's words"))
    key = next(i.key for i in model_of(b).messages() if i.text == "alice's words")
    errors: list[str] = []
    b.show_error = errors.append
    b.conversations.actions.edit("room", "general", key, "bob's words")
    run.until(lambda: bool(errors), 15)
    assert "not saved" in errors[0] and "author" in errors[0]
    assert model_of(a).item(key).text == "alice's words"
    assert model_of(b).item(key).text == "alice's words"


def test_a_refused_edit_asked_for_before_a_restart_is_still_reported(run, server,
                                                                     make_window):
    """Queued offline, sent by the next run of the app: its refusal was silent."""
    a, b = in_general(run, server, make_window, "alice", "bob")
    a.conversations.send_chat("room", "general", "alice's words")
    run.until(lambda: "alice's words" in texts(b) and acked(a, "alice's words"))
    key = next(i.key for i in model_of(b).messages() if i.text == "alice's words")
    b.on_disconnect_clicked()
    run.until(lambda: b._state == "offline")
    b.conversations.actions.edit("room", "general", key, "bob's words")
    run(b.shutdown())
    again = make_window(server.url, "bob")      # the same data folder: the edit waits
    errors: list[str] = []
    again.show_error = errors.append
    connect(run, again)
    run.until(lambda: any("not saved" in e for e in errors), 15)
    assert any("edit was not saved" in e and "author" in e for e in errors)
    assert model_of(a).item(key).text == "alice's words"


def test_edit_and_delete_made_while_away_show_after_reconnecting(run, server, make_window):
    a, b = in_general(run, server, make_window, "alice", "bob")
    a.conversations.send_chat("room", "general", "draft one")
    a.conversations.send_chat("room", "general", "draft two")
    run.until(lambda: acked(a, "draft two") and "draft two" in texts(b))
    one = next(i.key for i in model_of(a).messages() if i.text == "draft one")
    two = next(i.key for i in model_of(a).messages() if i.text == "draft two")
    b.on_disconnect_clicked()
    run.until(lambda: b._state == "offline")
    a.chat.edit_requested.emit("room", "general", one, "final one")
    a.chat.delete_requested.emit("room", "general", two)
    run.until(lambda: model_of(a).item(one).text == "final one" and
              model_of(a).item(two).deleted)
    assert model_of(b).item(one).text == "draft one"   # bob was away
    b.on_connect_clicked()
    run.until(lambda: model_of(b).item(one).text == "final one", 20)
    run.until(lambda: model_of(b).item(two).deleted)
    assert model_of(b).item(one).edited
    assert texts(b) == ["final one", ""]   # the deleted one keeps its row, not its text


def test_an_edited_message_keeps_its_new_text_after_a_restart(run, server, make_window):
    """Read back from the store, the edit's own row (kept without its text) blanked the
    message: "(edited)" and nothing else, for everyone, after a restart."""
    a, b = in_general(run, server, make_window, "alice", "bob")
    a.conversations.send_chat("room", "general", "lunch at noon")
    run.until(lambda: acked(a, "lunch at noon") and "lunch at noon" in texts(b))
    key = next(i.key for i in model_of(a).messages() if i.text == "lunch at noon")
    a.chat.edit_requested.emit("room", "general", key, "lunch at one")
    run.until(lambda: model_of(b).item(key).text == "lunch at one")
    run(b.shutdown())
    again = make_window(server.url, "bob")      # the same data folder as before
    connect(run, again)
    run.until(lambda: model_of(again).item(key) is not None)
    item = model_of(again).item(key)
    assert item.text == "lunch at one" and item.edited


def test_unread_counts_and_mentions_outlive_a_restart(run, server, make_window):
    """Unread is unread until looked at, restarts included (they were wiped: only what
    arrived while the app ran counted)."""
    a, b = in_general(run, server, make_window, "alice", "bob")
    run(b.conversations.join_room("dev"))
    b.conversations.show_conversation("room", "dev")       # bob looks elsewhere
    a.conversations.send_chat("room", "general", "lunch?")
    a.conversations.send_chat("room", "general", "@bob are you in?")
    side = b.sidebar_model
    run.until(lambda: side.unread("room", "general") == 2)
    assert side.mentions("room", "general") == 1
    run(b.shutdown())
    again = make_window(server.url, "bob")                  # the same data and settings
    connect(run, again)
    run.until(lambda: "general" in again.sidebar_model.keys("room"))
    run.until(lambda: again.sidebar_model.unread("room", "general") == 2)
    assert again.sidebar_model.mentions("room", "general") == 1
    assert again.chat.target == "dev"                       # still looking elsewhere
    again.conversations.show_conversation("room", "general")
    assert again.sidebar_model.unread("room", "general") == 0


def new_line_above(window, room: str = "general") -> list[str]:
    """The texts of the messages the "New" line is drawn above (one at most)."""
    model = model_of(window, room)
    return [model.data(model.index(r, 0)) for r in range(model.rowCount())
            if model.data(model.index(r, 0), NewRole)]


def test_a_new_line_marks_where_reading_stopped_until_you_answer(run, server, make_window):
    """Slack's and Element's "New" line: above the first message that came while you
    looked elsewhere, or while the app was closed; answering clears it."""
    a, b = in_general(run, server, make_window, "alice", "bob")
    a.conversations.send_chat("room", "general", "seen before")
    run.until(lambda: "seen before" in texts(b))
    run(b.conversations.join_room("dev"))
    b.conversations.show_conversation("room", "dev")
    for text in ("first while away", "second while away"):
        a.conversations.send_chat("room", "general", text)
    run.until(lambda: b.sidebar_model.unread("room", "general") == 2)
    b.conversations.show_conversation("room", "general")
    assert new_line_above(b) == ["first while away"]
    model = model_of(b)
    row = model.row_of(model.first_new().key)
    assert not model.data(model.index(row, 0), GroupedRole)   # starts a group of its own
    b.conversations.show_conversation("room", "dev")          # left: read, no line kept
    b.conversations.show_conversation("room", "general")
    assert new_line_above(b) == []

    # closed while looking at #general: what came meanwhile is under the line
    run(b.shutdown())
    for text in ("while closed", "also while closed"):
        a.conversations.send_chat("room", "general", text)
    run.until(lambda: acked(a, "also while closed"))
    again = make_window(server.url, "bob")
    connect(run, again)
    run.until(lambda: "also while closed" in texts(again), 20)
    assert again.chat.target == "general"
    assert new_line_above(again) == ["while closed"]
    again.conversations.send_chat("room", "general", "back")   # answering clears it
    assert new_line_above(again) == []
