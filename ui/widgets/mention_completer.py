"""@name completion in the message box, as Slack and Element offer it.

Typing ``@`` and the start of a name opens a list of the conversation's people that
match (case-insensitive); Enter or Tab puts the chosen ``@name`` and a space in place of
what was typed, Up and Down move through the list, Esc closes it. A reviewer typed
``@bo`` and pressed Tab, which moved the focus to Send.

It is Qt's own ``QCompleter`` in popup mode on the text box, the way Qt's "Custom
Completer" example drives a text edit: the completer's popup gets the keys first and
hands back the ones it does not use; the box must leave Enter, Tab and Esc to the
completer while the popup is open (``wants``), or Enter would send the message.
"""

from __future__ import annotations

import re

from PySide6.QtCore import QObject, QStringListModel, Qt
from PySide6.QtGui import QKeyEvent, QTextCursor
from PySide6.QtWidgets import QAbstractItemView, QCompleter, QPlainTextEdit

#: the ``@word`` being typed right before the cursor (names are ASCII; see the server)
_TYPED = re.compile(r"(?:^|\s)@([A-Za-z0-9._-]*)$")
#: keys the open popup uses itself
_POPUP_KEYS = (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Tab, Qt.Key.Key_Backtab,
               Qt.Key.Key_Escape)


class MentionCompleter(QObject):
    """Completes ``@name`` in ``editor`` from the names given to ``set_names``."""

    def __init__(self, editor: QPlainTextEdit) -> None:
        super().__init__(editor)
        self.editor = editor
        self.model = QStringListModel(self)
        self.completer = QCompleter(self.model, self)
        self.completer.setWidget(editor)
        self.completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.completer.setCompletionMode(QCompleter.CompletionMode.PopupCompletion)
        self.completer.activated.connect(self.insert)

    def set_names(self, names: list[str]) -> None:
        """Who can be mentioned here (the conversation's people, yourself left out)."""
        self.model.setStringList(sorted(set(names), key=str.lower))

    def _popup(self) -> QAbstractItemView:
        popup = self.completer.popup()
        assert popup is not None  # QCompleter makes one in its constructor
        return popup

    @property
    def popup_open(self) -> bool:
        return self._popup().isVisible()

    def wants(self, event: QKeyEvent) -> bool:
        """Whether the box should leave this key to the open popup."""
        return self.popup_open and event.key() in _POPUP_KEYS

    def _typed(self) -> str | None:
        """The part of a name typed after ``@`` right before the cursor, or None."""
        cursor = self.editor.textCursor()
        if cursor.hasSelection():
            return None
        found = _TYPED.search(cursor.block().text()[:cursor.positionInBlock()])
        return found.group(1) if found is not None else None

    def refresh(self) -> None:
        """Open, narrow or close the list for what is typed now."""
        popup = self._popup()
        typed = self._typed()
        if typed is None or not self.editor.hasFocus():
            popup.hide()
            return
        self.completer.setCompletionPrefix(typed)
        if self.completer.completionCount() == 0:
            popup.hide()
            return
        completions = self.completer.completionModel()
        if completions is not None:
            popup.setCurrentIndex(completions.index(0, 0))
        rect = self.editor.cursorRect()
        bar = popup.verticalScrollBar()
        rect.setWidth(popup.sizeHintForColumn(0)
                      + (bar.sizeHint().width() if bar is not None else 0) + 16)
        self.completer.complete(rect)

    def insert(self, name: str) -> None:
        """Put ``@name`` and a space in place of the ``@`` word being typed."""
        typed = self._typed()
        if typed is None:
            return
        cursor = self.editor.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.Left,
                            QTextCursor.MoveMode.KeepAnchor, len(typed))
        cursor.insertText(f"{name} ")
        self.editor.setTextCursor(cursor)
        self._popup().hide()
