"""The Queues tab's header line and its progress strip.

The header names the tab, says whether the list is live (and why not: offline, /queue
not open, the server's work queues unavailable) and holds the import, export and refresh
buttons. The progress strip under the tab shows a long import or export and its Cancel
button. Both only display: the controller (ui/inspector/controller.py) decides what they
say and answers their signals.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

from ui import theme
from ui.text import one_line
from ui.widgets.buttons import tool_button
from ui.widgets.elided import ElidedLabel


class QueuesHeader(QWidget):
    """"Queues", a live dot with a sentence, and the Import / Export / Refresh buttons."""

    import_requested = Signal()
    export_requested = Signal()
    refresh_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._live_shown: tuple[str, str] = ("", "")
        self.live_dot = QLabel()
        self.live_label = ElidedLabel("Offline")  # a long sentence must not widen the tab
        self.live_label.setObjectName("hint")
        self.import_button = tool_button("Import an NDJSON file into the store (bad lines "
                                         "are listed, good ones imported)", icon="import",
                                         text="Import…")
        self.import_button.clicked.connect(self.import_requested)
        self.export_button = tool_button("Export the selected queue (or the selected "
                                         "messages) as NDJSON", icon="export",
                                         text="Export…")
        self.export_button.clicked.connect(self.export_requested)
        self.refresh_button = tool_button("Refresh the queues now", icon="retry",
                                          text="Refresh")
        self.refresh_button.clicked.connect(self.refresh_requested)
        head = QHBoxLayout(self)
        head.setContentsMargins(12, 8, 10, 6)
        head.setSpacing(6)
        title = QLabel("Queues")
        title.setObjectName("roomTitle")
        head.addWidget(title)
        head.addSpacing(8)
        head.addWidget(self.live_dot)
        head.addWidget(self.live_label, 1)
        head.addWidget(self.import_button)
        head.addWidget(self.export_button)
        head.addWidget(self.refresh_button)

    def set_live(self, text: str, color: str) -> None:
        """The live sentence and the dot's state color (a ui.theme state name)."""
        if (text, color) != self._live_shown:  # every second: touch Qt only on change
            self._live_shown = (text, color)
            self.live_label.setText(one_line(text, 160))
            self.live_dot.setPixmap(theme.dot_pixmap(theme.state_color(color), 10))

    def set_transfers_enabled(self, enabled: bool) -> None:
        """Import and export are off while one runs (one file at a time)."""
        self.import_button.setEnabled(enabled)
        self.export_button.setEnabled(enabled)


class ProgressStrip(QWidget):
    """What a long import or export is doing, with a Cancel button; hidden otherwise."""

    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.label = QLabel("")
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(10)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.clicked.connect(self.cancel_requested)
        pl = QHBoxLayout(self)
        pl.setContentsMargins(12, 4, 10, 6)
        pl.addWidget(self.label)
        pl.addWidget(self.bar, 1)
        pl.addWidget(self.cancel_button)
        self.hide()

    def start(self, label: str) -> None:
        self.label.setText(label)
        self.bar.setValue(0)
        self.show()

    def set_progress(self, done: int, total: int) -> None:
        self.bar.setValue(int(1000 * done / max(1, total)))

    def finish(self) -> None:
        self.hide()
