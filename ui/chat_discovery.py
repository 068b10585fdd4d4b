"""Finding rooms and people: the room directory, the people list, and DMs to strangers.

The dialogs are widgets (``ui.widgets.room_directory``, ``ui.widgets.people``); this asks
the server for what they show (``rooms`` and ``users`` on ``/chat``) each time one is
opened or refreshed, and says plainly why it cannot when the window is offline or the
server is not SockDesk's.

A DM to a name the server has never seen is asked about first: ``@carl`` for ``@carol``
would otherwise wait in a mailbox nobody opens, while showing as delivered. When the
server cannot say (offline, a foreign server) nobody is asked: the message waits in the
outbox as any other.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMessageBox, QWidget

from ui import theme
from ui.widgets.people import PeopleDialog
from ui.widgets.room_directory import RoomDirectory
from ui.widgets.server_list import ServerListDialog

if TYPE_CHECKING:
    from app.session import Session
    from ui.host import WindowHost

log = logging.getLogger(__name__)
T = TypeVar("T")

BROWSE_SHORTCUT = "Ctrl+Shift+L"   # Slack's "browse channels"
PEOPLE_SHORTCUT = "Ctrl+Shift+E"   # Slack's "people"


def unknown_user_question(name: str) -> str:
    return (f"Nobody called '{name}' has used this server. Send anyway?\n\nThe message "
            "would wait in their mailbox until somebody connects with that name.")


class Discovery(QObject):
    """Opens the room directory and the people list, and starts DMs (asking first when
    the name is unknown to the server)."""

    def __init__(self, host: WindowHost, window: QWidget | None, *, me: Callable[[], str],
                 off_reason: Callable[[], str | None], connected: Callable[[], bool],
                 join: Callable[[str], object], open_dm: Callable[[str], None],
                 known_dm: Callable[[str], bool], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.host = host
        self.window = window
        self.me = me
        self.off_reason = off_reason
        self.connected = connected
        self.join = join
        self.open_dm = open_dm
        self.known_dm = known_dm
        self.directory: RoomDirectory | None = None
        self.people: PeopleDialog | None = None
        self.menu = QMenu("&Chat", window)
        browse = QAction(theme.icon("hash"), "Browse rooms…", self.menu)
        browse.setShortcut(QKeySequence(BROWSE_SHORTCUT))
        browse.triggered.connect(self.open_directory)
        people = QAction(theme.icon("users"), "People…", self.menu)
        people.setShortcut(QKeySequence(PEOPLE_SHORTCUT))
        people.triggered.connect(self.open_people)
        self.menu.addAction(browse)
        self.menu.addAction(people)
        if window is not None:   # the shortcuts work with the menu bar hidden too
            window.addAction(browse)
            window.addAction(people)

    # -- why the server cannot be asked ---------------------------------------------------
    def _cannot_ask(self) -> str | None:
        if self.host.session is None:
            return "Not connected to any server yet: press Connect (Ctrl+K)."
        off = self.off_reason()
        if off is not None:
            return off
        if not self.connected():
            return "You're offline: this list comes from the server. It is filled in " \
                   "once the connection is back (Refresh)."
        return None

    # -- the room directory ---------------------------------------------------------------
    def open_directory(self) -> RoomDirectory:
        """Show the room directory (one per window), refreshed from the server."""
        dlg = self.directory
        if dlg is None:
            dlg = self.directory = RoomDirectory(self.window)
            dlg.join_requested.connect(self.join)
            dlg.refresh_requested.connect(lambda: self.host.spawn(self.refresh_directory()))
        dlg.filter.clear()
        dlg.open()
        dlg.filter.setFocus()
        self.host.spawn(self.refresh_directory())
        return dlg

    async def refresh_directory(self) -> None:
        dlg = self.directory
        if dlg is None:
            return
        rooms = await self._ask(dlg, "rooms", lambda s: s.chat.list_rooms(),
                                lambda: dlg.set_rooms([]))
        if rooms is not None and self.host.session is not None:
            dlg.set_rooms(rooms, set(self.host.session.chat.rooms))

    async def _ask(self, dlg: ServerListDialog, what: str,
                   question: Callable[[Session], Awaitable[list[T]]],
                   empty: Callable[[], None]) -> list[T] | None:
        """Ask the server for the list shown in ``dlg``. None, with the sentence why in
        the dialog, when it cannot be asked (the list is emptied first: it would be
        another server's or a stale one) or did not answer (the list is kept)."""
        why = self._cannot_ask()
        session = self.host.session
        if why is not None or session is None:
            empty()
            dlg.set_message(why)
            return None
        dlg.set_message("Asking the server…")
        try:
            return await question(session)
        except Exception as exc:
            dlg.set_message(f"Could not list the server's {what}: "
                            f"{exc or type(exc).__name__}")
            return None

    # -- the people list ------------------------------------------------------------------
    def open_people(self) -> PeopleDialog:
        """Show the people list (one per window), refreshed from the server."""
        dlg = self.people
        if dlg is None:
            dlg = self.people = PeopleDialog(self.me(), self.window)
            dlg.dm_requested.connect(self.open_dm)
            dlg.refresh_requested.connect(lambda: self.host.spawn(self.refresh_people()))
        dlg.me = self.me()
        dlg.filter.clear()
        dlg.open()
        dlg.filter.setFocus()
        self.host.spawn(self.refresh_people())
        return dlg

    async def refresh_people(self) -> None:
        dlg = self.people
        if dlg is None:
            return
        people = await self._ask(dlg, "users", lambda s: s.chat.list_people(),
                                 lambda: dlg.set_people([]))
        if people is not None:
            dlg.set_people(people)

    # -- direct messages ------------------------------------------------------------------
    def start_dm(self, name: str) -> asyncio.Task[None]:
        """A DM typed by name (the sidebar's ``@name``): asked about first when the
        server has never seen that name."""
        return self.host.spawn(self.start_dm_checked(name))

    async def start_dm_checked(self, name: str) -> bool:
        """Open the DM with ``name`` unless the user, asked, said no; True if opened."""
        session = self.host.session
        if not name or name == self.me():
            return False
        if session is not None and not self.known_dm(name) and self.off_reason() is None:
            try:
                known = await session.chat.known_user(name)
            except Exception as exc:  # the question is a courtesy: never block a DM on it
                log.debug("known_user(%s) failed: %s", name, exc)
                known = None
            if known is False and not await self.confirm_unknown(name):
                return False
        self.open_dm(name)
        return True

    async def confirm_unknown(self, name: str) -> bool:
        """Ask whether to write to a name the server has never seen (without blocking
        the event loop: the question is a window-modal box awaited here)."""
        box = QMessageBox(QMessageBox.Icon.Question, "Unknown user",
                          unknown_user_question(name),
                          QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel,
                          self.window)
        box.button(QMessageBox.StandardButton.Yes).setText("Send anyway")
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        answer: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

        def done(code: int) -> None:
            clicked = box.clickedButton()
            if not answer.done():
                answer.set_result(clicked is not None and box.standardButton(clicked)
                                  == QMessageBox.StandardButton.Yes)
            box.deleteLater()

        box.finished.connect(done)
        box.open()
        return await answer
