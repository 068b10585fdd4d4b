"""Find in chat: Ctrl+F in the conversation shown, Ctrl+Shift+F across all of them.

Both search the store (``app.chat_search``: its FTS index, the `text` column only), not
the message model, because a conversation shows only its newest few hundred messages
while the store holds all of them. A hit the conversation does not hold yet is read
back from the store, from the hit up to what is shown, and added in its place; then the
chat pane selects it and scrolls to it. The bar and the dialog are plain widgets
(``ui.widgets.find_bar``, ``ui.widgets.chat_search``); this is what connects them to the
store and the conversations.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import QObject, QTimer
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QWidget

from app.chat_search import (
    CONVERSATION_HITS,
    ChatHit,
    ChatKind,
    conversation_rows,
    find_everywhere,
    find_in_conversation,
)
from app.keys import Kind, is_kind
from ui import theme
from ui.models.chat import ChatMessageModel, IdRole
from ui.widgets.chat_search import ChatSearchDialog
from ui.widgets.find_bar import FindBar

if TYPE_CHECKING:
    from app.session import Session
    from app.store import StoredMessage
    from ui.conversations import Conversations
    from ui.widgets.chat import ChatPane

log = logging.getLogger(__name__)

#: rows read from the store per page while reaching back to an old hit
PAGE = 1000
#: most rows added to a conversation to reach one hit: beyond, the hit is too far back
#: to show in the chat (a conversation model holds 20,000 rows)
MAX_LOAD = 10_000
#: how often (and how far apart, ms) a jump is retried while the list lays rows out
SETTLE_TRIES = 300
SETTLE_MS = 10


class FindHost(Protocol):
    """What find needs from the window around it."""

    @property
    def session(self) -> Session | None: ...

    @property
    def user(self) -> str: ...

    def chat_in_front(self) -> bool: ...

    def show_error(self, text: str) -> None: ...


def _key_of(m: StoredMessage) -> str | None:
    first = m.args[0] if m.args and isinstance(m.args[0], dict) else {}
    key = m.msg_id or first.get("id")
    return key if isinstance(key, str) and key else None


class ChatFind(QObject):
    """The find bar of the chat pane and the search-everywhere dialog."""

    def __init__(self, host: FindHost, conversations: Conversations, chat: ChatPane,
                 elsewhere: Callable[[], None], parent: QWidget) -> None:
        """``elsewhere``: what Ctrl+F does when the Chat tab is not in front (the
        Events tab's packet filter)."""
        super().__init__(parent)
        self.host = host
        self.conversations = conversations
        self.chat = chat
        self.elsewhere = elsewhere
        self.window = parent
        self.bar = FindBar()
        chat.set_find_bar(self.bar)
        self.bar.add_shortcuts(chat)
        self.bar.term_changed.connect(self.search)
        self.bar.next_requested.connect(self.next)
        self.bar.previous_requested.connect(self.previous)
        self.bar.closed.connect(self._closed)
        # Esc in the message list (clicked after a jump) closes the bar too
        chat.view.escape_pressed.connect(
            lambda: self.bar.close_bar() if self.bar.isVisible() else None)
        self.dialog: ChatSearchDialog | None = None
        #: hits in the conversation searched, newest first, and the one shown
        self.hits: list[ChatHit] = []
        self.current = -1
        self._where: tuple[str, str] = ("", "")
        self._term = ""
        self._session: Session | None = None  # the one searched (a workspace switch)
        self._highlighted: ChatMessageModel | None = None
        conversations.sidebar.conversation_selected.connect(
            # this object as the timer's context: never called once it is deleted
            lambda *_a: QTimer.singleShot(0, self, self._conversation_changed))

        self.menu = QMenu("&Edit", parent)
        self.find_action = QAction(theme.icon("search"), "&Find…", parent)
        self.find_action.setShortcut(QKeySequence.StandardKey.Find)
        self.find_action.setToolTip("Chat: find in this conversation. Events: the filter.")
        self.find_action.triggered.connect(self.find_pressed)
        self.global_action = QAction("Search all &conversations…", parent)
        self.global_action.setShortcut(QKeySequence("Ctrl+Shift+F"))
        self.global_action.triggered.connect(self.open_global)
        self.menu.addAction(self.find_action)
        self.menu.addAction(self.global_action)
        parent.addAction(self.find_action)
        parent.addAction(self.global_action)

    # -- find in the conversation shown ---------------------------------------------------------
    def find_pressed(self) -> None:
        """Ctrl+F: the find bar in the Chat tab, the packet filter anywhere else."""
        if self.host.chat_in_front():
            self.open_bar()
        else:
            self.elsewhere()

    def open_bar(self) -> None:
        """Show the find bar over the conversation shown (nothing without one)."""
        if not self.chat.kind:
            self.host.show_error("Open a room or a direct message first, then find in it")
            return
        self.bar.open_bar()
        if self.bar.term and (self.chat.kind, self.chat.target) != self._where:
            self.search(self.bar.term)

    def search(self, term: str, jump: bool = True) -> None:
        """Look for ``term`` in the conversation shown and jump to the newest hit
        (``jump``)."""
        session = self.host.session
        kind, target = self.chat.kind, self.chat.target
        self._term = term
        self._where = (kind, target)
        self._session = session
        self.hits, self.current = [], -1
        self._highlight(term)
        if session is None or not kind or not term:
            self.bar.set_count(None)
            return
        try:
            self.hits = find_in_conversation(session.store, _chat_kind(kind), target, term,
                                             me=self.host.user)
        except Exception as exc:  # an unreadable store: say so, do not fail the GUI
            log.debug("find failed: %s", exc)
            self.bar.set_count(None, note="Search unavailable")
            return
        if not self.hits:
            self.bar.set_count(None)
        elif jump:
            self.go(0)

    def next(self) -> None:
        """The next older hit (after the oldest: the newest again)."""
        self._step(1)

    def previous(self) -> None:
        """The next newer hit (after the newest: the oldest)."""
        self._step(-1)

    def _step(self, delta: int) -> None:
        if (self.chat.kind, self.chat.target) != self._where or self.bar.term != self._term \
                or self.host.session is not self._session:
            self.search(self.bar.term)
            return
        if self.hits:
            self.go((self.current + delta) % len(self.hits))

    def go(self, i: int) -> bool:
        """Show hit ``i`` (0 = the newest); False when it cannot be shown."""
        self.current = i
        hit = self.hits[i]
        shown, why = self.reveal(hit)
        self._mark_current(hit.key if shown else "")
        total = len(self.hits)
        more = "+" if total >= CONVERSATION_HITS else ""
        self.bar.set_count(i + 1, total, note=f"{i + 1} of {total}{more}"
                           + (f" · {why}" if why else ""))
        return shown

    def _highlight(self, term: str) -> None:
        model = self.chat.view.model()
        if self._highlighted is not None and self._highlighted is not model:
            self._highlighted.set_highlight("")
            self._highlighted.set_current_hit("")
        elif self._highlighted is not None:
            self._highlighted.set_current_hit("")   # a new search: no current hit yet
        self._highlighted = model if isinstance(model, ChatMessageModel) else None
        if self._highlighted is not None:
            self._highlighted.set_highlight(term)

    def _mark_current(self, key: str) -> None:
        """The current hit stands out from the others (in the model highlighted)."""
        if self._highlighted is not None:
            self._highlighted.set_current_hit(key)

    def _closed(self) -> None:
        """Esc: no more highlight, and back to writing."""
        if self._highlighted is not None:
            self._highlighted.set_highlight("")
            self._highlighted.set_current_hit("")
            self._highlighted = None
        self.hits, self.current, self._where, self._term = [], -1, ("", ""), ""
        self.chat.editor.setFocus()

    def _conversation_changed(self) -> None:
        if self.bar.isVisible() and (self.chat.kind, self.chat.target) != self._where:
            self.search(self.bar.term)

    # -- reaching a hit ---------------------------------------------------------------------------
    def reveal(self, hit: ChatHit) -> tuple[bool, str]:
        """Select and scroll to ``hit`` in its conversation (shown already), reading it
        and what lies between it and what is shown from the store first; (shown, why
        not)."""
        model = self.conversations.conversation(hit.kind, hit.target)
        model.flush()
        if not model.has(hit.key):
            why = self._load_back_to(hit, model)
            if why:
                return False, why
        if self.chat.scroll_to_key(hit.key):
            self._settle(hit.key, SETTLE_TRIES)
            return True, ""
        return False, "not in this conversation any more"

    def _settle(self, key: str, tries: int) -> None:
        """Scroll to ``key`` again until it has a place: the message list lays its rows
        out in batches, one per event-loop turn, and scrolling to a row not laid out
        yet (thousands were just added) does nothing."""
        view = self.chat.view
        index = view.currentIndex()
        model = index.model()
        if model is None or model.data(index, IdRole) != key or tries <= 0:
            return  # another hit or message was chosen meanwhile
        if not view.visualRect(index).isValid() or \
                not view.viewport().rect().intersects(view.visualRect(index)):
            self.chat.scroll_to_key(key)
            # tied to the view: dropped if the window goes away before it fires
            QTimer.singleShot(SETTLE_MS, view, lambda: self._settle(key, tries - 1))

    def _load_back_to(self, hit: ChatHit, model: ChatMessageModel) -> str:
        """Add the rows from ``hit`` up to the first one the model holds; the reason
        when that is too many (nothing is added then: no gap is ever left)."""
        session = self.host.session
        if session is None:
            return "not connected to a store"
        rows: list[Any] = []
        ts, rowid = hit.ts, hit.rowid
        while True:
            page = conversation_rows(session.store, hit.kind, hit.target, ts, rowid, PAGE)
            reached = False
            for m in page:
                key = _key_of(m)
                if key is not None and model.has(key):
                    if not is_kind(m.queue, Kind.OUTBOX):
                        reached = True  # the history shown starts here
                        break
                    continue
                rows.append(m)
            if len(rows) > MAX_LOAD:
                return f"too far back to show here (over {MAX_LOAD:,} messages)"
            if reached or len(page) < PAGE:
                break
            ts, rowid = page[-1].ts, page[-1].rowid + 1
        self.conversations.add_stored(hit.kind, hit.target, rows)
        model.flush()
        return ""

    # -- search everywhere ------------------------------------------------------------------------
    def open_global(self) -> ChatSearchDialog:
        """Ctrl+Shift+F: the dialog listing hits in every room and DM."""
        if self.dialog is None:
            self.dialog = ChatSearchDialog(self.window)
            self.dialog.query_changed.connect(self.search_everywhere)
            self.dialog.hit_activated.connect(self.jump_to)
        self.dialog.open_dialog()
        if self.dialog.term:  # what arrived since it was last open is listed too
            self.dialog.emit_query()
        return self.dialog

    def search_everywhere(self, term: str) -> None:
        dialog = self.dialog
        session = self.host.session
        if dialog is None:
            return
        if session is None or not term:
            dialog.set_results([], 0)
            return
        try:
            hits, total = find_everywhere(session.store, term, me=self.host.user)
        except Exception as exc:
            log.debug("search failed: %s", exc)
            hits, total = [], 0
        dialog.set_results(hits, total)

    def jump_to(self, hit: ChatHit) -> bool:
        """Open the hit's conversation with the find bar on the term, at that hit (the
        dialog steps aside, keeping its list for the next Ctrl+Shift+F)."""
        conv = self.conversations
        if self.dialog is not None:
            self.dialog.hide()
        if hit.kind == "dm":
            conv.open_dm(hit.target)
        conv.show_conversation(hit.kind, hit.target)
        if (self.chat.kind, self.chat.target) != (hit.kind, hit.target):
            self.host.show_error(f"Could not open {hit.target}")
            return False
        term = self.dialog.term if self.dialog is not None else ""
        self.bar.line.blockSignals(True)
        self.bar.line.setText(term)
        self.bar.line.blockSignals(False)
        self.bar.show()
        # the keyboard goes to the bar (the dialog had it): Esc closes it, Enter steps on
        self.bar.line.setFocus()
        self.search(term, jump=False)
        where = next((i for i, h in enumerate(self.hits) if h.key == hit.key), None)
        if where is None:  # not a hit of the bar's search after all: show it anyway
            return self.reveal(hit)[0]
        return self.go(where)


def _chat_kind(kind: str) -> ChatKind:
    return "room" if kind == "room" else "dm"
