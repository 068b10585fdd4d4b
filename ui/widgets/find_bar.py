"""The find bar above a conversation's messages: a term, "3 of 17", older/newer, close.

A widget only: it says what the user wants (a term, once typing pauses; the next or
previous hit; closing) and shows what it is told (the count). Searching and jumping
are ``ui.chat_find``. Hits go from the newest back in time, so *next* (Enter, F3, ↑)
goes to an older message and *previous* (Shift+Enter, Shift+F3, ↓) to a newer one, as
in a browser's find that starts at the bottom of the page.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QLineEdit, QWidget

from ui.widgets.buttons import tool_button

#: how long typing must pause before the term is searched
DEBOUNCE_MS = 150


class FindLine(QLineEdit):
    """The term: Enter is next, Shift+Enter previous, Esc closes the bar."""

    next_requested = Signal()
    previous_requested = Signal()
    close_requested = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        shift = bool(event.modifiers() & Qt.KeyboardModifier.ShiftModifier)
        if key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            (self.previous_requested if shift else self.next_requested).emit()
        elif key == Qt.Key.Key_Escape:
            self.close_requested.emit()
        else:
            super().keyPressEvent(event)


class FindBar(QFrame):
    """Find in the conversation shown."""

    #: the term, once typing has paused for DEBOUNCE_MS ("" when cleared)
    term_changed = Signal(str)
    next_requested = Signal()      # an older hit
    previous_requested = Signal()  # a newer hit
    closed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("findBar")
        self.line = FindLine()
        self.line.setObjectName("findLine")
        self.line.setPlaceholderText("Find in this conversation")
        self.line.setClearButtonEnabled(True)
        self.line.setMinimumWidth(120)
        self.count = QLabel("")
        self.count.setObjectName("hint")
        self.count.setTextFormat(Qt.TextFormat.PlainText)
        self.older = tool_button("Older match (Enter, F3)", text="↑", name="findOlder")
        self.newer = tool_button("Newer match (Shift+Enter, Shift+F3)", text="↓",
                                 name="findNewer")
        self.close_button = tool_button("Close (Esc)", icon="x", name="findClose")
        lay = QHBoxLayout(self)
        lay.setContentsMargins(12, 2, 8, 4)
        lay.setSpacing(4)
        lay.addWidget(self.line, 1)
        lay.addWidget(self.count)
        lay.addWidget(self.older)
        lay.addWidget(self.newer)
        lay.addWidget(self.close_button)

        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.emit_term)
        self.line.textChanged.connect(lambda _t: self._debounce.start())
        self.line.next_requested.connect(self._next)
        self.line.previous_requested.connect(self._previous)
        self.line.close_requested.connect(self.close_bar)
        self.older.clicked.connect(self._next)
        self.newer.clicked.connect(self._previous)
        self.close_button.clicked.connect(self.close_bar)
        self.set_count(None)

    def add_shortcuts(self, area: QWidget) -> None:
        """F3 / Shift+F3 anywhere in ``area`` (the conversation), not only in the line."""
        for seq, slot in (("F3", self._next), ("Shift+F3", self._previous)):
            sc = QShortcut(QKeySequence(seq), area)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(slot)

    @property
    def term(self) -> str:
        return self.line.text().strip()

    def open_bar(self) -> None:
        """Show the bar with the term selected, ready to type over."""
        self.show()
        self.line.setFocus()
        self.line.selectAll()

    def close_bar(self) -> None:
        self._debounce.stop()
        self.hide()
        self.closed.emit()

    def emit_term(self) -> None:
        """Search now (what the pause in typing does)."""
        self._debounce.stop()
        self.term_changed.emit(self.term)

    def _next(self) -> None:
        if self.isVisible():
            self._flush_typing()
            self.next_requested.emit()

    def _previous(self) -> None:
        if self.isVisible():
            self._flush_typing()
            self.previous_requested.emit()

    def _flush_typing(self) -> None:
        """Enter right after typing searches the new term first."""
        if self._debounce.isActive():
            self.emit_term()

    def set_count(self, current: int | None, total: int = 0, note: str = "") -> None:
        """"3 of 17" (``current`` counted from 1), "No match", or nothing (no term)."""
        if note:
            text = note
        elif current is None:
            text = "No match" if self.term else ""
        else:
            text = f"{current} of {total}"
        self.count.setText(text)
        self.older.setEnabled(total > 1 or (current is None and total > 0))
        self.newer.setEnabled(total > 1)
