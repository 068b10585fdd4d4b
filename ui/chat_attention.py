"""What deserves the user's attention in chat: muted rooms and mentions of ``@me``.

A team room that is busy all day is muted (Slack-like): its messages neither notify nor
count as unread, so the sidebar stays calm. A message that names you (``@alice``) is the
exception: it notifies and counts even in a muted room, and even while the window is
active but shows another conversation, because somebody asked *you* something.

Mute is per workspace and per identity (a ``--clients`` window is its own user), kept in
the app's settings (``ui.settings.Settings``) under the workspace's id, so it survives
restarts and does not follow the user to another server.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

if TYPE_CHECKING:
    from ui.settings import Settings
    from ui.widgets.sidebar import Sidebar

#: the settings group of the muted rooms (one JSON list per workspace and user)
MUTE_GROUP = "chat/muted"


def mentions(text: str, me: str) -> bool:
    """``text`` mentions ``@me``: the name after ``@``, case-insensitive, as a whole word
    (``@alice,`` and ``(@Alice)`` do; ``@alicex``, ``bob@alice.org`` and ``alice``
    without the ``@`` do not)."""
    if not me or not text:
        return False
    pattern = rf"(?<![\w.@-])@{re.escape(me)}(?![\w-]|\.\w)"
    return re.search(pattern, text, re.IGNORECASE) is not None


def mute_key(workspace_id: str, as_user: str | None) -> str:
    """Whose muted rooms: the workspace's, or a ``--clients`` user's on it."""
    if not as_user:
        return workspace_id
    return workspace_id + "@" + re.sub(r"[^A-Za-z0-9._-]", "_", as_user)


class MutedRooms(QObject):
    """The muted rooms of the workspace shown; ``changed(room, muted)`` when one flips.

    ``key`` says whose rooms these are (the workspace id, plus the user of a
    ``--clients`` window); it is asked every time, so a window that switches workspace
    reads the new workspace's rooms with no reloading step to forget."""

    changed = Signal(str, bool)

    def __init__(self, settings: Settings, key: Callable[[], str],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.key = key

    def _setting(self) -> str:
        return f"{MUTE_GROUP}/{self.key()}"

    def rooms(self) -> set[str]:
        """Every muted room of this workspace (a damaged setting counts as none)."""
        value = self.settings.get_json(self._setting(), [])
        return {r for r in value if isinstance(r, str)} if isinstance(value, list) else set()

    def is_muted(self, room: str) -> bool:
        return room in self.rooms()

    def set_muted(self, room: str, muted: bool) -> None:
        """Mute or unmute ``room``; saved at once."""
        rooms = self.rooms()
        if (room in rooms) == muted:
            return
        if muted:
            rooms.add(room)
        else:
            rooms.discard(room)
        self.settings.set_json(self._setting(), sorted(rooms))
        self.settings.sync()
        self.changed.emit(room, muted)


def attention(kind: str, key: str, text: str, *, me: str, muted: bool, showing: bool,
              active: bool) -> tuple[bool, bool]:
    """(count it as unread, notify) for a new message from somebody else.

    ``showing``: the conversation is on screen (its tab in front); ``active``: the window
    has the focus. A mention of you in a room always counts unless you are looking at it,
    and notifies unless you are looking at it in the active window, muted room or not.
    Anything else in a muted room is quiet; elsewhere it counts when not shown and
    notifies when the window is not active (DMs are never muted)."""
    mentioned = kind == "room" and mentions(text, me)
    if mentioned:
        return not showing, not (showing and active)
    quiet = kind == "room" and muted
    return (not showing and not quiet), (not active and not quiet)


class MuteFollower(QObject):
    """Keeps the sidebar's room entries drawn muted as ``MutedRooms`` says, and turns the
    sidebar's Mute/Unmute into ``MutedRooms.set_muted``."""

    def __init__(self, muted: MutedRooms, sidebar: Sidebar,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.muted = muted
        self.model = sidebar.model
        sidebar.mute_requested.connect(muted.set_muted)
        muted.changed.connect(lambda room, on: self.model.set_muted("room", room, on))
        self.model.rowsInserted.connect(lambda *_a: self.refresh())
        self.model.modelReset.connect(self.refresh)

    def refresh(self) -> None:
        """Every room entry drawn as muted or not (a new entry, another workspace)."""
        rooms = self.muted.rooms()
        for room in self.model.keys("room"):
            self.model.set_muted("room", room, room in rooms)
