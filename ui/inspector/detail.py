"""The right-hand pane of the Queues tab: the selected message, and the edit/replay form.

"Message" shows the message as pretty JSON in a read-only plain-text box (never rich
text); a huge value is cut for display, with its real size and a "Show all" button.
"Edit & replay" holds a JSON editor (namespace, event, args of one message, or a work
queue publish) and the replay targets: server, namespace, event, room, spacing.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.inspector.pretty import bounded_json, size_of
from ui.text import escape_controls, human_size, to_json
from ui.widgets.binaryview import BinaryView
from ui.widgets.buttons import tool_button
from ui.widgets.fit_page import FitPage, scrolled
from ui.widgets.flow import FlowLayout
from ui.widgets.jsonedit import JsonEdit

#: what the Message box shows at first, and at most after "Show all"
PREVIEW_CHARS = 200_000
FULL_CHARS = 4_000_000
#: messages bigger than this are not put in the editor (replay them as captured)
EDIT_LIMIT = 1_000_000
#: long strings are shown folded over lines this long (Qt lays out long lines slowly)
FOLD = 1000


class DetailPane(QWidget):
    """Message view + editor. Signals carry nothing: the tab reads the fields."""

    replay_selected = Signal()
    replay_edited = Signal()
    save_edit = Signal()
    publish = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._value: Any = None
        self._full_shown = False

        # -- Message ------------------------------------------------------------------------
        self.meta = QLabel("")
        self.meta.setObjectName("hint")
        self.meta.setTextFormat(Qt.TextFormat.PlainText)
        self.size_note = QLabel("")
        self.size_note.setObjectName("hint")
        self.size_note.setTextFormat(Qt.TextFormat.PlainText)
        self.size_note.setWordWrap(True)
        self.size_note.hide()
        self.show_all = QPushButton("Show all")
        self.show_all.setToolTip(f"Show up to {human_size(FULL_CHARS)} of this message")
        self.show_all.clicked.connect(self.expand)
        self.show_all.hide()
        self.copy_button = tool_button("Copy the whole message as JSON", icon="copy",
                                       text="Copy")
        self.copy_button.clicked.connect(self.copy)
        self.text = QPlainTextEdit()
        self.text.setObjectName("messageText")
        self.text.setReadOnly(True)
        theme.use_mono(self.text)
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        self.text.setPlaceholderText("Select a message to see it in full")
        self.text.setMaximumBlockCount(0)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.meta, 1)
        top.addWidget(self.copy_button)
        note = QHBoxLayout()
        note.setContentsMargins(0, 0, 0, 0)
        note.addWidget(self.size_note, 1)
        note.addWidget(self.show_all)
        msg_page = QWidget()
        ml = QVBoxLayout(msg_page)
        ml.setContentsMargins(8, 6, 8, 8)
        ml.setSpacing(4)
        ml.addLayout(top)
        ml.addLayout(note)
        ml.addWidget(self.text, 1)
        self.binary = BinaryView()  # "binary, N bytes", hex dump, Save bytes…
        ml.addWidget(self.binary, 1)

        # -- Edit & replay ------------------------------------------------------------------
        self.mode = "replay"
        self.edit_hint = QLabel("Select a message, edit it here, then replay it.")
        self.edit_hint.setObjectName("hint")
        self.edit_hint.setWordWrap(True)
        self.edit_hint.setTextFormat(Qt.TextFormat.PlainText)
        self.editor = JsonEdit("", allow_empty=True, min_lines=5)
        self.editor.edit.setPlaceholderText('{"namespace": "/chat", "event": "message", '
                                            '"args": [{"room": "general", "text": "hi"}]}')
        self.server = QComboBox()
        self.server.setEditable(True)
        server_edit = self.server.lineEdit()
        assert server_edit is not None  # setEditable(True) made it
        server_edit.setPlaceholderText("this connection")
        self.server.setToolTip("Replay into another server: its URL (a separate outbox is "
                               "kept for it, so nothing is lost if it is down)")
        self.namespace = QLineEdit()
        self.namespace.setPlaceholderText("as captured")
        self.event_edit = QLineEdit()
        self.event_edit.setPlaceholderText("as captured")
        self.room = QLineEdit()
        self.room.setPlaceholderText("as captured")
        self.keep_spacing = QCheckBox("Keep the original spacing")
        self.speed = QDoubleSpinBox()
        self.speed.setRange(0.01, 1000.0)
        self.speed.setValue(1.0)
        self.speed.setDecimals(2)
        self.speed.setPrefix("× ")
        self.speed.setToolTip("Speed factor: 2 plays twice as fast")
        self.speed.setEnabled(False)
        self.keep_spacing.toggled.connect(self.speed.setEnabled)
        spacing = FlowLayout(spacing=6)  # the speed wraps under the box when narrow
        spacing.setContentsMargins(0, 0, 0, 0)
        spacing.addWidget(self.keep_spacing)
        spacing.addWidget(self.speed)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(5)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Server", self.server)
        form.addRow("Namespace", self.namespace)
        form.addRow("Event", self.event_edit)
        form.addRow("Room", self.room)
        form.addRow("", spacing)

        self.replay_button = QPushButton(theme.icon("play"), "Replay selected")
        self.replay_button.setToolTip("Send the selected messages again, as captured, "
                                      "through the outbox (new ids)")
        self.replay_button.clicked.connect(self.replay_selected)
        self.replay_edited_button = QPushButton(theme.icon("send"), "Replay edited")
        self.replay_edited_button.setProperty("accent", True)
        self.replay_edited_button.setToolTip("Send the message in the editor, through "
                                             "the outbox")
        self.replay_edited_button.clicked.connect(self._primary)
        self.save_button = QPushButton(theme.icon("edit"), "Save to outbox")
        self.save_button.setToolTip("Replace the arguments of this queued or failed "
                                    "outbox message (it keeps its id and place)")
        self.save_button.clicked.connect(self.save_edit)
        self.save_button.hide()
        buttons = FlowLayout(spacing=6)  # one row where it fits, more in a narrow pane
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.replay_button)
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.replay_edited_button)
        self.editor.validity_changed.connect(self._update_buttons)

        edit_page = FitPage()
        el = QVBoxLayout(edit_page)
        el.setContentsMargins(8, 6, 8, 8)
        el.setSpacing(6)
        el.addWidget(self.edit_hint)
        el.addWidget(self.editor, 1)
        el.addLayout(form)
        el.addLayout(buttons)

        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.tabs.addTab(msg_page, theme.icon("search"), "Message")
        # the editor and its form scroll in a short pane rather than making the whole
        # window taller than a 1280x720 projector (ui.widgets.fit_page)
        self.tabs.addTab(scrolled(edit_page), theme.icon("edit"), "Edit && replay")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.tabs)
        self.set_selection_count(0)

    # -- message -----------------------------------------------------------------------------
    def show_message(self, value: Any, meta: str) -> None:
        """Pretty JSON of ``value``, cut for display when huge (plain text only)."""
        self._value = value
        self._full_shown = False
        self.meta.setText(escape_controls(meta))
        self._render(PREVIEW_CHARS, 20_000)
        self.binary.set_value(value, "message")

    def _render(self, max_chars: int, max_string: int) -> None:
        text, truncated = bounded_json(self._value, max_chars=max_chars,
                                       max_string=max_string, fold=FOLD)
        self.text.setPlainText(text)
        if truncated:
            size = size_of(self._value)
            self.size_note.setText(
                f"Large or deeply nested message (about {human_size(size)}): "
                + ("shown up to the display limit." if self._full_shown else
                   "long strings and deep levels are cut for display."))
            self.size_note.show()
            self.show_all.setVisible(not self._full_shown)
        else:
            self.size_note.hide()
            self.show_all.hide()
        self.copy_button.setEnabled(True)

    def expand(self) -> None:
        """'Show all': a much larger (still bounded) rendering."""
        self._full_shown = True
        self._render(FULL_CHARS, FULL_CHARS)

    def clear_message(self) -> None:
        self._value = None
        self.meta.setText("")
        self.text.clear()
        self.binary.clear()
        self.size_note.hide()
        self.show_all.hide()
        self.copy_button.setEnabled(False)

    def copy(self) -> None:
        """The whole message as real JSON (the box may show it cut and folded)."""
        QGuiApplication.clipboard().setText(to_json(self._value, indent=2))

    # -- editor --------------------------------------------------------------------------------
    def set_editor(self, value: Any, mode: str = "replay", hint: str = "",
                   can_save: bool = False) -> None:
        """Put one message (or a publish template) in the editor."""
        self.mode = mode
        if value is not None and size_of(value) > EDIT_LIMIT:
            self.editor.set_text("")
            self.editor.setEnabled(False)
            self.edit_hint.setText("This message is too large to edit here "
                                   f"(about {human_size(size_of(value))}); replay it as "
                                   "captured, or export it and edit the file.")
        else:
            self.editor.setEnabled(True)
            self.editor.set_text(json.dumps(value, indent=2, ensure_ascii=False)
                                 if value is not None else "")
            self.edit_hint.setText(hint or "Edit the message, then replay it.")
        self.save_button.setVisible(can_save and mode == "replay")
        self.replay_edited_button.setText("Publish" if mode == "publish" else "Replay edited")
        self.replay_edited_button.setIcon(theme.icon("send", "#ffffff"))
        self._update_buttons()

    def focus_editor(self) -> None:
        """Show the "Edit & replay" page with the keyboard in the editor."""
        self.tabs.setCurrentIndex(1)
        self.editor.edit.setFocus()

    def set_servers(self, urls: list[str]) -> None:
        """Offer `urls` as replay targets; the empty first entry is this connection. The
        text being typed is kept, and the list is rebuilt only when it changed."""
        combo = self.server
        current = combo.currentText()
        if [combo.itemText(i) for i in range(combo.count())] != ["", *urls]:
            combo.clear()
            combo.addItems(["", *urls])
            combo.setEditText(current)

    def edited(self) -> Any:
        """The editor's JSON value (ValueError with a sentence when invalid)."""
        if not self.editor.text().strip():
            raise ValueError("The editor is empty: select a message first")
        if not self.editor.valid:
            raise ValueError(self.editor.error or "The JSON is not valid")
        return self.editor.value()

    def _primary(self) -> None:
        (self.publish if self.mode == "publish" else self.replay_edited).emit()

    def _update_buttons(self, *_a: Any) -> None:
        ok = self.editor.isEnabled() and bool(self.editor.text().strip()) and self.editor.valid
        self.replay_edited_button.setEnabled(ok)
        self.save_button.setEnabled(ok)

    def set_selection_count(self, n: int) -> None:
        self.replay_button.setEnabled(n > 0)
        self.replay_button.setText(f"Replay selected ({n})" if n else "Replay selected")

    def targets(self) -> dict[str, Any]:
        """Replay targets from the form (None = as captured)."""
        def val(w: QLineEdit) -> str | None:
            return w.text().strip() or None

        ns = val(self.namespace)
        if ns and not ns.startswith("/"):
            ns = "/" + ns
        return {"url": self.server.currentText().strip() or None, "namespace": ns,
                "event": val(self.event_edit), "room": val(self.room),
                "speed": self.speed.value() if self.keep_spacing.isChecked() else None}


class ProblemsDialog(QDialog):
    """Bad lines of an import, by number, as plain text (opened with open())."""

    def __init__(self, title: str, summary: str, lines: list[tuple[int, str]],
                 parent: QWidget | None = None, name: str = "") -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.resize(620, 380)
        head = QLabel(summary)
        head.setTextFormat(Qt.TextFormat.PlainText)
        head.setWordWrap(True)
        self.list = QPlainTextEdit()
        self.list.setReadOnly(True)
        theme.use_mono(self.list)
        self.list.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        prefix = f"{name}:" if name else "line "
        self.list.setPlainText("\n".join(escape_controls(f"{prefix}{no}: {why}"[:500])
                                         for no, why in lines))
        box = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        box.rejected.connect(self.reject)
        box.accepted.connect(self.accept)
        lay = QVBoxLayout(self)
        lay.addWidget(head)
        lay.addWidget(self.list, 1)
        lay.addWidget(box)
