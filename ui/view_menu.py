"""The View menu of a main window: presenter mode, zoom and the theme.

Presenter mode (F5, the key a presenter clicker's "start slideshow" button sends, or
``sockdesk --present``) is for a projector: presenter mode's own zoom (125 % until
changed), the chat sidebar and the Learn tab's lesson list folded away so the diagram
gets the width, and the diagram's captions at full size and full contrast. Zoom
(Ctrl+= / Ctrl++ / Ctrl+- / Ctrl+0) and the theme (system, light, dark) are the
application's, remembered in the settings; every window shows the new zoom in its
status bar for a moment. The state itself lives in ``ui.zoom`` and ``ui.theme``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import shiboken6
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QApplication, QMenu

from ui import theme
from ui.settings import Settings
from ui.zoom import view_state

if TYPE_CHECKING:
    from ui.window import MainWindow

PRESENT_SHORTCUT = "F5"
THEME_LABELS = {"system": "&System", "light": "&Light", "dark": "&Dark"}


def switch_theme(mode: str) -> None:
    """View → Theme: every window now, and remembered (ValueError: no such theme)."""
    app = QApplication.instance()
    if isinstance(app, QApplication):
        theme.set_theme(app, mode)
    Settings().theme = mode


class ViewMenu(QMenu):
    """View → Presenter mode, Zoom in / out / Actual size, Theme."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__("&View", window)
        self.window_ = window
        state = view_state()
        self.present_action = QAction("&Presenter mode", self)
        self.present_action.setCheckable(True)
        self.present_action.setShortcut(QKeySequence(PRESENT_SHORTCUT))
        self.present_action.setToolTip("Big text for a projector, side panels folded "
                                       "(F5 again to leave)")
        self.present_action.toggled.connect(state.set_presenting)
        self.addAction(self.present_action)
        self.addSeparator()
        self.zoom_in_action = self._action("Zoom &in", state.zoom_in,
                                           "Ctrl+=", "Ctrl++", "Ctrl+Shift+=")
        self.zoom_out_action = self._action("Zoom &out", state.zoom_out, "Ctrl+-")
        self.reset_action = self._action("&Actual size", state.reset_zoom, "Ctrl+0")
        self.addSeparator()
        self.theme_menu = self.addMenu("&Theme")
        self.theme_group = QActionGroup(self)
        self.theme_group.setExclusive(True)
        self.theme_actions: dict[str, QAction] = {}
        for mode in theme.THEMES:
            act = QAction(THEME_LABELS[mode], self.theme_group)
            act.setCheckable(True)
            act.triggered.connect(lambda _c=False, m=mode: switch_theme(m))
            self.theme_menu.addAction(act)
            self.theme_actions[mode] = act
        self.aboutToShow.connect(self._sync_theme)
        self._sync_theme()

        state.zoom_changed.connect(self._zoomed)
        state.presenting_changed.connect(self._presenting)
        window.tabs.currentChanged.connect(lambda _i: self.apply_presenting())
        self._presenting(state.presenting)

    def _action(self, text: str, slot: object, *keys: str) -> QAction:
        act = QAction(text, self)
        act.setShortcuts([QKeySequence(k) for k in keys])
        act.triggered.connect(slot)
        self.addAction(act)
        return act

    def _sync_theme(self) -> None:
        act = self.theme_actions.get(theme.theme_mode())
        if act is not None:
            act.setChecked(True)

    # -- following the application's state ------------------------------------------------
    def _zoomed(self, percent: int) -> None:
        if shiboken6.isValid(self.window_):
            self.window_.show_info(f"Zoom {percent} %", 2500)
            # what fits the bar and beside the sidebar shrinks as the zoom grows
            self.window_.shape.resized(self.window_.width())

    def _presenting(self, on: bool) -> None:
        """Fold (or give back) the side panels of this window."""
        w = self.window_
        if not shiboken6.isValid(w):
            return
        self.present_action.blockSignals(True)
        self.present_action.setChecked(on)
        self.present_action.blockSignals(False)
        w.shape.set_presenting(on)
        self.apply_presenting()
        if on:
            w.show_info("Presenter mode: F5 to leave, Ctrl+= / Ctrl+- to zoom", 4000)

    def apply_presenting(self) -> None:
        """The Learn tab (built on first use) follows presenter mode."""
        learn = self.window_.learn_if_built if shiboken6.isValid(self.window_) else None
        if learn is not None:
            learn.set_presenting(view_state().presenting)
