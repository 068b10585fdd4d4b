"""Search across all conversations: a query field and the hits, newest first.

A widget only: it asks for a term (once typing pauses) and says which hit the user
activated; ``ui.chat_find`` runs the query and opens the conversation. Every line is
plain text (where, who, when, the words around the term); nothing is rendered.
"""

from __future__ import annotations

import datetime as _dt

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHeaderView,
    QLabel,
    QLineEdit,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.chat_search import ChatHit
from ui.text import escape_controls, format_time, one_line
from ui.widgets.find_bar import DEBOUNCE_MS

#: characters shown before the first occurrence of the term in a long message
LEAD = 30


def snippet(text: str, term: str, limit: int = 160) -> str:
    """One line of ``text`` that shows the first word of ``term``: a long message is
    cut to start a little before it."""
    words = term.split()
    pos = text.lower().find(words[0].lower()) if words else -1
    if pos > LEAD + 10:
        text = "…" + text[pos - LEAD:]
    return one_line(escape_controls(text), limit)


def when_label(ts: float, today: _dt.date | None = None) -> str:
    """The time of a hit: "14:05" today, "Mar 3 14:05" this year, "Mar 3 2024" before."""
    when = _dt.datetime.fromtimestamp(ts)
    today = today or _dt.date.today()
    if when.date() == today:
        return format_time(ts)
    if when.year == today.year:
        return f"{when:%b} {when.day} {format_time(ts)}"
    return f"{when:%b} {when.day} {when.year}"


def where_label(hit: ChatHit) -> str:
    """"#room" or "@user" (a DM)."""
    return ("#" if hit.kind == "room" else "@") + hit.target


class ChatSearchDialog(QDialog):
    """Find a message in any room or DM; activating a hit jumps to it."""

    query_changed = Signal(str)    # the term, once typing has paused
    hit_activated = Signal(object)  # ChatHit

    COLUMNS = ("Where", "Who", "When", "Message")

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("chatSearch")
        self.setWindowTitle("Search all conversations")
        self.resize(680, 440)
        self.line = QLineEdit()
        self.line.setObjectName("chatSearchLine")
        self.line.setPlaceholderText("Search every room and direct message")
        self.line.setClearButtonEnabled(True)
        self.summary = QLabel("")
        self.summary.setObjectName("hint")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.results = QTreeWidget()
        self.results.setObjectName("chatSearchResults")
        self.results.setColumnCount(len(self.COLUMNS))
        self.results.setHeaderLabels(list(self.COLUMNS))
        self.results.setRootIsDecorated(False)
        self.results.setUniformRowHeights(True)
        self.results.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        header = self.results.header()
        header.setStretchLastSection(True)
        for col in range(3):
            header.setSectionResizeMode(col, QHeaderView.ResizeMode.ResizeToContents)
        lay = QVBoxLayout(self)
        lay.addWidget(self.line)
        lay.addWidget(self.summary)
        lay.addWidget(self.results, 1)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.emit_query)
        self.line.textChanged.connect(lambda _t: self._debounce.start())
        self.line.returnPressed.connect(self._activate_first)
        self.results.itemActivated.connect(self._activated)

    @property
    def term(self) -> str:
        return self.line.text().strip()

    def open_dialog(self) -> None:
        """Show (or raise) the dialog with the term selected."""
        self.show()
        self.raise_()
        self.activateWindow()
        self.line.setFocus()
        self.line.selectAll()

    def emit_query(self) -> None:
        self._debounce.stop()
        self.query_changed.emit(self.term)

    def set_results(self, hits: list[ChatHit], total: int) -> None:
        """Show ``hits`` (newest first) out of ``total``."""
        self.results.clear()
        term = self.term
        items = []
        for hit in hits:
            item = QTreeWidgetItem([where_label(hit), escape_controls(hit.user),
                                    when_label(hit.ts), snippet(hit.text, term)])
            item.setData(0, Qt.ItemDataRole.UserRole, hit)
            item.setToolTip(3, one_line(escape_controls(hit.text), 600))
            items.append(item)
        self.results.addTopLevelItems(items)
        if not term:
            text = ""
        elif not hits:
            text = "No match"
        elif total > len(hits):
            text = f"showing {len(hits)} of {total}"
        else:
            text = f"{total} match{'es' if total != 1 else ''}"
        self.summary.setText(text)

    def hit_at(self, row: int) -> ChatHit | None:
        item = self.results.topLevelItem(row)
        hit = item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None
        return hit if isinstance(hit, ChatHit) else None

    def _activated(self, item: QTreeWidgetItem, _col: int) -> None:
        hit = item.data(0, Qt.ItemDataRole.UserRole)
        if isinstance(hit, ChatHit):
            self.hit_activated.emit(hit)

    def _activate_first(self) -> None:
        """Enter in the field: search now, and jump to the selected (or first) hit."""
        if self._debounce.isActive():
            self.emit_query()
        item = self.results.currentItem() or self.results.topLevelItem(0)
        if item is not None:
            self._activated(item, 0)
