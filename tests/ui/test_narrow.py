"""Every tab at 800 px wide shows what it holds: whole queue names, the argument
toolbar without a scrollbar, the Arguments column and the filter's placeholder."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QScrollArea

from app.inspector import QueueRow
from tests.ui.test_desktop import open_every_tab
from ui.inspector.models import Q_NAME

pytestmark = pytest.mark.timeout(60)


def at_800(make_window, qtbot, tab: str):
    w = make_window("http://127.0.0.1:9", "narrow")
    open_every_tab(w)
    w.resize(800, 657)
    qtbot.waitUntil(lambda: w.width() == 800)
    page = getattr(w, tab)
    w.tabs.setCurrentWidget(page)
    qtbot.waitUntil(page.isVisible)
    return w, page


def test_queue_names_are_whole_in_a_window_800_pixels_wide(make_window, qtbot):
    w, page = at_800(make_window, qtbot, "queues")
    pane = page.queue_list
    labels = ["Outbox /chat", "Outbox /queue", "Outbox /", "#general", "presence",
              "welcome", "server jobs (dead letters)"]
    pane.set_rows([QueueRow(f"k{i}", "outbox", label) for i, label in enumerate(labels)])
    fm, icon = pane.view.fontMetrics(), pane.view.iconSize().width()
    need = max(fm.horizontalAdvance(label) for label in labels) + icon + 8
    qtbot.waitUntil(lambda: pane.view.columnWidth(Q_NAME) >= need
                    and not pane.view.horizontalScrollBar().isVisible())
    assert pane.chart.width() >= pane.chart.minimumWidth()
    assert w.minimumSizeHint().width() <= 800
    # a name longer than the list can give is elided in the middle, whole in its tooltip
    long = "server " + "very-long-queue-name-" * 8 + "end"
    pane.set_rows([QueueRow("long", "work", long)])
    index = pane.model.index(0, Q_NAME)
    assert pane.model.data(index, Qt.ItemDataRole.ToolTipRole).startswith(long + "\n")
    assert pane.view.textElideMode() == Qt.TextElideMode.ElideMiddle
    assert pane.view.horizontalHeader().textElideMode() == Qt.TextElideMode.ElideRight
    assert all(pane.model.headerData(c, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
               == pane.model.headerData(c, Qt.Orientation.Horizontal)
               for c in range(pane.model.columnCount()))      # header labels whole there
    assert w.minimumSizeHint().width() <= 800
    # a splitter the user moved stays where they put it
    pane.splitter.moveSplitter(300, 1)
    w.resize(820, 657)
    qtbot.waitUntil(lambda: w.width() == 820)
    assert pane.splitter.sizes()[0] < 300 + 20   # grown by its share of 20 px, not reset


def test_the_argument_toolbar_wraps_in_a_window_800_pixels_wide(make_window, qtbot):
    w, page = at_800(make_window, qtbot, "compose")
    page.add_argument('{"$binary": "3q2+7w=="}')      # "binary, 4 bytes" in its head too
    scroll = page.args[0].parentWidget()
    while not isinstance(scroll, QScrollArea):
        scroll = scroll.parentWidget()
    viewport = scroll.viewport()

    def inside(widget) -> bool:
        right = widget.mapTo(viewport, widget.rect().topRight()).x()
        return widget.isVisible() and 0 <= right < viewport.width()

    for editor in page.args:
        for b in (editor.hex_button, editor.file_button, editor.format_button,
                  editor.remove_button):
            qtbot.waitUntil(lambda b=b: inside(b))
    assert not scroll.horizontalScrollBar().isVisible()
    assert page.args[1].binary_info.text() == "binary, 4 bytes"
    assert w.minimumSizeHint().width() <= 800
    # wide again: one row, the buttons beside the title
    w.resize(1400, 657)
    editor = page.args[0]
    qtbot.waitUntil(lambda: editor.format_button.y() == editor.hex_button.y()
                    and abs(editor.title.geometry().center().y()
                            - editor.hex_button.geometry().center().y()) <= 2)


def test_the_arguments_column_and_the_filter_fit_a_window_800_pixels_wide(make_window,
                                                                           qtbot):
    from ui.models.packets import COL_ARGS, COL_NS

    args_least = 130  # the header and the start of a packet's arguments
    w, page = at_800(make_window, qtbot, "events")
    table = page.table
    qtbot.waitUntil(lambda: table.columnWidth(COL_ARGS) >= args_least
                    and not table.horizontalScrollBar().isVisible())
    # a header label with no room ends in "…" ("Namespac" was cut mid-word), and its
    # tooltip gives it whole
    header = table.horizontalHeader()
    assert header.textElideMode() == Qt.TextElideMode.ElideRight
    assert table.model().headerData(COL_NS, Qt.Orientation.Horizontal,
                                    Qt.ItemDataRole.ToolTipRole) == "Namespace"
    search = page.search
    assert search.fontMetrics().horizontalAdvance(search.placeholderText()) \
        + 2 * search.height() <= search.width()        # the icons and the text, whole
    assert "arguments" in search.toolTip()
    # a column the user sizes stays as they left it, wide or narrow
    header.resizeSection(0, 150)
    w.resize(1400, 657)
    qtbot.waitUntil(lambda: w.width() == 1400)
    w.resize(800, 657)
    qtbot.waitUntil(lambda: w.width() == 800)
    assert table.columnWidth(0) == 150


def test_an_empty_chat_says_how_to_bring_back_the_folded_sidebar(make_window, qtbot):
    w, page = at_800(make_window, qtbot, "chat")
    qtbot.waitUntil(lambda: not w.sidebar_visible)     # folded by itself at 800 px
    assert "sidebar" in page.subtitle.text() and "Ctrl+B" in page.subtitle.text()
    w.toggle_sidebar()                                   # the shortcut's own slot
    qtbot.waitUntil(lambda: w.sidebar_visible)
    assert page.subtitle.text() == "Join a room or pick one in the sidebar"  # in view


def test_the_folded_sidebars_button_counts_unread_messages(make_window, qtbot):
    w, _page = at_800(make_window, qtbot, "chat")
    qtbot.waitUntil(lambda: not w.sidebar_visible)
    button, model = w.sidebar_button, w.sidebar_model
    assert button.text() == "" and button.toolTip() == "Show or hide the sidebar (Ctrl+B)"
    model.add("room", "dev")
    model.bump_unread("room", "dev", 2)
    assert button.text() == "2" and button.toolTip().startswith("2 unread: show the sidebar")
    model.bump_unread("room", "dev", 1, mention=True)
    assert button.text() == "@3" and "1 mentioning you" in button.toolTip()
    assert button.property("unread") == "mention"          # drawn in the alert colour
    assert button.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonTextBesideIcon
    w.toggle_sidebar()                       # shown: the sidebar itself has the counts
    qtbot.waitUntil(lambda: w.sidebar_visible)
    assert button.text() == ""
    assert button.toolButtonStyle() == Qt.ToolButtonStyle.ToolButtonIconOnly
    w.toggle_sidebar()
    assert button.text() == "@3"
    model.set_unread("room", "dev", 0)       # read: nothing to count
    assert button.text() == "" and button.property("unread") == "false"
    model.bump_unread("room", "dev", 1)
    assert button.property("unread") == "true"
    model.add("dm", "carol")                 # a direct message calls for you too
    model.bump_unread("dm", "carol", 1)
    assert button.text() == "2" and button.property("unread") == "mention"


def test_the_sidebar_entrys_placeholder_is_whole(make_window, qtbot):
    w, _page = at_800(make_window, qtbot, "chat")
    w.resize(1280, 700)
    qtbot.waitUntil(lambda: w.sidebar_visible)
    entry = w.sidebar.entry
    room = entry.width() - 2 * entry.textMargins().left() - 16   # frame and padding
    assert entry.fontMetrics().horizontalAdvance(entry.placeholderText()) < room
