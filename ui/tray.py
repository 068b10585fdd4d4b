"""The app's one system-tray icon: SockDesk keeps running when its windows close.

A chat people keep open all day must not stop notifying because its window was closed:
where the desktop has a system tray, closing a main window hides it (the first time a
notification says so), its session stays connected and notifications keep coming;
the tray's menu shows each window again (one entry per window, so per user with
``--clients``) and Quit ends the app the way closing it always did. The tooltip counts
what is unread ("SockDesk — 3 unread in #general, 1 direct message"), read from the
windows' sidebar models. Without a tray nothing changes: closing the window quits.

There is one tray per process (``app_tray()``), not one per window: several icons for
one app confuse, and notifications of every window go through the one icon. Tests
install one with ``install_tray(AppTray(available=True))``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import shiboken6
from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import QMenu, QSystemTrayIcon

from ui import theme
from ui.models.sidebar import SidebarModel

#: what the first close tells, once per run
KEPT_RUNNING = ("SockDesk keeps running in the tray, so notifications keep coming. "
                "Quit it from the tray icon's menu.")


class TrayWindow(Protocol):
    """What the tray needs of a main window (``ui.window.MainWindow``)."""

    sidebar_model: SidebarModel

    @property
    def user(self) -> str: ...

    def close(self) -> bool: ...

    def isVisible(self) -> bool: ...

    def show_from_tray(self) -> None: ...


def unread_text(rooms: Iterable[tuple[str, int]], dms: Iterable[tuple[str, int]]) -> str:
    """"3 unread in #general, 2 unread in #random, 1 direct message" ('' when none):
    rooms by name with their counts, direct messages added up."""
    parts = [f"{n} unread in #{room}" for room, n in rooms if n > 0]
    dm_total = sum(n for _peer, n in dms if n > 0)
    if dm_total:
        parts.append(f"{dm_total} direct message" + ("s" if dm_total != 1 else ""))
    return ", ".join(parts)


def unread_of(model: SidebarModel) -> str:
    """The unread summary of one window's sidebar."""
    return unread_text(((r, model.unread("room", r)) for r in model.keys("room")),
                       ((d, model.unread("dm", d)) for d in model.keys("dm")))


class AppTray(QObject):
    """The tray icon, its menu and tooltip, and the windows it can show again."""

    quit_requested = Signal()

    def __init__(self, available: bool | None = None, parent: QObject | None = None) -> None:
        """``available``: whether a tray exists (None: ask the desktop, every time: a
        panel may start after the app)."""
        super().__init__(parent)
        self._available = available
        self.windows: list[TrayWindow] = []
        #: set by Quit (or the app quitting): closing a window then really closes it
        self.quitting = False
        self.told_kept_running = False
        #: notifications shown, newest last (title, text)
        self.sent: list[tuple[str, str]] = []
        self.icon: QSystemTrayIcon | None = None
        self.menu = QMenu()
        self._tooltip_timer = QTimer(self)
        self._tooltip_timer.setSingleShot(True)
        self._tooltip_timer.setInterval(0)
        self._tooltip_timer.timeout.connect(self.refresh_tooltip)

    @property
    def available(self) -> bool:
        """A system tray exists to put the icon in."""
        if self._available is not None:
            return self._available
        return QSystemTrayIcon.isSystemTrayAvailable()

    # -- the windows -------------------------------------------------------------------------
    def add_window(self, window: TrayWindow) -> None:
        """A main window opened: it gets a Show entry and its unread counts count."""
        if window in self.windows:
            return
        self.windows.append(window)
        model = window.sidebar_model
        for sig in (model.dataChanged, model.rowsInserted, model.rowsRemoved,
                    model.modelReset):
            sig.connect(self._tooltip_timer.start)
        if self.available:
            self._ensure_icon()
        self._rebuild_menu()
        self.refresh_tooltip()

    def remove_window(self, window: TrayWindow) -> None:
        """A main window closed for good; the icon goes with the last one."""
        if window in self.windows:
            self.windows.remove(window)
        if not self.windows and self.icon is not None:
            self.icon.hide()
        self._rebuild_menu()
        self.refresh_tooltip()

    def keeps_running(self) -> bool:
        """Closing a window hides it rather than quitting (a tray exists, not quitting)."""
        return self.available and not self.quitting

    def window_hidden(self) -> None:
        """A window was closed into the tray: say so, the first time."""
        if not self.told_kept_running:
            self.told_kept_running = True
            self.notify("SockDesk is still running", KEPT_RUNNING)

    def quit(self) -> None:
        """The tray's Quit: every window closes for good (sessions shut down as when
        the app quits); the app, if it listens, ends."""
        self.quitting = True
        for w in self._live():
            w.close()
        self.quit_requested.emit()

    def _live(self) -> list[TrayWindow]:
        """The windows still there (one deleted without closing is forgotten)."""
        self.windows = [w for w in self.windows if shiboken6.isValid(w)]
        return list(self.windows)

    # -- what it shows -----------------------------------------------------------------------
    def _ensure_icon(self) -> QSystemTrayIcon:
        if self.icon is None:
            self.icon = QSystemTrayIcon(theme.icon("app"), self)
            self.icon.setContextMenu(self.menu)
            self.icon.activated.connect(self._activated)
        if not self.icon.isVisible():
            self.icon.show()
        return self.icon

    def _rebuild_menu(self) -> None:
        self.menu.clear()
        windows = self._live()
        several = len(windows) > 1
        for w in windows:
            name = f"Show SockDesk — {w.user}" if several and w.user else "Show SockDesk"
            action = self.menu.addAction(name)
            action.triggered.connect(w.show_from_tray)
        self.menu.addSeparator()
        quit_action = self.menu.addAction(theme.icon("log-out"), "Quit")
        quit_action.triggered.connect(self.quit)

    def entries(self) -> list[str]:
        """The menu's entries, as shown (separators left out)."""
        return [a.text() for a in self.menu.actions() if not a.isSeparator()]

    def tooltip(self) -> str:
        """"SockDesk — 3 unread in #general, 1 direct message" (per user with several
        windows); "SockDesk" when nothing is unread."""
        windows = self._live()
        several = len(windows) > 1
        parts = []
        for w in windows:
            text = unread_of(w.sidebar_model)
            if text:
                parts.append(f"{w.user}: {text}" if several and w.user else text)
        return "SockDesk — " + "; ".join(parts) if parts else "SockDesk"

    def refresh_tooltip(self) -> None:
        if self.icon is not None:
            self.icon.setToolTip(self.tooltip())

    def notify(self, title: str, text: str) -> bool:
        """A desktop notification through the tray; False where there is none."""
        if not self.available:
            return False
        self._ensure_icon().showMessage(title, text,
                                        QSystemTrayIcon.MessageIcon.Information, 5000)
        self.sent.append((title, text))
        return True

    def _activated(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        """A click on the icon shows the first window that is hidden (or the first)."""
        windows = self._live()
        if reason != QSystemTrayIcon.ActivationReason.Trigger or not windows:
            return
        hidden = [w for w in windows if not w.isVisible()]
        (hidden or windows)[0].show_from_tray()


_tray: AppTray | None = None


def app_tray() -> AppTray:
    """The process's tray (made on first use)."""
    global _tray
    if _tray is None or not shiboken6.isValid(_tray):
        _tray = AppTray()
    return _tray


def install_tray(tray: AppTray | None) -> None:
    """Use ``tray`` as the process's tray (tests: a tray that exists offscreen); None
    forgets it, so the next ``app_tray()`` asks the desktop again."""
    global _tray
    _tray = tray
