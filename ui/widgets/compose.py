"""The Compose tab: emit any event with any JSON arguments, with or without an ack.

The tab edits the event (namespace, name, arguments validated as JSON, ack and timeout,
volatile), keeps favourites in the settings and shows the state and the answer. Sending
is ``ui.compose_controller``, which the tab asks through ``send_requested``.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from ui import theme
from ui.settings import Settings
from ui.text import to_json
from ui.widgets.buttons import tool_button
from ui.widgets.jsonedit import JsonEdit


class ArgumentEditor(QFrame):
    """One argument: a title, a remove button and a validating JSON editor."""

    remove_requested = Signal(object)

    def __init__(self, number: int, text: str = "{}", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("card")
        self.title = QLabel()
        self.title.setObjectName("sectionTitle")
        self.remove_button = tool_button("Remove this argument", icon="x")
        self.remove_button.clicked.connect(lambda: self.remove_requested.emit(self))
        self.json = JsonEdit(text, min_lines=3)
        self.format_button = tool_button("Pretty-print this JSON", text="Format")
        self.format_button.clicked.connect(self.format_json)
        self.json.validity_changed.connect(self.format_button.setEnabled)
        head = QHBoxLayout()
        head.addWidget(self.title)
        head.addStretch(1)
        head.addWidget(self.format_button)
        head.addWidget(self.remove_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 6, 6, 8)
        lay.addLayout(head)
        lay.addWidget(self.json)
        self.set_number(number)

    def format_json(self) -> None:
        if self.json.valid:
            self.json.set_text(json.dumps(self.json.value(), indent=2, ensure_ascii=False))

    def set_number(self, number: int) -> None:
        self.title.setText(f"Argument {number}")


class ComposeTab(QWidget):
    send_requested = Signal(str, str, list, bool, float, bool)  # ns, event, args, ack, timeout, vol

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.args: list[ArgumentEditor] = []

        self.namespace = QComboBox()
        self.namespace.setEditable(True)
        self.namespace.setMinimumWidth(140)
        self.namespace.addItems(["/", "/chat", "/queue"])
        self.namespace.setCurrentText("/")
        self.event_name = QLineEdit("echo")
        self.event_name.setPlaceholderText("event name")
        self.event_name.textChanged.connect(self._update_send)
        self.namespace.currentTextChanged.connect(self._update_send)

        self.ack = QCheckBox("Wait for ack")
        self.ack.setChecked(True)
        self.timeout = QDoubleSpinBox()
        self.timeout.setRange(0.1, 600)
        self.timeout.setValue(5.0)
        self.timeout.setSuffix(" s")
        self.ack.toggled.connect(self.timeout.setEnabled)
        self.volatile = QCheckBox("Volatile (skip the outbox; dropped when offline)")

        self.favourites = QComboBox()
        self.favourites.setMinimumWidth(180)
        self.favourites.setPlaceholderText("Favourites")
        self.favourites.activated.connect(self._load_favourite)
        self.save_fav = tool_button("Save this message as a favourite", icon="star",
                                    text="Save")
        self.save_fav.clicked.connect(self._ask_favourite_name)
        self.delete_fav = tool_button("Delete the chosen favourite", icon="trash")
        self.delete_fav.clicked.connect(self._delete_favourite)

        form = QFormLayout()
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.addRow("Namespace", self.namespace)
        form.addRow("Event", self.event_name)
        ack_row = QHBoxLayout()
        ack_row.addWidget(self.ack)
        ack_row.addWidget(QLabel("timeout"))
        ack_row.addWidget(self.timeout)
        ack_row.addStretch(1)
        form.addRow("Ack", ack_row)
        form.addRow("", self.volatile)

        fav_row = QHBoxLayout()
        fav_row.addWidget(self.favourites, 1)
        fav_row.addWidget(self.save_fav)
        fav_row.addWidget(self.delete_fav)

        self.args_box = QVBoxLayout()
        self.args_box.setSpacing(8)
        self.add_button = QPushButton(theme.icon("plus"), "Add argument")
        self.add_button.clicked.connect(lambda: self.add_argument("{}"))
        inner = QWidget()
        il = QVBoxLayout(inner)
        il.setContentsMargins(0, 0, 6, 0)
        il.addLayout(self.args_box)
        il.addWidget(self.add_button, 0, Qt.AlignmentFlag.AlignLeft)
        il.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(inner)

        self.send_button = QPushButton(theme.icon("send", "#ffffff"), "Send")
        self.send_button.setProperty("accent", True)
        self.send_button.setToolTip("Send (Ctrl+Enter)")
        self.send_button.clicked.connect(self.send)
        self.status = QLabel("")
        self.status.setObjectName("hint")
        self.status.setTextFormat(Qt.TextFormat.PlainText)
        self.status.setWordWrap(True)
        send_row = QHBoxLayout()
        send_row.addWidget(self.status, 1)
        send_row.addWidget(self.send_button)

        left = QWidget()
        ll = QVBoxLayout(left)
        ll.setContentsMargins(14, 12, 8, 12)
        ll.addLayout(fav_row)
        ll.addLayout(form)
        args_title = QLabel("Arguments")
        args_title.setObjectName("sectionTitle")
        ll.addWidget(args_title)
        ll.addWidget(scroll, 1)
        ll.addLayout(send_row)

        self.response = QPlainTextEdit()
        self.response.setReadOnly(True)
        self.response.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.response.setPlaceholderText("The ack response appears here")
        resp_title = QLabel("Response")
        resp_title.setObjectName("sectionTitle")
        self.response_state = QLabel("")
        self.response_state.setTextFormat(Qt.TextFormat.PlainText)
        self.response_state.setObjectName("hint")
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(8, 12, 14, 12)
        head = QHBoxLayout()
        head.addWidget(resp_title)
        head.addStretch(1)
        head.addWidget(self.response_state)
        rl.addLayout(head)
        rl.addWidget(self.response, 3)
        self._right = rl

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.setObjectName("composeSplitter")
        self.splitter.addWidget(left)
        self.splitter.addWidget(right)
        self.splitter.setSizes([560, 420])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(self.splitter)

        self.add_argument('{"hello": "world"}')
        self._reload_favourites()

    # -- arguments -----------------------------------------------------------------------------
    def add_argument(self, text: str = "{}") -> ArgumentEditor:
        editor = ArgumentEditor(len(self.args) + 1, text)
        editor.remove_requested.connect(self.remove_argument)
        editor.json.validity_changed.connect(lambda _v: self._update_send())
        self.args.append(editor)
        self.args_box.addWidget(editor)
        self._update_send()
        return editor

    def remove_argument(self, editor: ArgumentEditor) -> None:
        if editor in self.args:
            self.args.remove(editor)
            self.args_box.removeWidget(editor)
            editor.deleteLater()
            for i, e in enumerate(self.args, 1):
                e.set_number(i)
            self._update_send()

    def set_arguments(self, texts: list[str]) -> None:
        for e in list(self.args):
            self.remove_argument(e)
        for t in texts:
            self.add_argument(t)

    def invalid_arguments(self) -> list[int]:
        return [i for i, e in enumerate(self.args, 1) if not e.json.valid]

    def _update_send(self) -> None:
        bad = self.invalid_arguments()
        ok = not bad and bool(self.event_name.text().strip()) and bool(
            self.namespace.currentText().strip())
        self.send_button.setEnabled(ok)
        if bad:
            self.status.setText("Fix argument " + ", ".join(map(str, bad)) + " to send")
        elif not self.event_name.text().strip():
            self.status.setText("Give an event name to send")
        else:
            self.status.setText("")

    # -- sending -------------------------------------------------------------------------------
    def send(self) -> None:
        if not self.send_button.isEnabled():
            return
        args = [e.json.value() for e in self.args]
        ns = self.namespace.currentText().strip()
        if not ns.startswith("/"):
            ns = "/" + ns
        self.response_state.setText("sending…")
        self.response.clear()
        self.send_requested.emit(ns, self.event_name.text().strip(), args, self.ack.isChecked(),
                                 float(self.timeout.value()), self.volatile.isChecked())

    def show_state(self, text: str) -> None:
        self.response_state.setText(text)

    def show_response(self, value: Any, state: str = "acked") -> None:
        self.response.setPlainText(to_json(value, indent=2))
        self.response_state.setText(state)

    def add_panel(self, panel: QWidget) -> None:
        """Put ``panel`` under the response (the main window adds the ack answers)."""
        self._right.addWidget(panel)

    def set_namespaces(self, names: list[str]) -> None:
        current = self.namespace.currentText()
        known = {self.namespace.itemText(i) for i in range(self.namespace.count())}
        for n in names:
            if n not in known:
                self.namespace.addItem(n)
        self.namespace.setCurrentText(current)

    # -- favourites ----------------------------------------------------------------------------
    def current_as_favourite(self, name: str) -> dict[str, Any]:
        return {"name": name, "namespace": self.namespace.currentText(),
                "event": self.event_name.text(), "args": [e.json.text() for e in self.args],
                "ack": self.ack.isChecked(), "timeout": self.timeout.value(),
                "volatile": self.volatile.isChecked()}

    def save_favourite(self, name: str) -> None:
        name = name.strip()
        if not name:
            return
        favs = [f for f in self.settings.favourites() if f.get("name") != name]
        favs.append(self.current_as_favourite(name))
        favs.sort(key=lambda f: str(f.get("name", "")).lower())
        self.settings.set_favourites(favs)
        self._reload_favourites()
        self.favourites.setCurrentText(name)
        self.status.setText(f"Saved favourite “{name}”")

    def _ask_favourite_name(self) -> None:
        dlg = QInputDialog(self)
        dlg.setWindowTitle("Save favourite")
        dlg.setLabelText("Name of this favourite:")
        dlg.setTextValue(self.event_name.text())
        dlg.textValueSelected.connect(self.save_favourite)
        dlg.finished.connect(dlg.deleteLater)
        dlg.open()

    def _reload_favourites(self) -> None:
        self.favourites.clear()
        for f in self.settings.favourites():
            self.favourites.addItem(theme.icon("star"), str(f.get("name", "?")), f)
        self.favourites.setCurrentIndex(-1)
        self.delete_fav.setEnabled(self.favourites.count() > 0)

    def _load_favourite(self, index: int) -> None:
        fav = self.favourites.itemData(index)
        if not isinstance(fav, dict):
            return
        self.load_favourite(fav)

    def load_favourite(self, fav: dict[str, Any]) -> None:
        self.namespace.setCurrentText(str(fav.get("namespace", "/")))
        self.event_name.setText(str(fav.get("event", "")))
        self.set_arguments([str(a) for a in fav.get("args", [])])
        self.ack.setChecked(bool(fav.get("ack", True)))
        self.timeout.setValue(float(fav.get("timeout", 5.0)))
        self.volatile.setChecked(bool(fav.get("volatile", False)))

    def _delete_favourite(self) -> None:
        name = self.favourites.currentText()
        if not name:
            return
        self.settings.set_favourites([f for f in self.settings.favourites()
                                      if f.get("name") != name])
        self._reload_favourites()
