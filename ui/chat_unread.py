"""Unread counts that outlive the app.

Slack and Element keep a conversation unread until you look at it, restarts included.
SockDesk counted only what arrived while it ran: quitting with "#general 2" and an
@mention waiting, the next start showed them read. The counts are the sidebar's (rooms
and DMs, mentions of you among them). They are saved in the user's settings, per
workspace and user, whenever one changes, and put back when a session opens, after the
store's history is shown. History shown at start-up is never counted again: only what
arrives, or is recovered, is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ui.models.sidebar import SidebarModel
    from ui.settings import Settings

#: the settings group, one entry per workspace and user (`ui.chat_attention.mute_key`)
UNREAD_GROUP = "chat/unread"
#: the conversations that have unread counts
KINDS = ("room", "dm")


class UnreadMarks:
    """Saves and restores ``model``'s unread counts under ``key()``."""

    def __init__(self, settings: Settings, model: SidebarModel,
                 key: Callable[[], str]) -> None:
        self.settings = settings
        self.model = model
        self.key = key

    def _setting(self) -> str:
        return f"{UNREAD_GROUP}/{self.key()}"

    def save(self) -> None:
        """Keep the counts as they are now (only the conversations with some)."""
        m = self.model
        marks = {f"{kind}:{name}": [m.unread(kind, name), m.mentions(kind, name)]
                 for kind in KINDS for name in m.keys(kind) if m.unread(kind, name)}
        self.settings.set_json(self._setting(), marks)

    def restore(self) -> None:
        """Put the saved counts back on the conversations the sidebar has (a saved one
        it no longer lists, or a damaged entry, is left out)."""
        marks = self.settings.get_json(self._setting(), {})
        if not isinstance(marks, dict):
            return
        for name, counts in marks.items():
            kind, _, target = str(name).partition(":")
            if kind not in KINDS or target not in self.model.keys(kind):
                continue
            if not (isinstance(counts, list) and len(counts) == 2
                    and all(isinstance(n, int) and n >= 0 for n in counts)):
                continue
            unread, mentions = counts
            mentions = min(mentions, unread)
            self.model.set_unread(kind, target, unread - mentions)
            if mentions:
                self.model.bump_unread(kind, target, mentions, mention=True)
