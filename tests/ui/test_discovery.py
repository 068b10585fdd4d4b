"""Discovery and attention: room directory, people list, DMs to strangers, mute, mentions."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from tests.ui.conftest import connect
from ui.chat_attention import MutedRooms, attention, mentions
from ui.models.sidebar import MutedRole
from ui.settings import Settings


@pytest.mark.parametrize(("text", "hit"), [
    ("@bob can you look?", True), ("hey @Bob, now", True), ("(@bob)", True),
    ("thanks @bob.", True), ("@bobby is here", False), ("mail bob@bob.org", False),
    ("bob without at", False), ("@bob-x", False), ("@bob.smith", False), ("", False)])
def test_a_mention_is_the_name_after_at_as_a_whole_word(text, hit):
    assert mentions(text, "bob") is hit


def test_attention_rules():
    def rule(text: str, **kw: bool) -> tuple[bool, bool]:
        opts = {"muted": False, "showing": False, "active": True, **kw}
        return attention("room", "general", text, me="bob", **opts)

    assert rule("hi") == (True, False)                 # active window: counted, no popup
    assert rule("hi", active=False) == (True, True)
    assert rule("hi", muted=True, active=False) == (False, False)  # muted: quiet
    assert rule("hi @bob", muted=True) == (True, True)  # a mention gets through, even
    assert rule("hi @bob", showing=True) == (False, False)  # ... unless you are reading it
    assert rule("hi @bob", showing=True, active=False) == (False, True)
    assert attention("dm", "alice", "hi", me="bob", muted=True, showing=False,
                     active=False) == (True, True)  # DMs are never muted


def test_mute_is_kept_per_workspace_across_restarts(qapp):
    a = MutedRooms(Settings(), lambda: "ws-1")
    a.set_muted("general", True)
    assert MutedRooms(Settings(), lambda: "ws-1").rooms() == {"general"}
    assert MutedRooms(Settings(), lambda: "ws-2").rooms() == set()
    a.set_muted("general", False)
    assert MutedRooms(Settings(), lambda: "ws-1").rooms() == set()


def _general_and_random(run, server, make_window):
    a = make_window(server.url, "alice")
    b = make_window(server.url, "bob")
    connect(run, a)
    connect(run, b)
    run(a.conversations.join_room("general"))
    run(b.conversations.join_room("general"))
    run(b.conversations.join_room("random"))
    return a, b


def test_room_directory_lists_rooms_with_counts_and_joins(run, server, make_window):
    a, _b = _general_and_random(run, server, make_window)
    for text in ("one", "two"):
        a.conversations.send_chat("room", "general", text)
    run.until(lambda: a.session.outbox.depth() == 0)
    browse = next(x for x in a.conversations.discovery.menu.actions()
                  if x.text() == "Browse rooms…")
    assert browse.shortcut().toString() == "Ctrl+Shift+L"
    browse.trigger()  # the Chat menu's entry
    dlg = a.conversations.discovery.directory
    assert dlg is not None and dlg.isVisible()
    run.until(lambda: dlg.rooms() == ["general", "random"])
    assert dlg.counts("general") == (2, 2)    # alice and bob; two messages
    assert dlg.counts("random") == (1, 0)
    assert "(joined)" in dlg.table.topLevelItem(0).text(0)
    assert dlg.rooms()[0] == "general" and dlg.join_button.text() == "Open"  # joined
    # the filter narrows the list (and offers the name typed as a new room); Join (and
    # Enter) join the room selected among those left
    dlg.filter.setText("ran")
    assert dlg.rooms() == ["random"] and dlg.create_button.text() == "Create #ran"
    dlg.filter.setText("random")
    assert dlg.rooms() == ["random"] and not dlg.create_button.isVisible()
    assert dlg.join_button.text() == "Join"
    dlg.join_button.click()
    assert not dlg.isVisible()
    run.until(lambda: a.session.chat.is_joined("random"))
    assert a.chat.target == "random"
    # a name nobody used: "Create #name"; a bad name cannot be created
    dlg = a.conversations.discovery.open_directory()
    run.until(lambda: "general" in dlg.rooms())
    dlg.filter.setText("bad/name")
    assert dlg.create_button.isVisible() and not dlg.create_button.isEnabled()
    dlg.filter.setText("#brand-new")
    assert dlg.create_button.text() == "Create #brand-new" and dlg.create_button.isEnabled()
    dlg.create_button.click()
    run.until(lambda: a.session.chat.is_joined("brand-new"))
    assert "brand-new" in a.sidebar_model.keys("room")


def test_room_directory_says_why_when_it_cannot_ask(run, make_window):
    a = make_window("http://127.0.0.1:9", "alice")  # never connected
    dlg = a.conversations.discovery.open_directory()
    run.until(lambda: dlg.message.text() != "")
    assert "Connect" in dlg.message.text() and dlg.rooms() == []


def test_a_mention_notifies_in_a_muted_room_a_plain_message_does_not(
        run, server, make_window, monkeypatch):
    from PySide6.QtWidgets import QSystemTrayIcon

    shown: list[tuple[str, str]] = []
    monkeypatch.setattr(QSystemTrayIcon, "isSystemTrayAvailable", staticmethod(lambda: True))
    monkeypatch.setattr(QSystemTrayIcon, "showMessage",
                        lambda self, title, text, *a: shown.append((title, text)))
    a, b = _general_and_random(run, server, make_window)
    monkeypatch.setattr(b, "isActiveWindow", lambda: True)
    b.conversations.show_conversation("room", "random")  # active, but not on #general
    # mute #general from the sidebar's context menu
    b.sidebar._menu(b.sidebar.tree.visualRect(b.sidebar_model.index_of("room", "general"))
                    .center())
    mute = next(x for x in b.sidebar.last_menu.actions() if x.text() == "Mute #general")
    mute.trigger()
    assert b.sidebar_model.index_of("room", "general").data(MutedRole) is True
    assert b.conversations.muted.is_muted("general")

    a.conversations.send_chat("room", "general", "lunch anyone?")
    a.conversations.send_chat("room", "general", "@bob your build broke")
    run.until(lambda: bool(shown))
    assert shown == [("alice mentioned you in #general", "@bob your build broke")]
    assert b.sidebar_model.unread("room", "general") == 1  # the mention only

    # unmuted: a plain message counts again (and, the window being active, no popup)
    b.sidebar._menu(b.sidebar.tree.visualRect(b.sidebar_model.index_of("room", "general"))
                    .center())
    unmute = next(x for x in b.sidebar.last_menu.actions() if x.text() == "Unmute #general")
    unmute.trigger()
    a.conversations.send_chat("room", "general", "never mind")
    run.until(lambda: b.sidebar_model.unread("room", "general") == 2)
    assert len(shown) == 1
    assert b.sidebar_model.index_of("room", "general").data(MutedRole) is False
    assert b.sidebar_model.index_of("room", "general").data(Qt.ItemDataRole.DisplayRole) \
        == "general"


def test_people_lists_who_is_online_and_who_was_seen(run, server, make_window):
    a, _b = _general_and_random(run, server, make_window)
    c = make_window(server.url, "carol")
    connect(run, c)
    run(c.shutdown())  # carol was here, and left
    dlg = a.conversations.discovery.open_people()
    run.until(lambda: [u for u, _line in dlg.entries()] == ["alice", "bob", "carol"]
              or [u for u, _line in dlg.entries()] == ["bob", "alice", "carol"])
    lines = dict(dlg.entries())
    assert lines["alice"].endswith("(you)  —  online") and lines["bob"].endswith("online")
    assert "last seen just now" in lines["carol"]
    assert dlg.summary.text() == "2 online · 3 people"
    # double-click opens the DM
    item = next(dlg.list.item(i) for i in range(dlg.list.count())
                if dlg.list.item(i).text().startswith("bob"))
    dlg.list.itemDoubleClicked.emit(item)
    assert a.chat.kind == "dm" and a.chat.target == "bob"


def test_a_dm_to_a_name_the_server_never_saw_asks_first(run, server, make_window):
    a, _b = _general_and_random(run, server, make_window)
    asked: list[str] = []
    answer: list[str | None] = [None]

    async def confirm(name: str, suggestion: str | None = None) -> str | None:
        asked.append(name)
        return answer[0]

    a.conversations.discovery.confirm_unknown = confirm
    # typed in the sidebar: "@carl" (nobody): asked, refused, no DM
    a.sidebar.entry.setText("@carl")
    a.sidebar.entry.returnPressed.emit()
    run.until(lambda: asked == ["carl"])
    run.until(lambda: not a._tasks)  # the check is over
    assert "carl" not in a.sidebar_model.keys("dm")
    # a name seen here, or one the server knows: no question
    assert run(a.conversations.discovery.start_dm_checked("bob")) is True
    assert asked == ["carl"] and a.chat.target == "bob"
    carol = make_window(server.url, "carol")
    connect(run, carol)
    assert run(a.conversations.discovery.start_dm_checked("carol")) is True
    assert asked == ["carl"] and a.chat.target == "carol"
    # asked again, "Write to carl anyway": the DM opens
    answer[0] = "carl"
    assert run(a.conversations.discovery.start_dm_checked("carl")) is True
    assert asked == ["carl", "carl"] and a.chat.target == "carl"


def test_a_mistyped_dm_name_suggests_the_closest_known_one(run, server, make_window):
    """The question offers carol for "carrol" (difflib) and its buttons say what
    happens: nothing is sent yet."""
    from PySide6.QtWidgets import QMessageBox

    from ui.chat_discovery import closest_name, unknown_user_question

    assert closest_name("carl", ["alice", "bob", "carol"]) == "carol"
    assert closest_name("zed", ["alice", "bob"]) is None
    a, _b = _general_and_random(run, server, make_window)
    carol = make_window(server.url, "carol")
    connect(run, carol)
    discovery = a.conversations.discovery
    task = discovery.start_dm("carrol")
    run.until(lambda: discovery.unknown_box is not None)
    box = discovery.unknown_box
    assert box.text() == unknown_user_question("carrol", "carol")
    assert "Did you mean carol?" in box.text()
    texts = {b.text(): b for b in box.buttons()}
    assert "Write to carrol anyway" in texts and box.buttonRole(texts["Write to carol"]) \
        == QMessageBox.ButtonRole.ActionRole
    assert not any("Send" in t for t in texts)
    texts["Write to carol"].click()
    run.until(task.done)
    assert a.chat.kind == "dm" and a.chat.target == "carol"
    assert "carrol" not in a.sidebar_model.keys("dm")


def test_typing_in_a_dm_shows_on_the_other_side(run, server, make_window):
    a, b = _general_and_random(run, server, make_window)
    a.conversations.open_dm("bob")
    b.conversations.open_dm("alice")
    a.chat.editor.setPlainText("h")
    run.until(lambda: b.chat.typing_label.text() == "alice is typing…")
    a.conversations.send_chat("dm", "bob", "hi")
    run.until(lambda: b.chat.typing_label.text().strip() == "")


def test_people_order_and_last_seen_words(qapp):
    from dataclasses import dataclass

    from ui.widgets.people import PeopleDialog, seen_ago

    @dataclass(frozen=True)
    class P:
        user: str
        online: bool
        last_seen: float | None

    now = 1_000_000.0
    assert seen_ago(now - 30, now) == "last seen just now"
    assert seen_ago(now - 7200, now) == "last seen 2 h ago"
    assert seen_ago(now - 86400 * 3, now) == "last seen 3 days ago"
    assert seen_ago(None, now) == "never seen"
    dlg = PeopleDialog("alice")
    dlg.set_people([P("zed", False, now - 7200), P("bob", True, now), P("amy", False, now - 60),
                    P("alice", True, now), P("bad\u202ename", False, None)], now)
    assert [u for u, _ in dlg.entries()] == ["alice", "bob", "amy", "zed", "bad\u202ename"]
    assert dict(dlg.entries())["zed"] == "zed  —  last seen 2 h ago"
    assert "\\u202e" in dict(dlg.entries())["bad\u202ename"]  # shown, not obeyed
    dlg.filter.setText("@z")
    assert [u for u, _ in dlg.entries()] == ["zed"]
    dlg.deleteLater()


def test_a_mention_or_dm_alerts_the_window_without_a_tray(run, server, make_window,
                                                          monkeypatch):
    """No tray (offscreen has none): a mention or a DM flashes the window
    (``QApplication.alert``), the sidebar shows a red "@" badge for the room with the
    mention, and the title counts what is unread."""
    from PySide6.QtWidgets import QApplication

    from ui.models.sidebar import MentionsRole
    from ui.tray import AppTray, install_tray
    from ui.widgets.sidebar import badge

    install_tray(AppTray(available=False))
    alerted: list[object] = []
    monkeypatch.setattr(QApplication, "alert", staticmethod(lambda w, ms=0: alerted.append(w)))
    try:
        a, b = _general_and_random(run, server, make_window)
        monkeypatch.setattr(b, "isActiveWindow", lambda: False)
        b.conversations.show_conversation("room", "random")
        assert b.windowTitle().startswith("#random — SockDesk")
        a.conversations.send_chat("room", "general", "lunch anyone?")
        run.until(lambda: b.sidebar_model.unread("room", "general") == 1)
        assert alerted == [] and b.sidebar_model.mentions("room", "general") == 0
        assert badge("room", 1, 0)[0] == "1"
        a.conversations.send_chat("room", "general", "@bob your build broke")
        run.until(lambda: b.sidebar_model.unread("room", "general") == 2)
        assert alerted == [b] and b.conversations.notifier.sent == []   # no tray
        index = b.sidebar_model.index_of("room", "general")
        assert index.data(MentionsRole) == 1
        text, colour = badge("room", 2, 1)
        assert text == "@2" and colour != badge("room", 2, 0)[1]
        assert "1 mention of you" in index.data(Qt.ItemDataRole.ToolTipRole)
        assert b.windowTitle().startswith("(2) #random — SockDesk")
        a.conversations.send_chat("dm", "bob", "psst")
        run.until(lambda: b.sidebar_model.unread("dm", "alice") == 1)
        assert alerted == [b, b]
        assert b.windowTitle().startswith("(3) #random")
        # read: the badge and its mention go, the title counts what is left
        b.conversations.show_conversation("room", "general")
        assert b.sidebar_model.mentions("room", "general") == 0
        assert b.windowTitle().startswith("(1) #general — SockDesk")
    finally:
        install_tray(None)


def test_right_clicking_a_sidebar_room_does_not_switch_to_it(qtbot):
    from PySide6.QtTest import QTest

    from ui.models.sidebar import SidebarModel
    from ui.widgets.sidebar import Sidebar

    model = SidebarModel()
    sidebar = Sidebar(model)
    qtbot.addWidget(sidebar)
    sidebar.resize(240, 400)
    sidebar.show()
    model.add("room", "general")
    model.add("room", "random")
    shown: list[tuple[str, str]] = []
    sidebar.conversation_selected.connect(lambda k, key: shown.append((k, key)))
    sidebar.select("room", "general")
    rect = sidebar.tree.visualRect(model.index_of("room", "random"))
    QTest.mouseClick(sidebar.tree.viewport(), Qt.MouseButton.RightButton,
                     Qt.KeyboardModifier.NoModifier, rect.center())
    assert shown == [("room", "general")]
    assert sidebar.tree.currentIndex() == model.index_of("room", "general")
    QTest.mouseClick(sidebar.tree.viewport(), Qt.MouseButton.LeftButton,
                     Qt.KeyboardModifier.NoModifier, rect.center())
    assert shown[-1] == ("room", "random")


def test_a_restarted_window_reopens_the_last_conversation(run, server, make_window):
    a, _b = _general_and_random(run, server, make_window)
    run(a.conversations.join_room("random"))
    a.conversations.show_conversation("room", "random")
    a.conversations.show_conversation("room", "general")
    a.conversations.show_conversation("room", "random")
    run(a.shutdown())
    again = make_window(server.url, "alice")           # same settings, same data folder
    assert again.workspace.id == a.workspace.id
    connect(run, again)
    run.until(lambda: again.chat.kind == "room")
    assert again.chat.target == "random" and again.chat_in_front()
