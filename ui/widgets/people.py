"""The people list: everybody who has used this server, who is online, who was seen when.

A widget only: ``ui.chat_discovery`` asks the server (``users``) and fills it; a
double-click (or Message) says ``dm_requested(user)``. Online people come first with a
green dot, then the others, most recently seen first, with "last seen 2 h ago". Names are
plain text with control characters made visible.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Protocol

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QWidget,
)

from ui import theme
from ui.text import escape_controls
from ui.widgets.server_list import ServerListDialog

USER_ROLE = Qt.ItemDataRole.UserRole + 1
ONLINE_ROLE = Qt.ItemDataRole.UserRole + 2


class PersonLike(Protocol):
    """What the list shows of a person (``app.chat_changes.Person``)."""

    @property
    def user(self) -> str: ...

    @property
    def online(self) -> bool: ...

    @property
    def last_seen(self) -> float | None: ...


def seen_ago(ts: float | None, now: float | None = None) -> str:
    """"last seen 2 h ago" and the like (coarse on purpose: presence, not a log)."""
    if ts is None:
        return "never seen"
    delta = max(0.0, (time.time() if now is None else now) - ts)
    if delta < 60:
        return "last seen just now"
    if delta < 3600:
        return f"last seen {int(delta // 60)} min ago"
    if delta < 86400:
        return f"last seen {int(delta // 3600)} h ago"
    days = int(delta // 86400)
    return f"last seen {days} day{'s' if days != 1 else ''} ago"


def _dot(color: QColor) -> QIcon:
    px = QPixmap(14, 14)
    px.fill(Qt.GlobalColor.transparent)
    painter = QPainter(px)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(color)
    painter.drawEllipse(3, 3, 8, 8)
    painter.end()
    return QIcon(px)


class PeopleDialog(ServerListDialog):
    """Online first, then the rest by when they were last seen; double-click to DM."""

    dm_requested = Signal(str)

    def __init__(self, me: str = "", parent: QWidget | None = None) -> None:
        super().__init__("People", "Filter people…", parent)
        self.me = me
        self.resize(380, 440)
        self.filter.textChanged.connect(self._filter_changed)
        self.list = QListWidget()
        self.list.setObjectName("peopleList")
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setToolTip("Double-click someone to start a direct message")
        self.list.itemDoubleClicked.connect(self._message_item)
        self.list.itemSelectionChanged.connect(self._update_buttons)
        self.summary = QLabel("")
        self.summary.setObjectName("hint")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.dm_button = QPushButton(theme.icon("at"), "Message")
        self.dm_button.clicked.connect(self._message_selected)
        self.lay_out(self.list, self.summary, self.dm_button)
        self._update_buttons()

    def set_people(self, people: Iterable[PersonLike], now: float | None = None) -> None:
        """The server's answer; the order is ours (online, then most recently seen)."""
        self.list.clear()
        rows = sorted(people, key=lambda p: (not p.online, -(p.last_seen or 0.0),
                                             p.user.lower()))
        on, off = theme.state_color("connected"), theme.state_color("offline")
        for p in rows:
            you = "  (you)" if p.user == self.me else ""
            status = "online" if p.online else seen_ago(p.last_seen, now)
            item = QListWidgetItem(_dot(on if p.online else off),
                                   f"{escape_controls(p.user)}{you}  —  {status}")
            item.setData(USER_ROLE, p.user)
            item.setData(ONLINE_ROLE, p.online)
            if not p.online:
                item.setForeground(theme.muted())
            self.list.addItem(item)
        n_on = sum(1 for p in rows if p.online)
        self.summary.setText(f"{n_on} online · {len(rows)} people")
        self.set_message(None if rows else "Nobody has used this server yet.")
        self._filter_changed(self.filter.text())

    def entries(self) -> list[tuple[str, str]]:
        """(user, the line shown) in the order shown, filtered-out ones left out."""
        out: list[tuple[str, str]] = []
        for i in range(self.list.count()):
            item = self.list.item(i)
            if not item.isHidden():
                out.append((str(item.data(USER_ROLE)), item.text()))
        return out

    def _filter_changed(self, text: str) -> None:
        needle = text.strip().lstrip("@").lower()
        for i in range(self.list.count()):
            item = self.list.item(i)
            item.setHidden(bool(needle) and needle not in str(item.data(USER_ROLE)).lower())
        self._update_buttons()

    def _selected(self) -> str | None:
        items = [i for i in self.list.selectedItems() if not i.isHidden()]
        user = str(items[0].data(USER_ROLE)) if items else None
        return user if user and user != self.me else None

    def _update_buttons(self) -> None:
        self.dm_button.setEnabled(self._selected() is not None)

    def _message_item(self, item: QListWidgetItem) -> None:
        user = str(item.data(USER_ROLE))
        if user and user != self.me:
            self.dm_requested.emit(user)
            self.accept()

    def _message_selected(self) -> None:
        user = self._selected()
        if user is not None:
            self.dm_requested.emit(user)
            self.accept()
