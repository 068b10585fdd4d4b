"""A JSON text box that validates as you type and says what is wrong, with line and column."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QVBoxLayout, QWidget

from ui import theme
from ui.text import json_error


class JsonEdit(QWidget):
    """Editor + inline error line. ``valid`` and ``value()``; ``validity_changed(bool)``."""

    validity_changed = Signal(bool)
    changed = Signal()

    def __init__(self, text: str = "{}", parent: QWidget | None = None, *,
                 allow_empty: bool = False, require_object: bool = False,
                 min_lines: int = 3) -> None:
        super().__init__(parent)
        self.allow_empty = allow_empty
        self.require_object = require_object
        self.edit = QPlainTextEdit()
        theme.use_mono(self.edit)
        self.edit.setTabChangesFocus(True)
        self.edit.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        fm = self.edit.fontMetrics()
        self.edit.setMinimumHeight(fm.lineSpacing() * min_lines + 14)
        self.error_label = QLabel("")
        self.error_label.setObjectName("errorLabel")
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)
        self.error_label.setWordWrap(True)
        self.error_label.hide()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(self.edit, 1)
        lay.addWidget(self.error_label)
        self._valid = True
        self._error: str | None = None
        self.edit.setPlainText(text)
        self.edit.textChanged.connect(self.validate)
        self.validate()

    @property
    def valid(self) -> bool:
        return self._valid

    @property
    def error(self) -> str | None:
        return self._error

    def text(self) -> str:
        return self.edit.toPlainText()

    def set_text(self, text: str) -> None:
        self.edit.setPlainText(text)

    def value(self) -> Any:
        text = self.text()
        if self.allow_empty and not text.strip():
            return {} if self.require_object else None
        return json.loads(text)

    def validate(self) -> bool:
        text = self.text()
        error: str | None
        if self.allow_empty and not text.strip():
            error = None
        else:
            error = json_error(text)
            if error is None and self.require_object and not isinstance(json.loads(text), dict):
                error = "Must be a JSON object, like {\"key\": \"value\"}"
        self._error = error
        self.error_label.setText(error or "")
        self.error_label.setVisible(error is not None)
        valid = error is None
        self.edit.setProperty("invalid", not valid)
        self.edit.style().unpolish(self.edit)
        self.edit.style().polish(self.edit)
        if valid != self._valid:
            self._valid = valid
            self.validity_changed.emit(valid)
        self.changed.emit()
        return valid
