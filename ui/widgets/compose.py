"""The Compose tab: emit any event with any JSON arguments, with or without an ack.

The tab edits the event (namespace, name, arguments validated as JSON, ack and timeout,
volatile), keeps favourites in the settings and shows the state and the answer. Sending
is ``ui.compose_controller``, which the tab asks through ``send_requested``.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
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

from app import binary
from ui import theme
from ui.settings import Settings
from ui.text import binary_size_text, to_json
from ui.widgets.buttons import tool_button
from ui.widgets.elided import ElidedLabel
from ui.widgets.flow import FlowLayout
from ui.widgets.jsonedit import JsonEdit


def binary_label(value: Any) -> str:
    """"binary, N bytes" for an argument that is or holds binary ("" when none)."""
    if not binary.has_binary(value):
        return ""
    text = binary_size_text(binary.binary_size(value))
    return text if binary.is_binary(value) else f"holds {text}"


class ArgumentEditor(QFrame):
    """One argument: a title, a remove button and a validating JSON editor.

    Binary is the notation ``{"$binary": "<base64>"}``, typed or made by "Binary from
    hex…" / "Binary from file…"; the card says "binary, N bytes" and refuses bad base64.
    """

    remove_requested = Signal(object)
    validity_changed = Signal(bool)  # the binary check (the JSON check is json's own)

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
        self.hex_button = tool_button("Make this argument binary from hex digits",
                                      text="Binary from hex…")
        self.hex_button.clicked.connect(self.ask_hex)
        self.file_button = tool_button("Make this argument binary from a file's bytes",
                                       text="Binary from file…")
        self.file_button.clicked.connect(self.ask_file)
        self.binary_info = QLabel("")
        self.binary_info.setObjectName("hint")
        self.binary_info.setTextFormat(Qt.TextFormat.PlainText)
        self.binary_error = ""
        self.json.changed.connect(self._check_binary)
        # the title and the tools wrap in a narrow pane (800 px windows), where one row
        # made the arguments scroll sideways; the remove button stays top right
        self.tools = FlowLayout(spacing=6, row_spacing=4)
        self.tools.setContentsMargins(0, 0, 0, 0)
        for widget in (self.title, self.binary_info, self.hex_button, self.file_button,
                       self.format_button):
            self.tools.addWidget(widget)
        head = QHBoxLayout()
        head.addLayout(self.tools, 1)
        head.addWidget(self.remove_button, 0, Qt.AlignmentFlag.AlignTop)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 6, 6, 8)
        lay.addLayout(head)
        lay.addWidget(self.json)
        self.set_number(number)
        self._check_binary()

    @property
    def valid(self) -> bool:
        return self.json.valid and not self.binary_error

    def value(self) -> Any:
        return self.json.value()

    def _check_binary(self) -> None:
        """Say how many bytes a binary argument holds; refuse invalid base64 here."""
        error, info = "", ""
        if self.json.valid:
            try:
                value = self.json.value()
                binary.to_wire(value)
                info = binary_label(value)
            except (ValueError, RecursionError) as exc:
                error = str(exc)
        changed = bool(error) != bool(self.binary_error)
        self.binary_error = error
        self.binary_info.setText(info)
        if error:
            self.json.error_label.setText(f"Binary: {error}")
            self.json.error_label.show()
        if changed:
            self.validity_changed.emit(self.valid)

    def set_binary(self, value: dict[str, str]) -> None:
        self.json.set_text(json.dumps(value, ensure_ascii=False))

    def set_hex(self, text: str) -> bool:
        """Make the argument the bytes ``text`` spells in hex; False (and says why) if not hex."""
        try:
            self.set_binary(binary.parse_hex(text))
        except binary.BinaryError as exc:
            self.json.error_label.setText(f"Not sent as binary: {exc}")
            self.json.error_label.show()
            return False
        return True

    def set_file(self, path: str) -> bool:
        try:
            self.set_binary(binary.from_file(path))
        except OSError as exc:
            self.json.error_label.setText(f"Cannot read {path}: {exc.strerror or exc}")
            self.json.error_label.show()
            return False
        return True

    def ask_hex(self) -> QInputDialog:
        dlg = QInputDialog(self)
        dlg.setWindowTitle("Binary from hex")
        dlg.setLabelText("Bytes in hex (de ad be ef, DEADBEEF, de:ad, 0xde…):")
        dlg.setOption(QInputDialog.InputDialogOption.UsePlainTextEditForTextInput)
        dlg.textValueSelected.connect(self.set_hex)
        dlg.finished.connect(dlg.deleteLater)
        dlg.open()
        return dlg

    def ask_file(self) -> QFileDialog:
        dlg = QFileDialog(self, "Binary from file")
        dlg.setFileMode(QFileDialog.FileMode.ExistingFile)
        dlg.fileSelected.connect(self.set_file)
        dlg.finished.connect(dlg.deleteLater)
        dlg.open()
        return dlg

    def format_json(self) -> None:
        """Pretty-print as written: key order, big integers and Unicode unchanged."""
        if self.json.valid:
            self.json.set_text(json.dumps(self.json.value(), indent=2, ensure_ascii=False))

    def set_number(self, number: int) -> None:
        self.title.setText(f"Argument {number}")


class ComposeTab(QWidget):
    # object, not list: a Qt list would turn ints beyond 64 bits into an OverflowError
    send_requested = Signal(str, str, object, bool, float, bool)  # ns, event, args, ack, …

    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.args: list[ArgumentEditor] = []

        self.namespace = QComboBox()
        self.namespace.setEditable(True)
        self.namespace.setMinimumWidth(140)
        self.namespace.addItem("/")  # until a workspace opens: then its own namespaces
        self.namespace.setToolTip("The namespace to emit on: one this connection opened, "
                                  "or type another to open it first")
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
        self.timeout.setToolTip("This message's own ack timeout (sent as ack_timeout)")
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
        ack_row.addWidget(QLabel("ack timeout"))
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
        self.args_scroll = scroll

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
        ll.addWidget(self.args_scroll, 1)
        ll.addLayout(send_row)

        self.response = QPlainTextEdit()
        self.response.setReadOnly(True)
        theme.use_mono(self.response)
        self.response.setPlaceholderText("The ack response appears here")
        self.sent = QPlainTextEdit()
        self.sent.setReadOnly(True)
        self.sent.setFont(self.response.font())
        self.sent.setPlaceholderText("The message as sent appears here")
        sent_title = QLabel("Sent")
        sent_title.setObjectName("sectionTitle")
        resp_title = QLabel("Response")
        resp_title.setObjectName("sectionTitle")
        # one line, cut with "…" (the whole in its tooltip): a long "no ack: why" widened
        # the window past the screen
        self.response_state = ElidedLabel("")
        self.response_state.setAlignment(Qt.AlignmentFlag.AlignRight
                                         | Qt.AlignmentFlag.AlignVCenter)
        self.response_state.setTextFormat(Qt.TextFormat.PlainText)
        self.response_state.setObjectName("hint")
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(8, 12, 14, 12)
        head = QHBoxLayout()
        head.addWidget(resp_title)
        head.addWidget(self.response_state, 1)
        rl.addLayout(head)
        pair = QSplitter(Qt.Orientation.Vertical)
        sent_box = QWidget()
        sl = QVBoxLayout(sent_box)
        sl.setContentsMargins(0, 0, 0, 0)
        sl.addWidget(sent_title)
        sl.addWidget(self.sent)
        pair.addWidget(sent_box)
        pair.addWidget(self.response)
        rl.addWidget(pair, 3)
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
        editor.validity_changed.connect(lambda _v: self._update_send())
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
        return [i for i, e in enumerate(self.args, 1) if not e.valid]

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
        args = [e.value() for e in self.args]  # json.loads: order, big ints, Unicode kept
        ns = self.namespace.currentText().strip()
        if not ns.startswith("/"):
            ns = "/" + ns
        self.response_state.setText("sending…")
        self.response.clear()
        self.sent.setPlainText(f"{ns} {self.event_name.text().strip()}\n"
                               + json.dumps(args, indent=2, ensure_ascii=False))
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

    def set_namespaces(self, names: list[str], *, replace: bool = False) -> None:
        """Offer ``names`` too; ``replace``: only them (a workspace was opened: another
        server's namespaces, or SockDesk's own, are no place to emit to here)."""
        current = self.namespace.currentText()
        if replace:
            self.namespace.clear()
        known = {self.namespace.itemText(i) for i in range(self.namespace.count())}
        for n in names:
            if n not in known:
                self.namespace.addItem(n)
                known.add(n)
        self.namespace.setCurrentText(current if current in known or not names
                                      else names[0])

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
