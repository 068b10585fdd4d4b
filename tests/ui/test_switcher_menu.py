"""The Workspace menu: its list is built when it opens, its fixed actions (and Ctrl+Q)
exist from the start."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMainWindow


def test_ctrl_q_quits_before_the_menu_was_ever_opened_and_the_list_is_rebuilt(qtbot):
    from ui.widgets.switcher import WorkspaceMenu

    entries = [("a", "Alpha", True)]
    win = QMainWindow()
    qtbot.addWidget(win)
    menu = WorkspaceMenu(lambda: list(entries), win)
    win.menuBar().addMenu(menu)
    win.show()
    win.activateWindow()
    qtbot.waitUntil(win.isActiveWindow)
    with qtbot.waitSignal(menu.quit_requested, timeout=2000):
        qtbot.keyClick(win, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)

    def texts() -> list[str]:
        return [a.text() for a in menu.actions() if not a.isSeparator()]

    menu.rebuild()
    assert texts() == ["Alpha", "New workspace…", "Edit this workspace…",
                       "Delete this workspace…", "Quit"]
    entries.append(("b", "Beta & co", False))
    menu.rebuild()
    assert texts() == ["Alpha", "Beta && co", "New workspace…", "Edit this workspace…",
                       "Delete this workspace…", "Quit"]
    assert menu.lines() == ["Alpha", "Beta & co"]
    assert [a.isChecked() for a in menu.workspace_actions()] == [True, False]
    with qtbot.waitSignal(menu.quit_requested, timeout=2000):  # still there after rebuilds
        qtbot.keyClick(win, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
