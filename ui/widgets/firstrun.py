"""The first-run dialog: what should people call you?

It says what happens next, and only that: SockDesk starts a server of its own only for
a workspace it runs (the first run's private one); joining somebody else's server it
does not, and the text must not say it does.
"""

from __future__ import annotations

import getpass
import re

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from ui import theme

USER_RE = re.compile(r"^[A-Za-z0-9._-]{1,32}$")


def suggested_name() -> str:
    try:
        name = re.sub(r"[^A-Za-z0-9._-]", "", getpass.getuser())[:32]
    except Exception:
        name = ""
    return name or "me"


#: the first run makes a private workspace: SockDesk runs its server on this computer
TEXT_PRIVATE = ("Pick the name others will see. SockDesk runs a small server on this "
                "computer for your first workspace and connects you to it; start it with "
                "--url to join another server instead.")
#: joining a server somebody else runs: nothing is started here
TEXT_REMOTE = "Pick the name others will see on the server you join."


class FirstRunDialog(QDialog):
    def __init__(self, parent: QWidget | None = None, *, server_here: bool = True) -> None:
        """``server_here``: whether SockDesk will run the server of the workspace this
        name is for (the text says so only then)."""
        super().__init__(parent)
        self.setWindowTitle("Welcome to SockDesk")
        self.setWindowIcon(theme.icon("app"))
        title = QLabel("Welcome to SockDesk")
        title.setObjectName("roomTitle")
        text = QLabel(TEXT_PRIVATE if server_here else TEXT_REMOTE)
        text.setWordWrap(True)
        text.setObjectName("hint")
        self.text = text
        self.edit = QLineEdit(suggested_name())
        self.edit.selectAll()
        self.edit.setPlaceholderText("your name (letters, digits, . _ -)")
        self.error = QLabel("")
        self.error.setObjectName("errorLabel")
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok |
                                        QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Start")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(20, 18, 20, 14)
        lay.addWidget(title)
        lay.addWidget(text)
        lay.addSpacing(6)
        lay.addWidget(self.edit)
        lay.addWidget(self.error)
        lay.addWidget(self.buttons)
        self.setMinimumWidth(380)
        self.edit.textChanged.connect(self._validate)
        self._validate()

    def name(self) -> str:
        return self.edit.text().strip()

    def _validate(self) -> None:
        ok = bool(USER_RE.match(self.name()))
        self.error.setText("" if ok else "1-32 letters, digits, '.', '_' or '-'")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)
