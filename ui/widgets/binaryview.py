"""Received binary as it is: "binary, N bytes", a hex dump with ASCII, "Save bytes…".

Binary reaches the UI in the core's notation ``{"$binary": "<base64>"}`` (or as bytes);
``binary_parts`` finds every such value in a payload with where it sits, and
``BinaryView`` shows one at a time (a chooser when there are several).
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QVBoxLayout,
    QWidget,
)

from app import binary
from ui import theme
from ui.text import binary_size_text as size_text
from ui.widgets.buttons import tool_button

#: bytes shown in the dump at most (the size label and Save always use every byte)
DUMP_LIMIT = 64 * 1024
#: binary values listed at most per payload
PARTS_LIMIT = 200


def binary_parts(value: Any, path: str = "args", limit: int = PARTS_LIMIT
                 ) -> list[tuple[str, bytes]]:
    """Every binary value in ``value`` (notation or bytes) with its path, in order."""
    out: list[tuple[str, bytes]] = []

    def walk(v: Any, where: str, depth: int) -> None:
        if len(out) >= limit or depth > 200:
            return
        if binary.is_binary(v):
            with contextlib.suppress(binary.BinaryError):
                out.append((where, binary.decode(v)))
        elif isinstance(v, dict):
            for k, item in v.items():
                walk(item, f"{where}.{k}", depth + 1)
        elif isinstance(v, list | tuple):
            for i, item in enumerate(v):
                walk(item, f"{where}[{i}]", depth + 1)

    walk(value, path, 0)
    return out


class BinaryView(QWidget):
    """The binary values of one payload: which one, its size, its hex dump, Save bytes…"""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.parts: list[tuple[str, bytes]] = []
        self.chooser = QComboBox()
        self.chooser.currentIndexChanged.connect(self._show_part)
        self.size_label = QLabel("")
        self.size_label.setObjectName("sectionTitle")
        self.size_label.setTextFormat(Qt.TextFormat.PlainText)
        self.save_button = tool_button("Save these bytes to a file", icon="export",
                                       text="Save bytes…")
        self.save_button.clicked.connect(self.ask_save)
        self.note = QLabel("")
        self.note.setObjectName("hint")
        self.note.setTextFormat(Qt.TextFormat.PlainText)
        self.note.hide()
        self.dump = QPlainTextEdit()
        self.dump.setReadOnly(True)
        theme.use_mono(self.dump)
        self.dump.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        head = QHBoxLayout()
        head.setContentsMargins(0, 0, 0, 0)
        head.addWidget(self.size_label)
        head.addWidget(self.chooser, 1)
        head.addWidget(self.save_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 4, 0, 0)
        lay.setSpacing(2)
        lay.addLayout(head)
        lay.addWidget(self.note)
        lay.addWidget(self.dump, 1)
        self.hide()

    def set_value(self, value: Any, path: str = "args") -> None:
        """Show the binary in ``value``; hidden when there is none."""
        self.parts = binary_parts(value, path)
        self.chooser.blockSignals(True)
        self.chooser.clear()
        for where, data in self.parts:
            self.chooser.addItem(f"{where} — {size_text(len(data))}")
        self.chooser.blockSignals(False)
        self.chooser.setVisible(len(self.parts) > 1)
        self.setVisible(bool(self.parts))
        if self.parts:
            self.chooser.setCurrentIndex(0)
            self._show_part(0)
        else:
            self.dump.clear()

    def clear(self) -> None:
        self.set_value(None)

    def current(self) -> bytes | None:
        i = self.chooser.currentIndex()
        return self.parts[i][1] if 0 <= i < len(self.parts) else None

    def _show_part(self, index: int) -> None:
        if not 0 <= index < len(self.parts):
            return
        where, data = self.parts[index]
        self.size_label.setText(f"{where}: {size_text(len(data))}")
        self.dump.setPlainText(binary.hexdump(data[:DUMP_LIMIT]))
        cut = len(data) > DUMP_LIMIT
        self.note.setText(f"The first {DUMP_LIMIT:,} of {len(data):,} bytes are shown; "
                          "Save bytes… writes them all." if cut else "")
        self.note.setVisible(cut)

    def ask_save(self) -> QFileDialog:
        dlg = QFileDialog(self, "Save bytes")
        dlg.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dlg.selectFile("bytes.bin")
        dlg.fileSelected.connect(self.save_to)
        dlg.finished.connect(dlg.deleteLater)
        dlg.open()
        return dlg

    def save_to(self, path: str) -> bool:
        data = self.current()
        if data is None:
            return False
        try:
            Path(path).write_bytes(data)
        except OSError as exc:
            self.note.setText(f"Not saved: {exc.strerror or exc}")
            self.note.show()
            return False
        self.note.setText(f"Saved {size_text(len(data))} to {path}")
        self.note.show()
        return True
