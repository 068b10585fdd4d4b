"""The window as a desktop citizen: it fits 800 px wide, its sidebar folds, closing it
keeps the app in the tray, and ``--clients N`` tiles its windows."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtTest import QTest

from tests.ui.conftest import connect
from ui.tiling import tile_rects, tile_windows
from ui.tray import AppTray, install_tray, unread_text


def settled(w, qtbot):
    """The window after its first show, once it was fitted to the (offscreen, 800 px
    wide) screen: sizes set from then on stay."""
    screen = w.screen().availableGeometry()
    qtbot.waitUntil(lambda: w.frameGeometry().width() <= screen.width())
    return w


def open_every_tab(w) -> None:
    assert w.learn is not None                      # the Learn tab is built too
    for i in range(w.tabs.count()):
        w.tabs.setCurrentIndex(i)


# -- 800 px --------------------------------------------------------------------------------

def test_every_tab_fits_a_window_800_pixels_wide(make_window, qtbot):
    """Two windows side by side on a 1,920 px screen: the minimum width, with the
    sidebar shown and every tab built, is at most 800 px; at 800 px the window is as
    wide as asked and the tabs are not squeezed below their own minimum."""
    w = make_window("http://127.0.0.1:9", "short")
    open_every_tab(w)
    assert w.sidebar_visible
    assert w.minimumSizeHint().width() <= 800
    w.resize(800, 657)
    qtbot.waitUntil(lambda: w.width() == 800)
    for i in range(w.tabs.count()):
        w.tabs.setCurrentIndex(i)
        page = w.tabs.widget(i)
        qtbot.waitUntil(lambda page=page: page.width() >= page.minimumSizeHint().width())
    # the connection bar keeps the outbox badge and the connection light in view
    assert w.bar.compact
    qtbot.waitUntil(lambda: w.bar.badge.isVisible() and w.bar.light.isVisible())
    bar_right = w.bar.light.mapTo(w, w.bar.light.rect().topRight()).x()
    assert bar_right <= w.width()


def test_a_long_error_does_not_widen_the_window(make_window):
    w = make_window("http://127.0.0.1:9", "short")
    open_every_tab(w)
    before = w.minimumSizeHint().width()
    w.show_error("could not connect: " + "a very long reason " * 30)
    w.queues.header.live_label.setText("Live · " + "queue " * 80)
    assert w.minimumSizeHint().width() == before <= 800
    assert w.error_label.text().startswith("could not connect")   # kept whole


def test_a_squeezed_tool_button_shows_its_icon_alone(qtbot):
    from PySide6.QtWidgets import QHBoxLayout, QWidget

    from ui.widgets.buttons import CompactToolButton, tool_button

    holder = QWidget()
    lay = QHBoxLayout(holder)
    lay.setContentsMargins(0, 0, 0, 0)
    b = tool_button("Refresh the queues now", icon="retry", text="Refresh")
    assert isinstance(b, CompactToolButton)
    lay.addWidget(b)
    qtbot.addWidget(holder)
    holder.resize(300, 40)
    holder.show()
    qtbot.waitUntil(lambda: not b.compact)
    assert b.minimumSizeHint().width() < b.sizeHint().width()
    holder.resize(b.minimumSizeHint().width(), 40)
    qtbot.waitUntil(lambda: b.compact)
    assert b.text() == "Refresh"                  # the words stay (tooltip, accessibility)


def test_the_learn_panes_stack_in_a_narrow_window(make_window, qtbot):
    w = settled(make_window("http://127.0.0.1:9", "short"), qtbot)
    learn = w.learn
    w.tabs.setCurrentWidget(learn)
    w.resize(1280, 700)
    qtbot.waitUntil(lambda: not learn.body.stacked)
    w.resize(800, 657)
    qtbot.waitUntil(lambda: learn.body.stacked)
    w.resize(1280, 700)
    qtbot.waitUntil(lambda: not learn.body.stacked)


# -- the sidebar folds ------------------------------------------------------------------------

def test_the_sidebar_folds_in_a_narrow_window_and_comes_back(make_window, qtbot):
    w = settled(make_window("http://127.0.0.1:9", "short"), qtbot)
    w.resize(1100, 700)
    qtbot.waitUntil(lambda: w.sidebar_visible)
    w.resize(850, 657)
    qtbot.waitUntil(lambda: not w.sidebar_visible)
    assert not w.sidebar_button.isChecked()
    w.resize(1100, 700)
    qtbot.waitUntil(lambda: w.sidebar_visible)
    assert w.sidebar_button.isChecked()


def test_ctrl_b_and_the_button_fold_the_sidebar(make_window, qtbot):
    w = settled(make_window("http://127.0.0.1:9", "short"), qtbot)
    w.resize(1100, 700)
    w.activateWindow()
    qtbot.waitUntil(lambda: w.sidebar_visible and w.isActiveWindow())
    QTest.keyClick(w, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    assert not w.sidebar_visible and not w.sidebar_button.isChecked()
    # hidden by choice: a wide window keeps it hidden after a narrow spell
    w.resize(850, 657)
    qtbot.waitUntil(lambda: w.width() == 850)
    w.resize(1100, 700)
    qtbot.waitUntil(lambda: w.width() == 1100)
    assert not w.sidebar_visible
    w.sidebar_button.click()
    assert w.sidebar_visible
    # in a narrow window Ctrl+B shows it for now; the window still fits
    w.resize(850, 657)
    qtbot.waitUntil(lambda: not w.sidebar_visible)
    QTest.keyClick(w, Qt.Key.Key_B, Qt.KeyboardModifier.ControlModifier)
    assert w.sidebar_visible
    assert w.minimumSizeHint().width() <= 850


# -- the tray ---------------------------------------------------------------------------------

@pytest.fixture
def tray() -> Iterator[AppTray]:
    """A tray that exists (offscreen has none)."""
    t = AppTray(available=True)
    install_tray(t)
    yield t
    install_tray(None)


def test_unread_text_counts_rooms_and_direct_messages():
    assert unread_text([("general", 3), ("random", 0)], [("bob", 1)]) == \
        "3 unread in #general, 1 direct message"
    assert unread_text([], [("bob", 2), ("carol", 1)]) == "3 direct messages"
    assert unread_text([("general", 0)], []) == ""


def test_closing_with_a_tray_hides_the_window_and_stays_connected(run, server, make_window,
                                                                  tray):
    a = make_window(server.url, "alice")
    b = make_window(server.url, "bob")
    connect(run, a)
    connect(run, b)
    run(a.conversations.join_room("general"))
    run(b.conversations.join_room("general"))
    run(a.conversations.join_room("random"))
    a.conversations.show_conversation("room", "random")
    assert tray.entries() == ["Show SockDesk — alice", "Show SockDesk — bob", "Quit"]
    a.close()                                        # turned into a hide
    assert a.isHidden() and not a.is_closed
    assert tray.sent and tray.sent[0][0] == "SockDesk is still running"
    a.close()                                        # the second time: no second notice
    assert len(tray.sent) == 1
    # still connected: bob's message arrives, is counted unread and notified
    b.conversations.send_chat("room", "general", "are you there?")
    run.until(lambda: a.sidebar_model.unread("room", "general") == 1)
    assert a.is_connected
    assert ("bob in #general", "are you there?") in a.conversations.notifier.sent
    run.until(lambda: "1 unread in #general" in tray.tooltip())
    assert tray.icon is not None and tray.icon.toolTip() == tray.tooltip()
    # shown again from the tray, then Quit closes it for good
    a.show_from_tray()
    assert a.isVisible()
    tray.quit()
    run.until(lambda: a.is_closed and b.is_closed)
    assert a.session is None and b.session is None


def test_without_a_tray_closing_closes(run, server, make_window):
    install_tray(AppTray(available=False))
    try:
        a = make_window(server.url, "alice")
        connect(run, a)
        a.close()
        run.until(lambda: a.is_closed)
        assert a.session is None
    finally:
        install_tray(None)


def test_the_tray_menu_has_one_entry_per_window_of_several(make_window, tray):
    """One window: "Show SockDesk"; several (``--clients``): one entry per user, and
    the tooltip says whose unread messages it counts."""
    make_window("http://127.0.0.1:9", "alice")
    w = make_window("http://127.0.0.1:9", "bob")
    assert [e for e in tray.entries() if e.startswith("Show")] == [
        "Show SockDesk — alice", "Show SockDesk — bob"]
    w.sidebar_model.add("room", "general")
    w.sidebar_model.bump_unread("room", "general", 2)
    assert tray.tooltip() == "SockDesk — bob: 2 unread in #general"


# -- --clients N tiles ------------------------------------------------------------------------

def overlap(a: QRect, b: QRect) -> int:
    r = a.intersected(b)
    return max(0, r.width()) * max(0, r.height())


def test_three_windows_tile_a_1280_by_720_screen():
    screen = QRect(0, 0, 1280, 720)
    least = QSize(760, 660)
    rects = tile_rects(3, screen, least)
    assert len(rects) == 3
    for r in rects:
        assert r.width() >= 760 and r.height() >= 660
        assert screen.contains(r)
    assert len({(r.x(), r.y()) for r in rects}) == 3           # none on top of another
    # where the screen allows it, nothing overlaps: two side by side on 1920 px
    wide = QRect(0, 0, 1920, 1080)
    two = tile_rects(2, wide, least)
    assert overlap(*two) == 0 and two[0].y() == two[1].y()
    four = tile_rects(4, QRect(0, 0, 2560, 1440), least)
    assert all(overlap(p, q) == 0 for i, p in enumerate(four) for q in four[i + 1:])
    assert len({r.x() for r in four}) == 2 and len({r.y() for r in four}) == 2


def test_tiling_three_windows_offscreen(make_window, qtbot):
    windows = [settled(make_window("http://127.0.0.1:9", name), qtbot)
               for name in ("alice", "bob", "carol")]
    screen = QRect(0, 0, 1280, 720)
    tiles = tile_windows(windows, screen)
    for w, tile in zip(windows, tiles, strict=True):
        qtbot.waitUntil(lambda w=w, tile=tile: w.pos() == tile.topLeft())
        assert w.width() >= w.minimumSizeHint().width()
        assert w.height() >= w.minimumSizeHint().height()
        assert screen.contains(w.frameGeometry())


def test_the_status_bar_keeps_clear_of_the_window_edges(make_window, qtbot):
    w = make_window("http://127.0.0.1:9", "short")
    w.summary_label.setText("alice  ·  connected to http://127.0.0.1:42511 over websocket")
    label = w.summary_label
    qtbot.waitUntil(lambda: label.isVisible() and label.width() > 0)
    right = label.mapTo(w, label.rect().topRight()).x()
    assert w.width() - 1 - right >= 8
