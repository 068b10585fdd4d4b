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
import difflib
import logging
from collections.abc import Awaitable, Callable, Iterable
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


def unknown_user_question(name: str, suggestion: str | None = None) -> str:
    """The question before a DM to a name the server never saw (with the closest known
    name, when one is close: a typo is the likelier story)."""
    ask = f"Did you mean {suggestion}?" if suggestion else f"Write to {name} anyway?"
    return (f"Nobody called '{name}' has used this server. {ask}\n\nA message to "
            f"{name} would wait in their mailbox until somebody connects with that name.")


def closest_name(name: str, known: Iterable[str]) -> str | None:
    """The known name most like ``name`` (difflib), None when none is close."""
    by_lower = {k.lower(): k for k in known if k and k != name}
    hits = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[hits[0]] if hits else None


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
        #: the question before a DM to an unknown name, while it is open
        self.unknown_box: QMessageBox | None = None
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
            known = await self._server_names(session)
            if known is not None and name not in known:
                chosen = await self.confirm_unknown(name, closest_name(
                    name, [k for k in known if k != self.me()]))
                if chosen is None:
                    return False
                name = chosen
        self.open_dm(name)
        return True

    async def _server_names(self, session: Session) -> list[str] | None:
        """Every name the server has seen on /chat; None when it cannot say (the
        question is a courtesy: never block a DM on it)."""
        if not session.extensions_on or not session.is_connected(session.chat.NAMESPACE):
            return None
        try:
            return [p.user for p in await session.chat.list_people()]
        except Exception as exc:
            log.debug("could not list the server's users: %s", exc)
            return None

    async def confirm_unknown(self, name: str, suggestion: str | None = None) -> str | None:
        """Ask whether to write to a name the server has never seen (without blocking
        the event loop: the question is a window-modal box awaited here): the name to
        open a DM with (``name``, or the ``suggestion`` offered), None for Cancel."""
        box = QMessageBox(QMessageBox.Icon.Question, "Unknown user",
                          unknown_user_question(name, suggestion),
                          QMessageBox.StandardButton.Cancel, self.window)
        anyway = box.addButton(f"Write to {name} anyway", QMessageBox.ButtonRole.AcceptRole)
        instead = box.addButton(f"Write to {suggestion}",
                                QMessageBox.ButtonRole.ActionRole) if suggestion else None
        box.setDefaultButton(instead or QMessageBox.StandardButton.Cancel)
        self.unknown_box = box
        answer: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()

        def done(code: int) -> None:
            clicked = box.clickedButton()
            self.unknown_box = None
            if not answer.done():
                answer.set_result(name if clicked is anyway else suggestion
                                  if instead is not None and clicked is instead else None)
            box.deleteLater()

        box.finished.connect(done)
        box.open()
        return await answer
