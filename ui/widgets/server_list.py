"""The frame of a dialog that lists what the server knows (rooms, people).

Both lists are asked of the server each time they open and may instead have to say why
they cannot be (offline, a foreign server, an error), so they share one frame: a filter
field, a sentence in place of (or above) the list, the list, and a row of buttons with
Refresh on the left and Close on the right. The subclasses fill the list and add their
own buttons; ``ui.chat_discovery`` does the asking.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)


class ServerListDialog(QDialog):
    """Filter, message, list, buttons; ``refresh_requested`` when Refresh is pressed."""

    refresh_requested = Signal()

    def __init__(self, title: str, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.filter = QLineEdit()
        self.filter.setPlaceholderText(placeholder)
        self.filter.setClearButtonEnabled(True)
        self.message = QLabel("")
        self.message.setObjectName("hint")
        self.message.setTextFormat(Qt.TextFormat.PlainText)
        self.message.setWordWrap(True)
        self.message.hide()
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh_requested)

    def lay_out(self, body: QWidget, middle: QWidget | None, *actions: QWidget) -> None:
        """Place the parts: ``body`` is the list; ``middle`` (or a stretch) sits between
        Refresh and the ``actions`` on the button row."""
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(self.refresh_button)
        if middle is None:
            row.addStretch(1)
        else:
            row.addWidget(middle, 1)
        for action in actions:
            row.addWidget(action)
        row.addWidget(buttons)
        lay = QVBoxLayout(self)
        lay.addWidget(self.filter)
        lay.addWidget(self.message)
        lay.addWidget(body, 1)
        lay.addLayout(row)

    def set_message(self, text: str | None) -> None:
        """A sentence instead of (or above) the list: offline, a foreign server, an error."""
        self.message.setText(text or "")
        self.message.setVisible(bool(text))
