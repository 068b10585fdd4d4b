"""The main window's size and shape, kept apart from what the window does.

Out of ``ui.window`` (which had reached the project's 800-line limit) because it is one
job with its own state, and the one that 800 px windows, projectors and ``--clients``
tiling keep touching: the window

- never opens larger than the screen: on the first show, once the frame (title bar) is
  known, a saved or default size that does not fit is cut to the free area and moved
  onto it, so the composer, Send and the status bar are on screen from the start;
- folds its sidebar away by itself below ``SIDEBAR_AUTO_WIDTH`` and brings it back when
  wide again, if the user had it shown (Ctrl+B and the button left of the tabs are the
  user's choice in a wide window);
- shows the connection bar's actions as icons alone below ``COMPACT_BAR_WIDTH``;
  both widths grow with the zoom (``ui.zoom``), since what has to fit grows with it: at
  175 % the bar's labels pushed the outbox badge and the connection light out of a
  1280 px window;
- remembers its geometry and splitters under its key (``windows/<key>/...``);
- while the sidebar is folded, its button says how many messages are unread (and
  whether one mentions you; in the alert colour for a mention or a direct message):
  the sidebar's own counts are out of sight then, and a reviewer missed an @mention
  with only the window title telling.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QGuiApplication

from ui.zoom import view_state

if TYPE_CHECKING:
    from PySide6.QtWidgets import QSplitter

    from ui.window import MainWindow

#: the sidebar button's tooltip when it has nothing to count
SIDEBAR_TIP = "Show or hide the sidebar (Ctrl+B)"
#: below this window width the sidebar folds away by itself (Slack and VS Code do the same)
SIDEBAR_AUTO_WIDTH = 900
#: below this width the connection bar's actions show their icons alone
COMPACT_BAR_WIDTH = 1100
#: how long the window manager may take to frame a new window (X11)
FRAME_WAIT_MS = 300


class WindowShape:
    """The size, the screen fit, the folding sidebar and the saved layout of ``w``."""

    def __init__(self, w: MainWindow) -> None:
        self.w = w
        #: what the user chose for a wide window (Ctrl+B there); a narrow one hides it
        self.sidebar_wanted = True
        self.narrow = False
        #: presenter mode folds the sidebar too, without changing what the user wants
        self.presenting = False
        self.fitted = False
        self.refitted = False
        w.sidebar_button.toggled.connect(self.set_sidebar_visible)
        for sig in (w.sidebar_model.dataChanged, w.sidebar_model.rowsRemoved,
                    w.sidebar_model.modelReset):
            sig.connect(self.show_unread)

    # -- the sidebar ---------------------------------------------------------------------------
    @property
    def sidebar_visible(self) -> bool:
        return not self.w.sidebar.isHidden()

    def set_sidebar_visible(self, visible: bool) -> None:
        """Show or hide the sidebar now; in a wide window that is also the user's choice
        for later (a narrow window hides it by itself, a wide one shows it again only
        if the user had it shown)."""
        if not self.narrow:
            self.sidebar_wanted = visible
        self._show_sidebar(visible)

    def set_presenting(self, on: bool) -> None:
        """Presenter mode on or off: the sidebar folds, and comes back afterwards only
        where it would be shown anyway (the user wants it and the window is wide)."""
        self.presenting = on
        self._show_sidebar(self._sidebar_due())

    def _sidebar_due(self) -> bool:
        return self.sidebar_wanted and not self.narrow and not self.presenting

    def _show_sidebar(self, visible: bool) -> None:
        self.w.sidebar.setVisible(visible)
        self.w.chat.set_sidebar_folded(not visible)
        button = self.w.sidebar_button
        button.blockSignals(True)
        button.setChecked(visible)
        button.blockSignals(False)
        self.show_unread()

    def show_unread(self, *_args: object) -> None:
        """The sidebar button: the unread count beside its icon while the sidebar is
        folded ("@3" when one of them mentions you), the icon alone otherwise."""
        button = self.w.sidebar_button
        model = self.w.sidebar_model
        unread = model.total_unread() if not self.sidebar_visible else 0
        mentions = model.total_mentions() if unread else 0
        if unread:
            button.setText(f"{'@' if mentions else ''}{unread}")
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextBesideIcon)
            about = f"{unread} unread" + (f", {mentions} mentioning you" if mentions else "")
            button.setToolTip(f"{about}: show the sidebar (Ctrl+B)")
        else:
            button.setText("")
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)
            button.setToolTip(SIDEBAR_TIP)
        # a direct message calls for you as a mention does: the alert colour too
        urgent = bool(mentions or (unread and model.direct_unread()))
        look = "mention" if urgent else "true" if unread else "false"
        if button.property("unread") != look:   # the stylesheet colours the count
            button.setProperty("unread", look)
            button.style().unpolish(button)
            button.style().polish(button)

    # -- size ----------------------------------------------------------------------------------
    def resized(self, width: int) -> None:
        """The window is ``width`` px wide now: the bar compacts, the sidebar folds."""
        factor = view_state().factor
        self.w.bar.set_compact(width < COMPACT_BAR_WIDTH * factor)
        narrow = width < SIDEBAR_AUTO_WIDTH * factor
        if narrow != self.narrow:
            self.narrow = narrow
            self._show_sidebar(self._sidebar_due())

    def shown(self) -> None:
        """The window is shown: the first time, fit it to the screen once framed."""
        if not self.fitted:
            self.fitted = True
            # the window as the timer's context: a window deleted meanwhile gets no call
            # (a call on a freed window crashed the UI suite now and then)
            QTimer.singleShot(0, self.w, self.fit_screen)

    def fit_screen(self) -> None:
        """Never larger than the screen's free area, frame included, and on it."""
        w = self.w
        screen = w.screen() or QGuiApplication.primaryScreen()
        if screen is None or w.isMaximized() or w.isFullScreen():
            return
        free = screen.availableGeometry()
        frame = w.frameGeometry()
        extra_w = frame.width() - w.width()
        extra_h = frame.height() - w.height()
        if extra_h == 0 and not self.refitted and QGuiApplication.platformName() == "xcb":
            # shown but not yet framed by the window manager (its title bar would push
            # the status bar off a 720-line screen): look again once it is
            self.refitted = True
            QTimer.singleShot(FRAME_WAIT_MS, self.w, self.fit_screen)
        width = min(w.width(), free.width() - extra_w)
        height = min(w.height(), free.height() - extra_h)
        if (width, height) != (w.width(), w.height()):
            w.resize(max(width, 100), max(height, 100))
        frame = w.frameGeometry()
        x = min(max(frame.x(), free.x()), max(free.x(), free.right() + 1 - frame.width()))
        y = min(max(frame.y(), free.y()), max(free.y(), free.bottom() + 1 - frame.height()))
        if (x, y) != (frame.x(), frame.y()):
            w.move(x, y)

    # -- the saved layout ----------------------------------------------------------------------
    def splitters(self) -> dict[str, QSplitter]:
        """The window's splitters built so far (the Events and Compose tabs' come with
        those tabs, after the first paint: see ``restore_splitters``)."""
        w = self.w
        found = {"main": w.splitter, "chat": w.chat.splitter}
        tools = w.tools_if_built
        if tools is not None:
            found.update(tools.splitters())
        return found

    def restore(self) -> None:
        w = self.w
        geo = w.settings.bytes_value(f"windows/{w.key}/geometry")
        if geo is not None:
            w.restoreGeometry(geo)
        self.restore_splitters(self.splitters())

    def restore_splitters(self, splitters: dict[str, QSplitter]) -> None:
        """Give these splitters the sizes saved for them."""
        w = self.w
        for name, splitter in splitters.items():
            state = w.settings.bytes_value(f"windows/{w.key}/splitters/{name}")
            if state is not None:
                splitter.restoreState(state)

    def save(self) -> None:
        w = self.w
        w.settings.set(f"windows/{w.key}/geometry", w.saveGeometry())
        for name, splitter in self.splitters().items():
            w.settings.set(f"windows/{w.key}/splitters/{name}", splitter.saveState())
        w.settings.sync()
