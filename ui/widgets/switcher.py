"""The workspace switcher: a menu of every workspace with its state and what waits in its
outbox ("Team — 3 waiting, server unreachable", "Orders API — connected").

The window puts the same menu in its menu bar and behind the workspace button of the
connection bar. It is built again each time it opens, so the counts are those of that
moment; what it lists comes from the window (``entries``), which knows the live state
of the workspace it shows and asks ``ui.workspaces`` about the others.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

from ui import theme

#: (workspace id, the line to show, shown in this window?)
Entry = tuple[str, str, bool]


class WorkspaceMenu(QMenu):
    """Choosing a workspace emits ``chosen(id)``; below the list, "New workspace…" asks
    for another (try it here, host, or join: the first run's dialog), and the next two
    edit or delete the one shown."""

    chosen = Signal(str)
    new_requested = Signal()
    edit_requested = Signal()
    delete_requested = Signal()
    quit_requested = Signal()

    def __init__(self, entries: Callable[[], list[Entry]],
                 parent: QWidget | None = None) -> None:
        super().__init__("&Workspace", parent)
        self.setObjectName("workspaceMenu")
        self._entries = entries
        self._group: QActionGroup | None = None
        # the actions below the list are made once, now: Quit's Ctrl+Q must work before
        # the menu was ever opened (the list itself is only built when it opens)
        new = QAction(theme.icon("plus"), "New workspace…", self)
        new.triggered.connect(self.new_requested)
        edit = QAction(theme.icon("settings"), "Edit this workspace…", self)
        edit.triggered.connect(self.edit_requested)
        delete = QAction(theme.icon("trash"), "Delete this workspace…", self)
        delete.triggered.connect(self.delete_requested)
        self.quit_action = QAction("Quit", self)
        # spelled out: the platform's standard Quit key is empty on some (Windows, and
        # Qt's offscreen platform); "Ctrl" is Command on a Mac
        self.quit_action.setShortcut(QKeySequence("Ctrl+Q"))
        self.quit_action.triggered.connect(self.quit_requested)
        self._first_fixed = self.addSeparator()
        self.addActions([new, edit, delete])
        self.addSeparator()
        self.addAction(self.quit_action)
        self._listed: list[QAction] = []
        self.aboutToShow.connect(self.rebuild)

    def rebuild(self) -> None:
        """List the workspaces as they are now (above the fixed actions)."""
        for action in self._listed:
            self.removeAction(action)
            action.deleteLater()
        if self._group is not None:
            self._group.deleteLater()
        self._group = group = QActionGroup(self)
        self._listed = []
        for wid, text, current in self._entries():
            action = QAction(text.replace("&", "&&"), self)
            action.setCheckable(True)
            action.setChecked(current)
            action.setData(wid)
            action.setActionGroup(group)
            action.triggered.connect(lambda _checked=False, wid=wid: self.chosen.emit(wid))
            self.insertAction(self._first_fixed, action)
            self._listed.append(action)

    def workspace_actions(self) -> list[QAction]:
        """The entries of the last ``rebuild`` (one per workspace)."""
        return [a for a in self.actions() if a.isCheckable()]

    def lines(self) -> list[str]:
        """What the entries say, as shown (after ``rebuild``)."""
        return [a.text().replace("&&", "&") for a in self.workspace_actions()]
