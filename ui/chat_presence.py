"""Honest presence: what the chat says while this window's connection is down.

A dead connection freezes the last presence the server told us: teammates stay green
although nobody can know whether they are there. So while the connection is down the
chat pane shows a banner that says what is going on, and the member list (you included,
and your own dot in the sidebar) greys out. Nobody is said to have *left*: when the
server cannot be reached at all, the banner says so ("Can't reach the server…"), which
is true for everybody, instead of making teammates look gone.

The members come back from the fresh join acks: the list stays grey until ``/chat`` is
ready again (the core re-joins every room, with their member lists, before that), not
merely until the transport is up.

Which case it is comes from the connection manager's state changes (``app.manager``):
each says whether its last attempt to reach the server failed (``unreachable``), which
is what tells "the server cannot be reached" from "our connection blinked".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol
from urllib.parse import urlsplit

from PySide6.QtCore import QObject

from app.session_state import ConnectionState, StateChange
from ui.text import one_line

CHAT_NS = "/chat"
OFFLINE_BANNER = "You're offline — messages will be sent when the server is back"
DISCONNECTED_BANNER = ("You disconnected — messages wait in the outbox until you connect "
                       "again")
#: the host's own app after Hosting → Stop hosting: nothing is wrong, it was asked for
HOSTING_STOPPED_BANNER = ("You stopped hosting — start it again from the Hosting menu; "
                          "messages wait in the outbox")
#: offline reasons that are no news: nothing shown yet, or the window is closing
_QUIET_OFFLINE = ("", "Closed")


#: the bundled server's refusal of a name claimed by someone else (docs/PROTOCOL.md)
_NAME_TAKEN = re.compile(r"the name (.+?) is taken")


def taken_name(reason: str | None) -> str | None:
    """The name a refusal says is taken (``None``: not that refusal)."""
    found = _NAME_TAKEN.search(reason or "")
    return found.group(1) if found is not None else None


def name_taken_banner(name: str) -> str:
    """The banner when the server refused the name: say what to do about it (the
    outbox will not get anywhere under that name)."""
    return (f"The name {name} is taken on this server — type another name in the bar "
            "and press Enter; your messages wait in the outbox")


def unreachable_banner(where: str) -> str:
    """The banner while connection attempts fail."""
    return (f"Can't reach the server at {where} — retrying; your messages wait in the "
            "outbox")


def host_of(url: str) -> str:
    """``host:port`` of a URL (the URL itself when it has no host)."""
    parts = urlsplit(url)
    return parts.netloc or url or "?"


class PresenceView(Protocol):
    """The chat pane's part: a banner and a member list that can grey out."""

    def set_banner(self, text: str | None) -> None: ...

    def set_members_offline(self, offline: bool) -> None: ...


class SelfStatusView(Protocol):
    """The sidebar's part: your own presence dot."""

    def set_self_online(self, online: bool) -> None: ...


class HonestPresence(QObject):
    """Follows the connection state and the readiness of ``/chat``; drives the banner,
    the member list's greying and your own dot."""

    def __init__(self, pane: PresenceView, status: SelfStatusView, where: Callable[[], str],
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.pane = pane
        self.status = status
        self.where = where
        self.banner: str | None = None
        self.members_offline = False
        self._connected = False
        self._chat_ready = False
        self._failing = False
        self._chat_off = False
        #: the user pressed Disconnect (until the next connection attempt)
        self._you_disconnected = False
        #: this app hosts the workspace and the user stopped hosting it
        self._hosting_stopped = False
        #: the last state change seen: (state, reason)
        self._last = ("offline", "")
        self._apply()

    def you_disconnected(self) -> None:
        """The user pressed Disconnect: the offline that follows is theirs, not a fault."""
        self._you_disconnected = True
        self._rebanner()

    def set_hosting_stopped(self, stopped: bool) -> None:
        """The user stopped (True) or started again (False) the server this app hosts
        for the workspace shown: its own connection failing is no news then."""
        self._hosting_stopped = stopped
        self._rebanner()

    def _rebanner(self) -> None:
        if not self._connected:
            self.banner = self._banner_for(*self._last)
            self._apply()

    def set_chat_off(self, off: bool) -> None:
        """Chat is off (a server that is not SockDesk's): no rooms to wait for, so being
        connected is being online."""
        self._chat_off = off
        self._apply()

    def reset(self) -> None:
        """A new session (or none): nothing is known yet, so nothing is claimed."""
        self._connected = self._chat_ready = self._failing = False
        self._you_disconnected = self._hosting_stopped = False
        self._last = ("offline", "")
        self.banner = None
        self._apply()

    def on_change(self, change: StateChange) -> None:
        """A state change of the connection (``bridge.connection_changed``)."""
        self._connected = change.state == ConnectionState.CONNECTED
        self._failing = change.unreachable and not self._connected
        self._last = (change.state.value, change.reason)
        if change.state != ConnectionState.OFFLINE:
            self._you_disconnected = False  # connecting again (or connected)
        if self._connected:
            self.banner = None
        else:
            self._chat_ready = False
            self.banner = self._banner_for(change.state.value, change.reason)
        self._apply()

    def on_namespace_ready(self, namespace: str, ready: bool) -> None:
        """``/chat`` ready: every room was re-joined, so the member lists are fresh."""
        if namespace == CHAT_NS:
            self._chat_ready = ready
            self._apply()

    def _banner_for(self, state: str, reason: str) -> str | None:
        where = host_of(self.where())
        if state == "offline" and reason in _QUIET_OFFLINE:
            return None
        if self._hosting_stopped:
            return HOSTING_STOPPED_BANNER
        if state == "offline":
            if self._you_disconnected:
                return DISCONNECTED_BANNER
            taken = taken_name(reason)
            if taken is not None:
                return name_taken_banner(taken)
            return (f"You're offline — {one_line(reason, 160).rstrip('.')}; your messages "
                    "wait in the outbox")
        if self._failing:
            return unreachable_banner(where)
        if state == "reconnecting":
            return OFFLINE_BANNER
        return self.banner  # connecting: the first attempt says nothing new yet

    def _apply(self) -> None:
        self.members_offline = not (self._connected and (self._chat_ready or self._chat_off))
        self.pane.set_banner(self.banner)
        self.pane.set_members_offline(self.members_offline)
        self.status.set_self_online(not self.members_offline)
